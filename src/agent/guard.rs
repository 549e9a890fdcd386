//! The agent's side of the guard chain: the state every send is charged to, how peers get
//! their budgets, and what each peer spends toward this device.
//!
//! Sessions run as tasks and charge [`SharedGuard`] themselves, through their guarded
//! transport; gossip publishes are charged here, one flow charge per subscribed peer and one
//! leakage charge per publish. A peer's budgets follow its level in the web of trust. Only
//! peers the core serves (contacts, and peers a path reaches) are admitted to a context; a
//! contact whose level the shell has not computed yet is held at [`MEMBER_TRUST`].

use crate::protocol::guard::{
    BroadcastEffects, Denial, GuardChain, GuardState, SendRequest, Snapshot,
};
use crate::protocol::guarded::SharedGuard;
use crate::state::capability::{Capability, CapabilitySet};
use crate::state::fact::{ContextId, DeviceKey};
use crate::state::flow_budget::{BudgetPolicy, ContextBudgetSettings, Epoch, FlowBudgets};
use crate::state::leakage::{LeakageLedger, LeakagePolicy, MessageClass, Relationship, Timing};
use crate::state::receive_budget::{OverBudget, ReceiveLedger, Verdict};
use crate::state::semilattice::Meet;
use crate::state::trust_level::TrustLevel;
use crate::state::{Store, StoreError};

/// The capability a device holds in every context it joined: to gossip its facts and to
/// run anti-entropy (the name the sync choreography's annotations ask for).
pub const PUBLISH_CAPABILITY: &str = "publish";
pub const SYNC_CAPABILITY: &str = "sync";
/// The capability relationship formation's annotations ask for: every device may run the
/// invitation handshake with anyone (a stranger gets it and nothing else).
pub const INVITE_CAPABILITY: &str = "invite";
/// The group capabilities (add, remove, rename, policy): a device holds them all, and each
/// group's policy narrows them by meet ([`NodeGuard::authorize_group_change`]).
pub use crate::groups::policy::GROUP_CAPABILITIES;
/// Flow units one gossiped fact costs toward each subscribed peer.
pub const PUBLISH_FLOW_COST: u64 = 1;
/// Flow units a peer spends toward this device by opening a session: the cost of the
/// choreography's first message.
pub const SESSION_OPEN_COST: u64 = crate::protocol::anti_entropy::Hello::ANNOTATION.flow_cost;
/// Flow units a handshake needs at least (its four messages), whatever the configured
/// budget of a stranger.
pub const HANDSHAKE_MIN_BUDGET: u64 = 8;
/// The trust of a served peer until the web of trust's levels arrive: a new contact's.
pub const MEMBER_TRUST: TrustLevel = TrustLevel::Low;

/// What the guard keeps across restarts, so that a restart neither refills a budget nor
/// forgets who flooded.
#[derive(Debug, Clone)]
pub struct KeptLedgers {
    pub budgets: FlowBudgets,
    pub leakage: LeakageLedger,
    pub received: ReceiveLedger,
}

/// What the guard needs from the configuration.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub flow: BudgetPolicy,
    pub leakage: LeakagePolicy,
    /// How far the web of trust reaches (`[trust] hop_limit`): trust sets budgets.
    pub trust_hop_limit: u8,
}

/// Counters the node reports about its guard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardCounters {
    /// Gossip publishes the guard chain refused.
    pub denied_publishes: u64,
    /// Gossip messages dropped and session opens refused because their peer was over its
    /// budget toward this device, since the store was created (the receive ledger is kept
    /// across restarts; strangers it forgets take their counts with them).
    pub dropped_inbound: u64,
}

#[derive(Debug)]
pub struct NodeGuard {
    shared: SharedGuard,
    policy: BudgetPolicy,
    receive: ReceiveLedger,
    /// Gossip publishes the guard chain refused since the node started.
    denied_publishes: u64,
    /// What the web of trust says of each peer it reaches.
    trust: std::collections::HashMap<DeviceKey, TrustLevel>,
    trust_hop_limit: u8,
}

impl NodeGuard {
    /// The receive ledger's policy and the limit of a peer nobody gave one: what a store
    /// needs to load the ledger.
    pub fn receive_settings(config: &GuardConfig) -> (OverBudget, u64) {
        (
            OverBudget::Drop,
            config
                .flow
                .limit(TrustLevel::None, ContextBudgetSettings::default()),
        )
    }

