//! Every decoder of the cryptographic core, fed arbitrary bytes, must return
//! a value or a typed error, never panic; and what we encode must decode back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use aura::crypto::codec::{Decode, Encode, MAX_VARINT_VALUE, Reader, Writer};
use aura::crypto::group_context::{Extension, GroupContext};
use aura::crypto::keys::{HpkeKeyPair, HpkePublicKey, SignaturePrivateKey, SignaturePublicKey};
use aura::crypto::primitives::{decrypt_with_label, verify_with_label};
use aura::crypto::transcript::AuthenticatedCommit;

fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn reader_primitives_never_panic(bytes in arbitrary_bytes()) {
        let mut reader = Reader::new(&bytes);
        let _ = reader.read_varint();
        let mut reader = Reader::new(&bytes);
        let _ = reader.read_opaque();
        let mut reader = Reader::new(&bytes);
        let _ = reader.read_vector(|r| r.read_u16());
        let mut reader = Reader::new(&bytes);
        let _ = reader.read_vector(|r| r.read_opaque().map(<[u8]>::to_vec));
        let mut reader = Reader::new(&bytes);
        let _ = reader.read_optional(|r| r.read_u64());
        let mut reader = Reader::new(&bytes);
        let _ = reader.read_u32();
        let _ = reader.read_fixed(usize::MAX);
        let _ = reader.finish();
    }

    #[test]
    fn structure_decoders_never_panic(bytes in arbitrary_bytes()) {
        let _ = GroupContext::from_tls_bytes(&bytes);
        let _ = Extension::from_tls_bytes(&bytes);
        let _ = AuthenticatedCommit::split(&bytes);
    }

    #[test]
    fn group_context_with_valid_header_never_panics(tail in arbitrary_bytes()) {
        // Random bytes rarely get past version and suite; prefix them so the
        // decoder's inner fields get exercised too.
        let mut bytes = vec![0, 1, 0, 3];
        bytes.extend_from_slice(&tail);
        let _ = GroupContext::from_tls_bytes(&bytes);
    }

    #[test]
    fn key_and_ciphertext_parsers_never_panic(bytes in arbitrary_bytes(), split in any::<usize>()) {
        let _ = HpkePublicKey::from_bytes(&bytes);
        let _ = SignaturePublicKey::from_bytes(&bytes);
        let _ = SignaturePrivateKey::from_seed(&bytes);
        let recipient = HpkeKeyPair::derive(b"fuzz recipient");
        let at = if bytes.is_empty() { 0 } else { split % bytes.len() };
        let (kem_output, ciphertext) = bytes.split_at(at);
        prop_assert!(decrypt_with_label(&recipient.private_key, b"label", b"", kem_output, ciphertext).is_err());
        let signer = SignaturePrivateKey::from_seed(&[1; 32]).unwrap().public_key();
        prop_assert!(verify_with_label(&signer, b"label", b"content", &bytes).is_err());
    }

    #[test]
    fn varint_round_trips(value in 0..=MAX_VARINT_VALUE) {
        let mut writer = Writer::new();
        writer.write_varint(value as usize).unwrap();
        let bytes = writer.into_bytes();
        let mut reader = Reader::new(&bytes);
        prop_assert_eq!(reader.read_varint(), Ok(value));
        prop_assert!(reader.is_empty());
    }

    #[test]
    fn group_context_round_trips(
        group_id in prop::collection::vec(any::<u8>(), 0..64),
        epoch in any::<u64>(),
        tree_hash in prop::collection::vec(any::<u8>(), 0..=32),
        confirmed in prop::collection::vec(any::<u8>(), 0..=32),
        extensions in prop::collection::vec(
            (any::<u16>(), prop::collection::vec(any::<u8>(), 0..100)),
            0..4,
        ),
    ) {
        let context = GroupContext {
            group_id,
            epoch,
            tree_hash,
            confirmed_transcript_hash: confirmed,
            extensions: extensions
                .into_iter()
                .map(|(extension_type, extension_data)| Extension { extension_type, extension_data })
                .collect(),
        };
        let bytes = context.to_tls_bytes().unwrap();
        prop_assert_eq!(GroupContext::from_tls_bytes(&bytes), Ok(context));
    }
}
