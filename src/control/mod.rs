//! The control protocol: how the CLI asks for what a node knows, and how it gets the same
//! answer from the store when no node runs.
//!
//! While a node runs (the TUI or `aura daemon`) it holds the profile's store and answers on a
//! Unix socket in the profile folder (`node.sock`, mode 0600); when none runs, the CLI opens
//! the store itself. Either way a command is one [`ControlRequest`] answered by one
//! [`ControlResponse`], through the same checks ([`answer`]), and printed by one renderer
//! ([`render`]).
//!
//! - [`protocol`] — the requests and responses, and their versioned, capped frames.
//! - [`answer`] — what both answerers share: validation, matching, failures.
//! - [`server`] — the node's side of the socket, answering through a `NodeClient`.
//! - [`client`] — the CLI's side of the socket.
//! - [`offline`] — answering from the store when no node runs.
//! - [`render`] — the text the CLI prints for each response.
//! - [`views`] — the node's and the store's types as the protocol's views.

pub mod answer;
pub mod client;
pub mod offline;
pub mod protocol;
pub mod render;
pub mod render_group;
pub mod render_invite;
pub mod server;
pub mod views;

pub use protocol::{ControlFailure, ControlRequest, ControlResponse, PROTOCOL_VERSION};
pub use server::{ControlServer, NodeIdentity, serve};
