//! The guard chain: the checks every send passes, as pure functions over a snapshot.
//!
//! In order: the capability guard (the sender holds the message's capability in the
//! context), the flow guard (the charge fits the budget toward the peer), the journal coupler
//! (which facts the send records) and the leakage guard (the context's privacy budget allows
//! the padded message). [`GuardChain::evaluate`] changes nothing: it returns the effects to
//! perform, as data, or the first [`Denial`]. Only [`GuardState::apply`] performs effects, so
//! a denied send has no effect at all, and the checks can run on a snapshot while the agent
//! keeps the state.

use crate::state::capability::CapabilitySet;
use crate::state::fact::{ContextId, DeviceKey};
use crate::state::flow_budget::{BudgetError, Epoch, FlowBudgets};
use crate::state::leakage::{
    LeakageCost, LeakageDenial, LeakageLedger, MessageClass, Relationship, Timing, leakage_cost,
    padded_size,
};

/// What the guards read: borrowed, so building one per send costs nothing.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// What this device may do in the request's context.
    pub capabilities: &'a CapabilitySet,
    pub budgets: &'a FlowBudgets,
    pub leakage: &'a LeakageLedger,
}

/// One message about to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendRequest<'a> {
    pub context: ContextId,
    pub peer: DeviceKey,
    pub capability: &'a str,
    pub flow_cost: u64,
    /// Bytes before padding.
    pub size: usize,
    pub class: MessageClass,
    pub relationship: Relationship,
    pub timing: Timing,
    /// Kinds of the journal facts the send records.
    pub journal_facts: &'static [&'static str],
}

/// A journal fact a send records; the agent signs and ingests it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalRecord {
    pub context: ContextId,
    pub peer: DeviceKey,
    pub kind: &'static str,
    pub epoch: Epoch,
}

/// Up to this many facts per message; an annotation lists one or two.
pub const MAX_JOURNAL_FACTS_PER_SEND: usize = 4;

/// What a permitted send must do, all of it, before the message goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effects {
    pub context: ContextId,
    pub peer: DeviceKey,
    pub epoch: Epoch,
    pub flow_cost: u64,
    pub leakage: LeakageCost,
    pub class: MessageClass,
    /// The size the message is padded to.
    pub padded_size: usize,
    pub journal: Vec<JournalRecord>,
}

/// Why a send was refused, in terms the UI can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("missing capability `{capability}` in this context")]
    MissingCapability { capability: String },
    #[error(transparent)]
    Flow(#[from] BudgetError),
    #[error(transparent)]
    Leakage(#[from] LeakageDenial),
    #[error("the budget epoch moved from {evaluated} to {current} since the send was checked")]
    EpochChanged { evaluated: Epoch, current: Epoch },
    #[error("a send records {0} journal facts; at most {MAX_JOURNAL_FACTS_PER_SEND}")]
    TooManyFacts(usize),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct GuardChain;

impl GuardChain {
    pub fn evaluate(snapshot: &Snapshot<'_>, request: &SendRequest<'_>) -> Result<Effects, Denial> {
        Self::evaluate_for(snapshot, request, &[request.peer], true)
    }

    /// The capability guard alone: whether the snapshot's capabilities hold `capability`.
    /// What a change is checked with when it is asked for, before anything is made (the
    /// messages that carry it pass the whole chain when they are sent).
    pub fn check_capability(snapshot: &Snapshot<'_>, capability: &str) -> Result<(), Denial> {
        if snapshot.capabilities.allows_name(capability) {
            Ok(())
        } else {
            Err(Denial::MissingCapability {
                capability: capability.to_owned(),
            })
        }
    }

    /// The chain with the flow guard run for each of `flow_peers`, and the leakage guard only
    /// when something is sent.
    fn evaluate_for(
        snapshot: &Snapshot<'_>,
        request: &SendRequest<'_>,
        flow_peers: &[DeviceKey],
        sent: bool,
    ) -> Result<Effects, Denial> {
        Self::check_capability(snapshot, request.capability)?;
        for peer in flow_peers {
            snapshot
                .budgets
                .check(request.context, *peer, request.flow_cost)?;
        }
        let epoch = snapshot.budgets.epoch();
        if request.journal_facts.len() > MAX_JOURNAL_FACTS_PER_SEND {
            return Err(Denial::TooManyFacts(request.journal_facts.len()));
        }
        let journal = request
            .journal_facts
            .iter()
            .map(|kind| JournalRecord {
                context: request.context,
                peer: request.peer,
                kind,
                epoch,
            })
            .collect();
        let padded = padded_size(request.size).ok_or(LeakageDenial::TooLarge(request.size))?;
        let leakage = leakage_cost(padded, request.timing, request.relationship)
            .ok_or(LeakageDenial::TooLarge(request.size))?;
        if sent {
            snapshot
                .leakage
                .check(request.context, epoch, &leakage, request.class)?;
        }
        Ok(Effects {
            context: request.context,
            peer: request.peer,
            epoch,
            flow_cost: request.flow_cost,
            leakage,
            class: request.class,
            padded_size: padded,
            journal,
        })
    }
}

/// One message to every listed peer of a context at once (a gossip publish): each peer's
/// budget pays the flow cost, while the context's leakage is charged once, since observers
/// see one publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastEffects {
    /// The effects of the send, `peer` being the first recipient (or the request's peer when
    /// no recipient is known yet).
    pub send: Effects,
    pub peers: Vec<DeviceKey>,
}

impl GuardChain {
    /// [`GuardChain::evaluate`] for one message to each of `peers` (deduplicated).
    pub fn evaluate_broadcast(
        snapshot: &Snapshot<'_>,
        request: &SendRequest<'_>,
        peers: &[DeviceKey],
    ) -> Result<BroadcastEffects, Denial> {
        let mut peers = peers.to_vec();
        peers.sort();
        peers.dedup();
        let Some(first) = peers.first().copied() else {
            // Nobody listens, so nothing is sent: no flow or leakage to charge, but the device
            // must still hold the capability, and what the send records is still recorded.
            let mut send = Self::evaluate_for(snapshot, request, &[], false)?;
            send.flow_cost = 0;
            send.leakage = LeakageCost::default();
            return Ok(BroadcastEffects { send, peers });
        };
        let send = Self::evaluate_for(
            snapshot,
            &SendRequest {
                peer: first,
                ..*request
            },
            &peers,
            true,
        )?;
        Ok(BroadcastEffects { send, peers })
    }
}

/// The state the guard chain's effects change, owned by the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardState {
    pub capabilities: CapabilitySet,
    pub budgets: FlowBudgets,
    pub leakage: LeakageLedger,
    /// Facts recorded by sends, waiting for the agent to sign and ingest them.
    pub journal: Vec<JournalRecord>,
}

