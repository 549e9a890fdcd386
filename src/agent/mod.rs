//! The agent: the task between the UI or CLI and the network node. It owns the store and the
//! sync state machines ([`task`]), charges every outgoing message to the guard chain and
//! every incoming one to its sender's budget ([`guard`]), runs choreographies over libp2p
//! streams as tasks ([`session`]), and answers the CLI over the profile's control socket
//! ([`control`]).

pub mod budget_report;
pub mod guard;
pub mod session;
pub mod task;

pub use budget_report::BudgetReport;
pub use guard::{GuardConfig, GuardCounters, KeptLedgers, NodeGuard};
pub use task::AgentConfig;
pub(crate) use task::spawn;
