//! The journal facts of trust, and their body layouts.
//!
//! The user's own settings live in the device's own context: the level it sets for a peer
//! (`aura trust set`) and whether it shares its trust with a contact (`aura trust share`).
//! What it shares goes, as attestations, into the pairwise context of each contact it shares
//! with, so that only that contact reads them; a revocation goes the same way, and so
//! reaches everyone the attestation reached.

use crate::state::codec::{DecodeError, Reader, Writer};
use crate::state::fact::{DeviceKey, FactKind};
use crate::state::trust_level::TrustLevel;

/// The user's level for a peer (own context).
pub const TRUST_SET: FactKind = FactKind {
    code: 19,
    schema: 1,
};
/// Whether the user shares its trust with a contact (own context).
pub const TRUST_SHARE: FactKind = FactKind {
    code: 20,
    schema: 1,
};
/// "The author trusts the subject at this level, since the fact's time" (pair context).
pub const ATTESTATION: FactKind = FactKind {
    code: 21,
    schema: 1,
};
/// The author withdraws what it attested about the subject (pair context).
pub const ATTESTATION_REVOKED: FactKind = FactKind {
    code: 22,
    schema: 1,
};

pub fn level_code(level: TrustLevel) -> u8 {
    match level {
        TrustLevel::None => 0,
        TrustLevel::Low => 1,
        TrustLevel::Medium => 2,
        TrustLevel::High => 3,
        TrustLevel::Complete => 4,
    }
}

pub fn level_of(code: u8) -> Result<TrustLevel, DecodeError> {
    TrustLevel::ALL
        .get(usize::from(code))
        .copied()
        .ok_or_else(|| DecodeError::Invalid {
            field: "trust level",
            detail: format!("{code}"),
        })
}

/// A parsed body of one of the trust kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustFact {
    Set {
        peer: DeviceKey,
        level: TrustLevel,
    },
    Share {
        peer: DeviceKey,
        on: bool,
    },
    Attestation {
        subject: DeviceKey,
        level: TrustLevel,
    },
    AttestationRevoked {
        subject: DeviceKey,
    },
}

impl TrustFact {
    /// Parses `body` as `kind`; `Ok(None)` for a kind of another module.
    pub fn parse(kind: FactKind, body: &[u8]) -> Result<Option<Self>, DecodeError> {
        let mut reader = Reader::new(body);
        let parsed = match kind {
            TRUST_SET => Self::Set {
                peer: DeviceKey(reader.array("peer")?),
                level: level_of(reader.u8("level")?)?,
            },
            TRUST_SHARE => Self::Share {
                peer: DeviceKey(reader.array("peer")?),
                on: match reader.u8("share")? {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(DecodeError::Invalid {
                            field: "share",
                            detail: format!("{other}"),
                        });
                    }
                },
            },
            ATTESTATION => Self::Attestation {
                subject: DeviceKey(reader.array("subject")?),
                level: level_of(reader.u8("level")?)?,
            },
            ATTESTATION_REVOKED => Self::AttestationRevoked {
                subject: DeviceKey(reader.array("subject")?),
            },
            _ => return Ok(None),
        };
        reader.finish()?;
        Ok(Some(parsed))
    }

    pub fn encode(&self) -> (FactKind, Vec<u8>) {
        let mut writer = Writer::default();
        let kind = match self {
            Self::Set { peer, level } => {
                writer.raw(&peer.0).u8(level_code(*level));
                TRUST_SET
            }
            Self::Share { peer, on } => {
                writer.raw(&peer.0).u8(u8::from(*on));
                TRUST_SHARE
            }
            Self::Attestation { subject, level } => {
                writer.raw(&subject.0).u8(level_code(*level));
                ATTESTATION
            }
            Self::AttestationRevoked { subject } => {
                writer.raw(&subject.0);
                ATTESTATION_REVOKED
            }
        };
        (kind, writer.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_round_trips_and_every_cut_or_bad_value_is_refused() {
        let peer = DeviceKey([3; 32]);
        for fact in [
            TrustFact::Set {
                peer,
                level: TrustLevel::High,
            },
            TrustFact::Set {
                peer,
                level: TrustLevel::None,
            },
            TrustFact::Share { peer, on: true },
            TrustFact::Attestation {
                subject: peer,
                level: TrustLevel::Complete,
            },
            TrustFact::AttestationRevoked { subject: peer },
        ] {
            let (kind, body) = fact.encode();
            assert_eq!(TrustFact::parse(kind, &body), Ok(Some(fact.clone())));
            for cut in 0..body.len() {
                assert!(TrustFact::parse(kind, &body[..cut]).is_err());
            }
            let mut longer = body.clone();
            longer.push(0);
            assert!(TrustFact::parse(kind, &longer).is_err());
        }
        let mut bad_level = vec![0; 32];
        bad_level.push(5);
        assert!(TrustFact::parse(TRUST_SET, &bad_level).is_err());
        assert_eq!(
            TrustFact::parse(FactKind { code: 1, schema: 1 }, b""),
            Ok(None)
        );
    }
}
