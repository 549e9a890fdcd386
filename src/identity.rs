//! The device's identity: one Ed25519 key, kept in the profile's store, from which the libp2p
//! PeerId is derived, so that the id peers see on the network and the key that signs the
//! device's facts are the same thing.

use std::fmt;

use ed25519_dalek::SigningKey;
use libp2p::PeerId;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::state::store::{DEVICE_KEY_LEN, Store, StoreError};

/// Bytes of the public key's SHA-256 shown as the fingerprint: 128 bits, enough that two people
/// comparing it aloud would notice a substitution.
const FINGERPRINT_BYTES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("the stored device key is not a valid Ed25519 key: {0}")]
    InvalidKey(String),
}

/// This device's long-term signing identity.
pub struct DeviceIdentity {
    signing_key: SigningKey,
    keypair: libp2p::identity::Keypair,
    peer_id: PeerId,
}

impl fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("peer_id", &self.peer_id)
            .finish_non_exhaustive()
    }
}

impl DeviceIdentity {
    /// The profile's identity, if one was created; never writes, so a store opened
    /// read-only will do.
    pub fn load(store: &Store) -> Result<Option<Self>, IdentityError> {
        store
            .device_key()?
            .map(|secret| Self::from_secret(&secret))
            .transpose()
    }

    /// Loads the profile's device key, creating and storing one on first use.
    pub fn load_or_create(store: &Store) -> Result<Self, IdentityError> {
        if let Some(identity) = Self::load(store)? {
            return Ok(identity);
        }
        let mut fresh = Zeroizing::new([0u8; DEVICE_KEY_LEN]);
        getrandom::fill(fresh.as_mut_slice())
            .map_err(|err| IdentityError::Random(err.to_string()))?;
        let secret = store.device_key_or_insert(fresh)?;
        Self::from_secret(&secret)
    }

    /// The identity whose signing key is `secret`.
    pub fn from_secret(secret: &[u8; DEVICE_KEY_LEN]) -> Result<Self, IdentityError> {
        let signing_key = SigningKey::from_bytes(secret);
        let mut libp2p_secret = Zeroizing::new(*secret);
        let keypair = libp2p::identity::Keypair::ed25519_from_bytes(libp2p_secret.as_mut_slice())
            .map_err(|err| IdentityError::InvalidKey(err.to_string()))?;
        Ok(Self {
            signing_key,
            peer_id: keypair.public().to_peer_id(),
            keypair,
        })
    }

    /// The key that signs this device's facts.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    /// The same key as libp2p's transport identity.
    pub fn keypair(&self) -> &libp2p::identity::Keypair {
        &self.keypair
    }

    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    pub fn fingerprint(&self) -> Fingerprint {
        let digest = Sha256::digest(self.signing_key.verifying_key().as_bytes());
        let mut bytes = [0u8; FINGERPRINT_BYTES];
        bytes.copy_from_slice(&digest[..FINGERPRINT_BYTES]);
        Fingerprint(bytes)
    }
}

/// A short, human-comparable digest of the device's public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; FINGERPRINT_BYTES]);

impl fmt::Display for Fingerprint {
    /// Groups of four hex digits, e.g. `3f2a 91c0 …`, easy to read aloud.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pair) in self.0.chunks(2).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            for byte in pair {
                write!(f, "{byte:02x}")?;
            }
        }
        Ok(())
    }
}

/// The tail of a peer id, enough to tell peers apart on a status bar (every Ed25519 peer id
/// starts with the same `12D3KooW`).
pub fn short_peer_id(peer_id: &PeerId) -> String {
    const SHOWN: usize = 8;
    let text = peer_id.to_base58();
    let tail = text.len().saturating_sub(SHOWN);
    format!("…{}", &text[tail..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_secret_gives_the_same_identity() {
        let a = DeviceIdentity::from_secret(&[7; 32]).unwrap();
        let b = DeviceIdentity::from_secret(&[7; 32]).unwrap();
        let c = DeviceIdentity::from_secret(&[8; 32]).unwrap();
        assert_eq!(a.peer_id(), b.peer_id());
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.peer_id(), c.peer_id());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn peer_id_matches_the_signing_key() {
        let identity = DeviceIdentity::from_secret(&[9; 32]).unwrap();
        let public = libp2p::identity::ed25519::PublicKey::try_from_bytes(
            identity.signing_key.verifying_key().as_bytes(),
        )
        .unwrap();
        let expected = libp2p::identity::PublicKey::from(public).to_peer_id();
        assert_eq!(identity.peer_id(), expected);
    }

    #[test]
    fn fingerprint_is_grouped_hex() {
        let text = DeviceIdentity::from_secret(&[1; 32])
            .unwrap()
            .fingerprint()
            .to_string();
        assert_eq!(text.len(), 8 * 4 + 7);
        assert!(
            text.split(' ')
                .all(|group| group.len() == 4 && group.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn short_peer_id_keeps_the_tail() {
        let peer = DeviceIdentity::from_secret(&[1; 32]).unwrap().peer_id();
        let short = short_peer_id(&peer);
        assert!(peer.to_base58().ends_with(short.trim_start_matches('…')));
        assert_eq!(short.chars().count(), 9);
    }
}
