//! The agent's core: every policy of a node as one sans-IO state machine, in the shape of
//! quinn-proto. The core takes [`Input`]s (front-end requests, network events, session and
//! store results, the passing of time) together with the wall clock `now` and a randomness
//! source, and returns what to do as [`Effect`]s, which [`super::shell`] performs: the core
//! never touches the store, the network, a clock or the operating system's RNG, and spawns
//! nothing. Everything here is tested by driving inputs with a fixed clock and a seeded RNG.
//!
//! One submodule per policy, so that a new feature is a new submodule:
//! - [`peers`] — connected peers, who takes part in which context, the device-key cache;
//! - [`redial`] — saved and known peers dialled again, with capped exponential backoff;
//! - [`admission`] — caps on inbound sessions and responders;
//! - [`gossip`] — receive budgets and verdicts on gossiped facts;
//! - [`writes`] — signing, charging and batching this device's writes;
//! - [`sync`] — anti-entropy: whom to sync with, when, and how sessions ended;
//! - [`invitations`] — names, invitations, contacts, and the inviter's side of relationship
//!   formation;
//! - [`acceptances`] — the invitee's side: accepting a code, retrying an absent inviter.

mod acceptances;
mod admission;
mod effect;
mod gossip;
mod groups;
mod invitations;
mod peers;
mod redial;
mod sync;
mod trust;
mod writes;

#[cfg(test)]
mod tests;

use std::collections::{HashSet, VecDeque};

use ed25519_dalek::SigningKey;
use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};
use rand_core::CryptoRng;

pub use self::acceptances::{
    ACCEPT_GIVE_UP_MS, ACCEPT_RETRY_BASE_MS, ACCEPT_RETRY_CAP_MS, APPROVAL_POLL_MS, AcceptanceEvent,
};
pub use self::admission::{
    MAX_INBOUND_SESSIONS, MAX_INBOUND_SESSIONS_PER_PEER, MAX_RESPONDERS_PER_CONTEXT,
    MAX_SESSIONS_PER_PEER_PER_EPOCH,
};
pub use self::effect::Effect;
pub use self::groups::{GroupAnswer, GroupCommand, MAX_GROUP_NAME_BYTES};
pub use self::invitations::{InviteAnswer, InviteCommand, MAX_INVITATION_USES, WaitingAnswer};
pub use self::redial::{REDIAL_BASE_MS, REDIAL_CAP_MS};
pub use self::sync::SYNC_JITTER_PERCENT;
pub use self::writes::WriteRequest;

use self::acceptances::Acceptances;
use self::admission::Admission;
use self::gossip::PendingGossip;
use self::invitations::Invitations;
use self::peers::Peers;
use self::redial::Redial;
use self::sync::SyncSchedule;
use self::writes::PendingWrites;
use super::guard::{GuardCounters, KeptLedgers, NodeGuard, SESSION_OPEN_COST};
use super::session::Preamble;
use crate::invite::book::Profile;
use crate::invite::facts::InvitationKey;
use crate::invite::messages::{Ask, Proof};
use crate::net::peer_addr::PeerAddr;
use crate::node::{NodeError, NodeEvent, SessionCounters};
use crate::protocol::guarded::SharedGuard;
use crate::state::fact::{ContextId, DeviceKey, Fact, FactId};
use crate::state::flow_budget::{BudgetPolicy, Epoch};
use crate::state::hlc::HybridClock;
use crate::state::ingest::IngestReport;
use crate::state::store::{AcceptanceRow, GroupRow, KeyPackageRow, OutboxRow};

/// Wall-clock time in milliseconds since the Unix epoch: the only clock the core knows.
pub type Millis = u64;

/// How often budgets are moved to the clock's epoch.
pub const BUDGET_TICK_MS: Millis = 1_000;

/// A front end's request awaiting its answer; the shell knows where the answer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

/// A batch of facts the shell is storing for the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchId(pub u64);

/// An inbound session stream the shell holds while the core decides on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamToken(pub u64);

/// A gossip message awaiting the core's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GossipMessage {
    pub id: MessageId,
    pub source: PeerId,
    pub context: ContextId,
    pub data: Vec<u8>,
}

