//! The agent's shell: the thin async task around [`Core`]. It owns what the core must not
//! touch — the store, the network handle, the wall clock, the operating system's RNG, the
//! session tasks and the oneshots front ends wait on — turns requests, network events and
//! task results into [`Input`]s, and performs the [`Effect`]s the core asks for, in order.

#![allow(clippy::disallowed_methods)] // The shell is where the clock and the RNG are read.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use getrandom::SysRng;
use libp2p::{PeerId, Stream};
use rand_core::UnwrapErr;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::budget_report::BudgetReport;
use super::core::{
    Core, CoreConfig, Effect, Input, Millis, Reply, RequestId, SessionResult, StreamToken,
    WriteRequest,
};
use super::guard::{GuardConfig, KeptLedgers, NodeGuard};
use super::session::{self, Outcome, PreambleError};
use crate::net::peer_addr::PeerAddr;
use crate::net::{NetConfig, NetEvent, NetHandle, node};
use crate::node::client::Request;
use crate::node::saved_peers::{self, SavedTarget};
use crate::node::{NodeClient, NodeError, NodeEvent, NodeStatus, PeerAdded, PeerEntry, Reach};
use crate::protocol::anti_entropy::AntiEntropyError;
use crate::protocol::guarded::{Route, SharedGuard};
use crate::protocol::transport::SessionError;
use crate::state::Store;
use crate::state::coordinator::CrdtCoordinator;
use crate::state::fact::{ContextId, DeviceKey, Fact, FactId};
use crate::state::journal::Journal;
use crate::state::leakage::{Relationship, Timing};
use crate::state::sync::{self, JournalCoordinator};

/// Requests the agent may have queued before callers wait.
const REQUEST_CAPACITY: usize = 1024;
/// Requests or network events handled together, so that facts arriving together are written
/// in one store transaction.
const MAX_BATCH: usize = 1024;
/// Subscribers of node events may lag this many events before they miss some.
const EVENT_CAPACITY: usize = 65_536;
/// How long opening a session stream may take, dialling included.
const OPEN_SESSION_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `peer add` waits for the dial before saying the node keeps trying.
const PEER_ADD_DIAL_WAIT: Duration = Duration::from_secs(5);

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub net: NetConfig,
    pub sync_interval: Duration,
    pub guard: GuardConfig,
}

/// The wall clock, in ms since the Unix epoch.
pub(crate) fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Where each request's answer goes.
enum Waiting {
    Join(oneshot::Sender<Result<(), NodeError>>),
    Write(oneshot::Sender<Result<FactId, NodeError>>),
    SyncNow(oneshot::Sender<usize>),
}

/// What session tasks tell the shell.
enum Internal {
    InitiatorDone {
        peer: PeerId,
        context: ContextId,
        /// Facts the session's journal started with.
        loaded: usize,
        outcome: Outcome<sync::Initiator>,
    },
    ResponderDone {
        peer: PeerId,
        context: ContextId,
        loaded: usize,
        outcome: Outcome<sync::Responder>,
    },
    /// An admitted stream's preamble: the task waits on `reply` for a responder.
    Preamble {
        peer: PeerId,
        token: StreamToken,
        preamble: session::Preamble,
        reply: oneshot::Sender<Granted>,
    },
    /// Sent by a [`Ticket`] when it is dropped.
    Ended(Input),
}

/// A responder the core granted, with the facts it holds and the peer's device.
type Granted = (sync::Responder, usize, DeviceKey);

/// Tells the core that a task ended when it is dropped: at the end of the task, and also when
/// the task panics, so that no place is held for ever.
struct Ticket {
    internal: mpsc::UnboundedSender<Internal>,
    ended: Vec<Input>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        for input in self.ended.drain(..) {
            let _ = self.internal.send(Internal::Ended(input));
        }
    }
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

