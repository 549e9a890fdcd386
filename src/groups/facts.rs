//! The journal facts of groups, and their body layouts.
//!
//! In a group's own context: commits, each sealed to the members of the epoch it extends
//! ([`super::seal`]), and application messages (MLS PrivateMessages, encrypted to their
//! epoch). In the pairwise context of two contacts: the KeyPackages each offers the other,
//! the ones it has used up, and the Welcomes that bring one into a group the other is in.
//! Nothing here is readable by a non-member of the group, and the pairwise facts are read
//! only by the pair.

use super::convergence::EpochId;
use crate::state::codec::{DecodeError, Reader, Writer};
use crate::state::fact::{DeviceKey, FactKind};

/// A sealed commit (group context).
pub const GROUP_COMMIT: FactKind = FactKind {
    code: 30,
    schema: 1,
};
/// An application message of one epoch (group context).
pub const GROUP_MESSAGE: FactKind = FactKind {
    code: 31,
    schema: 1,
};
/// A Welcome for the pair's other member (pair context).
pub const GROUP_WELCOME: FactKind = FactKind {
    code: 32,
    schema: 1,
};
/// A KeyPackage offered to the pair's other member (pair context).
pub const KEY_PACKAGE: FactKind = FactKind {
    code: 33,
    schema: 1,
};
/// The author used up one of its KeyPackages: it is not to be used again (pair context).
pub const KEY_PACKAGE_USED: FactKind = FactKind {
    code: 34,
    schema: 1,
};
/// A member stranded on a branch the group left asks to be added again (group context):
/// a fresh KeyPackage of the author's, in the clear, since the author holds no key of the
/// winning epochs; only members are served the group's context.
pub const GROUP_REJOIN: FactKind = FactKind {
    code: 35,
    schema: 1,
};
/// The named device asked to rejoin but is not in the group on the branch the author
/// follows: it was removed there (group context). The device, stranded where it cannot check
/// the removal, takes a member's word for it.
pub const GROUP_DEPARTED: FactKind = FactKind {
    code: 36,
    schema: 1,
};

/// Every kind this module defines.
pub const KINDS: [FactKind; 7] = [
    GROUP_COMMIT,
    GROUP_MESSAGE,
    GROUP_WELCOME,
    KEY_PACKAGE,
    KEY_PACKAGE_USED,
    GROUP_REJOIN,
    GROUP_DEPARTED,
];

/// Length of a KeyPackage reference (RFC 9420 §5.2, a hash of the suite's length).
pub const KEY_PACKAGE_REF_BYTES: usize = 32;

/// A parsed body of one of the group kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupFact {
    Commit {
        /// The epoch the commit extends, and its number.
        parent: EpochId,
        parent_epoch: u64,
        /// The epoch it leads to, as its author computed it.
        epoch: EpochId,
        sealed: Vec<u8>,
    },
    Message {
        /// The epoch whose secrets protect the message.
        epoch: EpochId,
        message: Vec<u8>,
    },
    Welcome(Vec<u8>),
    KeyPackage {
        /// The package kept for when every other is used up; it may serve more than once.
        last_resort: bool,
        key_package: Vec<u8>,
    },
    KeyPackageUsed([u8; KEY_PACKAGE_REF_BYTES]),
    /// A member stranded on a branch the group left asks to be brought back: a fresh
    /// KeyPackage, and digests ([`leaf_digest`]) of the leaves it held there. The member
    /// that brings it back replaces its leaf only when the leaf it holds on the live branch
    /// is one of those (a request that arrives after the device came back is stale).
    Rejoin {
        key_package: Vec<u8>,
        leaves: Vec<[u8; 32]>,
    },
    /// The device is not in the group at the author's epoch (its number).
    Departed {
        device: DeviceKey,
        epoch: u64,
    },
}

/// Leaves a request to be brought back names, at most.
pub const MAX_REJOIN_LEAVES: usize = 32;

/// The name of a leaf in a request to be brought back: a digest of its HPKE key.
pub fn leaf_digest(encryption_key: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(encryption_key).into()
}

fn invalid(field: &'static str, detail: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        field,
        detail: detail.into(),
    }
}

/// The rest of the body, which must not be empty: every group fact carries something.
fn payload<'a>(reader: &mut Reader<'a>, field: &'static str) -> Result<&'a [u8], DecodeError> {
    let rest = reader.rest();
    if rest.is_empty() {
        return Err(invalid(field, "empty"));
    }
    Ok(rest)
}

