//! The control protocol's messages and their framing.
//!
//! # Frames
//!
//! Every message, either way, is one frame:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | [`MAGIC`], `AURC` |
//! | 2 | protocol version, big-endian ([`PROTOCOL_VERSION`]) |
//! | 4 | payload length, big-endian |
//! | length | payload: a [`ControlRequest`] or [`ControlResponse`] as JSON |
//!
//! The header's layout never changes between versions, so that either side can always read
//! the other's version and name both in its error. A length over the cap of its direction
//! ([`MAX_REQUEST_BYTES`], [`MAX_RESPONSE_BYTES`]) is refused before anything is allocated
//! for it. One connection carries one request and its response.

use serde::{Deserialize, Serialize};

use crate::agent::core::InviteAnswer;
use crate::invite::views::{AcceptanceView, ContactView, InvitationsView};
use crate::node::{GroupReply, GroupRequest, InviteRequest, TrustQuery};
use crate::trust::views::TrustAnswer;

/// The first bytes of every frame: "Aura control".
pub const MAGIC: [u8; 4] = *b"AURC";
/// The version of the messages below; bumped whenever they change incompatibly.
pub const PROTOCOL_VERSION: u16 = 1;
/// Bytes of a frame's header: magic, version, length.
pub const HEADER_BYTES: usize = 10;
/// The largest request payload a node reads: a request carries at most one address or one
/// invitation code (4,096 characters, which JSON may escape to six bytes each).
pub const MAX_REQUEST_BYTES: usize = 32 * 1024;
/// The largest response payload the CLI reads.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// What a CLI command asks of whoever answers for the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlRequest {
    /// `aura id`.
    Id,
    /// `aura status`.
    Status,
    /// `aura peer add ADDR`: the address as the user typed it.
    PeerAdd { addr: String },
    /// `aura peer list`.
    PeerList,
    /// `aura peer remove ADDR|PEER_ID`.
    PeerRemove { target: String },
    /// `aura budget list`.
    BudgetList,
    /// `aura name set`, `aura invite create/accept/revoke/approve/decline`,
    /// `aura contact rename/remove`.
    Invite(InviteRequest),
    /// `aura invite list`.
    InviteList,
    /// An acceptance's state, by invitation id (`aura invite accept` follows it).
    Acceptance { id: String },
    /// `aura contact list`.
    ContactList,
    /// `aura trust list|path|why-not`.
    Trust(TrustQuery),
    /// `aura group …`, `aura send`, `aura log`.
    Group(GroupRequest),
}

/// The answer to a [`ControlRequest`], from the running node or from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlResponse {
    Id(IdentityView),
    Status(StatusView),
    PeerAdded(PeerAddedView),
    Peers(Vec<PeerView>),
    PeersRemoved(RemovedView),
    Budgets(BudgetView),
    Invited(InviteAnswer),
    Invitations(InvitationsView),
    Acceptance(Option<AcceptanceView>),
    Contacts(Vec<ContactView>),
    Trust(TrustAnswer),
    Group(GroupReply),
    /// The request was understood and refused, or failed: the message says why.
    Failed(ControlFailure),
}

/// Why a request was not answered. The same request gets the same failure from a node and
/// from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ControlFailure {
    /// A peer address that `PeerAddr::parse` refused; its message quotes a capped echo.
    #[error("{0}")]
    InvalidAddress(String),
    #[error("{0}")]
    InvalidTarget(String),
    #[error("no saved peer address or peer id matches `{0}` (see `aura peer list`)")]
    UnknownPeer(String),
    #[error("profile '{0}' has no identity yet: run `aura --profile {0} init`")]
    NoIdentity(String),
    #[error("the running node speaks control protocol v{node}; this aura speaks v{cli}")]
    Version { node: u16, cli: u16 },
    #[error("a control request of {0} bytes; the node reads at most {MAX_REQUEST_BYTES}")]
    RequestTooLarge(u64),
    #[error("a control request the node cannot read: {0}")]
    Malformed(String),
    /// The node or the store failed while answering.
    #[error("{0}")]
    Failed(String),
    /// Only a running node can do this.
    #[error("{0}")]
    NeedsNode(String),
}

