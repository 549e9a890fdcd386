//! `crypto-basics.json`.

use super::*;

#[derive(Deserialize)]
struct CryptoBasicsCase {
    cipher_suite: u16,
    ref_hash: RefHashCase,
    expand_with_label: ExpandWithLabelCase,
    derive_secret: DeriveSecretCase,
    derive_tree_secret: DeriveTreeSecretCase,
    sign_with_label: SignWithLabelCase,
    encrypt_with_label: EncryptWithLabelCase,
}

#[derive(Deserialize)]
struct RefHashCase {
    label: String,
    value: Hex,
    out: Hex,
}

#[derive(Deserialize)]
struct ExpandWithLabelCase {
    secret: Hex,
    label: String,
    context: Hex,
    length: usize,
    out: Hex,
}

#[derive(Deserialize)]
struct DeriveSecretCase {
    secret: Hex,
    label: String,
    out: Hex,
}

#[derive(Deserialize)]
struct DeriveTreeSecretCase {
    secret: Hex,
    label: String,
    generation: u32,
    length: usize,
    out: Hex,
}

#[derive(Deserialize)]
struct SignWithLabelCase {
    #[serde(rename = "priv")]
    private: Hex,
    #[serde(rename = "pub")]
    public: Hex,
    content: Hex,
    label: String,
    signature: Hex,
}

#[derive(Deserialize)]
struct EncryptWithLabelCase {
    #[serde(rename = "priv")]
    private: Hex,
    #[serde(rename = "pub")]
    public: Hex,
    label: String,
    context: Hex,
    plaintext: Hex,
    kem_output: Hex,
    ciphertext: Hex,
}

#[test]
fn crypto_basics_vectors() {
    let cases: Vec<CryptoBasicsCase> = load("crypto-basics.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == CIPHER_SUITE_ID)
        .collect();
    run_cases("crypto-basics.json", &cases, |case| {
        let c = &case.ref_hash;
        let out = check(
            "ref_hash",
            primitives::ref_hash(c.label.as_bytes(), &c.value),
        )?;
        expect_eq("ref_hash", &out, &c.out)?;

        let c = &case.expand_with_label;
        let out = check(
            "expand_with_label",
            primitives::expand_with_label(&c.secret, c.label.as_bytes(), &c.context, c.length),
        )?;
        expect_eq("expand_with_label", out.as_bytes(), &c.out)?;

        let c = &case.derive_secret;
        let out = check(
            "derive_secret",
            primitives::derive_secret(&c.secret, c.label.as_bytes()),
        )?;
        expect_eq("derive_secret", out.as_bytes(), &c.out)?;

        let c = &case.derive_tree_secret;
        let out = check(
            "derive_tree_secret",
            primitives::derive_tree_secret(&c.secret, c.label.as_bytes(), c.generation, c.length),
        )?;
        expect_eq("derive_tree_secret", out.as_bytes(), &c.out)?;

        let c = &case.sign_with_label;
        let signing_key = check("signature priv", SignaturePrivateKey::from_seed(&c.private))?;
        let verifying_key = check("signature pub", SignaturePublicKey::from_bytes(&c.public))?;
        expect_eq(
            "signature public key",
            &signing_key.public_key().to_bytes(),
            &c.public,
        )?;
        check(
            "verify vector signature",
            primitives::verify_with_label(
                &verifying_key,
                c.label.as_bytes(),
                &c.content,
                &c.signature,
            ),
        )?;
        // Ed25519 is deterministic, so our signature must match byte for byte.
        let signature = check(
            "sign_with_label",
            primitives::sign_with_label(&signing_key, c.label.as_bytes(), &c.content),
        )?;
        expect_eq("sign_with_label", &signature, &c.signature)?;

        let c = &case.encrypt_with_label;
        let private_key = check("hpke priv", HpkePrivateKey::from_bytes(&c.private))?;
        let public_key = check("hpke pub", HpkePublicKey::from_bytes(&c.public))?;
        expect_eq(
            "hpke public key",
            &private_key.public_key().to_bytes(),
            &c.public,
        )?;
        let plaintext = check(
            "decrypt_with_label",
            primitives::decrypt_with_label(
                CipherSuite::AURA,
                &private_key,
                c.label.as_bytes(),
                &c.context,
                &c.kem_output,
                &c.ciphertext,
            ),
        )?;
        expect_eq("decrypt_with_label", plaintext.as_bytes(), &c.plaintext)?;
        // Our own encryption must be readable with the vector's key.
        let sealed = check(
            "encrypt_with_label",
            primitives::encrypt_with_label(
                CipherSuite::AURA,
                &public_key,
                c.label.as_bytes(),
                &c.context,
                &c.plaintext,
                &mut OsRandom,
            ),
        )?;
        let reopened = check(
            "decrypt own ciphertext",
            primitives::decrypt_with_label(
                CipherSuite::AURA,
                &private_key,
                c.label.as_bytes(),
                &c.context,
                &sealed.kem_output,
                &sealed.ciphertext,
            ),
        )?;
        expect_eq("round trip", reopened.as_bytes(), &c.plaintext)
    });
}