struct Shell {
    core: Core,
    rng: UnwrapErr<SysRng>,
    store: Store,
    net: NetHandle,
    net_task: tokio::task::JoinHandle<()>,
    guard: SharedGuard,
    events: broadcast::Sender<NodeEvent>,
    internal: mpsc::UnboundedSender<Internal>,
    waiting: HashMap<RequestId, Waiting>,
    next_request: u64,
    /// Inbound streams the core has not decided on yet.
    streams: HashMap<StreamToken, (PeerId, Stream)>,
    /// Preamble tasks waiting for a responder.
    responders: HashMap<StreamToken, oneshot::Sender<Granted>>,
    next_token: u64,
}

/// Starts the network and the agent on the current tokio runtime. The join handle yields the
/// store back when the agent stops; dropping it releases the profile's lock.
pub(crate) async fn spawn(
    store: Store,
    signing_key: SigningKey,
    config: AgentConfig,
) -> Result<
    (
        NodeClient,
        broadcast::Receiver<NodeEvent>,
        tokio::task::JoinHandle<Store>,
    ),
    NodeError,
> {
    let saved = saved_peers::saved(&store)?;
    let known = saved_peers::known(&store)?;
    let mut joined = store.joined_contexts()?;
    joined.extend(store.journal_views()?.into_keys());
    let now = now_ms();
    let kept = KeptLedgers::load(&store, &config.guard)?;
    let guard = NodeGuard::new(config.guard, kept, now);
    let local_peer = config.net.keypair.public().to_peer_id();
    let (net, net_events, net_task) = node::spawn(config.net).await?;
    let mut rng = UnwrapErr(SysRng);
    let core = Core::new(
        CoreConfig {
            local_peer,
            signing_key,
            guard,
            sync_interval_ms: u64::try_from(config.sync_interval.as_millis()).unwrap_or(u64::MAX),
            joined,
            saved,
            known,
        },
        now,
        &mut rng,
    );
    let (requests, request_rx) = mpsc::channel(REQUEST_CAPACITY);
    // Subscribed before the agent publishes anything, so that the first subscriber sees the
    // node's first state.
    let (events, first_events) = broadcast::channel(EVENT_CAPACITY);
    let (internal, internal_rx) = mpsc::unbounded_channel();
    let shell = Shell {
        guard: core.shared_guard(),
        core,
        rng,
        store,
        net,
        net_task,
        events: events.clone(),
        internal,
        waiting: HashMap::new(),
        next_request: 0,
        streams: HashMap::new(),
        responders: HashMap::new(),
        next_token: 0,
    };
    let task = tokio::spawn(shell.run(request_rx, net_events, internal_rx));
    Ok((NodeClient::new(requests, events), first_events, task))
}

