//! What the network node keeps: the peers the user added, the contexts the node takes part in
//! (one gossip topic each), and the addresses peers reported about themselves, so that a peer
//! that moved is found again after a restart.
//!
//! | table | key | value |
//! |---|---|---|
//! | `net_peers` | multiaddr, as text | when it was added, ms since the epoch |
//! | `net_contexts` | context id (32) | when it was joined, ms since the epoch |
//! | `net_known_addrs` | peer id, as base58 text | last seen, ms (8) · count (1) · per address: length (2) · multiaddr text |
//!
//! Numbers are big-endian. What peers report is capped ([`MAX_KNOWN_ADDRS_PER_PEER`],
//! [`MAX_KNOWN_PEERS`], [`MAX_KNOWN_ADDR_BYTES`]) when written and checked again when read,
//! so a row over a cap is damage.

use redb::{ReadableTable, ReadableTableMetadata};

use crate::state::codec::{Reader, Writer};
use crate::state::fact::ContextId;

use super::error::Fault;
use super::txn::{ReadTxn, TableSpec, WriteTxn};

/// Addresses kept per peer; identify reports the listen addresses, rarely more than a few.
pub const MAX_KNOWN_ADDRS_PER_PEER: usize = 8;
/// Peers whose addresses are kept; past it, the least recently seen peer is forgotten.
pub const MAX_KNOWN_PEERS: usize = 256;
/// The longest address kept, in bytes of its text; longer ones are not kept.
pub const MAX_KNOWN_ADDR_BYTES: usize = 512;
/// The longest peer id accepted, in bytes of its base58 text (an Ed25519 one has 52).
pub const MAX_PEER_ID_TEXT_BYTES: usize = 128;

pub(super) const PEERS: TableSpec<&str, u64> = TableSpec::new("net_peers", |_, _| Ok(()));
pub(super) const CONTEXTS: TableSpec<&[u8], u64> =
    TableSpec::new("net_contexts", |key, _| decode_context(key).map(drop));
pub(super) const KNOWN_ADDRS: TableSpec<&[u8], &[u8]> =
    TableSpec::new("net_known_addrs", |key, value| {
        decode_peer(key)?;
        decode_known(value).map(drop)
    });

fn decode_context(key: &[u8]) -> Result<ContextId, String> {
    key.try_into()
        .map(ContextId)
        .map_err(|_| "a joined context key is not a context id".to_owned())
}

/// Remembers a peer address; `false` when it was already known.
pub(super) fn add_peer(txn: &WriteTxn, addr: &str, now_ms: u64) -> Result<bool, Fault> {
    let mut table = txn.table(&PEERS)?;
    if table.get(addr)?.is_some() {
        return Ok(false);
    }
    table.insert(addr, now_ms)?;
    Ok(true)
}

/// Forgets a peer address; `false` when it was not known.
pub(super) fn remove_peer(txn: &WriteTxn, addr: &str) -> Result<bool, Fault> {
    Ok(txn.table(&PEERS)?.remove(addr)?.is_some())
}

/// The added addresses and when each was added, oldest first (then by address).
pub(super) fn peer_entries(txn: &ReadTxn) -> Result<Vec<(String, u64)>, Fault> {
    let mut entries = Vec::new();
    for row in txn.table(&PEERS)?.iter()? {
        let (addr, added) = row?;
        entries.push((addr.value().to_owned(), added.value()));
    }
    entries.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    Ok(entries)
}

/// Records that the node takes part in `context`; `false` when it already did.
pub(super) fn join_context(txn: &WriteTxn, context: ContextId, now_ms: u64) -> Result<bool, Fault> {
    let mut table = txn.table(&CONTEXTS)?;
    if table.get(context.0.as_slice())?.is_some() {
        return Ok(false);
    }
    table.insert(context.0.as_slice(), now_ms)?;
    Ok(true)
}

pub(super) fn joined_contexts(txn: &ReadTxn) -> Result<Vec<ContextId>, Fault> {
    let mut contexts = Vec::new();
    for row in txn.table(&CONTEXTS)?.iter()? {
        let (key, _) = row?;
        contexts.push(decode_context(key.value()).map_err(Fault::Corrupt)?);
    }
    Ok(contexts)
}

/// A peer's reported addresses and when they were reported.
#[derive(Debug, PartialEq, Eq)]
struct Known {
    seen_ms: u64,
    addrs: Vec<String>,
}

fn decode_peer(key: &[u8]) -> Result<&str, String> {
    if key.is_empty() || key.len() > MAX_PEER_ID_TEXT_BYTES {
        return Err(format!("a peer id of {} bytes", key.len()));
    }
    std::str::from_utf8(key).map_err(|_| "a peer id that is not text".to_owned())
}

fn encode_known(known: &Known) -> Vec<u8> {
    let mut writer = Writer::with_capacity(64);
    writer.u64(known.seen_ms);
    // Both bounded by the caps, which `record_peer` applies before encoding.
    writer.u8(known.addrs.len() as u8);
    for addr in &known.addrs {
        writer.u16(addr.len() as u16).raw(addr.as_bytes());
    }
    writer.into_bytes()
}

