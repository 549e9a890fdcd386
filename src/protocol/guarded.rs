//! A transport that runs the guard chain before every send.
//!
//! A message reaches the inner transport only after the guard chain charged for it, padded
//! to the size the chain chose; a denied send is not handed over, and the peer gets an abort
//! carrying the reason, so both roles stop: the sender with the typed [`Denial`], the peer
//! with its text.

use std::sync::{Arc, Mutex, PoisonError};

use super::guard::{Denial, Effects, GuardState, SendRequest};
use super::transport::{Incoming, Outgoing, SessionError, Transport};
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

/// Where a guarded transport finds the guard state: borrowed by one session (tests, pure
/// runs), or shared between the agent and the sessions it runs as tasks.
pub trait GuardAccess: Send {
    /// Evaluates the chain and, if every guard passed, performs the effects.
    fn authorize(&mut self, request: &SendRequest<'_>) -> Result<Effects, Denial>;
}

impl GuardAccess for &mut GuardState {
    fn authorize(&mut self, request: &SendRequest<'_>) -> Result<Effects, Denial> {
        GuardState::authorize(self, request)
    }
}

/// The agent's guard state, shared with its session tasks. The lock is held only for one
/// evaluation and its effects, never across an await.
#[derive(Debug, Clone)]
pub struct SharedGuard(Arc<Mutex<GuardState>>);

impl SharedGuard {
    pub fn new(state: GuardState) -> Self {
        Self(Arc::new(Mutex::new(state)))
    }

    /// Runs `f` on the state. A panic elsewhere while the lock was held leaves a state that
    /// `apply` changed all or nothing of, so a poisoned lock is still consistent.
    pub fn with<R>(&self, f: impl FnOnce(&mut GuardState) -> R) -> R {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }
}

impl GuardAccess for SharedGuard {
    fn authorize(&mut self, request: &SendRequest<'_>) -> Result<Effects, Denial> {
        self.with(|state| state.authorize(request))
    }
}

#[derive(Debug)]
pub struct GuardedTransport<T, G> {
    inner: T,
    guard: G,
    route: Route,
}

impl<T: Transport, G: GuardAccess> GuardedTransport<T, G> {
    pub fn new(inner: T, guard: G, route: Route) -> Self {
        Self {
            inner,
            guard,
            route,
        }
    }

    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Transport, G: GuardAccess> Transport for GuardedTransport<T, G> {
    async fn send(&mut self, mut message: Outgoing) -> Result<(), SessionError> {
        let request = SendRequest {
            context: self.route.context,
            peer: self.route.peer,
            capability: message.annotation.guard_capability,
            flow_cost: message.annotation.flow_cost,
            size: message.payload.len(),
            class: MessageClass::Essential,
            relationship: self.route.relationship,
            timing: self.route.timing,
            journal_facts: message.annotation.journal_facts,
        };
        match self.guard.authorize(&request) {
            Ok(effects) => {
                message.padded_size = effects.padded_size;
                self.inner.send(message).await
            }
            Err(denial) => {
                self.inner.abort(&denial).await;
                Err(SessionError::Denied(denial))
            }
        }
    }

    async fn recv(&mut self) -> Result<Incoming, SessionError> {
        self.inner.recv().await
    }

    async fn send_choice(&mut self, left: bool) -> Result<(), SessionError> {
        self.inner.send_choice(left).await
    }

    async fn recv_choice(&mut self) -> Result<bool, SessionError> {
        self.inner.recv_choice().await
    }

    async fn abort(&mut self, reason: &Denial) {
        self.inner.abort(reason).await;
    }
}
