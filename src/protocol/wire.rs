//! A session over a byte stream: how messages, branch choices and aborts are framed.
//!
//! # Encoding
//!
//! Each signal is `tag (1) | body length (4, big-endian) | body`:
//!
//! - `0` message: `name length (1) | name | payload length (4) | payload | padding`, the
//!   padding zeros up to the size the guard chain chose;
//! - `1` choice: one byte, `1` for the left branch, `0` for the right;
//! - `2` abort: the reason, UTF-8, at most [`MAX_ABORT_REASON_BYTES`].
//!
//! Every length is checked against the cap of its signal's kind before anything is read for
//! it, the body is read as it arrives (a peer must send the bytes it announces, not merely
//! announce them), and the peer may fall silent for at most the idle timeout between chunks,
//! so a silent or hostile peer costs a bounded amount of memory and time. Any violation ends
//! the session with [`SessionError::Malformed`].

use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::annotation::MAX_PAYLOAD_BYTES;
use super::guard::Denial;
use super::transport::{Incoming, Outgoing, SessionError, Transport};
use crate::state::leakage::{SIZE_BUCKETS, padded_size};

const TAG_MESSAGE: u8 = 0;
const TAG_CHOICE: u8 = 1;
const TAG_ABORT: u8 = 2;
/// Bytes before a signal's body: tag and length.
const SIGNAL_HEADER_BYTES: usize = 1 + 4;
/// Message names are short identifiers.
pub const MAX_MESSAGE_NAME_BYTES: usize = 64;
/// An abort's reason is for a log line.
pub const MAX_ABORT_REASON_BYTES: usize = 256;
/// Padding stays below the largest size bucket (see [`padded_size`]).
const MAX_PADDING_BYTES: usize = SIZE_BUCKETS[SIZE_BUCKETS.len() - 1];
/// The longest body of a message signal.
pub const MAX_SIGNAL_BYTES: usize =
    1 + MAX_MESSAGE_NAME_BYTES + 4 + MAX_PAYLOAD_BYTES + MAX_PADDING_BYTES;
