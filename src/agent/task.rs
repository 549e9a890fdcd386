//! The agent: one task that owns the store and the sync state machines, takes commands from
//! the UI, the CLI and the control socket, turns network events into state changes, and
//! publishes what changed.
//!
//! Every outgoing protocol message passes [`super::guard::OutboundGuard::admit`] first; the
//! three call sites are marked `GATE`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use libp2p::{Multiaddr, PeerId, request_response::ResponseChannel};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::guard::{OutboundGuard, OutboundKind};
use crate::net::codec::SyncMessage;
use crate::net::{NetConfig, NetError, NetEvent, NetHandle, NetInfo, NetworkStatus, node};
use crate::state::coordinator::CrdtCoordinator;
use crate::state::fact::{ContextId, DeviceKey, Fact, FactId, FactKind};
use crate::state::hlc::HybridClock;
use crate::state::ingest;
use crate::state::journal::Journal;
use crate::state::sync::{Initiator, JournalCoordinator, Responder};
use crate::state::sync_frame::Frame;
use crate::state::{Store, StoreError};
use crate::ui::UiEvent;

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
/// An inbound session that has not heard from its initiator for this long is dropped.
const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Default period of anti-entropy with a random peer of each context.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(30);
/// Each period is stretched or shrunk by up to this fraction, so that peers started together
/// do not all sync at the same moment.
const SYNC_JITTER_FRACTION: f64 = 0.25;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("the node has stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("cannot sign the fact: {0}")]
    Fact(String),
    #[error("the clock is out of range: {0}")]
    Clock(String),
    #[error(transparent)]
    Denied(#[from] super::guard::GuardDenied),
}

/// What the node is doing, for `aura status` and the network screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeStatus {
    pub net: NetInfo,
    pub facts: u64,
    pub contexts: usize,
}

/// What the agent announces to whoever listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEvent {
    /// These facts are now in the store (written here or received).
    FactsStored {
        context: ContextId,
        ids: Vec<FactId>,
    },
}

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub net: NetConfig,
    pub sync_interval: Duration,
}

enum AgentCommand {
    JoinContext(ContextId, oneshot::Sender<Result<(), AgentError>>),
    Write {
        context: ContextId,
        kind: FactKind,
        body: Vec<u8>,
        reply: oneshot::Sender<Result<FactId, AgentError>>,
    },
    AddPeer(Multiaddr, oneshot::Sender<Result<bool, AgentError>>),
    Status(oneshot::Sender<Result<NodeStatus, AgentError>>),
    FactCount(ContextId, oneshot::Sender<Result<usize, AgentError>>),
    MeshPeers(ContextId, oneshot::Sender<Result<usize, AgentError>>),
    SyncNow(ContextId, oneshot::Sender<usize>),
    Shutdown,
}

/// The cloneable handle to the agent.
#[derive(Debug, Clone)]
pub struct AgentHandle {
    commands: mpsc::Sender<AgentCommand>,
    events: broadcast::Sender<AgentEvent>,
}

impl std::fmt::Debug for AgentCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentCommand")
    }
}

impl AgentHandle {
    async fn ask<T>(
        &self,
        build: impl FnOnce(oneshot::Sender<T>) -> AgentCommand,
    ) -> Result<T, AgentError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(build(reply))
            .await
            .map_err(|_| AgentError::Stopped)?;
        answer.await.map_err(|_| AgentError::Stopped)
    }

    /// Takes part in `context`: subscribes to its topic and syncs it with peers.
    pub async fn join_context(&self, context: ContextId) -> Result<(), AgentError> {
        self.ask(|reply| AgentCommand::JoinContext(context, reply))
            .await?
    }

    /// Signs, stores and gossips a fact of this device.
    pub async fn write(
        &self,
        context: ContextId,
        kind: FactKind,
        body: Vec<u8>,
    ) -> Result<FactId, AgentError> {
        self.ask(|reply| AgentCommand::Write {
            context,
            kind,
            body,
            reply,
        })
        .await?
    }

    /// Keeps `addr` in the store and dials it; `false` when it was known already.
    pub async fn add_peer(&self, addr: Multiaddr) -> Result<bool, AgentError> {
        self.ask(|reply| AgentCommand::AddPeer(addr, reply)).await?
    }

    pub async fn status(&self) -> Result<NodeStatus, AgentError> {
        self.ask(AgentCommand::Status).await?
    }

    pub async fn fact_count(&self, context: ContextId) -> Result<usize, AgentError> {
        self.ask(|reply| AgentCommand::FactCount(context, reply))
            .await?
    }

    pub async fn mesh_peers(&self, context: ContextId) -> Result<usize, AgentError> {
        self.ask(|reply| AgentCommand::MeshPeers(context, reply))
            .await?
    }

    /// Starts anti-entropy of `context` with every peer known to share it; returns how many
    /// sessions started.
    pub async fn sync_now(&self, context: ContextId) -> Result<usize, AgentError> {
        self.ask(|reply| AgentCommand::SyncNow(context, reply))
            .await
    }

    pub fn subscribe(&self) -> broadcast::Receiver<AgentEvent> {
        self.events.subscribe()
    }

    /// Asks the agent to stop; the task's join handle then yields the store.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(AgentCommand::Shutdown).await;
    }
}

