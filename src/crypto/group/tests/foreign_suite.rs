//! Decoders accept any cipher suite so that foreign messages round-trip;
//! the group itself must refuse everything not of its own suite.

use super::*;
use crate::crypto::welcome::Welcome;

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
    let mut foreign = Welcome::from_mls_message_bytes(&welcome).unwrap();
    foreign.cipher_suite = 1;
    assert_eq!(
        Group::join_from_welcome(
            &foreign.to_mls_message_bytes().unwrap(),
            &package,
            secrets,
            key.clone(),
        )
        .err(),
        Some(GroupError::UnsupportedCipherSuite(1))
    );

    let (mut foreign_package, _) = generate_key_package(b"c".to_vec(), &key, rng).unwrap();
    foreign_package.cipher_suite = 2;
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
