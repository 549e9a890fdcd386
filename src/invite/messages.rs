//! The messages of relationship formation and their encodings, every length capped.

use crate::protocol::annotation::{Payload, PayloadError};
use crate::state::codec::{DecodeError, Reader, Writer};

use super::facts::InvitationKey;
use super::handshake::ProofSignatures;
use super::names::MAX_NAME_BYTES;

/// The invitee names the invitation and brings its fresh values and its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub invitation: InvitationKey,
    pub ephemeral: [u8; 32],
    pub nonce: [u8; 32],
    pub name: String,
}

/// The inviter's fresh values and display name, when it recognises the invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proceed {
    pub ephemeral: [u8; 32],
    pub nonce: [u8; 32],
    pub name: String,
}

/// Why an inviter does not go on with an acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the inviter does not recognise this invitation")]
    Unknown,
    #[error("the inviter revoked this invitation")]
    Revoked,
    #[error("this invitation expired")]
    Expired { at_ms: u64 },
    #[error("this invitation was already used")]
    UsedUp,
    #[error("the inviter declined")]
    Declined,
    #[error("the proof of the invitation does not verify")]
    BadProof,
    #[error("the inviter could not record the relationship")]
    Failed,
}

/// The inviter's answer to an [`Ask`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Proceed(Proceed),
    Refused(Refusal),
}

/// The invitee's proof, or its withdrawal after a refusal (the choreography is linear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    Signed(ProofSignatures),
    Withdrawn,
}

/// How the inviter ends the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Recorded; the signature is the inviter's over the transcript.
    Accepted {
        signature: [u8; 64],
    },
    /// The inviter's user has not answered yet: ask again later.
    AwaitingApproval,
    Refused(Refusal),
}

fn payload_error(err: DecodeError) -> PayloadError {
    match err {
        DecodeError::Truncated { .. } => PayloadError::Truncated,
        DecodeError::TrailingBytes(extra) => PayloadError::TrailingBytes(extra),
        // The reader's fixed-width fields fail only by running out.
        DecodeError::UnknownVersion(_) | DecodeError::Invalid { .. } => PayloadError::Truncated,
    }
}

fn write_name(writer: &mut Writer, name: &str) {
    let mut end = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    writer.u8(end as u8).raw(&name.as_bytes()[..end]);
}

fn read_name(reader: &mut Reader<'_>) -> Result<String, PayloadError> {
    let len = usize::from(reader.u8("name length").map_err(payload_error)?);
    if len > MAX_NAME_BYTES {
        return Err(PayloadError::OverCap {
            what: "a display name",
            got: len,
            cap: MAX_NAME_BYTES,
        });
    }
    let bytes = reader.take(len, "name").map_err(payload_error)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| PayloadError::NotUtf8)
}

fn decode_with<T>(
    bytes: &[u8],
    read: impl FnOnce(&mut Reader<'_>) -> Result<T, PayloadError>,
) -> Result<T, PayloadError> {
    let mut reader = Reader::new(bytes);
    let value = read(&mut reader)?;
    reader.finish().map_err(payload_error)?;
    Ok(value)
}

impl Ask {
    /// The bytes the transcript hashes: the whole message.
    pub fn transcript_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

impl Proceed {
    pub fn transcript_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::default();
        writer.raw(&self.ephemeral).raw(&self.nonce);
        write_name(&mut writer, &self.name);
        writer.into_bytes()
    }
}

impl Payload for Ask {
    fn encode(&self, out: &mut Vec<u8>) {
        let mut writer = Writer::default();
        writer
            .raw(&self.invitation.0)
            .raw(&self.ephemeral)
            .raw(&self.nonce);
        write_name(&mut writer, &self.name);
        out.extend(writer.into_bytes());
    }

    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        decode_with(bytes, |reader| {
            Ok(Self {
                invitation: InvitationKey(reader.array("invitation").map_err(payload_error)?),
                ephemeral: reader.array("ephemeral").map_err(payload_error)?,
                nonce: reader.array("nonce").map_err(payload_error)?,
                name: read_name(reader)?,
            })
        })
    }
}

fn encode_refusal(writer: &mut Writer, refusal: Refusal) {
    match refusal {
        Refusal::Unknown => writer.u8(1),
        Refusal::Revoked => writer.u8(2),
        Refusal::Expired { at_ms } => writer.u8(3).u64(at_ms),
        Refusal::UsedUp => writer.u8(4),
        Refusal::Declined => writer.u8(5),
        Refusal::BadProof => writer.u8(6),
        Refusal::Failed => writer.u8(7),
    };
}

fn decode_refusal(reader: &mut Reader<'_>) -> Result<Refusal, PayloadError> {
    Ok(match reader.u8("refusal").map_err(payload_error)? {
        1 => Refusal::Unknown,
        2 => Refusal::Revoked,
        3 => Refusal::Expired {
            at_ms: reader.u64("expiry").map_err(payload_error)?,
        },
        4 => Refusal::UsedUp,
        5 => Refusal::Declined,
        6 => Refusal::BadProof,
        7 => Refusal::Failed,
        _ => return Err(PayloadError::Truncated),
    })
}

