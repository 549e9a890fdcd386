//! `passive-client-welcome.json`, `passive-client-handling-commit.json` and
//! `passive-client-random.json`: a member that joins from a Welcome and then
//! follows every commit, with proposals by reference and external PSKs,
//! through the group's own API. The random file (200 epochs of random adds,
//! removes and updates) is published for suite 1 only, which Aura joins
//! only on opt-in ([`JoinOptions::allow_interop_suites`]).

use super::*;

use aura::crypto::Secret;
use aura::crypto::group::{
    Group, GroupError, JoinOptions, KeyPackageSecrets, PendingProposals, PskStore,
};
use aura::crypto::key_package::KeyPackage;

#[derive(Deserialize)]
struct PassiveClientCase {
    cipher_suite: u16,
    external_psks: Vec<ExternalPsk>,
    key_package: Hex,
    signature_priv: Hex,
    encryption_priv: Hex,
    init_priv: Hex,
    welcome: Hex,
    ratchet_tree: Option<Hex>,
    initial_epoch_authenticator: Hex,
    epochs: Vec<PassiveClientEpoch>,
}

#[derive(Deserialize)]
struct ExternalPsk {
    psk_id: Hex,
    psk: Hex,
}

#[derive(Deserialize)]
struct PassiveClientEpoch {
    proposals: Vec<Hex>,
    commit: Hex,
    epoch_authenticator: Hex,
}

fn passive_client(case: &PassiveClientCase) -> Result<(), String> {
    let mut psks = PskStore::new();
    for psk in &case.external_psks {
        psks.insert_external(psk.psk_id.to_vec(), Secret::from_slice(&psk.psk));
    }
    let key_package = check(
        "decode key package",
        KeyPackage::from_mls_message_bytes(&case.key_package),
    )?;
    let secrets = || -> Result<KeyPackageSecrets, String> {
        Ok(KeyPackageSecrets {
            init_private_key: check("init_priv", HpkePrivateKey::from_bytes(&case.init_priv))?,
            leaf_private_key: check(
                "encryption_priv",
                HpkePrivateKey::from_bytes(&case.encryption_priv),
            )?,
        })
    };
    let signing_key = check(
        "signature_priv",
        SignaturePrivateKey::from_seed(&case.signature_priv),
    )?;
    let suite = check("cipher suite", CipherSuite::try_from(case.cipher_suite))?;
    let allow_interop_suites = suite != CipherSuite::AURA;
    // What the join needs beyond the Welcome must really be needed, the
    // opt-in to another suite included.
    if allow_interop_suites {
        let without_opt_in = Group::join_from_welcome_with(
            &case.welcome,
            &key_package,
            secrets()?,
            signing_key.clone(),
            JoinOptions {
                ratchet_tree: case.ratchet_tree.as_deref(),
                psks: Some(&psks),
                allow_interop_suites: false,
            },
        );
        if without_opt_in.as_ref().err() != Some(&GroupError::UnsupportedCipherSuite(suite.id())) {
            return Err(format!(
                "join without the opt-in: {:?}",
                without_opt_in.err()
            ));
        }
    }
    if !case.external_psks.is_empty() {
        let without_psks = Group::join_from_welcome_with(
            &case.welcome,
            &key_package,
            secrets()?,
            signing_key.clone(),
            JoinOptions {
                ratchet_tree: case.ratchet_tree.as_deref(),
                psks: Some(&PskStore::new()),
                allow_interop_suites,
            },
        );
        if without_psks.as_ref().err() != Some(&GroupError::MissingPsk) {
            return Err(format!("join without its PSK: {:?}", without_psks.err()));
        }
    }
    if case.ratchet_tree.is_some() {
        let without_tree = Group::join_from_welcome_with(
            &case.welcome,
            &key_package,
            secrets()?,
            signing_key.clone(),
            JoinOptions {
                ratchet_tree: None,
                psks: Some(&psks),
                allow_interop_suites,
            },
        );
        if without_tree.as_ref().err() != Some(&GroupError::MissingRatchetTree) {
            return Err(format!("join without the tree: {:?}", without_tree.err()));
        }
    }
    let mut group = check(
        "join",
        Group::join_from_welcome_with(
            &case.welcome,
            &key_package,
            secrets()?,
            signing_key,
            JoinOptions {
                ratchet_tree: case.ratchet_tree.as_deref(),
                psks: Some(&psks),
                allow_interop_suites,
            },
        ),
    )?;
    psks.remember_epoch(&group);
    expect_eq(
        "initial epoch authenticator",
        group.epoch_authenticator(),
        &case.initial_epoch_authenticator,
    )?;
    for (index, epoch) in case.epochs.iter().enumerate() {
        let mut pending = PendingProposals::new();
        for proposal in &epoch.proposals {
            check(
                &format!("epoch {index} proposal"),
                group.receive_proposal(proposal, &mut pending),
            )?;
        }
        check(
            &format!("epoch {index} commit"),
            group.process_commit_with(&epoch.commit, &pending, &psks),
        )?;
        psks.remember_epoch(&group);
        expect_eq(
            &format!("epoch {index} authenticator"),
            group.epoch_authenticator(),
            &epoch.epoch_authenticator,
        )?;
    }
    // The stored state keeps the suite, and with it the AEAD key lengths.
    let exported = check("export state", group.export_state())?;
    let restored = check("import state", Group::import_state(exported.as_bytes()))?;
    for follower in [&group, &restored] {
        if follower.cipher_suite() != suite {
            return Err(format!(
                "group runs on {:?}, not {suite:?}",
                follower.cipher_suite()
            ));
        }
    }
    expect_eq(
        "restored epoch authenticator",
        restored.epoch_authenticator(),
        group.epoch_authenticator(),
    )
}

/// Runs the file's cases of `suite`; returns how many epochs they follow.
fn run_passive_client_file(file: &str, suite: CipherSuite) -> usize {
    let cases: Vec<PassiveClientCase> = load(file);
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|case| case.cipher_suite == suite.id())
        .collect();
    run_cases(file, &cases, passive_client);
    cases.iter().map(|case| case.epochs.len()).sum()
}

#[test]
fn passive_client_welcome_vectors() {
    run_passive_client_file("passive-client-welcome.json", CipherSuite::AURA);
}

#[test]
fn passive_client_handling_commit_vectors() {
    run_passive_client_file("passive-client-handling-commit.json", CipherSuite::AURA);
}

/// Suite 1 (AES-128-GCM) only: every message key, the Welcome and every
/// UpdatePath go through that AEAD, so a wrong AEAD fails the first epoch.
#[test]
fn passive_client_random_vectors() {
    const FILE: &str = "passive-client-random.json";
    const PUBLISHED_EPOCHS: usize = 200;
    let epochs = run_passive_client_file(FILE, CipherSuite::X25519Aes128GcmSha256Ed25519);
    println!("{FILE}: {epochs} epochs followed, every epoch authenticator checked");
    assert_eq!(epochs, PUBLISHED_EPOCHS);
}
