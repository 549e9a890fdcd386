//! The journal facts of invitations, names and relationships, and their body layouts.
//!
//! Two kinds of context hold them. A device's *own context* (its id derived from the device
//! key, so only the device's holders know it) records the invitations it made and what became
//! of them, its display name and the nicknames it gave. A *pairwise context* (its id derived
//! from the pair's secret, so only the two know it) records the relationship itself, each side
//! signing its own record, later the names each sends the other, and the end of it.
//!
//! The inviter's records name an invitation by its public key only: the secret it was derived
//! from is never stored, so a copy of the store cannot redeem the device's own codes.

use crate::state::codec::{DecodeError, Reader, Writer};
use crate::state::fact::{ContextId, DeviceKey, FactKind};
use crate::state::trust_level::TrustLevel;
use crate::trust::book::RELATIONSHIP_TRUST;

use super::names::MAX_NAME_BYTES;

/// Schema 2 adds the level the invitation's contacts start at.
pub const INVITATION_CREATED: FactKind = FactKind {
    code: 10,
    schema: 2,
};
/// Invitations recorded before their terms carried a level: their contacts start at
/// [`RELATIONSHIP_TRUST`]. Read, never written.
pub const INVITATION_CREATED_V1: FactKind = FactKind {
    code: 10,
    schema: 1,
};
pub const INVITATION_REVOKED: FactKind = FactKind {
    code: 11,
    schema: 1,
};
pub const INVITATION_EXPIRED: FactKind = FactKind {
    code: 12,
    schema: 1,
};
pub const INVITATION_REDEEMED: FactKind = FactKind {
    code: 13,
    schema: 1,
};
pub const INVITATION_ANSWERED: FactKind = FactKind {
    code: 14,
    schema: 1,
};
pub const PROFILE_NAME: FactKind = FactKind {
    code: 15,
    schema: 1,
};
pub const NICKNAME: FactKind = FactKind {
    code: 16,
    schema: 1,
};
pub const RELATIONSHIP: FactKind = FactKind {
    code: 17,
    schema: 1,
};
pub const RELATIONSHIP_ENDED: FactKind = FactKind {
    code: 18,
    schema: 1,
};

/// Every kind this module defines.
pub const KINDS: [FactKind; 10] = [
    INVITATION_CREATED,
    INVITATION_CREATED_V1,
    INVITATION_REVOKED,
    INVITATION_EXPIRED,
    INVITATION_REDEEMED,
    INVITATION_ANSWERED,
    PROFILE_NAME,
    NICKNAME,
    RELATIONSHIP,
    RELATIONSHIP_ENDED,
];

/// Longest invitation note kept, in bytes (the code carries at most as much).
pub const MAX_NOTE_BYTES: usize = super::code::MAX_NOTE_BYTES;

/// An invitation's public key: what the inviter records instead of the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InvitationKey(pub [u8; 32]);

impl InvitationKey {
    /// The short id users type (`aura invite revoke ID`): the first 8 hex digits.
    pub fn short_id(&self) -> String {
        self.0[..4]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// What an invitation invites to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Contact,
    /// A contact, then added to this group (the inviter's record only).
    Group(ContextId),
}

/// The terms an inviter records with an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub target: Target,
    /// When it stops being accepted, ms since the epoch; `None` for never.
    pub expires_at_ms: Option<u64>,
    /// How many relationships it may form.
    pub uses: u32,
    /// Whether the inviter's user approves each acceptance.
    pub approve: bool,
    pub note: String,
    /// The level a relationship formed with it starts at.
    pub trust: TrustLevel,
}

/// A parsed body of one of this module's kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteFact {
    Created {
        key: InvitationKey,
        terms: Terms,
    },
    Revoked(InvitationKey),
    /// The device noticed the expiry passed with uses left.
    Expired(InvitationKey),
    Redeemed {
        key: InvitationKey,
        by: DeviceKey,
        name: String,
    },
    /// The user approved or declined `invitee`'s acceptance of an `--approve` invitation.
    Answered {
        key: InvitationKey,
        invitee: DeviceKey,
        approved: bool,
    },
    /// The author's display name.
    ProfileName(String),
    /// The author's local name for `peer`; empty clears it.
    Nickname {
        peer: DeviceKey,
        nickname: String,
    },
    /// The author's record of the relationship: who invited whom with which invitation,
    /// the handshake's transcript hash, and the name the other side gave.
    Relationship {
        inviter: DeviceKey,
        invitee: DeviceKey,
        invitation: InvitationKey,
        transcript: [u8; 32],
        peer_name: String,
    },
    /// The author ended the relationship.
    RelationshipEnded,
}

fn invalid(field: &'static str, detail: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        field,
        detail: detail.into(),
    }
}

