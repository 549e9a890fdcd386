//! Property tests of the cryptographic core: every decoder, fed arbitrary or
//! mutated bytes, returns a value or a typed error and never panics; what we
//! encode decodes back; tree math stays self-consistent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

#[path = "support/rng.rs"]
mod rng;

use aura::crypto::cipher_suite::CipherSuite;
use aura::crypto::codec::{Decode, Encode, MAX_VARINT_VALUE, Reader, Writer};
use aura::crypto::commit::HandshakeBodies;
use aura::crypto::framing::{ContentType, FramedContent, FramedContentAuthData, Sender};
use aura::crypto::group::{Group, generate_key_package};
use aura::crypto::group_context::{Extension, GroupContext};
use aura::crypto::keys::{HpkeKeyPair, HpkePublicKey, SignaturePrivateKey, SignaturePublicKey};
use aura::crypto::leaf_node::{Capabilities, Credential, LeafNode, LeafNodeSource};
use aura::crypto::primitives::{decrypt_with_label, verify_with_label};
use aura::crypto::private_message::{PrivateMessage, unprotect_unchecked};
use aura::crypto::public_message::PublicMessage;
use aura::crypto::ratchet_tree::{Node, ParentNode, RatchetTree};
use aura::crypto::secret_tree::SecretTree;
use aura::crypto::transcript::AuthenticatedCommit;
use aura::crypto::tree_math::TreeSize;
use aura::crypto::{DecodeError, Secret};

/// Stands in for the group layer's Proposal/Commit skipper: treats a body as
/// one `opaque<V>`, which is enough to drive the framing decoders.
fn opaque_body_skipper(_: ContentType, reader: &mut Reader<'_>) -> Result<(), DecodeError> {
    reader.read_opaque().map(|_| ())
}

