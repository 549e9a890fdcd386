//! A contact that speaks the session protocol badly: malformed, oversized, truncated and
//! out-of-turn streams are refused and counted against it, streams that are merely refused
//! are not, and the node keeps serving honest peers. A stranger gets no session and no
//! gossip through at all.

// Tests and benchmarks measure real time; only the node's core must not read the clock.
#![allow(clippy::disallowed_methods)]

mod support;

use support::wire::{ANTI_ENTROPY, message, preamble, signal, turn};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aura::net::behaviour::SESSION_PROTOCOL;
use aura::node::{Node, NodeHandle, NodeOptions};
use aura::state::fact::ContextId;
use aura::state::kinds;
use aura::state::sync_frame::Frame;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Multiaddr, PeerId, gossipsub};

const TIMEOUT: Duration = Duration::from_secs(60);
const CONTEXT: ContextId = ContextId([9; 32]);
const OTHER_CONTEXT: ContextId = ContextId([8; 32]);

async fn start(path: &std::path::Path, dial: Vec<Multiaddr>) -> (NodeHandle, Multiaddr) {
    let mut options = NodeOptions::loopback(path).unwrap();
    options.dial = dial;
    options.sync_interval = Duration::from_secs(3600);
    let node = Node::start(options).await.unwrap();
    node.join_context(CONTEXT).await.unwrap();
    let addr = node.dialable_addr().await.unwrap();
    (node, addr)
}

/// Streams that break the session protocol, each in another way: every one is counted
/// against the peer.
fn violations() -> Vec<(&'static str, Vec<u8>)> {
    let session = preamble(ANTI_ENTROPY, CONTEXT);
    let with = |bytes: Vec<u8>| [session.clone(), bytes].concat();
    let mut oversized = vec![0];
    oversized.extend_from_slice(&u32::MAX.to_be_bytes());
    let whole = message("Hello", &turn(vec![vec![1; 200]]));
    let truncated = whole[..whole.len() - 50].to_vec();
    let hello = Frame::Hello { context: CONTEXT }.encode(true);
    let mut too_many_frames = u16::MAX.to_be_bytes().to_vec();
    too_many_frames.extend_from_slice(&[0; 16]);
    vec![
        ("unknown protocol", preamble(0x7F, CONTEXT)),
        ("oversized signal", with(oversized)),
        ("truncated signal", with(truncated)),
        ("too many frames", with(message("Hello", &too_many_frames))),
        ("out of turn", with(message("Want", &turn(Vec::new())))),
        ("a choice first", with(signal(1, &[1]))),
        ("unknown signal", with(signal(9, &[]))),
        (
            "Hello without a Hello frame",
            with(message("Hello", &turn(vec![vec![0xFF, 0x00, 0x13]]))),
        ),
        // A proper Hello, then a round that asks for nothing: it would hold the responder
        // (and its copy of the context) for ever.
        (
            "an empty round",
            with(
                [
                    message("Hello", &turn(vec![hello])),
                    signal(1, &[1]),
                    message("Want", &turn(Vec::new())),
                ]
                .concat(),
            ),
        ),
    ]
}