/// How a session ended, as the core counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionResult {
    Completed,
    /// This side's guard chain refused a send.
    Denied(String),
    /// The peer aborted, left, was too slow, or broke the protocol (`violation`).
    Failed {
        violation: bool,
    },
}

/// Everything that happens to a node, as the core sees it.
#[derive(Debug)]
pub enum Input {
    /// A front end asks to take part in `context`.
    Join {
        request: RequestId,
        context: ContextId,
    },
    /// Facts to sign, charge and store, handled as one batch.
    Writes(Vec<WriteRequest>),
    /// The shell stored (or failed to store) a batch of this device's facts.
    WritesStored {
        batch: BatchId,
        result: Result<(), String>,
    },
    /// A front end asks for anti-entropy of `context` with every peer known to share it.
    SyncNow {
        request: RequestId,
        context: ContextId,
    },
    /// The user saved `addr` (the shell stored it and dialled it already).
    PeerSaved(PeerAddr),
    /// The user removed every saved address of these peers.
    PeersForgotten(Vec<PeerId>),
    ListenAddrs(Vec<Multiaddr>),
    /// The peers connected now.
    Connected(Vec<PeerId>),
    Subscribed {
        peer: PeerId,
        context: ContextId,
    },
    Unsubscribed {
        peer: PeerId,
        context: ContextId,
    },
    /// A peer told its listen addresses (identify).
    Identified {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
    },
    /// Gossip messages that arrived together.
    Gossip(Vec<GossipMessage>),
    /// The shell stored (or failed to store) the facts of a gossip batch.
    GossipStored {
        batch: BatchId,
        result: Result<IngestReport, String>,
    },
    /// A peer opened a session stream.
    InboundStream {
        peer: PeerId,
        token: StreamToken,
    },
    /// An admitted stream's preamble said what it is for.
    Preamble {
        peer: PeerId,
        token: StreamToken,
        preamble: Preamble,
    },
    /// An admitted stream ended before a session ran; `violation` when its preamble was bad.
    PreambleFailed {
        peer: PeerId,
        violation: bool,
    },
    /// An admitted stream's task ended, however.
    StreamEnded(PeerId),
    /// A responder place of `context` is free again (its session ended, or never ran).
    ResponderEnded(ContextId),
    /// An outbound session's task ended, however (or never started).
    OutboundEnded {
        peer: PeerId,
        context: ContextId,
    },
    /// A session ended; `stored` are the facts it brought that are now in the store.
    SessionEnded {
        peer: PeerId,
        context: ContextId,
        result: SessionResult,
        stored: Vec<FactId>,
        /// Facts the session brought that the group's context does not admit: not stored.
        refused: u64,
    },
    /// A front end's request about names, invitations or contacts.
    Invite {
        request: RequestId,
        command: InviteCommand,
    },
    /// An invitee asked on an admitted stream; the core answers with [`Effect::Challenge`].
    HandshakeAsked {
        token: StreamToken,
        invitee: DeviceKey,
        ask: Ask,
    },
    /// The invitee's proof; the core answers with [`Effect::Verdict`].
    HandshakeProved {
        token: StreamToken,
        proof: Proof,
    },
    /// An inviter's session task ended, however.
    HandshakeEnded(StreamToken),
    /// The levels the web of trust gives the peers it reaches, recomputed by the shell when
    /// trust facts change.
    TrustLevels(std::collections::HashMap<DeviceKey, crate::state::trust_level::TrustLevel>),
    /// An acceptance's task reports.
    Acceptance {
        key: InvitationKey,
        event: AcceptanceEvent,
    },
    /// A front end's request about groups.
    Group {
        request: RequestId,
        command: GroupCommand,
    },
    /// Facts of a group's or a contact's context the store holds, read as
    /// [`Effect::LoadGroupFacts`] asked, `resumed` as it said.
    GroupFacts {
        context: ContextId,
        facts: Vec<Fact>,
        resumed: bool,
    },
    /// Time passed; timers due by `now` fire.
    Tick,
}

