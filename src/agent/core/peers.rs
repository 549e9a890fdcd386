//! Who is connected, who takes part in which context, and the device key each peer id names.

use std::collections::{HashMap, HashSet};

use libp2p::PeerId;

use crate::net::device_of;
use crate::state::fact::{ContextId, DeviceKey};

/// Device keys remembered at once; the connection limits keep connected peers far fewer.
pub const MAX_REMEMBERED_DEVICES: usize = 1024;

#[derive(Debug, Default)]
pub struct Peers {
    connected: Vec<PeerId>,
    /// Peers known to be subscribed to each context's topic.
    subscribers: HashMap<ContextId, HashSet<PeerId>>,
    /// Device keys of connected peers, decoded once: decoding means decompressing a curve
    /// point, which gossip would otherwise pay for every message.
    devices: HashMap<PeerId, DeviceKey>,
}

impl Peers {
    pub fn connected(&self) -> &[PeerId] {
        &self.connected
    }

    /// The peers connected now; what is known of the others is forgotten.
    pub fn set_connected(&mut self, peers: Vec<PeerId>) {
        for set in self.subscribers.values_mut() {
            set.retain(|peer| peers.contains(peer));
        }
        self.subscribers.retain(|_, set| !set.is_empty());
        self.devices.retain(|peer, _| peers.contains(peer));
        self.connected = peers;
    }

    pub fn subscribe(&mut self, peer: PeerId, context: ContextId) {
        self.subscribers.entry(context).or_default().insert(peer);
    }

    pub fn unsubscribe(&mut self, peer: &PeerId, context: ContextId) {
        if let Some(set) = self.subscribers.get_mut(&context) {
            set.remove(peer);
            if set.is_empty() {
                self.subscribers.remove(&context);
            }
        }
    }

    /// The peers known to take part in `context`, in a stable order.
    pub fn subscribers_of(&self, context: ContextId) -> Vec<PeerId> {
        let mut peers: Vec<PeerId> = self
            .subscribers
            .get(&context)
            .map(|peers| peers.iter().copied().collect())
            .unwrap_or_default();
        peers.sort();
        peers
    }

    /// Whether `peer` takes part in a context this device joined.
    pub fn is_member(&self, peer: &PeerId) -> bool {
        self.subscribers.values().any(|peers| peers.contains(peer))
    }

    /// The device key `peer` names, remembered while it is connected; `None` for a peer id
    /// that names no Ed25519 key.
    pub fn device(&mut self, peer: &PeerId) -> Option<DeviceKey> {
        if let Some(device) = self.devices.get(peer) {
            return Some(*device);
        }
        let device = device_of(peer)?;
        if self.devices.len() < MAX_REMEMBERED_DEVICES && self.connected.contains(peer) {
            self.devices.insert(*peer, device);
        }
        Some(device)
    }

    #[cfg(test)]
    pub fn remembered_devices(&self) -> usize {
        self.devices.len()
    }
}
