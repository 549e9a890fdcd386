//! Privacy leakage: what a context's traffic tells observers, charged to a budget per epoch.
//!
//! Each message costs something on three components: what an external observer of the
//! network learns, what a neighbour (a peer that relays or shares a connection) learns, and
//! what the group learns. The cost grows with the padded size bucket (bigger buckets say more
//! about content), with immediate rather than batched timing, and lands on the component of
//! the recipient's relationship. When a context's budget runs low, optional traffic
//! (receipts, typing, presence) stops first, keeping [`LeakagePolicy::optional_reserve_percent`]
//! for messages that matter; when it runs out, sends wait for the next epoch.

use std::collections::BTreeMap;

use super::fact::ContextId;
use super::flow_budget::Epoch;
use super::limits::MAX_FRAME_BYTES;

/// Sizes messages are padded up to, so an observer learns the bucket, not the length.
pub const SIZE_BUCKETS: [usize; 5] = [256, 1024, 4096, 16 * 1024, MAX_FRAME_BYTES];
/// Extra cost of sending at once rather than batched with other traffic.
pub const IMMEDIATE_TIMING_COST: u64 = 1;
/// An external observer learns from metadata alone, so its share weighs double.
pub const EXTERNAL_WEIGHT: u64 = 2;

/// The largest message that is padded and sent; above it, a message fits no bucket. It is
/// above the largest payload of any protocol (an anti-entropy turn, about 12 MiB at most).
pub const MAX_PADDED_BYTES: usize = 32 * 1024 * 1024;

/// The smallest bucket that holds `size`, or `None` above [`MAX_PADDED_BYTES`]. Beyond the
/// largest bucket, a message (an anti-entropy turn full of facts) is padded to a whole number
/// of largest buckets: the padding stays under 64 KiB, and an observer learns the count.
pub fn padded_size(size: usize) -> Option<usize> {
    let top = SIZE_BUCKETS[SIZE_BUCKETS.len() - 1];
    match SIZE_BUCKETS.iter().copied().find(|bucket| *bucket >= size) {
        Some(bucket) => Some(bucket),
        None if size <= MAX_PADDED_BYTES => Some(size.div_ceil(top) * top),
        None => None,
    }
}

/// Which bucket `size` pads to, counting on past the largest: a message of `n` largest
/// buckets costs as many more steps as doublings of `n`, since its size tells an observer
/// about that many bits more.
fn bucket_steps(size: usize) -> Option<u64> {
    if let Some(index) = SIZE_BUCKETS.iter().position(|bucket| *bucket >= size) {
        return Some(index as u64);
    }
    let chunks = padded_size(size)? / SIZE_BUCKETS[SIZE_BUCKETS.len() - 1];
    Some((SIZE_BUCKETS.len() - 1) as u64 + u64::from(chunks.next_power_of_two().trailing_zeros()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relationship {
    /// The recipient is a member of the context.
    Group,
    /// A peer the device is connected to that is not in the context.
    Neighbour,
    /// Anyone else on the path.
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timing {
    Batched,
    Immediate,
}

/// Traffic the user can go without.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionalKind {
    Receipt,
    Typing,
    Presence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageClass {
    Essential,
    Optional(OptionalKind),
}

/// A cost or an amount on each component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LeakageCost {
    pub external: u64,
    pub neighbour: u64,
    pub group: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    External,
    Neighbour,
    Group,
}

impl LeakageCost {
    fn components(&self) -> [(Component, u64); 3] {
        [
            (Component::External, self.external),
            (Component::Neighbour, self.neighbour),
            (Component::Group, self.group),
        ]
    }

    fn saturating_sub(&self, other: &Self) -> Self {
        Self {
            external: self.external.saturating_sub(other.external),
            neighbour: self.neighbour.saturating_sub(other.neighbour),
            group: self.group.saturating_sub(other.group),
        }
    }

    fn saturating_add(&self, other: &Self) -> Self {
        Self {
            external: self.external.saturating_add(other.external),
            neighbour: self.neighbour.saturating_add(other.neighbour),
            group: self.group.saturating_add(other.group),
        }
    }
}

/// The cost of one message of `size` bytes; `None` when no bucket holds it.
pub fn leakage_cost(
    size: usize,
    timing: Timing,
    relationship: Relationship,
) -> Option<LeakageCost> {
    let bucket = bucket_steps(size)?;
    let timing = match timing {
        Timing::Batched => 0,
        Timing::Immediate => IMMEDIATE_TIMING_COST,
    };
    let base = bucket + 1 + timing;
    let mut cost = LeakageCost::default();
    match relationship {
        Relationship::Group => cost.group = base,
        Relationship::Neighbour => cost.neighbour = base,
        Relationship::External => cost.external = base * EXTERNAL_WEIGHT,
    }
    Some(cost)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakagePolicy {
    /// Each context's budget per epoch unless set otherwise.
    pub default_limit: LeakageCost,
    /// Share of each component that optional traffic may not eat into.
    pub optional_reserve_percent: u64,
}

/// One context's leakage in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeakageBudget {
    pub epoch: Epoch,
    pub limit: LeakageCost,
    pub spent: LeakageCost,
}

impl LeakageBudget {
    /// This budget as seen from `epoch`: a later epoch starts with nothing spent.
    pub fn at(&self, epoch: Epoch) -> Self {
        if epoch > self.epoch {
            Self {
                epoch,
                limit: self.limit,
                spent: LeakageCost::default(),
            }
        } else {
            *self
        }
    }

    pub fn remaining(&self) -> LeakageCost {
        self.limit.saturating_sub(&self.spent)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeakageDenial {
    #[error(
        "{kind:?} traffic is paused: the context's {component:?} leakage budget is nearly spent"
    )]
    OptionalSuppressed {
        kind: OptionalKind,
        component: Component,
    },
    #[error(
        "the context's {component:?} leakage budget is spent; sending resumes in epoch {retry_epoch}"
    )]
    Exhausted {
        component: Component,
        retry_epoch: Epoch,
    },
    #[error("a message of {0} bytes fits no size bucket")]
    TooLarge(usize),
}

/// Every context's leakage budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakageLedger {
    policy: LeakagePolicy,
    contexts: BTreeMap<ContextId, LeakageBudget>,
}

