//! The agent: the node's middle layer between the front ends and the network. Its policies
//! are one sans-IO state machine ([`core`]: inputs and the clock in, effects out), driven by a
//! thin async task ([`shell`]) that owns the store, the network handle, the clock, the RNG and
//! the session tasks. Every outgoing message is charged to the guard chain and every incoming
//! one to its sender's budget ([`guard`]); choreographies run over libp2p streams as tasks
//! ([`session`], [`relationship_session`]). The CLI reaches it through the control socket ([`crate::control`]).

pub mod budget_report;
pub mod core;
pub mod guard;
pub mod relationship_session;
pub mod session;
mod shell;

pub use budget_report::BudgetReport;
pub use guard::{GuardConfig, GuardCounters, KeptLedgers, NodeGuard};
pub use shell::AgentConfig;
pub(crate) use shell::spawn;
