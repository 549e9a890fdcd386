//! The MLS group state as convergence sees it: an epoch named by a hash of its group
//! context (which carries the epoch, the tree hash and the transcript of every commit so
//! far, so two branches never share a name), and commits, sealed to their parent epoch
//! ([`super::seal`]), opened and applied to a copy, never in place. A commit is taken only
//! if the group's policy at its parent epoch lets its author make it ([`super::policy`]):
//! every member judges it from the same epoch, so every member rejects the same commits.

use sha2::{Digest, Sha256};

use super::convergence::{Applied, ApplyError, Commit, CommitId, EpochId, EpochState};
use crate::crypto::codec::{Decode, Encode};
use crate::crypto::commit::{Commit as MlsCommit, HandshakeBodies};
use crate::crypto::framing::Sender;
use crate::crypto::group::{CommitOutcome, GROUP_NAME_EXTENSION, Group, GroupError};
use crate::crypto::group_context::Extension;
use crate::crypto::key_package::KeyPackage;
use crate::crypto::proposal::{Proposal, ProposalOrRef};
use crate::crypto::public_message::PublicMessage;
use crate::crypto::tree_math::LeafIndex;
use crate::groups::leave::LeaveRequest;
use crate::groups::policy::{self, Actions, GroupPolicy, PolicyChange, PolicyError};
use crate::state::fact::{ContextId, DeviceKey};

/// Longest group name, in bytes of UTF-8: a commit that sets a longer one is refused.
pub const MAX_GROUP_NAME_BYTES: usize = 128;

/// Domain separation of epoch ids and commit ids.
const EPOCH_ID_LABEL: &[u8] = b"aura group epoch id";
const COMMIT_ID_LABEL: &[u8] = b"aura group commit id";

/// One member's MLS state at one epoch of one branch.
#[derive(Debug)]
pub struct MlsEpoch {
    group: Group,
    id: EpochId,
}

impl MlsEpoch {
    pub fn new(group: Group) -> Result<Self, GroupError> {
        let id = epoch_id(&group)?;
        Ok(Self { group, id })
    }

    pub fn group(&self) -> &Group {
        &self.group
    }

    /// The group's name at this epoch, if one was set and reads as a name.
    pub fn name(&self) -> Option<String> {
        name_of(&self.group.group_context().extensions)
            .ok()
            .flatten()
    }

    /// This epoch's context extensions with the name set to `name`: what a
    /// GroupContextExtensions proposal that renames the group carries (the proposal
    /// replaces them all).
    pub fn renamed(&self, name: &str) -> Result<Vec<Extension>, GroupError> {
        if name.len() > MAX_GROUP_NAME_BYTES {
            return Err(GroupError::InvalidProposal("group name too long"));
        }
        let mut extensions: Vec<Extension> = self
            .group
            .group_context()
            .extensions
            .iter()
            .filter(|extension| extension.extension_type != GROUP_NAME_EXTENSION)
            .cloned()
            .collect();
        extensions.push(Extension {
            extension_type: GROUP_NAME_EXTENSION,
            extension_data: name.as_bytes().to_vec(),
        });
        Ok(extensions)
    }

    /// The group's policy at this epoch; a policy that does not read lets nobody do
    /// anything (it cannot be in an epoch a member took, see [`EpochState::apply`]).
    pub fn policy(&self) -> GroupPolicy {
        GroupPolicy::of(&self.group.group_context().extensions)
            .unwrap_or_else(|_| GroupPolicy::nobody())
    }

    /// This epoch's context extensions with the policy changed by `change` (grants of
    /// devices no longer in the group dropped): what a GroupContextExtensions proposal that
    /// changes the policy carries. The name is kept.
    pub fn with_policy(&self, change: &PolicyChange) -> Result<Vec<Extension>, PolicyError> {
        let roster: Vec<DeviceKey> = self
            .group
            .members()
            .filter_map(|(leaf, _)| self.device_at(leaf))
            .collect();
        let extensions = &self.group.group_context().extensions;
        GroupPolicy::of(extensions)?
            .changed(change, &roster)?
            .into_extensions(extensions)
    }

