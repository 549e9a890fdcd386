//! The agent: one task that owns the store and the sync state machines, takes commands from
//! the UI, the CLI and the control socket, turns network events into state changes, and
//! publishes what changed.
//!
//! Every outgoing message passes the guard chain first: a gossip publish is charged by
//! [`NodeGuard::authorize_publish`] before the fact is stored, and every message of a session
//! by the guarded transport its task runs (see [`super::session`]). What peers send is
//! counted against their receive budgets before it is looked at.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use libp2p::{Multiaddr, PeerId, Stream};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::budget_report::BudgetReport;
use super::guard::{GuardConfig, KeptLedgers, NodeGuard, PUBLISH_FLOW_COST, SESSION_OPEN_COST};
use super::session::{self, Outcome};
use crate::net::{GossipVerdict, NetConfig, NetEvent, NetHandle, device_of, node};
use crate::node::client::Request;
use crate::node::{
    NodeClient, NodeError, NodeEvent, NodeStatus, PeerAdded, PeerEntry, Reach, SessionCounters,
};
use crate::protocol::anti_entropy::AntiEntropyError;
use crate::protocol::guarded::Route;
use crate::protocol::transport::SessionError;
use crate::state::coordinator::CrdtCoordinator;
use crate::state::fact::{ContextId, DeviceKey, Fact, FactId, FactKind};
use crate::state::hlc::HybridClock;
use crate::state::ingest::{self, RejectKind};
use crate::state::journal::Journal;
use crate::state::leakage::{Relationship, Timing};
use crate::state::sync::{self, JournalCoordinator};
use crate::state::{Store, StoreError};

/// Commands the agent may have queued before callers wait.
const COMMAND_CAPACITY: usize = 1024;
/// Commands or network events handled together, so that facts arriving together are written
/// in one store transaction.
const MAX_BATCH: usize = 1024;
/// Subscribers of agent events may lag this many events before they miss some.
const EVENT_CAPACITY: usize = 65_536;
/// Inbound anti-entropy sessions kept at once, in all and per peer.
pub const MAX_INBOUND_SESSIONS: usize = 64;
pub const MAX_INBOUND_SESSIONS_PER_PEER: usize = 4;
/// Sessions one peer may open per budget epoch: an honest peer opens one when it connects
/// and one per sync period, and each session this device answers spends its budget toward
/// that peer, which a peer opening sessions at will could otherwise drain.
pub const MAX_SESSIONS_PER_PEER_PER_EPOCH: u32 = 16;
/// Device keys remembered at once; the connection limits keep connected peers far fewer.
const MAX_REMEMBERED_DEVICES: usize = 1024;
/// How long opening a session stream may take, dialling included.
const OPEN_SESSION_TIMEOUT: Duration = Duration::from_secs(15);
/// Responders running at once for one context: each holds a copy of the context's facts, so
/// this bounds what a large context costs in memory whoever asks. Twice the per-peer cap, so
/// that one peer alone cannot take every place.
pub const MAX_RESPONDERS_PER_CONTEXT: usize = 2 * MAX_INBOUND_SESSIONS_PER_PEER;
/// How long `peer add` waits for the dial before saying the node keeps trying.
const PEER_ADD_DIAL_WAIT: Duration = Duration::from_secs(5);
/// How often budgets are moved to the clock's epoch.
const BUDGET_TICK: Duration = Duration::from_secs(1);
/// Default period of anti-entropy with a random peer of each context.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(30);
/// Each period is stretched or shrunk by up to this fraction, so that peers started together
/// do not all sync at the same moment.
const SYNC_JITTER_FRACTION: f64 = 0.25;

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub net: NetConfig,
    pub sync_interval: Duration,
    pub guard: GuardConfig,
}

/// Starts the network node and the agent on the current tokio runtime. The returned join
/// handle yields the store back when the agent stops, which releases the profile's lock when
/// dropped.
pub(crate) async fn spawn(
    store: Store,
    signing_key: SigningKey,
    mut config: AgentConfig,
) -> Result<
    (
        NodeClient,
        broadcast::Receiver<NodeEvent>,
        tokio::task::JoinHandle<Store>,
    ),
    NodeError,
