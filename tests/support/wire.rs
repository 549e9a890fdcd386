//! Session streams written byte by byte, for tests that play a peer speaking the session
//! protocol badly or without the right to.

use aura::protocol::annotation::Payload;
use aura::state::fact::ContextId;

/// The first byte of an anti-entropy session's preamble.
pub const ANTI_ENTROPY: u8 = 1;

/// A session preamble: protocol, context and a budget epoch far in the future (the node may
/// move its own at most one epoch past its clock, so a peer cannot refill budgets at will).
pub fn preamble(protocol: u8, context: ContextId) -> Vec<u8> {
    let mut out = vec![protocol];
    out.extend_from_slice(&context.0);
    out.extend_from_slice(&u64::MAX.to_be_bytes());
    out
}

/// A signal as the session wire writes it: tag, length, body.
pub fn signal(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A message signal named `name` carrying `payload`.
pub fn message(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    body.extend_from_slice(payload);
    signal(0, &body)
}

pub fn turn(frames: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    frames.encode(&mut out);
    out
}

/// An anti-entropy session for `context` as far as its first message: a proper Hello.
pub fn anti_entropy_hello(context: ContextId) -> Vec<u8> {
    let hello = aura::state::sync_frame::Frame::Hello { context }.encode(true);
    [
        preamble(ANTI_ENTROPY, context),
        message("Hello", &turn(vec![hello])),
    ]
    .concat()
}

/// A peer of a fresh identity dials `target` and writes `bytes` on one session stream;
/// returns its peer id and whatever the target answered before closing the stream.
pub async fn stranger_session(
    target: libp2p::Multiaddr,
    target_id: libp2p::PeerId,
    bytes: &[u8],
) -> (libp2p::PeerId, Vec<u8>) {
    use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
    let swarm = super::swarm::tcp_swarm(|_| libp2p_stream::Behaviour::new(), TIMEOUT);
    let id = *swarm.local_peer_id();
    let mut control = swarm.behaviour().new_control();
    let mut swarm = swarm;
    swarm.dial(target).expect("dial");
    let driver = tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    let mut stream = control
        .open_stream(target_id, aura::net::behaviour::SESSION_PROTOCOL)
        .await
        .expect("a session stream");
    let _ = stream.write_all(bytes).await;
    let _ = stream.close().await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut answer)).await;
    driver.abort();
    (id, answer)
}