    /// Whether the policy of this epoch lets `author` commit `proposals` on it (`None` for
    /// one by reference), with `authenticated_data` in the commit: the check every member
    /// makes of a commit before taking it.
    pub fn permits<'a>(
        &self,
        author: &DeviceKey,
        proposals: impl IntoIterator<Item = Option<&'a Proposal>>,
        authenticated_data: &[u8],
    ) -> Result<(), PolicyError> {
        let actions = self.actions(proposals, authenticated_data)?;
        policy::check(&self.policy(), author, &actions)
    }

    /// What `proposals` do, as far as the policy is concerned.
    fn actions<'a>(
        &self,
        proposals: impl IntoIterator<Item = Option<&'a Proposal>>,
        authenticated_data: &[u8],
    ) -> Result<Actions, PolicyError> {
        let before = &self.group.group_context().extensions;
        let mut actions = Actions::default();
        for proposal in proposals {
            match proposal {
                None => actions.by_reference = true,
                Some(Proposal::Add(key_package)) => {
                    let key = key_package.leaf_node.signature_key.as_slice().try_into();
                    actions.added.push(key.ok().map(DeviceKey));
                }
                Some(Proposal::Remove(leaf)) => actions.removed.push(self.device_at(*leaf)),
                Some(Proposal::GroupContextExtensions(extensions)) => {
                    actions.renames |= name_of(extensions) != name_of(before);
                    let policy = GroupPolicy::of(extensions)?;
                    actions.changes_policy |=
                        policy != self.policy() || others(extensions) != others(before);
                }
                Some(_) => {}
            }
        }
        let context = self.group.group_id().try_into().ok().map(ContextId);
        if let (Ok(request), Some(context)) = (LeaveRequest::decode(authenticated_data), context) {
            if request.covers(&context, self.group.epoch()) {
                actions.leaving = Some(request.device);
            }
        }
        Ok(actions)
    }

    /// The group, to protect or read application messages of this epoch: that moves the
    /// secret tree on and leaves the epoch (its context) as it was.
    pub fn group_mut(&mut self) -> &mut Group {
        &mut self.group
    }

    /// A commit of `proposals` (with a fresh path) made on a copy of this epoch, sealed to
    /// this epoch's members: the commit as convergence takes it, the epoch it leads to, and
    /// the Welcome when it adds members.
    pub fn commit(
        &self,
        proposals: Vec<Proposal>,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<(Commit, MlsEpoch, Option<Vec<u8>>), GroupError> {
        self.commit_with_data(proposals, Vec::new(), rng)
    }

    /// [`Self::commit`] with `authenticated_data` signed into the commit (a request to
    /// leave, say).
    pub fn commit_with_data(
        &self,
        proposals: Vec<Proposal>,
        authenticated_data: Vec<u8>,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<(Commit, MlsEpoch, Option<Vec<u8>>), GroupError> {
        let mut next = copy(&self.group)?;
        let output = next.commit_with_data(proposals, authenticated_data, rng)?;
        let sealed = super::seal::seal_commit(&self.group, &self.id, &output.commit, rng)?;
        let next = MlsEpoch::new(next)?;
        let commit = Commit {
            id: commit_id(&sealed),
            parent: self.id,
            parent_epoch: self.group.epoch(),
            child: next.id,
            bytes: sealed,
        };
        Ok((commit, next, output.welcome))
    }
}

/// The name the extensions carry: `Ok(None)` without one, an error for one that is too
/// long or not UTF-8.
fn name_of(extensions: &[Extension]) -> Result<Option<String>, &'static str> {
    let Some(extension) = extensions
        .iter()
        .find(|extension| extension.extension_type == GROUP_NAME_EXTENSION)
    else {
        return Ok(None);
    };
    if extension.extension_data.len() > MAX_GROUP_NAME_BYTES {
        return Err("a group name too long");
    }
    String::from_utf8(extension.extension_data.clone())
        .map(Some)
        .map_err(|_| "a group name that is not UTF-8")
}

/// The extensions other than the name and the policy: changing them takes the `policy`
/// capability.
fn others(extensions: &[Extension]) -> Vec<&Extension> {
    extensions
        .iter()
        .filter(|extension| {
            extension.extension_type != GROUP_NAME_EXTENSION
                && extension.extension_type != policy::GROUP_POLICY_EXTENSION
        })
        .collect()
}