/// Starts the network node and the agent on the current tokio runtime. The returned join
/// handle yields the store back when the agent stops, which releases the profile's lock when
/// dropped.
pub fn spawn(
    store: Store,
    signing_key: SigningKey,
    mut config: AgentConfig,
    guard: Box<dyn OutboundGuard>,
    ui: Option<mpsc::Sender<UiEvent>>,
) -> Result<(AgentHandle, tokio::task::JoinHandle<Store>), AgentError> {
    for addr in store.peer_addrs()? {
        match addr.parse::<Multiaddr>() {
            Ok(addr) => config.net.dial.push(addr),
            Err(err) => tracing::warn!(%addr, %err, "a stored peer address does not parse"),
        }
    }
    let local_peer = config.net.keypair.public().to_peer_id();
    let (net, net_events, net_task) = node::spawn(config.net)?;
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
    let (events, _) = broadcast::channel(EVENT_CAPACITY);
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
        ui,
        events: events.clone(),
        internal,
        joined,
        subscribers: HashMap::new(),
        connected: Vec::new(),
        next_session: 0,
        outbound: HashMap::new(),
        active_pairs: HashSet::new(),
        inbound: HashMap::new(),
        sync_interval: config.sync_interval,
    };
    let task = tokio::spawn(agent.run(command_rx, net_events, internal_rx));
    Ok((AgentHandle { commands, events }, task))
}

/// A write waiting for its batch: context, kind, body and where the fact id goes.
type PendingWrite = (
    ContextId,
    FactKind,
    Vec<u8>,
    oneshot::Sender<Result<FactId, AgentError>>,
);

enum Internal {
    SyncReply {
        session: u64,
        result: Result<SyncMessage, NetError>,
    },
}

struct OutSession {
    peer: PeerId,
    context: ContextId,
    initiator: Initiator,
}

struct InSession {
    context: ContextId,
    responder: Responder,
    last_heard: Instant,
}

