//! Commits from others with proposals by reference, PSKs and context
//! extensions: a commit may only name proposals this member received and
//! verified in the epoch, only PSKs it holds, only extensions every member
//! supports, and may not both update and remove one leaf.

use super::*;
use crate::crypto::framing::{ContentType, FramedContent, Sender, WireFormat};
use crate::crypto::group_context::Extension;
use crate::crypto::primitives::ref_hash;
use crate::crypto::proposal::{Proposal, ProposalOrRef};
use crate::crypto::psk::{PreSharedKeyId, PskKind};

/// `sender`'s standalone `proposal`, signed with `signing_key` and tagged
/// with the membership key, as an `MLSMessage`, with its `ProposalRef`.
fn proposal_message(
    sender: &Group,
    signing_key: &SignaturePrivateKey,
    proposal: &Proposal,
) -> (Vec<u8>, Vec<u8>) {
    let content = FramedContent {
        group_id: sender.context.group_id.clone(),
        epoch: sender.context.epoch,
        sender: Sender::Member(sender.own_leaf),
        authenticated_data: Vec::new(),
        content_type: ContentType::Proposal,
        body: proposal.to_tls_bytes().unwrap(),
    };
    let signed = AuthenticatedContent::sign(
        WireFormat::PublicMessage,
        content,
        &sender.context,
        signing_key,
        None,
    )
    .unwrap();
    let reference = ref_hash(PROPOSAL_REF_LABEL, &signed.to_tls_bytes().unwrap())
        .unwrap()
        .to_vec();
    let message = PublicMessage::protect(&signed, &sender.context, &sender.secrets.membership_key)
        .unwrap()
        .to_mls_message_bytes()
        .unwrap();
    (message, reference)
}

/// Member 0's update commit, re-framed with `proposals` in its place.
fn commit_with(members: &mut [Group], rng: &mut StepRng, proposals: Vec<ProposalOrRef>) -> Vec<u8> {
    let committer_before =
        Group::import_state(members[0].export_state().unwrap().as_bytes()).unwrap();
    let output = members[0].update(rng).unwrap();
    let (signed, commit) = decode_commit(&output.commit, &members[1]);
    let altered = Commit {
        proposals,
        ..commit
    };
    reframe(&committer_before, &signed, altered.to_tls_bytes().unwrap())
}

fn external_psk(psk_id: &[u8], nonce_length: usize) -> ProposalOrRef {
    ProposalOrRef::Proposal(Proposal::PreSharedKey(PreSharedKeyId {
        kind: PskKind::External {
            psk_id: psk_id.to_vec(),
        },
        psk_nonce: vec![7; nonce_length],
    }))
}

#[test]
fn a_commit_naming_a_proposal_not_received_is_rejected() {
    let rng = &mut StepRng(21);
    let mut members = three_members(rng);
    let mut pending = PendingProposals::new();
    assert!(pending.is_empty());
    assert_eq!(pending.len(), 0);
    let (message, received) = proposal_message(
        &members[2],
        &members[2].signing_key.clone(),
        &Proposal::Remove(LeafIndex(0)),
    );
    assert_eq!(
        members[1].receive_proposal(&message, &mut pending),
        Ok(received.clone())
    );
    assert_eq!(pending.len(), 1);
    assert!(!pending.is_empty());
    let mut unknown = received;
    unknown[0] ^= 1;
    let forged = commit_with(&mut members, rng, vec![ProposalOrRef::Reference(unknown)]);
    let (epoch, hash) = (members[1].epoch(), members[1].tree_hash().to_vec());
    assert_eq!(
        members[1].process_commit_with(&forged, &pending, &PskStore::new()),
        Err(GroupError::UnknownProposalRef)
    );
    unchanged(&members[1], epoch, &hash);
}

#[test]
fn forged_proposals_are_not_kept_and_cannot_be_referenced() {
    let rng = &mut StepRng(22);
    let mut members = three_members(rng);
    let mut pending = PendingProposals::new();
    let proposal = Proposal::Remove(LeafIndex(0));
    // Claims to come from member 2, signed by member 1.
    let impostor = members[1].signing_key.clone();
    let (forged_signature, forged_ref) = proposal_message(&members[2], &impostor, &proposal);
    assert_eq!(
        members[1].receive_proposal(&forged_signature, &mut pending),
        Err(GroupError::Crypto(CryptoError::SignatureInvalid))
    );
    // Genuine signature, broken membership tag.
    let (mut bad_tag, _) =
        proposal_message(&members[2], &members[2].signing_key.clone(), &proposal);
    let last = bad_tag.len() - 1;
    bad_tag[last] ^= 1;
    assert_eq!(
        members[1].receive_proposal(&bad_tag, &mut pending),
        Err(GroupError::Crypto(CryptoError::MacInvalid))
    );
    assert!(pending.is_empty());
    let commit = commit_with(
        &mut members,
        rng,
        vec![ProposalOrRef::Reference(forged_ref)],
    );
    assert_eq!(
        members[1].process_commit_with(&commit, &pending, &PskStore::new()),
        Err(GroupError::UnknownProposalRef)
    );
}

