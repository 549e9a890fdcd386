//! Decoders accept any cipher suite so that foreign messages round-trip;
//! the group runs only on suites it implements, creates only Aura's (3),
//! and joins suite 1 only when the caller opts in.

use super::*;
use crate::crypto::key_package::KeyPackage;
use crate::crypto::welcome::Welcome;

const AES_SUITE: u16 = 1;
const UNIMPLEMENTED_SUITE: u16 = 2;

fn copy_secrets(secrets: &KeyPackageSecrets) -> KeyPackageSecrets {
    KeyPackageSecrets {
        init_private_key: secrets.init_private_key.clone(),
        leaf_private_key: secrets.leaf_private_key.clone(),
    }
}

fn join(
    welcome: &Welcome,
    package: &KeyPackage,
    secrets: &KeyPackageSecrets,
    key: &SignaturePrivateKey,
    allow_interop_suites: bool,
) -> Option<GroupError> {
    Group::join_from_welcome_with(
        &welcome.to_mls_message_bytes().unwrap(),
        package,
        copy_secrets(secrets),
        key.clone(),
        JoinOptions {
            allow_interop_suites,
            ..JoinOptions::default()
        },
    )
    .err()
}

#[test]
fn aura_creates_and_invites_on_its_own_suite_only() {
    let rng = &mut StepRng(37);
    let founder = Group::create(
        b"g".to_vec(),
        b"a".to_vec(),
        SignaturePrivateKey::generate(rng),
        rng,
    )
    .unwrap();
    assert_eq!(founder.cipher_suite(), CipherSuite::AURA);
    assert_eq!(founder.group_context().cipher_suite, CIPHER_SUITE_ID);
    let key = SignaturePrivateKey::generate(rng);
    let (package, _) = generate_key_package(b"b".to_vec(), &key, rng).unwrap();
    assert_eq!(package.cipher_suite, CIPHER_SUITE_ID);
    assert_eq!(
        package.leaf_node.capabilities.cipher_suites,
        [CIPHER_SUITE_ID]
    );
}

#[test]
fn a_welcome_or_key_package_of_another_suite_is_refused() {
    let rng = &mut StepRng(31);
    let mut founder = Group::create(
        b"g".to_vec(),
        b"a".to_vec(),
        SignaturePrivateKey::generate(rng),
        rng,
    )
    .unwrap();
    let key = SignaturePrivateKey::generate(rng);
    let (package, secrets) = generate_key_package(b"b".to_vec(), &key, rng).unwrap();
    let welcome = founder.add_member(&package, rng).unwrap().welcome.unwrap();
    let welcome = Welcome::from_mls_message_bytes(&welcome).unwrap();

    // A suite Aura does not implement is refused, opt-in or not.
    let mut unimplemented = welcome.clone();
    unimplemented.cipher_suite = UNIMPLEMENTED_SUITE;
    for opt_in in [false, true] {
        assert_eq!(
            join(&unimplemented, &package, &secrets, &key, opt_in),
            Some(GroupError::UnsupportedCipherSuite(UNIMPLEMENTED_SUITE))
        );
    }
    // Suite 1 must match the key package, even with the opt-in: a Welcome
    // cannot move a suite-3 key package onto another suite.
    let mut relabelled = welcome.clone();
    relabelled.cipher_suite = AES_SUITE;
    for opt_in in [false, true] {
        assert_eq!(
            join(&relabelled, &package, &secrets, &key, opt_in),
            Some(GroupError::CipherSuiteMismatch {
                welcome: AES_SUITE,
                other: "key package",
                found: CIPHER_SUITE_ID,
            })
        );
    }
    // A suite-1 key package joins only on opt-in; with it, this suite-3
    // Welcome does not match the package.
    let mut aes_package = package.clone();
    aes_package.cipher_suite = AES_SUITE;
    aes_package.sign(&key).unwrap();
    assert_eq!(
        join(&welcome, &aes_package, &secrets, &key, false),
        Some(GroupError::UnsupportedCipherSuite(AES_SUITE))
    );
    assert_eq!(
        join(&welcome, &aes_package, &secrets, &key, true),
        Some(GroupError::CipherSuiteMismatch {
            welcome: CIPHER_SUITE_ID,
            other: "key package",
            found: AES_SUITE,
        })
    );
    // The untouched Welcome still joins, with or without the opt-in.
    for opt_in in [false, true] {
        assert_eq!(join(&welcome, &package, &secrets, &key, opt_in), None);
    }

    let (mut foreign_package, _) = generate_key_package(b"c".to_vec(), &key, rng).unwrap();
    for suite in [AES_SUITE, UNIMPLEMENTED_SUITE] {
        foreign_package.cipher_suite = suite;
        foreign_package.sign(&key).unwrap();
        let epoch = founder.epoch();
        assert_eq!(
            founder.add_member(&foreign_package, rng),
            Err(GroupError::InvalidProposal(
                "key package of another cipher suite"
            ))
        );
        assert_eq!(founder.epoch(), epoch);
    }
}

#[test]
fn a_stored_state_of_an_unimplemented_suite_is_refused() {
    let rng = &mut StepRng(41);
    let group = Group::create(
        b"g".to_vec(),
        b"a".to_vec(),
        SignaturePrivateKey::generate(rng),
        rng,
    )
    .unwrap();
    let exported = group.export_state().unwrap();
    // Format version (1 byte), then the GroupContext: version (2), suite (2).
    let suite_at = 3..5;
    assert_eq!(
        &exported.as_bytes()[suite_at.clone()],
        &CIPHER_SUITE_ID.to_be_bytes()
    );
    let mut bytes = exported.as_bytes().to_vec();
    bytes[suite_at].copy_from_slice(&UNIMPLEMENTED_SUITE.to_be_bytes());
    assert_eq!(
        Group::import_state(&bytes).err(),
        Some(GroupError::UnsupportedCipherSuite(UNIMPLEMENTED_SUITE))
    );
    let restored = Group::import_state(exported.as_bytes()).unwrap();
    assert_eq!(restored.cipher_suite(), CipherSuite::AURA);
}
