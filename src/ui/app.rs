//! The view model: everything the screen shows, and nothing that needs I/O to change. `Model`
//! is what every screen may read (who this device is, what the node reported); `App` adds the
//! screen and the overlays stacked over it.

use libp2p::PeerId;

use super::relations::{MAX_NOTICES, Relations};
use super::screen::Layer;
use super::screens::MainScreen;
use super::text::sanitize;
use crate::net::NetworkStatus;
use crate::net::peer_addr::PeerAddr;
use crate::node::{PeerAdded, Reach};

/// Smallest terminal the layout is designed for; below it a notice replaces the screen.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;

/// How many recent "add a peer" attempts the network screen keeps.
pub const MAX_SHOWN_ADDS: usize = 3;

/// A group as the sidebar lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    pub name: String,
    pub unread: usize,
}

/// Who this device is, as shown on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySummary {
    pub profile: String,
    /// This device's peer id: shown, and an address naming it is refused as a peer's.
    pub peer_id: PeerId,
    pub short_peer_id: String,
    pub fingerprint: String,
}

/// The node's network as last reported, with every text from the network already sanitized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetView {
    /// Whether the node reported its network at all; until it does it is shown offline.
    pub reported: bool,
    pub listen_addrs: Vec<String>,
    /// Connected peers' ids.
    pub peers: Vec<String>,
    /// The latest attempts to add a peer, oldest first.
    pub adds: Vec<PeerAddAttempt>,
}

impl NetView {
    pub fn status(&self) -> NetworkStatus {
        if self.reported {
            NetworkStatus::Listening {
                peers: self.peers.len(),
            }
        } else {
            NetworkStatus::Offline
        }
    }

    /// `addr` was handed to the node; its answer is awaited.
    pub fn adding(&mut self, addr: PeerAddr) {
        self.adds.retain(|attempt| attempt.addr != addr);
        self.record(addr, AddState::Adding);
    }

    /// The node answered about `addr`; the reasons it gives are sanitized, since they may
    /// quote what a peer sent.
    pub fn added(&mut self, addr: PeerAddr, result: Result<PeerAdded, String>) {
        let state = match result {
            Ok(PeerAdded { fresh, reach, .. }) => match reach {
                Reach::Connected => AddState::Connected { fresh },
                Reach::NotYet(reason) => AddState::NotYet {
                    fresh,
                    reason: sanitize(&reason),
                },
                Reach::Offline => AddState::Saved { fresh },
            },
            Err(error) => AddState::Failed(sanitize(&error)),
        };
        match self.adds.iter_mut().find(|attempt| attempt.addr == addr) {
            Some(attempt) => attempt.state = state,
            None => self.record(addr, state),
        }
    }

    fn record(&mut self, addr: PeerAddr, state: AddState) {
        self.adds.push(PeerAddAttempt { addr, state });
        let excess = self.adds.len().saturating_sub(MAX_SHOWN_ADDS);
        self.adds.drain(..excess);
    }
}

/// A peer address the user asked to add, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddAttempt {
    pub addr: PeerAddr,
    pub state: AddState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddState {
    /// Asked; the node has not answered yet.
    Adding,
    Connected {
        /// `false` when the address was saved already.
        fresh: bool,
    },
    /// Saved, not reached yet; the node keeps trying. The reason of the last try.
    NotYet {
        fresh: bool,
        reason: String,
    },
    /// Saved; dialled when a node runs.
    Saved {
        fresh: bool,
    },
    Failed(String),
}

/// What every screen may read, and what events from outside the UI change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub identity: IdentitySummary,
    pub network: NetView,
    pub groups: Vec<GroupSummary>,
    /// Things the user should know about that are not errors, such as unknown config keys.
    pub notices: Vec<String>,
    /// Names, invitations and contacts as the node last reported them.
    pub relations: Relations,
    /// Terminal size in cells, as last reported.
    pub size: (u16, u16),
    /// Milliseconds since the Unix epoch as the shell last said; "next try in N s" counts
    /// from it, since drawing may not read the clock.
    pub now_ms: u64,
}

impl Model {
    /// Adds a notice, dropping the oldest beyond [`MAX_NOTICES`].
    pub fn notify(&mut self, notice: String) {
        self.notices.push(notice);
        let excess = self.notices.len().saturating_sub(MAX_NOTICES);
        self.notices.drain(..excess);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub model: Model,
    /// The screen under the overlays.
    pub screen: Layer,
    /// Overlays open over the screen, the focused one last.
    pub overlays: Vec<Layer>,
}

impl App {
    pub fn new(identity: IdentitySummary, size: (u16, u16)) -> Self {
        Self {
            model: Model {
                identity,
                network: NetView::default(),
                groups: Vec::new(),
                notices: Vec::new(),
                relations: Relations::default(),
                size,
                now_ms: 0,
            },
            screen: MainScreen::default().into(),
            overlays: Vec::new(),
        }
    }

    /// The layer keys go to: the top overlay, or the screen when none is open.
    pub fn focused(&self) -> &Layer {
        self.overlays.last().unwrap_or(&self.screen)
    }

    /// The focused layer and the model, borrowed apart so that the layer can change both.
    pub fn focused_mut(&mut self) -> (&mut Layer, &mut Model) {
        let layer = match self.overlays.last_mut() {
            Some(overlay) => overlay,
            None => &mut self.screen,
        };
        (layer, &mut self.model)
    }

    /// Whether a text field has focus: then keys that type a character are text.
    pub fn typing(&self) -> bool {
        self.focused().text_field().is_some()
    }

    pub fn too_small(&self) -> bool {
        self.model.size.0 < MIN_WIDTH || self.model.size.1 < MIN_HEIGHT
    }
}
