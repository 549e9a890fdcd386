//! The swarm task and its handle: the Swarm is owned by one task; everything else talks to it
//! through a cloneable [`NetHandle`] (commands, some with oneshot replies) and reads what
//! happens from one stream of [`NetEvent`]s.
//!
//! Commands go through an unbounded channel so that the agent never waits on the swarm while
//! the swarm waits on the agent's bounded event channel: the agent's own pace bounds what it
//! sends. Events go through a bounded channel, which slows the swarm when the agent falls
//! behind instead of buffering without end.

// The swarm task is a shell: it reads the clock for its own timers (relay retries).
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use libp2p::autonat;
use libp2p::core::transport::ListenerId;
use libp2p::swarm::ListenError;
use tokio::time::Instant;

use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{
    Multiaddr, PeerId, Stream, Swarm, gossipsub, identify, identity::Keypair, kad, mdns, noise,
    tcp, yamux,
};
use tokio::sync::{mpsc, oneshot};

use super::behaviour::{Behaviour, BehaviourEvent, SESSION_PROTOCOL};
use super::info::NatStatus;
pub use super::info::{NetInfo, is_relayed};
use super::listen::{await_listeners, ensure_port_free};
pub use super::listen::{dial_failure, error_chain};
use super::nat_log::{dcutr_event, relay_client_event};
pub use super::topic::topic;
use crate::state::fact::ContextId;

/// Events the swarm task may queue before it waits for the agent.
pub const NET_EVENT_CAPACITY: usize = 4096;
/// A connection with no protocol using it is closed after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);
/// Kademlia lookups for lost peers running at once.
const MAX_WANTED_PEERS: usize = 64;
/// Protocol violations (session streams or gossip) after which a peer is disconnected.
pub const MAX_REJECTED_STREAMS: u64 = 16;
/// After a relay reservation fails or is lost (the relay is down, full or restarted), the
/// node asks again this much later: a node behind NAT is unreachable without it, and one
/// attempt every half minute costs the relay nothing.
const RELAY_RETRY_DELAY: Duration = Duration::from_secs(30);

/// What a node needs to start.
#[derive(Debug, Clone)]
pub struct NetConfig {
    pub keypair: Keypair,
    /// Addresses to listen on. An address ending in `/p2p-circuit` (a relay's address, its
    /// `/p2p/PEER_ID`, then `/p2p-circuit`) asks that relay for a reservation: the node dials
    /// the relay, peers reach it through the relay, and DCUtR then tries for a direct
    /// connection. A reservation that fails or is lost is asked for again.
    pub listen: Vec<Multiaddr>,
    pub mdns: bool,
    /// Kademlia bootstrap peers; each address must end in `/p2p/PEER_ID`.
    pub bootstrap: Vec<Multiaddr>,
    /// Addresses dialled once at start.
    pub dial: Vec<Multiaddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("the network task has stopped")]
    Stopped,
    #[error("transport: {0}")]
    Transport(String),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: Multiaddr, reason: String },
    /// A dial that reached no one; the reason alone, since the caller knows the address.
    #[error("{0}")]
    Unreachable(String),
    #[error("cannot open a session with {peer}: {reason}")]
    OpenSession { peer: PeerId, reason: String },
    #[error(transparent)]
    Behaviour(#[from] super::behaviour::BehaviourError),
}

/// What the agent found a gossip message to be; gossipsub forwards only accepted ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GossipVerdict {
    Accept,
    /// Not forwarded, and nobody's fault (over a budget, a clock ahead of ours).
    Ignore,
    /// Not forwarded, and counted against the peer that sent it.
    Reject,
}

