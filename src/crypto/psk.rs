//! Pre-shared keys in the key schedule (RFC 9420 §8.4): folds any number of
//! PSKs into one `psk_secret`, each bound to its identity and position.

use super::cipher_suite::HASH_LENGTH;
use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::group_context::MAX_GROUP_ID_BYTES;
use super::primitives::{expand_with_label, extract};
use super::secret::Secret;

/// Cap on a PSK identifier or nonce.
pub const MAX_PSK_ID_BYTES: usize = 1024;

/// Why a resumption PSK is being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumptionUsage {
    /// Resuming in a new epoch of the same group.
    Application,
    /// Re-initializing the group.
    Reinit,
    /// Branching a subgroup.
    Branch,
}

impl ResumptionUsage {
    fn code(self) -> u8 {
        match self {
            Self::Application => 1,
            Self::Reinit => 2,
            Self::Branch => 3,
        }
    }
}

/// The kind-specific part of a `PreSharedKeyID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PskKind {
    /// An out-of-band key, by application-chosen id.
    External {
        /// Identifier of the key.
        psk_id: Vec<u8>,
    },
    /// The resumption PSK of an earlier epoch.
    Resumption {
        /// Purpose of the resumption.
        usage: ResumptionUsage,
        /// Group the PSK comes from.
        psk_group_id: Vec<u8>,
        /// Epoch the PSK comes from.
        psk_epoch: u64,
    },
}

/// `PreSharedKeyID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreSharedKeyId {
    /// Which key.
    pub kind: PskKind,
    /// Fresh nonce chosen by the proposer, so PSK inputs never repeat.
    pub psk_nonce: Vec<u8>,
}

impl Encode for PreSharedKeyId {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        match &self.kind {
            PskKind::External { psk_id } => {
                writer.write_u8(1);
                writer.write_opaque(psk_id)?;
            }
            PskKind::Resumption {
                usage,
                psk_group_id,
                psk_epoch,
            } => {
                writer.write_u8(2);
                writer.write_u8(usage.code());
                writer.write_opaque(psk_group_id)?;
                writer.write_u64(*psk_epoch);
            }
        }
        writer.write_opaque(&self.psk_nonce)
    }
}

impl Decode for PreSharedKeyId {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let kind = match reader.read_u8()? {
            1 => PskKind::External {
                psk_id: reader.read_opaque_capped(MAX_PSK_ID_BYTES)?.to_vec(),
            },
            2 => {
                let usage = match reader.read_u8()? {
                    1 => ResumptionUsage::Application,
                    2 => ResumptionUsage::Reinit,
                    3 => ResumptionUsage::Branch,
                    _ => return Err(DecodeError::UnexpectedValue { field: "usage" }),
                };
                PskKind::Resumption {
                    usage,
                    psk_group_id: reader.read_opaque_capped(MAX_GROUP_ID_BYTES)?.to_vec(),
                    psk_epoch: reader.read_u64()?,
                }
            }
            _ => return Err(DecodeError::UnexpectedValue { field: "psktype" }),
        };
        Ok(Self {
            kind,
            psk_nonce: reader.read_opaque_capped(MAX_PSK_ID_BYTES)?.to_vec(),
        })
    }
}

/// Combines PSKs, in proposal order, into the `psk_secret` of the key
/// schedule. With no PSK the result is the all-zero vector.
pub fn psk_secret(psks: &[(PreSharedKeyId, Secret)]) -> Result<Secret, CryptoError> {
    let count = u16::try_from(psks.len()).map_err(|_| EncodeError::VectorTooLong {
        length: psks.len(),
        cap: usize::from(u16::MAX),
    })?;
    let zero = Secret::zero(HASH_LENGTH);
    let mut secret = Secret::zero(HASH_LENGTH);
    for (index, (id, psk)) in (0u16..).zip(psks) {
        // PSKLabel = { PreSharedKeyID id; uint16 index; uint16 count; }
        let mut label = Writer::new();
        id.encode(&mut label)?;
        label.write_u16(index);
        label.write_u16(count);
        let extracted = extract(zero.as_bytes(), psk.as_bytes());
        let input = expand_with_label(
            extracted.as_bytes(),
            b"derived psk",
            label.as_bytes(),
            HASH_LENGTH,
        )?;
        secret = extract(input.as_bytes(), secret.as_bytes());
    }
    Ok(secret)
}
