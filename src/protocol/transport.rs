//! What a session endpoint needs from the network, and an in-memory pair of endpoints.
//!
//! The in-memory channel passes messages as values (`Box<dyn Any>`), not bytes: the wire
//! encoding belongs to the network binding, while tests here exercise the protocols and the
//! guard chain without one.

use std::any::Any;
use std::sync::mpsc;

use super::annotation::Annotation;
use super::guard::Denial;

/// A message on its way through a transport.
#[derive(Debug)]
pub struct TransportMessage {
    pub annotation: &'static Annotation,
    /// Bytes on the wire, before padding.
    pub size: usize,
    pub payload: Box<dyn Any + std::marker::Send>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the send was refused: {0}")]
    Denied(Denial),
    #[error("the peer aborted the session: {0}")]
    Aborted(Denial),
    #[error("the peer is gone")]
    Disconnected,
    #[error("expected a {expected} message, got {got}")]
    UnexpectedMessage {
        expected: &'static str,
        got: &'static str,
    },
    #[error("expected a branch choice, got {got}")]
    ExpectedChoice { got: &'static str },
}

/// Moves messages between two roles. Implementations decide what "send" costs: the guarded
/// transport runs the guard chain first.
pub trait Transport {
    fn send(&mut self, message: TransportMessage) -> Result<(), SessionError>;
    fn recv(&mut self) -> Result<TransportMessage, SessionError>;
    /// Sends which branch a choice took.
    fn send_choice(&mut self, left: bool) -> Result<(), SessionError>;
    fn recv_choice(&mut self) -> Result<bool, SessionError>;
    /// Tells the peer the session ends here and why: a control signal, like a stream reset
    /// with a code, so it is not charged to any budget.
    fn abort(&mut self, reason: Denial);
}

#[derive(Debug)]
enum Signal {
    Message(TransportMessage),
    Choice(bool),
    Abort(Denial),
}

/// One end of an in-memory channel.
#[derive(Debug)]
pub struct MemoryTransport {
    outbox: mpsc::Sender<Signal>,
    inbox: mpsc::Receiver<Signal>,
    /// How many messages were handed to this end for sending, for tests to inspect.
    pub sent: usize,
}

impl MemoryTransport {
    /// Two connected ends.
    pub fn pair() -> (Self, Self) {
        let (a_tx, a_rx) = mpsc::channel();
        let (b_tx, b_rx) = mpsc::channel();
        (
            Self {
                outbox: a_tx,
                inbox: b_rx,
                sent: 0,
            },
            Self {
                outbox: b_tx,
                inbox: a_rx,
                sent: 0,
            },
        )
    }

    fn push(&self, signal: Signal) -> Result<(), SessionError> {
        self.outbox
            .send(signal)
            .map_err(|_| SessionError::Disconnected)
    }

    fn pull(&self) -> Result<Signal, SessionError> {
        match self.inbox.recv() {
            Ok(Signal::Abort(reason)) => Err(SessionError::Aborted(reason)),
            Ok(signal) => Ok(signal),
            Err(_) => Err(SessionError::Disconnected),
        }
    }
}

impl Transport for MemoryTransport {
    fn send(&mut self, message: TransportMessage) -> Result<(), SessionError> {
        self.sent += 1;
        self.push(Signal::Message(message))
    }

    fn recv(&mut self) -> Result<TransportMessage, SessionError> {
        match self.pull()? {
            Signal::Message(message) => Ok(message),
            Signal::Choice(_) => Err(SessionError::UnexpectedMessage {
                expected: "message",
                got: "branch choice",
            }),
            Signal::Abort(reason) => Err(SessionError::Aborted(reason)),
        }
    }

    fn send_choice(&mut self, left: bool) -> Result<(), SessionError> {
        self.push(Signal::Choice(left))
    }

    fn recv_choice(&mut self) -> Result<bool, SessionError> {
        match self.pull()? {
            Signal::Choice(left) => Ok(left),
            Signal::Message(message) => Err(SessionError::ExpectedChoice {
                got: message.annotation.message,
            }),
            Signal::Abort(reason) => Err(SessionError::Aborted(reason)),
        }
    }

    fn abort(&mut self, reason: Denial) {
        // A peer that is already gone needs no notice.
        let _ = self.push(Signal::Abort(reason));
    }
}
