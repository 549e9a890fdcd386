//! Making the next change asked for: an intent turned into proposals, checked against the
//! group's policy as every member will check it, committed on the settled tip, and written
//! out with the Welcome of whoever it adds.

use super::{GroupFact, GroupMember, Intent, Output, device_of, failed};
use crate::crypto::proposal::Proposal;
use crate::state::fact::DeviceKey;

impl GroupMember {
    pub(super) fn make_next(&mut self, rng: &mut impl rand_core::CryptoRng) {
        let Some(intent) = self.intents.pop_front() else {
            return;
        };
        let Some(state) = self.convergence.current_state() else {
            return;
        };
        let leaf_of = |device: &DeviceKey| {
            let group = state.group();
            group
                .members()
                .find(|(leaf, _)| device_of(group, *leaf) == Some(*device))
                .map(|(leaf, _)| leaf)
        };
        let mut authenticated_data = Vec::new();
        let proposals = match &intent {
            Intent::Add(key_package) => vec![Proposal::Add((**key_package).clone())],
            Intent::SetPolicy(change) => match state.with_policy(change) {
                Ok(extensions) => vec![Proposal::GroupContextExtensions(extensions)],
                Err(err) => {
                    self.outputs.push_back(Output::Dropped {
                        intent,
                        reason: err.to_string(),
                    });
                    return;
                }
            },
            Intent::RemoveLeaving(request) => match leaf_of(&request.device) {
                Some(leaf) => {
                    authenticated_data = request.encode();
                    vec![Proposal::Remove(leaf)]
                }
                None => {
                    self.outputs.push_back(Output::Dropped {
                        intent,
                        reason: "not a member any more".into(),
                    });
                    return;
                }
            },
            Intent::Update => Vec::new(),
            Intent::Rename(name) => match state.renamed(name) {
                Ok(extensions) => vec![Proposal::GroupContextExtensions(extensions)],
                Err(err) => {
                    self.outputs.push_back(Output::Dropped {
                        intent,
                        reason: failed(err),
                    });
                    return;
                }
            },
            Intent::Readd {
                device,
                key_package,
            } => match leaf_of(device) {
                Some(_) if self.still_stranded(device).is_none() => {
                    self.outputs.push_back(Output::Dropped {
                        intent,
                        reason: "brought back already".into(),
                    });
                    return;
                }
                Some(leaf) => vec![
                    Proposal::Remove(leaf),
                    Proposal::Add((**key_package).clone()),
                ],
                None => {
                    self.outputs.push_back(Output::Dropped {
                        intent,
                        reason: "not a member any more".into(),
                    });
                    return;
                }
            },
            Intent::Remove(device) => {
                let group = state.group();
                match group
                    .members()
                    .find(|(leaf, _)| device_of(group, *leaf) == Some(*device))
                {
                    Some((leaf, _)) => vec![Proposal::Remove(leaf)],
                    None => {
                        self.outputs.push_back(Output::Dropped {
                            intent,
                            reason: "not a member any more".into(),
                        });
                        return;
                    }
                }
            }
        };
        // What every member would reject is not made: an intent the policy no longer
        // allows (one asked again after its commit lost, say) is dropped.
        let own = proposals.iter().map(Some);
        if let Err(err) = state.permits(&self.device, own, &authenticated_data) {
            self.outputs.push_back(Output::Dropped {
                intent,
                reason: err.to_string(),
            });
            return;
        }
        let made = state.commit_with_data(proposals, authenticated_data, rng);
        let (commit, next, welcome) = match made {
            Ok(made) => made,
            Err(err) => {
                self.outputs.push_back(Output::Dropped {
                    intent,
                    reason: failed(err),
                });
                return;
            }
        };
        let fact = GroupFact::Commit {
            parent: commit.parent,
            parent_epoch: commit.parent_epoch,
            epoch: commit.child,
            sealed: commit.bytes.clone(),
        };
        let id = commit.id;
        if let Err(err) = self.convergence.committed(commit, next) {
            self.intents.push_front(intent);
            tracing::debug!(%err, "a commit made on a state that moved");
            return;
        }
        self.note_own_leaf();
        self.outputs.push_back(Output::Write(fact));
        let added = match &intent {
            Intent::Add(key_package) | Intent::Readd { key_package, .. } => Some(key_package),
            _ => None,
        };
        if let (Some(key_package), Some(welcome)) = (added, welcome) {
            let to = key_package.leaf_node.signature_key.as_slice().try_into();
            if let Ok(to) = to {
                self.outputs.push_back(Output::Welcome {
                    to: DeviceKey(to),
                    welcome,
                });
            }
        }
        self.outputs.push_back(Output::Committed {
            intent: intent.clone(),
            epoch: self.convergence.current(),
        });
        if let Some((_, epoch)) = self.epoch() {
            self.pending_epochs.insert(id, epoch);
        }
        self.pending.push((id, intent));
    }
}
