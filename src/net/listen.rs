//! Starting to listen, and saying why a listen or a dial failed: a fixed port in use is an
//! error naming the address, and libp2p's errors are cut down to their reason.

// Starting the swarm belongs to the network shell, which may read the clock.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, Swarm};
use tokio::time::Instant;

use super::NetError;
use super::behaviour::{Behaviour, BehaviourEvent};

/// An error and its sources on one line: libp2p's transport errors say little themselves
/// ("Other") and keep the reason in their source.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if text.is_empty() {
        text.push_str("unknown reason");
    }
    text
}

/// Why a dial failed, in a few words: libp2p's own text repeats every address tried.
pub fn dial_failure(error: &libp2p::swarm::DialError) -> String {
    use libp2p::swarm::DialError;
    match error {
        DialError::LocalPeerId { .. } => "that address is this node's own".to_owned(),
        DialError::NoAddresses => "no address to dial".to_owned(),
        DialError::DialPeerConditionFalse(_) => "already connected or being dialled".to_owned(),
        DialError::Aborted => "the dial was aborted".to_owned(),
        DialError::WrongPeerId { obtained, .. } => {
            format!("another peer ({obtained}) answered at that address")
        }
        DialError::Denied { cause } => format!("refused: {cause}"),
        DialError::Transport(attempts) => {
            let mut reasons: Vec<String> = Vec::new();
            for (_, error) in attempts {
                let reason = innermost(error);
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
            if reasons.is_empty() {
                "no transport could dial it".to_owned()
            } else {
                reasons.join("; ")
            }
        }
    }
}

/// The deepest cause of `error` that says something.
fn innermost(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.trim().is_empty() {
            text = cause_text;
        }
        source = cause.source();
    }
    text
}

/// Fails when `addr` asks for a fixed TCP or UDP port that another socket holds. libp2p's TCP
/// listeners set `SO_REUSEPORT`, so two nodes on one fixed port would otherwise both bind it
/// and share its connections at random; a plain bind without that option fails in that case.
pub(super) fn ensure_port_free(addr: &Multiaddr) -> Result<(), String> {
    let mut ip = None;
    for protocol in addr.iter() {
        match protocol {
            Protocol::Ip4(v4) => ip = Some(std::net::IpAddr::V4(v4)),
            Protocol::Ip6(v6) => ip = Some(std::net::IpAddr::V6(v6)),
            Protocol::Tcp(port) if port != 0 => {
                if let Some(ip) = ip {
                    std::net::TcpListener::bind((ip, port))
                        .map(drop)
                        .map_err(|err| port_error(port, &err))?;
                }
            }
            Protocol::Udp(port) if port != 0 => {
                if let Some(ip) = ip {
                    std::net::UdpSocket::bind((ip, port))
                        .map(drop)
                        .map_err(|err| port_error(port, &err))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn port_error(port: u16, err: &std::io::Error) -> String {
    if err.kind() == std::io::ErrorKind::AddrInUse {
        format!("port {port} is in use by another program (another Aura node?)")
    } else {
        err.to_string()
    }
}

/// How long the listeners may take to bind before the node starts anyway.
const LISTEN_START_TIMEOUT: Duration = Duration::from_secs(5);

/// Drives the swarm until each direct listener reported its first address or failed;
/// returns the addresses bound and the other events seen meanwhile, for the swarm's task.
pub(super) async fn await_listeners(
    swarm: &mut Swarm<Behaviour>,
    mut waiting: HashMap<ListenerId, Multiaddr>,
) -> Result<(Vec<Multiaddr>, Vec<SwarmEvent<BehaviourEvent>>), NetError> {
    let mut bound = Vec::new();
    let mut others = Vec::new();
    let deadline = Instant::now() + LISTEN_START_TIMEOUT;
    while !waiting.is_empty() {
        let event = tokio::select! {
            event = swarm.select_next_some() => event,
            () = tokio::time::sleep_until(deadline) => {
                tracing::warn!(?waiting, "listeners not bound in time; starting anyway");
                break;
            }
        };
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                tracing::info!(%address, "listening");
                waiting.remove(&listener_id);
                bound.push(address);
            }
            SwarmEvent::ListenerError { listener_id, error }
                if waiting.contains_key(&listener_id) =>
            {
                return Err(listen_failed(
                    &mut waiting,
                    listener_id,
                    error_chain(&error),
                ));
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } if waiting.contains_key(&listener_id) => {
                let reason = match reason {
                    Err(err) => error_chain(&err),
                    Ok(()) => "the listener closed".to_owned(),
                };
                return Err(listen_failed(&mut waiting, listener_id, reason));
            }
            other => others.push(other),
        }
    }
    Ok((bound, others))
}

fn listen_failed(
    waiting: &mut HashMap<ListenerId, Multiaddr>,
    listener: ListenerId,
    reason: String,
) -> NetError {
    match waiting.remove(&listener) {
        Some(addr) => NetError::Listen { addr, reason },
        None => NetError::Transport(reason),
    }
}
