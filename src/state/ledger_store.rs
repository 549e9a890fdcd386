//! The leakage and receive ledgers in the profile's redb store, so a restart neither refills a
//! context's privacy budget within its epoch nor forgets which peer flooded.
//!
//! | table | key | value |
//! |---|---|---|
//! | `leakage_budgets` | context (32) | epoch (8) · limit external, neighbour, group (3 × 8) · spent external, neighbour, group (3 × 8) |
//! | `receive_counters` | peer (32) | epoch (8) · limit (8) · spent (8) · accepted (8) · dropped (8) · delayed (8) |
//!
//! Every number is a big-endian `u64`. Leakage budgets are written settled to the latest epoch
//! the ledger holds: an older epoch's spend is history and is not kept, the context's limit is.
//! Receive counters are kept as they are, lifetime totals included. Each save replaces the
//! table in one write transaction; [`Store::save_ledgers`] replaces all three ledgers (flow
//! budgets included) in one. The policies (what over-budget traffic gets, default limits)
//! come from the configuration at load and are not stored.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::fact::{ContextId, DeviceKey};
use super::flow_budget::FlowBudgets;
use super::leakage::{LeakageBudget, LeakageCost, LeakageLedger, LeakagePolicy};
use super::receive_budget::{OverBudget, PeerCounters, ReceiveLedger};
use super::store::{Store, StoreError};

pub(super) const LEAKAGE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("leakage_budgets");
pub(super) const RECEIVE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("receive_counters");
const KEY_BYTES: usize = 32;
const LEAKAGE_VALUE_BYTES: usize = 7 * 8;
const RECEIVE_VALUE_BYTES: usize = 6 * 8;

/// Migration: the leakage and receive ledger tables.
pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(LEAKAGE)?;
    txn.open_table(RECEIVE)?;
    Ok(())
}

/// Concatenates `words`, big-endian.
fn encode_words<const N: usize>(words: &[u64]) -> [u8; N] {
    let mut bytes = [0u8; N];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    bytes
}

/// Splits a value of exactly `N` words; `None` for any other length.
fn decode_words<const N: usize>(bytes: &[u8]) -> Option<[u64; N]> {
    if bytes.len() != N * 8 {
        return None;
    }
    let mut words = [0u64; N];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut array = [0u8; 8];
        array.copy_from_slice(chunk);
        *word = u64::from_be_bytes(array);
    }
    Some(words)
}

fn encode_leakage(budget: &LeakageBudget) -> [u8; LEAKAGE_VALUE_BYTES] {
    let (limit, spent) = (budget.limit, budget.spent);
    encode_words(&[
        budget.epoch,
        limit.external,
        limit.neighbour,
        limit.group,
        spent.external,
        spent.neighbour,
        spent.group,
    ])
}

fn decode_leakage(key: &[u8], value: &[u8]) -> Option<(ContextId, LeakageBudget)> {
    let context: [u8; KEY_BYTES] = key.try_into().ok()?;
    let [
        epoch,
        limit_ext,
        limit_nb,
        limit_group,
        spent_ext,
        spent_nb,
        spent_group,
    ] = decode_words::<7>(value)?;
    Some((
        ContextId(context),
        LeakageBudget {
            epoch,
            limit: LeakageCost {
                external: limit_ext,
                neighbour: limit_nb,
                group: limit_group,
            },
            spent: LeakageCost {
                external: spent_ext,
                neighbour: spent_nb,
                group: spent_group,
            },
        },
    ))
}

fn encode_receive(counters: &PeerCounters) -> [u8; RECEIVE_VALUE_BYTES] {
    encode_words(&[
        counters.epoch,
        counters.limit,
        counters.spent,
        counters.accepted,
        counters.dropped,
        counters.delayed,
    ])
}

fn decode_receive(key: &[u8], value: &[u8]) -> Option<(DeviceKey, PeerCounters)> {
    let peer: [u8; KEY_BYTES] = key.try_into().ok()?;
    let [epoch, limit, spent, accepted, dropped, delayed] = decode_words::<6>(value)?;
    Some((
        DeviceKey(peer),
        PeerCounters {
            epoch,
            limit,
            spent,
            accepted,
            dropped,
            delayed,
        },
    ))
}

impl Store {
    /// Replaces the stored leakage budgets with `ledger`'s, settled to the latest epoch it
    /// holds, in one write transaction.
    pub fn save_leakage(&self, ledger: &LeakageLedger) -> Result<(), StoreError> {
        self.in_write(|txn| self.write_leakage(txn, ledger))
    }

    fn write_leakage(
        &self,
        txn: &WriteTransaction,
        ledger: &LeakageLedger,
    ) -> Result<(), StoreError> {
        let rows = ledger
            .settled()
            .map(|(context, budget)| (context.0, encode_leakage(&budget)));
        self.replace_rows(txn, LEAKAGE, rows)
    }

