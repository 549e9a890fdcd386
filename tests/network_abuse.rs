//! A peer that speaks the anti-entropy protocol badly: malformed, oversized and truncated
//! streams are refused and counted against it, and the node keeps serving honest peers.

use std::io;
use std::time::Duration;

use aura::agent::{self, AdmitAll, AgentConfig, AgentHandle};
use aura::identity::DeviceIdentity;
use aura::net::NetConfig;
use aura::net::codec::SYNC_PROTOCOL;
use aura::state::Store;
use aura::state::fact::ContextId;
use aura::state::kinds;
use aura::state::limits::MAX_FRAME_BYTES;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, StreamProtocol, noise, request_response, tcp, yamux};

const TIMEOUT: Duration = Duration::from_secs(60);
const CONTEXT: ContextId = ContextId([9; 32]);

/// Writes whatever bytes it is given and reads whatever comes back.
#[derive(Clone, Default)]
struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        io.read_to_end(&mut out).await?;
        Ok(out)
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        io.take(1 << 24).read_to_end(&mut out).await?;
        Ok(out)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&request).await?;
        io.close().await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> io::Result<()> {
        io.write_all(&response).await?;
        io.close().await
    }
}

async fn start(
    path: &std::path::Path,
    dial: Vec<Multiaddr>,
) -> (AgentHandle, tokio::task::JoinHandle<Store>, Multiaddr) {
    let store = Store::open(path, "test").unwrap();
    let identity = DeviceIdentity::load_or_create(&store).unwrap();
    let (agent, task) = agent::spawn(
        store,
        identity.signing_key().clone(),
        AgentConfig {
            net: NetConfig {
                keypair: identity.keypair().clone(),
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                mdns: false,
                bootstrap: Vec::new(),
                dial,
            },
            sync_interval: Duration::from_secs(3600),
        },
        Box::new(AdmitAll),
        None,
    )
    .unwrap();
    agent.join_context(CONTEXT).await.unwrap();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let addr = loop {
        if let Some(addr) = agent.status().await.unwrap().net.listen_addrs.first() {
            break addr.clone();
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    (
        agent,
        task,
        addr.with(libp2p::multiaddr::Protocol::P2p(identity.peer_id())),
    )
}

fn message(session: u64, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = session.to_be_bytes().to_vec();
    out.extend_from_slice(&(frames.len() as u16).to_be_bytes());
    for frame in frames {
        out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        out.extend_from_slice(frame);
    }
    out
}

/// The bad streams, each refused for another reason.
fn bad_requests() -> Vec<(&'static str, Vec<u8>)> {
    let mut oversized = 1u64.to_be_bytes().to_vec();
    oversized.extend_from_slice(&1u16.to_be_bytes());
    oversized.extend_from_slice(&((MAX_FRAME_BYTES as u32) + 1).to_be_bytes());
    oversized.extend(std::iter::repeat_n(0xAB, MAX_FRAME_BYTES + 1));
    let whole = message(2, &[vec![1; 200]]);
    let truncated = whole[..whole.len() - 50].to_vec();
    let mut too_many = 3u64.to_be_bytes().to_vec();
    too_many.extend_from_slice(&u16::MAX.to_be_bytes());
    vec![
        ("oversized frame", oversized),
        ("truncated stream", truncated),
        ("too many frames", too_many),
        // Well framed, but the frame is not a sync frame.
        (
            "malformed frame",
            message(4, &[vec![0xFF, 0x00, 0x13, 0x37]]),
        ),
        // A sync frame, but a session must start with Hello.
        ("session without Hello", message(5, &[vec![1, 5, 1]])),
        ("header cut short", vec![0, 0, 0]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_anti_entropy_streams_are_refused_counted_and_survived() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("aura=debug")
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let (target, target_task, target_addr) =
        start(&dir.path().join("target.redb"), Vec::new()).await;
    target
        .write(CONTEXT, kinds::MESSAGE, b"kept".to_vec())
        .await
        .unwrap();

    let mut attacker = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                RawCodec,
                [(SYNC_PROTOCOL, request_response::ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(TIMEOUT),
            )
        })
        .unwrap()
        .with_swarm_config(|config| config.with_idle_connection_timeout(TIMEOUT))
        .build();
    let attacker_id: PeerId = *attacker.local_peer_id();
    attacker.dial(target_addr.clone()).unwrap();
    let target_id = target.status().await.unwrap().net.peer_id.unwrap();
    let bad = bad_requests();
    let mut outstanding = 0;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    // Each request ends in a failure or an empty answer: never in a reply.
    let mut sent = false;
    while !sent || outstanding > 0 {
        let event = tokio::time::timeout_at(deadline, attacker.select_next_some())
            .await
            .expect("the bad requests to be answered or dropped");
        match event {
            SwarmEvent::ConnectionEstablished { .. } if !sent => {
                for (_, bytes) in &bad {
                    attacker
                        .behaviour_mut()
                        .send_request(&target_id, bytes.clone());
                    outstanding += 1;
                }
                sent = true;
            }
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. }) => {
                outstanding -= 1;
            }
            SwarmEvent::Behaviour(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            }) => {
                assert!(response.is_empty(), "a bad request got a reply");
                outstanding -= 1;
            }
            _ => {}
        }
    }
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let status = target.status().await.unwrap();
        let rejected = status
            .net
            .rejected_streams
            .get(&attacker_id)
            .copied()
            .unwrap_or(0);
        if rejected >= bad.len() as u64 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {rejected} of {} bad streams were counted",
            bad.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(attacker);

    // The node still serves an honest peer: it catches up by anti-entropy.
    let (honest, honest_task, _) = start(&dir.path().join("honest.redb"), vec![target_addr]).await;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while honest.fact_count(CONTEXT).await.unwrap() < 1 {
        // Sessions start when the peers see each other's subscription; asking again covers
        // the side whose id does not start them.
        let _ = honest.sync_now(CONTEXT).await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the honest peer never caught up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    honest.shutdown().await;
    drop(honest_task.await.unwrap());
    target.shutdown().await;
    drop(target_task.await.unwrap());
}