struct Agent {
    store: Store,
    signing_key: SigningKey,
    device: DeviceKey,
    clock: HybridClock,
    local_peer: PeerId,
    net: NetHandle,
    net_task: tokio::task::JoinHandle<()>,
    guard: Box<dyn OutboundGuard>,
    ui: Option<mpsc::Sender<UiEvent>>,
    events: broadcast::Sender<AgentEvent>,
    internal: mpsc::UnboundedSender<Internal>,
    joined: HashSet<ContextId>,
    /// Peers known to be subscribed to each context's topic.
    subscribers: HashMap<ContextId, HashSet<PeerId>>,
    connected: Vec<PeerId>,
    next_session: u64,
    outbound: HashMap<u64, OutSession>,
    active_pairs: HashSet<(PeerId, ContextId)>,
    inbound: HashMap<(PeerId, u64), InSession>,
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

impl Agent {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<AgentCommand>,
        mut net_events: mpsc::Receiver<NetEvent>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
    ) -> Store {
        let mut next_sync = tokio::time::Instant::now() + jittered(self.sync_interval);
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
                () = tokio::time::sleep_until(next_sync) => {
                    self.periodic();
                    next_sync = tokio::time::Instant::now() + jittered(self.sync_interval);
                }
            }
        }
        if let Err(err) = self.store.persist_pending() {
            tracing::error!(%err, "persisting received facts at shutdown");
        }
        self.net_task.abort();
        // The swarm must be gone (its listeners closed) before the store is handed back.
        let _ = (&mut self.net_task).await;
        tracing::info!("agent stopped");
        self.store
    }

    /// Handles a batch of commands; `true` to stop.
    fn commands(&mut self, batch: Vec<AgentCommand>) -> bool {
        let mut writes = Vec::new();
        let mut stop = false;
        for command in batch {
            match command {
                AgentCommand::Write {
                    context,
                    kind,
                    body,
                    reply,
                } => writes.push((context, kind, body, reply)),
                AgentCommand::Shutdown => stop = true,
                other => self.command(other),
            }
        }
        if !writes.is_empty() {
            self.write_batch(writes);
        }
        stop
    }

    fn command(&mut self, command: AgentCommand) {
        match command {
            AgentCommand::JoinContext(context, reply) => {
                let _ = reply.send(self.join(context));
            }
            AgentCommand::AddPeer(addr, reply) => {
                let result = self.store.add_peer_addr(&addr.to_string(), now_ms());
                if result.is_ok() {
                    let net = self.net.clone();
                    tokio::spawn(async move {
                        if let Err(err) = net.dial(addr).await {
                            tracing::warn!(%err, "dialling an added peer");
                        }
                    });
                }
                let _ = reply.send(result.map_err(AgentError::from));
            }
            AgentCommand::Status(reply) => {
                let facts = self.store.journal_len();
                let contexts = self.joined.len();
                let net = self.net.clone();
                tokio::spawn(async move {
                    let result = match (facts, net.info().await) {
                        (Ok(facts), Ok(net)) => Ok(NodeStatus {
                            net,
                            facts,
                            contexts,
                        }),
                        (Err(err), _) => Err(err.into()),
                        (_, Err(err)) => Err(err.into()),
                    };
                    let _ = reply.send(result);
                });
            }
            AgentCommand::FactCount(context, reply) => {
                let count = self
                    .store
                    .journal_facts_of(context)
                    .map(|facts| facts.len());
                let _ = reply.send(count.map_err(AgentError::from));
            }
            AgentCommand::MeshPeers(context, reply) => {
                let net = self.net.clone();
                tokio::spawn(async move {
                    let _ = reply.send(net.mesh_peers(context).await.map_err(AgentError::from));
                });
            }
            AgentCommand::SyncNow(context, reply) => {
                let peers: Vec<PeerId> = self
                    .subscribers
                    .get(&context)
                    .map(|peers| peers.iter().copied().collect())
                    .unwrap_or_default();
                let started = peers
                    .into_iter()
                    .filter(|peer| self.start_sync(*peer, context))
                    .count();
                let _ = reply.send(started);
            }
            AgentCommand::Write { reply, .. } => {
                let _ = reply.send(Err(AgentError::Stopped));
            }
            AgentCommand::Shutdown => {}
        }
    }

    fn join(&mut self, context: ContextId) -> Result<(), AgentError> {
        // Every write passes here: a context already joined costs no store transaction.
        if self.joined.contains(&context) {
            return Ok(());
        }
        self.store.join_context(context, now_ms())?;
        self.joined.insert(context);
        self.net.subscribe(context)?;
        // Peers already known to take part get a session now rather than at the next tick.
        let peers: Vec<PeerId> = self
            .subscribers
            .get(&context)
            .map(|peers| peers.iter().copied().collect())
            .unwrap_or_default();
        for peer in peers {
            self.start_sync(peer, context);
        }
        Ok(())
    }

    /// Signs and stores the batch in one transaction, then gossips each fact.
    fn write_batch(&mut self, writes: Vec<PendingWrite>) {
        let now = now_ms();
        let mut signed = Vec::with_capacity(writes.len());
        for (context, kind, body, reply) in writes {
            let fact = self
                .clock
                .now(now)
                .map_err(|err| AgentError::Clock(err.to_string()))
                .and_then(|time| {
                    Fact::sign(&self.signing_key, context, time, kind, body)
                        .map_err(|err| AgentError::Fact(err.to_string()))
                })
                .and_then(|fact| self.join(context).map(|()| fact));
            match fact {
                Ok(fact) => signed.push((fact, reply)),
                Err(err) => {
                    let _ = reply.send(Err(err));
                }
            }
        }
        let facts: Vec<Fact> = signed.iter().map(|(fact, _)| fact.clone()).collect();
        if let Err(err) = self.store.ingest_decoded(facts, now) {
            let message = err.to_string();
            for (_, reply) in signed {
                let _ = reply.send(Err(AgentError::Fact(message.clone())));
            }
            return;
        }
        let mut stored: HashMap<ContextId, Vec<FactId>> = HashMap::new();
        for (fact, reply) in signed {
            let bytes = fact.encode();
            // GATE: a fact this device wrote, gossiped to its context.
            let sent = self
                .guard
                .admit(fact.context(), None, OutboundKind::Gossip, bytes.len())
                .map_err(AgentError::from)
                .and_then(|()| {
                    self.net
                        .publish(fact.context(), bytes)
                        .map_err(AgentError::from)
                });
            stored.entry(fact.context()).or_default().push(fact.id());
            let _ = reply.send(sent.map(|()| fact.id()));
        }
        for (context, ids) in stored {
            let _ = self.events.send(AgentEvent::FactsStored { context, ids });
        }
    }

    fn net_events(&mut self, batch: Vec<NetEvent>) {
        let mut gossip = Vec::new();
        for event in batch {
            match event {
                NetEvent::Gossip {
                    source,
                    context,
                    data,
                } => gossip.push((source, context, data)),
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
                self.publish_ui(UiEvent::ListenAddrs(
                    addrs.iter().map(ToString::to_string).collect(),
                ));
                self.publish_status();
            }
            NetEvent::PeersChanged(peers) => {
                for set in self.subscribers.values_mut() {
                    set.retain(|peer| peers.contains(peer));
                }
                self.connected = peers;
                self.publish_ui(UiEvent::Peers(
                    self.connected.iter().map(ToString::to_string).collect(),
                ));
                self.publish_status();
            }
            NetEvent::PeerSubscribed { peer, context } => {
                self.subscribers.entry(context).or_default().insert(peer);
                // Both sides see the subscription; the one with the smaller id starts, so a
                // pair runs one session, which moves facts both ways.
                if self.joined.contains(&context) && self.local_peer < peer {
                    self.start_sync(peer, context);
                }
            }
            NetEvent::PeerUnsubscribed { peer, context } => {
                if let Some(set) = self.subscribers.get_mut(&context) {
                    set.remove(&peer);
                }
            }
            NetEvent::SyncRequest {
                peer,
                message,
                channel,
            } => self.sync_request(peer, message, channel),
            NetEvent::Gossip { .. } => {}
        }
    }

    fn publish_ui(&self, event: UiEvent) {
        if let Some(ui) = &self.ui {
            // The UI draws the latest state; a full queue means it will see a later one.
            let _ = ui.try_send(event);
        }
    }

    fn publish_status(&self) {
        self.publish_ui(UiEvent::Network(NetworkStatus::Listening {
            peers: self.connected.len(),
        }));
    }

    fn ingest_gossip(&mut self, gossip: Vec<(PeerId, ContextId, Vec<u8>)>) {
        let mut facts = Vec::with_capacity(gossip.len());
        for (source, context, data) in gossip {
            match ingest::decode(&data, None) {
                Ok(fact) if fact.context() == context => facts.push(fact),
                Ok(_) => tracing::debug!(%source, "a gossiped fact of another context"),
                Err(reason) => tracing::debug!(%source, ?reason, "a gossiped fact refused"),
            }
        }
        let ids: Vec<(ContextId, FactId)> = facts
            .iter()
            .map(|fact| (fact.context(), fact.id()))
            .collect();
        match self.store.ingest_received(facts, now_ms()) {
            Ok(report) => {
                let stored = if report.rejected_total() == 0 {
                    ids
                } else {
                    ids.into_iter()
                        .filter(|(_, id)| matches!(self.store.journal_fact(id), Ok(Some(_))))
                        .collect()
                };
                self.announce(stored);
            }
            Err(err) => tracing::error!(%err, "storing gossiped facts"),
        }
    }

    fn announce(&self, stored: Vec<(ContextId, FactId)>) {
        let mut by_context: HashMap<ContextId, Vec<FactId>> = HashMap::new();
        for (context, id) in stored {
            by_context.entry(context).or_default().push(id);
        }
        for (context, ids) in by_context {
            let _ = self.events.send(AgentEvent::FactsStored { context, ids });
        }
    }

    /// A coordinator over the stored facts of `context`, for one anti-entropy session.
    fn coordinator(&self, context: ContextId) -> Result<JournalCoordinator, StoreError> {
        let mut journal = Journal::new();
        for fact in self.store.journal_facts_of(context)? {
            journal.insert_checked(fact);
        }
        Ok(CrdtCoordinator::with_cv_state(self.device, journal))
    }

    /// Stores what a session received: the facts of its journal the store lacks.
    fn persist(&mut self, coordinator: JournalCoordinator, context: ContextId) {
        let journal = coordinator.cv_handler().get_state();
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

    /// Starts anti-entropy of `context` with `peer` unless one runs; `true` if it started.
    fn start_sync(&mut self, peer: PeerId, context: ContextId) -> bool {
        if !self.joined.contains(&context) || !self.active_pairs.insert((peer, context)) {
            return false;
        }
        let started = self
            .coordinator(context)
            .map_err(|err| err.to_string())
            .and_then(|coordinator| {
                Initiator::start(coordinator, context).map_err(|err| err.to_string())
            });
        let (initiator, frames) = match started {
            Ok(started) => started,
            Err(err) => {
                tracing::error!(%err, "starting anti-entropy");
                self.active_pairs.remove(&(peer, context));
                return false;
            }
        };
        let session = self.next_session;
        self.next_session += 1;
        self.outbound.insert(
            session,
            OutSession {
                peer,
                context,
                initiator,
            },
        );
        self.send_turn(session, frames)
    }

    /// Sends one initiator turn; ends the session when the gate refuses it.
    fn send_turn(&mut self, session: u64, frames: Vec<Vec<u8>>) -> bool {
        let Some(out) = self.outbound.get(&session) else {
            return false;
        };
        let (peer, context) = (out.peer, out.context);
        let message = SyncMessage { session, frames };
        // GATE: every turn of an anti-entropy session this device started.
        if let Err(err) = self.guard.admit(
            context,
            Some(peer),
            OutboundKind::SyncRequest,
            message.encoded_len(),
        ) {
            tracing::info!(%err, "anti-entropy turn not sent");
            self.end_outbound(session);
            return false;
        }
        let net = self.net.clone();
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let result = net.sync_request(peer, message).await;
            let _ = internal.send(Internal::SyncReply { session, result });
        });
        true
    }

    fn end_outbound(&mut self, session: u64) -> Option<OutSession> {
        let out = self.outbound.remove(&session)?;
        self.active_pairs.remove(&(out.peer, out.context));
        Some(out)
    }

    fn internal(&mut self, message: Internal) {
        let Internal::SyncReply { session, result } = message;
        let reply = match result {
            Ok(reply) => reply,
            Err(err) => {
                tracing::debug!(%err, "anti-entropy request failed");
                self.end_outbound(session);
                return;
            }
        };
        let Some(out) = self.outbound.get_mut(&session) else {
            return;
        };
        let now = now_ms();
        let mut next = Vec::new();
        let mut failed = reply.session != session;
        for frame in &reply.frames {
            match out.initiator.receive(frame, now) {
                Ok(frames) => next.extend(frames),
                Err(err) => {
                    tracing::info!(peer = %out.peer, %err, "anti-entropy reply refused");
                    failed = true;
                    break;
                }
            }
        }
        let finished = out.initiator.is_finished();
        if failed || (!finished && next.is_empty()) {
            if let Some(out) = self.end_outbound(session) {
                let _ = self.net.penalize(out.peer);
                let (coordinator, _) = out.initiator.finish();
                self.persist(coordinator, out.context);
            }
            return;
        }
        if finished {
            if let Some(out) = self.end_outbound(session) {
                let (coordinator, report) = out.initiator.finish();
                tracing::debug!(?report, "anti-entropy finished");
                self.persist(coordinator, out.context);
            }
            return;
        }
        self.send_turn(session, next);
    }

    /// One turn from an initiator. A turn that breaks the protocol is charged to the peer and
    /// gets no response: dropping the channel closes the stream.
    fn sync_request(
        &mut self,
        peer: PeerId,
        message: SyncMessage,
        channel: ResponseChannel<SyncMessage>,
    ) {
        let key = (peer, message.session);
        if !self.inbound.contains_key(&key) {
            let Some(context) = self.hello_context(&message) else {
                let _ = self.net.penalize(peer);
                return;
            };
            let per_peer = self.inbound.keys().filter(|(p, _)| *p == peer).count();
            if !self.joined.contains(&context)
                || self.inbound.len() >= MAX_INBOUND_SESSIONS
                || per_peer >= MAX_INBOUND_SESSIONS_PER_PEER
            {
                tracing::debug!(%peer, "anti-entropy session declined");
                return;
            }
            let coordinator = match self.coordinator(context) {
                Ok(coordinator) => coordinator,
                Err(err) => {
                    tracing::error!(%err, "loading a context for anti-entropy");
                    return;
                }
            };
            self.inbound.insert(
                key,
                InSession {
                    context,
                    responder: Responder::new(coordinator),
                    last_heard: Instant::now(),
                },
            );
        }
        let Some(session) = self.inbound.get_mut(&key) else {
            return;
        };
        session.last_heard = Instant::now();
        let now = now_ms();
        let mut reply = Vec::new();
        let mut failed = false;
        for frame in &message.frames {
            match session.responder.receive(frame, now) {
                Ok(frames) => reply.extend(frames),
                Err(err) => {
                    tracing::info!(%peer, %err, "anti-entropy request refused");
                    failed = true;
                    break;
                }
            }
        }
        let finished = session.responder.is_finished();
        let context = session.context;
        if failed || reply.is_empty() {
            let _ = self.net.penalize(peer);
            self.end_inbound(key);
            return;
        }
        let response = SyncMessage {
            session: message.session,
            frames: reply,
        };
        // GATE: every turn this device answers in a session a peer started.
        match self.guard.admit(
            context,
            Some(peer),
            OutboundKind::SyncResponse,
            response.encoded_len(),
        ) {
            Ok(()) => {
                let _ = self.net.sync_respond(channel, response);
            }
            Err(err) => {
                tracing::info!(%err, "anti-entropy answer not sent");
                self.end_inbound(key);
                return;
            }
        }
        if finished {
            self.end_inbound(key);
        }
    }

    /// The context a new session names in its first frame, which must be Hello.
    fn hello_context(&self, message: &SyncMessage) -> Option<ContextId> {
        match Frame::decode(message.frames.first()?) {
            Ok((Frame::Hello { context }, _)) => Some(context),
            _ => None,
        }
    }

    fn end_inbound(&mut self, key: (PeerId, u64)) {
        if let Some(session) = self.inbound.remove(&key) {
            let (coordinator, _) = session.responder.finish();
            self.persist(coordinator, session.context);
        }
    }

    /// Anti-entropy with one random peer of each context, and the end of idle sessions.
    fn periodic(&mut self) {
        if let Err(err) = self.store.persist_pending() {
            tracing::error!(%err, "persisting received facts");
        }
        let idle: Vec<(PeerId, u64)> = self
            .inbound
            .iter()
            .filter(|(_, session)| session.last_heard.elapsed() > SESSION_IDLE_TIMEOUT)
            .map(|(key, _)| *key)
            .collect();
        for key in idle {
            self.end_inbound(key);
        }
        let contexts: Vec<ContextId> = self.joined.iter().copied().collect();
        for context in contexts {
            let peers: Vec<PeerId> = self
                .subscribers
                .get(&context)
                .map(|peers| peers.iter().copied().collect())
                .unwrap_or_default();
            if !peers.is_empty() {
                let peer = peers[random_index(peers.len())];
                self.start_sync(peer, context);
            }
        }
    }
}
