//! The CLI's side of the control socket: one request, one response, blocking.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{
    self, ControlRequest, ControlResponse, FrameError, HEADER_BYTES, Header, MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES, PROTOCOL_VERSION,
};

/// How long the CLI waits for the node: longer than the node waits for a dial to answer
/// `peer add`.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("control socket {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error(
        "the running node speaks control protocol v{node}; this aura speaks v{PROTOCOL_VERSION}"
    )]
    Version { node: u16 },
    #[error("control socket {path}: the answer is not one ({reason})")]
    BadAnswer { path: PathBuf, reason: String },
    #[error("the request is too long to send to the node ({0})")]
    Request(FrameError),
}

/// Asks the node listening at `path`; `Ok(None)` when none listens there.
pub fn ask(path: &Path, request: &ControlRequest) -> Result<Option<ControlResponse>, ClientError> {
    let io = |err: std::io::Error| ClientError::Io {
        path: path.to_owned(),
        reason: match err.kind() {
            std::io::ErrorKind::UnexpectedEof => "the node closed the connection".to_owned(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                format!("the node did not answer within {} s", IO_TIMEOUT.as_secs())
            }
            _ => err.to_string(),
        },
    };
    let frame = protocol::encode(request, MAX_REQUEST_BYTES).map_err(ClientError::Request)?;
    let mut stream = match UnixStream::connect(path) {
        Ok(stream) => stream,
        // No socket, or one a node that died left behind.
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
    stream.write_all(&frame).map_err(io)?;
    stream.shutdown(std::net::Shutdown::Write).map_err(io)?;
    let mut header = [0u8; HEADER_BYTES];
    stream.read_exact(&mut header).map_err(io)?;
    let bad = |err: FrameError| ClientError::BadAnswer {
        path: path.to_owned(),
        reason: err.to_string(),
    };
    let header = match Header::parse(&header, MAX_RESPONSE_BYTES) {
        Ok(header) => header,
        Err(FrameError::Version { theirs }) => return Err(ClientError::Version { node: theirs }),
        Err(err) => return Err(bad(err)),
    };
    // The length was checked against the cap, so this allocation is bounded.
    let mut payload = vec![0u8; header.len as usize];
    stream.read_exact(&mut payload).map_err(io)?;
    protocol::decode(&payload).map(Some).map_err(bad)
}

/// Whether a node answers on the socket at `path`, in any protocol version.
pub fn node_answers(path: &Path) -> bool {
    matches!(
        ask(path, &ControlRequest::Id),
        Ok(Some(_)) | Err(ClientError::Version { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A socket that answers one connection with `reply`, whatever it is asked.
    fn fake_node(reply: Vec<u8>) -> (tempfile::TempDir, PathBuf, std::thread::JoinHandle<()>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let thread = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let _ = stream.read_to_end(&mut request);
            let _ = stream.write_all(&reply);
        });
        (dir, path, thread)
    }

    #[test]
    fn a_node_of_another_version_is_named() {
        let mut reply = protocol::encode(&ControlResponse::Peers(vec![]), 1024).unwrap();
        reply[4..6].copy_from_slice(&2u16.to_be_bytes());
        let (_dir, path, thread) = fake_node(reply);
        let err = ask(&path, &ControlRequest::Id).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the running node speaks control protocol v2; this aura speaks v{PROTOCOL_VERSION}"
            )
        );
        thread.join().unwrap();
    }

    #[test]
    fn an_answer_over_the_cap_is_refused_unread() {
        let mut reply = protocol::encode(&ControlResponse::Peers(vec![]), 1024).unwrap();
        reply[6..10].copy_from_slice(&(MAX_RESPONSE_BYTES as u32 + 1).to_be_bytes());
        let (_dir, path, thread) = fake_node(reply);
        let err = ask(&path, &ControlRequest::Id).unwrap_err();
        assert!(matches!(err, ClientError::BadAnswer { .. }), "{err}");
        thread.join().unwrap();
    }

    #[test]
    fn no_socket_means_no_node() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            ask(&dir.path().join("node.sock"), &ControlRequest::Id)
                .unwrap()
                .is_none()
        );
        // A socket file nobody listens on: a node that died.
        let path = dir.path().join("stale.sock");
        drop(UnixListener::bind(&path).unwrap());
        assert!(ask(&path, &ControlRequest::Id).unwrap().is_none());
        assert!(!node_answers(&path));
    }
}
