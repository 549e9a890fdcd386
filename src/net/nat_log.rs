//! What relays and hole punching did, for the log.

use libp2p::{dcutr, relay};

pub(super) fn relay_client_event(event: relay::client::Event) {
    match event {
        relay::client::Event::ReservationReqAccepted {
            relay_peer_id,
            renewal: false,
            ..
        } => tracing::info!(relay = %relay_peer_id, "relay reservation accepted"),
        relay::client::Event::ReservationReqAccepted {
            relay_peer_id,
            renewal: true,
            ..
        } => tracing::debug!(relay = %relay_peer_id, "relay reservation renewed"),
        relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
            tracing::debug!(relay = %relay_peer_id, "reached a peer through a relay")
        }
        relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
            tracing::debug!(peer = %src_peer_id, "a peer reached this node through a relay")
        }
    }
}

pub(super) fn dcutr_event(event: dcutr::Event) {
    match event.result {
        Ok(_) => tracing::info!(
            peer = %event.remote_peer_id,
            "DCUtR: direct connection made from a relayed one"
        ),
        Err(err) => tracing::info!(
            peer = %event.remote_peer_id,
            %err,
            "DCUtR: no direct connection, staying relayed"
        ),
    }
}
