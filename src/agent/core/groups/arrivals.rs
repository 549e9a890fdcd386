//! Facts arriving for groups: a group's journal given to its memberships (as stored, or
//! whole to a membership just resumed or joined), a contact's pairwise facts (the
//! KeyPackages it offers, the ones it used, Welcomes), this device's own packages offered
//! to each contact, and the groups resumed from the store at start.

use rand_core::CryptoRng;

use super::super::writes::Followup;
use super::super::{Core, Effect, Millis};
use super::{Held, fresh_row, short};
use crate::groups::convergence::EpochId;
use crate::groups::facts::GroupFact;
use crate::groups::member::{GroupMember, Intent, message_digest};
use crate::groups::memberships::Memberships;
use crate::node::NodeEvent;
use crate::state::fact::{ContextId, DeviceKey, Fact};
use crate::state::kinds::KnownBody;

impl Core {
    /// Facts now in the store, of a group's context or a contact's pairwise one; `resumed`
    /// when they are the group's journal given again to a membership just resumed or joined.
    pub(in crate::agent::core) fn group_facts(
        &mut self,
        context: ContextId,
        facts: Vec<Fact>,
        resumed: bool,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) {
        if let Some(contact) = self
            .invitations
            .contacts
            .iter()
            .find(|(_, c)| **c == context)
            .map(|(peer, _)| *peer)
        {
            for fact in facts {
                self.pair_fact(contact, fact, now, rng);
            }
        } else if self.groups.held.contains_key(&context) {
            // Commits first, in the order they were made, then messages by time: a batch
            // from anti-entropy (a member back after an absence) brings both, in no useful
            // order, and a message is read against the epoch its commit leads to.
            let mut facts = facts;
            facts.sort_by_key(|fact| {
                let message = fact.kind() == crate::groups::facts::GROUP_MESSAGE;
                (message, fact.time(), fact.id())
            });
            for fact in facts {
                self.group_fact(context, fact, resumed, now, rng);
            }
        }
        if resumed && let Some(held) = self.groups.held.get_mut(&context) {
            // Every epoch its own journal leads to, this device may have sent in.
            let known: Vec<EpochId> = held
                .window_epochs()
                .into_iter()
                .filter(|epoch| !held.fresh_epochs.contains(epoch))
                .collect();
            held.spent_epochs.extend(known);
        }
        self.groups.quiet_refusals = resumed;
        self.poll_groups(now, rng);
        self.groups.quiet_refusals = false;
    }

    fn group_fact(
        &mut self,
        context: ContextId,
        fact: Fact,
        resumed: bool,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) {
        let author = fact.author();
        let Ok(Some(KnownBody::Group(body))) = KnownBody::parse(fact.kind(), fact.body()) else {
            return;
        };
        // This device's facts were given to its membership when it made them; only a
        // membership resumed from the store needs its own commits again.
        if author == self.device && !(resumed && matches!(body, GroupFact::Commit { .. })) {
            return;
        }
        if let GroupFact::Welcome(welcome) = &body {
            // A member stranded beyond its bound is brought back with a Welcome in the
            // group's context when it is no contact of the one who re-adds it.
            self.welcomed(author, welcome, now, rng);
            return;
        }
        let Some(held) = self.groups.held.get_mut(&context) else {
            return;
        };
        if !held.row.roster.contains(&author) && !resumed {
            // Facts of devices outside the roster the device follows never reach the
            // membership: it may still be settling, so they are only held back and counted.
            tracing::debug!(?author, "a group fact from a device outside the roster");
        }
        if let GroupFact::Message { message, .. } = &body {
            let digest = message_digest(message);
            let time = fact.time().to_u64();
            self.groups.remember_fed(digest, fact.id(), time);
        }
        if let Some(held) = self.groups.held.get_mut(&context) {
            held.members.receive(author, body, now);
        }
    }

    /// A fact of a contact's pairwise context: a KeyPackage it offers, one it used, a
    /// Welcome into a group.
    fn pair_fact(&mut self, contact: DeviceKey, fact: Fact, now: Millis, rng: &mut impl CryptoRng) {
        let Ok(Some(KnownBody::Group(body))) = KnownBody::parse(fact.kind(), fact.body()) else {
            return;
        };
        if fact.author() == self.device {
            // A package this device said it used (before a restart) is not offered again.
            if let GroupFact::KeyPackageUsed(reference) = body
                && let Some(own) = self.groups.packages.own.get_mut(&reference)
            {
                own.used_at.get_or_insert(now);
            }
            return;
        }
        if fact.author() != contact {
            return;
        }
        match body {
            GroupFact::KeyPackage {
                last_resort,
                key_package,
            } => {
                if self
                    .groups
                    .packages
                    .offer(contact, &key_package, last_resort)
                {
                    self.add_offered();
                } else {
                    tracing::debug!(?contact, "a KeyPackage of a contact not kept");
                }
            }
            GroupFact::KeyPackageUsed(reference) => {
                self.groups.packages.used_by_contact(&contact, &reference);
            }
            GroupFact::Welcome(welcome) => self.welcomed(contact, &welcome, now, rng),
            _ => {}
        }
    }