impl Shell {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut net_events: mpsc::Receiver<NetEvent>,
        mut internal: mpsc::UnboundedReceiver<Internal>,
    ) -> Store {
        // Whatever the core asked for at its start: subscriptions and the first dials.
        self.perform_effects();
        loop {
            let wait = self.core.poll_timeout().saturating_sub(now_ms());
            tokio::select! {
                request = requests.recv() => {
                    let Some(first) = request else { break };
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match requests.try_recv() {
                            Ok(request) => batch.push(request),
                            Err(_) => break,
                        }
                    }
                    if self.requests(batch) {
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
                () = tokio::time::sleep(Duration::from_millis(wait)) => self.input(Input::Tick),
            }
        }
        self.save_ledgers(&self.core.ledgers().0);
        if let Err(err) = self.store.persist_pending() {
            tracing::error!(%err, "persisting received facts at shutdown");
        }
        self.net_task.abort();
        // The swarm must be gone (its listeners closed) before the store is handed back.
        let _ = (&mut self.net_task).await;
        tracing::info!("agent stopped");
        self.store
    }

    /// Feeds the core one input and performs what it asks.
    fn input(&mut self, input: Input) {
        self.core.handle(input, now_ms(), &mut self.rng);
        self.perform_effects();
    }

    fn perform_effects(&mut self) {
        while let Some(effect) = self.core.poll_effect() {
            self.perform(effect);
        }
    }

    fn request_id(&mut self, waiting: Waiting) -> RequestId {
        self.next_request += 1;
        let id = RequestId(self.next_request);
        self.waiting.insert(id, waiting);
        id
    }

    /// Handles a batch of requests, the writes among them as one; `true` to stop.
    fn requests(&mut self, batch: Vec<Request>) -> bool {
        let mut writes = Vec::new();
        let mut stop = false;
        for request in batch {
            match request {
                Request::Write {
                    context,
                    kind,
                    body,
                    reply,
                } => writes.push(WriteRequest {
                    request: self.request_id(Waiting::Write(reply)),
                    context,
                    kind,
                    body,
                }),
                Request::Shutdown => stop = true,
                other => self.request(other),
            }
        }
        if !writes.is_empty() {
            self.input(Input::Writes(writes));
        }
        stop
    }

    fn request(&mut self, request: Request) {
        match request {
            Request::JoinContext(context, reply) => {
                let request = self.request_id(Waiting::Join(reply));
                self.input(Input::Join { request, context });
            }
            Request::SyncNow(context, reply) => {
                let request = self.request_id(Waiting::SyncNow(reply));
                self.input(Input::SyncNow { request, context });
            }
            Request::AddPeer(addr, reply) => self.add_peer(addr, reply),
            Request::RemovePeer(target, reply) => {
                let _ = reply.send(self.remove_peer(&target));
            }
            Request::Peers(reply) => {
                let _ = reply.send(self.peer_entries());
            }
            Request::Status(reply) => {
                let facts = self.store.journal_len();
                let core = self.core.status();
                let net = self.net.clone();
                tokio::spawn(async move {
                    let result = match (facts, net.info().await) {
                        (Ok(facts), Ok(net)) => Ok(NodeStatus {
                            net,
                            facts,
                            contexts: core.contexts,
                            guard: core.guard,
                            budget_epoch: core.budget_epoch,
                            sessions: core.sessions,
                        }),
                        (Err(err), _) => Err(err.into()),
                        (_, Err(err)) => Err(err.into()),
                    };
                    let _ = reply.send(result);
                });
            }
            Request::FactCount(context, reply) => {
                let count = self.store.journal_facts_of(context).map(|f| f.len());
                let _ = reply.send(count.map_err(NodeError::from));
            }
            Request::MeshPeers(context, reply) => {
                let net = self.net.clone();
                tokio::spawn(async move {
                    let _ = reply.send(net.mesh_peers(context).await.map_err(NodeError::from));
                });
            }
            Request::Budgets(reply) => {
                let (ledgers, policy) = self.core.ledgers();
                let _ = reply.send(BudgetReport {
                    ledgers,
                    policy,
                    now_ms: now_ms(),
                });
            }
            Request::Write { reply, .. } => {
                let _ = reply.send(Err(NodeError::Stopped));
            }
            Request::Shutdown => {}
        }
    }

    /// Saves the address, dials it, and answers once the dial resolved or a few seconds
    /// passed; the core keeps dialling it after.
    fn add_peer(&mut self, addr: PeerAddr, reply: oneshot::Sender<Result<PeerAdded, NodeError>>) {
        let fresh = match self.store.add_peer_addr(&addr.to_string(), now_ms()) {
            Ok(fresh) => fresh,
            Err(err) => {
                let _ = reply.send(Err(err.into()));
                return;
            }
        };
        let already = self.core.connected().contains(&addr.peer());
        self.input(Input::PeerSaved(addr.clone()));
        if already {
            let _ = reply.send(Ok(PeerAdded {
                addr,
                fresh,
                reach: Reach::Connected,
            }));
            return;
        }
        let net = self.net.clone();
        tokio::spawn(async move {
            let dialled =
                tokio::time::timeout(PEER_ADD_DIAL_WAIT, net.dial(addr.addr().clone())).await;
            let reach = match dialled {
                Ok(Ok(())) => Reach::Connected,
                Ok(Err(err)) => Reach::NotYet(err.to_string()),
                Err(_) => Reach::NotYet("no answer yet".to_owned()),
            };
            let _ = reply.send(Ok(PeerAdded { addr, fresh, reach }));
        });
    }

    fn peer_entries(&self) -> Result<Vec<PeerEntry>, NodeError> {
        let connected = self.core.connected();
        let entries = self
            .store
            .peer_addr_entries()?
            .into_iter()
            .map(|(addr, added_ms)| {
                let peer = saved_peers::peer_of(&addr);
                PeerEntry {
                    connected: Some(peer.is_some_and(|peer| connected.contains(&peer))),
                    addr,
                    added_ms,
                    peer,
                }
            })
            .collect();
        Ok(entries)
    }

    /// Forgets the saved addresses `target` names; peers left with none are no longer
    /// dialled.
    fn remove_peer(&mut self, target: &str) -> Result<usize, NodeError> {
        let Some(target) = SavedTarget::parse(target) else {
            return Ok(0);
        };
        let removed = saved_peers::remove(&self.store, &target)?;
        self.input(Input::PeersForgotten(removed.forgotten));
        Ok(usize::try_from(removed.addrs).unwrap_or(usize::MAX))
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
                } => gossip.push(super::core::GossipMessage {
                    id,
                    source,
                    context,
                    data,
                }),
                NetEvent::ListenAddrsChanged(addrs) => self.input(Input::ListenAddrs(addrs)),
                NetEvent::PeersChanged(peers) => self.input(Input::Connected(peers)),
                NetEvent::PeerSubscribed { peer, context } => {
                    self.input(Input::Subscribed { peer, context })
                }
                NetEvent::PeerUnsubscribed { peer, context } => {
                    self.input(Input::Unsubscribed { peer, context })
                }
                NetEvent::PeerIdentified { peer, addrs } => {
                    self.input(Input::Identified { peer, addrs })
                }
                NetEvent::InboundSession { peer, stream } => {
                    self.next_token += 1;
                    let token = StreamToken(self.next_token);
                    self.streams.insert(token, (peer, stream));
                    self.input(Input::InboundStream { peer, token });
                }
            }
        }
        if !gossip.is_empty() {
            self.input(Input::Gossip(gossip));
        }
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
                self.session_done(peer, context, (coordinator, loaded), &outcome.result);
            }
            Internal::ResponderDone {
                peer,
                context,
                loaded,
                outcome,
            } => {
                let (coordinator, _) = outcome.machine.finish();
                self.session_done(peer, context, (coordinator, loaded), &outcome.result);
            }
            Internal::Preamble {
                peer,
                token,
                preamble,
                reply,
            } => {
                self.responders.insert(token, reply);
                self.input(Input::Preamble {
                    peer,
                    token,
                    preamble,
                });
            }
            Internal::Ended(input) => self.input(input),
        }
    }

    /// Stores what a session brought and tells the core how it ended.
    fn session_done(
        &mut self,
        peer: PeerId,
        context: ContextId,
        (coordinator, loaded): (JournalCoordinator, usize),
        result: &Result<(), AntiEntropyError>,
    ) {
        let stored = self.persist(coordinator, context, loaded);
        let result = session_result(&peer, result);
        self.input(Input::SessionEnded {
            peer,
            context,
            result,
            stored,
        });
    }

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Reply { request, reply } => self.reply(request, reply),
            Effect::Notify(event) => {
                let _ = self.events.send(event);
            }
            Effect::PersistJoin { context, request } => {
                let result = self
                    .store
                    .join_context(context, now_ms())
                    .map(drop)
                    .map_err(NodeError::from);
                if let Err(err) = &result {
                    tracing::error!(%err, "recording a joined context");
                }
                if let Some(Waiting::Join(reply)) =
                    request.and_then(|request| self.waiting.remove(&request))
                {
                    let _ = reply.send(result);
                }
            }
            Effect::Subscribe(context) => {
                if let Err(err) = self.net.subscribe(context) {
                    tracing::error!(%err, "subscribing to a context");
                }
            }
            Effect::StoreWrites { batch, facts } => {
                let result = self
                    .store
                    .ingest_decoded(facts, now_ms())
                    .map(drop)
                    .map_err(|err| err.to_string());
                self.core.handle(
                    Input::WritesStored { batch, result },
                    now_ms(),
                    &mut self.rng,
                );
            }
            Effect::Publish { context, bytes } => {
                if let Err(err) = self.net.publish(context, bytes) {
                    tracing::error!(%err, "gossiping a fact");
                }
            }
            Effect::IngestGossip { batch, facts } => {
                let result = self
                    .store
                    .ingest_received(facts, now_ms())
                    .map_err(|err| err.to_string());
                self.core.handle(
                    Input::GossipStored { batch, result },
                    now_ms(),
                    &mut self.rng,
                );
            }
            Effect::GossipVerdict {
                id,
                source,
                verdict,
            } => {
                let _ = self.net.report_gossip(id, source, verdict);
            }
            Effect::StartSync {
                peer,
                device,
                context,
                epoch,
            } => self.start_sync(peer, device, context, epoch),
            Effect::AcceptStream(token) => self.accept_stream(token),
            Effect::RefuseStream(token) => {
                // Dropping the stream (or the responder's sender) ends it unanswered.
                self.streams.remove(&token);
                self.responders.remove(&token);
            }
            Effect::Respond {
                token,
                device,
                context,
            } => self.respond(token, device, context),
            Effect::Penalize(peer) => {
                let _ = self.net.penalize(peer);
            }
            Effect::Dial { peer, addrs } => {
                let _ = self.net.dial_peer(peer, addrs);
            }
            Effect::FindPeer(peer) => {
                let _ = self.net.find_peer(peer);
            }
            Effect::RecordPeerAddrs { peer, addrs } => {
                if let Err(err) = saved_peers::record(&self.store, &peer, &addrs, now_ms()) {
                    tracing::warn!(%peer, %err, "keeping a peer's addresses");
                }
            }
            Effect::PersistPending => {
                if let Err(err) = self.store.persist_pending() {
                    tracing::error!(%err, "persisting received facts");
                }
            }
            Effect::SaveLedgers(ledgers) => self.save_ledgers(&ledgers),
        }
    }

    fn reply(&mut self, request: RequestId, reply: Reply) {
        match (self.waiting.remove(&request), reply) {
            (Some(Waiting::Write(sender)), Reply::Written(result)) => {
                let _ = sender.send(result);
            }
            (Some(Waiting::SyncNow(sender)), Reply::SyncStarted(count)) => {
                let _ = sender.send(count);
            }
            (waiting, reply) => {
                tracing::error!(
                    ?request,
                    known = waiting.is_some(),
                    ?reply,
                    "a reply that matches no request"
                );
            }
        }
    }

    fn save_ledgers(&self, ledgers: &KeptLedgers) {
        if let Err(err) = ledgers.save(&self.store) {
            tracing::error!(%err, "saving the budget ledgers");
        }
    }

    /// A coordinator over the stored facts of `context`, for one anti-entropy session, and
    /// how many facts it holds.
    fn coordinator(&self, context: ContextId) -> Result<(JournalCoordinator, usize), NodeError> {
        let mut journal = Journal::new();
        for fact in self.store.journal_facts_of(context)? {
            journal.insert_checked(fact);
        }
        let loaded = journal.len();
        let device = self.core.device();
        Ok((CrdtCoordinator::with_cv_state(device, journal), loaded))
    }

    /// Stores what a session received: the facts of its journal the store lacks. A session
    /// that received nothing costs no store reads.
    fn persist(
        &mut self,
        coordinator: JournalCoordinator,
        context: ContextId,
        loaded: usize,
    ) -> Vec<FactId> {
        let journal = coordinator.cv_handler().get_state();
        if journal.len() <= loaded {
            return Vec::new();
        }
        let fresh: Vec<Fact> = journal
            .facts_of(context)
            .filter(|fact| matches!(self.store.journal_fact(&fact.id()), Ok(None)))
            .cloned()
            .collect();
        if fresh.is_empty() {
            return Vec::new();
        }
        let ids: Vec<FactId> = fresh.iter().map(Fact::id).collect();
        match self.store.ingest_received(fresh, now_ms()) {
            Ok(report) => {
                tracing::debug!(accepted = report.accepted, "anti-entropy stored facts");
                let rejected: Vec<FactId> =
                    report.rejected_facts.iter().map(|(id, _)| *id).collect();
                ids.into_iter()
                    .filter(|id| !rejected.contains(id))
                    .collect()
            }
            Err(err) => {
                tracing::error!(%err, "storing facts from anti-entropy");
                Vec::new()
            }
        }
    }

    /// Runs anti-entropy of `context` with `peer` as the initiator, in a task.
    fn start_sync(&mut self, peer: PeerId, device: DeviceKey, context: ContextId, epoch: u64) {
        let started = self.coordinator(context).and_then(|(coordinator, loaded)| {
            sync::Initiator::start(coordinator, context)
                .map(|started| (started, loaded))
                .map_err(|err| NodeError::Fact(err.to_string()))
        });
        let ((machine, first_turn), loaded) = match started {
            Ok(started) => started,
            Err(err) => {
                tracing::error!(%err, "starting anti-entropy");
                self.input(Input::OutboundEnded { peer, context });
                return;
            }
        };
        let net = self.net.clone();
        let guard = self.guard.clone();
        let internal = self.internal.clone();
        // Frees the session's place however the task ends, a panic included.
        let ticket = Ticket {
            internal: internal.clone(),
            ended: vec![Input::OutboundEnded { peer, context }],
        };
        tokio::spawn(async move {
            let _ticket = ticket;
            let opened = tokio::time::timeout(OPEN_SESSION_TIMEOUT, net.open_session(peer)).await;
            let unopened = |machine, err: SessionError| Outcome {
                machine,
                result: Err(AntiEntropyError::from(err)),
                bytes_sent: 0,
                bytes_received: 0,
            };
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
                    unopened(machine, SessionError::Disconnected)
                }
                Err(_) => unopened(machine, SessionError::TimedOut),
            };
            let _ = internal.send(Internal::InitiatorDone {
                peer,
                context,
                loaded,
                outcome,
            });
        });
    }

    /// Reads an admitted stream's preamble in a task, and runs the responder the core grants.
    fn accept_stream(&mut self, token: StreamToken) {
        let Some((peer, mut stream)) = self.streams.remove(&token) else {
            return;
        };
        let guard = self.guard.clone();
        let internal = self.internal.clone();
        let mut ticket = Ticket {
            internal: internal.clone(),
            ended: vec![Input::StreamEnded(peer)],
        };
        tokio::spawn(async move {
            let preamble = match session::read_preamble(&mut stream).await {
                Ok(preamble) => preamble,
                Err(err) => {
                    tracing::debug!(%peer, %err, "a session stream without a valid preamble");
                    let violation = matches!(err, PreambleError::UnknownProtocol(_));
                    let _ =
                        internal.send(Internal::Ended(Input::PreambleFailed { peer, violation }));
                    return;
                }
            };
            let (reply, answer) = oneshot::channel();
            let context = preamble.context;
            if internal
                .send(Internal::Preamble {
                    peer,
                    token,
                    preamble,
                    reply,
                })
                .is_err()
            {
                return;
            }
            // Refused: the core counted it, and dropped the sender.
            let Ok((machine, loaded, device)) = answer.await else {
                return;
            };
            // The core counted a responder for the context: the ticket now returns it too.
            ticket.ended.push(Input::ResponderEnded(context));
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

    fn respond(&mut self, token: StreamToken, device: DeviceKey, context: ContextId) {
        let Some(reply) = self.responders.remove(&token) else {
            // The task is gone before it could run the responder the core counted.
            self.input(Input::ResponderEnded(context));
            return;
        };
        match self.coordinator(context) {
            Ok((coordinator, loaded)) => {
                if reply
                    .send((sync::Responder::new(coordinator), loaded, device))
                    .is_err()
                {
                    self.input(Input::ResponderEnded(context));
                }
            }
            Err(err) => {
                tracing::error!(%err, "loading a context for anti-entropy");
                self.input(Input::ResponderEnded(context));
            }
        }
    }
}

/// How a session's result counts; logged here, where the error's text is known.
fn session_result(peer: &PeerId, result: &Result<(), AntiEntropyError>) -> SessionResult {
    match result {
        Ok(()) => SessionResult::Completed,
        Err(AntiEntropyError::Session(SessionError::Denied(denial))) => {
            SessionResult::Denied(denial.to_string())
        }
        Err(err) => {
            tracing::debug!(%peer, %err, "anti-entropy failed");
            SessionResult::Failed {
                violation: err.is_violation(),
            }
        }
    }
}
