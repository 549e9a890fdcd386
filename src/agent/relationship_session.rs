//! Runs relationship formation over libp2p streams, as tasks the agent's shell spawns.
//!
//! The tasks only carry messages: every decision (recognise the invitation, prove it,
//! accept, record) is the core's, asked for over a channel at each step, so that the policy
//! stays sans-IO and tested without a network.

use std::time::Duration;

use futures::future::BoxFuture;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, Stream};

use super::session::{SESSION_IDLE_TIMEOUT, SessionProtocol, write_preamble};
use crate::invite::messages::{Ask, Challenge, Proof, Refusal, Verdict};
use crate::net::node::NetHandle;
use crate::protocol::guarded::{GuardedTransport, Route, SharedGuard};
use crate::protocol::relationship;
use crate::protocol::session::Chan;
use crate::protocol::transport::SessionError;
use crate::protocol::wire::StreamTransport;

/// How long one address may take to connect.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a stream to an inviter that may already be connected may take to open before
/// its addresses are dialled.
pub const CONNECTED_PROBE: Duration = Duration::from_secs(1);
/// How long a whole handshake may take once connected (an inviter asking its user does not
/// hold the stream: it answers "awaiting approval" and the invitee asks again).
pub const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(30);

/// What an invitee's task reports as it goes.
#[derive(Debug)]
pub enum InviteeProgress {
    Connected,
    /// The inviter answered the ask; the core says what proof to send.
    Challenged(Challenge),
}

/// How an invitee's task ended.
#[derive(Debug)]
pub enum InviteeEnd {
    /// No address connected: each address tried and why it failed.
    Unreachable(Vec<(String, String)>),
    /// Connected, but the session failed before a verdict.
    Broken(String),
    Verdict(Verdict),
}

/// Dials the inviter at each address in turn, then runs the invitee's side. `progress` tells
/// the core each step; for a challenge it returns the proof to send.
pub async fn run_invitee(
    net: NetHandle,
    guard: SharedGuard,
    route: Route,
    inviter: PeerId,
    addrs: Vec<Multiaddr>,
    ask: Ask,
    progress: impl Fn(InviteeProgress) -> Option<BoxFuture<'static, Proof>> + Send,
) -> InviteeEnd {
    // Already connected (a contact, or a second acceptance): no dial needed.
    let stream = match tokio::time::timeout(CONNECTED_PROBE, net.open_session(inviter)).await {
        Ok(Ok(stream)) => stream,
        _ => match dial_and_open(&net, inviter, addrs).await {
            Ok(stream) => stream,
            Err(end) => return end,
        },
    };
    progress(InviteeProgress::Connected);
    let run = async {
        let mut stream = stream;
        write_preamble(
            &mut stream,
            SessionProtocol::RelationshipFormation,
            route.context,
            0,
        )
        .await?;
        let transport = GuardedTransport::new(
            StreamTransport::new(stream, SESSION_IDLE_TIMEOUT),
            guard,
            route,
        );
        let (run, _closed, transport) =
            relationship::invitee(Chan::new(transport), ask, async |challenge: &Challenge| {
                match progress(InviteeProgress::Challenged(challenge.clone())) {
                    Some(proof) => proof.await,
                    None => Proof::Withdrawn,
                }
            })
            .await?;
        let _ = transport.into_inner().finish().await;
        Ok::<_, SessionError>(run.verdict)
    };
    match tokio::time::timeout(HANDSHAKE_DEADLINE, run).await {
        Ok(Ok(verdict)) => InviteeEnd::Verdict(verdict),
        Ok(Err(err)) => InviteeEnd::Broken(err.to_string()),
        Err(_) => InviteeEnd::Broken(format!(
            "the handshake took longer than {} s",
            HANDSHAKE_DEADLINE.as_secs()
        )),
    }
}

/// Dials the inviter at each address in turn and opens a session stream.
async fn dial_and_open(
    net: &NetHandle,
    inviter: PeerId,
    addrs: Vec<Multiaddr>,
) -> Result<Stream, InviteeEnd> {
    let mut errors = Vec::new();
    let mut connected = false;
    for addr in addrs {
        let full = addr.clone().with(Protocol::P2p(inviter));
        match tokio::time::timeout(DIAL_TIMEOUT, net.dial(full)).await {
            Ok(Ok(())) => {
                connected = true;
                break;
            }
            Ok(Err(err)) => errors.push((addr.to_string(), err.to_string())),
            Err(_) => errors.push((
                addr.to_string(),
                format!("no answer within {} s", DIAL_TIMEOUT.as_secs()),
            )),
        }
    }
    if !connected {
        return Err(InviteeEnd::Unreachable(errors));
    }
    match tokio::time::timeout(DIAL_TIMEOUT, net.open_session(inviter)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(err)) => Err(InviteeEnd::Broken(err.to_string())),
        Err(_) => Err(InviteeEnd::Broken(
            "the inviter did not open a session".into(),
        )),
    }
}

/// Runs the inviter's side over an admitted stream whose preamble named an invitation:
/// `challenge` is the core's answer to the ask, `decide` its verdict on the proof.
pub async fn run_inviter(
    stream: Stream,
    guard: SharedGuard,
    route: Route,
    challenge: impl FnOnce(Ask) -> BoxFuture<'static, Challenge> + Send,
    decide: impl FnOnce(Proof) -> BoxFuture<'static, Verdict> + Send,
) -> Result<Verdict, SessionError> {
    let transport = GuardedTransport::new(
        StreamTransport::new(stream, SESSION_IDLE_TIMEOUT),
        guard,
        route,
    );
    let run = async {
        let (verdict, _closed, transport) = relationship::inviter(
            Chan::new(transport),
            async move |ask: Ask| challenge(ask).await,
            async move |proof: Proof| decide(proof).await,
        )
        .await?;
        let _ = transport.into_inner().finish().await;
        Ok(verdict)
    };
    tokio::time::timeout(HANDSHAKE_DEADLINE, run)
        .await
        .unwrap_or(Err(SessionError::TimedOut))
}

/// The verdict a refusal at the challenge repeats.
pub fn refusal_of(challenge: &Challenge) -> Option<Refusal> {
    match challenge {
        Challenge::Refused(refusal) => Some(*refusal),
        Challenge::Proceed(_) => None,
    }
}