/// Who this device is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityView {
    pub peer_id: String,
    pub fingerprint: String,
}

/// What `aura status` shows besides the paths the CLI knows itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// `None` for a profile whose store does not exist yet.
    pub identity: Option<IdentityView>,
    pub store: StoreView,
    /// What only a running node knows; `None` when none runs.
    pub network: Option<NetworkView>,
}

/// The store as `aura status` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreView {
    NotCreated,
    HeldByNode,
    Open {
        schema_version: u64,
        file_bytes: u64,
        /// `(table, entries)`, sorted by name.
        tables: Vec<(String, u64)>,
    },
}

/// The running node's network, journal and session counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkView {
    pub listen_addrs: Vec<String>,
    pub connected: Vec<String>,
    /// The label of each connected peer that is a contact, by peer id.
    #[serde(default)]
    pub names: std::collections::BTreeMap<String, String>,
    pub nat: String,
    pub routing_table: u64,
    pub facts: u64,
    pub contexts: u64,
    pub sessions_completed: u64,
    pub sessions_denied: u64,
    pub sessions_failed: u64,
    pub sessions_refused: u64,
    /// Sessions and gossip refused from peers with no relationship and no trust path.
    #[serde(default)]
    pub stranger_sessions: u64,
    #[serde(default)]
    pub stranger_gossip: u64,
    /// Sessions and gossip of groups refused from devices outside their rosters.
    #[serde(default)]
    pub non_member_sessions: u64,
    #[serde(default)]
    pub non_member_gossip: u64,
    #[serde(default)]
    pub non_member_facts: u64,
    pub denied_publishes: u64,
    pub dropped_inbound: u64,
    pub violations: u64,
}

/// What became of `aura peer add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerAddedView {
    pub addr: String,
    /// `false` when the address was saved already.
    pub fresh: bool,
    pub reach: ReachView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReachView {
    Connected,
    /// Not reached within the node's wait; the reason of its last try.
    NotYet(String),
    /// No node runs: the address is dialled when one starts.
    Offline,
}

/// A saved peer address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    pub addr: String,
    /// When it was added, ms since the Unix epoch; 0 when unknown.
    pub added_ms: u64,
    /// The peer id the address ends with.
    pub peer: Option<String>,
    /// Whether the running node is connected to that peer; `None` when no node runs.
    pub connected: Option<bool>,
    /// The contact's label, when the peer is a contact.
    #[serde(default)]
    pub name: Option<String>,
}

/// What `aura peer remove` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedView {
    /// The address or peer id, as it was matched.
    pub target: String,
    /// Whether `target` was a peer id (every address of the peer) or one address.
    pub by_peer: bool,
    pub removed: u64,
}

/// What `aura budget list` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetView {
    pub epoch: u64,
    pub epoch_secs: u64,
    /// Seconds until the next epoch.
    pub refill_secs: u64,
    pub sending: Vec<FlowLine>,
    pub leakage: Vec<LeakageLine>,
    pub receiving: Vec<ReceiveLine>,
}

/// What this device may still send one peer in one context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLine {
    pub context: String,
    pub peer: String,
    pub left: u64,
    pub limit: u64,
}

/// The leakage a context has left this epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakageLine {
    pub context: String,
    pub external: u64,
    pub neighbour: u64,
    pub group: u64,
}

/// What one peer spent toward this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveLine {
    pub peer: String,
    pub spent: u64,
    pub limit: u64,
    pub dropped: u64,
}

/// What can be wrong with a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("not an Aura control frame")]
    NotAura,
    #[error("control protocol v{theirs}; this side speaks v{PROTOCOL_VERSION}")]
    Version { theirs: u16 },
    #[error("a frame of {len} bytes, over the cap of {cap}")]
    TooLarge { len: u64, cap: usize },
    #[error("a frame that does not decode: {0}")]
    Malformed(String),
}

