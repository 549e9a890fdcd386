//! What the memberships ask for, made effects: commits written in the group's context,
//! Welcomes delivered through the newcomer's pairwise context, messages read kept with
//! their facts' times (receipts batched back to their authors), and the group's row kept
//! whenever its roster, epoch or standing changes.

use rand_core::CryptoRng;

use super::super::writes::Followup;
use super::super::{Core, Effect, Millis};
use super::RECEIPT_BATCH_MS;
use crate::crypto::codec::Encode;
use crate::crypto::group::generate_key_package;
use crate::groups::facts::GroupFact;
use crate::groups::leave::LeaveRequest;
use crate::groups::member::{Intent, Output, Read};
use crate::groups::payload::{MAX_RECEIPT_IDS, Payload};
use crate::node::NodeEvent;
use crate::state::fact::{ContextId, DeviceKey};
use crate::state::store::MessageRow;

impl Core {
    /// Polls every group: settles what is due, makes the changes asked for, and performs
    /// what the memberships ask; then sends what waits in the outbox.
    pub(in crate::agent::core) fn poll_groups(&mut self, now: Millis, rng: &mut impl CryptoRng) {
        let mut contexts: Vec<ContextId> = self.groups.held.keys().copied().collect();
        contexts.sort();
        for context in contexts {
            self.self_update_due(context, now);
            let outputs = match self.groups.held.get_mut(&context) {
                Some(held) => held.members.poll(now, rng),
                None => continue,
            };
            let mut writes = Vec::new();
            let mut messages = Vec::new();
            for output in outputs {
                self.group_output(context, output, &mut writes, &mut messages, now, rng);
            }
            self.write_group_facts(writes, now);
            if !messages.is_empty() {
                let count = messages.len();
                self.effects.push_back(Effect::StoreGroupMessages(messages));
                self.effects
                    .push_back(Effect::Notify(NodeEvent::GroupMessages {
                        context,
                        messages: count,
                    }));
            }
            self.send_receipts(context, now, rng);
            let before = self
                .groups
                .held
                .get(&context)
                .map(|held| held.row.roster.clone())
                .unwrap_or_default();
            if self.refresh_group(context) {
                self.save_group(context);
                let joined: Vec<DeviceKey> = self
                    .groups
                    .held
                    .get(&context)
                    .map(|held| {
                        held.row
                            .roster
                            .iter()
                            .filter(|d| !before.contains(d) && **d != self.device)
                            .copied()
                            .collect()
                    })
                    .unwrap_or_default();
                // Newcomers are served from now on: budgets, and a session to catch up.
                self.newly_served(&joined);
                self.effects
                    .push_back(Effect::Notify(NodeEvent::GroupsChanged));
            }
        }
        if self.groups.outbox.next_at().is_some_and(|at| at <= now) {
            self.send_outbox(now, rng);
        }
    }

    fn group_output(
        &mut self,
        context: ContextId,
        output: Output,
        writes: &mut Vec<super::super::trust::OwnWrite>,
        messages: &mut Vec<MessageRow>,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) {
        match output {
            Output::Write(fact) => {
                let (kind, body) = fact.encode();
                writes.push((context, kind, body));
            }
            Output::Welcome { to, welcome } => {
                // Through the pair's context when the newcomer is a contact; else in the
                // group's, where only members are served and only its package opens it.
                let target = self
                    .invitations
                    .contacts
                    .get(&to)
                    .copied()
                    .unwrap_or(context);
                let (kind, body) = GroupFact::Welcome(welcome).encode();
                writes.push((target, kind, body));
            }
            Output::Read(read) => self.read_message(context, read, messages),
            Output::Committed { epoch, .. } => {
                // Made after the start: this device never sent in it before.
                if let Some(held) = self.groups.held.get_mut(&context) {
                    held.fresh_epochs.insert(epoch);
                    held.spent_epochs.remove(&epoch);
                }
            }
            Output::Moved { .. } => {}
            Output::Removed => {
                tracing::info!("removed from a group");
            }
            Output::Dropped { intent, reason } => {
                tracing::info!(?intent, %reason, "a group change dropped");
            }
            Output::Refused { author, reason } if self.groups.quiet_refusals => {
                tracing::debug!(?author, %reason, "a fact given again after a restart refused");
            }
            Output::Refused { author, reason } => {
                self.sessions.group_refused += 1;
                tracing::info!(?author, %reason, "a group fact refused");
            }
            Output::Stranded { leaves } => {
                if let Some(fact) = self.rejoin_request(context, leaves, now, rng) {
                    let (kind, body) = fact.encode();
                    writes.push((context, kind, body));
                }
            }
        }
    }

