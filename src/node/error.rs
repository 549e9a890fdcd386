//! What can go wrong when a front end asks the node for something.

use crate::net::NetError;
use crate::protocol::guard::Denial;
use crate::state::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("the node has stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("cannot sign the fact: {0}")]
    Fact(String),
    #[error("the clock is out of range: {0}")]
    Clock(String),
    #[error("not sent: {0}")]
    Denied(#[from] Denial),
    #[error("cannot serve the control socket: {0}")]
    Control(String),
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("the node listens on no address")]
    NotListening,
    /// An invitation, contact or name request refused: the message says why.
    #[error("{0}")]
    Refused(String),
}
