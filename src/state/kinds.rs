//! The fact kinds this build understands, and the layout of each one's body.
//!
//! A kind is a `(code, schema)` pair. Facts of kinds this build does not know are still
//! stored and forwarded, so that a newer peer's facts reach every replica, but no view reads
//! them. A fact of a known kind whose body does not parse is refused at ingest: no reducer
//! ever sees a malformed body.

use super::codec::{DecodeError, Reader, Writer};
use super::fact::{DeviceKey, FactId, FactKind};

/// An application message; the body is the protected message, opaque to the journal.
pub const MESSAGE: FactKind = FactKind { code: 1, schema: 1 };
/// A device joins the context's membership.
pub const MEMBER_ADD: FactKind = FactKind { code: 2, schema: 1 };
/// A device leaves: names the add facts its author had observed for that device.
pub const MEMBER_REMOVE: FactKind = FactKind { code: 3, schema: 1 };
/// The context's display name.
pub const GROUP_NAME: FactKind = FactKind { code: 4, schema: 1 };

/// Longest group name, in bytes of UTF-8.
pub const MAX_GROUP_NAME_BYTES: usize = 256;
/// Most add facts one remove may name; a group has at most 10,000 members (DESIGN.md, Limits)
/// and each was added a handful of times at most.
pub const MAX_REMOVED_TAGS: usize = 1024;

/// A parsed body of a known kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnownBody {
    Message,
    MemberAdd {
        member: DeviceKey,
    },
    MemberRemove {
        member: DeviceKey,
        tags: Vec<FactId>,
    },
    GroupName(String),
    /// Invitations, names and relationships ([`crate::invite::facts`]).
    Invite(crate::invite::facts::InviteFact),
    /// Trust settings and attestations ([`crate::trust::facts`]).
    Trust(crate::trust::facts::TrustFact),
    /// Sealed commits, messages, KeyPackages and Welcomes ([`crate::groups::facts`]).
    Group(crate::groups::facts::GroupFact),
}

impl KnownBody {
    /// Parses `body` as `kind`; `Ok(None)` for a kind this build does not know.
    pub fn parse(kind: FactKind, body: &[u8]) -> Result<Option<Self>, DecodeError> {
        let mut reader = Reader::new(body);
        let parsed = match kind {
            MESSAGE => return Ok(Some(Self::Message)),
            MEMBER_ADD => Self::MemberAdd {
                member: DeviceKey(reader.array("member")?),
            },
            MEMBER_REMOVE => {
                let member = DeviceKey(reader.array("member")?);
                let count = usize::from(reader.u16("tag count")?);
                if count > MAX_REMOVED_TAGS {
                    return Err(DecodeError::Invalid {
                        field: "tag count",
                        detail: format!("{count} exceeds {MAX_REMOVED_TAGS}"),
                    });
                }
                let tags = (0..count)
                    .map(|_| reader.array("tag").map(FactId))
                    .collect::<Result<_, _>>()?;
                Self::MemberRemove { member, tags }
            }
            GROUP_NAME => {
                let bytes = reader.rest();
                if bytes.len() > MAX_GROUP_NAME_BYTES {
                    return Err(DecodeError::Invalid {
                        field: "group name",
                        detail: format!("{} bytes exceed {MAX_GROUP_NAME_BYTES}", bytes.len()),
                    });
                }
                let name = std::str::from_utf8(bytes).map_err(|err| DecodeError::Invalid {
                    field: "group name",
                    detail: err.to_string(),
                })?;
                Self::GroupName(name.to_owned())
            }
            _ => {
                if let Some(fact) = crate::invite::facts::InviteFact::parse(kind, body)? {
                    return Ok(Some(Self::Invite(fact)));
                }
                if let Some(fact) = crate::trust::facts::TrustFact::parse(kind, body)? {
                    return Ok(Some(Self::Trust(fact)));
                }
                return Ok(crate::groups::facts::GroupFact::parse(kind, body)?.map(Self::Group));
            }
        };
        reader.finish()?;
        Ok(Some(parsed))
    }

    /// The kind and body bytes of `self`, ready to sign. A message's body is given separately.
    pub fn encode(&self) -> (FactKind, Vec<u8>) {
        let mut writer = Writer::default();
        let kind = match self {
            Self::Message => MESSAGE,
            Self::MemberAdd { member } => {
                writer.raw(&member.0);
                MEMBER_ADD
            }
            Self::MemberRemove { member, tags } => {
                writer.raw(&member.0);
                // Callers build removes from an OrSet's live tags; more than the cap would be
                // refused by every replica, so the list is cut at the cap.
                let kept = &tags[..tags.len().min(MAX_REMOVED_TAGS)];
                writer.u16(kept.len() as u16);
                for tag in kept {
                    writer.raw(&tag.0);
                }
                MEMBER_REMOVE
            }
            Self::GroupName(name) => {
                writer.raw(name.as_bytes());
                GROUP_NAME
            }
            Self::Invite(fact) => return fact.encode(),
            Self::Trust(fact) => return fact.encode(),
            Self::Group(fact) => return fact.encode(),
        };
        (kind, writer.into_bytes())
    }
}
