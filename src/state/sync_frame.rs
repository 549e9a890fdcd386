//! The frames of the anti-entropy protocol, and how a turn is cut into them.
//!
//! # Encoding (version 1)
//!
//! Every frame is at most [`MAX_FRAME_BYTES`]: `version (1) | kind (1) | flags (1) | payload`.
//! Flag bit 0 ends the sender's turn; flag bit 1 says a reconciliation message continues in
//! the next frame. Payloads, integers big-endian:
//!
//! | kind | payload |
//! |---|---|
//! | 1 `Hello` | context id (32) |
//! | 2 `Reconcile` | a piece of a Negentropy message (the rest of the frame) |
//! | 3 `Want` | count (2), then that many fact ids (32 each) |
//! | 4 `Facts` | count (2), then per fact: id (32), length (4), canonical encoding |
//! | 5 `Done` | empty |
//!
//! A turn is every frame up to and including one with the end-of-turn flag; the peer answers
//! only when a turn ends, so a round trip is one turn each way, however many frames it takes.

use super::codec::{DecodeError, Reader, Writer};
use super::fact::{ContextId, FactId};
use super::limits::{
    FACT_ENTRY_OVERHEAD, FRAME_COUNT_BYTES, FRAME_HEADER_BYTES, MAX_FACT_BYTES, MAX_FRAME_BYTES,
};

/// The only frame version this build speaks.
pub const FRAME_VERSION: u8 = 1;
const END_OF_TURN: u8 = 1 << 0;
const MORE: u8 = 1 << 1;
const KNOWN_FLAGS: u8 = END_OF_TURN | MORE;

const KIND_HELLO: u8 = 1;
const KIND_RECONCILE: u8 = 2;
const KIND_WANT: u8 = 3;
const KIND_FACTS: u8 = 4;
const KIND_DONE: u8 = 5;

/// Bytes of a Negentropy message one frame carries.
const RECONCILE_CHUNK_BYTES: usize = MAX_FRAME_BYTES - FRAME_HEADER_BYTES;
/// Ids one `Want` frame carries.
const WANTS_PER_FRAME: usize = (MAX_FRAME_BYTES - FRAME_HEADER_BYTES - FRAME_COUNT_BYTES) / 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Hello { context: ContextId },
    Reconcile { chunk: Vec<u8>, more: bool },
    Want(Vec<FactId>),
    Facts(Vec<(FactId, Vec<u8>)>),
    Done,
}

/// Why received bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame of {0} bytes exceeds the limit of {MAX_FRAME_BYTES}")]
    TooLarge(usize),
    #[error("unknown frame version {0}")]
    UnknownVersion(u8),
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("unknown frame flags {0:#04x}")]
    UnknownFlags(u8),
    #[error("a fact of {0} bytes in a frame exceeds the fact limit of {MAX_FACT_BYTES}")]
    FactTooLarge(usize),
    #[error("malformed frame: {0}")]
    Malformed(#[from] DecodeError),
}

impl Frame {
    /// Encodes the frame; `end_of_turn` marks the last frame of a turn.
    pub fn encode(&self, end_of_turn: bool) -> Vec<u8> {
        let mut flags = if end_of_turn { END_OF_TURN } else { 0 };
        let mut writer = Writer::default();
        let kind = match self {
            Self::Hello { .. } => KIND_HELLO,
            Self::Reconcile { more, .. } => {
                if *more {
                    flags |= MORE;
                }
                KIND_RECONCILE
            }
            Self::Want(_) => KIND_WANT,
            Self::Facts(_) => KIND_FACTS,
            Self::Done => KIND_DONE,
        };
        writer.u8(FRAME_VERSION).u8(kind).u8(flags);
        match self {
            Self::Hello { context } => {
                writer.raw(&context.0);
            }
            Self::Reconcile { chunk, .. } => {
                writer.raw(chunk);
            }
            // Turn building keeps lists within a frame, so counts fit in two bytes.
            Self::Want(ids) => {
                writer.u16(ids.len() as u16);
                for id in ids {
                    writer.raw(&id.0);
                }
            }
            Self::Facts(facts) => {
                writer.u16(facts.len() as u16);
                for (id, bytes) in facts {
                    writer.raw(&id.0).u32(bytes.len() as u32).raw(bytes);
                }
            }
            Self::Done => {}
        }
        writer.into_bytes()
    }