> {
    for addr in store.peer_addrs()? {
        match addr.parse::<Multiaddr>() {
            Ok(addr) => config.net.dial.push(addr),
            Err(err) => tracing::warn!(%addr, %err, "a stored peer address does not parse"),
        }
    }
    let kept = KeptLedgers::load(&store, &config.guard)?;
    let guard = NodeGuard::new(config.guard, kept, now_ms());
    let local_peer = config.net.keypair.public().to_peer_id();
    let (net, net_events, net_task) = node::spawn(config.net).await?;
    let mut joined = HashSet::new();
    for context in store
        .joined_contexts()?
        .into_iter()
        .chain(store.journal_views()?.into_keys())
    {
        if joined.insert(context) {
            net.subscribe(context)?;
        }
    }
    let (commands, command_rx) = mpsc::channel(COMMAND_CAPACITY);
    // Subscribed before the agent publishes anything, so that the first subscriber sees the
    // node's first state.
    let (events, first_events) = broadcast::channel(EVENT_CAPACITY);
    let (internal, internal_rx) = mpsc::unbounded_channel();
    let agent = Agent {
        store,
        device: DeviceKey::of(&signing_key),
        signing_key,
        clock: HybridClock::new(),
        local_peer,
        net,
        net_task,
        guard,
        events: events.clone(),
        internal,
        joined,
        subscribers: HashMap::new(),
        connected: Vec::new(),
        outbound: HashSet::new(),
        inbound: HashMap::new(),
        responders: HashMap::new(),
        session_opens: HashMap::new(),
        devices: HashMap::new(),
        sessions: SessionCounters::default(),
        sync_interval: config.sync_interval,
    };
    let task = tokio::spawn(agent.run(command_rx, net_events, internal_rx));
    Ok((NodeClient::new(commands, events), first_events, task))
}

/// A write waiting for its batch: context, kind, body and where the fact id goes.
type PendingWrite = (
    ContextId,
    FactKind,
    Vec<u8>,
    oneshot::Sender<Result<FactId, NodeError>>,
);

/// A gossip message the agent is to judge.
struct GossipMessage {
    id: libp2p::gossipsub::MessageId,
    source: PeerId,
    context: ContextId,
    data: Vec<u8>,
}

/// What session tasks tell the agent.
enum Internal {
    InitiatorDone {
        peer: PeerId,
        context: ContextId,
        /// Facts the session's journal started with.
        loaded: usize,
        outcome: Outcome<sync::Initiator>,
    },
    /// An outbound session's task ended, however: its place is free.
    OutboundEnded { peer: PeerId, context: ContextId },
    /// An inbound stream's preamble asked for anti-entropy: the agent answers with a
    /// responder over the context's facts and their count, or nothing to refuse.
    OpenResponder {
        peer: PeerId,
        preamble: session::Preamble,
        reply: oneshot::Sender<Option<(sync::Responder, usize)>>,
    },
    ResponderDone {
        peer: PeerId,
        context: ContextId,
        loaded: usize,
        outcome: Outcome<sync::Responder>,
    },
    /// An inbound stream ended before a session ran; `violation` when its preamble was bad.
    InboundRefused { peer: PeerId, violation: bool },
    /// An inbound stream's task ended, however: its place, and its responder's, are free.
    InboundEnded {
        peer: PeerId,
        responder: Option<ContextId>,
    },
}

/// Tells the agent that a session task ended when it is dropped: at the end of the task, and
/// also when the task panics, so that no place is held for ever.
struct SessionTicket {
    internal: mpsc::UnboundedSender<Internal>,
    ended: Option<Internal>,
}

impl Drop for SessionTicket {
    fn drop(&mut self) {
        if let Some(ended) = self.ended.take() {
            let _ = self.internal.send(ended);
        }
    }
}

struct Agent {
    store: Store,
    signing_key: SigningKey,
    device: DeviceKey,
    clock: HybridClock,
    local_peer: PeerId,
    net: NetHandle,
    net_task: tokio::task::JoinHandle<()>,
    guard: NodeGuard,
    events: broadcast::Sender<NodeEvent>,
    internal: mpsc::UnboundedSender<Internal>,
    joined: HashSet<ContextId>,
    /// Peers known to be subscribed to each context's topic.
    subscribers: HashMap<ContextId, HashSet<PeerId>>,
    connected: Vec<PeerId>,
    /// Sessions this device started, one per peer and context at a time.
    outbound: HashSet<(PeerId, ContextId)>,
    /// Inbound sessions running, per peer.
    inbound: HashMap<PeerId, usize>,
    /// Responders running, per context.
    responders: HashMap<ContextId, usize>,
    /// Device keys of connected peers, decoded once.
    devices: HashMap<PeerId, DeviceKey>,
    /// Sessions each peer opened in the current budget epoch.
    session_opens: HashMap<PeerId, (u64, u32)>,
    sessions: SessionCounters,
    sync_interval: Duration,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or(0)
}