/// What happens on the network, for the agent.
#[derive(Debug)]
pub enum NetEvent {
    ListenAddrsChanged(Vec<Multiaddr>),
    PeersChanged(Vec<PeerId>),
    /// A gossip message awaiting the agent's [`NetHandle::report_gossip`].
    Gossip {
        id: gossipsub::MessageId,
        source: PeerId,
        context: ContextId,
        data: Vec<u8>,
    },
    PeerSubscribed {
        peer: PeerId,
        context: ContextId,
    },
    PeerUnsubscribed {
        peer: PeerId,
        context: ContextId,
    },
    /// A peer told its listen addresses (identify).
    PeerIdentified {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
    },
    /// A peer opened a session stream; the agent runs it or drops it.
    InboundSession {
        peer: PeerId,
        stream: Stream,
    },
}

enum Command {
    Dial(Multiaddr, oneshot::Sender<Result<(), NetError>>),
    DialPeer(PeerId, Vec<Multiaddr>),
    FindPeer(PeerId),
    Subscribe(ContextId),
    Publish {
        context: ContextId,
        data: Vec<u8>,
    },
    ReportGossip {
        id: gossipsub::MessageId,
        source: PeerId,
        verdict: GossipVerdict,
    },
    Penalize(PeerId),
    Info(oneshot::Sender<NetInfo>),
    MeshPeers(ContextId, oneshot::Sender<usize>),
}

/// The cloneable handle to the swarm task. Dropping every handle stops the task.
#[derive(Clone)]
pub struct NetHandle {
    commands: mpsc::UnboundedSender<Command>,
    sessions: libp2p_stream::Control,
}

impl std::fmt::Debug for NetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetHandle").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl NetHandle {
    fn send(&self, command: Command) -> Result<(), NetError> {
        self.commands.send(command).map_err(|_| NetError::Stopped)
    }

    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Dial(addr, reply))?;
        answer.await.map_err(|_| NetError::Stopped)?
    }

    /// Dials `peer` at `addrs` and wherever the behaviours know it to be, unless it is
    /// connected or being dialled; the outcome shows in [`NetEvent::PeersChanged`].
    pub fn dial_peer(&self, peer: PeerId, addrs: Vec<Multiaddr>) -> Result<(), NetError> {
        self.send(Command::DialPeer(peer, addrs))
    }

    /// Asks the Kademlia network where `peer` is, and dials it at what the answer says.
    pub fn find_peer(&self, peer: PeerId) -> Result<(), NetError> {
        self.send(Command::FindPeer(peer))
    }

    pub fn subscribe(&self, context: ContextId) -> Result<(), NetError> {
        self.send(Command::Subscribe(context))
    }

    /// Gossips `data` (a fact's encoding) to the context's topic. Not finding any subscribed
    /// peer is normal for a lone node and not an error: anti-entropy delivers the fact later.
    pub fn publish(&self, context: ContextId, data: Vec<u8>) -> Result<(), NetError> {
        self.send(Command::Publish { context, data })
    }

    /// Opens a session stream to `peer`, dialling it if no connection is open.
    pub async fn open_session(&self, peer: PeerId) -> Result<Stream, NetError> {
        self.sessions
            .clone()
            .open_stream(peer, SESSION_PROTOCOL)
            .await
            .map_err(|err| NetError::OpenSession {
                peer,
                reason: err.to_string(),
            })
    }

    /// Says whether a received gossip message is valid: only then is it forwarded.
    pub fn report_gossip(
        &self,
        id: gossipsub::MessageId,
        source: PeerId,
        verdict: GossipVerdict,
    ) -> Result<(), NetError> {
        self.send(Command::ReportGossip {
            id,
            source,
            verdict,
        })
    }

    /// Counts a misbehaviour of `peer` found above the transport (a frame that does not
    /// decode, a session that breaks the protocol).
    pub fn penalize(&self, peer: PeerId) -> Result<(), NetError> {
        self.send(Command::Penalize(peer))
    }

    pub async fn info(&self) -> Result<NetInfo, NetError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Info(reply))?;
        answer.await.map_err(|_| NetError::Stopped)
    }

    /// Peers in this node's gossip mesh of `context`.
    pub async fn mesh_peers(&self, context: ContextId) -> Result<usize, NetError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::MeshPeers(context, reply))?;
        answer.await.map_err(|_| NetError::Stopped)
    }
}