impl GroupFact {
    /// Parses `body` as `kind`; `Ok(None)` for a kind of another module. The fact's size cap
    /// bounds every payload.
    pub fn parse(kind: FactKind, body: &[u8]) -> Result<Option<Self>, DecodeError> {
        let mut reader = Reader::new(body);
        let parsed = match kind {
            GROUP_COMMIT => Self::Commit {
                parent: EpochId(reader.array("parent epoch")?),
                parent_epoch: reader.u64("parent epoch number")?,
                epoch: EpochId(reader.array("epoch")?),
                sealed: payload(&mut reader, "sealed commit")?.to_vec(),
            },
            GROUP_MESSAGE => Self::Message {
                epoch: EpochId(reader.array("epoch")?),
                message: payload(&mut reader, "message")?.to_vec(),
            },
            GROUP_WELCOME => Self::Welcome(payload(&mut reader, "welcome")?.to_vec()),
            KEY_PACKAGE => Self::KeyPackage {
                last_resort: match reader.u8("last resort")? {
                    0 => false,
                    1 => true,
                    other => return Err(invalid("last resort", format!("{other}"))),
                },
                key_package: payload(&mut reader, "key package")?.to_vec(),
            },
            KEY_PACKAGE_USED => Self::KeyPackageUsed(reader.array("key package reference")?),
            GROUP_REJOIN => {
                let count = usize::from(reader.u8("leaf count")?);
                if count > MAX_REJOIN_LEAVES {
                    return Err(invalid(
                        "leaf count",
                        format!("{count} over {MAX_REJOIN_LEAVES}"),
                    ));
                }
                let leaves = (0..count)
                    .map(|_| reader.array("leaf"))
                    .collect::<Result<_, _>>()?;
                Self::Rejoin {
                    leaves,
                    key_package: payload(&mut reader, "key package")?.to_vec(),
                }
            }
            GROUP_DEPARTED => Self::Departed {
                device: DeviceKey(reader.array("device")?),
                epoch: reader.u64("epoch")?,
            },
            _ => return Ok(None),
        };
        reader.finish()?;
        Ok(Some(parsed))
    }

    /// The kind and body bytes, ready to sign.
    pub fn encode(&self) -> (FactKind, Vec<u8>) {
        let mut writer = Writer::default();
        let kind = match self {
            Self::Commit {
                parent,
                parent_epoch,
                epoch,
                sealed,
            } => {
                writer
                    .raw(&parent.0)
                    .u64(*parent_epoch)
                    .raw(&epoch.0)
                    .raw(sealed);
                GROUP_COMMIT
            }
            Self::Message { epoch, message } => {
                writer.raw(&epoch.0).raw(message);
                GROUP_MESSAGE
            }
            Self::Welcome(welcome) => {
                writer.raw(welcome);
                GROUP_WELCOME
            }
            Self::KeyPackage {
                last_resort,
                key_package,
            } => {
                writer.u8(u8::from(*last_resort)).raw(key_package);
                KEY_PACKAGE
            }
            Self::KeyPackageUsed(reference) => {
                writer.raw(reference);
                KEY_PACKAGE_USED
            }
            Self::Rejoin {
                key_package,
                leaves,
            } => {
                let count = leaves.len().min(MAX_REJOIN_LEAVES);
                writer.u8(u8::try_from(count).unwrap_or(u8::MAX));
                for leaf in &leaves[..count] {
                    writer.raw(leaf);
                }
                writer.raw(key_package);
                GROUP_REJOIN
            }
            Self::Departed { device, epoch } => {
                writer.raw(&device.0).u64(*epoch);
                GROUP_DEPARTED
            }
        };
        (kind, writer.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn samples() -> Vec<GroupFact> {
        vec![
            GroupFact::Commit {
                parent: EpochId([1; 32]),
                parent_epoch: 7,
                epoch: EpochId([8; 32]),
                sealed: vec![9; 40],
            },
            GroupFact::Message {
                epoch: EpochId([2; 32]),
                message: b"opaque".to_vec(),
            },
            GroupFact::Welcome(vec![3; 12]),
            GroupFact::KeyPackage {
                last_resort: true,
                key_package: vec![4; 20],
            },
            GroupFact::KeyPackageUsed([5; KEY_PACKAGE_REF_BYTES]),
            GroupFact::Rejoin {
                key_package: vec![6; 10],
                leaves: vec![[8; 32], [9; 32]],
            },
            GroupFact::Departed {
                device: DeviceKey([7; 32]),
                epoch: 12,
            },
        ]
    }

    #[test]
    fn every_body_round_trips_and_an_empty_payload_or_a_cut_header_is_refused() {
        for fact in samples() {
            let (kind, body) = fact.encode();
            assert_eq!(GroupFact::parse(kind, &body), Ok(Some(fact.clone())));
            // The fixed part cut anywhere, or nothing after it.
            let fixed = match fact {
                GroupFact::Commit { .. } => 72,
                GroupFact::Message { .. } => 32,
                GroupFact::Welcome(_) => 0,
                GroupFact::KeyPackage { .. } => 1,
                GroupFact::KeyPackageUsed(_) => KEY_PACKAGE_REF_BYTES - 1,
                GroupFact::Rejoin { .. } => 1 + 2 * 32,
                GroupFact::Departed { .. } => 39,
            };
            for cut in 0..=fixed {
                assert!(
                    GroupFact::parse(kind, &body[..cut]).is_err(),
                    "{fact:?} cut at {cut}"
                );
            }
        }
        let (kind, mut body) = GroupFact::KeyPackage {
            last_resort: false,
            key_package: vec![1],
        }
        .encode();
        body[0] = 2;
        assert!(GroupFact::parse(kind, &body).is_err());
        let (kind, mut body) = GroupFact::KeyPackageUsed([0; 32]).encode();
        body.push(0);
        assert!(GroupFact::parse(kind, &body).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(code in 30u16..37, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let kind = FactKind { code, schema: 1 };
            if let Ok(Some(fact)) = GroupFact::parse(kind, &body) {
                prop_assert_eq!(fact.encode(), (kind, body));
            }
        }
    }
}
