//! The agent's shell: the thin async task around [`Core`]. It owns what the core must not
//! touch — the store, the network handle, the wall clock, the operating system's RNG, the
//! session tasks and the oneshots front ends wait on — turns requests, network events and
//! task results into [`Input`]s, and performs the [`Effect`]s the core asks for, in order.

#![allow(clippy::disallowed_methods)] // The shell is where the clock and the RNG are read.

mod groups;
mod invitations;
mod sessions;
mod trust;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::SigningKey;
use getrandom::SysRng;
use libp2p::{PeerId, Stream};
use rand_core::UnwrapErr;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::budget_report::BudgetReport;
use super::core::{
    Core, CoreConfig, Effect, Input, InviteAnswer, Millis, Reply, RequestId, StreamToken,
    WriteRequest,
};
use super::guard::{GuardConfig, KeptLedgers, NodeGuard};
use crate::invite::book::Role;
use crate::invite::directory;
use crate::invite::facts::InvitationKey;
use crate::invite::messages::{Challenge, Proof, Verdict};
use crate::net::peer_addr::PeerAddr;
use crate::net::{NetConfig, NetEvent, NetHandle, node};
use crate::node::client::Request;
use crate::node::saved_peers::{self, SavedTarget};
use crate::node::{NodeClient, NodeError, NodeEvent, NodeStatus, PeerAdded, PeerEntry, Reach};
use crate::protocol::guarded::SharedGuard;
use crate::state::Store;
use crate::state::fact::FactId;
use sessions::{Granted, Internal};

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
    Invite(oneshot::Sender<Result<InviteAnswer, NodeError>>),
    Group(oneshot::Sender<Result<crate::node::GroupReply, NodeError>>),
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
    /// Inviter tasks waiting for the core's challenge or verdict.
    challenges: HashMap<StreamToken, oneshot::Sender<Challenge>>,
    verdicts: HashMap<StreamToken, oneshot::Sender<Verdict>>,
    /// Acceptance tasks waiting for the core's proof.
    proofs: HashMap<InvitationKey, oneshot::Sender<Proof>>,
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
    let me = crate::state::fact::DeviceKey::of(&signing_key);
    let profile = directory::profile(&store, &signing_key)?;
    let relationships = directory::relationships(&store, &me)?;
    let contacts = store
        .contacts()?
        .into_iter()
        .map(|row| (row.peer, row.context))
        .collect();
    let redeemed = relationships
        .iter()
        .filter(|r| r.role == Role::Invitee)
        .map(|r| (r.invitation, r.peer, r.since_ms))
        .collect();
    let acceptances = store.acceptances()?;
    let trust = crate::trust::book::TrustSettings::from_facts(
        &me,
        &store.journal_facts_of(crate::invite::handshake::own_context(&signing_key))?,
    );
    let groups = store.groups()?;
    let key_packages = store.key_packages()?;
    let outbox = store.outbox()?;
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
            profile,
            contacts,
            redeemed,
            acceptances,
            trust,
            groups,
            key_packages,
            outbox,
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
        challenges: HashMap::new(),
        verdicts: HashMap::new(),
        proofs: HashMap::new(),
    };
    let mut shell = shell;
    shell.refresh_trust();
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
            Request::Invite(request, reply) => self.invite_request(request, reply),
            Request::Invitations(reply) => {
                let _ = reply.send(self.invitations_view());
            }
            Request::Acceptance(id, reply) => {
                let _ = reply.send(self.core.acceptance(&id));
            }
            Request::Contacts(reply) => {
                let _ = reply.send(self.contacts_view());
            }
            Request::Trust(query, reply) => {
                let _ = reply.send(self.trust_query(&query));
            }
            Request::Group(request, reply) => self.group_request(request, reply),
            Request::ProfileName(reply) => {
                let _ = reply.send(self.core.profile().name().to_owned());
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

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Reply { request, reply } => self.reply(request, reply),
            Effect::Notify(event) => {
                let trust_changed = match &event {
                    NodeEvent::FactsStored { context, .. } => self.core.holds_trust(*context),
                    NodeEvent::ContactsChanged => true,
                    _ => false,
                };
                let _ = self.events.send(event);
                if trust_changed {
                    self.refresh_trust();
                }
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
            Effect::StoreWrites { batch, facts, sent } => {
                let result = self
                    .store
                    .ingest_own(facts, now_ms(), &sent)
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
            Effect::RespondInvitation {
                token,
                device,
                invitation,
            } => match self.responders.remove(&token) {
                Some(reply) => {
                    let _ = reply.send(Granted::Invitation(device, invitation));
                }
                None => self.input(Input::HandshakeEnded(token)),
            },
            Effect::Challenge { token, challenge } => {
                if let Some(reply) = self.challenges.remove(&token) {
                    let _ = reply.send(challenge);
                }
            }
            Effect::Verdict { token, verdict } => {
                if let Some(reply) = self.verdicts.remove(&token) {
                    let _ = reply.send(verdict);
                }
            }
            Effect::StartAcceptance {
                key,
                peer,
                device,
                addrs,
                ask,
            } => self.start_acceptance(key, peer, device, addrs, ask),
            Effect::AcceptanceProof { key, proof } => {
                if let Some(reply) = self.proofs.remove(&key) {
                    let _ = reply.send(proof);
                }
            }
            Effect::StoreContact(row) => {
                if let Err(err) = self.store.put_contact(&row) {
                    tracing::error!(%err, "keeping a contact's pairwise secret");
                }
            }
            Effect::StoreAcceptance(row) => {
                if let Err(err) = self.store.put_acceptance(&row) {
                    tracing::error!(%err, "keeping a pending acceptance");
                }
            }
            Effect::ForgetAcceptance(key) => {
                if let Err(err) = self.store.remove_acceptance(&key.0) {
                    tracing::error!(%err, "forgetting a finished acceptance");
                }
            }
            Effect::LoadGroupFacts {
                context,
                ids,
                resumed,
            } => self.load_group_facts(context, ids, resumed),
            Effect::StoreGroup(row) => {
                if let Err(err) = self.store.put_group(&row) {
                    tracing::error!(%err, "keeping a group's state");
                }
            }
            Effect::StoreGroupMessages(rows) => {
                if let Err(err) = self.store.put_group_messages(&rows) {
                    tracing::error!(%err, "keeping messages read");
                }
            }
            Effect::StoreReceipts {
                context,
                reader,
                ids,
            } => {
                if let Err(err) = self.store.add_receipts(&context, &reader, &ids) {
                    tracing::error!(%err, "keeping receipts");
                }
            }
            Effect::StoreKeyPackages(rows) => {
                if let Err(err) = self.store.put_key_packages(&rows) {
                    tracing::error!(%err, "keeping KeyPackages' secrets");
                }
            }
            Effect::ForgetKeyPackage(reference) => {
                if let Err(err) = self.store.remove_key_package(&reference) {
                    tracing::error!(%err, "forgetting a used KeyPackage");
                }
            }
            Effect::StoreOutbox { row, request } => {
                let result = self.store.put_outbox(&row).map_err(NodeError::from);
                if let Err(err) = &result {
                    tracing::error!(%err, "keeping a message to send");
                }
                if let Some(Waiting::Group(reply)) =
                    request.and_then(|request| self.waiting.remove(&request))
                {
                    let _ = reply.send(result.map(|()| {
                        crate::node::GroupReply::Done(crate::agent::core::GroupAnswer::Queued)
                    }));
                }
            }
            Effect::ForgetOutbox(row) => {
                if let Err(err) = self.store.remove_outbox(&row) {
                    tracing::error!(%err, "dropping a message that cannot be sent");
                }
            }
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
            (Some(Waiting::Invite(sender)), Reply::Invite(result)) => {
                let _ = sender.send(result);
            }
            (Some(Waiting::Group(sender)), Reply::Group(result)) => {
                let _ = sender.send(result.map(crate::node::GroupReply::Done));
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
}