/// The first tree of `tests/vectors/mls/tree-validation.json` (3 nodes).
static SAMPLE_TREE: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/mls/tree-validation.json"
    );
    let text = std::fs::read_to_string(path).expect("tree-validation vectors");
    let cases: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    hex::decode(cases[0]["tree"].as_str().expect("tree field")).expect("hex tree")
});

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
        let _ = Sender::from_tls_bytes(&bytes);
        let _ = Credential::from_tls_bytes(&bytes);
        let _ = Capabilities::from_tls_bytes(&bytes);
        let _ = LeafNodeSource::from_tls_bytes(&bytes);
        let _ = LeafNode::from_tls_bytes(&bytes);
        let _ = ParentNode::from_tls_bytes(&bytes);
        let _ = Node::from_tls_bytes(&bytes);
        let _ = aura::crypto::psk::PreSharedKeyId::from_tls_bytes(&bytes);
        let _ = aura::crypto::key_package::KeyPackage::from_tls_bytes(&bytes);
        let _ = aura::crypto::key_package::KeyPackage::from_mls_message_bytes(&bytes);
        let _ = aura::crypto::welcome::Welcome::from_mls_message_bytes(&bytes);
        let _ = aura::crypto::welcome::GroupInfo::from_tls_bytes(&bytes);
        let _ = aura::crypto::welcome::GroupSecrets::from_tls_bytes(&bytes);
        let _ = aura::crypto::welcome::EncryptedGroupSecrets::from_tls_bytes(&bytes);
        let _ = aura::crypto::tree_kem::UpdatePath::from_tls_bytes(&bytes);
        let _ = aura::crypto::tree_kem::UpdatePathNode::from_tls_bytes(&bytes);
        let _ = aura::crypto::primitives::HpkeCiphertext::from_tls_bytes(&bytes);
        if let Ok(tree) = RatchetTree::from_tls_bytes(&bytes) {
            let _ = tree.root_tree_hash();
            let _ = tree.verify_parent_hashes();
            let _ = tree.verify_leaf_signatures(b"group");
        }
        let _ = PrivateMessage::from_tls_bytes(&bytes);
        let _ = PrivateMessage::from_mls_message_bytes(&bytes);
        let _ = PublicMessage::from_mls_message_bytes(&bytes, &opaque_body_skipper);
        let _ = FramedContent::decode_with(&mut Reader::new(&bytes), &opaque_body_skipper);
        let _ = aura::crypto::proposal::Proposal::from_tls_bytes(&bytes);
        let _ = aura::crypto::proposal::ProposalOrRef::from_tls_bytes(&bytes);
        let _ = aura::crypto::commit::Commit::from_tls_bytes(&bytes);
        let _ = PublicMessage::from_mls_message_bytes(&bytes, &HandshakeBodies);
        let _ = FramedContent::decode_with(&mut Reader::new(&bytes), &HandshakeBodies);
        for content_type in [ContentType::Application, ContentType::Proposal, ContentType::Commit] {
            let _ = FramedContentAuthData::decode(&mut Reader::new(&bytes), content_type);
        }
    }

    #[test]
    fn mutated_ratchet_trees_never_panic(position in any::<usize>(), value in any::<u8>()) {
        // Flip one byte of a real tree: gets far deeper into the decoders
        // than random bytes do.
        let mut bytes = SAMPLE_TREE.to_vec();
        let at = position % bytes.len();
        bytes[at] = value;
        if let Ok(tree) = RatchetTree::from_tls_bytes(&bytes) {
            let _ = tree.root_tree_hash();
            let _ = tree.verify_parent_hashes();
            let _ = tree.verify_leaf_signatures(b"group");
            for index in 0..tree.size().node_count() {
                let _ = tree.resolution(aura::crypto::tree_math::NodeIndex(index));
            }
        }
    }

    #[test]
    fn group_inputs_never_panic(bytes in arbitrary_bytes(), wire_format in 1u16..=5) {
        // Random bytes, and random bytes behind a valid MLSMessage header.
        let mut framed = vec![0, 1];
        framed.extend_from_slice(&wire_format.to_be_bytes());
        framed.extend_from_slice(&bytes);
        let mut rng = rng::TestRng::new(1);
        let signing_key = SignaturePrivateKey::from_seed(&[9; 32]).unwrap();
        let mut group = Group::create(b"group".to_vec(), b"me".to_vec(), signing_key.clone(), &mut rng).unwrap();
        let (key_package, _) = generate_key_package(b"me".to_vec(), &signing_key, &mut rng).unwrap();
        for input in [&bytes, &framed] {
            prop_assert!(group.process_commit(input).is_err());
            prop_assert!(group.unprotect(input).is_err());
            let (_, secrets) = generate_key_package(b"me".to_vec(), &signing_key, &mut rng).unwrap();
            prop_assert!(Group::join_from_welcome(input, &key_package, secrets, signing_key.clone()).is_err());
            prop_assert!(Group::import_state(input).is_err());
        }
        prop_assert_eq!(group.epoch(), 0);
    }

    #[test]
    fn message_decoders_past_the_header_never_panic(wire_format in 1u16..=2, tail in arbitrary_bytes()) {
        let mut bytes = vec![0, 1];
        bytes.extend_from_slice(&wire_format.to_be_bytes());
        bytes.extend_from_slice(&tail);
        let _ = PrivateMessage::from_mls_message_bytes(&bytes);
        let _ = PublicMessage::from_mls_message_bytes(&bytes, &opaque_body_skipper);
        let _ = PublicMessage::from_mls_message_bytes(&bytes, &HandshakeBodies);
    }

    #[test]
    fn forged_private_messages_are_rejected(
        sender_data in prop::collection::vec(any::<u8>(), 0..40),
        ciphertext in prop::collection::vec(any::<u8>(), 0..200),
        content_type in 1u8..=3,
    ) {
        let message = PrivateMessage {
            group_id: b"group".to_vec(),
            epoch: 1,
            content_type: ContentType::from_code(content_type).unwrap(),
            authenticated_data: Vec::new(),
            encrypted_sender_data: sender_data,
            ciphertext,
        };
        let mut tree = SecretTree::new(CipherSuite::AURA, &Secret::zero(32), TreeSize::new(4).unwrap());
        prop_assert!(unprotect_unchecked(&message, &mut tree, &Secret::zero(32), &opaque_body_skipper).is_err());
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
        for suite in [CipherSuite::X25519Aes128GcmSha256Ed25519, CipherSuite::AURA] {
            prop_assert!(decrypt_with_label(suite, &recipient.private_key, b"label", b"", kem_output, ciphertext).is_err());
        }
        let signer = SignaturePrivateKey::from_seed(&[1; 32]).unwrap().public_key();
        prop_assert!(verify_with_label(&signer, b"label", b"content", &bytes).is_err());
    }

    #[test]
    fn tree_math_is_consistent(log_leaves in 0u32..=20, raw_node in any::<u32>()) {
        let tree = TreeSize::new(1 << log_leaves).unwrap();
        let node = aura::crypto::tree_math::NodeIndex(raw_node % (tree.node_count() + 8));
        if !tree.contains(node) {
            prop_assert!(tree.direct_path(node).is_err());
            prop_assert_eq!(tree.parent(node), None);
            return Ok(());
        }
        let path = tree.direct_path(node).unwrap();
        let copath = tree.copath(node).unwrap();
        prop_assert_eq!(path.len(), copath.len());
        prop_assert_eq!(path.last().copied().unwrap_or(node), tree.root());
        if let Some(parent) = tree.parent(node) {
            let sibling = tree.sibling(node).unwrap();
            prop_assert_eq!(tree.parent(sibling), Some(parent));
            prop_assert_eq!(parent.level(), node.level() + 1);
            prop_assert!(parent.left() == Some(node) || parent.right() == Some(node));
        }
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
            cipher_suite: aura::crypto::cipher_suite::CIPHER_SUITE_ID,
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
