//! The three ledgers: flow budgets, so a restart neither refills nor forgets them; leakage
//! budgets, so a restart does not refill a context's privacy budget within its epoch; receive
//! counters, so a restart does not forget which peer flooded.
//!
//! | table | key | value |
//! |---|---|---|
//! | `flow_budgets` | context (32) · peer (32) | epoch (8) · limit (8) · spent (8) |
//! | `leakage_budgets` | context (32) | epoch (8) · limit external, neighbour, group (3 × 8) · spent external, neighbour, group (3 × 8) |
//! | `receive_counters` | peer (32) | epoch (8) · limit (8) · spent (8) · accepted (8) · dropped (8) · delayed (8) |
//!
//! Every number is a big-endian `u64`. The device's current flow budget epoch is the
//! `flow_budget_epoch` row of `meta`; flow budgets are written settled to it, so a stored
//! spend always belongs to the stored epoch. Leakage budgets are written settled to the latest
//! epoch the ledger holds: an older epoch's spend is history and is not kept, the context's
//! limit is. Receive counters are kept as they are, lifetime totals included. Each save
//! replaces its table; the node saves all three in one write transaction. The policies (what
//! over-budget traffic gets, default limits) come from the configuration at load and are not
//! stored.

use crate::state::fact::{ContextId, DeviceKey};
use crate::state::flow_budget::{FlowBudget, FlowBudgets};
use crate::state::leakage::{LeakageBudget, LeakageCost, LeakageLedger, LeakagePolicy};
use crate::state::receive_budget::{OverBudget, PeerCounters, ReceiveLedger};

use super::error::Fault;
use super::txn::{ReadTxn, TableSpec, WriteTxn};

pub(super) const FLOW: TableSpec<&[u8], &[u8]> = TableSpec::new("flow_budgets", |key, value| {
    check(decode_flow(key, value), "a flow budget")
});
pub(super) const LEAKAGE: TableSpec<&[u8], &[u8]> =
    TableSpec::new("leakage_budgets", |key, value| {
        check(decode_leakage(key, value), "a leakage budget")
    });
pub(super) const RECEIVE: TableSpec<&[u8], &[u8]> =
    TableSpec::new("receive_counters", |key, value| {
        check(decode_receive(key, value), "a receive counter")
    });

const FLOW_EPOCH_KEY: &str = "flow_budget_epoch";
const ID_BYTES: usize = 32;
const FLOW_KEY_BYTES: usize = 2 * ID_BYTES;
const FLOW_WORDS: usize = 3;
const LEAKAGE_WORDS: usize = 7;
const RECEIVE_WORDS: usize = 6;

fn check<T>(row: Option<T>, what: &str) -> Result<(), String> {
    row.map(drop)
        .ok_or_else(|| format!("{what} row has the wrong length"))
}

/// Concatenates `words`, big-endian.
fn encode_words<const N: usize>(words: [u64; N]) -> Vec<u8> {
    words.iter().flat_map(|word| word.to_be_bytes()).collect()
}

/// Splits a value of exactly `N` words; `None` for any other length.
fn decode_words<const N: usize>(bytes: &[u8]) -> Option<[u64; N]> {
    if bytes.len() != N * 8 {
        return None;
    }
    let mut words = [0u64; N];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        *word = u64::from_be_bytes(chunk.try_into().ok()?);
    }
    Some(words)
}

fn encode_flow(budget: &FlowBudget) -> Vec<u8> {
    encode_words([budget.epoch, budget.limit, budget.spent])
}

fn decode_flow(key: &[u8], value: &[u8]) -> Option<((ContextId, DeviceKey), FlowBudget)> {
    let key: &[u8; FLOW_KEY_BYTES] = key.try_into().ok()?;
    let [epoch, limit, spent] = decode_words::<FLOW_WORDS>(value)?;
    let context = ContextId(key[..ID_BYTES].try_into().ok()?);
    let peer = DeviceKey(key[ID_BYTES..].try_into().ok()?);
    Some((
        (context, peer),
        FlowBudget {
            epoch,
            limit,
            spent,
        },
    ))
}