fn decode_known(bytes: &[u8]) -> Result<Known, String> {
    let bad = |err: crate::state::codec::DecodeError| format!("known addresses: {err}");
    let mut reader = Reader::new(bytes);
    let seen_ms = reader.u64("seen").map_err(bad)?;
    let count = usize::from(reader.u8("count").map_err(bad)?);
    if count == 0 || count > MAX_KNOWN_ADDRS_PER_PEER {
        return Err(format!("known addresses: {count} addresses"));
    }
    let mut addrs = Vec::with_capacity(count);
    for _ in 0..count {
        let len = usize::from(reader.u16("address length").map_err(bad)?);
        if len == 0 || len > MAX_KNOWN_ADDR_BYTES {
            return Err(format!("known addresses: an address of {len} bytes"));
        }
        let text = reader.take(len, "address").map_err(bad)?;
        let addr = std::str::from_utf8(text)
            .map_err(|_| "known addresses: an address that is not text".to_owned())?;
        addrs.push(addr.to_owned());
    }
    reader.finish().map_err(bad)?;
    Ok(Known { seen_ms, addrs })
}

/// Replaces what `peer` reported about itself. Addresses past the caps are not kept, nor
/// repeated ones; with none left, the peer is forgotten. Past [`MAX_KNOWN_PEERS`], the least
/// recently seen other peer is forgotten.
pub(super) fn record_peer(
    txn: &WriteTxn,
    peer: &str,
    addrs: &[String],
    now_ms: u64,
) -> Result<(), Fault> {
    if peer.is_empty() || peer.len() > MAX_PEER_ID_TEXT_BYTES {
        return Err(Fault::Refused(format!("a peer id of {} bytes", peer.len())));
    }
    let mut kept: Vec<String> = Vec::new();
    for addr in addrs {
        let fits = !addr.is_empty() && addr.len() <= MAX_KNOWN_ADDR_BYTES;
        if fits && !kept.contains(addr) && kept.len() < MAX_KNOWN_ADDRS_PER_PEER {
            kept.push(addr.clone());
        }
    }
    let mut table = txn.table(&KNOWN_ADDRS)?;
    if kept.is_empty() {
        table.remove(peer.as_bytes())?;
        return Ok(());
    }
    let known = Known {
        seen_ms: now_ms,
        addrs: kept,
    };
    table.insert(peer.as_bytes(), encode_known(&known).as_slice())?;
    while table.len()? > MAX_KNOWN_PEERS as u64 {
        let mut oldest: Option<(u64, Vec<u8>)> = None;
        for row in table.iter()? {
            let (key, value) = row?;
            if key.value() == peer.as_bytes() {
                continue;
            }
            let seen = decode_known(value.value()).map_err(Fault::Corrupt)?.seen_ms;
            let candidate = (seen, key.value().to_vec());
            if oldest.as_ref().is_none_or(|old| candidate < *old) {
                oldest = Some(candidate);
            }
        }
        let Some((_, key)) = oldest else { break };
        table.remove(key.as_slice())?;
    }
    Ok(())
}

/// Every peer's reported addresses, in peer id order.
pub(super) fn known_peers(txn: &ReadTxn) -> Result<Vec<(String, Vec<String>)>, Fault> {
    let mut peers = Vec::new();
    for row in txn.table(&KNOWN_ADDRS)?.iter()? {
        let (key, value) = row?;
        let peer = decode_peer(key.value()).map_err(Fault::Corrupt)?;
        let known = decode_known(value.value()).map_err(Fault::Corrupt)?;
        peers.push((peer.to_owned(), known.addrs));
    }
    Ok(peers)
}

/// Forgets what `peer` reported; `false` when nothing was kept.
pub(super) fn forget_peer(txn: &WriteTxn, peer: &str) -> Result<bool, Fault> {
    Ok(txn.table(&KNOWN_ADDRS)?.remove(peer.as_bytes())?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_addresses_round_trip_and_rows_over_a_cap_are_refused() {
        let known = Known {
            seen_ms: 7,
            addrs: vec!["/ip4/1.2.3.4/tcp/1".to_owned(), "/dns/x/udp/2".to_owned()],
        };
        let bytes = encode_known(&known);
        assert_eq!(decode_known(&bytes), Ok(known));
        assert!(decode_known(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_known(&[bytes.as_slice(), &[0]].concat()).is_err());
        let too_many = Known {
            seen_ms: 0,
            addrs: vec!["/a".to_owned(); MAX_KNOWN_ADDRS_PER_PEER + 1],
        };
        assert!(decode_known(&encode_known(&too_many)).is_err());
        let too_long = Known {
            seen_ms: 0,
            addrs: vec!["a".repeat(MAX_KNOWN_ADDR_BYTES + 1)],
        };
        assert!(decode_known(&encode_known(&too_long)).is_err());
        let none = Known {
            seen_ms: 0,
            addrs: Vec::new(),
        };
        assert!(decode_known(&encode_known(&none)).is_err());
        assert!(decode_peer(b"12D3KooW").is_ok());
        assert!(decode_peer(b"").is_err());
        assert!(decode_peer(&[0xff, 0xfe]).is_err());
        assert!(decode_peer(&[b'a'; MAX_PEER_ID_TEXT_BYTES + 1]).is_err());
    }
}
