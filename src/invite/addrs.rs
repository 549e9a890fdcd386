//! Which of this node's addresses go into an invitation code.
//!
//! A code holds only a few addresses and may be used from anywhere, so it
//! carries the ones most likely to work from another network first, and
//! nothing that cannot work from another machine at all.

// Decoding reads whatever a user pasted: nothing in it may panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::arithmetic_side_effects
)]

use libp2p::{Multiaddr, multiaddr::Protocol};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::code::{MAX_ADDR_BYTES, MAX_CODE_ADDRS};

/// How far an address reaches, best first: the order in which a code lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    Public,
    PrivateNetwork,
    RelayCircuit,
    /// Only this machine: worth a code only when it is all there is, e.g. two
    /// instances on one computer.
    Loopback,
}

/// The addresses a peer elsewhere could dial, best first, at most
/// [`MAX_CODE_ADDRS`], none ending with this node's `/p2p/` id (the inviter key
/// gives it).
pub fn dialable_addrs(listen: &[Multiaddr], relay_circuits: &[Multiaddr]) -> Vec<Multiaddr> {
    let mut candidates: Vec<(Reach, Protocol<'static>, u8, Multiaddr)> = Vec::new();
    for addr in listen.iter().chain(relay_circuits) {
        let addr = without_own_peer_id(addr);
        // A longer address cannot be written into a code at all.
        if addr.len() > MAX_ADDR_BYTES || candidates.iter().any(|(.., seen)| *seen == addr) {
            continue;
        }
        let Some((reach, host)) = classify(&addr) else {
            continue;
        };
        candidates.push((reach, host, transport_rank(&addr), addr));
    }

    if candidates
        .iter()
        .any(|(reach, ..)| *reach != Reach::Loopback)
    {
        candidates.retain(|(reach, ..)| *reach != Reach::Loopback);
    }

    // Group each host's addresses where the host first appears, so that TCP comes
    // right before QUIC on the same IP without reordering the hosts themselves.
    let mut hosts: Vec<Protocol<'static>> = Vec::new();
    let mut keyed: Vec<(Reach, usize, u8, Multiaddr)> = candidates
        .into_iter()
        .map(|(reach, host, rank, addr)| {
            let host_order = match hosts.iter().position(|seen| *seen == host) {
                Some(order) => order,
                None => {
                    hosts.push(host);
                    hosts.len().saturating_sub(1)
                }
            };
            (reach, host_order, rank, addr)
        })
        .collect();
    keyed.sort_by_key(|(reach, host_order, rank, _)| (*reach, *host_order, *rank));
    keyed
        .into_iter()
        .map(|(.., addr)| addr)
        .take(MAX_CODE_ADDRS)
        .collect()
}

/// Strips a final `/p2p/<id>`, which names this node. In a relay circuit the
/// relay's own `/p2p/<id>` sits before `/p2p-circuit` and stays.
fn without_own_peer_id(addr: &Multiaddr) -> Multiaddr {
    let mut addr = addr.clone();
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr.pop();
    }
    addr
}

/// The reach of an address and the host it names, or `None` when no one
/// elsewhere could dial it.
fn classify(addr: &Multiaddr) -> Option<(Reach, Protocol<'static>)> {
    let host = addr.iter().next()?;
    let host_reach = match &host {
        Protocol::Ip4(ip) => ip_reach(IpAddr::V4(*ip))?,
        Protocol::Ip6(ip) => ip_reach(IpAddr::V6(*ip))?,
        // A name is published to be resolved by others.
        Protocol::Dns(name) | Protocol::Dns4(name) | Protocol::Dns6(name) => {
            if name.eq_ignore_ascii_case("localhost") {
                Reach::Loopback
            } else {
                Reach::Public
            }
        }
        Protocol::Dnsaddr(_) => Reach::Public,
        // Unix sockets, in-memory transports and the like exist only here.
        _ => return None,
    };
    let is_circuit = addr.iter().any(|p| matches!(p, Protocol::P2pCircuit));
    // A circuit through a relay on this machine is as local as that relay.
    let reach = if is_circuit && host_reach != Reach::Loopback {
        Reach::RelayCircuit
    } else {
        host_reach
    };
    Some((reach, host.acquire()))
}

/// `None` for addresses nobody can dial from another machine: unspecified
/// (a listen wildcard), link-local (valid on one link only, and needs a zone),
/// multicast and broadcast.
fn ip_reach(ip: IpAddr) -> Option<Reach> {
    match ip {
        IpAddr::V4(ip) => ipv4_reach(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => ipv4_reach(mapped),
            None => ipv6_reach(ip),
        },
    }
}