fn encode_leakage(budget: &LeakageBudget) -> Vec<u8> {
    let (limit, spent) = (budget.limit, budget.spent);
    encode_words([
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
    let context: [u8; ID_BYTES] = key.try_into().ok()?;
    let [
        epoch,
        limit_ext,
        limit_nb,
        limit_group,
        spent_ext,
        spent_nb,
        spent_group,
    ] = decode_words::<LEAKAGE_WORDS>(value)?;
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

fn encode_receive(counters: &PeerCounters) -> Vec<u8> {
    encode_words([
        counters.epoch,
        counters.limit,
        counters.spent,
        counters.accepted,
        counters.dropped,
        counters.delayed,
    ])
}

fn decode_receive(key: &[u8], value: &[u8]) -> Option<(DeviceKey, PeerCounters)> {
    let peer: [u8; ID_BYTES] = key.try_into().ok()?;
    let [epoch, limit, spent, accepted, dropped, delayed] = decode_words::<RECEIVE_WORDS>(value)?;
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

/// Replaces the stored flow budgets with `budgets`, settled to their epoch.
pub(super) fn write_flow(txn: &WriteTxn, budgets: &FlowBudgets) -> Result<(), Fault> {
    let settled = budgets.settled();
    let mut table = txn.emptied(&FLOW)?;
    for ((context, peer), budget) in settled.iter() {
        let key = [context.0, peer.0].concat();
        table.insert(key.as_slice(), encode_flow(&budget).as_slice())?;
    }
    txn.set_meta(FLOW_EPOCH_KEY, settled.epoch())
}

pub(super) fn load_flow(txn: &ReadTxn) -> Result<FlowBudgets, Fault> {
    let epoch = txn.meta(FLOW_EPOCH_KEY)?.unwrap_or(0);
    let rows = read_rows(txn, &FLOW, decode_flow)?;
    Ok(FlowBudgets::from_parts(epoch, rows))
}

/// Replaces the stored leakage budgets with `ledger`'s, settled to the latest epoch it holds.
pub(super) fn write_leakage(txn: &WriteTxn, ledger: &LeakageLedger) -> Result<(), Fault> {
    let mut table = txn.emptied(&LEAKAGE)?;
    for (context, budget) in ledger.settled() {
        table.insert(context.0.as_slice(), encode_leakage(&budget).as_slice())?;
    }
    Ok(())
}

/// The stored leakage budgets under `policy`; an empty ledger for a store that has none.
pub(super) fn load_leakage(txn: &ReadTxn, policy: LeakagePolicy) -> Result<LeakageLedger, Fault> {
    let rows = read_rows(txn, &LEAKAGE, decode_leakage)?;
    Ok(LeakageLedger::from_parts(policy, rows))
}

pub(super) fn write_receive(txn: &WriteTxn, ledger: &ReceiveLedger) -> Result<(), Fault> {
    let mut table = txn.emptied(&RECEIVE)?;
    for (peer, counters) in ledger.all() {
        table.insert(peer.0.as_slice(), encode_receive(&counters).as_slice())?;
    }
    Ok(())
}

/// The stored receive counters; peers without a row get `default_limit` when first seen.
pub(super) fn load_receive(
    txn: &ReadTxn,
    policy: OverBudget,
    default_limit: u64,
) -> Result<ReceiveLedger, Fault> {
    let rows = read_rows(txn, &RECEIVE, decode_receive)?;
    Ok(ReceiveLedger::from_parts(policy, default_limit, rows))
}

/// Every row of `spec`'s table, decoded; a row `decode` refuses is damage.
fn read_rows<T>(
    txn: &ReadTxn,
    spec: &TableSpec<&'static [u8], &'static [u8]>,
    decode: fn(&[u8], &[u8]) -> Option<T>,
) -> Result<Vec<T>, Fault> {
    let mut rows = Vec::new();
    for row in txn.table(spec)?.iter()? {
        let (key, value) = row?;
        let decoded = decode(key.value(), value.value()).ok_or_else(|| {
            Fault::Corrupt(format!("a row of {} has the wrong length", spec.name))
        })?;
        rows.push(decoded);
    }
    Ok(rows)
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
        let budget = FlowBudget {
            epoch: 1,
            limit: 2,
            spent: 3,
        };
        let value = encode_flow(&budget);
        let key = [[4; 32], [5; 32]].concat();
        assert_eq!(
            decode_flow(&key, &value),
            Some(((ContextId([4; 32]), DeviceKey([5; 32])), budget))
        );
        assert_eq!(decode_flow(&key[1..], &value), None);
        assert_eq!(decode_flow(&key, &value[..23]), None);
    }
}