    fn read_message(&mut self, context: ContextId, read: Read, messages: &mut Vec<MessageRow>) {
        let Some((id, time)) = self.groups.fed.remove(&read.digest) else {
            tracing::debug!("a message read whose fact is not known");
            return;
        };
        let Some(held) = self.groups.held.get_mut(&context) else {
            return;
        };
        let payload = match Payload::decode(&read.plaintext) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::info!(%err, "a message whose payload does not decode");
                return;
            }
        };
        match payload {
            Payload::Receipt(ids) => {
                self.effects.push_back(Effect::StoreReceipts {
                    context,
                    reader: read.sender,
                    ids,
                });
                self.effects
                    .push_back(Effect::Notify(NodeEvent::GroupMessages {
                        context,
                        messages: 0,
                    }));
            }
            Payload::Leave(request) => {
                let lowest_other = held
                    .row
                    .roster
                    .iter()
                    .find(|device| **device != read.sender)
                    .copied();
                if lowest_other == Some(self.device) && held.row.roster.contains(&read.sender) {
                    // The sender's own signed request lets this member remove it, whatever
                    // the policy; an older build's unsigned one needs `remove`.
                    let intent = match LeaveRequest::decode(&request) {
                        Ok(signed) if signed.device == read.sender && signed.context == context => {
                            Intent::RemoveLeaving(Box::new(signed))
                        }
                        _ => Intent::Remove(read.sender),
                    };
                    held.members.ask(intent);
                }
            }
            Payload::Text(_) | Payload::Unknown(_) => {
                let epoch = held.row.epoch;
                messages.push(MessageRow {
                    context,
                    time,
                    id,
                    author: read.sender,
                    epoch,
                    payload: read.plaintext,
                });
                held.receipts_due.push(id);
            }
        }
    }

    /// Writes what the memberships asked for. A commit is part of the member's state once
    /// made, so one the guard chain holds back (over budget) is kept and written again later,
    /// never dropped: the others must see it to converge.
    fn write_group_facts(&mut self, mut writes: Vec<super::super::trust::OwnWrite>, now: Millis) {
        let mut waiting = std::mem::take(&mut self.groups.unwritten);
        waiting.append(&mut writes);
        for write in waiting {
            if let Err(err) = self.write_own(vec![write.clone()], Followup::Nothing, now) {
                tracing::info!(%err, "a group fact waits for budget");
                if self.groups.unwritten.len() < super::MAX_UNWRITTEN {
                    self.groups.unwritten.push(write);
                } else {
                    tracing::warn!("a group fact dropped: too many wait for budget");
                }
            }
        }
    }

    /// Asks for new keys on this member's path when the last were put there a week ago or
    /// a thousand messages back.
    fn self_update_due(&mut self, context: ContextId, now: Millis) {
        let Some(held) = self.groups.held.get_mut(&context) else {
            return;
        };
        let due = now.saturating_sub(held.row.updated_ms) >= super::SELF_UPDATE_EVERY_MS
            || held.row.sent_since_update >= super::SELF_UPDATE_AFTER_MESSAGES;
        if !due || held.members.is_removed() {
            return;
        }
        held.row.updated_ms = now;
        held.row.sent_since_update = 0;
        held.members.ask(Intent::Update);
        self.save_group(context);
    }

    /// Acknowledges what was read, once the batch is due.
    fn send_receipts(&mut self, context: ContextId, now: Millis, rng: &mut impl CryptoRng) {
        let Some(held) = self.groups.held.get_mut(&context) else {
            return;
        };
        if held.receipts_due.is_empty() {
            return;
        }
        let due = *held
            .receipt_at
            .get_or_insert(now.saturating_add(RECEIPT_BATCH_MS));
        if due > now {
            return;
        }
        let ids: Vec<_> = held
            .receipts_due
            .drain(..held.receipts_due.len().min(MAX_RECEIPT_IDS))
            .collect();
        held.receipt_at = None;
        if let Err(err) = self.send_now(context, &Payload::Receipt(ids), now, rng) {
            // Receipts are optional traffic: over budget, they are not sent.
            tracing::debug!(%err, "receipts not sent");
        }
    }

    /// A fresh KeyPackage for a membership stranded on a branch the group left, its secrets
    /// kept like those offered to contacts; it names the `leaves` the device held there.
    fn rejoin_request(
        &mut self,
        context: ContextId,
        leaves: Vec<[u8; 32]>,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) -> Option<GroupFact> {
        let signing = self.signing().ok()?;
        let identity = signing.public_key().to_bytes().to_vec();
        let (package, secrets) = generate_key_package(identity, &signing, rng).ok()?;
        let bytes = package.to_tls_bytes().ok()?;
        let reference: [u8; 32] = package.reference().ok()?.as_slice().try_into().ok()?;
        let row = crate::state::store::KeyPackageRow {
            reference,
            context,
            last_resort: false,
            made_ms: now,
            key_package: bytes.clone(),
            init_key: zeroize::Zeroizing::new(*secrets.init_private_key.to_bytes()),
            leaf_key: zeroize::Zeroizing::new(*secrets.leaf_private_key.to_bytes()),
        };
        self.groups.packages.own.insert(
            reference,
            super::key_packages::OwnPackage {
                row: row.clone(),
                package,
                used_at: None,
            },
        );
        self.effects.push_back(Effect::StoreKeyPackages(vec![row]));
        Some(GroupFact::Rejoin {
            key_package: bytes,
            leaves,
        })
    }
}
