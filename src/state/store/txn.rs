//! The transactions table modules work in: redb's, with every error already a [`Fault`], and
//! tables named by their [`TableSpec`], which also says how to check a row.
//!
//! A table that an older schema does not have yet reads as empty, so that a store opened
//! read-only, which is never migrated, still answers every read.

use std::borrow::Borrow;
use std::ops::RangeBounds;

use redb::{
    AccessGuard, Durability, Key, ReadOnlyTable, ReadableTable, ReadableTableMetadata, Table,
    TableDefinition, TableError, TableHandle, Value,
};

use super::error::Fault;

/// Decodes one row as the table's readers decode it; a row it refuses is damage.
pub(super) type RowCheck<K, V> =
    for<'a> fn(<K as Value>::SelfType<'a>, <V as Value>::SelfType<'a>) -> Result<(), String>;

/// A table of the store: its redb definition and its row check.
pub(super) struct TableSpec<K: Key + 'static, V: Value + 'static> {
    pub name: &'static str,
    pub def: TableDefinition<'static, K, V>,
    pub check: RowCheck<K, V>,
}

impl<K: Key + 'static, V: Value + 'static> TableSpec<K, V> {
    pub const fn new(name: &'static str, check: RowCheck<K, V>) -> Self {
        Self {
            name,
            def: TableDefinition::new(name),
            check,
        }
    }
}

/// A table as the schema and the probe see it, whatever its key and value types.
pub(super) trait Registered {
    fn name(&self) -> &str;
    fn create(&self, txn: &WriteTxn) -> Result<(), Fault>;
    /// Reads and checks every row; `None` when the store has no such table.
    fn probe(&self, txn: &ReadTxn) -> Result<Option<u64>, Fault>;
}

impl<K: Key + 'static, V: Value + 'static> Registered for TableSpec<K, V> {
    fn name(&self) -> &str {
        self.name
    }

    fn create(&self, txn: &WriteTxn) -> Result<(), Fault> {
        txn.table(self).map(drop)
    }

    fn probe(&self, txn: &ReadTxn) -> Result<Option<u64>, Fault> {
        let table = txn.table(self)?;
        if !table.exists() {
            return Ok(None);
        }
        let mut rows = 0u64;
        for row in table.iter()? {
            let (key, value) = row?;
            (self.check)(key.value(), value.value()).map_err(|detail| {
                Fault::Corrupt(format!("table {}, row {rows}: {detail}", self.name))
            })?;
            rows += 1;
        }
        Ok(Some(rows))
    }
}

/// Singleton numbers that describe the store itself; any module may keep one here.
pub(super) const META: TableSpec<&str, u64> = TableSpec::new("meta", |_, _| Ok(()));

/// A read transaction.
pub(super) struct ReadTxn(redb::ReadTransaction);

impl ReadTxn {
    pub fn new(txn: redb::ReadTransaction) -> Self {
        Self(txn)
    }

    pub fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        spec: &TableSpec<K, V>,
    ) -> Result<ReadTable<K, V>, Fault> {
        match self.0.open_table(spec.def) {
            Ok(table) => Ok(ReadTable(Some(table))),
            Err(TableError::TableDoesNotExist(_)) => Ok(ReadTable(None)),
            Err(err) => Err(err.into()),
        }
    }

    pub fn meta(&self, key: &str) -> Result<Option<u64>, Fault> {
        Ok(self.table(&META)?.get(key)?.map(|guard| guard.value()))
    }

    /// Every table's name and entry count, registered or not, in name order. Opening each
    /// one decodes its definition, so damage to the table directory shows up here.
    pub fn table_sizes(&self) -> Result<Vec<(String, u64)>, Fault> {
        let mut sizes = Vec::new();
        for handle in self.0.list_tables()? {
            let name = handle.name().to_owned();
            let table = self.0.open_untyped_table(handle)?;
            sizes.push((name, table.len()?));
        }
        sizes.sort();
        Ok(sizes)
    }
}

/// A table of a read transaction; empty when the store does not have it yet.
pub(super) struct ReadTable<K: Key + 'static, V: Value + 'static>(Option<ReadOnlyTable<K, V>>);

impl<K: Key + 'static, V: Value + 'static> ReadTable<K, V> {
    pub fn exists(&self) -> bool {
        self.0.is_some()
    }

    pub fn get<'a>(
        &self,
        key: impl Borrow<K::SelfType<'a>>,
    ) -> Result<Option<AccessGuard<'_, V>>, Fault> {
        match &self.0 {
            Some(table) => Ok(table.get(key)?),
            None => Ok(None),
        }
    }

    pub fn len(&self) -> Result<u64, Fault> {
        match &self.0 {
            Some(table) => Ok(table.len()?),
            None => Ok(0),
        }
    }

    pub fn iter(&self) -> Result<Rows<'_, K, V>, Fault> {
        match &self.0 {
            Some(table) => Ok(Rows(Some(table.iter()?))),
            None => Ok(Rows(None)),
        }
    }

    pub fn range<'a, KR>(&self, range: impl RangeBounds<KR> + 'a) -> Result<Rows<'_, K, V>, Fault>
    where
        KR: Borrow<K::SelfType<'a>> + 'a,
    {
        match &self.0 {
            Some(table) => Ok(Rows(Some(table.range(range)?))),
            None => Ok(Rows(None)),
        }
    }
}

/// The rows of a [`ReadTable`], in key order.
pub(super) struct Rows<'a, K: Key + 'static, V: Value + 'static>(Option<redb::Range<'a, K, V>>);

/// One row: its key and value.
pub(super) type Row<'a, K, V> = (AccessGuard<'a, K>, AccessGuard<'a, V>);

impl<'a, K: Key + 'static, V: Value + 'static> Iterator for Rows<'a, K, V> {
    type Item = Result<Row<'a, K, V>, Fault>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.0.as_mut()?.next()?;
        Some(row.map_err(Fault::from))
    }
}

impl<K: Key + 'static, V: Value + 'static> DoubleEndedIterator for Rows<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let row = self.0.as_mut()?.next_back()?;
        Some(row.map_err(Fault::from))
    }
}

/// A write transaction; dropped without [`WriteTxn::commit`], it changes nothing.
pub(super) struct WriteTxn(redb::WriteTransaction);

impl WriteTxn {
    pub fn begin(db: &redb::Database, durability: Durability) -> Result<Self, Fault> {
        let mut txn = db.begin_write()?;
        txn.set_durability(durability)?;
        Ok(Self(txn))
    }

    pub fn commit(self) -> Result<(), Fault> {
        Ok(self.0.commit()?)
    }

    pub fn table<K: Key + 'static, V: Value + 'static>(
        &self,
        spec: &TableSpec<K, V>,
    ) -> Result<Table<'_, K, V>, Fault> {
        Ok(self.0.open_table(spec.def)?)
    }

    /// The table, emptied: for tables that are saved whole.
    pub fn emptied<K: Key + 'static, V: Value + 'static>(
        &self,
        spec: &TableSpec<K, V>,
    ) -> Result<Table<'_, K, V>, Fault> {
        self.0.delete_table(spec.def)?;
        self.table(spec)
    }

    pub fn meta(&self, key: &str) -> Result<Option<u64>, Fault> {
        Ok(self.table(&META)?.get(key)?.map(|guard| guard.value()))
    }

    pub fn set_meta(&self, key: &str, value: u64) -> Result<(), Fault> {
        self.table(&META)?.insert(key, value)?;
        Ok(())
    }
}
