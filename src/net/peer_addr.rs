//! The address of a peer as a user gives it (`aura peer add`, the network screen's prompt):
//! checked the same way wherever it is typed, with one message per way it can be wrong, and
//! never echoed back longer than [`MAX_ECHO_CHARS`].

use std::fmt;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// The longest address text taken: a multiaddr with a relay circuit and two peer ids is
/// under 300 bytes.
pub const MAX_PEER_ADDR_BYTES: usize = 1024;
/// How much of a rejected address is quoted back in an error.
pub const MAX_ECHO_CHARS: usize = 64;

/// A dialable address that names the peer it reaches: a transport address followed by
/// `/p2p/PEER_ID` (possibly through a relay: `…/p2p/RELAY/p2p-circuit/p2p/PEER_ID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerAddr {
    addr: Multiaddr,
    peer: PeerId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerAddrError {
    #[error("no address given (e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3…)")]
    Empty,
    #[error("the address is {0} bytes long; an address is at most {MAX_PEER_ADDR_BYTES}")]
    TooLong(usize),
    #[error("`{text}` is not a multiaddr ({reason}); e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3…")]
    Malformed { text: String, reason: String },
    #[error(
        "`{0}` does not end in /p2p/PEER_ID: without the peer's id the connection cannot be authenticated"
    )]
    NoPeerId(String),
    #[error("`{0}` names a peer but no way to reach it: put a transport address before /p2p/")]
    NoTransport(String),
    #[error("`{0}` is this device's own address")]
    OwnAddress(String),
}

/// `text` cut to [`MAX_ECHO_CHARS`] characters, with an ellipsis when something was cut, and
/// with control characters shown as `?` so that an error never moves the cursor.
pub fn echo(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .take(MAX_ECHO_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > MAX_ECHO_CHARS {
        shown.push('…');
    }
    shown
}

impl PeerAddr {
    /// Checks `text` as an address of a peer other than `own`.
    pub fn parse(text: &str, own: &PeerId) -> Result<Self, PeerAddrError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PeerAddrError::Empty);
        }
        if text.len() > MAX_PEER_ADDR_BYTES {
            return Err(PeerAddrError::TooLong(text.len()));
        }
        let addr: Multiaddr =
            text.parse()
                .map_err(|err: libp2p::multiaddr::Error| PeerAddrError::Malformed {
                    text: echo(text),
                    reason: err.to_string(),
                })?;
        let peer = match addr.iter().last() {
            Some(Protocol::P2p(peer)) => peer,
            _ => return Err(PeerAddrError::NoPeerId(echo(text))),
        };
        if addr.iter().count() < 2 {
            return Err(PeerAddrError::NoTransport(echo(text)));
        }
        if peer == *own {
            return Err(PeerAddrError::OwnAddress(echo(text)));
        }
        Ok(Self { addr, peer })
    }

    /// An address already known to be valid (from the store or configuration), checked again.
    pub fn from_multiaddr(addr: Multiaddr) -> Option<Self> {
        match addr.iter().last() {
            Some(Protocol::P2p(peer)) if addr.iter().count() >= 2 => Some(Self { addr, peer }),
            _ => None,
        }
    }

    pub fn addr(&self) -> &Multiaddr {
        &self.addr
    }

    /// The peer the address ends with.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    pub fn into_multiaddr(self) -> Multiaddr {
        self.addr
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.addr.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> PeerId {
        PeerId::random()
    }

    #[test]
    fn a_transport_address_with_a_peer_id_is_taken() {
        let peer = PeerId::random();
        let text = format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}");
        let addr = PeerAddr::parse(&format!("  {text}\n"), &own()).unwrap();
        assert_eq!(addr.peer(), peer);
        assert_eq!(addr.to_string(), text);
    }

    #[test]
    fn a_relayed_address_names_the_last_peer() {
        let (relay, peer) = (PeerId::random(), PeerId::random());
        let text = format!("/ip4/192.0.2.1/tcp/4001/p2p/{relay}/p2p-circuit/p2p/{peer}");
        assert_eq!(PeerAddr::parse(&text, &own()).unwrap().peer(), peer);
    }

    #[test]
    fn each_bad_input_has_its_own_error() {
        let me = own();
        assert_eq!(PeerAddr::parse("", &me), Err(PeerAddrError::Empty));
        assert_eq!(PeerAddr::parse("   ", &me), Err(PeerAddrError::Empty));
        let long = "/ip4/1.2.3.4".repeat(10_000);
        assert_eq!(
            PeerAddr::parse(&long, &me),
            Err(PeerAddrError::TooLong(long.len()))
        );
        assert!(matches!(
            PeerAddr::parse("not an address", &me),
            Err(PeerAddrError::Malformed { .. })
        ));
        assert!(matches!(
            PeerAddr::parse("/ip4/127.0.0.1/tcp/4001", &me),
            Err(PeerAddrError::NoPeerId(_))
        ));
        let peer = PeerId::random();
        assert!(matches!(
            PeerAddr::parse(&format!("/p2p/{peer}"), &me),
            Err(PeerAddrError::NoTransport(_))
        ));
        assert!(matches!(
            PeerAddr::parse(&format!("/ip4/127.0.0.1/tcp/1/p2p/{me}"), &me),
            Err(PeerAddrError::OwnAddress(_))
        ));
    }

    #[test]
    fn an_error_quotes_a_bounded_printable_text() {
        let text = format!("/bogus/{}\x1b[2J", "x".repeat(5_00));
        let message = PeerAddr::parse(&text, &own()).unwrap_err().to_string();
        assert!(message.len() < 300, "{message}");
        assert!(!message.contains('\x1b'), "{message}");
        assert_eq!(echo("a\u{7}b"), "a?b");
    }
}
