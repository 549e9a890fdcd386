//! What the network node keeps: the peers the user added (dialled at every start) and the
//! contexts the node takes part in (one gossip topic each).
//!
//! | table | key | value |
//! |---|---|---|
//! | `net_peers` | multiaddr, as text | when it was added, ms since the epoch |
//! | `net_contexts` | context id (32) | when it was joined, ms since the epoch |

use redb::ReadableTable;

use crate::state::fact::ContextId;

use super::error::Fault;
use super::txn::{ReadTxn, TableSpec, WriteTxn};

pub(super) const PEERS: TableSpec<&str, u64> = TableSpec::new("net_peers", |_, _| Ok(()));
pub(super) const CONTEXTS: TableSpec<&[u8], u64> =
    TableSpec::new("net_contexts", |key, _| decode_context(key).map(drop));

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

/// The added addresses, in text order.
pub(super) fn peers(txn: &ReadTxn) -> Result<Vec<String>, Fault> {
    let mut addrs = Vec::new();
    for row in txn.table(&PEERS)?.iter()? {
        let (addr, _) = row?;
        addrs.push(addr.value().to_owned());
    }
    Ok(addrs)
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