/// Bytes read or written at a time; the idle timeout runs per chunk.
const CHUNK_BYTES: usize = 64 * 1024;
/// How long a session waits for its peer to send or take the next chunk, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long closing a stream may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// One end of a session over `S`.
#[derive(Debug)]
pub struct StreamTransport<S> {
    stream: S,
    idle_timeout: Duration,
    /// Bytes written and read, framing included: what the session cost on the wire.
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> StreamTransport<S> {
    pub fn new(stream: S, idle_timeout: Duration) -> Self {
        Self {
            stream,
            idle_timeout,
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    /// Flushes and closes the stream: the peer reads its end.
    pub async fn finish(mut self) -> Result<(), SessionError> {
        match tokio::time::timeout(CLOSE_TIMEOUT, self.stream.close()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SessionError::Disconnected),
            Err(_) => Err(SessionError::TimedOut),
        }
    }

    async fn write_signal(&mut self, tag: u8, body: &[u8]) -> Result<(), SessionError> {
        let len = u32::try_from(body.len())
            .ok()
            .filter(|len| *len as usize <= MAX_SIGNAL_BYTES)
            .ok_or_else(|| SessionError::Malformed(format!("{} bytes to send", body.len())))?;
        let mut header = [0; SIGNAL_HEADER_BYTES];
        header[0] = tag;
        header[1..].copy_from_slice(&len.to_be_bytes());
        let idle = self.idle_timeout;
        timed(idle, self.stream.write_all(&header)).await?;
        for chunk in body.chunks(CHUNK_BYTES) {
            timed(idle, self.stream.write_all(chunk)).await?;
        }
        timed(idle, self.stream.flush()).await?;
        self.bytes_sent += (SIGNAL_HEADER_BYTES + body.len()) as u64;
        Ok(())
    }

    async fn read_signal(&mut self) -> Result<(u8, Vec<u8>), SessionError> {
        let mut header = [0; SIGNAL_HEADER_BYTES];
        let idle = self.idle_timeout;
        timed(idle, self.stream.read_exact(&mut header)).await?;
        let [tag, len @ ..] = header;
        let len = u32::from_be_bytes(len) as usize;
        let cap = match tag {
            TAG_MESSAGE => MAX_SIGNAL_BYTES,
            TAG_CHOICE => 1,
            TAG_ABORT => MAX_ABORT_REASON_BYTES,
            other => return Err(SessionError::Malformed(format!("unknown signal {other}"))),
        };
        if len > cap {
            return Err(SessionError::Malformed(format!(
                "a signal {tag} of {len} bytes, over its cap of {cap}"
            )));
        }
        let mut body = Vec::with_capacity(len.min(CHUNK_BYTES));
        let mut chunk = vec![0; len.min(CHUNK_BYTES)];
        while body.len() < len {
            let want = (len - body.len()).min(CHUNK_BYTES);
            let read = timed(idle, self.stream.read(&mut chunk[..want])).await?;
            if read == 0 {
                return Err(SessionError::Malformed(format!(
                    "the stream ended {} bytes into a {len}-byte signal",
                    body.len()
                )));
            }
            body.extend_from_slice(&chunk[..read]);
        }
        self.bytes_received += (SIGNAL_HEADER_BYTES + len) as u64;
        Ok((tag, body))
    }

    /// The next signal that is not an abort; an abort ends the session with its reason.
    async fn next_signal(&mut self) -> Result<(u8, Vec<u8>), SessionError> {
        match self.read_signal().await? {
            (TAG_ABORT, reason) => Err(SessionError::Aborted(
                String::from_utf8_lossy(&reason).into_owned(),
            )),
            signal => Ok(signal),
        }
    }
}

/// Runs one I/O step under the idle timeout.
async fn timed<T>(
    idle: Duration,
    io: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T, SessionError> {
    match tokio::time::timeout(idle, io).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(SessionError::Disconnected),
        Err(_) => Err(SessionError::TimedOut),
    }
}

/// The name and payload of a message body, padding dropped; the payload keeps the body's
/// allocation rather than being copied out of it.
fn decode_message(mut body: Vec<u8>) -> Result<Incoming, SessionError> {
    let malformed = |what: &str| SessionError::Malformed(what.to_owned());
    let (&name_len, rest) = body.split_first().ok_or_else(|| malformed("no name"))?;
    let name_len = usize::from(name_len);
    if name_len > MAX_MESSAGE_NAME_BYTES {
        return Err(malformed("a message name over the cap"));
    }
    let name = rest
        .get(..name_len)
        .ok_or_else(|| malformed("a cut message name"))?;
    let name = std::str::from_utf8(name)
        .map_err(|_| malformed("a message name not UTF-8"))?
        .to_owned();
    let rest = &rest[name_len..];
    let (payload_len, rest) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| malformed("no payload length"))?;
    let payload_len = u32::from_be_bytes(*payload_len) as usize;
    if payload_len > MAX_PAYLOAD_BYTES {
        return Err(malformed("a payload over the cap"));
    }
    let padding = rest
        .get(payload_len..)
        .ok_or_else(|| malformed("a cut payload"))?;
    if padding.iter().any(|byte| *byte != 0) {
        return Err(malformed("padding that is not zeros"));
    }
    let bucket = padded_size(payload_len).unwrap_or(payload_len);
    if payload_len + padding.len() > bucket.max(payload_len) {
        return Err(malformed("more padding than the payload's size bucket"));
    }
    let start = 1 + name_len + 4;
    body.truncate(start + payload_len);
    body.drain(..start);
    Ok(Incoming {
        message: name,
        payload: body,
    })
}

fn encode_message(message: &Outgoing) -> Result<Vec<u8>, SessionError> {
    let name = message.annotation.message.as_bytes();
    let name_len = u8::try_from(name.len())
        .ok()
        .filter(|len| usize::from(*len) <= MAX_MESSAGE_NAME_BYTES)
        .ok_or_else(|| SessionError::Malformed("a message name over the cap".to_owned()))?;
    let payload_len = u32::try_from(message.payload.len())
        .ok()
        .filter(|len| *len as usize <= MAX_PAYLOAD_BYTES)
        .ok_or_else(|| SessionError::Malformed("a payload over the cap".to_owned()))?;
    let unpadded = 1 + name.len() + 4 + message.payload.len();
    let mut body = Vec::with_capacity(unpadded.max(message.padded_size));
    body.push(name_len);
    body.extend_from_slice(name);
    body.extend_from_slice(&payload_len.to_be_bytes());
    body.extend_from_slice(&message.payload);
    // The bucket is chosen for the payload; the few bytes of name and length ride on top.
    let padding = message.padded_size.saturating_sub(message.payload.len());
    body.resize(body.len() + padding, 0);
    Ok(body)
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Transport for StreamTransport<S> {
    async fn send(&mut self, message: Outgoing) -> Result<(), SessionError> {
        let body = encode_message(&message)?;
        self.write_signal(TAG_MESSAGE, &body).await
    }

    async fn recv(&mut self) -> Result<Incoming, SessionError> {
        match self.next_signal().await? {
            (TAG_MESSAGE, body) => decode_message(body),
            (TAG_CHOICE, _) => Err(SessionError::UnexpectedMessage {
                expected: "message",
                got: "branch choice".to_owned(),
            }),
            (tag, _) => Err(SessionError::Malformed(format!("unknown signal {tag}"))),
        }
    }

    async fn send_choice(&mut self, left: bool) -> Result<(), SessionError> {
        self.write_signal(TAG_CHOICE, &[u8::from(left)]).await
    }

    async fn recv_choice(&mut self) -> Result<bool, SessionError> {
        match self.next_signal().await? {
            (TAG_CHOICE, body) => match body.as_slice() {
                [1] => Ok(true),
                [0] => Ok(false),
                _ => Err(SessionError::Malformed(
                    "a malformed branch choice".to_owned(),
                )),
            },
            (TAG_MESSAGE, body) => Err(SessionError::ExpectedChoice {
                got: decode_message(body)
                    .map_or_else(|_| "a malformed message".to_owned(), |m| m.message),
            }),
            (tag, _) => Err(SessionError::Malformed(format!("unknown signal {tag}"))),
        }
    }

    async fn abort(&mut self, reason: &Denial) {
        let mut text = reason.to_string();
        let mut cut = text.len().min(MAX_ABORT_REASON_BYTES);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        // The session ends either way; a peer that is gone needs no notice.
        let _ = self.write_signal(TAG_ABORT, text.as_bytes()).await;
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.stream.close()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::annotation::Annotation;

    static HELLO: Annotation = Annotation {
        protocol: "Test",
        message: "Hello",
        from: "A",
        to: "B",
        guard_capability: "test",
        flow_cost: 1,
        journal_facts: &[],
    };

    #[test]
    fn a_padded_message_decodes_to_its_payload() {
        let message = Outgoing {
            annotation: &HELLO,
            payload: b"abc".to_vec(),
            padded_size: 64,
        };
        let body = encode_message(&message).unwrap();
        assert_eq!(body.len(), 1 + 5 + 4 + 64);
        let incoming = decode_message(body.clone()).unwrap();
        assert_eq!(incoming.message, "Hello");
        assert_eq!(incoming.payload, b"abc");
        for cut in 0..1 + 5 + 4 + 3 {
            assert!(
                decode_message(body[..cut].to_vec()).is_err(),
                "cut at {cut}"
            );
        }
        let mut dirty = body.clone();
        *dirty.last_mut().unwrap() = 1;
        assert!(decode_message(dirty).is_err());
    }

    #[tokio::test]
    async fn signals_cross_a_byte_stream_and_bad_ones_end_the_session() {
        use futures::io::Cursor;

        let mut writer = StreamTransport::new(Cursor::new(Vec::new()), DEFAULT_IDLE_TIMEOUT);
        writer
            .send(Outgoing {
                annotation: &HELLO,
                payload: b"hi".to_vec(),
                padded_size: 16,
            })
            .await
            .unwrap();
        writer.send_choice(false).await.unwrap();
        let bytes = writer.stream.into_inner();

        let mut reader = StreamTransport::new(Cursor::new(bytes.clone()), DEFAULT_IDLE_TIMEOUT);
        assert_eq!(reader.recv().await.unwrap().payload, b"hi");
        assert!(!reader.recv_choice().await.unwrap());
        assert_eq!(reader.recv().await, Err(SessionError::Disconnected));

        let mut oversized = vec![TAG_MESSAGE];
        oversized.extend_from_slice(&u32::MAX.to_be_bytes());
        let mut reader = StreamTransport::new(Cursor::new(oversized), DEFAULT_IDLE_TIMEOUT);
        assert!(matches!(
            reader.recv().await,
            Err(SessionError::Malformed(_))
        ));

        let mut truncated = bytes;
        truncated.truncate(10);
        let mut reader = StreamTransport::new(Cursor::new(truncated), DEFAULT_IDLE_TIMEOUT);
        assert!(matches!(
            reader.recv().await,
            Err(SessionError::Malformed(_))
        ));
    }
}
