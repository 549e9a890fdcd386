//! Waiting for something that happens over a real network.

// Waiting on a real network takes real time.
#![allow(clippy::disallowed_methods)]

use std::future::Future;
use std::time::Duration;

/// Generous: the machine running the tests may be busy with other builds.
pub const TIMEOUT: Duration = Duration::from_secs(60);
pub const POLL: Duration = Duration::from_millis(50);

/// Polls `check` until it holds; fails the test naming `what` after [`TIMEOUT`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
