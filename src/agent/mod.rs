//! The agent: the task between the UI or CLI and the network node. It owns the store and the
//! sync state machines ([`task`]), sends every outgoing message through one gate
//! ([`guard`]), and answers the CLI over the profile's control socket ([`control`]).

pub mod control;
pub mod guard;
pub mod task;

pub use guard::{AdmitAll, GuardDenied, OutboundGuard, OutboundKind};
pub use task::{AgentConfig, AgentError, AgentEvent, AgentHandle, NodeStatus, spawn};