    /// A guard starting from the ledgers the store kept, at `now_ms`.
    pub fn new(config: GuardConfig, kept: KeptLedgers, now_ms: u64) -> Self {
        let KeptLedgers {
            budgets,
            leakage,
            received,
        } = kept.as_of(&config, now_ms);
        let capabilities = CapabilitySet::new(
            [PUBLISH_CAPABILITY, SYNC_CAPABILITY, INVITE_CAPABILITY]
                .into_iter()
                .chain(GROUP_CAPABILITIES)
                .map(Capability::new),
        );
        Self {
            shared: SharedGuard::new(GuardState {
                capabilities,
                budgets,
                leakage,
                journal: Vec::new(),
            }),
            policy: config.flow,
            receive: received,
            denied_publishes: 0,
            trust: std::collections::HashMap::new(),
            trust_hop_limit: config.trust_hop_limit,
        }
    }

    /// The state sessions charge their sends to.
    pub fn shared(&self) -> SharedGuard {
        self.shared.clone()
    }

    /// Moves budgets to the epoch of `now_ms`; `true` when a new epoch began. Records that
    /// sends left for the journal are dropped: no fact kind carries them yet.
    pub fn tick(&mut self, now_ms: u64) -> bool {
        let policy = &self.policy;
        let (turned, epoch) = self.shared.with(|state| {
            state.journal.clear();
            let turned = state.budgets.tick(policy, now_ms);
            (turned, state.budgets.epoch())
        });
        if turned {
            self.receive.forget_quiet(epoch.saturating_sub(1));
        }
        turned
    }

    /// The budget epoch this device is in.
    pub fn epoch(&self) -> Epoch {
        self.shared.with(|state| state.budgets.epoch())
    }

    /// Moves budgets to a peer's later epoch, never past the local clock's next one.
    pub fn observe_peer_epoch(&mut self, claimed: Epoch, now_ms: u64) {
        let policy = &self.policy;
        self.shared
            .with(|state| state.budgets.observe_peer_epoch(policy, claimed, now_ms));
    }

    /// How far the web of trust reaches.
    pub fn trust_hop_limit(&self) -> u8 {
        self.trust_hop_limit
    }

    /// The trust level budgets are set from: the web of trust's for a peer it reaches, and
    /// [`MEMBER_TRUST`] for a served peer it has not reached yet (a contact just made).
    pub fn trust_of(&self, peer: &DeviceKey) -> TrustLevel {
        self.trust.get(peer).copied().unwrap_or(MEMBER_TRUST)
    }

    /// Whether the web of trust reaches `peer` (a path above `None`, or a live relationship).
    pub fn reaches(&self, peer: &DeviceKey) -> bool {
        self.trust.contains_key(peer)
    }

    /// Takes the levels the web of trust gives each peer it reaches; each peer whose level
    /// changed gets the limits of its new level, both ways, in every context.
    pub fn set_trust_levels(&mut self, levels: std::collections::HashMap<DeviceKey, TrustLevel>) {
        let mut changed: Vec<DeviceKey> = levels
            .iter()
            .filter(|(peer, level)| self.trust.get(peer) != Some(level))
            .map(|(peer, _)| *peer)
            .collect();
        changed.extend(self.trust.keys().filter(|peer| !levels.contains_key(peer)));
        self.trust = levels;
        for peer in changed {
            let limit = self
                .policy
                .limit(self.trust_of(&peer), ContextBudgetSettings::default());
            self.shared
                .with(|state| state.budgets.set_peer_limit(peer, limit));
            self.receive.set_limit(peer, limit);
        }
    }

    /// Gives `peer` its budgets for `context`: what this device may send it, and what it may
    /// send this device, from its trust level.
    pub fn admit_member(&mut self, context: ContextId, peer: DeviceKey) {
        let limit = self
            .policy
            .limit(self.trust_of(&peer), ContextBudgetSettings::default());
        self.shared
            .with(|state| state.budgets.set_limit(context, peer, limit));
        self.receive.set_limit(peer, limit);
    }

