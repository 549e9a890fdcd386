//! The per-message annotations of a choreography, and how message payloads go on the wire.

use crate::state::limits::MAX_FRAME_BYTES;

/// What the guard chain needs to know about one message of a choreography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotation {
    pub protocol: &'static str,
    pub message: &'static str,
    /// The role that sends it.
    pub from: &'static str,
    /// The role that receives it.
    pub to: &'static str,
    /// The capability the sender must hold in the context.
    pub guard_capability: &'static str,
    /// Units charged to the flow budget toward the receiver.
    pub flow_cost: u64,
    /// Kinds of journal facts that sending it records.
    pub journal_facts: &'static [&'static str],
}

/// Frames one turn may carry. A turn of the journal's sync state machines is the largest
/// message of any protocol: facts up to its reply budget (packed whole, so a frame may be
/// little more than half full), ids up to its want cap and a Negentropy message up to its
/// cap (likewise), plus a few part-filled frames.
pub const MAX_TURN_FRAMES: usize = 2 * crate::state::sync::MAX_REPLY_FACT_BYTES / MAX_FRAME_BYTES
    + crate::state::sync::MAX_WANTS_PER_TURN * 32 / MAX_FRAME_BYTES
    + 2 * crate::state::sync::MAX_RECONCILE_MESSAGE_BYTES / MAX_FRAME_BYTES
    + 8;

/// The largest encoded payload of any message; a wire transport refuses a longer one before
/// reading it.
pub const MAX_PAYLOAD_BYTES: usize = 2 + MAX_TURN_FRAMES * (4 + MAX_FRAME_BYTES);

/// Why a payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the payload ends early")]
    Truncated,
    #[error("{0} bytes follow the payload")]
    TrailingBytes(usize),
    #[error("{what} of {got} is over the cap of {cap}")]
    OverCap {
        what: &'static str,
        got: usize,
        cap: usize,
    },
    #[error("the payload is not UTF-8")]
    NotUtf8,
}

/// A message's content, as bytes on the wire. Decoding checks every length against its cap
/// before it allocates, and accepts exactly one encoding of each value.
pub trait Payload: Sized {
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Result<Self, PayloadError>;
}

impl Payload for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }

    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::OverCap {
                what: "a byte payload",
                got: bytes.len(),
                cap: MAX_PAYLOAD_BYTES,
            });
        }
        Ok(bytes.to_vec())
    }
}

impl Payload for String {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }

    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        let bytes = Vec::<u8>::decode(bytes)?;
        String::from_utf8(bytes).map_err(|_| PayloadError::NotUtf8)
    }
}

impl Payload for () {
    fn encode(&self, _out: &mut Vec<u8>) {}

    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        match bytes.len() {
            0 => Ok(()),
            extra => Err(PayloadError::TrailingBytes(extra)),
        }
    }
}

/// A turn of frames: `count (u16) | per frame: length (u32), frame`, big-endian.
impl Payload for Vec<Vec<u8>> {
    fn encode(&self, out: &mut Vec<u8>) {
        // Turns are built by the sync state machines, which stay far below both caps; a
        // count that does not fit is written as the cap and refused by the reader.
        let count = u16::try_from(self.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for frame in self {
            let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(frame);
        }
    }

    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        let (count, mut rest) = bytes
            .split_first_chunk::<2>()
            .ok_or(PayloadError::Truncated)?;
        let count = usize::from(u16::from_be_bytes(*count));
        if count > MAX_TURN_FRAMES {
            return Err(PayloadError::OverCap {
                what: "a frame count",
                got: count,
                cap: MAX_TURN_FRAMES,
            });
        }
        let mut frames = Vec::with_capacity(count);
        for _ in 0..count {
            let (len, tail) = rest
                .split_first_chunk::<4>()
                .ok_or(PayloadError::Truncated)?;
            let len = usize::try_from(u32::from_be_bytes(*len)).unwrap_or(usize::MAX);
            if len > MAX_FRAME_BYTES {
                return Err(PayloadError::OverCap {
                    what: "a frame",
                    got: len,
                    cap: MAX_FRAME_BYTES,
                });
            }
            let frame = tail.get(..len).ok_or(PayloadError::Truncated)?;
            frames.push(frame.to_vec());
            rest = &tail[len..];
        }
        match rest.len() {
            0 => Ok(frames),
            extra => Err(PayloadError::TrailingBytes(extra)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_round_trips_and_every_cut_is_refused() {
        let turn = vec![b"hello".to_vec(), Vec::new(), vec![7; 300]];
        let mut bytes = Vec::new();
        turn.encode(&mut bytes);
        assert_eq!(Vec::<Vec<u8>>::decode(&bytes), Ok(turn));
        for cut in 0..bytes.len() {
            assert!(
                Vec::<Vec<u8>>::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        bytes.push(0);
        assert_eq!(
            Vec::<Vec<u8>>::decode(&bytes),
            Err(PayloadError::TrailingBytes(1))
        );
    }

    #[test]
    fn an_oversized_frame_is_refused_before_it_is_read() {
        let mut bytes = vec![0, 1];
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Vec::<Vec<u8>>::decode(&bytes),
            Err(PayloadError::OverCap {
                what: "a frame",
                ..
            })
        ));
    }
}
