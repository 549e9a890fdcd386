//! The peers a profile keeps in touch with, as the store holds them: the addresses the user
//! saved, and the addresses peers reported about themselves. One place reads and changes them,
//! so that the running node and the CLI without a node do the same.

use std::collections::HashSet;

use libp2p::{Multiaddr, PeerId};

use crate::net::peer_addr::PeerAddr;
use crate::state::{Store, StoreError};

/// What `aura peer remove` asked for: one saved address, or every address of one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedTarget {
    /// An address as the store keeps it (normalised by parsing).
    Addr(String),
    Peer(PeerId),
}

impl SavedTarget {
    /// A peer id, or an address; `None` for text that is neither.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(peer) = text.parse::<PeerId>() {
            return Some(Self::Peer(peer));
        }
        text.parse::<Multiaddr>()
            .ok()
            .map(|addr| Self::Addr(addr.to_string()))
    }

    /// The address or the peer id, as text.
    pub fn text(&self) -> String {
        match self {
            Self::Addr(addr) => addr.clone(),
            Self::Peer(peer) => peer.to_base58(),
        }
    }

    /// Whether the saved address `saved` is one this target names.
    pub fn matches(&self, saved: &str) -> bool {
        match self {
            Self::Addr(addr) => saved == addr,
            Self::Peer(peer) => peer_of(saved) == Some(*peer),
        }
    }
}

/// The peer a saved address ends with, if it parses.
pub fn peer_of(saved: &str) -> Option<PeerId> {
    saved
        .parse::<Multiaddr>()
        .ok()
        .and_then(PeerAddr::from_multiaddr)
        .map(|addr| addr.peer())
}

/// What a removal did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// Saved addresses removed.
    pub addrs: u64,
    /// Peers with no saved address left: no longer kept in touch with, and the addresses
    /// they reported forgotten too.
    pub forgotten: Vec<PeerId>,
}

/// Removes the saved addresses `target` names.
pub fn remove(store: &Store, target: &SavedTarget) -> Result<Removed, StoreError> {
    let mut removed = Removed::default();
    let mut touched = HashSet::new();
    let mut kept = HashSet::new();
    for (addr, _) in store.peer_addr_entries()? {
        if target.matches(&addr) && store.remove_peer_addr(&addr)? {
            removed.addrs += 1;
            touched.extend(peer_of(&addr));
        } else {
            kept.extend(peer_of(&addr));
        }
    }
    let mut forgotten: Vec<PeerId> = touched.difference(&kept).copied().collect();
    forgotten.sort();
    for peer in &forgotten {
        store.forget_peer_addrs(&peer.to_base58())?;
    }
    removed.forgotten = forgotten;
    Ok(removed)
}

/// The addresses the user saved that name a peer, for the node to keep in touch with.
pub fn saved(store: &Store) -> Result<Vec<PeerAddr>, StoreError> {
    Ok(store
        .peer_addrs()?
        .into_iter()
        .filter_map(|addr| match addr.parse() {
            Ok(addr) => PeerAddr::from_multiaddr(addr),
            Err(err) => {
                tracing::warn!(%addr, %err, "a saved peer address does not parse");
                None
            }
        })
        .collect())
}

/// The addresses peers reported about themselves, as kept; rows that do not parse are
/// skipped (the store checked their size, not their syntax).
pub fn known(store: &Store) -> Result<Vec<(PeerId, Vec<Multiaddr>)>, StoreError> {
    Ok(store
        .known_peer_addrs()?
        .into_iter()
        .filter_map(|(peer, addrs)| {
            let peer = peer.parse::<PeerId>().ok()?;
            let addrs: Vec<Multiaddr> = addrs.iter().filter_map(|a| a.parse().ok()).collect();
            (!addrs.is_empty()).then_some((peer, addrs))
        })
        .collect())
}

/// Keeps the addresses `peer` reported, replacing what it reported before.
pub fn record(
    store: &Store,
    peer: &PeerId,
    addrs: &[Multiaddr],
    now_ms: u64,
) -> Result<(), StoreError> {
    let addrs: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    store.record_peer_addrs(&peer.to_base58(), &addrs, now_ms)
}
