//! `messages.json`: every message type decoded by the product's decoders
//! and re-encoded byte for byte.

use super::*;

use aura::crypto::codec::{Decode, Encode};
use aura::crypto::commit::{Commit, HandshakeBodies};
use aura::crypto::key_package::KeyPackage;
use aura::crypto::private_message::PrivateMessage;
use aura::crypto::proposal::Proposal;
use aura::crypto::public_message::PublicMessage;
use aura::crypto::ratchet_tree::RatchetTree;
use aura::crypto::welcome::{GroupInfo, GroupSecrets, Welcome};

#[derive(Deserialize)]
struct MessagesCase {
    mls_welcome: Hex,
    mls_group_info: Hex,
    mls_key_package: Hex,
    ratchet_tree: Hex,
    group_secrets: Hex,
    add_proposal: Hex,
    update_proposal: Hex,
    remove_proposal: Hex,
    pre_shared_key_proposal: Hex,
    re_init_proposal: Hex,
    external_init_proposal: Hex,
    group_context_extensions_proposal: Hex,
    commit: Hex,
    public_message_application: Hex,
    public_message_proposal: Hex,
    public_message_commit: Hex,
    private_message: Hex,
}

/// Decodes `bytes` with `decode`, re-encodes with `encode`, and compares.
fn round_trip<T, D: std::fmt::Debug, E: std::fmt::Debug>(
    what: &str,
    bytes: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<T, D>,
    encode: impl FnOnce(&T) -> Result<Vec<u8>, E>,
) -> Result<(), String> {
    let value = check(&format!("decode {what}"), decode(bytes))?;
    let encoded = check(&format!("encode {what}"), encode(&value))?;
    expect_eq(what, &encoded, bytes)
}

/// The vectors hold each proposal's body without its `proposal_type`; the
/// product's `Proposal` decoder reads both, so the type is put in front.
fn proposal_round_trip(what: &str, proposal_type: u16, body: &[u8]) -> Result<(), String> {
    let mut bytes = proposal_type.to_be_bytes().to_vec();
    bytes.extend_from_slice(body);
    let proposal = check(&format!("decode {what}"), Proposal::from_tls_bytes(&bytes))?;
    let expected_variant = matches!(
        (&proposal, proposal_type),
        (Proposal::Add(_), 1)
            | (Proposal::Update(_), 2)
            | (Proposal::Remove(_), 3)
            | (Proposal::PreSharedKey(_), 4)
            | (Proposal::ReInit(_), 5)
            | (Proposal::ExternalInit { .. }, 6)
            | (Proposal::GroupContextExtensions(_), 7)
    );
    if !expected_variant {
        return Err(format!("{what}: decoded as {proposal:?}"));
    }
    let encoded = check(&format!("encode {what}"), proposal.to_tls_bytes())?;
    expect_eq(what, &encoded, &bytes)
}

fn messages(case: &MessagesCase) -> Result<(), String> {
    // Every message type is checked even after one fails, so that a case's
    // report names all the decoders it defeats.
    let results = [
        round_trip(
            "welcome",
            &case.mls_welcome,
            Welcome::from_mls_message_bytes,
            Welcome::to_mls_message_bytes,
        ),
        round_trip(
            "group info",
            &case.mls_group_info,
            GroupInfo::from_mls_message_bytes,
            GroupInfo::to_mls_message_bytes,
        ),
        round_trip(
            "key package",
            &case.mls_key_package,
            KeyPackage::from_mls_message_bytes,
            KeyPackage::to_mls_message_bytes,
        ),
        round_trip(
            "ratchet tree",
            &case.ratchet_tree,
            RatchetTree::from_tls_bytes,
            RatchetTree::to_tls_bytes,
        ),
        round_trip(
            "group secrets",
            &case.group_secrets,
            GroupSecrets::from_tls_bytes,
            GroupSecrets::to_tls_bytes,
        ),
        proposal_round_trip("add proposal", 1, &case.add_proposal),
        proposal_round_trip("update proposal", 2, &case.update_proposal),
        proposal_round_trip("remove proposal", 3, &case.remove_proposal),
        proposal_round_trip("pre-shared key proposal", 4, &case.pre_shared_key_proposal),
        proposal_round_trip("reinit proposal", 5, &case.re_init_proposal),
        proposal_round_trip("external init proposal", 6, &case.external_init_proposal),
        proposal_round_trip(
            "group context extensions proposal",
            7,
            &case.group_context_extensions_proposal,
        ),
        round_trip(
            "commit",
            &case.commit,
            Commit::from_tls_bytes,
            Commit::to_tls_bytes,
        ),
        public_message_round_trip(
            "public message (application)",
            &case.public_message_application,
        ),
        public_message_round_trip("public message (proposal)", &case.public_message_proposal),
        public_message_round_trip("public message (commit)", &case.public_message_commit),
        round_trip(
            "private message",
            &case.private_message,
            PrivateMessage::from_mls_message_bytes,
            PrivateMessage::to_mls_message_bytes,
        ),
    ];
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

fn public_message_round_trip(what: &str, bytes: &[u8]) -> Result<(), String> {
    round_trip(
        what,
        bytes,
        |bytes| PublicMessage::from_mls_message_bytes(bytes, &HandshakeBodies),
        PublicMessage::to_mls_message_bytes,
    )
}

#[test]
fn messages_vectors() {
    let cases: Vec<MessagesCase> = load("messages.json");
    run_cases("messages.json", &cases, messages);
}