    /// A Welcome from `from`: if it is for one of this device's packages, the device joins
    /// (or takes a second membership of a group it is in while branches settle).
    fn welcomed(&mut self, from: DeviceKey, welcome: &[u8], now: Millis, rng: &mut impl CryptoRng) {
        let Some(reference) = self.groups.packages.welcomed(welcome) else {
            return;
        };
        let Some(own) = self.groups.packages.own.get_mut(&reference) else {
            return;
        };
        let secrets = match own.secrets() {
            Ok(secrets) => secrets,
            Err(err) => {
                tracing::warn!(%err, "a stored KeyPackage's secrets do not decode");
                return;
            }
        };
        let first_use = own.used_at.is_none();
        if first_use {
            own.used_at = Some(now);
        }
        let package = own.package.clone();
        let pair = own.row.context;
        let last_resort = own.row.last_resort;
        let joined =
            match GroupMember::join(welcome, &package, secrets, &self.signing_key.to_bytes()) {
                Ok(joined) => joined,
                Err(err) => {
                    tracing::info!(%err, ?from, "a Welcome that does not open");
                    return;
                }
            };
        let context = joined.context();
        let known = self.groups.held.contains_key(&context);
        if !known && self.groups.held.len() + self.groups.dormant.len() >= super::MAX_GROUPS {
            // A contact may make groups with this device's last-resort package without end.
            tracing::warn!(
                ?from,
                "a Welcome refused: this device is in too many groups"
            );
            return;
        }
        tracing::info!(group = %short(&context), "joined a group from a Welcome");
        if first_use && !last_resort {
            let (kind, body) = GroupFact::KeyPackageUsed(reference).encode();
            if let Err(err) = self.write_own(vec![(pair, kind, body)], Followup::Nothing, now) {
                tracing::warn!(%err, "announcing a used KeyPackage");
            }
            self.top_up_packages(pair, now, rng);
        }
        match self.groups.held.get_mut(&context) {
            Some(held) => {
                held.members.add(joined);
                return;
            }
            None => {
                let row = self
                    .groups
                    .dormant
                    .remove(&context)
                    .unwrap_or_else(|| fresh_row(context, String::new(), now));
                self.groups
                    .held
                    .insert(context, Held::new(Memberships::new(joined), row));
            }
        }
        self.refresh_group(context);
        self.save_group(context);
        self.join(context, None);
        // What the store already holds of the group's context reaches the new membership.
        self.effects.push_back(Effect::LoadGroupFacts {
            context,
            ids: None,
            resumed: false,
        });
        self.effects
            .push_back(Effect::Notify(NodeEvent::GroupsChanged));
    }

    /// Offers `context`'s contact the packages it lacks.
    pub(in crate::agent::core) fn top_up_packages(
        &mut self,
        context: ContextId,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) {
        let signing = match self.signing() {
            Ok(signing) => signing,
            Err(err) => {
                tracing::error!(%err, "the device key as an MLS signature key");
                return;
            }
        };
        let rows = match self.groups.packages.top_up(context, &signing, now, rng) {
            Ok(rows) => rows,
            Err(err) => {
                tracing::error!(%err, "making KeyPackages");
                return;
            }
        };
        if rows.is_empty() {
            return;
        }
        let writes = rows
            .iter()
            .map(|row| {
                let (kind, body) = GroupFact::KeyPackage {
                    last_resort: row.last_resort,
                    key_package: row.key_package.clone(),
                }
                .encode();
                (context, kind, body)
            })
            .collect();
        // The secrets are stored before the packages are offered.
        self.effects.push_back(Effect::StoreKeyPackages(rows));
        if let Err(err) = self.write_own(writes, Followup::Nothing, now) {
            tracing::warn!(%err, "offering KeyPackages");
        }
    }

    /// Each contact not offered packages since the start (a new one, or every one after a
    /// restart) is offered what it lacks; packages used long enough ago are forgotten.
    pub(in crate::agent::core) fn offer_key_packages(
        &mut self,
        now: Millis,
        rng: &mut impl CryptoRng,
    ) {
        let mut fresh: Vec<ContextId> = self
            .invitations
            .contacts
            .values()
            .filter(|context| !self.offered_to.contains(*context))
            .copied()
            .collect();
        fresh.sort();
        for context in fresh {
            self.offered_to.insert(context);
            self.top_up_packages(context, now, rng);
        }
        for reference in self.groups.packages.expired(now) {
            self.effects.push_back(Effect::ForgetKeyPackage(reference));
        }
    }

    /// At start: the groups kept in the store resume from their snapshots (and are given
    /// their journal again), and the pairwise contexts are read for the packages contacts
    /// offer.
    pub(in crate::agent::core) fn resume_groups(&mut self) {
        let mut contexts: Vec<ContextId> = self.invitations.contacts.values().copied().collect();
        contexts.sort();
        for context in contexts {
            self.effects.push_back(Effect::LoadGroupFacts {
                context,
                ids: None,
                resumed: false,
            });
        }
        let mut dormant: Vec<ContextId> = self.groups.dormant.keys().copied().collect();
        dormant.sort();
        let seed = self.signing_key.to_bytes();
        for context in dormant {
            let Some(row) = self.groups.dormant.get(&context) else {
                continue;
            };
            if row.removed {
                continue;
            }
            let members = match Memberships::restore(&row.snapshot, &seed) {
                Ok(members) => members,
                Err(err) => {
                    tracing::error!(group = %short(&context), %err, "a group's state does not resume");
                    self.join(context, None);
                    continue;
                }
            };
            let Some(row) = self.groups.dormant.remove(&context) else {
                continue;
            };
            let mut held = Held::new(members, row);
            held.spent_epochs = held.window_epochs();
            held.members.ask(Intent::Update);
            self.groups.held.insert(context, held);
            self.join(context, None);
            self.effects.push_back(Effect::LoadGroupFacts {
                context,
                ids: None,
                resumed: true,
            });
        }
    }
}