/// Streams that are refused without being the peer's fault.
fn refusals() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "a context not joined",
            preamble(ANTI_ENTROPY, OTHER_CONTEXT),
        ),
        ("preamble cut short", vec![ANTI_ENTROPY, 9, 9]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_session_streams_are_refused_counted_and_survived() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("aura=debug")
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let (target, target_addr) = start(&dir.path().join("target.redb"), Vec::new()).await;
    target
        .write(CONTEXT, kinds::MESSAGE, b"kept".to_vec())
        .await
        .unwrap();

    // A contact turned bad: its sessions get as far as the protocol lets them.
    let insider =
        support::friends::contact_identity(&dir.path().join("insider.redb"), &target).await;
    let baseline = target.status().await.unwrap().sessions;
    let attacker =
        support::swarm::tcp_swarm_as(insider, |_| libp2p_stream::Behaviour::new(), TIMEOUT);
    let attacker_id: PeerId = *attacker.local_peer_id();
    let mut control = attacker.behaviour().new_control();
    let mut attacker = attacker;
    attacker.dial(target_addr.clone()).unwrap();
    let swarm = tokio::spawn(async move {
        loop {
            attacker.select_next_some().await;
        }
    });
    let target_id = target.status().await.unwrap().net.peer_id.unwrap();
    let violations = violations();
    let refusals = refusals();
    for (what, bytes) in violations.iter().chain(&refusals) {
        let ended =
            |status: &aura::node::NodeStatus| status.sessions.failed + status.sessions.refused;
        let before = ended(&target.status().await.unwrap());
        let mut stream = control
            .open_stream(target_id, SESSION_PROTOCOL)
            .await
            .unwrap_or_else(|err| panic!("opening a stream for {what}: {err}"));
        // The node may close the stream before reading all of it; that is its right.
        let _ = stream.write_all(bytes).await;
        let _ = stream.close().await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut answer)).await;
        // Only the empty round gets as far as the responder's first answer.
        assert!(
            answer.is_empty() || answer[0] == 2 || *what == "an empty round",
            "{what} got something other than an abort: {answer:?}"
        );
        // One stream at a time: a peer in no joined context has a single place.
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while ended(&target.status().await.unwrap()) == before {
            assert!(tokio::time::Instant::now() < deadline, "{what} never ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let status = target.status().await.unwrap();
        let rejected = status
            .net
            .violations
            .get(&attacker_id)
            .copied()
            .unwrap_or(0);
        let ended =
            status.sessions.failed + status.sessions.refused - baseline.failed - baseline.refused;
        if rejected >= violations.len() as u64
            && ended >= (violations.len() + refusals.len()) as u64
        {
            assert_eq!(
                rejected,
                violations.len() as u64,
                "refusals are not counted"
            );
            assert_eq!(status.sessions.completed, baseline.completed);
            assert_eq!(
                status.sessions.stranger_sessions, 0,
                "a contact is no stranger"
            );
            let clock_epoch = now_ms() / 60_000;
            assert!(
                status.budget_epoch <= clock_epoch + 1,
                "a peer moved the budget epoch to {}",
                status.budget_epoch
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {rejected} of {} bad streams were counted ({:?})",
            violations.len(),
            status.sessions
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    swarm.abort();

    // A stranger's well-formed session is refused before it starts, counted as a stranger's
    // and not as a violation.
    let (stranger_id, answer) = support::wire::stranger_session(
        target_addr.clone(),
        target_id,
        &support::wire::anti_entropy_hello(CONTEXT),
    )
    .await;
    assert!(answer.is_empty(), "a stranger was answered: {answer:?}");
    support::poll::eventually("the stranger's session to be counted", || async {
        target.status().await.unwrap().sessions.stranger_sessions == 1
    })
    .await;
    let status = target.status().await.unwrap();
    assert_eq!(status.net.violations.get(&stranger_id), None);
    assert_eq!(status.sessions.completed, baseline.completed);

    // The node still serves an honest peer: it catches up by anti-entropy.
    let (honest, _) = start(&dir.path().join("honest.redb"), vec![target_addr]).await;
    support::friends::befriend(&target, &honest).await;
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
    drop(honest.stop().await.unwrap());
    drop(target.stop().await.unwrap());
}

/// A peer that gossips on a context's topic: the node's own behaviours, minus the checks.
#[derive(NetworkBehaviour)]
struct Gossiper {
    gossipsub: gossipsub::Behaviour,
}

/// A gossiping peer with the identity `key`, subscribed to the context's topic.
fn gossiper(key: libp2p::identity::Keypair) -> libp2p::Swarm<Gossiper> {
    let mut swarm = support::swarm::tcp_swarm_as(
        key,
        |_| Gossiper {
            gossipsub: gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Anonymous,
                gossipsub::ConfigBuilder::default()
                    .validation_mode(gossipsub::ValidationMode::Anonymous)
                    .message_id_fn(|message| {
                        use std::hash::{Hash, Hasher};
                        let mut hasher = std::hash::DefaultHasher::new();
                        message.data.hash(&mut hasher);
                        gossipsub::MessageId::from(hasher.finish().to_be_bytes().to_vec())
                    })
                    .heartbeat_interval(Duration::from_millis(200))
                    .build()
                    .unwrap(),
            )
            .unwrap(),
        },
        TIMEOUT,
    );
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&aura::net::node::topic(CONTEXT))
        .unwrap();
    swarm
}

/// Has `swarm` publish each of `messages` on the context's topic once the target's
/// subscription is known, and keeps it running until `done` holds.
async fn publish_until<F, Fut>(
    swarm: &mut libp2p::Swarm<Gossiper>,
    messages: &[Vec<u8>],
    mut done: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let topic = aura::net::node::topic(CONTEXT);
    let mut published = false;
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(100), swarm.select_next_some()).await;
        if !published {
            // Publishing fails until the target's subscription is known.
            let gossip = &mut swarm.behaviour_mut().gossipsub;
            if gossip.publish(topic.clone(), messages[0].clone()).is_ok() {
                for message in &messages[1..] {
                    gossip.publish(topic.clone(), message.clone()).unwrap();
                }
                published = true;
            }
            continue;
        }
        if done().await {
            return;
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_gossip_is_counted_and_not_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let (target, target_addr) = start(&dir.path().join("target.redb"), Vec::new()).await;
    let (honest, _) = start(&dir.path().join("honest.redb"), vec![target_addr.clone()]).await;
    support::friends::befriend(&target, &honest).await;
    let insider =
        support::friends::contact_identity(&dir.path().join("insider.redb"), &target).await;
    let mut attacker = gossiper(insider);
    let attacker_id = *attacker.local_peer_id();
    attacker.dial(target_addr.clone()).unwrap();

    let author = support::key(42);
    let at = support::time(now_ms(), 0);
    let valid = support::message(&author, CONTEXT, at, "valid").encode();
    let mut forged = support::message(&author, CONTEXT, at, "forged").encode();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let garbage = b"not a fact at all".to_vec();
    publish_until(&mut attacker, &[garbage, forged, valid], || async {
        let counted = target
            .status()
            .await
            .unwrap()
            .net
            .violations
            .get(&attacker_id)
            .copied()
            .unwrap_or(0);
        counted >= 2 && honest.fact_count(CONTEXT).await.unwrap() >= 1
    })
    .await;
    let status = target.status().await.unwrap();
    assert_eq!(
        status.net.violations.get(&attacker_id).copied(),
        Some(2),
        "the garbage and the forged fact are counted against their sender"
    );
    assert_eq!(
        target.fact_count(CONTEXT).await.unwrap(),
        1,
        "only the valid fact is kept"
    );
    assert_eq!(
        honest.fact_count(CONTEXT).await.unwrap(),
        1,
        "the valid fact was forwarded"
    );
    // Had the target forwarded the invalid messages, the honest node would count them
    // against the target.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(honest.status().await.unwrap().net.violations_total(), 0);
    assert_eq!(target.status().await.unwrap().sessions.stranger_gossip, 0);

    // A stranger's gossip is refused unread, even a valid fact, and counted as a stranger's.
    let mut stranger = gossiper(libp2p::identity::Keypair::generate_ed25519());
    stranger.dial(target_addr).unwrap();
    let unread = support::message(&author, CONTEXT, at, "from a stranger").encode();
    publish_until(&mut stranger, &[unread], || async {
        target.status().await.unwrap().sessions.stranger_gossip >= 1
    })
    .await;
    assert_eq!(target.status().await.unwrap().sessions.stranger_gossip, 1);
    assert_eq!(
        target.fact_count(CONTEXT).await.unwrap(),
        1,
        "nothing a stranger sent is kept"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        honest.fact_count(CONTEXT).await.unwrap(),
        1,
        "nor forwarded"
    );
    drop(honest.stop().await.unwrap());
    drop(target.stop().await.unwrap());
}