#[test]
fn proposals_of_an_earlier_epoch_cannot_be_referenced() {
    let rng = &mut StepRng(23);
    let mut members = three_members(rng);
    let mut pending = PendingProposals::new();
    let (message, reference) = proposal_message(
        &members[2],
        &members[2].signing_key.clone(),
        &Proposal::Remove(LeafIndex(0)),
    );
    members[1].receive_proposal(&message, &mut pending).unwrap();
    let advance = members[2].update(rng).unwrap();
    members[1].process_commit(&advance.commit).unwrap();
    members[0].process_commit(&advance.commit).unwrap();
    let commit = commit_with(&mut members, rng, vec![ProposalOrRef::Reference(reference)]);
    assert_eq!(
        members[1].process_commit_with(&commit, &pending, &PskStore::new()),
        Err(GroupError::UnknownProposalRef)
    );
}

#[test]
fn a_commit_needing_a_psk_the_member_lacks_is_rejected() {
    let rng = &mut StepRng(24);
    let mut members = three_members(rng);
    let mut psks = PskStore::new();
    psks.insert_external(b"held".to_vec(), Secret::from_slice(&[1; 32]));
    let forged = commit_with(&mut members, rng, vec![external_psk(b"other", 32)]);
    let (epoch, hash) = (members[1].epoch(), members[1].tree_hash().to_vec());
    assert_eq!(
        members[1].process_commit_with(&forged, &PendingProposals::new(), &psks),
        Err(GroupError::MissingPsk)
    );
    assert_eq!(
        members[1].process_commit(&forged),
        Err(GroupError::MissingPsk)
    );
    unchanged(&members[1], epoch, &hash);
}

#[test]
fn psk_proposals_with_a_short_nonce_or_named_twice_are_rejected() {
    let rng = &mut StepRng(25);
    let mut members = three_members(rng);
    let mut psks = PskStore::new();
    psks.insert_external(b"held".to_vec(), Secret::from_slice(&[1; 32]));
    let short_nonce = commit_with(&mut members, rng, vec![external_psk(b"held", 31)]);
    assert_eq!(
        members[1].process_commit_with(&short_nonce, &PendingProposals::new(), &psks),
        Err(GroupError::InvalidProposal("PSK nonce of the wrong length"))
    );
    let mut members = three_members(rng);
    let twice = commit_with(
        &mut members,
        rng,
        vec![external_psk(b"held", 32), external_psk(b"held", 32)],
    );
    assert_eq!(
        members[1].process_commit_with(&twice, &PendingProposals::new(), &psks),
        Err(GroupError::InvalidProposal("one PSK named twice"))
    );
}

#[test]
fn context_extensions_some_member_lacks_are_rejected() {
    let rng = &mut StepRng(26);
    let mut members = three_members(rng);
    let unknown = Extension {
        extension_type: 0xff00,
        extension_data: Vec::new(),
    };
    let forged = commit_with(
        &mut members,
        rng,
        vec![ProposalOrRef::Proposal(Proposal::GroupContextExtensions(
            vec![unknown],
        ))],
    );
    let (epoch, hash) = (members[1].epoch(), members[1].tree_hash().to_vec());
    assert_eq!(
        members[1].process_commit(&forged),
        Err(GroupError::InvalidProposal(
            "context extension not supported by every member"
        ))
    );
    unchanged(&members[1], epoch, &hash);
}

#[test]
fn a_leaf_updated_and_removed_in_one_commit_is_rejected() {
    let rng = &mut StepRng(27);
    let mut members = three_members(rng);
    let mut pending = PendingProposals::new();
    let mut new_leaf = members[2].tree().leaf(LeafIndex(2)).unwrap().clone();
    new_leaf.encryption_key = HpkeKeyPair::generate(rng).public_key.to_bytes().to_vec();
    new_leaf.source = crate::crypto::leaf_node::LeafNodeSource::Update;
    new_leaf
        .sign(&members[2].signing_key, b"g", LeafIndex(2))
        .unwrap();
    let (message, reference) = proposal_message(
        &members[2],
        &members[2].signing_key.clone(),
        &Proposal::Update(new_leaf),
    );
    members[1].receive_proposal(&message, &mut pending).unwrap();
    let forged = commit_with(
        &mut members,
        rng,
        vec![
            ProposalOrRef::Reference(reference),
            ProposalOrRef::Proposal(Proposal::Remove(LeafIndex(2))),
        ],
    );
    assert_eq!(
        members[1].process_commit_with(&forged, &pending, &PskStore::new()),
        Err(GroupError::InvalidProposal("one leaf updated and removed"))
    );
}