fn ipv4_reach(ip: Ipv4Addr) -> Option<Reach> {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() || ip.is_link_local() || ip.is_multicast() || ip.is_broadcast() {
        None
    } else if ip.is_loopback() {
        Some(Reach::Loopback)
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        // 100.64/10 is carrier-grade NAT space: private, like 10/8.
        Some(Reach::PrivateNetwork)
    } else {
        Some(Reach::Public)
    }
}

fn ipv6_reach(ip: Ipv6Addr) -> Option<Reach> {
    let [first, ..] = ip.segments();
    if ip.is_unspecified() || ip.is_multicast() || (first & 0xffc0) == 0xfe80 {
        None
    } else if ip.is_loopback() {
        Some(Reach::Loopback)
    } else if (first & 0xfe00) == 0xfc00 {
        Some(Reach::PrivateNetwork)
    } else {
        Some(Reach::Public)
    }
}

/// TCP first: a peer that can dial anything can dial TCP, while UDP (QUIC) is
/// blocked on more networks.
fn transport_rank(addr: &Multiaddr) -> u8 {
    let mut rank = 2;
    for protocol in addr.iter() {
        match protocol {
            Protocol::Tcp(_) => return 0,
            Protocol::QuicV1 | Protocol::Quic => rank = 1,
            _ => {}
        }
    }
    rank
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::indexing_slicing)]

    use super::*;

    fn addr(text: &str) -> Multiaddr {
        match text.parse() {
            Ok(addr) => addr,
            Err(err) => panic!("test address {text}: {err}"),
        }
    }

    fn addrs(texts: &[&str]) -> Vec<Multiaddr> {
        texts.iter().map(|text| addr(text)).collect()
    }

    const ME: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
    const RELAY: &str = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq";

    #[test]
    fn unspecified_and_link_local_addresses_are_dropped() {
        let listen = addrs(&[
            "/ip4/0.0.0.0/tcp/1",
            "/ip6/::/tcp/1",
            "/ip4/169.254.3.4/tcp/1",
            "/ip6/fe80::1/tcp/1",
            "/ip6/febf::1/tcp/1",
            "/ip4/224.0.0.1/udp/1/quic-v1",
            "/ip4/203.0.113.5/tcp/1",
        ]);
        assert_eq!(
            dialable_addrs(&listen, &[]),
            addrs(&["/ip4/203.0.113.5/tcp/1"])
        );
    }

    #[test]
    fn public_then_private_then_relay() {
        let listen = addrs(&[
            "/ip4/192.168.1.2/tcp/1",
            "/ip4/10.0.0.2/tcp/1",
            "/ip4/172.16.0.2/tcp/1",
            "/ip4/100.64.0.2/tcp/1",
            "/ip6/fd00::2/tcp/1",
            "/ip6/2001:db8::2/tcp/1",
            "/ip4/198.51.100.2/tcp/1",
        ]);
        let circuit = format!("/ip4/198.51.100.9/tcp/4001/p2p/{RELAY}/p2p-circuit");
        let got = dialable_addrs(&listen, &addrs(&[&circuit]));
        let want = addrs(&[
            "/ip6/2001:db8::2/tcp/1",
            "/ip4/198.51.100.2/tcp/1",
            "/ip4/192.168.1.2/tcp/1",
            "/ip4/10.0.0.2/tcp/1",
            "/ip4/172.16.0.2/tcp/1",
            "/ip4/100.64.0.2/tcp/1",
            "/ip6/fd00::2/tcp/1",
            &circuit,
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn edges_of_the_private_ranges_are_public() {
        let listen = addrs(&[
            "/ip4/172.32.0.1/tcp/1",
            "/ip4/100.128.0.1/tcp/1",
            "/ip6/fe00::1/tcp/1",
            "/ip4/10.1.1.1/tcp/1",
        ]);
        let got = dialable_addrs(&listen, &[]);
        assert_eq!(got.last(), Some(&addr("/ip4/10.1.1.1/tcp/1")));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn only_the_final_peer_id_of_this_node_is_stripped() {
        let listen = addrs(&[&format!("/ip4/198.51.100.2/tcp/1/p2p/{ME}")]);
        let relayed = format!("/ip4/198.51.100.9/tcp/4001/p2p/{RELAY}/p2p-circuit");
        let circuits = addrs(&[&format!("{relayed}/p2p/{ME}")]);
        let got = dialable_addrs(&listen, &circuits);
        assert_eq!(got, addrs(&["/ip4/198.51.100.2/tcp/1", &relayed]));
    }

    #[test]
    fn a_circuit_ending_with_p2p_circuit_is_kept_as_is() {
        let relayed = format!("/ip4/198.51.100.9/udp/4001/quic-v1/p2p/{RELAY}/p2p-circuit");
        assert_eq!(dialable_addrs(&[], &addrs(&[&relayed])), addrs(&[&relayed]));
    }

    #[test]
    fn loopback_only_when_nothing_else_is_left() {
        let loopback = addrs(&["/ip4/127.0.0.1/tcp/1", "/ip6/::1/tcp/1"]);
        assert_eq!(dialable_addrs(&loopback, &[]), loopback);

        let mut listen = loopback.clone();
        listen.push(addr("/ip4/192.168.1.2/tcp/1"));
        assert_eq!(
            dialable_addrs(&listen, &[]),
            addrs(&["/ip4/192.168.1.2/tcp/1"])
        );

        let circuit = format!("/ip4/198.51.100.9/tcp/4001/p2p/{RELAY}/p2p-circuit");
        assert_eq!(
            dialable_addrs(&loopback, &addrs(&[&circuit])),
            addrs(&[&circuit])
        );
    }

    #[test]
    fn duplicates_are_listed_once_even_when_they_differ_only_by_the_peer_id() {
        let listen = addrs(&[
            "/ip4/198.51.100.2/tcp/1",
            &format!("/ip4/198.51.100.2/tcp/1/p2p/{ME}"),
            "/ip4/198.51.100.2/tcp/1",
        ]);
        assert_eq!(
            dialable_addrs(&listen, &listen),
            addrs(&["/ip4/198.51.100.2/tcp/1"])
        );
    }

    #[test]
    fn tcp_comes_before_quic_on_the_same_ip_and_hosts_keep_their_order() {
        let listen = addrs(&[
            "/ip4/198.51.100.2/udp/1/quic-v1",
            "/ip6/2001:db8::2/udp/1/quic-v1",
            "/ip4/198.51.100.2/tcp/1",
            "/ip6/2001:db8::2/tcp/1",
        ]);
        let want = addrs(&[
            "/ip4/198.51.100.2/tcp/1",
            "/ip4/198.51.100.2/udp/1/quic-v1",
            "/ip6/2001:db8::2/tcp/1",
            "/ip6/2001:db8::2/udp/1/quic-v1",
        ]);
        assert_eq!(dialable_addrs(&listen, &[]), want);
    }

    #[test]
    fn at_most_the_cap_best_first() {
        let listen: Vec<Multiaddr> = (1..=20)
            .map(|port| addr(&format!("/ip4/192.168.1.2/tcp/{port}")))
            .chain([addr("/ip4/198.51.100.2/tcp/9")])
            .collect();
        let got = dialable_addrs(&listen, &[]);
        assert_eq!(got.len(), MAX_CODE_ADDRS);
        assert_eq!(got.first(), Some(&addr("/ip4/198.51.100.2/tcp/9")));
    }

    #[test]
    fn names_are_public_unless_localhost_and_local_only_transports_are_dropped() {
        let listen = addrs(&[
            "/dns4/localhost/tcp/1",
            "/unix/tmp%2Faura.sock",
            "/memory/7",
            "/dns/aura.example.org/tcp/1",
        ]);
        assert_eq!(
            dialable_addrs(&listen, &[]),
            addrs(&["/dns/aura.example.org/tcp/1"])
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_is_judged_by_its_ipv4() {
        let listen = addrs(&["/ip6/::ffff:192.168.1.2/tcp/1", "/ip6/::ffff:0.0.0.0/tcp/1"]);
        assert_eq!(
            dialable_addrs(&listen, &[]),
            addrs(&["/ip6/::ffff:192.168.1.2/tcp/1"])
        );
    }

    #[test]
    fn an_address_too_long_for_a_code_is_skipped() {
        let long = format!("/dns/{}.example.org/tcp/1", "a".repeat(250));
        let listen = addrs(&[&long, "/ip4/198.51.100.2/tcp/1"]);
        assert_eq!(
            dialable_addrs(&listen, &[]),
            addrs(&["/ip4/198.51.100.2/tcp/1"])
        );
    }

    #[test]
    fn nothing_dialable_gives_nothing() {
        assert!(dialable_addrs(&addrs(&["/ip4/0.0.0.0/tcp/1"]), &[]).is_empty());
        assert!(dialable_addrs(&[], &[]).is_empty());
    }
}