impl Payload for Challenge {
    fn encode(&self, out: &mut Vec<u8>) {
        let mut writer = Writer::default();
        match self {
            Self::Proceed(proceed) => {
                writer.u8(0).raw(&proceed.transcript_bytes());
            }
            Self::Refused(refusal) => {
                writer.u8(1);
                encode_refusal(&mut writer, *refusal);
            }
        }
        out.extend(writer.into_bytes());
    }

    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        decode_with(bytes, |reader| {
            match reader.u8("challenge").map_err(payload_error)? {
                0 => Ok(Self::Proceed(Proceed {
                    ephemeral: reader.array("ephemeral").map_err(payload_error)?,
                    nonce: reader.array("nonce").map_err(payload_error)?,
                    name: read_name(reader)?,
                })),
                1 => Ok(Self::Refused(decode_refusal(reader)?)),
                _ => Err(PayloadError::Truncated),
            }
        })
    }
}

impl Payload for Proof {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Signed(proof) => {
                out.push(0);
                out.extend_from_slice(&proof.by_invitation);
                out.extend_from_slice(&proof.by_identity);
            }
            Self::Withdrawn => out.push(1),
        }
    }

    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        decode_with(bytes, |reader| {
            match reader.u8("proof").map_err(payload_error)? {
                0 => Ok(Self::Signed(ProofSignatures {
                    by_invitation: reader
                        .array("invitation signature")
                        .map_err(payload_error)?,
                    by_identity: reader.array("identity signature").map_err(payload_error)?,
                })),
                1 => Ok(Self::Withdrawn),
                _ => Err(PayloadError::Truncated),
            }
        })
    }
}

impl Payload for Verdict {
    fn encode(&self, out: &mut Vec<u8>) {
        let mut writer = Writer::default();
        match self {
            Self::Accepted { signature } => {
                writer.u8(0).raw(signature);
            }
            Self::AwaitingApproval => {
                writer.u8(1);
            }
            Self::Refused(refusal) => {
                writer.u8(2);
                encode_refusal(&mut writer, *refusal);
            }
        }
        out.extend(writer.into_bytes());
    }

    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        decode_with(bytes, |reader| {
            match reader.u8("verdict").map_err(payload_error)? {
                0 => Ok(Self::Accepted {
                    signature: reader.array("signature").map_err(payload_error)?,
                }),
                1 => Ok(Self::AwaitingApproval),
                2 => Ok(Self::Refused(decode_refusal(reader)?)),
                _ => Err(PayloadError::Truncated),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Payload + PartialEq + std::fmt::Debug>(value: T) {
        let mut bytes = Vec::new();
        value.encode(&mut bytes);
        assert_eq!(T::decode(&bytes).as_ref(), Ok(&value));
        for cut in 0..bytes.len() {
            assert!(T::decode(&bytes[..cut]).is_err(), "{value:?} cut at {cut}");
        }
        bytes.push(0);
        assert!(T::decode(&bytes).is_err(), "{value:?} extended");
    }

    #[test]
    fn every_message_round_trips_and_every_cut_is_refused() {
        round_trip(Ask {
            invitation: InvitationKey([1; 32]),
            ephemeral: [2; 32],
            nonce: [3; 32],
            name: "Bób".to_owned(),
        });
        round_trip(Challenge::Proceed(Proceed {
            ephemeral: [4; 32],
            nonce: [5; 32],
            name: String::new(),
        }));
        for refusal in [
            Refusal::Unknown,
            Refusal::Revoked,
            Refusal::Expired { at_ms: 77 },
            Refusal::UsedUp,
            Refusal::Declined,
            Refusal::BadProof,
            Refusal::Failed,
        ] {
            round_trip(Challenge::Refused(refusal));
            round_trip(Verdict::Refused(refusal));
        }
        round_trip(Proof::Signed(ProofSignatures {
            by_invitation: [6; 64],
            by_identity: [7; 64],
        }));
        round_trip(Proof::Withdrawn);
        round_trip(Verdict::Accepted { signature: [8; 64] });
        round_trip(Verdict::AwaitingApproval);
    }

    proptest::proptest! {
        /// Whatever a peer sends, each decoder answers without panicking, and what it
        /// accepts encodes back to the same bytes (one encoding per value).
        #[test]
        fn any_bytes_decode_to_an_error_or_to_their_own_encoding(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)
        ) {
            fn check<T: Payload>(bytes: &[u8]) {
                if let Ok(value) = T::decode(bytes) {
                    let mut again = Vec::new();
                    value.encode(&mut again);
                    assert_eq!(again, bytes);
                }
            }
            check::<Ask>(&bytes);
            check::<Challenge>(&bytes);
            check::<Proof>(&bytes);
            check::<Verdict>(&bytes);
        }
    }

    #[test]
    fn a_name_over_the_cap_is_refused_before_it_is_read() {
        let mut bytes = vec![0; 96];
        bytes.push(u8::MAX);
        bytes.extend(vec![b'a'; 255]);
        assert!(matches!(
            Ask::decode(&bytes),
            Err(PayloadError::OverCap {
                what: "a display name",
                ..
            })
        ));
    }
}