impl LeakageLedger {
    pub fn new(policy: LeakagePolicy) -> Self {
        Self {
            policy,
            contexts: BTreeMap::new(),
        }
    }

    pub fn set_limit(&mut self, context: ContextId, epoch: Epoch, limit: LeakageCost) {
        let mut budget = self.get(context, epoch);
        budget.limit = limit;
        self.contexts.insert(context, budget);
    }

    /// Gives every context the policy's limit again, keeping what was spent: limits kept in
    /// the store follow the configuration as it is now.
    pub fn apply_policy_limits(&mut self) {
        for budget in self.contexts.values_mut() {
            budget.limit = self.policy.default_limit;
        }
    }

    /// Every context's budget settled to the latest epoch the ledger holds, for storing and
    /// showing: the spend of an older epoch is history and is dropped, the limit is kept.
    pub fn settled(&self) -> impl Iterator<Item = (ContextId, LeakageBudget)> + '_ {
        let latest = self
            .contexts
            .values()
            .map(|budget| budget.epoch)
            .max()
            .unwrap_or_default();
        self.contexts
            .iter()
            .map(move |(context, budget)| (*context, budget.at(latest)))
    }

    pub(super) fn from_parts(
        policy: LeakagePolicy,
        contexts: impl IntoIterator<Item = (ContextId, LeakageBudget)>,
    ) -> Self {
        Self {
            policy,
            contexts: contexts.into_iter().collect(),
        }
    }

    /// The context's budget as of `epoch` (the default limit for a context never seen).
    pub fn get(&self, context: ContextId, epoch: Epoch) -> LeakageBudget {
        self.contexts.get(&context).map_or(
            LeakageBudget {
                epoch,
                limit: self.policy.default_limit,
                spent: LeakageCost::default(),
            },
            |budget| budget.at(epoch),
        )
    }

    /// Whether a message of `class` costing `cost` may be sent now; changes nothing.
    pub fn check(
        &self,
        context: ContextId,
        epoch: Epoch,
        cost: &LeakageCost,
        class: MessageClass,
    ) -> Result<LeakageBudget, LeakageDenial> {
        let budget = self.get(context, epoch);
        let remaining = budget.remaining();
        for ((component, remaining), ((_, needed), (_, limit))) in remaining
            .components()
            .into_iter()
            .zip(cost.components().into_iter().zip(budget.limit.components()))
        {
            if needed == 0 {
                continue;
            }
            if let MessageClass::Optional(kind) = class {
                let reserve = limit.saturating_mul(self.policy.optional_reserve_percent) / 100;
                if remaining.saturating_sub(needed) < reserve || remaining < needed {
                    return Err(LeakageDenial::OptionalSuppressed { kind, component });
                }
            }
            if remaining < needed {
                return Err(LeakageDenial::Exhausted {
                    component,
                    retry_epoch: epoch + 1,
                });
            }
        }
        Ok(budget)
    }

    /// Records `cost`, or fails and changes nothing.
    pub fn charge(
        &mut self,
        context: ContextId,
        epoch: Epoch,
        cost: &LeakageCost,
        class: MessageClass,
    ) -> Result<LeakageBudget, LeakageDenial> {
        let mut budget = self.check(context, epoch, cost, class)?;
        budget.spent = budget.spent.saturating_add(cost);
        self.contexts.insert(context, budget);
        Ok(budget)
    }
}
