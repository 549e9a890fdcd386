//! What the core asks the shell to do: the effects of its inputs, performed in order.

use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};

use super::{BatchId, Reply, RequestId, StreamToken};
use crate::agent::guard::KeptLedgers;
use crate::invite::facts::InvitationKey;
use crate::invite::messages::{Ask, Challenge, Proof, Verdict};
use crate::net::GossipVerdict;
use crate::node::NodeEvent;
use crate::state::fact::{ContextId, DeviceKey, Fact, FactId};
use crate::state::flow_budget::Epoch;
use crate::state::store::{
    AcceptanceRow, ContactRow, GroupRow, KeyPackageRow, MessageRow, OutboxRow,
};

/// What the core asks the shell to do, in order.
#[derive(Debug)]
pub enum Effect {
    Reply {
        request: RequestId,
        reply: Reply,
    },
    /// Tell the front ends.
    Notify(NodeEvent),
    /// Record that the node takes part in `context`; answer `request` when the record is
    /// written, with the store's error if it fails.
    PersistJoin {
        context: ContextId,
        request: Option<RequestId>,
    },
    Subscribe(ContextId),
    /// Store this device's facts in one durable transaction, then report
    /// [`Input::WritesStored`].
    StoreWrites {
        batch: BatchId,
        facts: Vec<Fact>,
        /// Messages these facts send: out of the outbox and into the group's history, in
        /// the same transaction.
        sent: Vec<(OutboxRow, MessageRow)>,
    },
    Publish {
        context: ContextId,
        bytes: Vec<u8>,
    },
    /// Check and store received facts in one transaction, then report
    /// [`Input::GossipStored`].
    IngestGossip {
        batch: BatchId,
        facts: Vec<Fact>,
    },
    GossipVerdict {
        id: MessageId,
        source: PeerId,
        verdict: GossipVerdict,
    },
    /// Open a stream to `peer` and run anti-entropy of `context` as the initiator, charged
    /// to `device`'s budgets, in budget epoch `epoch`; report [`Input::SessionEnded`] and
    /// [`Input::OutboundEnded`].
    StartSync {
        peer: PeerId,
        device: DeviceKey,
        context: ContextId,
        epoch: Epoch,
    },
    /// Read the stream's preamble and report [`Input::Preamble`] (or
    /// [`Input::PreambleFailed`]), then [`Input::StreamEnded`].
    AcceptStream(StreamToken),
    /// Drop the stream unanswered.
    RefuseStream(StreamToken),
    /// Answer the stream with a responder of `context`'s anti-entropy; report
    /// [`Input::SessionEnded`] and [`Input::ResponderEnded`].
    Respond {
        token: StreamToken,
        device: DeviceKey,
        context: ContextId,
    },
    /// Count a protocol violation against `peer` (enough of them disconnect it).
    Penalize(PeerId),
    Dial {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
    },
    /// Ask the network (Kademlia) where `peer` is now.
    FindPeer(PeerId),
    /// Keep the addresses `peer` reported, so that it is found again after a restart.
    RecordPeerAddrs {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
    },
    /// Make facts received without waiting for the disk durable.
    PersistPending,
    /// Keep the budget ledgers.
    SaveLedgers(KeptLedgers),
    /// Answer the stream with the inviter's side of relationship formation: report
    /// [`Input::HandshakeAsked`], [`Input::HandshakeProved`], [`Input::HandshakeEnded`].
    RespondInvitation {
        token: StreamToken,
        device: DeviceKey,
        invitation: InvitationKey,
    },
    /// The inviter's answer to an ask.
    Challenge {
        token: StreamToken,
        challenge: Challenge,
    },
    /// The inviter's verdict on a proof.
    Verdict {
        token: StreamToken,
        verdict: Verdict,
    },
    /// Dial the inviter at `addrs` (then wherever it is known) and run the invitee's side;
    /// report each step as [`Input::Acceptance`].
    StartAcceptance {
        key: InvitationKey,
        peer: PeerId,
        device: DeviceKey,
        addrs: Vec<Multiaddr>,
        ask: Ask,
    },
    /// The proof an acceptance's task sends.
    AcceptanceProof {
        key: InvitationKey,
        proof: Proof,
    },
    /// Keep a contact's pairwise context and secret.
    StoreContact(ContactRow),
    /// Keep an acceptance until it ends; forget it when it did.
    StoreAcceptance(AcceptanceRow),
    ForgetAcceptance(InvitationKey),
    /// Read these facts of `context` (all of them for `None`) and report
    /// [`Input::GroupFacts`]; `resumed` for a group's whole journal given to a membership
    /// restored from the store.
    LoadGroupFacts {
        context: ContextId,
        ids: Option<Vec<FactId>>,
        resumed: bool,
    },
    /// Keep a group's row.
    StoreGroup(GroupRow),
    /// Keep messages read in a group.
    StoreGroupMessages(Vec<MessageRow>),
    /// `reader` read these messages of a group.
    StoreReceipts {
        context: ContextId,
        reader: DeviceKey,
        ids: Vec<FactId>,
    },
    /// Keep the private halves of KeyPackages (before they are offered).
    StoreKeyPackages(Vec<KeyPackageRow>),
    ForgetKeyPackage([u8; 32]),
    /// Keep a submitted message until it is sent; answer `request` once it is kept.
    StoreOutbox {
        row: OutboxRow,
        request: Option<RequestId>,
    },
    /// Drop a message that can never be sent.
    ForgetOutbox(OutboxRow),
}