    /// The stored leakage budgets under `policy`; an empty ledger for a store that has none.
    pub fn load_leakage(&self, policy: LeakagePolicy) -> Result<LeakageLedger, StoreError> {
        let rows = self.read_rows(
            LEAKAGE,
            decode_leakage,
            "a leakage budget row has the wrong length",
        )?;
        Ok(LeakageLedger::from_parts(policy, rows))
    }

    /// Replaces the stored receive counters with `ledger`'s, in one write transaction.
    pub fn save_receive_ledger(&self, ledger: &ReceiveLedger) -> Result<(), StoreError> {
        self.in_write(|txn| self.write_receive_ledger(txn, ledger))
    }

    fn write_receive_ledger(
        &self,
        txn: &WriteTransaction,
        ledger: &ReceiveLedger,
    ) -> Result<(), StoreError> {
        let rows = ledger
            .all()
            .map(|(peer, counters)| (peer.0, encode_receive(&counters)));
        self.replace_rows(txn, RECEIVE, rows)
    }

    /// Replaces the stored flow budgets, leakage budgets and receive counters together, in
    /// one write transaction: one commit, and never ledgers of different moments.
    pub fn save_ledgers(
        &self,
        budgets: &FlowBudgets,
        leakage: &LeakageLedger,
        received: &ReceiveLedger,
    ) -> Result<(), StoreError> {
        self.in_write(|txn| {
            self.write_flow_budgets(txn, budgets)?;
            self.write_leakage(txn, leakage)?;
            self.write_receive_ledger(txn, received)
        })
    }

    /// Runs `write` in one write transaction and commits it.
    fn in_write(
        &self,
        write: impl FnOnce(&WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let txn = self.database().begin_write().map_err(|err| self.err(err))?;
        write(&txn)?;
        txn.commit().map_err(|err| self.err(err))
    }

    /// The stored receive counters; peers without a row get `default_limit` when first seen.
    pub fn load_receive_ledger(
        &self,
        policy: OverBudget,
        default_limit: u64,
    ) -> Result<ReceiveLedger, StoreError> {
        let rows = self.read_rows(
            RECEIVE,
            decode_receive,
            "a receive counter row has the wrong length",
        )?;
        Ok(ReceiveLedger::from_parts(policy, default_limit, rows))
    }

    /// Empties `table` and writes `rows` into it, within `txn`.
    fn replace_rows<const V: usize>(
        &self,
        txn: &WriteTransaction,
        table: TableDefinition<&[u8], &[u8]>,
        rows: impl Iterator<Item = ([u8; KEY_BYTES], [u8; V])>,
    ) -> Result<(), StoreError> {
        txn.delete_table(table).map_err(|err| self.err(err))?;
        let mut table = txn.open_table(table).map_err(|err| self.err(err))?;
        for (key, value) in rows {
            table
                .insert(key.as_slice(), value.as_slice())
                .map_err(|err| self.err(err))?;
        }
        Ok(())
    }

    /// Every row of `table`, decoded; a row `decode` rejects is corruption named by `wrong`.
    fn read_rows<T>(
        &self,
        table: TableDefinition<&[u8], &[u8]>,
        decode: fn(&[u8], &[u8]) -> Option<T>,
        wrong: &str,
    ) -> Result<Vec<T>, StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let table = txn.open_table(table).map_err(|err| self.err(err))?;
        let mut rows = Vec::new();
        for row in table.iter().map_err(|err| self.err(err))? {
            let (key, value) = row.map_err(|err| self.err(err))?;
            rows.push(decode(key.value(), value.value()).ok_or_else(|| self.corrupt(wrong))?);
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_wrong_lengths_are_rejected() {
        let budget = LeakageBudget {
            epoch: 9,
            limit: LeakageCost {
                external: 1,
                neighbour: 2,
                group: 3,
            },
            spent: LeakageCost {
                external: 4,
                neighbour: 5,
                group: u64::MAX,
            },
        };
        let value = encode_leakage(&budget);
        assert_eq!(
            decode_leakage(&[7; 32], &value),
            Some((ContextId([7; 32]), budget))
        );
        assert_eq!(decode_leakage(&[7; 31], &value), None);
        assert_eq!(decode_leakage(&[7; 32], &value[1..]), None);
        let counters = PeerCounters {
            epoch: 1,
            limit: 2,
            spent: 3,
            accepted: 4,
            dropped: 5,
            delayed: 6,
        };
        let value = encode_receive(&counters);
        assert_eq!(
            decode_receive(&[8; 32], &value),
            Some((DeviceKey([8; 32]), counters))
        );
        assert_eq!(decode_receive(&[8; 33], &value), None);
        assert_eq!(
            decode_receive(&[8; 32], &[value.as_slice(), &[0]].concat()),
            None
        );
    }
}
