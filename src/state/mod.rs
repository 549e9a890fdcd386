//! The domain state: pure logic and its persistence in the profile's redb store.

mod corruption;
pub mod store;

pub use store::{Store, StoreError, StoreStats};