/// Reads `len (u8) | UTF-8` of at most `cap` bytes.
fn read_text(
    reader: &mut Reader<'_>,
    field: &'static str,
    cap: usize,
) -> Result<String, DecodeError> {
    let len = usize::from(reader.u8(field)?);
    if len > cap {
        return Err(invalid(field, format!("{len} bytes exceed {cap}")));
    }
    let bytes = reader.take(len, field)?;
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|err| invalid(field, err.to_string()))
}

/// Writes `len (u8) | UTF-8`, cut at a character boundary within `cap` bytes (callers check
/// lengths first; the cut only keeps an oversized value from becoming an unreadable fact).
fn write_text(writer: &mut Writer, text: &str, cap: usize) {
    let mut end = text.len().min(cap).min(usize::from(u8::MAX));
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    writer.u8(end as u8).raw(&text.as_bytes()[..end]);
}

fn read_key(reader: &mut Reader<'_>) -> Result<InvitationKey, DecodeError> {
    reader.array("invitation key").map(InvitationKey)
}

impl InviteFact {
    /// Parses `body` as `kind`; `Ok(None)` for a kind of another module.
    pub fn parse(kind: FactKind, body: &[u8]) -> Result<Option<Self>, DecodeError> {
        let mut reader = Reader::new(body);
        let parsed = match kind {
            INVITATION_CREATED | INVITATION_CREATED_V1 => {
                let key = read_key(&mut reader)?;
                let target = match reader.u8("target")? {
                    0 => Target::Contact,
                    1 => Target::Group(ContextId(reader.array("group")?)),
                    other => return Err(invalid("target", format!("unknown target {other}"))),
                };
                let expires = reader.u64("expiry")?;
                let uses = reader.u32("uses")?;
                if uses == 0 {
                    return Err(invalid("uses", "zero"));
                }
                let approve = match reader.u8("approve")? {
                    0 => false,
                    1 => true,
                    other => return Err(invalid("approve", format!("{other}"))),
                };
                let note = read_text(&mut reader, "note", MAX_NOTE_BYTES)?;
                let trust = if kind == INVITATION_CREATED_V1 {
                    RELATIONSHIP_TRUST
                } else {
                    crate::trust::facts::level_of(reader.u8("trust")?)?
                };
                Self::Created {
                    key,
                    terms: Terms {
                        target,
                        expires_at_ms: (expires != 0).then_some(expires),
                        uses,
                        approve,
                        note,
                        trust,
                    },
                }
            }
            INVITATION_REVOKED => Self::Revoked(read_key(&mut reader)?),
            INVITATION_EXPIRED => Self::Expired(read_key(&mut reader)?),
            INVITATION_REDEEMED => Self::Redeemed {
                key: read_key(&mut reader)?,
                by: DeviceKey(reader.array("redeemer")?),
                name: read_text(&mut reader, "name", MAX_NAME_BYTES)?,
            },
            INVITATION_ANSWERED => Self::Answered {
                key: read_key(&mut reader)?,
                invitee: DeviceKey(reader.array("invitee")?),
                approved: match reader.u8("answer")? {
                    0 => false,
                    1 => true,
                    other => return Err(invalid("answer", format!("{other}"))),
                },
            },
            PROFILE_NAME => Self::ProfileName(read_text(&mut reader, "name", MAX_NAME_BYTES)?),
            NICKNAME => Self::Nickname {
                peer: DeviceKey(reader.array("peer")?),
                nickname: read_text(&mut reader, "nickname", MAX_NAME_BYTES)?,
            },
            RELATIONSHIP => Self::Relationship {
                inviter: DeviceKey(reader.array("inviter")?),
                invitee: DeviceKey(reader.array("invitee")?),
                invitation: read_key(&mut reader)?,
                transcript: reader.array("transcript")?,
                peer_name: read_text(&mut reader, "peer name", MAX_NAME_BYTES)?,
            },
            RELATIONSHIP_ENDED => Self::RelationshipEnded,
            _ => return Ok(None),
        };
        reader.finish()?;
        Ok(Some(parsed))
    }

