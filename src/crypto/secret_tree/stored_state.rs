//! The secret tree as bytes, for a stored group state. Only what has not
//! been deleted is written, so a stored state keeps the forward secrecy of
//! the live one; reading checks every length and index, since a damaged
//! record must give an error rather than weak keys.

use std::collections::BTreeMap;

use super::{HashRatchet, LeafRatchets, MessageKey, OUT_OF_ORDER_WINDOW, SecretTree};
use crate::crypto::cipher_suite::{CipherSuite, HASH_LENGTH};
use crate::crypto::codec::{Reader, Writer};
use crate::crypto::error::{CryptoError, DecodeError, EncodeError};
use crate::crypto::secret::Secret;
use crate::crypto::tree_math::{LeafIndex, NodeIndex, TreeSize};

impl SecretTree {
    /// Appends the tree's state.
    pub fn encode_state(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_u32(self.size.leaf_count());
        writer.write_vector(|items| {
            self.node_secrets.iter().try_for_each(|(node, secret)| {
                items.write_u32(node.0);
                items.write_opaque(secret.as_bytes())
            })
        })?;
        writer.write_vector(|items| {
            self.ratchets.iter().try_for_each(|(leaf, ratchets)| {
                items.write_u32(leaf.0);
                ratchets.handshake.encode_state(items)?;
                ratchets.application.encode_state(items)
            })
        })
    }

    /// Reads a state written by [`SecretTree::encode_state`] for a group of
    /// `suite` (the suite is stored with the group, not in the tree).
    pub fn decode_state(reader: &mut Reader<'_>, suite: CipherSuite) -> Result<Self, CryptoError> {
        let size = TreeSize::new(reader.read_u32()?)?;
        let node_secrets = reader
            .read_vector(|items| {
                let node = NodeIndex(items.read_u32()?);
                let secret = read_exact_secret(items, HASH_LENGTH, "secret tree node secret")?;
                Ok((node, secret))
            })?
            .into_iter()
            .collect::<BTreeMap<_, _>>();
        if node_secrets.keys().any(|node| !size.contains(*node)) {
            return Err(CryptoError::InvalidTree(
                "secret tree node outside the tree",
            ));
        }
        let ratchets = reader
            .read_vector(|items| {
                let leaf = LeafIndex(items.read_u32()?);
                let handshake = HashRatchet::decode_state(items, suite)?;
                let application = HashRatchet::decode_state(items, suite)?;
                Ok((
                    leaf,
                    LeafRatchets {
                        handshake,
                        application,
                    },
                ))
            })?
            .into_iter()
            .collect::<BTreeMap<_, _>>();
        if ratchets.keys().any(|leaf| !size.contains_leaf(*leaf)) {
            return Err(CryptoError::InvalidTree(
                "secret tree leaf outside the tree",
            ));
        }
        Ok(Self {
            suite,
            size,
            node_secrets,
            ratchets,
        })
    }
}

impl HashRatchet {
    fn encode_state(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(self.secret.as_bytes())?;
        writer.write_u32(self.next_generation);
        writer.write_u8(u8::from(self.open));
        writer.write_vector(|items| {
            self.skipped.values().try_for_each(|key| {
                items.write_u32(key.generation);
                items.write_opaque(key.key.as_bytes())?;
                items.write_opaque(key.nonce.as_bytes())
            })
        })
    }

    fn decode_state(reader: &mut Reader<'_>, suite: CipherSuite) -> Result<Self, DecodeError> {
        let secret = read_exact_secret(reader, HASH_LENGTH, "ratchet secret")?;
        let next_generation = reader.read_u32()?;
        let open = match reader.read_u8()? {
            0 => false,
            1 => true,
            _ => {
                return Err(DecodeError::UnexpectedValue {
                    field: "ratchet open",
                });
            }
        };
        let skipped = reader.read_vector(|items| {
            Ok(MessageKey {
                generation: items.read_u32()?,
                key: read_exact_secret(items, suite.aead_key_length(), "skipped key")?,
                nonce: read_exact_secret(items, suite.aead_nonce_length(), "skipped nonce")?,
            })
        })?;
        if skipped.len() > OUT_OF_ORDER_WINDOW as usize {
            return Err(DecodeError::TooManyItems {
                cap: OUT_OF_ORDER_WINDOW as usize,
            });
        }
        // Written in increasing order, and only for generations already passed.
        let ordered = skipped
            .windows(2)
            .all(|pair| pair[0].generation < pair[1].generation);
        let passed = skipped
            .iter()
            .all(|key| key.generation < next_generation || !open);
        if !ordered || !passed {
            return Err(DecodeError::UnexpectedValue {
                field: "skipped key generation",
            });
        }
        Ok(Self {
            suite,
            secret,
            next_generation,
            skipped: skipped
                .into_iter()
                .map(|key| (key.generation, key))
                .collect(),
            open,
        })
    }
}