impl GuardState {
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            capabilities: &self.capabilities,
            budgets: &self.budgets,
            leakage: &self.leakage,
        }
    }

    /// Evaluates the chain and, if every guard passed, performs the effects.
    pub fn authorize(&mut self, request: &SendRequest<'_>) -> Result<Effects, Denial> {
        let effects = GuardChain::evaluate(&self.snapshot(), request)?;
        self.apply(&effects)?;
        Ok(effects)
    }

    /// Evaluates a broadcast and, if every guard passed for every peer, performs the effects.
    pub fn authorize_broadcast(
        &mut self,
        request: &SendRequest<'_>,
        peers: &[DeviceKey],
    ) -> Result<BroadcastEffects, Denial> {
        let effects = GuardChain::evaluate_broadcast(&self.snapshot(), request, peers)?;
        self.apply_broadcast(&effects)?;
        Ok(effects)
    }

    /// Performs a broadcast's effects: every peer's charge is checked before any is made.
    /// Nothing is sent when nobody listens, so a broadcast to no peer charges no leakage.
    pub fn apply_broadcast(&mut self, effects: &BroadcastEffects) -> Result<(), Denial> {
        let send = &effects.send;
        let mut peers = effects.peers.clone();
        peers.sort();
        peers.dedup();
        if send.epoch != self.budgets.epoch() {
            return Err(Denial::EpochChanged {
                evaluated: send.epoch,
                current: self.budgets.epoch(),
            });
        }
        for peer in &peers {
            self.budgets.check(send.context, *peer, send.flow_cost)?;
        }
        if peers.is_empty() {
            self.journal.extend_from_slice(&send.journal);
            return Ok(());
        }
        self.leakage
            .check(send.context, send.epoch, &send.leakage, send.class)?;
        for peer in &peers {
            self.budgets.charge(send.context, *peer, send.flow_cost)?;
        }
        self.leakage
            .charge(send.context, send.epoch, &send.leakage, send.class)?;
        self.journal.extend_from_slice(&send.journal);
        Ok(())
    }

    /// Performs `effects`. Both charges are checked before either is made, so effects that no
    /// longer fit (the state moved since the snapshot) change nothing and return the denial.
    pub fn apply(&mut self, effects: &Effects) -> Result<(), Denial> {
        if effects.epoch != self.budgets.epoch() {
            // The epoch turned since the snapshot: charge nothing against the wrong epoch.
            return Err(Denial::EpochChanged {
                evaluated: effects.epoch,
                current: self.budgets.epoch(),
            });
        }
        self.budgets
            .check(effects.context, effects.peer, effects.flow_cost)?;
        self.leakage.check(
            effects.context,
            effects.epoch,
            &effects.leakage,
            effects.class,
        )?;
        self.budgets
            .charge(effects.context, effects.peer, effects.flow_cost)?;
        self.leakage.charge(
            effects.context,
            effects.epoch,
            &effects.leakage,
            effects.class,
        )?;
        self.journal.extend_from_slice(&effects.journal);
        Ok(())
    }
}
