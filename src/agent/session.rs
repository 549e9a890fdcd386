//! Runs session-typed choreographies over libp2p streams, as tasks the agent spawns.
//!
//! A session stream starts with a preamble, `protocol (1) | context (32) | budget epoch (8)`,
//! which says what the stream is for before any protocol message: like the address on an
//! envelope, it lets the responder load the context's state and set up its guard route first.
//! The epoch is the initiator's flow-budget epoch, which the responder's budgets converge to
//! (never past its own clock's next epoch). Then the
//! choreography runs over a [`StreamTransport`], behind a [`GuardedTransport`] that charges
//! every send to the shared guard state. A task hands its state machine back to the agent
//! when it ends, whether the session completed or not, so that whatever was received is kept.

use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::Stream;

use crate::protocol::anti_entropy::{self, AntiEntropyError, Turn};
use crate::protocol::guarded::{GuardedTransport, Route, SharedGuard};
use crate::protocol::session::{Chan, Closed};
use crate::protocol::transport::SessionError;
use crate::protocol::wire::StreamTransport;
use crate::state::fact::ContextId;
use crate::state::flow_budget::Epoch;
use crate::state::sync;

/// The protocols a session stream may carry; the first byte of its preamble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SessionProtocol {
    AntiEntropy = 1,
    /// Relationship formation: the preamble's context is the invitation's public key.
    RelationshipFormation = 2,
}

/// Bytes of the preamble: protocol, context and epoch.
pub(crate) const PREAMBLE_BYTES: usize = 1 + 32 + 8;
/// How long a peer that opened a stream may take to say what it is for: it has nothing to
/// compute first, so a short wait keeps silent streams from holding places.
pub const PREAMBLE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long either side of a session waits for the other to send or take the next chunk.
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a whole session may take, however busy both sides keep it.
pub const SESSION_DEADLINE: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum PreambleError {
    #[error("the stream closed or failed before its preamble")]
    Io,
    #[error("no preamble within {PREAMBLE_TIMEOUT:?}")]
    TimedOut,
    #[error("unknown session protocol {0}")]
    UnknownProtocol(u8),
}

/// What an inbound stream's preamble says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    pub protocol: SessionProtocol,
    pub context: ContextId,
    /// The initiator's flow-budget epoch.
    pub epoch: Epoch,
}

/// Writes the preamble of a `protocol` session for `context`.
pub(crate) async fn write_preamble<S: AsyncWrite + Unpin>(
    stream: &mut S,
    protocol: SessionProtocol,
    context: ContextId,
    epoch: Epoch,
) -> Result<(), SessionError> {
    let mut preamble = [0; PREAMBLE_BYTES];
    preamble[0] = protocol as u8;
    preamble[1..33].copy_from_slice(&context.0);
    preamble[33..].copy_from_slice(&epoch.to_be_bytes());
    let write = async {
        stream.write_all(&preamble).await?;
        stream.flush().await
    };
    match tokio::time::timeout(PREAMBLE_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(SessionError::Disconnected),
        Err(_) => Err(SessionError::TimedOut),
    }
}

/// Reads what an inbound stream is for.
pub async fn read_preamble<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Preamble, PreambleError> {
    let mut preamble = [0; PREAMBLE_BYTES];
    match tokio::time::timeout(PREAMBLE_TIMEOUT, stream.read_exact(&mut preamble)).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Err(PreambleError::Io),
        Err(_) => return Err(PreambleError::TimedOut),
    }
    let (&[protocol], rest) = preamble.split_first_chunk::<1>().ok_or(PreambleError::Io)?;
    let (context, epoch) = rest.split_first_chunk::<32>().ok_or(PreambleError::Io)?;
    let epoch: [u8; 8] = epoch.try_into().map_err(|_| PreambleError::Io)?;
    let protocol = match protocol {
        1 => SessionProtocol::AntiEntropy,
        2 => SessionProtocol::RelationshipFormation,
        other => return Err(PreambleError::UnknownProtocol(other)),
    };
    Ok(Preamble {
        protocol,
        context: ContextId(*context),
        epoch: Epoch::from_be_bytes(epoch),
    })
}

