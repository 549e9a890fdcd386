//! What the network node keeps in the store: the peers the user added (dialled at every
//! start) and the contexts the node takes part in (one gossip topic each).
//!
//! # Tables
//!
//! | table | key | value |
//! |---|---|---|
//! | `net_peers` | multiaddr, as text | when it was added, ms since the epoch |
//! | `net_contexts` | context id (32) | when it was joined, ms since the epoch |

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::fact::ContextId;
use super::store::{Store, StoreError};

const PEERS: TableDefinition<&str, u64> = TableDefinition::new("net_peers");
const CONTEXTS: TableDefinition<&[u8], u64> = TableDefinition::new("net_contexts");

/// Migration: the network node's tables.
pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(PEERS)?;
    txn.open_table(CONTEXTS)?;
    Ok(())
}

impl Store {
    /// Remembers a peer address; `false` when it was already known.
    pub fn add_peer_addr(&self, addr: &str, now_ms: u64) -> Result<bool, StoreError> {
        let txn = self.database().begin_write().map_err(|err| self.err(err))?;
        let fresh = {
            let mut table = txn.open_table(PEERS).map_err(|err| self.err(err))?;
            let known = table.get(addr).map_err(|err| self.err(err))?.is_some();
            if !known {
                table.insert(addr, now_ms).map_err(|err| self.err(err))?;
            }
            !known
        };
        txn.commit().map_err(|err| self.err(err))?;
        Ok(fresh)
    }

    pub fn peer_addrs(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let table = txn.open_table(PEERS).map_err(|err| self.err(err))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|err| self.err(err))? {
            let (key, _) = entry.map_err(|err| self.err(err))?;
            out.push(key.value().to_owned());
        }
        Ok(out)
    }

    /// Records that the node takes part in `context`; `false` when it already did.
    pub fn join_context(&self, context: ContextId, now_ms: u64) -> Result<bool, StoreError> {
        let txn = self.database().begin_write().map_err(|err| self.err(err))?;
        let fresh = {
            let mut table = txn.open_table(CONTEXTS).map_err(|err| self.err(err))?;
            let known = table
                .get(context.0.as_slice())
                .map_err(|err| self.err(err))?
                .is_some();
            if !known {
                table
                    .insert(context.0.as_slice(), now_ms)
                    .map_err(|err| self.err(err))?;
            }
            !known
        };
        txn.commit().map_err(|err| self.err(err))?;
        Ok(fresh)
    }

    /// Makes every earlier non-durable commit ([`Store::ingest_received`]) durable.
    pub fn persist_pending(&self) -> Result<(), StoreError> {
        let txn = self.database().begin_write().map_err(|err| self.err(err))?;
        txn.commit().map_err(|err| self.err(err))
    }

    pub fn joined_contexts(&self) -> Result<Vec<ContextId>, StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let table = txn.open_table(CONTEXTS).map_err(|err| self.err(err))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|err| self.err(err))? {
            let (key, _) = entry.map_err(|err| self.err(err))?;
            let id: [u8; 32] = key
                .value()
                .try_into()
                .map_err(|_| self.corrupt("a joined context key is not a context id"))?;
            out.push(ContextId(id));
        }
        Ok(out)
    }
}