/// What a request gets back.
#[derive(Debug)]
pub enum Reply {
    Written(Result<FactId, NodeError>),
    SyncStarted(usize),
    Invite(Result<InviteAnswer, NodeError>),
    Group(Result<GroupAnswer, NodeError>),
}

/// What the core is built from.
#[derive(Debug)]
pub struct CoreConfig {
    pub local_peer: PeerId,
    pub signing_key: SigningKey,
    pub guard: NodeGuard,
    pub sync_interval_ms: Millis,
    /// Contexts the store says this node takes part in.
    pub joined: Vec<ContextId>,
    /// Addresses the user saved.
    pub saved: Vec<PeerAddr>,
    /// Addresses peers reported about themselves, as kept in the store.
    pub known: Vec<(PeerId, Vec<Multiaddr>)>,
    /// What the device's own context says.
    pub profile: Profile,
    /// Each contact's pairwise context.
    pub contacts: Vec<(DeviceKey, ContextId)>,
    /// Invitations this device redeemed: the invitation, the inviter, when.
    pub redeemed: Vec<(InvitationKey, DeviceKey, Millis)>,
    /// Acceptances kept from before a restart.
    pub acceptances: Vec<AcceptanceRow>,
    /// The user's trust settings.
    pub trust: crate::trust::book::TrustSettings,
    /// The groups as last stored, the private halves of KeyPackages offered, and messages
    /// submitted and not sent yet.
    pub groups: Vec<GroupRow>,
    pub key_packages: Vec<KeyPackageRow>,
    pub outbox: Vec<OutboxRow>,
}

/// The counters and state `aura status` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreStatus {
    pub contexts: usize,
    pub guard: GuardCounters,
    pub budget_epoch: Epoch,
    pub sessions: SessionCounters,
}

/// The node's policies, as one state machine.
#[derive(Debug)]
pub struct Core {
    local_peer: PeerId,
    device: DeviceKey,
    signing_key: SigningKey,
    clock: HybridClock,
    guard: NodeGuard,
    joined: HashSet<ContextId>,
    peers: Peers,
    redial: Redial,
    admission: Admission,
    sync: SyncSchedule,
    writes: PendingWrites,
    gossip: PendingGossip,
    invitations: Invitations,
    acceptances: Acceptances,
    trust: crate::trust::book::TrustSettings,
    groups: groups::Groups,
    /// Contacts' contexts whose KeyPackages were topped up since the start.
    offered_to: HashSet<ContextId>,
    sessions: SessionCounters,
    next_budget_tick: Millis,
    next_batch: u64,
    effects: VecDeque<Effect>,
}

impl Core {
    /// A core as of `now`: it subscribes to the joined contexts and dials the saved and
    /// known peers at once (see [`Core::poll_effect`]).
    pub fn new(config: CoreConfig, now: Millis, rng: &mut impl CryptoRng) -> Self {
        let CoreConfig {
            local_peer,
            signing_key,
            guard,
            sync_interval_ms,
            joined,
            saved,
            known,
            profile,
            contacts,
            redeemed,
            acceptances,
            trust,
            groups,
            key_packages,
            outbox,
        } = config;
        let own_context = crate::invite::handshake::own_context(&signing_key);
        let mut core = Self {
            local_peer,
            device: DeviceKey::of(&signing_key),
            invitations: Invitations::new(own_context, profile, contacts.into_iter().collect()),
            acceptances: Acceptances::default(),
            trust,
            groups: groups::Groups::new(groups, key_packages, outbox),
            offered_to: HashSet::new(),
            signing_key,
            clock: HybridClock::new(),
            guard,
            joined: HashSet::new(),
            peers: Peers::default(),
            redial: Redial::new(local_peer),
            admission: Admission::default(),
            sync: SyncSchedule::new(sync_interval_ms, now, rng),
            writes: PendingWrites::default(),
            gossip: PendingGossip::default(),
            sessions: SessionCounters::default(),
            next_budget_tick: now.saturating_add(BUDGET_TICK_MS),
            next_batch: 0,
            effects: VecDeque::new(),
        };
        for context in joined {
            if core.joined.insert(context) {
                core.effects.push_back(Effect::Subscribe(context));
            }
        }
        for addr in saved {
            core.redial
                .add(addr.peer(), vec![addr.into_multiaddr()], now);
        }
        for (peer, addrs) in known {
            core.redial.add(peer, addrs, now);
        }
        for (key, inviter, at) in redeemed {
            core.acceptances.redeemed.insert(key, (inviter, at));
        }
        for row in acceptances {
            core.resume_acceptance(row, now);
        }
        core.resume_groups();
        core.redial_due(now, rng);
        core
    }

