//! Flow budgets in the profile's redb store, so a restart neither refills nor forgets them.
//!
//! | table | key | value |
//! |---|---|---|
//! | `flow_budgets` | context (32) · peer (32) | epoch (8) · limit (8) · spent (8), big-endian |
//!
//! The device's current epoch is the `flow_budget_epoch` row of `meta`. Budgets are written
//! settled to that epoch, so a stored spend always belongs to the stored epoch.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::fact::{ContextId, DeviceKey};
use super::flow_budget::{FlowBudget, FlowBudgets};
use super::store::{META, Store, StoreError};

pub(super) const BUDGETS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("flow_budgets");
const EPOCH_KEY: &str = "flow_budget_epoch";
const KEY_BYTES: usize = 64;
const VALUE_BYTES: usize = 24;

/// Migration: the flow budget table.
pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(BUDGETS)?;
    Ok(())
}

fn encode_value(budget: &FlowBudget) -> [u8; VALUE_BYTES] {
    let mut value = [0u8; VALUE_BYTES];
    value[..8].copy_from_slice(&budget.epoch.to_be_bytes());
    value[8..16].copy_from_slice(&budget.limit.to_be_bytes());
    value[16..].copy_from_slice(&budget.spent.to_be_bytes());
    value
}

fn decode_row(key: &[u8], value: &[u8]) -> Option<((ContextId, DeviceKey), FlowBudget)> {
    let key: &[u8; KEY_BYTES] = key.try_into().ok()?;
    let value: &[u8; VALUE_BYTES] = value.try_into().ok()?;
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&value[at..at + 8]);
        u64::from_be_bytes(bytes)
    };
    let mut context = [0u8; 32];
    let mut peer = [0u8; 32];
    context.copy_from_slice(&key[..32]);
    peer.copy_from_slice(&key[32..]);
    Some((
        (ContextId(context), DeviceKey(peer)),
        FlowBudget {
            epoch: word(0),
            limit: word(8),
            spent: word(16),
        },
    ))
}

impl Store {
    /// Replaces the stored budgets with `budgets`, in one write transaction.
    pub fn save_flow_budgets(&self, budgets: &FlowBudgets) -> Result<(), StoreError> {
        let txn = self.database().begin_write().map_err(|err| self.err(err))?;
        self.write_flow_budgets(&txn, budgets)?;
        txn.commit().map_err(|err| self.err(err))
    }

    /// Replaces the stored budgets with `budgets` within `txn`.
    pub(super) fn write_flow_budgets(
        &self,
        txn: &WriteTransaction,
        budgets: &FlowBudgets,
    ) -> Result<(), StoreError> {
        let settled = budgets.settled();
        txn.delete_table(BUDGETS).map_err(|err| self.err(err))?;
        let mut table = txn.open_table(BUDGETS).map_err(|err| self.err(err))?;
        for ((context, peer), budget) in settled.iter() {
            let mut key = [0u8; KEY_BYTES];
            key[..32].copy_from_slice(&context.0);
            key[32..].copy_from_slice(&peer.0);
            table
                .insert(key.as_slice(), encode_value(&budget).as_slice())
                .map_err(|err| self.err(err))?;
        }
        txn.open_table(META)
            .map_err(|err| self.err(err))?
            .insert(EPOCH_KEY, settled.epoch())
            .map_err(|err| self.err(err))?;
        Ok(())
    }

    pub fn load_flow_budgets(&self) -> Result<FlowBudgets, StoreError> {
        let txn = self.database().begin_read().map_err(|err| self.err(err))?;
        let epoch = txn
            .open_table(META)
            .map_err(|err| self.err(err))?
            .get(EPOCH_KEY)
            .map_err(|err| self.err(err))?
            .map_or(0, |guard| guard.value());
        let table = txn.open_table(BUDGETS).map_err(|err| self.err(err))?;
        let mut rows = Vec::new();
        for row in table.iter().map_err(|err| self.err(err))? {
            let (key, value) = row.map_err(|err| self.err(err))?;
            let decoded = decode_row(key.value(), value.value())
                .ok_or_else(|| self.corrupt("a flow budget row has the wrong length"))?;
            rows.push(decoded);
        }
        Ok(FlowBudgets::from_parts(epoch, rows))
    }
}