/// Reads `opaque secret<V>` that must be exactly `length` bytes: a stored
/// secret of another length is damage, and a short one would weaken every
/// key derived from it.
pub(crate) fn read_exact_secret(
    reader: &mut Reader<'_>,
    length: usize,
    field: &'static str,
) -> Result<Secret, DecodeError> {
    let bytes = reader.read_opaque_capped(length)?;
    if bytes.len() != length {
        return Err(DecodeError::UnexpectedValue { field });
    }
    Ok(Secret::from_slice(bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::crypto::cipher_suite::{AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH};
    use crate::crypto::secret_tree::RatchetKind;

    fn state_bytes(tree: &SecretTree) -> Vec<u8> {
        let mut writer = Writer::new();
        tree.encode_state(&mut writer).unwrap();
        writer.into_bytes()
    }

    /// A 4-leaf tree state holding only `leaf`'s two ratchets, each with a
    /// `secret_length`-byte secret and the given skipped generations.
    fn one_ratchet_state(
        leaf: u32,
        secret_length: usize,
        next_generation: u32,
        skipped: &[u32],
    ) -> Vec<u8> {
        let mut writer = Writer::new();
        writer.write_u32(4);
        writer.write_vector(|_| Ok(())).unwrap();
        writer
            .write_vector(|items| {
                items.write_u32(leaf);
                for _ in 0..2 {
                    items.write_opaque(&vec![1; secret_length])?;
                    items.write_u32(next_generation);
                    items.write_u8(1);
                    items.write_vector(|keys| {
                        skipped.iter().try_for_each(|generation| {
                            keys.write_u32(*generation);
                            keys.write_opaque(&[2; AEAD_KEY_LENGTH])?;
                            keys.write_opaque(&[3; AEAD_NONCE_LENGTH])
                        })
                    })?;
                }
                Ok(())
            })
            .unwrap();
        writer.into_bytes()
    }

    fn decode(bytes: &[u8]) -> Result<SecretTree, CryptoError> {
        SecretTree::decode_state(&mut Reader::new(bytes), CipherSuite::AURA)
    }

    #[test]
    fn damaged_states_are_refused() {
        let unexpected = |field| Err(CryptoError::Decode(DecodeError::UnexpectedValue { field }));
        let mut restored = decode(&one_ratchet_state(0, HASH_LENGTH, 5, &[1, 3])).unwrap();
        assert!(
            restored
                .key_for_generation(LeafIndex(0), RatchetKind::Application, 3)
                .is_ok()
        );
        assert_eq!(
            decode(&one_ratchet_state(0, HASH_LENGTH - 1, 5, &[1, 3])).map(|tree| tree.size()),
            unexpected("ratchet secret")
        );
        for skipped in [&[3, 1][..], &[1, 1], &[5]] {
            assert_eq!(
                decode(&one_ratchet_state(0, HASH_LENGTH, 5, skipped)).map(|tree| tree.size()),
                unexpected("skipped key generation")
            );
        }
        assert_eq!(
            decode(&one_ratchet_state(4, HASH_LENGTH, 5, &[])).map(|tree| tree.size()),
            Err(CryptoError::InvalidTree(
                "secret tree leaf outside the tree"
            ))
        );
        let short_root = SecretTree::new(
            CipherSuite::AURA,
            &Secret::from_slice(&[7; 16]),
            TreeSize::new(4).unwrap(),
        );
        assert_eq!(
            decode(&state_bytes(&short_root)).map(|tree| tree.size()),
            unexpected("secret tree node secret")
        );
    }
}