    /// Feeds one input; its effects are then taken with [`Core::poll_effect`].
    pub fn handle(&mut self, input: Input, now: Millis, rng: &mut impl CryptoRng) {
        match input {
            Input::Join { request, context } => self.join(context, Some(request)),
            Input::Writes(writes) => self.write_batch(writes, now),
            Input::WritesStored { batch, result } => self.writes_stored(batch, result),
            Input::SyncNow { request, context } => {
                let started = self
                    .peers
                    .subscribers_of(context)
                    .into_iter()
                    .filter(|peer| self.start_sync(*peer, context))
                    .count();
                self.effects.push_back(Effect::Reply {
                    request,
                    reply: Reply::SyncStarted(started),
                });
            }
            Input::PeerSaved(addr) => {
                // The shell dialled it already: the first retry waits one backoff step.
                self.redial
                    .add_dialled(addr.peer(), addr.into_multiaddr(), now, rng);
            }
            Input::PeersForgotten(peers) => {
                for peer in peers {
                    self.redial.forget(&peer);
                }
            }
            Input::ListenAddrs(addrs) => {
                tracing::debug!(?addrs, "listen addresses changed");
                self.effects
                    .push_back(Effect::Notify(NodeEvent::ListenAddrs(addrs)));
            }
            Input::Connected(peers) => {
                self.inviter_connected(&peers, now);
                self.peers.set_connected(peers.clone());
                self.redial.set_connected(&peers, now, rng);
                self.effects
                    .push_back(Effect::Notify(NodeEvent::Peers(peers)));
            }
            Input::Subscribed { peer, context } => self.subscribed(peer, context),
            Input::Unsubscribed { peer, context } => self.peers.unsubscribe(&peer, context),
            Input::Identified { peer, addrs } => {
                if let Some(addrs) = self.redial.identified(peer, addrs) {
                    self.effects
                        .push_back(Effect::RecordPeerAddrs { peer, addrs });
                }
            }
            Input::Gossip(messages) => self.gossip(messages),
            Input::GossipStored { batch, result } => self.gossip_stored(batch, result),
            Input::InboundStream { peer, token } => self.inbound_stream(peer, token),
            Input::Preamble {
                peer,
                token,
                preamble,
            } => self.preamble(peer, token, preamble, now),
            Input::PreambleFailed { peer, violation } => {
                self.sessions.refused += 1;
                if violation {
                    self.effects.push_back(Effect::Penalize(peer));
                }
            }
            Input::StreamEnded(peer) => self.admission.inbound_ended(&peer),
            Input::ResponderEnded(context) => self.admission.responder_ended(context),
            Input::OutboundEnded { peer, context } => self.sync.outbound_ended(peer, context),
            Input::SessionEnded {
                peer,
                context,
                result,
                stored,
                refused,
            } => self.session_ended(peer, context, result, stored, refused),
            Input::Invite { request, command } => self.invite_command(request, command, now, rng),
            Input::HandshakeAsked {
                token,
                invitee,
                ask,
            } => self.handshake_asked(token, invitee, ask, now, rng),
            Input::HandshakeProved { token, proof } => self.handshake_proved(token, proof, now),
            Input::HandshakeEnded(token) => self.handshake_ended(token),
            Input::Acceptance { key, event } => self.acceptance_event(key, event, now),
            Input::TrustLevels(levels) => self.trust_levels(levels),
            Input::Group { request, command } => self.group_command(request, command, now, rng),
            Input::GroupFacts {
                context,
                facts,
                resumed,
            } => self.group_facts(context, facts, resumed, now, rng),
            Input::Tick => self.tick(now, rng),
        }
        self.acceptances_due(now, rng);
        self.offer_key_packages(now, rng);
    }

