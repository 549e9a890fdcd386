//! The node's side of the control socket: one request per connection, answered through a
//! [`NodeClient`]. A request that is too long, of another protocol version or malformed gets a
//! [`ControlFailure`] answer; nothing a client sends stops the node.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libp2p::PeerId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::answer::{self, Backend, Target};
use super::protocol::{
    self, BudgetView, ControlFailure, ControlRequest, ControlResponse, FrameError, HEADER_BYTES,
    Header, IdentityView, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, NetworkView, PROTOCOL_VERSION,
    PeerAddedView, PeerView, StatusView, StoreView,
};
use crate::agent::core::InviteAnswer;
use crate::invite::views::{AcceptanceView, ContactView, InvitationsView};
use crate::net::peer_addr::PeerAddr;
use crate::node::{InviteRequest, NodeClient, TrustQuery};
use crate::paths::FILE_MODE;
use crate::trust::views::TrustAnswer;

/// Bytes of unread input drained after the answer, so that the answer is not lost to a reset
/// when the socket closes with input pending.
const DRAIN_BYTES: u64 = 64 * 1024;
/// How long the node waits for a client to send its request or take its answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Shown after the node's "cannot serve the control socket".
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("the node's own peer id `{0}` does not parse")]
    PeerId(String),
}

/// What the node says about who it is.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub profile: String,
    pub peer_id: String,
    pub fingerprint: String,
}

/// The socket while the node serves it; dropping it stops serving and removes the file.
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the socket at `path` and answers requests through `node`. The caller holds the
/// store, so a file left at `path` is a stale socket of a node that died, and is replaced.
pub fn serve(
    path: &Path,
    node: NodeClient,
    identity: NodeIdentity,
) -> Result<ControlServer, ServeError> {
    let io = |err: std::io::Error| ServeError::Io {
        path: path.to_owned(),
        reason: err.to_string(),
    };
    let own = identity
        .peer_id
        .parse()
        .map_err(|_| ServeError::PeerId(identity.peer_id.clone()))?;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io(err)),
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE)).map_err(io)?;
    let backend = NodeBackend {
        node,
        identity,
        own,
    };
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let backend = backend.clone();
                    tokio::spawn(async move {
                        if let Err(err) = connection(stream, &backend).await {
                            tracing::debug!(%err, "control connection");
                        }
                    });
                }
                Err(err) => tracing::warn!(%err, "control socket accept"),
            }
        }
    });
    Ok(ControlServer {
        path: path.to_owned(),
        task,
    })
}

async fn connection(mut stream: UnixStream, backend: &NodeBackend) -> std::io::Result<()> {
    let response = match timed(read_request(&mut stream)).await? {
        Ok(request) => answer::answer(request, backend).await,
        Err(failure) => {
            tracing::info!(%failure, "control request refused");
            ControlResponse::Failed(failure)
        }
    };
    let frame = protocol::encode(&response, MAX_RESPONSE_BYTES).or_else(|err| {
        protocol::encode(
            &ControlResponse::Failed(ControlFailure::Failed(format!("the answer: {err}"))),
            MAX_RESPONSE_BYTES,
        )
    });
    let frame = frame.map_err(|err| std::io::Error::other(err.to_string()))?;
    timed(stream.write_all(&frame)).await?;
    stream.shutdown().await?;
    let mut sink = tokio::io::sink();
    let _ = tokio::time::timeout(
        IO_TIMEOUT,
        tokio::io::copy(&mut (&mut stream).take(DRAIN_BYTES), &mut sink),
    )
    .await;
    Ok(())
}

async fn timed<T>(io: impl Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
    tokio::time::timeout(IO_TIMEOUT, io)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// Reads one request frame; `Ok(Err(_))` is a request to answer with a failure, `Err(_)` a
/// connection to drop (closed or broken before a whole header arrived).
async fn read_request(
    stream: &mut UnixStream,
) -> std::io::Result<Result<ControlRequest, ControlFailure>> {
    let mut header = [0u8; HEADER_BYTES];
    stream.read_exact(&mut header).await?;
    let header = match Header::parse(&header, MAX_REQUEST_BYTES) {
        Ok(header) => header,
        Err(FrameError::Version { theirs }) => {
            return Ok(Err(ControlFailure::Version {
                node: PROTOCOL_VERSION,
                cli: theirs,
            }));
        }
        Err(FrameError::TooLarge { len, .. }) => {
            return Ok(Err(ControlFailure::RequestTooLarge(len)));
        }
        Err(err) => return Ok(Err(ControlFailure::Malformed(err.to_string()))),
    };
    // The length was checked against the cap, so this allocation is bounded.
    let mut payload = vec![0u8; header.len as usize];
    stream.read_exact(&mut payload).await?;
    Ok(protocol::decode(&payload).map_err(|err| ControlFailure::Malformed(err.to_string())))
}

/// The running node as a [`Backend`].
#[derive(Debug, Clone)]
struct NodeBackend {
    node: NodeClient,
    identity: NodeIdentity,
    own: PeerId,
}

fn failed(err: impl std::fmt::Display) -> ControlFailure {
    ControlFailure::Failed(err.to_string())
}

impl Backend for NodeBackend {
    fn identity(&self) -> Result<IdentityView, ControlFailure> {
        Ok(IdentityView {
            peer_id: self.identity.peer_id.clone(),
            fingerprint: self.identity.fingerprint.clone(),
        })
    }

    fn own_peer_id(&self) -> Result<PeerId, ControlFailure> {
        Ok(self.own)
    }

    async fn status(&self) -> Result<StatusView, ControlFailure> {
        let status = self.node.status().await.map_err(failed)?;
        Ok(StatusView {
            identity: Some(self.identity()?),
            store: StoreView::HeldByNode,
            network: Some(NetworkView::new(&status, &self.own)),
        })
    }

    async fn add_peer(&self, addr: PeerAddr) -> Result<PeerAddedView, ControlFailure> {
        let added = self.node.add_peer(addr).await.map_err(failed)?;
        Ok(added.into())
    }

    async fn peers(&self) -> Result<Vec<PeerView>, ControlFailure> {
        let peers = self.node.peers().await.map_err(failed)?;
        Ok(peers.into_iter().map(PeerView::from).collect())
    }

    async fn remove_peer(&self, target: &Target) -> Result<u64, ControlFailure> {
        let removed = self.node.remove_peer(target.text()).await.map_err(failed)?;
        Ok(removed as u64)
    }

    async fn budgets(&self) -> Result<BudgetView, ControlFailure> {
        let report = self.node.budgets().await.map_err(failed)?;
        Ok(BudgetView::from(&report))
    }

    async fn invite(&self, request: InviteRequest) -> Result<InviteAnswer, ControlFailure> {
        self.node.invite(request).await.map_err(failed)
    }

    async fn invitations(&self) -> Result<InvitationsView, ControlFailure> {
        self.node.invitations().await.map_err(failed)
    }

    async fn acceptance(&self, id: String) -> Result<Option<AcceptanceView>, ControlFailure> {
        self.node.acceptance(id).await.map_err(failed)
    }

    async fn contacts(&self) -> Result<Vec<ContactView>, ControlFailure> {
        self.node.contacts().await.map_err(failed)
    }

    async fn trust(&self, query: TrustQuery) -> Result<TrustAnswer, ControlFailure> {
        self.node.trust(query).await.map_err(failed)
    }

    async fn group(
        &self,
        request: crate::node::GroupRequest,
    ) -> Result<crate::node::GroupReply, ControlFailure> {
        self.node.group(request).await.map_err(failed)
    }
}
