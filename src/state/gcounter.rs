//! A grow-only counter with one entry per device.
//!
//! Each device only ever raises its own entry, so the per-device maximum of two states keeps
//! every increment either of them has seen, exactly once.

use std::collections::BTreeMap;

use super::fact::DeviceKey;
use super::semilattice::Join;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GCounter {
    device_counts: BTreeMap<DeviceKey, u64>,
}

impl GCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The sum of every device's entry, saturating rather than wrapping.
    pub fn value(&self) -> u64 {
        self.device_counts
            .values()
            .fold(0u64, |sum, count| sum.saturating_add(*count))
    }

    pub fn count_of(&self, device: &DeviceKey) -> u64 {
        self.device_counts.get(device).copied().unwrap_or(0)
    }

    /// The delta of adding `by` to `device`'s entry: joining it into `self` is the increment.
    pub fn increment_delta(&self, device: DeviceKey, by: u64) -> Self {
        let mut delta = Self::new();
        delta
            .device_counts
            .insert(device, self.count_of(&device).saturating_add(by));
        delta
    }

    pub fn increment(&mut self, device: DeviceKey, by: u64) {
        let delta = self.increment_delta(device, by);
        self.join_assign(&delta);
    }
}

impl Join for GCounter {
    fn join(&self, other: &Self) -> Self {
        let mut merged = self.clone();
        merged.join_assign(other);
        merged
    }

    fn join_assign(&mut self, other: &Self) {
        for (device, count) in &other.device_counts {
            let entry = self.device_counts.entry(*device).or_insert(0);
            *entry = (*entry).max(*count);
        }
    }
}