    /// The next effect to perform, oldest first.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When the core next needs a [`Input::Tick`].
    pub fn poll_timeout(&self) -> Millis {
        let mut next = self.next_budget_tick.min(self.sync.next_at());
        if let Some(redial) = self.redial.next_at() {
            next = next.min(redial);
        }
        for at in [
            self.acceptances.next_at(),
            self.invitations.next_expiry(),
            self.groups.next_at(),
        ]
        .into_iter()
        .flatten()
        {
            next = next.min(at);
        }
        next
    }

    /// What the device's own context says: its name, invitations and nicknames.
    pub fn profile(&self) -> &Profile {
        &self.invitations.profile
    }

    /// Acceptances of this device's `--approve` invitations waiting for the user.
    pub fn waiting_answers(&self) -> &[WaitingAnswer] {
        &self.invitations.waiting
    }

    /// The state sessions charge their sends to.
    pub fn shared_guard(&self) -> SharedGuard {
        self.guard.shared()
    }

    pub fn status(&self) -> CoreStatus {
        CoreStatus {
            contexts: self.joined.len(),
            guard: self.guard.counters(),
            budget_epoch: self.guard.epoch(),
            sessions: self.sessions,
        }
    }

    /// The ledgers as they are now, and the policy that says when they refill.
    pub fn ledgers(&self) -> (KeptLedgers, BudgetPolicy) {
        (self.guard.ledgers(), self.guard.policy().clone())
    }

    /// Whether facts of `context` can change trust: the device's own context or a
    /// contact's.
    pub fn holds_trust(&self, context: ContextId) -> bool {
        context == self.invitations.own_context
            || self.invitations.contacts.values().any(|c| *c == context)
    }

    /// How far the web of trust reaches.
    pub fn trust_hop_limit(&self) -> u8 {
        self.guard.trust_hop_limit()
    }

    /// The device's own context, where its settings are recorded.
    pub fn own_context(&self) -> ContextId {
        self.invitations.own_context
    }

    /// Why each message of a group's outbox waits, oldest first.
    pub fn pending_reasons(&self, context: &ContextId) -> Vec<Option<String>> {
        self.groups.outbox.reasons(context)
    }

    /// Whether `fact` may be stored in `context`: in a group's context, a fact of a kind
    /// that belongs there, authored by a member.
    pub fn admits_fact(&self, context: &ContextId, fact: &crate::state::fact::Fact) -> bool {
        self.groups.admits_kind(context, fact.kind()) && self.groups.admits(context, &fact.author())
    }

    /// This device's key.
    pub fn device(&self) -> DeviceKey {
        self.device
    }

    pub fn connected(&self) -> &[PeerId] {
        self.peers.connected()
    }

    fn next_batch(&mut self) -> BatchId {
        self.next_batch += 1;
        BatchId(self.next_batch)
    }

    /// Takes part in `context`; a context already joined costs nothing.
    fn join(&mut self, context: ContextId, request: Option<RequestId>) {
        if !self.joined.insert(context) {
            if let Some(request) = request {
                self.effects.push_back(Effect::PersistJoin {
                    context,
                    request: Some(request),
                });
            }
            return;
        }
        self.effects
            .push_back(Effect::PersistJoin { context, request });
        self.effects.push_back(Effect::Subscribe(context));
        // Peers already known to take part get their budgets and a session now rather than
        // at the next period.
        for peer in self.peers.subscribers_of(context) {
            if let Some(device) = self.peers.device(&peer)
                && self.serves(&device)
                && self.groups.admits(&context, &device)
            {
                self.guard.admit_member(context, device);
                self.start_sync(peer, context);
            }
        }
    }

    fn subscribed(&mut self, peer: PeerId, context: ContextId) {
        // The network reports subscriptions to joined contexts only; a late report of one
        // this node left is ignored.
        if !self.joined.contains(&context) {
            return;
        }
        self.peers.subscribe(peer, context);
        match self.peers.device(&peer) {
            Some(device) if self.serves(&device) && self.groups.admits(&context, &device) => {
                self.guard.admit_member(context, device);
            }
            _ => return,
        }
        // Both sides see the subscription; the one with the smaller id starts, so a pair
        // runs one session, which moves facts both ways.
        if self.local_peer < peer {
            self.start_sync(peer, context);
        }
    }

