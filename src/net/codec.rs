//! The anti-entropy wire protocol on libp2p request-response: one request carries one turn of
//! the initiator, one response one turn of the responder (see [`crate::state::sync`]).
//!
//! # Encoding
//!
//! `session (8) | frame count (2) | per frame: length (4), frame`, integers big-endian. The
//! session number lets a responder keep one [`crate::state::sync::Responder`] per session of a
//! peer across its turns.
//!
//! Every length is checked before anything is allocated for it. A request with a frame over
//! [`MAX_FRAME_BYTES`], a count over [`MAX_FRAMES_PER_MESSAGE`], bytes after its last frame,
//! or a stream that ends early is read as [`SyncRequest::Invalid`] without reading further:
//! request-response reports a request it could not read to nobody, so the refusal travels as a
//! request, and the node counts it against the peer and closes the stream without an answer.
//! A bad response is an I/O error of the request that asked for it.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

use crate::state::limits::MAX_FRAME_BYTES;
use crate::state::sync::{MAX_RECONCILE_MESSAGE_BYTES, MAX_REPLY_FACT_BYTES, MAX_WANTS_PER_TURN};

/// The protocol name negotiated on each anti-entropy stream.
pub const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/aura/sync/1");

/// Frames one message may carry: the most a turn of the sync state machines can produce
/// (facts up to the reply budget, ids up to the want cap, a Negentropy message up to its cap),
/// plus a few frames of Hello, Done and part-filled frames.
pub const MAX_FRAMES_PER_MESSAGE: usize = MAX_REPLY_FACT_BYTES / MAX_FRAME_BYTES
    + MAX_WANTS_PER_TURN * 32 / MAX_FRAME_BYTES
    + MAX_RECONCILE_MESSAGE_BYTES / MAX_FRAME_BYTES
    + 8;

/// Bytes before the frames: session and count.
const MESSAGE_HEADER_BYTES: usize = 8 + 2;

/// One turn of an anti-entropy session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncMessage {
    pub session: u64,
    pub frames: Vec<Vec<u8>>,
}

impl SyncMessage {
    /// Bytes of the encoded message, for the outbound gate.
    pub fn encoded_len(&self) -> usize {
        MESSAGE_HEADER_BYTES
            + self
                .frames
                .iter()
                .map(|frame| 4 + frame.len())
                .sum::<usize>()
    }
}

/// A request as read from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncRequest {
    Valid(SyncMessage),
    /// The stream broke a cap or the encoding; why, for the log.
    Invalid(String),
}

/// Reads a request, turning a malformed one into [`SyncRequest::Invalid`].
pub async fn read_request<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<SyncRequest> {
    match read_message(io).await {
        Ok(message) => Ok(SyncRequest::Valid(message)),
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Ok(SyncRequest::Invalid(err.to_string()))
        }
        Err(err) => Err(err),
    }
}

/// Reads and writes [`SyncMessage`]s with the caps above.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncCodec;

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Reads one message; a stream that ends before the message does is `UnexpectedEof`.
pub async fn read_message<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<SyncMessage> {
    let mut header = [0u8; MESSAGE_HEADER_BYTES];
    io.read_exact(&mut header).await?;
    let mut session = [0u8; 8];
    session.copy_from_slice(&header[..8]);
    let count = usize::from(u16::from_be_bytes([header[8], header[9]]));
    if count > MAX_FRAMES_PER_MESSAGE {
        return Err(invalid(format!(
            "{count} frames exceed the limit of {MAX_FRAMES_PER_MESSAGE}"
        )));
    }
    let mut frames = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME_BYTES {
            return Err(invalid(format!(
                "a frame of {len} bytes exceeds the limit of {MAX_FRAME_BYTES}"
            )));
        }
        let mut frame = vec![0u8; len];
        io.read_exact(&mut frame).await?;
        frames.push(frame);
    }
    // Anything after the last frame is a malformed message, not the start of another.
    let mut probe = [0u8; 1];
    if io.read(&mut probe).await? != 0 {
        return Err(invalid("bytes after the last frame".to_owned()));
    }
    Ok(SyncMessage {
        session: u64::from_be_bytes(session),
        frames,
    })
}

/// Writes one message and closes the writing side, which ends it for the reader.
pub async fn write_message<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    message: &SyncMessage,
) -> io::Result<()> {
    if message.frames.len() > MAX_FRAMES_PER_MESSAGE {
        return Err(invalid(format!(
            "{} frames exceed the limit of {MAX_FRAMES_PER_MESSAGE}",
            message.frames.len()
        )));
    }
    let mut bytes = Vec::with_capacity(message.encoded_len());
    bytes.extend_from_slice(&message.session.to_be_bytes());
    bytes.extend_from_slice(&(message.frames.len() as u16).to_be_bytes());
    for frame in &message.frames {
        if frame.len() > MAX_FRAME_BYTES {
            return Err(invalid(format!(
                "a frame of {} bytes exceeds the limit of {MAX_FRAME_BYTES}",
                frame.len()
            )));
        }
        bytes.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        bytes.extend_from_slice(frame);
    }
    io.write_all(&bytes).await?;
    io.close().await
}

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncMessage;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_request(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncMessage>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_message(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: SyncRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match request {
            SyncRequest::Valid(message) => write_message(io, &message).await,
            SyncRequest::Invalid(reason) => {
                Err(io::Error::new(io::ErrorKind::InvalidInput, reason))
            }
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: SyncMessage,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_message(io, &response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(message: &SyncMessage) -> Vec<u8> {
        let mut out = futures::io::Cursor::new(Vec::new());
        futures::executor::block_on(write_message(&mut out, message)).unwrap();
        out.into_inner()
    }

    fn decode(bytes: &[u8]) -> io::Result<SyncMessage> {
        futures::executor::block_on(read_message(&mut futures::io::Cursor::new(bytes)))
    }

    #[test]
    fn messages_round_trip() {
        let message = SyncMessage {
            session: 7,
            frames: vec![vec![1, 2, 3], Vec::new(), vec![9; MAX_FRAME_BYTES]],
        };
        assert_eq!(decode(&encode(&message)).unwrap(), message);
    }

    #[test]
    fn a_malformed_request_is_read_as_invalid() {
        let read = |bytes: &[u8]| {
            futures::executor::block_on(read_request(&mut futures::io::Cursor::new(bytes)))
        };
        assert!(matches!(read(&[0, 0, 0]).unwrap(), SyncRequest::Invalid(_)));
        let whole = encode(&SyncMessage {
            session: 3,
            frames: vec![vec![1]],
        });
        assert!(matches!(read(&whole).unwrap(), SyncRequest::Valid(_)));
    }

    #[test]
    fn oversized_truncated_and_trailing_bytes_are_refused() {
        let mut oversized = 1u64.to_be_bytes().to_vec();
        oversized.extend_from_slice(&1u16.to_be_bytes());
        oversized.extend_from_slice(&((MAX_FRAME_BYTES + 1) as u32).to_be_bytes());
        assert_eq!(
            decode(&oversized).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let whole = encode(&SyncMessage {
            session: 1,
            frames: vec![vec![5; 100]],
        });
        assert_eq!(
            decode(&whole[..whole.len() - 1]).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut trailing = whole.clone();
        trailing.push(0);
        assert_eq!(
            decode(&trailing).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut too_many = 1u64.to_be_bytes().to_vec();
        too_many.extend_from_slice(&u16::MAX.to_be_bytes());
        assert!(MAX_FRAMES_PER_MESSAGE < usize::from(u16::MAX));
        assert_eq!(
            decode(&too_many).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
