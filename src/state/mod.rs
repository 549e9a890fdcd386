//! The domain state: pure logic and its persistence in the profile's redb store.

pub mod store;

pub use store::{Store, StoreError, StoreStats};