/// What a commit meant to do, read from the commit against its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub author: DeviceKey,
    pub added: Vec<KeyPackage>,
    pub removed: Vec<DeviceKey>,
    /// The name it gave the group.
    pub renamed: Option<String>,
}

impl MlsEpoch {
    /// The device at `leaf` in this epoch: its MLS signature key is its device key.
    pub fn device_at(&self, leaf: LeafIndex) -> Option<DeviceKey> {
        let (_, node) = self.group.members().find(|(index, _)| *index == leaf)?;
        Some(DeviceKey(node.signature_key.as_slice().try_into().ok()?))
    }

    /// What `commit`, made on this epoch, meant to do: who made it, whom it added (with
    /// the KeyPackages to add them again) and whom it removed. `None` when it cannot be
    /// read against this epoch.
    pub fn changes(&self, commit: &Commit) -> Option<Changes> {
        let opened = super::seal::open_commit(&self.group, &self.id, &commit.bytes).ok()?;
        let message = PublicMessage::from_mls_message_bytes(&opened, &HandshakeBodies).ok()?;
        let Sender::Member(sender) = message.content.sender else {
            return None;
        };
        let body = MlsCommit::from_tls_bytes(&message.content.body).ok()?;
        let mut changes = Changes {
            author: self.device_at(sender)?,
            added: Vec::new(),
            removed: Vec::new(),
            renamed: None,
        };
        for proposal in body.proposals {
            match proposal {
                ProposalOrRef::Proposal(Proposal::Add(key_package)) => {
                    changes.added.push(key_package);
                }
                ProposalOrRef::Proposal(Proposal::Remove(leaf)) => {
                    changes.removed.extend(self.device_at(leaf));
                }
                ProposalOrRef::Proposal(Proposal::GroupContextExtensions(extensions)) => {
                    // A change of the policy alone keeps the name: no rename to ask again.
                    let name = name_of(&extensions).ok().flatten();
                    if name != self.name() {
                        changes.renamed = name;
                    }
                }
                _ => {}
            }
        }
        Some(changes)
    }
}

impl EpochState for MlsEpoch {
    fn id(&self) -> EpochId {
        self.id
    }

    fn epoch(&self) -> u64 {
        self.group.epoch()
    }

    fn apply(&self, commit: &Commit) -> Result<Applied<Self>, ApplyError> {
        let failed = |err: GroupError| ApplyError(err.to_string());
        let opened = super::seal::open_commit(&self.group, &self.id, &commit.bytes)
            .map_err(|_| ApplyError("not sealed for this epoch".into()))?;
        let mut next = copy(&self.group).map_err(failed)?;
        let outcome = next.process_commit(&opened).map_err(failed)?;
        // Verified: now whether its author may make it, at this epoch, removed or not.
        self.check_policy(&opened)
            .map_err(|err| ApplyError(format!("against the group's policy: {err}")))?;
        match outcome {
            CommitOutcome::Advanced { .. } => {
                // The name is shown to people: one that breaks its cap does not verify.
                name_of(&next.group_context().extensions)
                    .map_err(|reason| ApplyError(reason.into()))?;
                GroupPolicy::of(&next.group_context().extensions)
                    .map_err(|err| ApplyError(err.to_string()))?;
                Ok(Applied::Next(MlsEpoch::new(next).map_err(failed)?))
            }
            CommitOutcome::Removed => Ok(Applied::Removed),
        }
    }
}

impl MlsEpoch {
    /// The policy check of a commit (opened, verified against this epoch).
    fn check_policy(&self, opened: &[u8]) -> Result<(), PolicyError> {
        let message = PublicMessage::from_mls_message_bytes(opened, &HandshakeBodies)
            .map_err(|_| PolicyError::Unreadable)?;
        let Sender::Member(sender) = message.content.sender else {
            return Err(PolicyError::Unreadable);
        };
        let author = self.device_at(sender).ok_or(PolicyError::Unreadable)?;
        let body = MlsCommit::from_tls_bytes(&message.content.body)
            .map_err(|_| PolicyError::Unreadable)?;
        let proposals = body.proposals.iter().map(|proposal| match proposal {
            ProposalOrRef::Proposal(proposal) => Some(proposal),
            ProposalOrRef::Reference(_) => None,
        });
        self.permits(&author, proposals, &message.content.authenticated_data)
    }
}

