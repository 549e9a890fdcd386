//! The CRDT coordinator: one device's replicated state, in one of three set-ups.
//!
//! - state-based ([`CrdtCoordinator::with_cv_state`]): whole states are exchanged and joined;
//! - delta-based ([`CrdtCoordinator::with_delta_threshold`]): local operations produce small
//!   deltas that are shipped instead of the state, and are folded into the state once enough
//!   of them pile up;
//! - meet-based ([`CrdtCoordinator::with_mv_state`]): constraints such as capabilities, which
//!   only narrow.
//!
//! The handler type is a type parameter, so asking a meet-based coordinator for its join state
//! does not compile. Protocols take a coordinator by value and hand back the updated one (see
//! `sync`), so a protocol run is a function from one state version to the next.

use super::fact::DeviceKey;
use super::semilattice::{Join, Meet};

/// The fewest deltas a delta-based coordinator buffers before compacting.
pub const MIN_DELTA_THRESHOLD: usize = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrdtCoordinator<H> {
    device: DeviceKey,
    handler: H,
}

impl<H> CrdtCoordinator<H> {
    pub fn device(&self) -> DeviceKey {
        self.device
    }

    pub fn into_handler(self) -> H {
        self.handler
    }
}

/// Holds a join-semilattice state and merges whole remote states into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvHandler<S> {
    state: S,
}

impl<S: Join> CvHandler<S> {
    pub fn get_state(&self) -> &S {
        &self.state
    }

    pub fn state_mut(&mut self) -> &mut S {
        &mut self.state
    }

    pub fn merge(&mut self, remote: &S) {
        self.state.join_assign(remote);
    }

    pub fn into_state(self) -> S {
        self.state
    }
}

impl<S: Join> CrdtCoordinator<CvHandler<S>> {
    pub fn with_cv_state(device: DeviceKey, state: S) -> Self {
        Self {
            device,
            handler: CvHandler { state },
        }
    }

    pub fn cv_handler(&self) -> &CvHandler<S> {
        &self.handler
    }

    pub fn cv_handler_mut(&mut self) -> &mut CvHandler<S> {
        &mut self.handler
    }
}

/// Holds a compacted state and the deltas applied since the last compaction.
///
/// The deltas double as the outbox: [`DeltaHandler::take_delta_group`] ships what peers have
/// not been sent yet as one joined delta. Compaction folds the buffer into the state once it
/// reaches the threshold, keeping reads cheap; deltas compacted before being taken are still
/// shipped, because the outbox is kept separately as one joined delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaHandler<S> {
    compacted: S,
    buffer: Vec<S>,
    outbox: Option<S>,
    threshold: usize,
}

impl<S: Join + Clone + Default> DeltaHandler<S> {
    /// Applies a delta produced by a local operation (or received from a peer).
    pub fn apply_delta(&mut self, delta: S) {
        match &mut self.outbox {
            Some(outbox) => outbox.join_assign(&delta),
            None => self.outbox = Some(delta.clone()),
        }
        self.buffer.push(delta);
        if self.buffer.len() >= self.threshold {
            self.compact();
        }
    }

    /// Folds every buffered delta into the compacted state.
    pub fn compact(&mut self) {
        for delta in self.buffer.drain(..) {
            self.compacted.join_assign(&delta);
        }
    }

    /// The current state: the compacted state joined with the buffered deltas.
    pub fn state(&self) -> S {
        let mut state = self.compacted.clone();
        for delta in &self.buffer {
            state.join_assign(delta);
        }
        state
    }

    /// The join of every delta applied since the last call, for sending to peers.
    pub fn take_delta_group(&mut self) -> Option<S> {
        self.outbox.take()
    }

    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    pub fn threshold(&self) -> usize {
        self.threshold
    }
}

impl<S: Join + Clone + Default> CrdtCoordinator<DeltaHandler<S>> {
    /// A delta-based coordinator starting from the empty state; `threshold` is raised to
    /// [`MIN_DELTA_THRESHOLD`] if lower.
    pub fn with_delta_threshold(device: DeviceKey, threshold: usize) -> Self {
        Self {
            device,
            handler: DeltaHandler {
                compacted: S::default(),
                buffer: Vec::new(),
                outbox: None,
                threshold: threshold.max(MIN_DELTA_THRESHOLD),
            },
        }
    }

    pub fn delta_handler(&self) -> &DeltaHandler<S> {
        &self.handler
    }

    pub fn delta_handler_mut(&mut self) -> &mut DeltaHandler<S> {
        &mut self.handler
    }
}

/// Holds a meet-semilattice value that every new constraint narrows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MvHandler<C> {
    constraints: C,
}

impl<C: Meet> MvHandler<C> {
    pub fn get_state(&self) -> &C {
        &self.constraints
    }

    /// Narrows the held value by `constraint`.
    pub fn refine(&mut self, constraint: &C) {
        self.constraints.meet_assign(constraint);
    }
}

impl<C: Meet> CrdtCoordinator<MvHandler<C>> {
    pub fn with_mv_state(device: DeviceKey, constraints: C) -> Self {
        Self {
            device,
            handler: MvHandler { constraints },
        }
    }

    pub fn mv_handler(&self) -> &MvHandler<C> {
        &self.handler
    }

    pub fn mv_handler_mut(&mut self) -> &mut MvHandler<C> {
        &mut self.handler
    }
}
