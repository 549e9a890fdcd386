//! Session types: a channel endpoint whose type is the rest of its protocol.
//!
//! Every step consumes the endpoint and returns the endpoint of the next step, so a role can
//! only do what its protocol allows next: sending where it must receive is a type error. A run
//! must also hand back the [`Closed`] token, which only [`Chan::close`] on an [`End`] endpoint
//! creates (its field is private), so a role that stops early, dropping its endpoint before
//! `End`, has no token to return and does not type-check. Failing with an error stays possible:
//! an aborted session is a typed error, never a silent stop.

use std::any::Any;
use std::marker::PhantomData;

use super::annotation::Annotation;
use super::transport::{SessionError, Transport, TransportMessage};

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

/// A message a choreography declares: what it is called, its annotations, its size on the wire.
pub trait Message: Any + std::marker::Send + Sized {
    fn annotation() -> &'static Annotation;
    /// Bytes this message takes on the wire, before padding.
    fn wire_size(&self) -> usize;
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
    pub fn send(mut self, message: M) -> Result<Chan<T, S>, SessionError> {
        let size = message.wire_size();
        self.transport.send(TransportMessage {
            annotation: M::annotation(),
            size,
            payload: Box::new(message),
        })?;
        Ok(self.next())
    }
}

impl<T: Transport, M: Message, S> Chan<T, Recv<M, S>> {
    pub fn recv(mut self) -> Result<(M, Chan<T, S>), SessionError> {
        let received = self.transport.recv()?;
        match received.payload.downcast::<M>() {
            Ok(message) => Ok((*message, self.next())),
            Err(_) => Err(SessionError::UnexpectedMessage {
                expected: M::annotation().message,
                got: received.annotation.message,
            }),
        }
    }
}

impl<T: Transport, L, R> Chan<T, Choose<L, R>> {
    pub fn left(mut self) -> Result<Chan<T, L>, SessionError> {
        self.transport.send_choice(true)?;
        Ok(self.next())
    }

    pub fn right(mut self) -> Result<Chan<T, R>, SessionError> {
        self.transport.send_choice(false)?;
        Ok(self.next())
    }
}

/// The endpoint an [`Offer`] continues with, in whichever branch the peer chose.
pub type Offered<T, L, R> = Branch<Chan<T, L>, Chan<T, R>>;

impl<T: Transport, L, R> Chan<T, Offer<L, R>> {
    pub fn offer(mut self) -> Result<Offered<T, L, R>, SessionError> {
        if self.transport.recv_choice()? {
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
