//! The control socket: while a node runs, CLI commands on its profile are answered by the
//! node through a Unix socket in the profile folder (mode 0600) instead of opening the store,
//! which the node holds.
//!
//! # Protocol
//!
//! The client writes one request of at most [`MAX_REQUEST_BYTES`] and closes its writing
//! side; the node answers `ok` or `error` on the first line, the text after it, and closes.
//! Requests: `id`, `status`, `peer add MULTIADDR`, `budget list`. A request that is too long,
//! not UTF-8 or unknown gets an `error` answer; it never stops the node.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::identity::short_peer_id;
use crate::net::peer_addr::PeerAddr;
use crate::node::{NodeClient, NodeStatus, Reach};
use crate::paths::FILE_MODE;

/// The longest request the node reads.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// The longest answer the client reads.
pub const MAX_REPLY_BYTES: usize = 1 << 20;
/// Bytes of an over-long request read and dropped after the answer, so that the answer is
/// not lost to a reset when the socket closes with unread input.
const DRAIN_BYTES: u64 = 64 * 1024;
/// How long either side waits for the other before giving up on a connection.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the running node answered: {0}")]
    Refused(String),
    #[error("the running node sent an answer that is not an answer")]
    BadReply,
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

/// Binds the socket at `path` and answers requests with `agent`. The caller holds the store,
/// so a file left at `path` is a stale socket of a node that died, and is replaced.
pub fn serve(
    path: &Path,
    agent: NodeClient,
    identity: NodeIdentity,
) -> Result<ControlServer, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io(err)),
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE)).map_err(io)?;
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let agent = agent.clone();
                    let identity = identity.clone();
                    tokio::spawn(async move {
                        if let Err(err) = answer(stream, &agent, &identity).await {
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

async fn answer(
    mut stream: UnixStream,
    agent: &NodeClient,
    identity: &NodeIdentity,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let read = tokio::time::timeout(
        IO_TIMEOUT,
        (&mut stream)
            .take(MAX_REQUEST_BYTES as u64 + 1)
            .read_to_end(&mut request),
    )
    .await;
    let reply = match read {
        Err(_) => Err("the request did not arrive in time".to_owned()),
        Ok(Err(err)) => Err(format!("reading the request: {err}")),
        Ok(Ok(_)) if request.len() > MAX_REQUEST_BYTES => {
            Err(format!("a request longer than {MAX_REQUEST_BYTES} bytes"))
        }
        Ok(Ok(_)) => match std::str::from_utf8(&request) {
            Ok(text) => handle(text.trim(), agent, identity).await,
            Err(_) => Err("a request that is not UTF-8".to_owned()),
        },
    };
    let text = match reply {
        Ok(body) => format!("ok\n{body}"),
        Err(message) => format!("error\n{message}\n"),
    };
    tokio::time::timeout(IO_TIMEOUT, stream.write_all(text.as_bytes()))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    stream.shutdown().await?;
    let mut sink = tokio::io::sink();
    let _ = tokio::time::timeout(
        IO_TIMEOUT,
        tokio::io::copy(&mut (&mut stream).take(DRAIN_BYTES), &mut sink),
    )
    .await;
    Ok(())
}

async fn handle(
    request: &str,
    agent: &NodeClient,
    identity: &NodeIdentity,
) -> Result<String, String> {
    let mut words = request.split_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some("id"), None, ..) => Ok(format!(
            "peer id      {}\nfingerprint  {}\n",
            identity.peer_id, identity.fingerprint
        )),
        (Some("status"), None, ..) => {
            let status = agent.status().await.map_err(|err| err.to_string())?;
            Ok(status_text(identity, &status))
        }
        (Some("budget"), Some("list"), None, _) => {
            let report = agent.budgets().await.map_err(|err| err.to_string())?;
            Ok(report.text())
        }
        (Some("peer"), Some("add"), Some(addr), None) => {
            let own = identity
                .peer_id
                .parse()
                .map_err(|_| "the node's own peer id does not parse".to_owned())?;
            let addr = PeerAddr::parse(addr, &own).map_err(|err| err.to_string())?;
            let added = agent
                .add_peer(addr.clone())
                .await
                .map_err(|err| err.to_string())?;
            let known = if added.fresh {
                "added peer"
            } else {
                "already known: peer"
            };
            Ok(match added.reach {
                Reach::Connected => format!("{known} {addr}; connected\n"),
                Reach::NotYet(reason) => {
                    format!("{known} {addr}; not reached yet ({reason}); the node keeps trying\n")
                }
                Reach::Offline => format!("{known} {addr}\n"),
            })
        }
        _ => Err(format!(
            "unknown request `{}`",
            request.chars().take(80).collect::<String>()
        )),
    }
}

/// The status lines a running node reports.
pub fn status_text(identity: &NodeIdentity, status: &NodeStatus) -> String {
    let mut out = String::new();
    out.push_str(&format!("peer id      {}\n", identity.peer_id));
    out.push_str(&format!("fingerprint  {}\n", identity.fingerprint));
    out.push_str(&format!(
        "network      online: {} listen address(es), {} connected peer(s)\n",
        status.net.listen_addrs.len(),
        status.net.connected.len()
    ));
    // With the peer id appended, a line is what `aura peer add` takes on another device.
    for addr in &status.net.listen_addrs {
        out.push_str(&format!("  listening  {addr}/p2p/{}\n", identity.peer_id));
    }
    for peer in &status.net.connected {
        out.push_str(&format!("  connected  {peer} ({})\n", short_peer_id(peer)));
    }
    out.push_str(&format!(
        "reachable    {} (AutoNAT); {} peer(s) in the Kademlia table\n",
        status.net.nat_status,
        status.net.routing_table.len()
    ));
    out.push_str(&format!(
        "journal      {} facts in {} context(s)\n",
        status.facts, status.contexts
    ));
    let sessions = &status.sessions;
    out.push_str(&format!(
        "sessions     {} completed, {} stopped by budget, {} failed, {} refused\n",
        sessions.completed, sessions.denied, sessions.failed, sessions.refused
    ));
    let guard = &status.guard;
    if guard.denied_publishes > 0 || guard.dropped_inbound > 0 {
        out.push_str(&format!(
            "budgets      {} write(s) not sent, {} message(s) from peers over budget dropped\n",
            guard.denied_publishes, guard.dropped_inbound
        ));
    }
    let violations = status.net.violations_total();
    if violations > 0 {
        out.push_str(&format!(
            "rejected     {violations} stream(s) or message(s) that broke the protocol\n"
        ));
    }
    out
}

/// Asks the node on the socket at `path`; `Ok(None)` when no node listens there.
pub fn request(path: &Path, request: &str) -> Result<Option<String>, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_owned(),
        source,
    };
    let mut stream = match std::os::unix::net::UnixStream::connect(path) {
        Ok(stream) => stream,
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(err) => return Err(io(err)),
    };
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    stream.shutdown(std::net::Shutdown::Write).map_err(io)?;
    let mut reply = String::new();
    stream
        .take(MAX_REPLY_BYTES as u64)
        .read_to_string(&mut reply)
        .map_err(io)?;
    match reply.split_once('\n') {
        Some(("ok", body)) => Ok(Some(body.to_owned())),
        Some(("error", message)) => Err(ControlError::Refused(message.trim().to_owned())),
        _ => Err(ControlError::BadReply),
    }
}
