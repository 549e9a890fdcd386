//! What `aura budget list` shows: for each context and peer what this device may still send,
//! each context's leakage, and what each peer sent this device; from the running node, or
//! from the store when none runs.

use std::fmt::Write as _;

use super::guard::KeptLedgers;
use crate::identity::short_peer_id;
use crate::net::peer_of_device;
use crate::state::fact::{ContextId, DeviceKey};
use crate::state::flow_budget::{BudgetPolicy, Epoch};

/// The ledgers as of one moment, with what is needed to say when they refill.
#[derive(Debug, Clone)]
pub struct BudgetReport {
    pub ledgers: KeptLedgers,
    pub policy: BudgetPolicy,
    pub now_ms: u64,
}

fn context_label(context: &ContextId) -> String {
    context.0[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn peer_label(device: &DeviceKey) -> String {
    match peer_of_device(device) {
        Some(peer) => short_peer_id(&peer),
        None => format!("{:?}", device),
    }
}

impl BudgetReport {
    fn epoch(&self) -> Epoch {
        self.ledgers.budgets.epoch()
    }

    /// The report as lines for the terminal.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let epoch_ms = self.policy.epoch_ms.max(1);
        let next = (self.epoch() + 1).saturating_mul(epoch_ms);
        let refill = next.saturating_sub(self.now_ms).div_ceil(1000);
        let _ = writeln!(
            out,
            "epoch        {} ({} s each); budgets refill in {refill} s",
            self.epoch(),
            epoch_ms / 1000
        );
        let epoch = self.epoch();
        let flows: Vec<_> = self.ledgers.budgets.iter().collect();
        if flows.is_empty() {
            out.push_str("sending      no budgets yet: a peer gets one when it joins a context\n");
        } else {
            out.push_str("sending      context       peer         left / limit\n");
            for ((context, peer), budget) in flows {
                let budget = budget.at(epoch);
                let _ = writeln!(
                    out,
                    "             {}  {:<12} {} / {}",
                    context_label(&context),
                    peer_label(&peer),
                    budget.remaining(),
                    budget.limit
                );
            }
        }
        let leakage: Vec<_> = self.ledgers.leakage.settled().collect();
        if !leakage.is_empty() {
            out.push_str("leakage      context       left external / neighbour / group\n");
            for (context, budget) in leakage {
                let left = budget.at(epoch).remaining();
                let _ = writeln!(
                    out,
                    "             {}  {} / {} / {}",
                    context_label(&context),
                    left.external,
                    left.neighbour,
                    left.group
                );
            }
        }
        let received: Vec<_> = self.ledgers.received.all().collect();
        if !received.is_empty() {
            out.push_str("receiving    peer         spent / limit this epoch, dropped in all\n");
            for (peer, counters) in received {
                let spent = if counters.epoch == epoch {
                    counters.spent
                } else {
                    0
                };
                let _ = writeln!(
                    out,
                    "             {:<12} {spent} / {}, {} dropped",
                    peer_label(&peer),
                    counters.limit,
                    counters.dropped + counters.delayed
                );
            }
        }
        out
    }
}