    /// A peer opened a stream: refused at once when over the caps or the peer's budget.
    fn inbound_stream(&mut self, peer: PeerId, token: StreamToken) {
        let Some(device) = self.peers.device(&peer) else {
            self.sessions.refused += 1;
            self.effects.push_back(Effect::RefuseStream(token));
            return;
        };
        let member = self.peers.is_member(&peer);
        let admitted = self
            .admission
            .admit_stream(peer, member, self.guard.epoch())
            .and_then(|()| {
                if self.guard.receive(device, SESSION_OPEN_COST) {
                    Ok(())
                } else {
                    Err(admission::Refusal::OverBudget)
                }
            });
        match admitted {
            Ok(()) => {
                self.admission.stream_opened(peer, self.guard.epoch());
                self.effects.push_back(Effect::AcceptStream(token));
            }
            Err(refusal) => {
                tracing::debug!(%peer, ?refusal, "an inbound session refused");
                self.sessions.refused += 1;
                self.effects.push_back(Effect::RefuseStream(token));
            }
        }
    }

    /// An admitted stream named its context: answered by a responder if this node takes
    /// part in it and the context has room.
    fn preamble(&mut self, peer: PeerId, token: StreamToken, preamble: Preamble, now: Millis) {
        let context = preamble.context;
        let device = self.peers.device(&peer);
        if preamble.protocol == super::session::SessionProtocol::RelationshipFormation {
            // Anyone may ask about an invitation: the answer says whether it is known.
            match device {
                Some(device) => {
                    self.guard.admit_handshake(context, device);
                    self.effects.push_back(Effect::RespondInvitation {
                        token,
                        device,
                        invitation: InvitationKey(context.0),
                    });
                }
                None => {
                    self.sessions.refused += 1;
                    self.effects.push_back(Effect::RefuseStream(token));
                }
            }
            return;
        }
        let answer = match device {
            Some(device) if !self.serves(&device) => {
                tracing::debug!(%peer, "anti-entropy refused to a stranger");
                self.sessions.stranger_sessions += 1;
                None
            }
            Some(device) if !self.groups.admits(&context, &device) => {
                // The same refusal as for a context not joined: a non-member learns nothing.
                tracing::debug!(%peer, "anti-entropy of a group refused to a non-member");
                self.sessions.non_member_sessions += 1;
                None
            }
            Some(device) if self.joined.contains(&context) => {
                if self.admission.admit_responder(context) {
                    // A peer that names the context knows it: a member, whose epoch counts.
                    self.guard.observe_peer_epoch(preamble.epoch, now);
                    self.guard.admit_member(context, device);
                    Some(device)
                } else {
                    tracing::debug!(%peer, "anti-entropy declined: the context has enough responders");
                    None
                }
            }
            _ => {
                tracing::debug!(%peer, "anti-entropy asked for a context not joined");
                None
            }
        };
        match answer {
            Some(device) => self.effects.push_back(Effect::Respond {
                token,
                device,
                context,
            }),
            None => {
                self.sessions.refused += 1;
                self.effects.push_back(Effect::RefuseStream(token));
            }
        }
    }

    fn tick(&mut self, now: Millis, rng: &mut impl CryptoRng) {
        if now >= self.next_budget_tick {
            if self.guard.tick(now) {
                self.admission.new_epoch();
            }
            self.next_budget_tick = now.saturating_add(BUDGET_TICK_MS);
        }
        if now >= self.sync.next_at() {
            self.periodic(now, rng);
        }
        self.redial_due(now, rng);
        self.record_expiries(now);
        self.poll_groups(now, rng);
    }

    fn redial_due(&mut self, now: Millis, rng: &mut impl rand_core::Rng) {
        for attempt in self.redial.due(now, rng) {
            self.effects.push_back(Effect::Dial {
                peer: attempt.peer,
                addrs: attempt.addrs,
            });
            if attempt.look_up {
                self.effects.push_back(Effect::FindPeer(attempt.peer));
            }
        }
    }
}
