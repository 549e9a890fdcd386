//! A transport that runs the guard chain before every send.
//!
//! A message reaches the inner transport only after [`GuardState::authorize`] charged for it;
//! a denied send is not handed over, and the peer gets an abort carrying the reason, so both
//! roles stop with the same typed [`Denial`].

use super::guard::{Denial, GuardState, SendRequest};
use super::transport::{SessionError, Transport, TransportMessage};
use crate::state::fact::{ContextId, DeviceKey};
use crate::state::leakage::{MessageClass, Relationship, Timing};

/// Who a session talks to, and how: what a [`SendRequest`] needs besides the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub context: ContextId,
    pub peer: DeviceKey,
    pub relationship: Relationship,
    pub timing: Timing,
}

#[derive(Debug)]
pub struct GuardedTransport<'s, T> {
    inner: T,
    state: &'s mut GuardState,
    route: Route,
}

impl<'s, T: Transport> GuardedTransport<'s, T> {
    pub fn new(inner: T, state: &'s mut GuardState, route: Route) -> Self {
        Self {
            inner,
            state,
            route,
        }
    }

    pub fn state(&self) -> &GuardState {
        self.state
    }

    pub fn into_inner(self) -> T {
        self.inner
    }

    fn deny(&mut self, denial: Denial) -> SessionError {
        self.inner.abort(denial.clone());
        SessionError::Denied(denial)
    }
}

impl<T: Transport> Transport for GuardedTransport<'_, T> {
    fn send(&mut self, message: TransportMessage) -> Result<(), SessionError> {
        let request = SendRequest {
            context: self.route.context,
            peer: self.route.peer,
            capability: message.annotation.guard_capability,
            flow_cost: message.annotation.flow_cost,
            size: message.size,
            class: MessageClass::Essential,
            relationship: self.route.relationship,
            timing: self.route.timing,
            journal_facts: message.annotation.journal_facts,
        };
        match self.state.authorize(&request) {
            Ok(_) => self.inner.send(message),
            Err(denial) => Err(self.deny(denial)),
        }
    }

    fn recv(&mut self) -> Result<TransportMessage, SessionError> {
        self.inner.recv()
    }

    fn send_choice(&mut self, left: bool) -> Result<(), SessionError> {
        self.inner.send_choice(left)
    }

    fn recv_choice(&mut self) -> Result<bool, SessionError> {
        self.inner.recv_choice()
    }

    fn abort(&mut self, reason: Denial) {
        self.inner.abort(reason);
    }
}
