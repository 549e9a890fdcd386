//! The view model: everything the screen shows, and nothing that needs I/O to change.

use crate::net::NetworkStatus;

/// Smallest terminal the layout is designed for; below it a notice replaces the screen.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;

/// Which pane receives navigation keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Sidebar,
    Conversation,
}

impl Focus {
    pub fn next(self) -> Self {
        match self {
            Self::Sidebar => Self::Conversation,
            Self::Conversation => Self::Sidebar,
        }
    }
}

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
    pub peer_id: String,
    pub short_peer_id: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub identity: IdentitySummary,
    pub network: NetworkStatus,
    pub groups: Vec<GroupSummary>,
    /// Index into `groups`; `None` when the list is empty.
    pub selected_group: Option<usize>,
    pub focus: Focus,
    pub help_open: bool,
    /// The network screen: listen addresses and connected peers.
    pub network_open: bool,
    /// The node's listen addresses, as last reported.
    pub listen_addrs: Vec<String>,
    /// Connected peers' ids, as last reported.
    pub peers: Vec<String>,
    /// Things the user should know about that are not errors, such as unknown config keys.
    pub notices: Vec<String>,
    /// Terminal size in cells, as last reported.
    pub size: (u16, u16),
}

impl App {
    pub fn new(identity: IdentitySummary, size: (u16, u16)) -> Self {
        Self {
            identity,
            network: NetworkStatus::Offline,
            groups: Vec::new(),
            selected_group: None,
            focus: Focus::default(),
            help_open: false,
            network_open: false,
            listen_addrs: Vec::new(),
            peers: Vec::new(),
            notices: Vec::new(),
            size,
        }
    }

    pub fn overlay_open(&self) -> bool {
        self.help_open || self.network_open
    }

    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_WIDTH || self.size.1 < MIN_HEIGHT
    }
}
