//! Flow budgets: how much a device may send to each peer in each context per epoch.
//!
//! A budget is keyed by `(context, peer)` and belongs to an epoch: a limit and what was spent
//! in that epoch. Epochs come from the wall clock (passed in) divided into
//! [`BudgetPolicy::epoch_ms`] slices, and converge to the highest epoch a peer reports, but
//! never more than [`MAX_EPOCH_LEAD`] past the local clock's: otherwise one peer claiming a
//! far future epoch would refill everyone's budgets at will. A budget whose epoch is older
//! than the current one has spent nothing in the current one, which is why merging two states
//! takes the newer epoch's spend alone.

use std::collections::BTreeMap;

use super::fact::{ContextId, DeviceKey};
use super::semilattice::Join;
use super::trust_level::TrustLevel;

pub type Epoch = u64;

/// How many epochs past the local clock a peer's claimed epoch may move this device: one
/// tolerates clocks that straddle an epoch boundary, and no more.
pub const MAX_EPOCH_LEAD: Epoch = 1;
/// The shortest epoch a policy may have: shorter would make budgets refill faster than a
/// sync round trip completes.
pub const MIN_EPOCH_MS: u64 = 1_000;

/// Where limits come from: one per trust level, scaled by a context's setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetPolicy {
    pub epoch_ms: u64,
    /// Indexed by `TrustLevel as usize`.
    pub limit_by_trust: [u64; 5],
}

/// A context's own setting: a percentage of the trust-level limit (100 keeps it as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextBudgetSettings {
    pub limit_percent: u32,
}

impl Default for ContextBudgetSettings {
    fn default() -> Self {
        Self { limit_percent: 100 }
    }
}

impl BudgetPolicy {
    pub fn limit(&self, trust: TrustLevel, context: ContextBudgetSettings) -> u64 {
        let base = self.limit_by_trust[trust as usize];
        base.saturating_mul(u64::from(context.limit_percent)) / 100
    }

    /// The epoch the local clock is in.
    pub fn clock_epoch(&self, now_ms: u64) -> Epoch {
        now_ms / self.epoch_ms.max(MIN_EPOCH_MS)
    }
}

/// One budget in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowBudget {
    pub epoch: Epoch,
    pub limit: u64,
    pub spent: u64,
}

impl FlowBudget {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.spent)
    }

    /// This budget as seen from `epoch`: a later epoch starts with nothing spent.
    pub fn at(&self, epoch: Epoch) -> Self {
        if epoch > self.epoch {
            Self {
                epoch,
                limit: self.limit,
                spent: 0,
            }
        } else {
            *self
        }
    }
}

/// The newer epoch wins outright, so no spend crosses into an epoch; within one epoch the
/// larger spend wins, so a replayed state never gives budget back.
impl Join for FlowBudget {
    fn join(&self, other: &Self) -> Self {
        match self.epoch.cmp(&other.epoch) {
            std::cmp::Ordering::Greater => *self,
            std::cmp::Ordering::Less => *other,
            std::cmp::Ordering::Equal => Self {
                epoch: self.epoch,
                limit: self.limit.max(other.limit),
                spent: self.spent.max(other.spent),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("flow budget exhausted: {required} needed, {available} left this epoch")]
    InsufficientBudget { required: u64, available: u64 },
    #[error("no flow budget for {peer:?} in {context:?}")]
    UnknownBudget { context: ContextId, peer: DeviceKey },
}

pub type BudgetKey = (ContextId, DeviceKey);

/// Every budget of this device, and the epoch they are in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowBudgets {
    epoch: Epoch,
    budgets: BTreeMap<BudgetKey, FlowBudget>,
}

impl FlowBudgets {
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Sets the limit of a budget, creating it if needed; what was spent stays spent.
    /// Sets the limit of every budget `peer` has, in every context: its trust changed.
    pub fn set_peer_limit(&mut self, peer: DeviceKey, limit: u64) {
        let epoch = self.epoch;
        for ((_, budget_peer), budget) in self.budgets.iter_mut() {
            if *budget_peer == peer {
                *budget = budget.at(epoch);
                budget.limit = limit;
            }
        }
    }

