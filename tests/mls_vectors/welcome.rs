//! `welcome.json`.

use super::*;

#[derive(Deserialize)]
struct WelcomeCase {
    cipher_suite: u16,
    init_priv: Hex,
    signer_pub: Hex,
    key_package: Hex,
    welcome: Hex,
}

#[test]
fn welcome_vectors() {
    use aura::crypto::group::Group;
    use aura::crypto::key_package::KeyPackage;
    use aura::crypto::welcome::Welcome;

    let cases: Vec<WelcomeCase> = load("welcome.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == CIPHER_SUITE_ID)
        .collect();
    run_cases("welcome.json", &cases, |case| {
        let key_package = check(
            "decode key package",
            KeyPackage::from_mls_message_bytes(&case.key_package),
        )?;
        check("key package signature", key_package.verify())?;
        let init_key = check("init_priv", HpkePrivateKey::from_bytes(&case.init_priv))?;
        expect_eq(
            "init key",
            &init_key.public_key().to_bytes(),
            &key_package.init_key,
        )?;
        let welcome = check(
            "decode welcome",
            Welcome::from_mls_message_bytes(&case.welcome),
        )?;
        let reencoded = check("encode welcome", welcome.to_mls_message_bytes())?;
        expect_eq("welcome re-encoding", &reencoded, &case.welcome)?;

        // The vector gives neither the joiner's signing and leaf keys nor
        // the tree, so the join runs up to where it needs them: the same
        // step `Group::join_from_welcome` starts with.
        let opened = check(
            "open welcome",
            Group::open_welcome(&case.welcome, &key_package, &init_key, None),
        )?;
        let signer = check(
            "signer_pub",
            SignaturePublicKey::from_bytes(&case.signer_pub),
        )?;
        check("group info signature", opened.group_info.verify(&signer))?;
        let (secrets, group_info) = (opened.group_secrets, opened.group_info);
        let welcome_secret = &opened.entry.welcome_secret;

        // Sealing the same GroupInfo and secrets again must open the same way.
        let resealed = check(
            "seal welcome",
            Welcome::seal(
                &group_info,
                welcome_secret,
                &[(&key_package, &secrets)],
                &mut OsRandom,
            ),
        )?;
        let reopened_secrets = check(
            "reopen secrets",
            resealed.decrypt_group_secrets(&key_package, &init_key),
        )?;
        expect_eq(
            "resealed joiner secret",
            reopened_secrets.joiner_secret.as_bytes(),
            secrets.joiner_secret.as_bytes(),
        )?;
        let reopened_info = check(
            "reopen group info",
            resealed.decrypt_group_info(welcome_secret),
        )?;
        if reopened_info != group_info {
            return Err("resealed group info differs".into());
        }
        Ok(())
    });
}
