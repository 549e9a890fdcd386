//! Byte strings that must not outlive their use.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret byte string (key, ratchet secret, nonce, ...).
///
/// The bytes are wiped on drop and never appear in `Debug` output, so a stray
/// `tracing::debug!(?value)` cannot leak key material into a log file.
/// Deliberately neither `Clone` (copies must be explicit, see `duplicate`)
/// nor `PartialEq` (a short-circuiting comparison of secrets leaks timing).
pub struct Secret(Vec<u8>);

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for Secret {}

impl Secret {
    /// Takes ownership of the bytes.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copies the bytes out of a slice.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// An all-zero secret of `length` bytes, the RFC 9420 "zero vector"
    /// used when no commit secret or PSK is present.
    #[must_use]
    pub fn zero(length: usize) -> Self {
        Self(vec![0; length])
    }

    /// The secret bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Mutable access for filling a freshly allocated secret in place, so the
    /// bytes never exist in an unwiped temporary.
    pub(crate) fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An explicit copy, for the rare places that must keep a secret twice.
    #[must_use]
    pub fn duplicate(&self) -> Self {
        Self(self.0.clone())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}
