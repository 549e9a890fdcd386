//! Session types: a channel endpoint whose type is the rest of its protocol.
//!
//! Every step consumes the endpoint and returns the endpoint of the next step, so a role can
//! only do what its protocol allows next: sending where it must receive is a type error. A run
//! must also hand back the [`Closed`] token, which only [`Chan::close`] on an [`End`] endpoint
//! creates (its field is private), so a role that stops early, dropping its endpoint before
//! `End`, has no token to return and does not type-check. Failing with an error stays possible:
//! an aborted session is a typed error, never a silent stop.
//!
//! Steps are `async`: an endpoint awaits its peer's message, so a session runs as a task.

use std::marker::PhantomData;

use super::annotation::{Annotation, Payload, PayloadError};
use super::transport::{Outgoing, SessionError, Transport};

/// Send one `M`, then continue as `S`.
#[derive(Debug)]
pub struct Send<M, S>(PhantomData<(M, S)>);
/// Receive one `M`, then continue as `S`.
#[derive(Debug)]
pub struct Recv<M, S>(PhantomData<(M, S)>);
/// The protocol is over: the endpoint may only be closed.
#[derive(Debug)]
pub struct End;
/// This role decides: continue as `L` or as `R`.
#[derive(Debug)]
pub struct Choose<L, R>(PhantomData<(L, R)>);
/// The peer decides; this role follows as `L` or as `R`.
#[derive(Debug)]
pub struct Offer<L, R>(PhantomData<(L, R)>);
/// A named loop: continue as `P::Body`, which may name `Rec<P>` again.
///
/// Rust type aliases cannot refer to themselves, so a loop is a named marker type whose body
/// is an associated type: the name breaks the cycle.
#[derive(Debug)]
pub struct Rec<P>(PhantomData<P>);

/// The body of a named loop.
pub trait Loop {
    type Body;
}

/// A message a choreography declares: what it is called, its annotations, its encoding.
pub trait Message: std::marker::Send + Sized {
    type Payload: Payload;
    fn annotation() -> &'static Annotation;
    fn payload(&self) -> &Self::Payload;
    fn from_payload(payload: Self::Payload) -> Self;

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.payload().encode(&mut out);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        Self::Payload::decode(bytes).map(Self::from_payload)
    }
}

/// Which branch a [`Choose`] took, as it travels to the [`Offer`] side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branch<L, R> {
    Left(L),
    Right(R),
}

/// Proof that a session reached [`End`]. Only [`Chan::close`] makes one.
#[derive(Debug)]
#[must_use]
pub struct Closed {
    _private: (),
}

/// An endpoint over transport `T` that must follow protocol `S`.
#[derive(Debug)]
#[must_use = "a session endpoint must be driven to End and closed"]
pub struct Chan<T, S> {
    transport: T,
    _protocol: PhantomData<S>,
}

impl<T: Transport, S> Chan<T, S> {
    /// Starts protocol `S` over `transport`.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            _protocol: PhantomData,
        }
    }

    fn next<S2>(self) -> Chan<T, S2> {
        Chan {
            transport: self.transport,
            _protocol: PhantomData,
        }
    }

    /// The transport, for reading its state between steps (it cannot send anything).
    pub fn transport(&self) -> &T {
        &self.transport
    }
}

impl<T: Transport, M: Message, S> Chan<T, Send<M, S>> {
    pub async fn send(mut self, message: M) -> Result<Chan<T, S>, SessionError> {
        let payload = message.encode();
        self.transport
            .send(Outgoing {
                annotation: M::annotation(),
                padded_size: payload.len(),
                payload,
            })
            .await?;
        Ok(self.next())
    }
}

impl<T: Transport, M: Message, S> Chan<T, Recv<M, S>> {
    pub async fn recv(mut self) -> Result<(M, Chan<T, S>), SessionError> {
        let received = self.transport.recv().await?;
        let expected = M::annotation().message;
        if received.message != expected {
            return Err(SessionError::UnexpectedMessage {
                expected,
                got: received.message,
            });
        }
        let message = M::decode(&received.payload)?;
        Ok((message, self.next()))
    }
}

impl<T: Transport, L, R> Chan<T, Choose<L, R>> {
    pub async fn left(mut self) -> Result<Chan<T, L>, SessionError> {
        self.transport.send_choice(true).await?;
        Ok(self.next())
    }

    pub async fn right(mut self) -> Result<Chan<T, R>, SessionError> {
        self.transport.send_choice(false).await?;
        Ok(self.next())
    }
}

/// The endpoint an [`Offer`] continues with, in whichever branch the peer chose.
pub type Offered<T, L, R> = Branch<Chan<T, L>, Chan<T, R>>;

impl<T: Transport, L, R> Chan<T, Offer<L, R>> {
    pub async fn offer(mut self) -> Result<Offered<T, L, R>, SessionError> {
        if self.transport.recv_choice().await? {
            Ok(Branch::Left(self.next()))
        } else {
            Ok(Branch::Right(self.next()))
        }
    }
}

impl<T: Transport, P: Loop> Chan<T, Rec<P>> {
    /// Enters (or re-enters) the loop's body.
    pub fn enter(self) -> Chan<T, P::Body> {
        self.next()
    }
}

impl<T: Transport> Chan<T, End> {
    /// Ends the session; the token is what a role's run function must return.
    pub fn close(self) -> (Closed, T) {
        (Closed { _private: () }, self.transport)
    }
}
