//! What `aura budget list` shows: for each context and peer what this device may still send,
//! each context's leakage, and what each peer sent this device; from the running node, or
//! from the store when none runs. Its view and text are the control protocol's
//! (`control::protocol::BudgetView`, `control::render`).

use super::guard::KeptLedgers;
use crate::state::flow_budget::BudgetPolicy;

/// The ledgers as of one moment, with what is needed to say when they refill.
#[derive(Debug, Clone)]
pub struct BudgetReport {
    pub ledgers: KeptLedgers,
    pub policy: BudgetPolicy,
    pub now_ms: u64,
}

impl BudgetReport {
    /// The report as lines for the terminal, as `aura budget list` prints them.
    pub fn text(&self) -> String {
        crate::control::render::budget_lines(&self.into())
    }
}
