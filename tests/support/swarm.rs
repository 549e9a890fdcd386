//! Bare libp2p swarms over loopback TCP for tests that play a peer the product does not
//! build: an attacker, a relay server, a dialler with no protocols.

use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Swarm, noise, tcp, yamux};

/// A swarm with a new identity, TCP with Noise and Yamux, running `behaviour`, whose idle
/// connections stay open for `idle`.
pub fn tcp_swarm<B: NetworkBehaviour>(
    behaviour: impl FnOnce(&Keypair) -> B,
    idle: Duration,
) -> Swarm<B> {
    tcp_swarm_as(Keypair::generate_ed25519(), behaviour, idle)
}

/// [`tcp_swarm`] with the identity `key`: to play a peer some node already knows.
pub fn tcp_swarm_as<B: NetworkBehaviour>(
    key: Keypair,
    behaviour: impl FnOnce(&Keypair) -> B,
    idle: Duration,
) -> Swarm<B> {
    libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("a TCP transport")
        .with_behaviour(|key| behaviour(key))
        .expect("a behaviour")
        .with_swarm_config(|config| config.with_idle_connection_timeout(idle))
        .build()
}