    /// Decodes a received frame and its end-of-turn flag, never trusting a length it reads.
    pub fn decode(bytes: &[u8]) -> Result<(Self, bool), FrameError> {
        if bytes.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge(bytes.len()));
        }
        let mut reader = Reader::new(bytes);
        let version = reader.u8("frame version")?;
        if version != FRAME_VERSION {
            return Err(FrameError::UnknownVersion(version));
        }
        let kind = reader.u8("frame kind")?;
        let flags = reader.u8("frame flags")?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(FrameError::UnknownFlags(flags));
        }
        let frame = match kind {
            KIND_HELLO => Self::Hello {
                context: ContextId(reader.array("context id")?),
            },
            KIND_RECONCILE => Self::Reconcile {
                chunk: reader.rest().to_vec(),
                more: flags & MORE != 0,
            },
            KIND_WANT => {
                let count = reader.u16("want count")?;
                let ids = (0..count)
                    .map(|_| reader.array("wanted id").map(FactId))
                    .collect::<Result<_, _>>()?;
                Self::Want(ids)
            }
            KIND_FACTS => {
                let count = reader.u16("fact count")?;
                let mut facts = Vec::new();
                for _ in 0..count {
                    let id = FactId(reader.array("fact id")?);
                    let len = reader.u32("fact length")? as usize;
                    if len > MAX_FACT_BYTES {
                        return Err(FrameError::FactTooLarge(len));
                    }
                    facts.push((id, reader.take(len, "fact")?.to_vec()));
                }
                Self::Facts(facts)
            }
            KIND_DONE => Self::Done,
            other => return Err(FrameError::UnknownKind(other)),
        };
        reader.finish()?;
        Ok((frame, flags & END_OF_TURN != 0))
    }
}

/// Collects what one turn says and cuts it into frames under the cap.
#[derive(Debug, Default)]
pub struct TurnBuilder {
    frames: Vec<Frame>,
    facts: Vec<(FactId, Vec<u8>)>,
    facts_bytes: usize,
}

impl TurnBuilder {
    pub fn hello(&mut self, context: ContextId) {
        self.flush_facts();
        self.frames.push(Frame::Hello { context });
    }

    /// Adds a Negentropy message, in as many frames as it needs.
    pub fn reconcile(&mut self, message: &[u8]) {
        self.flush_facts();
        let mut chunks = message.chunks(RECONCILE_CHUNK_BYTES).peekable();
        while let Some(chunk) = chunks.next() {
            self.frames.push(Frame::Reconcile {
                chunk: chunk.to_vec(),
                more: chunks.peek().is_some(),
            });
        }
    }

    pub fn want(&mut self, ids: &[FactId]) {
        self.flush_facts();
        for chunk in ids.chunks(WANTS_PER_FRAME) {
            self.frames.push(Frame::Want(chunk.to_vec()));
        }
    }

    /// Adds one fact, starting a new frame when the current one is full.
    pub fn fact(&mut self, id: FactId, bytes: Vec<u8>) {
        let entry = FACT_ENTRY_OVERHEAD + bytes.len();
        let room = MAX_FRAME_BYTES - FRAME_HEADER_BYTES - FRAME_COUNT_BYTES;
        if !self.facts.is_empty()
            && (self.facts_bytes + entry > room || self.facts.len() == usize::from(u16::MAX))
        {
            self.flush_facts();
        }
        self.facts_bytes += entry;
        self.facts.push((id, bytes));
    }

    pub fn done(&mut self) {
        self.flush_facts();
        self.frames.push(Frame::Done);
    }

    /// The encoded frames, the last one ending the turn. An empty turn is one empty `Facts`
    /// frame, so that the peer still sees the turn end.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        self.flush_facts();
        if self.frames.is_empty() {
            self.frames.push(Frame::Facts(Vec::new()));
        }
        let last = self.frames.len() - 1;
        self.frames
            .iter()
            .enumerate()
            .map(|(index, frame)| frame.encode(index == last))
            .collect()
    }

    fn flush_facts(&mut self) {
        if !self.facts.is_empty() {
            self.frames
                .push(Frame::Facts(std::mem::take(&mut self.facts)));
            self.facts_bytes = 0;
        }
    }
}
