//! The receive side of flow budgets: what each peer spends toward this device per epoch.
//!
//! Budgets are also the spam defence: a peer that sends more than its limit in an epoch has
//! the excess dropped (or held until the next epoch), and every such message is counted so
//! the user can see who floods. Honest peers keep their own budgets, so a flood from one peer
//! costs the others nothing.

use std::collections::BTreeMap;

use super::fact::DeviceKey;
use super::flow_budget::Epoch;

/// What happens to traffic over a peer's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverBudget {
    Drop,
    /// Held by the caller until the next epoch.
    Delay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Delay { until_epoch: Epoch },
}

/// One peer's traffic toward this device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCounters {
    pub epoch: Epoch,
    pub limit: u64,
    /// Cost accepted in `epoch`.
    pub spent: u64,
    /// Totals since the ledger was created.
    pub accepted: u64,
    pub dropped: u64,
    pub delayed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveLedger {
    policy: OverBudget,
    /// The limit of a peer with none set: the `TrustLevel::None` limit.
    default_limit: u64,
    peers: BTreeMap<DeviceKey, PeerCounters>,
}

impl ReceiveLedger {
    pub fn new(policy: OverBudget, default_limit: u64) -> Self {
        Self {
            policy,
            default_limit,
            peers: BTreeMap::new(),
        }
    }

    pub(super) fn from_parts(
        policy: OverBudget,
        default_limit: u64,
        peers: impl IntoIterator<Item = (DeviceKey, PeerCounters)>,
    ) -> Self {
        Self {
            policy,
            default_limit,
            peers: peers.into_iter().collect(),
        }
    }

    /// Gives every peer the default limit again, keeping its counters: limits kept in the
    /// store follow the configuration as it is now, and members get theirs when admitted.
    pub fn reset_limits(&mut self) {
        for counters in self.peers.values_mut() {
            counters.limit = self.default_limit;
        }
    }

    /// Forgets peers that sent nothing since `epoch`, were never over budget and hold no
    /// limit of their own: any key can send once, so the ledger would otherwise keep a row
    /// for every identity that ever did. Members (a limit of their own) and flooders stay.
    pub fn forget_quiet(&mut self, epoch: Epoch) {
        let default_limit = self.default_limit;
        self.peers.retain(|_, counters| {
            counters.epoch >= epoch
                || counters.dropped > 0
                || counters.delayed > 0
                || counters.limit != default_limit
        });
    }

    pub fn set_limit(&mut self, peer: DeviceKey, limit: u64) {
        self.entry(peer).limit = limit;
    }

    fn entry(&mut self, peer: DeviceKey) -> &mut PeerCounters {
        let default_limit = self.default_limit;
        self.peers.entry(peer).or_insert(PeerCounters {
            limit: default_limit,
            ..PeerCounters::default()
        })
    }

    /// Accounts one message of `cost` from `peer`, received in `epoch`.
    pub fn receive(&mut self, peer: DeviceKey, cost: u64, epoch: Epoch) -> Verdict {
        let policy = self.policy;
        let counters = self.entry(peer);
        if epoch > counters.epoch {
            counters.epoch = epoch;
            counters.spent = 0;
        }
        if counters.limit.saturating_sub(counters.spent) >= cost {
            counters.spent += cost;
            counters.accepted += 1;
            return Verdict::Accept;
        }
        match policy {
            OverBudget::Drop => {
                counters.dropped += 1;
                Verdict::Drop
            }
            OverBudget::Delay => {
                counters.delayed += 1;
                Verdict::Delay {
                    until_epoch: counters.epoch + 1,
                }
            }
        }
    }

    pub fn counters(&self, peer: &DeviceKey) -> Option<PeerCounters> {
        self.peers.get(peer).copied()
    }

    /// Every peer's counters, for `aura budget list` and the UI.
    pub fn all(&self) -> impl Iterator<Item = (DeviceKey, PeerCounters)> + '_ {
        self.peers.iter().map(|(peer, counters)| (*peer, *counters))
    }
}
