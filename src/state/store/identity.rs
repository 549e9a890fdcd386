//! The device's own secrets.
//!
//! | table | key | value |
//! |---|---|---|
//! | `identity` | `device_signing_key` | the Ed25519 secret key (32) |

use redb::ReadableTable;
use zeroize::Zeroizing;

use super::error::Fault;
use super::txn::{ReadTxn, TableSpec, WriteTxn};

/// Length of an Ed25519 secret key.
pub const DEVICE_KEY_LEN: usize = 32;
const DEVICE_KEY: &str = "device_signing_key";

pub(super) const IDENTITY: TableSpec<&str, &[u8]> =
    TableSpec::<&str, &[u8]>::new("identity", check_row);

fn check_row(key: &str, value: &[u8]) -> Result<(), String> {
    if key == DEVICE_KEY {
        decode_device_key(value)?;
    }
    Ok(())
}

fn decode_device_key(bytes: &[u8]) -> Result<Zeroizing<[u8; DEVICE_KEY_LEN]>, String> {
    let key: [u8; DEVICE_KEY_LEN] = bytes
        .try_into()
        .map_err(|_| format!("device key has {} bytes", bytes.len()))?;
    Ok(Zeroizing::new(key))
}

pub(super) fn device_key(txn: &ReadTxn) -> Result<Option<Zeroizing<[u8; DEVICE_KEY_LEN]>>, Fault> {
    let table = txn.table(&IDENTITY)?;
    let Some(stored) = table.get(DEVICE_KEY)? else {
        return Ok(None);
    };
    decode_device_key(stored.value())
        .map(Some)
        .map_err(Fault::Corrupt)
}

pub(super) fn device_key_or_insert(
    txn: &WriteTxn,
    candidate: Zeroizing<[u8; DEVICE_KEY_LEN]>,
) -> Result<Zeroizing<[u8; DEVICE_KEY_LEN]>, Fault> {
    let mut table = txn.table(&IDENTITY)?;
    if let Some(stored) = table.get(DEVICE_KEY)? {
        return decode_device_key(stored.value()).map_err(Fault::Corrupt);
    }
    table.insert(DEVICE_KEY, candidate.as_slice())?;
    Ok(candidate)
}