/// How a session went, with its bytes on the wire.
#[derive(Debug)]
pub struct Outcome<M> {
    pub machine: M,
    pub result: Result<(), AntiEntropyError>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// The transport a session runs on.
type SessionTransport = GuardedTransport<StreamTransport<Stream>, SharedGuard>;

/// Runs a role to its end under [`SESSION_DEADLINE`], closes the stream, and says how it went
/// and how many bytes it moved (none are known when it failed).
async fn drive(
    run: impl std::future::Future<Output = Result<(Closed, SessionTransport), AntiEntropyError>>,
) -> (Result<(), AntiEntropyError>, (u64, u64)) {
    match tokio::time::timeout(SESSION_DEADLINE, run).await {
        Ok(Ok((_closed, transport))) => {
            let wire = transport.into_inner();
            let counts = (wire.bytes_sent, wire.bytes_received);
            let _ = wire.finish().await;
            (Ok(()), counts)
        }
        Ok(Err(err)) => (Err(err), (0, 0)),
        Err(_) => (Err(SessionError::TimedOut.into()), (0, 0)),
    }
}

/// Runs the initiator of anti-entropy over `stream`: `first_turn` is what
/// [`sync::Initiator::start`] returned with `machine`; `epoch` is this device's budget epoch.
pub async fn run_initiator(
    mut stream: Stream,
    guard: SharedGuard,
    route: Route,
    epoch: Epoch,
    mut machine: sync::Initiator,
    first_turn: Turn,
    now_ms: u64,
) -> Outcome<sync::Initiator> {
    if let Err(err) = write_preamble(
        &mut stream,
        SessionProtocol::AntiEntropy,
        route.context,
        epoch,
    )
    .await
    {
        return Outcome {
            machine,
            result: Err(err.into()),
            bytes_sent: 0,
            bytes_received: 0,
        };
    }
    let transport = GuardedTransport::new(
        StreamTransport::new(stream, SESSION_IDLE_TIMEOUT),
        guard,
        route,
    );
    let run = anti_entropy::initiator(Chan::new(transport), &mut machine, first_turn, now_ms);
    let (result, counts) = drive(run).await;
    Outcome {
        machine,
        result,
        bytes_sent: counts.0 + PREAMBLE_BYTES as u64,
        bytes_received: counts.1,
    }
}

/// Runs the responder of an anti-entropy session whose preamble named `route.context`.
pub async fn run_responder(
    stream: Stream,
    guard: SharedGuard,
    route: Route,
    mut machine: sync::Responder,
    now_ms: u64,
) -> Outcome<sync::Responder> {
    let transport = GuardedTransport::new(
        StreamTransport::new(stream, SESSION_IDLE_TIMEOUT),
        guard,
        route,
    );
    let run = anti_entropy::responder(Chan::new(transport), &mut machine, route.context, now_ms);
    let (result, counts) = drive(run).await;
    Outcome {
        machine,
        result,
        bytes_sent: counts.0,
        bytes_received: counts.1 + PREAMBLE_BYTES as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_preamble_round_trips_and_a_bad_one_is_refused() {
        let context = ContextId([3; 32]);
        let mut bytes = futures::io::Cursor::new(Vec::new());
        write_preamble(
            &mut bytes,
            SessionProtocol::AntiEntropy,
            context,
            29_000_000,
        )
        .await
        .unwrap();
        let written = bytes.into_inner();
        assert_eq!(written.len(), PREAMBLE_BYTES);
        let read = read_preamble(&mut futures::io::Cursor::new(written.clone()))
            .await
            .unwrap();
        assert_eq!(
            read,
            Preamble {
                protocol: SessionProtocol::AntiEntropy,
                context,
                epoch: 29_000_000
            }
        );
        let mut unknown = written.clone();
        unknown[0] = 0x7F;
        assert!(matches!(
            read_preamble(&mut futures::io::Cursor::new(unknown)).await,
            Err(PreambleError::UnknownProtocol(0x7F))
        ));
        assert!(matches!(
            read_preamble(&mut futures::io::Cursor::new(written[..20].to_vec())).await,
            Err(PreambleError::Io)
        ));
    }
}