/// A period of `base` stretched or shrunk at random by up to [`SYNC_JITTER_FRACTION`].
fn jittered(base: Duration) -> Duration {
    let random = getrandom::u64().unwrap_or(0) as f64 / u64::MAX as f64;
    base.mul_f64(1.0 + SYNC_JITTER_FRACTION * (2.0 * random - 1.0))
}

fn random_index(len: usize) -> usize {
    (getrandom::u64().unwrap_or(0) % len.max(1) as u64) as usize
}

/// The route of a session with `device` in `context`: a member, messages sent as the
/// protocol produces them.
fn route(context: ContextId, device: DeviceKey) -> Route {
    Route {
        context,
        peer: device,
        relationship: Relationship::Group,
        timing: Timing::Batched,
    }
}

impl Agent {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Request>,
        mut net_events: mpsc::Receiver<NetEvent>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
    ) -> Store {
        let mut next_sync = tokio::time::Instant::now() + jittered(self.sync_interval);
        let mut budget_tick = tokio::time::interval(BUDGET_TICK);
        budget_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = commands.recv() => {
                    let Some(first) = command else { break };
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match commands.try_recv() {
                            Ok(command) => batch.push(command),
                            Err(_) => break,
                        }
                    }
                    if self.commands(batch) {
                        break;
                    }
                }
                event = net_events.recv() => {
                    let Some(first) = event else { break };
                    let mut batch = vec![first];
                    let mut yielded = false;
                    while batch.len() < MAX_BATCH {
                        match net_events.try_recv() {
                            Ok(event) => batch.push(event),
                            // Once, let the swarm queue what it is decoding, so that a burst
                            // becomes one store transaction rather than many.
                            Err(_) if !yielded => {
                                yielded = true;
                                tokio::task::yield_now().await;
                            }
                            Err(_) => break,
                        }
                    }
                    self.net_events(batch);
                }
                Some(message) = internal.recv() => self.internal(message),
                _ = budget_tick.tick() => {
                    if self.guard.tick(now_ms()) {
                        self.session_opens.clear();
                    }
                }
                () = tokio::time::sleep_until(next_sync) => {
                    self.periodic();
                    next_sync = tokio::time::Instant::now() + jittered(self.sync_interval);
                }
            }
        }
        self.save_budgets();
        if let Err(err) = self.store.persist_pending() {
            tracing::error!(%err, "persisting received facts at shutdown");
        }
        self.net_task.abort();
        // The swarm must be gone (its listeners closed) before the store is handed back.
        let _ = (&mut self.net_task).await;
        tracing::info!("agent stopped");
        self.store
    }

    fn save_budgets(&self) {
        if let Err(err) = self.guard.ledgers().save(&self.store) {
            tracing::error!(%err, "saving the budget ledgers");
        }
    }

    /// Handles a batch of commands; `true` to stop.
    fn commands(&mut self, batch: Vec<Request>) -> bool {
        let mut writes = Vec::new();
        let mut stop = false;
        for command in batch {
            match command {
                Request::Write {
                    context,
                    kind,
                    body,
                    reply,
                } => writes.push((context, kind, body, reply)),
                Request::Shutdown => stop = true,
                other => self.command(other),
            }
        }
        if !writes.is_empty() {
            self.write_batch(writes);
        }
        stop
    }

    fn command(&mut self, command: Request) {
        match command {
            Request::JoinContext(context, reply) => {
                let _ = reply.send(self.join(context));
            }
            Request::AddPeer(addr, reply) => {
                let fresh = match self.store.add_peer_addr(&addr.to_string(), now_ms()) {
                    Ok(fresh) => fresh,
                    Err(err) => {
                        let _ = reply.send(Err(err.into()));
                        return;
                    }
                };
                let net = self.net.clone();
                tokio::spawn(async move {
                    let dialled =
                        tokio::time::timeout(PEER_ADD_DIAL_WAIT, net.dial(addr.addr().clone()))
                            .await;
                    let reach = match dialled {
                        Ok(Ok(())) => Reach::Connected,
                        Ok(Err(err)) => Reach::NotYet(err.to_string()),
                        Err(_) => Reach::NotYet("no answer yet".to_owned()),
                    };
                    let _ = reply.send(Ok(PeerAdded { addr, fresh, reach }));
                });
            }
            Request::RemovePeer(_target, reply) => {
                let _ = reply.send(Err(NodeError::Control("not yet".into())));
            }
            Request::Peers(reply) => {
                let connected = self.connected.clone();
                let entries = self.store.peer_addrs().map(|addrs| {
                    addrs
                        .into_iter()
                        .map(|addr| {
                            let peer = addr
                                .parse::<Multiaddr>()
                                .ok()
                                .and_then(crate::net::peer_addr::PeerAddr::from_multiaddr)
                                .map(|addr| addr.peer());
                            PeerEntry {
                                connected: Some(peer.is_some_and(|p| connected.contains(&p))),
                                addr,
                                added_ms: 0,
                                peer,
                            }
                        })
                        .collect()
                });
                let _ = reply.send(entries.map_err(NodeError::from));
            }
            Request::Status(reply) => {
                let facts = self.store.journal_len();
                let contexts = self.joined.len();
                let guard = self.guard.counters();
                let budget_epoch = self.guard.epoch();
                let sessions = self.sessions;
                let net = self.net.clone();
                tokio::spawn(async move {
                    let result = match (facts, net.info().await) {
                        (Ok(facts), Ok(net)) => Ok(NodeStatus {
                            net,
                            facts,
                            contexts,
                            guard,
                            budget_epoch,
                            sessions,
                        }),
                        (Err(err), _) => Err(err.into()),
                        (_, Err(err)) => Err(err.into()),
                    };
                    let _ = reply.send(result);
                });
            }
            Request::FactCount(context, reply) => {
                let count = self
                    .store
                    .journal_facts_of(context)
                    .map(|facts| facts.len());
                let _ = reply.send(count.map_err(NodeError::from));
            }
            Request::MeshPeers(context, reply) => {
                let net = self.net.clone();
                tokio::spawn(async move {
                    let _ = reply.send(net.mesh_peers(context).await.map_err(NodeError::from));
                });
            }
            Request::SyncNow(context, reply) => {
                let started = self
                    .subscribers_of(context)
                    .into_iter()
                    .filter(|peer| self.start_sync(*peer, context))
                    .count();
                let _ = reply.send(started);
            }
            Request::Budgets(reply) => {
                let _ = reply.send(BudgetReport {
                    ledgers: self.guard.ledgers(),
                    policy: self.guard.policy().clone(),
                    now_ms: now_ms(),
                });
            }
            Request::Write { reply, .. } => {
                let _ = reply.send(Err(NodeError::Stopped));
            }
            Request::Shutdown => {}
        }
    }

    /// The device key `peer` names, remembered while it is connected: decoding one means
    /// decompressing a curve point, which gossip would otherwise pay for every message.
    fn device(&mut self, peer: &PeerId) -> Option<DeviceKey> {
        if let Some(device) = self.devices.get(peer) {
            return Some(*device);
        }
        let device = device_of(peer)?;
        if self.devices.len() < MAX_REMEMBERED_DEVICES {
            self.devices.insert(*peer, device);
        }
        Some(device)
    }

    fn subscribers_of(&self, context: ContextId) -> Vec<PeerId> {
        self.subscribers
            .get(&context)
            .map(|peers| peers.iter().copied().collect())
            .unwrap_or_default()
    }

    fn join(&mut self, context: ContextId) -> Result<(), NodeError> {
        // Every write passes here: a context already joined costs no store transaction.
        if self.joined.contains(&context) {
            return Ok(());
        }
        self.store.join_context(context, now_ms())?;
        self.joined.insert(context);
        self.net.subscribe(context)?;
        // Peers already known to take part get their budgets and a session now rather than
        // at the next tick.
        for peer in self.subscribers_of(context) {
            if let Some(device) = device_of(&peer) {
                self.guard.admit_member(context, device);
            }
            self.start_sync(peer, context);
        }
        Ok(())
    }

    /// Signs each fact and charges its publish to the guard chain, stores the admitted ones
    /// in one transaction, then gossips them. A fact the guard refuses is neither stored nor
    /// sent, and its writer is told why.
    fn write_batch(&mut self, writes: Vec<PendingWrite>) {
        let now = now_ms();
        let mut signed = Vec::with_capacity(writes.len());
        for (context, kind, body, reply) in writes {
            let fact = self
                .clock
                .now(now)
                .map_err(|err| NodeError::Clock(err.to_string()))
                .and_then(|time| {
                    Fact::sign(&self.signing_key, context, time, kind, body)
                        .map_err(|err| NodeError::Fact(err.to_string()))
                })
                .and_then(|fact| self.join(context).map(|()| fact))
                .and_then(|fact| {
                    let bytes = fact.encode();
                    let peers = self.subscribers_of(context);
                    let subscribers: Vec<DeviceKey> =
                        peers.iter().filter_map(|peer| self.device(peer)).collect();
                    self.guard.authorize_publish(
                        context,
                        self.device,
                        &subscribers,
                        bytes.len(),
                    )?;
                    Ok((fact, bytes))
                });
            match fact {
                Ok((fact, bytes)) => signed.push((fact, bytes, reply)),
                Err(err) => {
                    tracing::info!(%err, "a write was not sent");
                    let _ = reply.send(Err(err));
                }
            }
        }
        if signed.is_empty() {
            return;
        }
        let facts: Vec<Fact> = signed.iter().map(|(fact, _, _)| fact.clone()).collect();
        if let Err(err) = self.store.ingest_decoded(facts, now) {
            let message = err.to_string();
            for (_, _, reply) in signed {
                let _ = reply.send(Err(NodeError::Fact(message.clone())));
            }
            return;
        }
        let mut stored: HashMap<ContextId, Vec<FactId>> = HashMap::new();
        for (fact, bytes, reply) in signed {
            let sent = self
                .net
                .publish(fact.context(), bytes)
                .map_err(NodeError::from);
            stored.entry(fact.context()).or_default().push(fact.id());
            let _ = reply.send(sent.map(|()| fact.id()));
        }
        for (context, ids) in stored {
            let _ = self.events.send(NodeEvent::FactsStored { context, ids });
        }
    }

    fn net_events(&mut self, batch: Vec<NetEvent>) {
        let mut gossip = Vec::new();
        for event in batch {
            match event {
                NetEvent::Gossip {
                    id,
                    source,
                    context,
                    data,
                } => gossip.push(GossipMessage {
                    id,
                    source,
                    context,
                    data,
                }),
                other => self.net_event(other),
            }
        }
        if !gossip.is_empty() {
            self.ingest_gossip(gossip);
        }
    }

    fn net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::ListenAddrsChanged(addrs) => {
                tracing::debug!(?addrs, "listen addresses changed");
                let _ = self.events.send(NodeEvent::ListenAddrs(addrs));
            }
            NetEvent::PeersChanged(peers) => {
                for set in self.subscribers.values_mut() {
                    set.retain(|peer| peers.contains(peer));
                }
                self.subscribers.retain(|_, set| !set.is_empty());
                self.devices.retain(|peer, _| peers.contains(peer));
                self.connected = peers;
                let _ = self.events.send(NodeEvent::Peers(self.connected.clone()));
            }
            NetEvent::PeerSubscribed { peer, context } => {
                // The network reports subscriptions to joined contexts only.
                if !self.joined.contains(&context) {
                    return;
                }
                self.subscribers.entry(context).or_default().insert(peer);
                if let Some(device) = device_of(&peer) {
                    self.guard.admit_member(context, device);
                }
                // Both sides see the subscription; the one with the smaller id starts, so a
                // pair runs one session, which moves facts both ways.
                if self.local_peer < peer {
                    self.start_sync(peer, context);
                }
            }
            NetEvent::PeerUnsubscribed { peer, context } => {
                if let Some(set) = self.subscribers.get_mut(&context) {
                    set.remove(&peer);
                    if set.is_empty() {
                        self.subscribers.remove(&context);
                    }
                }
            }
            NetEvent::InboundSession { peer, stream } => self.inbound_session(peer, stream),
            NetEvent::Gossip { .. } => {}
        }
    }

    /// Stores the facts of a batch of gossip messages in one transaction, and tells the swarm
    /// which messages to forward: those whose fact is valid. A message over its sender's
    /// budget is neither stored nor forwarded, without blame; one that does not decode or
    /// does not verify is charged to the peer that sent it.
    fn ingest_gossip(&mut self, gossip: Vec<GossipMessage>) {
        let mut facts = Vec::with_capacity(gossip.len());
        let mut pending = Vec::with_capacity(gossip.len());
        for message in gossip {
            let GossipMessage {
                id,
                source,
                context,
                data,
            } = message;
            // The forwarding peer pays for what it sends, whoever wrote it.
            let verdict = match self.device(&source) {
                None => Some(GossipVerdict::Reject),
                Some(device) if !self.guard.receive(device, PUBLISH_FLOW_COST) => {
                    tracing::debug!(%source, "gossip over the peer's budget dropped");
                    Some(GossipVerdict::Ignore)
                }
                Some(_) if !self.joined.contains(&context) => Some(GossipVerdict::Ignore),
                Some(_) => match ingest::decode(&data, None) {
                    Ok(fact) if fact.context() == context => {
                        pending.push((id.clone(), source, fact.context(), fact.id()));
                        facts.push(fact);
                        None
                    }
                    Ok(_) => Some(GossipVerdict::Reject),
                    Err(reason) => {
                        tracing::debug!(%source, %reason, "a gossiped fact refused");
                        Some(GossipVerdict::Reject)
                    }
                },
            };
            if let Some(verdict) = verdict {
                let _ = self.net.report_gossip(id, source, verdict);
            }
        }
        if facts.is_empty() {
            return;
        }
        let report = match self.store.ingest_received(facts, now_ms()) {
            Ok(report) => report,
            Err(err) => {
                tracing::error!(%err, "storing gossiped facts");
                for (id, source, _, _) in pending {
                    let _ = self.net.report_gossip(id, source, GossipVerdict::Ignore);
                }
                return;
            }
        };
        let rejected: HashMap<FactId, RejectKind> = report.rejected_facts.into_iter().collect();
        let mut stored = Vec::with_capacity(pending.len());
        for (id, source, context, fact) in pending {
            let verdict = match rejected.get(&fact) {
                None => {
                    stored.push((context, fact));
                    GossipVerdict::Accept
                }
                // A clock ahead of ours is not proof of bad faith.
                Some(RejectKind::FarFuture) => GossipVerdict::Ignore,
                Some(kind) => {
                    tracing::debug!(%source, ?kind, "a gossiped fact refused");
                    GossipVerdict::Reject
                }
            };
            let _ = self.net.report_gossip(id, source, verdict);
        }
        self.announce(stored);
    }

    fn announce(&self, stored: Vec<(ContextId, FactId)>) {
        let mut by_context: HashMap<ContextId, Vec<FactId>> = HashMap::new();
        for (context, id) in stored {
            by_context.entry(context).or_default().push(id);
        }
        for (context, ids) in by_context {
            let _ = self.events.send(NodeEvent::FactsStored { context, ids });
        }
    }

    /// A coordinator over the stored facts of `context`, for one anti-entropy session, and
    /// how many facts it holds.
    fn coordinator(&self, context: ContextId) -> Result<(JournalCoordinator, usize), StoreError> {
        let mut journal = Journal::new();
        for fact in self.store.journal_facts_of(context)? {
            journal.insert_checked(fact);
        }
        let loaded = journal.len();
        Ok((CrdtCoordinator::with_cv_state(self.device, journal), loaded))
    }

    /// Stores what a session received: the facts of its journal the store lacks. A session
    /// that received nothing costs no store reads.
    fn persist(&mut self, coordinator: JournalCoordinator, context: ContextId, loaded: usize) {
        let journal = coordinator.cv_handler().get_state();
        if journal.len() <= loaded {
            return;
        }
        let fresh: Vec<Fact> = journal
            .facts_of(context)
            .filter(|fact| matches!(self.store.journal_fact(&fact.id()), Ok(None)))
            .cloned()
            .collect();
        if fresh.is_empty() {
            return;
        }
        let ids: Vec<(ContextId, FactId)> = fresh.iter().map(|f| (f.context(), f.id())).collect();
        match self.store.ingest_received(fresh, now_ms()) {
            Ok(report) => {
                tracing::debug!(accepted = report.accepted, "anti-entropy stored facts");
                self.announce(ids);
            }
            Err(err) => tracing::error!(%err, "storing facts from anti-entropy"),
        }
    }

    /// Whether `peer` takes part in a context this device joined.
    fn is_member(&self, peer: &PeerId) -> bool {
        self.subscribers.values().any(|peers| peers.contains(peer))
    }

    /// Starts anti-entropy of `context` with `peer` unless one runs; `true` if it started.
    fn start_sync(&mut self, peer: PeerId, context: ContextId) -> bool {
        let Some(device) = device_of(&peer) else {
            return false;
        };
        if !self.joined.contains(&context) || self.outbound.contains(&(peer, context)) {
            return false;
        }
        let started = self
            .coordinator(context)
            .map_err(|err| err.to_string())
            .and_then(|(coordinator, loaded)| {
                sync::Initiator::start(coordinator, context)
                    .map(|started| (started, loaded))
                    .map_err(|err| err.to_string())
            });
        let ((machine, first_turn), loaded) = match started {
            Ok(started) => started,
            Err(err) => {
                tracing::error!(%err, "starting anti-entropy");
                return false;
            }
        };
        self.outbound.insert((peer, context));
        let net = self.net.clone();
        let guard = self.guard.shared();
        let epoch = self.guard.epoch();
        let internal = self.internal.clone();
        // Removes the session from `outbound` however the task ends, a panic included.
        let ticket = SessionTicket {
            internal: internal.clone(),
            ended: Some(Internal::OutboundEnded { peer, context }),
        };
        tokio::spawn(async move {
            let _ticket = ticket;
            let opened = tokio::time::timeout(OPEN_SESSION_TIMEOUT, net.open_session(peer)).await;
            let outcome = match opened {
                Ok(Ok(stream)) => {
                    session::run_initiator(
                        stream,
                        guard,
                        route(context, device),
                        epoch,
                        machine,
                        first_turn,
                        now_ms(),
                    )
                    .await
                }
                Ok(Err(err)) => {
                    tracing::debug!(%err, "opening an anti-entropy session");
                    Outcome {
                        machine,
                        result: Err(SessionError::Disconnected.into()),
                        bytes_sent: 0,
                        bytes_received: 0,
                    }
                }
                Err(_) => Outcome {
                    machine,
                    result: Err(SessionError::TimedOut.into()),
                    bytes_sent: 0,
                    bytes_received: 0,
                },
            };
            let _ = internal.send(Internal::InitiatorDone {
                peer,
                context,
                loaded,
                outcome,
            });
        });
        true
    }

    /// A peer opened a session stream: refused at once when over the caps or the peer's
    /// budget; otherwise a task reads what it is for and runs it.
    fn inbound_session(&mut self, peer: PeerId, stream: Stream) {
        let Some(device) = device_of(&peer) else {
            self.sessions.refused += 1;
            return;
        };
        let running: usize = self.inbound.values().sum();
        let of_peer = self.inbound.get(&peer).copied().unwrap_or(0);
        // A peer in none of this device's contexts has nothing to sync yet: one place at most.
        let per_peer = if self.is_member(&peer) {
            MAX_INBOUND_SESSIONS_PER_PEER
        } else {
            1
        };
        let epoch = self.guard.epoch();
        let opens = self.session_opens.entry(peer).or_insert((epoch, 0));
        if opens.0 != epoch {
            *opens = (epoch, 0);
        }
        if running >= MAX_INBOUND_SESSIONS
            || of_peer >= per_peer
            || opens.1 >= MAX_SESSIONS_PER_PEER_PER_EPOCH
            || !self.guard.receive(device, SESSION_OPEN_COST)
        {
            tracing::debug!(%peer, "an inbound session refused");
            self.sessions.refused += 1;
            return;
        }
        opens.1 += 1;
        *self.inbound.entry(peer).or_default() += 1;
        let guard = self.guard.shared();
        let internal = self.internal.clone();
        let mut ticket = SessionTicket {
            internal: internal.clone(),
            ended: Some(Internal::InboundEnded {
                peer,
                responder: None,
            }),
        };
        tokio::spawn(async move {
            let mut stream = stream;
            let preamble = match session::read_preamble(&mut stream).await {
                Ok(preamble) => preamble,
                Err(err) => {
                    tracing::debug!(%peer, %err, "a session stream without a valid preamble");
                    let violation = matches!(err, session::PreambleError::UnknownProtocol(_));
                    let _ = internal.send(Internal::InboundRefused { peer, violation });
                    return;
                }
            };
            let (reply, answer) = oneshot::channel();
            let context = preamble.context;
            let asked = internal.send(Internal::OpenResponder {
                peer,
                preamble,
                reply,
            });
            let Ok(Some((machine, loaded))) = (match asked {
                Ok(()) => answer.await,
                Err(_) => return,
            }) else {
                let _ = internal.send(Internal::InboundRefused {
                    peer,
                    violation: false,
                });
                return;
            };
            // The agent counted a responder for the context: the ticket now returns it too.
            ticket.ended = Some(Internal::InboundEnded {
                peer,
                responder: Some(context),
            });
            let outcome =
                session::run_responder(stream, guard, route(context, device), machine, now_ms())
                    .await;
            let _ = internal.send(Internal::ResponderDone {
                peer,
                context,
                loaded,
                outcome,
            });
            drop(ticket);
        });
    }

    fn internal(&mut self, message: Internal) {
        match message {
            Internal::InitiatorDone {
                peer,
                context,
                loaded,
                outcome,
            } => {
                let (coordinator, report) = outcome.machine.finish();
                tracing::debug!(
                    %peer,
                    ?report,
                    sent = outcome.bytes_sent,
                    received = outcome.bytes_received,
                    "anti-entropy initiated"
                );
                self.persist(coordinator, context, loaded);
                self.session_ended(peer, &outcome.result);
            }
            Internal::OutboundEnded { peer, context } => {
                self.outbound.remove(&(peer, context));
            }
            Internal::OpenResponder {
                peer,
                preamble,
                reply,
            } => {
                let context = preamble.context;
                // The only session protocol yet: another one is a compile error here.
                let session::SessionProtocol::AntiEntropy = preamble.protocol;
                let busy = self.responders.get(&context).copied().unwrap_or(0)
                    >= MAX_RESPONDERS_PER_CONTEXT;
                let machine = if busy {
                    tracing::debug!(%peer, "anti-entropy declined: the context has enough responders");
                    None
                } else if self.joined.contains(&context) {
                    // A peer that names the context knows it: a member, whose epoch counts.
                    self.guard.observe_peer_epoch(preamble.epoch, now_ms());
                    if let Some(device) = device_of(&peer) {
                        self.guard.admit_member(context, device);
                    }
                    match self.coordinator(context) {
                        Ok((coordinator, loaded)) => {
                            Some((sync::Responder::new(coordinator), loaded))
                        }
                        Err(err) => {
                            tracing::error!(%err, "loading a context for anti-entropy");
                            None
                        }
                    }
                } else {
                    tracing::debug!(%peer, "anti-entropy asked for a context not joined");
                    None
                };
                if machine.is_some() {
                    *self.responders.entry(context).or_default() += 1;
                }
                if let Err(Some(_)) = reply.send(machine) {
                    // The task is gone before its ticket could learn of the responder.
                    self.responder_ended(context);
                }
            }
            Internal::ResponderDone {
                peer,
                context,
                loaded,
                outcome,
            } => {
                let (coordinator, _) = outcome.machine.finish();
                self.persist(coordinator, context, loaded);
                self.session_ended(peer, &outcome.result);
            }
            Internal::InboundRefused { peer, violation } => {
                self.sessions.refused += 1;
                if violation {
                    let _ = self.net.penalize(peer);
                }
            }
            Internal::InboundEnded { peer, responder } => {
                self.inbound_ended(peer);
                if let Some(context) = responder {
                    self.responder_ended(context);
                }
            }
        }
    }

    fn responder_ended(&mut self, context: ContextId) {
        if let Some(count) = self.responders.get_mut(&context) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.responders.remove(&context);
            }
        }
    }

    fn inbound_ended(&mut self, peer: PeerId) {
        if let Some(count) = self.inbound.get_mut(&peer) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.inbound.remove(&peer);
            }
        }
    }

    /// Counts how a session ended; a peer that broke the protocol is charged for it.
    fn session_ended(&mut self, peer: PeerId, result: &Result<(), AntiEntropyError>) {
        match result {
            Ok(()) => self.sessions.completed += 1,
            Err(AntiEntropyError::Session(SessionError::Denied(denial))) => {
                tracing::info!(%peer, %denial, "anti-entropy stopped by the guard chain");
                self.sessions.denied += 1;
            }
            Err(err) => {
                tracing::debug!(%peer, %err, "anti-entropy failed");
                self.sessions.failed += 1;
                if err.is_violation() {
                    let _ = self.net.penalize(peer);
                }
            }
        }
    }

    /// Anti-entropy with one random peer of each context, and the budgets kept.
    fn periodic(&mut self) {
        if let Err(err) = self.store.persist_pending() {
            tracing::error!(%err, "persisting received facts");
        }
        self.save_budgets();
        let contexts: Vec<ContextId> = self.joined.iter().copied().collect();
        for context in contexts {
            let peers = self.subscribers_of(context);
            if !peers.is_empty() {
                let peer = peers[random_index(peers.len())];
                self.start_sync(peer, context);
            }
        }
    }
}
