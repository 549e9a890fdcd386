//! RFC 9420 interoperability vectors (mlswg/mls-implementations, see
//! `tests/vectors/mls/PROVENANCE.md`). Each test checks every case of its
//! file, prints `<file>: N/N cases passed`, and fails if any case fails or if
//! no case ran.

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crypto_basics;
mod deserialization;
mod key_schedule;
mod message_protection;
mod messages;
mod passive_client;
mod psk_secret;
mod secret_tree;
mod transcript_hashes;
mod tree_math;
mod tree_operations;
mod tree_validation;
mod treekem;
mod welcome;

use std::path::PathBuf;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use aura::crypto::cipher_suite::{CIPHER_SUITE_ID, CipherSuite};
use aura::crypto::keys::{HpkePrivateKey, HpkePublicKey, SignaturePrivateKey, SignaturePublicKey};
use aura::crypto::primitives;
use aura::crypto::tree_math::{NodeIndex, TreeSize};

fn load<T: DeserializeOwned>(file: &str) -> Vec<T> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", "mls", file]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("cannot parse {file}: {error}"))
}

/// The operating system's generator, for the few checks that encrypt.
struct OsRandom;

impl rand_core::TryRng for OsRandom {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::fill(dst).expect("operating system randomness");
        Ok(())
    }
}

impl rand_core::TryCryptoRng for OsRandom {}

/// Hex-encoded bytes as they appear in the vector files.
#[derive(Deserialize, Clone)]
#[serde(transparent)]
struct Hex(#[serde(deserialize_with = "hex::serde::deserialize")] Vec<u8>);

impl std::ops::Deref for Hex {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// Runs every case, collecting failures instead of stopping at the first.
fn run_cases<T>(file: &str, cases: &[T], check: impl Fn(&T) -> Result<(), String>) {
    let mut passed = 0usize;
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        match check(case) {
            Ok(()) => passed += 1,
            Err(reason) => failures.push(format!("case {index}: {reason}")),
        }
    }
    println!("{file}: {passed}/{} cases passed", cases.len());
    assert!(!cases.is_empty(), "{file}: no case ran");
    assert!(
        failures.is_empty(),
        "{file} failures:\n{}",
        failures.join("\n")
    );
}

fn expect_eq(what: &str, actual: &[u8], expected: &[u8]) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {}, expected {}",
            hex::encode(actual),
            hex::encode(expected)
        ))
    }
}

fn check<E: std::fmt::Debug, T>(what: &str, result: Result<T, E>) -> Result<T, String> {
    result.map_err(|error| format!("{what}: {error:?}"))
}