    /// The kind and body bytes, ready to sign.
    pub fn encode(&self) -> (FactKind, Vec<u8>) {
        let mut writer = Writer::default();
        let kind = match self {
            Self::Created { key, terms } => {
                writer.raw(&key.0);
                match terms.target {
                    Target::Contact => {
                        writer.u8(0);
                    }
                    Target::Group(group) => {
                        writer.u8(1).raw(&group.0);
                    }
                }
                writer.u64(terms.expires_at_ms.unwrap_or(0));
                writer.u32(terms.uses);
                writer.u8(u8::from(terms.approve));
                write_text(&mut writer, &terms.note, MAX_NOTE_BYTES);
                writer.u8(crate::trust::facts::level_code(terms.trust));
                INVITATION_CREATED
            }
            Self::Revoked(key) => {
                writer.raw(&key.0);
                INVITATION_REVOKED
            }
            Self::Expired(key) => {
                writer.raw(&key.0);
                INVITATION_EXPIRED
            }
            Self::Redeemed { key, by, name } => {
                writer.raw(&key.0).raw(&by.0);
                write_text(&mut writer, name, MAX_NAME_BYTES);
                INVITATION_REDEEMED
            }
            Self::Answered {
                key,
                invitee,
                approved,
            } => {
                writer.raw(&key.0).raw(&invitee.0).u8(u8::from(*approved));
                INVITATION_ANSWERED
            }
            Self::ProfileName(name) => {
                write_text(&mut writer, name, MAX_NAME_BYTES);
                PROFILE_NAME
            }
            Self::Nickname { peer, nickname } => {
                writer.raw(&peer.0);
                write_text(&mut writer, nickname, MAX_NAME_BYTES);
                NICKNAME
            }
            Self::Relationship {
                inviter,
                invitee,
                invitation,
                transcript,
                peer_name,
            } => {
                writer
                    .raw(&inviter.0)
                    .raw(&invitee.0)
                    .raw(&invitation.0)
                    .raw(transcript);
                write_text(&mut writer, peer_name, MAX_NAME_BYTES);
                RELATIONSHIP
            }
            Self::RelationshipEnded => RELATIONSHIP_ENDED,
        };
        (kind, writer.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<InviteFact> {
        let key = InvitationKey([7; 32]);
        vec![
            InviteFact::Created {
                key,
                terms: Terms {
                    target: Target::Group(ContextId([9; 32])),
                    expires_at_ms: Some(1_800_000_000_000),
                    uses: 3,
                    approve: true,
                    note: "für dich".to_owned(),
                    trust: TrustLevel::High,
                },
            },
            InviteFact::Created {
                key,
                terms: Terms {
                    target: Target::Contact,
                    expires_at_ms: None,
                    uses: 1,
                    approve: false,
                    note: String::new(),
                    trust: TrustLevel::Low,
                },
            },
            InviteFact::Revoked(key),
            InviteFact::Expired(key),
            InviteFact::Redeemed {
                key,
                by: DeviceKey([2; 32]),
                name: "Bob".to_owned(),
            },
            InviteFact::Answered {
                key,
                invitee: DeviceKey([2; 32]),
                approved: false,
            },
            InviteFact::ProfileName("Alice".to_owned()),
            InviteFact::Nickname {
                peer: DeviceKey([2; 32]),
                nickname: "bobby".to_owned(),
            },
            InviteFact::Relationship {
                inviter: DeviceKey([1; 32]),
                invitee: DeviceKey([2; 32]),
                invitation: key,
                transcript: [9; 32],
                peer_name: "Bob".to_owned(),
            },
            InviteFact::RelationshipEnded,
        ]
    }

    #[test]
    fn every_body_round_trips_and_every_cut_or_extension_is_refused() {
        for fact in samples() {
            let (kind, body) = fact.encode();
            assert_eq!(InviteFact::parse(kind, &body), Ok(Some(fact.clone())));
            for cut in 0..body.len() {
                assert!(
                    InviteFact::parse(kind, &body[..cut]).is_err(),
                    "{fact:?} cut at {cut}"
                );
            }
            let mut longer = body.clone();
            longer.push(0);
            assert!(
                InviteFact::parse(kind, &longer).is_err(),
                "{fact:?} extended"
            );
        }
    }

    #[test]
    fn an_invitation_recorded_before_levels_starts_its_contacts_at_low() {
        let fact = InviteFact::Created {
            key: InvitationKey([7; 32]),
            terms: Terms {
                target: Target::Contact,
                expires_at_ms: None,
                uses: 2,
                approve: false,
                note: "hi".to_owned(),
                trust: TrustLevel::High,
            },
        };
        let (kind, body) = fact.encode();
        assert_eq!(kind, INVITATION_CREATED);
        let legacy = &body[..body.len() - 1];
        let Ok(Some(InviteFact::Created { terms, .. })) =
            InviteFact::parse(INVITATION_CREATED_V1, legacy)
        else {
            panic!("the legacy body does not parse");
        };
        assert_eq!(terms.trust, RELATIONSHIP_TRUST);
        assert!(InviteFact::parse(INVITATION_CREATED_V1, &body).is_err());
        assert!(InviteFact::parse(INVITATION_CREATED, legacy).is_err());
        let mut unknown = body.clone();
        *unknown.last_mut().unwrap() = 5;
        assert!(InviteFact::parse(INVITATION_CREATED, &unknown).is_err());
    }

    #[test]
    fn other_kinds_are_not_this_modules() {
        assert_eq!(
            InviteFact::parse(FactKind { code: 1, schema: 1 }, b"x"),
            Ok(None)
        );
    }

    #[test]
    fn a_name_over_the_cap_is_refused() {
        let mut body = vec![u8::try_from(MAX_NAME_BYTES + 1).unwrap_or(u8::MAX)];
        body.extend(vec![b'a'; MAX_NAME_BYTES + 1]);
        assert!(InviteFact::parse(PROFILE_NAME, &body).is_err());
    }
}
