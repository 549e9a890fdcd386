//! `key-schedule.json`.

use super::*;

#[derive(Deserialize)]
struct KeyScheduleCase {
    cipher_suite: u16,
    group_id: Hex,
    initial_init_secret: Hex,
    epochs: Vec<KeyScheduleEpoch>,
}

#[derive(Deserialize)]
struct KeyScheduleEpoch {
    tree_hash: Hex,
    commit_secret: Hex,
    psk_secret: Hex,
    confirmed_transcript_hash: Hex,
    group_context: Hex,
    joiner_secret: Hex,
    welcome_secret: Hex,
    init_secret: Hex,
    sender_data_secret: Hex,
    encryption_secret: Hex,
    exporter_secret: Hex,
    epoch_authenticator: Hex,
    external_secret: Hex,
    confirmation_key: Hex,
    membership_key: Hex,
    resumption_psk: Hex,
    external_pub: Hex,
    exporter: ExporterCase,
}

#[derive(Deserialize)]
struct ExporterCase {
    /// A string that happens to look like hex: the exporter label is text
    /// and is used as its UTF-8 bytes, not hex-decoded.
    label: String,
    context: Hex,
    length: usize,
    secret: Hex,
}

#[test]
fn key_schedule_vectors() {
    use aura::crypto::Secret;
    use aura::crypto::codec::{Decode, Encode};
    use aura::crypto::group_context::GroupContext;
    use aura::crypto::key_schedule::EpochEntry;

    let cases: Vec<KeyScheduleCase> = load("key-schedule.json");
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == CIPHER_SUITE_ID)
        .collect();
    run_cases("key-schedule.json", &cases, |case| {
        if case.epochs.is_empty() {
            return Err("no epochs".into());
        }
        let mut init_secret = Secret::from_slice(&case.initial_init_secret);
        for (epoch_number, epoch) in case.epochs.iter().enumerate() {
            let group_context = GroupContext {
                cipher_suite: CIPHER_SUITE_ID,
                group_id: case.group_id.to_vec(),
                epoch: epoch_number as u64,
                tree_hash: epoch.tree_hash.to_vec(),
                confirmed_transcript_hash: epoch.confirmed_transcript_hash.to_vec(),
                extensions: Vec::new(),
            };
            let encoded = check("encode group context", group_context.to_tls_bytes())?;
            expect_eq("group_context", &encoded, &epoch.group_context)?;
            let decoded = check(
                "decode group context",
                GroupContext::from_tls_bytes(&epoch.group_context),
            )?;
            if decoded != group_context {
                return Err(format!("epoch {epoch_number}: group context round trip"));
            }

            let (joiner_secret, entry) = check(
                "key schedule",
                EpochEntry::from_commit(
                    &init_secret,
                    &Secret::from_slice(&epoch.commit_secret),
                    &Secret::from_slice(&epoch.psk_secret),
                    &group_context,
                ),
            )?;
            let secrets = &entry.epoch;
            let expectations: [(&str, &Secret, &Hex); 11] = [
                ("joiner_secret", &joiner_secret, &epoch.joiner_secret),
                (
                    "welcome_secret",
                    &entry.welcome_secret,
                    &epoch.welcome_secret,
                ),
                ("init_secret", &secrets.init_secret, &epoch.init_secret),
                (
                    "sender_data_secret",
                    &secrets.sender_data_secret,
                    &epoch.sender_data_secret,
                ),
                (
                    "encryption_secret",
                    &secrets.encryption_secret,
                    &epoch.encryption_secret,
                ),
                (
                    "exporter_secret",
                    &secrets.exporter_secret,
                    &epoch.exporter_secret,
                ),
                (
                    "epoch_authenticator",
                    &secrets.epoch_authenticator,
                    &epoch.epoch_authenticator,
                ),
                (
                    "external_secret",
                    &secrets.external_secret,
                    &epoch.external_secret,
                ),
                (
                    "confirmation_key",
                    &secrets.confirmation_key,
                    &epoch.confirmation_key,
                ),
                (
                    "membership_key",
                    &secrets.membership_key,
                    &epoch.membership_key,
                ),
                (
                    "resumption_psk",
                    &secrets.resumption_psk,
                    &epoch.resumption_psk,
                ),
            ];
            for (name, actual, expected) in expectations {
                expect_eq(
                    &format!("epoch {epoch_number} {name}"),
                    actual.as_bytes(),
                    expected,
                )?;
            }
            expect_eq(
                &format!("epoch {epoch_number} external_pub"),
                &secrets.external_public_key().to_bytes(),
                &epoch.external_pub,
            )?;
            let exported = check(
                "export",
                secrets.export(
                    epoch.exporter.label.as_bytes(),
                    &epoch.exporter.context,
                    epoch.exporter.length,
                ),
            )?;
            expect_eq(
                &format!("epoch {epoch_number} exporter"),
                exported.as_bytes(),
                &epoch.exporter.secret,
            )?;
            init_secret = secrets.init_secret.duplicate();
        }
        Ok(())
    });
}