    /// Gives `peer` the budget of a stranger for a handshake about the invitation `context`
    /// names, both ways: what the handshake sends is charged like anything else.
    pub fn admit_handshake(&mut self, context: ContextId, peer: DeviceKey) {
        let limit = self
            .policy
            .limit(TrustLevel::None, ContextBudgetSettings::default())
            .max(HANDSHAKE_MIN_BUDGET);
        self.shared
            .with(|state| state.budgets.set_limit(context, peer, limit));
    }

    /// Charges one gossip publish of `size` bytes to `context` and each of `subscribers`.
    pub fn authorize_publish(
        &mut self,
        context: ContextId,
        local: DeviceKey,
        subscribers: &[DeviceKey],
        size: usize,
    ) -> Result<BroadcastEffects, Denial> {
        let request = SendRequest {
            context,
            peer: local,
            capability: PUBLISH_CAPABILITY,
            flow_cost: PUBLISH_FLOW_COST,
            size,
            class: MessageClass::Essential,
            relationship: Relationship::Group,
            timing: Timing::Immediate,
            journal_facts: &[],
        };
        let result = self
            .shared
            .with(|state| state.authorize_broadcast(&request, subscribers));
        if result.is_err() {
            self.denied_publishes += 1;
        }
        result
    }

    /// The capability guard for a change of a group this device asks for: the device's
    /// own capabilities met with what the group's policy grants it (`granted`) must hold
    /// `capability`. Nothing is charged: the commit that carries the change is, when it is
    /// written.
    pub fn authorize_group_change(
        &self,
        granted: &CapabilitySet,
        capability: &str,
    ) -> Result<(), Denial> {
        self.shared.with(|state| {
            let capabilities = state.capabilities.meet(granted);
            let snapshot = Snapshot {
                capabilities: &capabilities,
                budgets: &state.budgets,
                leakage: &state.leakage,
            };
            GuardChain::check_capability(&snapshot, capability)
        })
    }

    /// Accounts `cost` from `peer`; `false` when the peer is over its budget and the message
    /// must be dropped (anti-entropy repairs what a dropped gossip message carried).
    pub fn receive(&mut self, peer: DeviceKey, cost: u64) -> bool {
        let epoch = self.epoch();
        match self.receive.receive(peer, cost, epoch) {
            Verdict::Accept => true,
            Verdict::Drop | Verdict::Delay { .. } => false,
        }
    }

    pub fn counters(&self) -> GuardCounters {
        GuardCounters {
            denied_publishes: self.denied_publishes,
            dropped_inbound: self
                .receive
                .all()
                .map(|(_, counters)| counters.dropped + counters.delayed)
                .sum(),
        }
    }

    pub fn policy(&self) -> &BudgetPolicy {
        &self.policy
    }

    /// The ledgers as they are now, to keep in the store.
    pub fn ledgers(&self) -> KeptLedgers {
        let (budgets, leakage) = self
            .shared
            .with(|state| (state.budgets.clone(), state.leakage.clone()));
        KeptLedgers {
            budgets,
            leakage,
            received: self.receive.clone(),
        }
    }
}

impl KeptLedgers {
    pub fn load(store: &Store, config: &GuardConfig) -> Result<Self, StoreError> {
        let (policy, default_limit) = NodeGuard::receive_settings(config);
        Ok(Self {
            budgets: store.load_flow_budgets()?,
            leakage: store.load_leakage(config.leakage.clone())?,
            received: store.load_receive_ledger(policy, default_limit)?,
        })
    }

    /// The kept ledgers brought to `now_ms` under `config`: budgets in the clock's epoch,
    /// limits as the configuration sets them now (what was spent stays spent).
    pub fn as_of(mut self, config: &GuardConfig, now_ms: u64) -> Self {
        self.budgets.tick(&config.flow, now_ms);
        self.leakage.apply_policy_limits();
        self.received.reset_limits();
        self
    }

    pub fn save(&self, store: &Store) -> Result<(), StoreError> {
        store.save_ledgers(&self.budgets, &self.leakage, &self.received)
    }
}

impl GuardConfig {
    /// The policies the `[budgets]` section of the configuration sets.
    pub fn from_config(budgets: &crate::config::BudgetsConfig) -> Self {
        Self {
            flow: budgets.flow_policy(),
            leakage: budgets.leakage_policy(),
            trust_hop_limit: crate::trust::graph::DEFAULT_HOP_LIMIT,
        }
    }
}