/// A frame's header, read before its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub len: u64,
}

/// What an Aura before the typed protocol answered with: `ok\n…` or `error\n…`. Counted as
/// version 0 so that both sides can name it.
const LEGACY_PREFIXES: [&[u8]; 2] = [b"ok\n", b"error\n"];

impl Header {
    /// Reads a header. The version is returned even when it is not this side's, so that the
    /// caller can name it; the length is checked against `cap` only for this side's version.
    pub fn parse(bytes: &[u8; HEADER_BYTES], cap: usize) -> Result<Self, FrameError> {
        if bytes[..MAGIC.len()] != MAGIC {
            if LEGACY_PREFIXES
                .iter()
                .any(|prefix| bytes.starts_with(prefix))
            {
                return Err(FrameError::Version { theirs: 0 });
            }
            return Err(FrameError::NotAura);
        }
        let version = u16::from_be_bytes([bytes[4], bytes[5]]);
        let len = u64::from(u32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]));
        if version != PROTOCOL_VERSION {
            return Err(FrameError::Version { theirs: version });
        }
        if len > cap as u64 {
            return Err(FrameError::TooLarge { len, cap });
        }
        Ok(Self { version, len })
    }
}

/// `message` as one frame of this side's version; refused when its payload is over `cap`.
pub fn encode<T: Serialize>(message: &T, cap: usize) -> Result<Vec<u8>, FrameError> {
    let payload =
        serde_json::to_vec(message).map_err(|err| FrameError::Malformed(err.to_string()))?;
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| *len as usize <= cap)
        .ok_or(FrameError::TooLarge {
            len: payload.len() as u64,
            cap,
        })?;
    let mut frame = Vec::with_capacity(HEADER_BYTES + payload.len());
    frame.extend_from_slice(&MAGIC);
    frame.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// Decodes a payload whose header was accepted.
pub fn decode<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(payload).map_err(|err| FrameError::Malformed(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(frame: &[u8]) -> [u8; HEADER_BYTES] {
        frame[..HEADER_BYTES].try_into().unwrap()
    }

    #[test]
    fn a_request_round_trips_through_a_frame() {
        let request = ControlRequest::PeerAdd {
            addr: "/ip4/127.0.0.1/tcp/1".into(),
        };
        let frame = encode(&request, MAX_REQUEST_BYTES).unwrap();
        let head = Header::parse(&header(&frame), MAX_REQUEST_BYTES).unwrap();
        assert_eq!(head.len as usize, frame.len() - HEADER_BYTES);
        assert_eq!(
            decode::<ControlRequest>(&frame[HEADER_BYTES..]).unwrap(),
            request
        );
    }

    #[test]
    fn a_length_over_the_cap_is_refused_from_the_header_alone() {
        let mut frame = encode(&ControlRequest::Id, MAX_REQUEST_BYTES).unwrap();
        frame[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            Header::parse(&header(&frame), MAX_REQUEST_BYTES),
            Err(FrameError::TooLarge {
                len: u64::from(u32::MAX),
                cap: MAX_REQUEST_BYTES
            })
        );
        let long = ControlRequest::PeerAdd {
            addr: "x".repeat(MAX_REQUEST_BYTES),
        };
        assert!(matches!(
            encode(&long, MAX_REQUEST_BYTES),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn another_version_is_named_and_a_stranger_is_not_taken() {
        let mut frame = encode(&ControlRequest::Id, MAX_REQUEST_BYTES).unwrap();
        frame[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(
            Header::parse(&header(&frame), MAX_REQUEST_BYTES),
            Err(FrameError::Version { theirs: 7 })
        );
        assert_eq!(
            Header::parse(b"error\nunkn", MAX_REQUEST_BYTES),
            Err(FrameError::Version { theirs: 0 })
        );
        assert_eq!(
            Header::parse(b"GET / HTTP", MAX_REQUEST_BYTES),
            Err(FrameError::NotAura)
        );
    }
}
