//! What a session endpoint needs from the network, and an in-memory pair of endpoints.
//!
//! A transport moves encoded messages, branch choices and aborts between two roles; it is
//! asynchronous so that a session is a task awaiting its peer, not a thread blocked on it.
//! [`super::wire::StreamTransport`] carries them over a byte stream (a libp2p stream in the
//! node); [`MemoryTransport`] passes them through channels, for tests of the protocols and
//! the guard chain without a network.

use std::future::Future;

use tokio::sync::mpsc;

use super::annotation::{Annotation, PayloadError};
use super::guard::Denial;

/// A message on its way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub annotation: &'static Annotation,
    pub payload: Vec<u8>,
    /// The size the message is padded to on the wire: the guard chain sets it to its size
    /// bucket, so an observer of the stream learns the bucket, not the length.
    pub padded_size: usize,
}

/// A message as it arrived: its name (checked against what the session expects) and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub message: String,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the send was refused: {0}")]
    Denied(Denial),
    /// The peer ended the session and said why; its words, capped, not a typed reason.
    #[error("the peer aborted the session: {0}")]
    Aborted(String),
    #[error("the peer is gone")]
    Disconnected,
    #[error("the peer said nothing for too long")]
    TimedOut,
    #[error("expected a {expected} message, got {got}")]
    UnexpectedMessage { expected: &'static str, got: String },
    #[error("expected a branch choice, got {got}")]
    ExpectedChoice { got: String },
    #[error("a malformed message: {0}")]
    Malformed(String),
}

impl From<PayloadError> for SessionError {
    fn from(err: PayloadError) -> Self {
        Self::Malformed(err.to_string())
    }
}

impl SessionError {
    /// Whether the peer broke the protocol (rather than ran out of budget, left or was slow):
    /// what the node counts against a peer.
    pub fn is_violation(&self) -> bool {
        matches!(
            self,
            Self::UnexpectedMessage { .. } | Self::ExpectedChoice { .. } | Self::Malformed(_)
        )
    }
}

/// Moves messages between two roles. Implementations decide what "send" costs: the guarded
/// transport runs the guard chain first.
pub trait Transport: Send {
    fn send(&mut self, message: Outgoing) -> impl Future<Output = Result<(), SessionError>> + Send;
    fn recv(&mut self) -> impl Future<Output = Result<Incoming, SessionError>> + Send;
    /// Sends which branch a choice took.
    fn send_choice(&mut self, left: bool) -> impl Future<Output = Result<(), SessionError>> + Send;
    fn recv_choice(&mut self) -> impl Future<Output = Result<bool, SessionError>> + Send;
    /// Tells the peer the session ends here and why: a control signal, like a stream reset
    /// with a code, so it is not charged to any budget.
    fn abort(&mut self, reason: &Denial) -> impl Future<Output = ()> + Send;
}

#[derive(Debug)]
enum Signal {
    Message(Incoming),
    Choice(bool),
    Abort(String),
}

/// One end of an in-memory channel.
#[derive(Debug)]
pub struct MemoryTransport {
    outbox: mpsc::UnboundedSender<Signal>,
    inbox: mpsc::UnboundedReceiver<Signal>,
    /// How many messages were handed to this end for sending, for tests to inspect.
    pub sent: usize,
    /// The padded size of each message sent, in order.
    pub padded_sizes: Vec<usize>,
}

impl MemoryTransport {
    /// Two connected ends.
    pub fn pair() -> (Self, Self) {
        let (a_tx, a_rx) = mpsc::unbounded_channel();
        let (b_tx, b_rx) = mpsc::unbounded_channel();
        (
            Self {
                outbox: a_tx,
                inbox: b_rx,
                sent: 0,
                padded_sizes: Vec::new(),
            },
            Self {
                outbox: b_tx,
                inbox: a_rx,
                sent: 0,
                padded_sizes: Vec::new(),
            },
        )
    }

    fn push(&self, signal: Signal) -> Result<(), SessionError> {
        self.outbox
            .send(signal)
            .map_err(|_| SessionError::Disconnected)
    }

    async fn pull(&mut self) -> Result<Signal, SessionError> {
        match self.inbox.recv().await {
            Some(Signal::Abort(reason)) => Err(SessionError::Aborted(reason)),
            Some(signal) => Ok(signal),
            None => Err(SessionError::Disconnected),
        }
    }
}

impl Transport for MemoryTransport {
    async fn send(&mut self, message: Outgoing) -> Result<(), SessionError> {
        self.sent += 1;
        self.padded_sizes.push(message.padded_size);
        self.push(Signal::Message(Incoming {
            message: message.annotation.message.to_owned(),
            payload: message.payload,
        }))
    }

    async fn recv(&mut self) -> Result<Incoming, SessionError> {
        match self.pull().await? {
            Signal::Message(message) => Ok(message),
            Signal::Choice(_) => Err(SessionError::UnexpectedMessage {
                expected: "message",
                got: "branch choice".to_owned(),
            }),
            Signal::Abort(reason) => Err(SessionError::Aborted(reason)),
        }
    }

    async fn send_choice(&mut self, left: bool) -> Result<(), SessionError> {
        self.push(Signal::Choice(left))
    }

    async fn recv_choice(&mut self) -> Result<bool, SessionError> {
        match self.pull().await? {
            Signal::Choice(left) => Ok(left),
            Signal::Message(message) => Err(SessionError::ExpectedChoice {
                got: message.message,
            }),
            Signal::Abort(reason) => Err(SessionError::Aborted(reason)),
        }
    }

    async fn abort(&mut self, reason: &Denial) {
        // A peer that is already gone needs no notice.
        let _ = self.push(Signal::Abort(reason.to_string()));
    }
}