/// The id of the epoch `group` is at.
pub fn epoch_id(group: &Group) -> Result<EpochId, GroupError> {
    let context = group
        .group_context()
        .to_tls_bytes()
        .map_err(|err| GroupError::Crypto(err.into()))?;
    let mut hasher = Sha256::new();
    hasher.update(EPOCH_ID_LABEL);
    hasher.update(&context);
    Ok(EpochId(hasher.finalize().into()))
}

/// The id of a commit (as sealed, the bytes every member holds): what ties between branches
/// are broken by.
pub fn commit_id(commit: &[u8]) -> CommitId {
    let mut hasher = Sha256::new();
    hasher.update(COMMIT_ID_LABEL);
    hasher.update(commit);
    CommitId(hasher.finalize().into())
}

/// A copy of `group` that shares nothing with it.
fn copy(group: &Group) -> Result<Group, GroupError> {
    Group::import_state(group.export_state()?.as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use getrandom::SysRng;
    use rand_core::UnwrapErr;

    use super::*;
    use crate::crypto::group::fixture::GroupFixture;
    use crate::crypto::tree_math::LeafIndex;
    use crate::groups::convergence::{Convergence, Event, SETTLE_QUIET_MS};

    const MEMBERS: u32 = 4;

    fn members(rng: &mut UnwrapErr<SysRng>) -> Vec<Convergence<MlsEpoch>> {
        let fixture = GroupFixture::new(b"converging group", MEMBERS, rng).unwrap();
        (0..MEMBERS)
            .map(|leaf| {
                let group = fixture.member(LeafIndex(leaf)).unwrap();
                Convergence::new(MlsEpoch::new(group).unwrap())
            })
            .collect()
    }

    /// What every member must agree on: epoch, tree hash, an exporter secret.
    fn agreed(member: &Convergence<MlsEpoch>) -> (u64, Vec<u8>, Vec<u8>) {
        let group = member.current_state().unwrap().group();
        (
            group.epoch(),
            group.tree_hash().to_vec(),
            group
                .export_secret(b"aura test", b"", 32)
                .unwrap()
                .as_bytes()
                .to_vec(),
        )
    }

    #[test]
    fn concurrent_real_commits_settle_on_one_epoch_and_the_losers_messages_stay_readable() {
        let mut rng = UnwrapErr(SysRng);
        let mut members = members(&mut rng);
        let start = members[0].current_state().unwrap().epoch();
        // Members 1 and 2 commit on the same epoch; member 1 also writes on its branch.
        let (one, one_state, _) = members[1]
            .current_state()
            .unwrap()
            .commit(Vec::new(), &mut rng)
            .unwrap();
        let (two, two_state, _) = members[2]
            .current_state()
            .unwrap()
            .commit(Vec::new(), &mut rng)
            .unwrap();
        let (one_epoch, two_epoch) = (one_state.id(), two_state.id());
        members[1].committed(one.clone(), one_state).unwrap();
        members[2].committed(two.clone(), two_state).unwrap();
        let message = members[1]
            .state_mut(&one_epoch)
            .unwrap()
            .group_mut()
            .protect(b"sent on a branch", b"", &mut rng)
            .unwrap();
        // Each member gets both, in its own order.
        for (index, member) in members.iter_mut().enumerate() {
            let (first, second) = if index % 2 == 0 {
                (&one, &two)
            } else {
                (&two, &one)
            };
            member.receive(first.clone(), 0);
            member.receive(second.clone(), 10);
            member.poll(10 + SETTLE_QUIET_MS);
            let rejected: Vec<Event> = std::iter::from_fn(|| member.poll_event())
                .filter(|e| matches!(e, Event::Rejected { .. }))
                .collect();
            assert!(rejected.is_empty(), "member {index}: {rejected:?}");
        }
        let winner = if one.id < two.id {
            one_epoch
        } else {
            two_epoch
        };
        let expected = agreed(&members[0]);
        for (index, member) in members.iter().enumerate() {
            assert_eq!(member.current(), winner, "member {index}");
            assert_eq!(agreed(member), expected, "member {index}");
        }
        // Member 1's message is read against the epoch it was sent in, won or lost.
        for index in [0, 2, 3] {
            let read = members[index]
                .state_mut(&one_epoch)
                .unwrap()
                .group_mut()
                .unprotect(&message)
                .unwrap();
            assert_eq!(read.plaintext, b"sent on a branch");
        }

        // The group goes on from the winner: a third commit is followed by all.
        let (three, three_state, _) = members[3]
            .current_state()
            .unwrap()
            .commit(Vec::new(), &mut rng)
            .unwrap();
        members[3].committed(three.clone(), three_state).unwrap();
        for member in members.iter_mut().take(3) {
            member.receive(three.clone(), 2_000);
            member.poll(2_000 + SETTLE_QUIET_MS);
        }
        let expected = agreed(&members[3]);
        assert_eq!(expected.0, start + 2);
        for member in &members {
            assert_eq!(agreed(member), expected);
        }
    }

    #[test]
    fn a_forged_commit_is_rejected_and_a_commit_for_another_epoch_does_not_apply() {
        let mut rng = UnwrapErr(SysRng);
        let mut members = members(&mut rng);
        let (mut forged, _, _) = members[1]
            .current_state()
            .unwrap()
            .commit(Vec::new(), &mut rng)
            .unwrap();
        let last = forged.bytes.len() - 1;
        forged.bytes[last] ^= 1;
        forged.id = commit_id(&forged.bytes);
        members[0].receive(forged.clone(), 0);
        let events: Vec<Event> = std::iter::from_fn(|| members[0].poll_event()).collect();
        assert!(
            matches!(&events[..], [Event::Rejected { commit, .. }] if *commit == forged.id),
            "{events:?}"
        );
        // A real commit that names the wrong parent epoch: it verifies against no state.
        let (mut misplaced, _, _) = members[2]
            .current_state()
            .unwrap()
            .commit(Vec::new(), &mut rng)
            .unwrap();
        let (moved, moved_state, _) = members[3]
            .current_state()
            .unwrap()
            .commit(Vec::new(), &mut rng)
            .unwrap();
        members[0].receive(moved, 0);
        members[0].poll(SETTLE_QUIET_MS);
        assert_eq!(members[0].current(), moved_state.id());
        misplaced.parent = moved_state.id();
        misplaced.parent_epoch = 1;
        members[0].receive(misplaced.clone(), 2_000);
        let events: Vec<Event> = std::iter::from_fn(|| members[0].poll_event()).collect();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Rejected { commit, .. } if *commit == misplaced.id)),
            "{events:?}"
        );
    }

    #[test]
    fn a_removed_member_learns_it_when_the_removal_wins_and_reads_nothing_after() {
        let mut rng = UnwrapErr(SysRng);
        let mut members = members(&mut rng);
        let removal = vec![Proposal::Remove(LeafIndex(3))];
        let (remove, after, _) = members[0]
            .current_state()
            .unwrap()
            .commit(removal, &mut rng)
            .unwrap();
        let after_id = after.id();
        members[0].committed(remove.clone(), after).unwrap();
        for member in members.iter_mut().skip(1) {
            member.receive(remove.clone(), 0);
            member.poll(SETTLE_QUIET_MS);
        }
        assert!(members[3].is_removed());
        assert_eq!(members[3].state(&after_id).map(|_| ()), None);
        for member in &members[..3] {
            assert!(!member.is_removed());
            assert_eq!(member.current(), after_id);
        }
        let secret = members[1]
            .state_mut(&after_id)
            .unwrap()
            .group_mut()
            .protect(b"after the removal", b"", &mut rng)
            .unwrap();
        // Whatever epoch the removed member still holds, none reads it.
        let held: Vec<EpochId> = members[3]
            .window()
            .iter()
            .map(|(_, parent, _)| *parent)
            .collect();
        for epoch in held {
            if let Some(state) = members[3].state_mut(&epoch) {
                assert!(state.group_mut().unprotect(&secret).is_err());
            }
        }
    }
}