/// Builds the swarm, starts listening (and waits until each direct listener is bound or has
/// failed, so that a port in use is an error here rather than a silent log line), dials, and
/// spawns the task that owns the swarm.
pub async fn spawn(
    config: NetConfig,
) -> Result<
    (
        NetHandle,
        mpsc::Receiver<NetEvent>,
        tokio::task::JoinHandle<()>,
    ),
    NetError,
> {
    // The builder hands the relay client to the closure and only a boxed error back, so the
    // behaviour's own error is kept aside to be returned as it is.
    let mut behaviour_error = None;
    let built = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|err| NetError::Transport(error_chain(&err)))?
        .with_quic()
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|err| NetError::Transport(error_chain(&err)))?
        .with_behaviour(|key, relay_client| {
            Behaviour::new(key, config.mdns, relay_client).map_err(|err| {
                let message = err.to_string();
                behaviour_error = Some(err);
                message.into()
            })
        });
    let mut swarm = match built {
        Ok(builder) => builder
            .with_swarm_config(|swarm| swarm.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
            .build(),
        Err(err) => {
            return Err(match behaviour_error {
                Some(err) => NetError::Behaviour(err),
                None => NetError::Transport(err.to_string()),
            });
        }
    };
    let sessions = swarm.behaviour().sessions.new_control();
    let incoming = sessions
        .clone()
        .accept(SESSION_PROTOCOL)
        .map_err(|err| NetError::Transport(err.to_string()))?;
    let mut relay_listeners = HashMap::new();
    let mut direct_listeners = HashMap::new();
    for addr in &config.listen {
        let listen_error = |reason: String| NetError::Listen {
            addr: addr.clone(),
            reason,
        };
        if !is_relayed(addr) {
            ensure_port_free(addr).map_err(listen_error)?;
        }
        let listener = swarm
            .listen_on(addr.clone())
            .map_err(|err| listen_error(error_chain(&err)))?;
        if is_relayed(addr) {
            relay_listeners.insert(listener, addr.clone());
        } else {
            direct_listeners.insert(listener, addr.clone());
        }
    }
    let (listen_addrs, early_events) = await_listeners(&mut swarm, direct_listeners).await?;
    for addr in &config.bootstrap {
        if let Some(peer) = peer_of(addr) {
            swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        }
    }
    if !config.bootstrap.is_empty() {
        // Fails only when the routing table is empty, which the loop above rules out unless
        // no address named its peer.
        if let Err(err) = swarm.behaviour_mut().kad.bootstrap() {
            tracing::warn!(%err, "Kademlia bootstrap");
        }
    }
    for addr in &config.dial {
        if let Err(err) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, %err, "dialling a stored peer");
        }
    }
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (event_tx, events) = mpsc::channel(NET_EVENT_CAPACITY);
    let task = SwarmTask {
        swarm,
        commands: command_rx,
        events: event_tx,
        incoming,
        pending_dials: HashMap::new(),
        contexts: HashMap::new(),
        queued: Vec::new(),
        violations: BTreeMap::new(),
        listen_addrs,
        wanted: HashMap::new(),
        relays: RelayReservations {
            listeners: relay_listeners,
            retries: Vec::new(),
        },
        nat_status: NatStatus::Unknown,
    };
    let join = tokio::spawn(async move {
        let mut task = task;
        let bound = NetEvent::ListenAddrsChanged(task.listen_addrs.clone());
        if task.events.send(bound).await.is_err() {
            return;
        }
        for event in early_events {
            if task.event(event).await.is_err() {
                return;
            }
        }
        task.run().await
    });
    Ok((NetHandle { commands, sessions }, events, join))
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|protocol| match protocol {
        libp2p::multiaddr::Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

struct SwarmTask {
    swarm: Swarm<Behaviour>,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<NetEvent>,
    /// Session streams peers open; taken at once, since the stream behaviour drops those
    /// nobody is waiting for.
    incoming: libp2p_stream::IncomingStreams,
    pending_dials: HashMap<libp2p::swarm::ConnectionId, oneshot::Sender<Result<(), NetError>>>,
    /// The context of each topic this node subscribed to.
    contexts: HashMap<gossipsub::TopicHash, ContextId>,
    /// Events a command produced, sent before the next command is taken.
    queued: Vec<NetEvent>,
    violations: BTreeMap<PeerId, u64>,
    listen_addrs: Vec<Multiaddr>,
    /// Kademlia lookups for peers the agent wants to find, and whom each looks for.
    wanted: HashMap<kad::QueryId, PeerId>,
    relays: RelayReservations,
    nat_status: NatStatus,
}

/// The relay reservations this node listens through, and those to ask for again.
struct RelayReservations {
    /// Each relayed listener and the `<relay>/p2p-circuit` address it listens on.
    listeners: HashMap<ListenerId, Multiaddr>,
    /// Addresses to listen on again, and when.
    retries: Vec<(Instant, Multiaddr)>,
}

impl RelayReservations {
    fn next_retry(&self) -> Option<Instant> {
        self.retries.iter().map(|(when, _)| *when).min()
    }
}

impl SwarmTask {
    async fn run(mut self) {
        loop {
            let next_relay_retry = self.relays.next_retry();
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => {
                        self.command(command);
                        let mut stopped = false;
                        for event in std::mem::take(&mut self.queued) {
                            stopped |= self.events.send(event).await.is_err();
                        }
                        if stopped {
                            break;
                        }
                    }
                    None => break,
                },
                () = sleep_until_some(next_relay_retry) => self.retry_relays(),
                event = self.swarm.select_next_some() => {
                    if self.event(event).await.is_err() {
                        break;
                    }
                }
                Some((peer, stream)) = self.incoming.next() => {
                    let event = NetEvent::InboundSession { peer, stream };
                    if self.events.send(event).await.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::debug!("network task stopped");
    }

    /// Listens again through every relay whose retry is due.
    fn retry_relays(&mut self) {
        let now = Instant::now();
        let (due, later) = std::mem::take(&mut self.relays.retries)
            .into_iter()
            .partition(|(when, _)| *when <= now);
        self.relays.retries = later;
        for (_, addr) in due {
            tracing::debug!(%addr, "asking the relay for a reservation again");
            match self.swarm.listen_on(addr.clone()) {
                Ok(listener) => {
                    self.relays.listeners.insert(listener, addr);
                }
                Err(err) => {
                    tracing::warn!(%addr, %err, "cannot listen through the relay");
                    self.relays.retries.push((now + RELAY_RETRY_DELAY, addr));
                }
            }
        }
    }

    fn connected(&self) -> Vec<PeerId> {
        self.swarm.connected_peers().copied().collect()
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Dial(addr, reply) => {
                let opts = libp2p::swarm::dial_opts::DialOpts::unknown_peer_id()
                    .address(addr.clone())
                    .build();
                let id = opts.connection_id();
                match self.swarm.dial(opts) {
                    Ok(()) => {
                        self.pending_dials.insert(id, reply);
                    }
                    Err(err) => {
                        tracing::debug!(%addr, "dial not started");
                        let _ = reply.send(Err(NetError::Unreachable(dial_failure(&err))));
                    }
                }
            }
            Command::DialPeer(peer, addrs) => {
                let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                    .addresses(addrs)
                    .extend_addresses_through_behaviour()
                    .condition(libp2p::swarm::dial_opts::PeerCondition::DisconnectedAndNotDialing)
                    .build();
                if let Err(err) = self.swarm.dial(opts) {
                    tracing::debug!(%peer, err = %error_chain(&err), "redial not started");
                }
            }
            Command::FindPeer(peer) => {
                if !self.swarm.is_connected(&peer) && self.wanted.len() < MAX_WANTED_PEERS {
                    let query = self.swarm.behaviour_mut().kad.get_closest_peers(peer);
                    self.wanted.insert(query, peer);
                }
            }
            Command::Subscribe(context) => {
                let topic = topic(context);
                if let Err(err) = self.swarm.behaviour_mut().gossipsub.subscribe(&topic) {
                    tracing::warn!(%err, "subscribing to a context");
                }
                let hash = topic.hash();
                self.contexts.insert(hash.clone(), context);
                // Peers that subscribed before this node did were announced then, when their
                // topic meant nothing here: they are reported now.
                let known: Vec<PeerId> = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .all_peers()
                    .filter(|(_, topics)| topics.contains(&&hash))
                    .map(|(peer, _)| *peer)
                    .collect();
                self.queued.extend(
                    known
                        .into_iter()
                        .map(|peer| NetEvent::PeerSubscribed { peer, context }),
                );
            }
            Command::Publish { context, data } => {
                match self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(topic(context), data)
                {
                    Ok(_) | Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {}
                    Err(gossipsub::PublishError::Duplicate) => {}
                    Err(err) => tracing::warn!(%err, "gossip publish"),
                }
            }
            Command::ReportGossip {
                id,
                source,
                verdict,
            } => {
                let acceptance = match verdict {
                    GossipVerdict::Accept => gossipsub::MessageAcceptance::Accept,
                    GossipVerdict::Ignore => gossipsub::MessageAcceptance::Ignore,
                    GossipVerdict::Reject => gossipsub::MessageAcceptance::Reject,
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, acceptance);
                if verdict == GossipVerdict::Reject {
                    self.penalize(source);
                }
            }
            Command::Penalize(peer) => self.penalize(peer),
            Command::Info(reply) => {
                let _ = reply.send(NetInfo {
                    peer_id: Some(*self.swarm.local_peer_id()),
                    listen_addrs: self.listen_addrs.clone(),
                    connected: self.connected(),
                    violations: self.violations.clone(),
                    nat_status: self.nat_status.clone(),
                    connections: self
                        .swarm
                        .network_info()
                        .connection_counters()
                        .num_established(),
                    routing_table: self.routing_table(),
                });
            }
            Command::MeshPeers(context, reply) => {
                let count = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .mesh_peers(&topic(context).hash())
                    .count();
                let _ = reply.send(count);
            }
        }
    }

    fn routing_table(&mut self) -> Vec<PeerId> {
        self.swarm
            .behaviour_mut()
            .kad
            .kbuckets()
            .flat_map(|bucket| {
                bucket
                    .iter()
                    .map(|entry| *entry.node.key.preimage())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn penalize(&mut self, peer: PeerId) {
        let count = self.violations.entry(peer).or_default();
        *count += 1;
        tracing::warn!(%peer, violations = *count, "a peer broke the protocol");
        if *count >= MAX_REJECTED_STREAMS {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    /// Handles one swarm event; `Err` when the agent is gone.
    async fn event(&mut self, event: SwarmEvent<BehaviourEvent>) -> Result<(), ()> {
        let out = match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
                self.listen_addrs.push(address);
                Some(NetEvent::ListenAddrsChanged(self.listen_addrs.clone()))
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|known| *known != address);
                Some(NetEvent::ListenAddrsChanged(self.listen_addrs.clone()))
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                addresses,
                reason,
            } => {
                self.relay_listener_closed(listener_id, reason);
                let before = self.listen_addrs.len();
                self.listen_addrs.retain(|known| !addresses.contains(known));
                (self.listen_addrs.len() != before)
                    .then(|| NetEvent::ListenAddrsChanged(self.listen_addrs.clone()))
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                // AutoNAT found peers can dial this address.
                tracing::info!(%address, "external address confirmed");
                None
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error: ListenError::Denied { cause },
                ..
            } => {
                // Over the connection limits, or refused by another behaviour.
                tracing::debug!(%send_back_addr, %cause, "refused an incoming connection");
                None
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                if let Some(reply) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Ok(()));
                }
                tracing::debug!(%peer_id, "connected");
                (num_established.get() == 1).then(|| NetEvent::PeersChanged(self.connected()))
            }
            SwarmEvent::ConnectionClosed {
                num_established, ..
            } => (num_established == 0).then(|| NetEvent::PeersChanged(self.connected())),
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                if let Some(reply) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Err(NetError::Unreachable(dial_failure(&error))));
                }
                None
            }
            SwarmEvent::Behaviour(event) => self.behaviour_event(event),
            _ => None,
        };
        match out {
            Some(event) => self.events.send(event).await.map_err(|_| ()),
            None => Ok(()),
        }
    }

    fn behaviour_event(&mut self, event: BehaviourEvent) -> Option<NetEvent> {
        match event {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                let Some(context) = self.contexts.get(&message.topic).copied() else {
                    // A topic this node does not take part in: nothing to judge or forward.
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            gossipsub::MessageAcceptance::Ignore,
                        );
                    return None;
                };
                Some(NetEvent::Gossip {
                    id: message_id,
                    source: propagation_source,
                    context,
                    data: message.data,
                })
            }
            BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed { peer_id, topic }) => {
                let context = self.contexts.get(&topic).copied()?;
                Some(NetEvent::PeerSubscribed {
                    peer: peer_id,
                    context,
                })
            }
            BehaviourEvent::Gossipsub(gossipsub::Event::Unsubscribed { peer_id, topic }) => {
                let context = self.contexts.get(&topic).copied()?;
                Some(NetEvent::PeerUnsubscribed {
                    peer: peer_id,
                    context,
                })
            }
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                for addr in &info.listen_addrs {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, addr.clone());
                }
                Some(NetEvent::PeerIdentified {
                    peer: peer_id,
                    addrs: info.listen_addrs,
                })
            }
            BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetClosestPeers(result),
                step,
                ..
            }) => {
                let found = match &result {
                    Ok(ok) => ok.peers.as_slice(),
                    Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers.as_slice(),
                };
                let wanted = if step.last {
                    self.wanted.remove(&id)
                } else {
                    self.wanted.get(&id).copied()
                };
                if let Some(info) =
                    wanted.and_then(|peer| found.iter().find(|info| info.peer_id == peer))
                    && !info.addrs.is_empty()
                    && !self.swarm.is_connected(&info.peer_id)
                {
                    tracing::debug!(peer = %info.peer_id, addrs = ?info.addrs, "found a peer through Kademlia");
                    let opts = libp2p::swarm::dial_opts::DialOpts::peer_id(info.peer_id)
                        .addresses(info.addrs.clone())
                        .condition(
                            libp2p::swarm::dial_opts::PeerCondition::DisconnectedAndNotDialing,
                        )
                        .build();
                    let _ = self.swarm.dial(opts);
                }
                None
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                let mut seen = HashSet::new();
                for (peer, addr) in found {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer, addr.clone());
                    if seen.insert(peer) && !self.swarm.is_connected(&peer) {
                        let _ = self.swarm.dial(addr);
                    }
                }
                None
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated { peer, .. }) => {
                tracing::debug!(%peer, "Kademlia routing updated");
                None
            }
            BehaviourEvent::RelayClient(event) => {
                relay_client_event(event);
                None
            }
            BehaviourEvent::Dcutr(event) => {
                dcutr_event(event);
                None
            }
            BehaviourEvent::Autonat(autonat::Event::StatusChanged { old, new }) => {
                let new = NatStatus::from(new);
                tracing::info!(old = %NatStatus::from(old), %new, "AutoNAT status changed");
                self.nat_status = new;
                None
            }
            _ => None,
        }
    }

    /// A relayed listener closes when its reservation is refused, when the relay cannot be
    /// dialled, or when the connection to the relay ends; it is asked for again later.
    fn relay_listener_closed(&mut self, listener: ListenerId, reason: Result<(), std::io::Error>) {
        let Some(addr) = self.relays.listeners.remove(&listener) else {
            return;
        };
        match reason {
            Ok(()) => tracing::warn!(%addr, "relay reservation lost or relay unreachable"),
            Err(err) => tracing::warn!(%addr, %err, "relay reservation failed"),
        }
        self.relays
            .retries
            .push((Instant::now() + RELAY_RETRY_DELAY, addr));
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