    pub fn set_limit(&mut self, context: ContextId, peer: DeviceKey, limit: u64) {
        let epoch = self.epoch;
        let budget = self.budgets.entry((context, peer)).or_insert(FlowBudget {
            epoch,
            limit,
            spent: 0,
        });
        *budget = budget.at(epoch);
        budget.limit = limit;
    }

    /// The budget as it stands in the current epoch.
    pub fn get(&self, context: ContextId, peer: DeviceKey) -> Option<FlowBudget> {
        self.budgets
            .get(&(context, peer))
            .map(|budget| budget.at(self.epoch))
    }

    pub fn iter(&self) -> impl Iterator<Item = (BudgetKey, FlowBudget)> + '_ {
        self.budgets
            .iter()
            .map(|(key, budget)| (*key, budget.at(self.epoch)))
    }

    /// Checks that `cost` fits without changing anything: the guard chain's question.
    pub fn check(
        &self,
        context: ContextId,
        peer: DeviceKey,
        cost: u64,
    ) -> Result<FlowBudget, BudgetError> {
        let budget = self
            .get(context, peer)
            .ok_or(BudgetError::UnknownBudget { context, peer })?;
        if budget.remaining() < cost {
            return Err(BudgetError::InsufficientBudget {
                required: cost,
                available: budget.remaining(),
            });
        }
        Ok(budget)
    }

    /// Spends `cost`, or fails and changes nothing. Returns the budget after the charge.
    pub fn charge(
        &mut self,
        context: ContextId,
        peer: DeviceKey,
        cost: u64,
    ) -> Result<FlowBudget, BudgetError> {
        let mut budget = self.check(context, peer, cost)?;
        budget.spent += cost;
        self.budgets.insert((context, peer), budget);
        Ok(budget)
    }

    /// Moves to the local clock's epoch if it is later; returns whether the epoch changed.
    pub fn tick(&mut self, policy: &BudgetPolicy, now_ms: u64) -> bool {
        self.advance_to(policy.clock_epoch(now_ms))
    }

    /// Adopts a peer's epoch when it is higher, capped at [`MAX_EPOCH_LEAD`] past the local
    /// clock's epoch. Returns the epoch now in force.
    pub fn observe_peer_epoch(
        &mut self,
        policy: &BudgetPolicy,
        claimed: Epoch,
        now_ms: u64,
    ) -> Epoch {
        let cap = policy.clock_epoch(now_ms).saturating_add(MAX_EPOCH_LEAD);
        self.advance_to(claimed.min(cap));
        self.epoch
    }

    /// Never moves backwards. Spends of older epochs are dropped lazily by [`FlowBudget::at`],
    /// so advancing is O(1).
    fn advance_to(&mut self, epoch: Epoch) -> bool {
        if epoch <= self.epoch {
            return false;
        }
        self.epoch = epoch;
        true
    }

    /// Every budget normalised to the current epoch, for storing.
    pub fn settled(&self) -> Self {
        Self {
            epoch: self.epoch,
            budgets: self.iter().collect(),
        }
    }

    pub(super) fn from_parts(
        epoch: Epoch,
        budgets: impl IntoIterator<Item = (BudgetKey, FlowBudget)>,
    ) -> Self {
        Self {
            epoch,
            budgets: budgets.into_iter().collect(),
        }
    }
}

/// The higher epoch wins, and each budget joins as [`FlowBudget`] does, seen from that epoch.
impl Join for FlowBudgets {
    fn join(&self, other: &Self) -> Self {
        let epoch = self.epoch.max(other.epoch);
        let mut budgets = self.budgets.clone();
        for (key, theirs) in &other.budgets {
            let merged = match budgets.get(key) {
                Some(ours) => ours.at(epoch).join(&theirs.at(epoch)),
                None => theirs.at(epoch),
            };
            budgets.insert(*key, merged);
        }
        for budget in budgets.values_mut() {
            *budget = budget.at(epoch);
        }
        Self { epoch, budgets }
    }
}
