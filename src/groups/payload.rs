//! What the plaintext of a group's application message says: a typed payload, so that new
//! kinds of message (replies, edits, reactions) are new tags inside the encryption and never
//! a change of the wire format. A tag this build does not know is kept as unknown, not
//! refused: a newer member's messages stay readable to the parts this build understands.
//!
//! | bytes | field |
//! |---|---|
//! | 1 | tag |
//! | rest | the body of that tag |
//!
//! Text (1) is UTF-8; a receipt (2) is a count (2, big-endian) and that many fact ids (32
//! each); a request to leave (3) is the signed request of [`super::leave`] (empty from
//! builds before it, whose requests only a member that may remove carries out).

use crate::state::codec::{DecodeError, Reader, Writer};
use crate::state::fact::FactId;

/// Longest text of one message, in bytes of UTF-8: a message fact, with MLS framing and
/// padding around it, stays well under the 64 KiB fact cap.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Most messages one receipt acknowledges; a reader with more to acknowledge sends more.
pub const MAX_RECEIPT_IDS: usize = 256;
/// Largest body of a request to leave.
pub const MAX_LEAVE_BYTES: usize = 1_024;

const TEXT: u8 = 1;
const RECEIPT: u8 = 2;
const LEAVE: u8 = 3;

/// One application message's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Text(String),
    /// The author read these messages (delivery receipts, batched).
    Receipt(Vec<FactId>),
    /// The author asks to be removed (a member cannot commit its own removal), with its
    /// signed request ([`super::leave::LeaveRequest`]), which any member may commit.
    Leave(Vec<u8>),
    /// A kind of a newer build: its tag, its body unread.
    Unknown(u8),
}

fn invalid(field: &'static str, detail: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        field,
        detail: detail.into(),
    }
}

impl Payload {
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::default();
        match self {
            Self::Text(text) => {
                writer.u8(TEXT).raw(text.as_bytes());
            }
            Self::Receipt(ids) => {
                let kept = &ids[..ids.len().min(MAX_RECEIPT_IDS)];
                writer.u8(RECEIPT).u16(kept.len() as u16);
                for id in kept {
                    writer.raw(&id.0);
                }
            }
            Self::Leave(request) => {
                writer.u8(LEAVE).raw(request);
            }
            Self::Unknown(tag) => {
                writer.u8(*tag);
            }
        }
        writer.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let parsed = match reader.u8("payload tag")? {
            TEXT => {
                let text = reader.rest();
                if text.len() > MAX_TEXT_BYTES {
                    return Err(invalid(
                        "text",
                        format!("{} bytes exceed {MAX_TEXT_BYTES}", text.len()),
                    ));
                }
                let text =
                    std::str::from_utf8(text).map_err(|err| invalid("text", err.to_string()))?;
                Self::Text(text.to_owned())
            }
            RECEIPT => {
                let count = usize::from(reader.u16("receipt count")?);
                if count > MAX_RECEIPT_IDS {
                    return Err(invalid(
                        "receipt count",
                        format!("{count} exceeds {MAX_RECEIPT_IDS}"),
                    ));
                }
                let ids = (0..count)
                    .map(|_| reader.array("receipt id").map(FactId))
                    .collect::<Result<_, _>>()?;
                Self::Receipt(ids)
            }
            LEAVE => {
                let request = reader.rest();
                if request.len() > MAX_LEAVE_BYTES {
                    return Err(invalid(
                        "leave request",
                        format!("{} bytes exceed {MAX_LEAVE_BYTES}", request.len()),
                    ));
                }
                Self::Leave(request.to_vec())
            }
            other => return Ok(Self::Unknown(other)),
        };
        reader.finish()?;
        Ok(parsed)
    }
}

/// Checks a text the user wants to send: not empty, within the cap.
pub fn check_text(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("the message is empty".into());
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "the message has {} bytes; at most {MAX_TEXT_BYTES} fit in one",
            text.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn payloads_round_trip_and_a_newer_tag_is_kept_unknown() {
        for payload in [
            Payload::Text("héllo 👋".into()),
            Payload::Receipt(vec![FactId([1; 32]), FactId([2; 32])]),
            Payload::Receipt(Vec::new()),
            Payload::Leave(Vec::new()),
            Payload::Leave(vec![1; 137]),
        ] {
            assert_eq!(Payload::decode(&payload.encode()), Ok(payload));
        }
        assert_eq!(Payload::decode(&[9, 1, 2, 3]), Ok(Payload::Unknown(9)));
    }

    #[test]
    fn bad_payloads_are_refused() {
        assert!(Payload::decode(&[]).is_err());
        assert!(Payload::decode(&[TEXT, 0xff, 0xfe]).is_err());
        let mut long = vec![TEXT];
        long.extend(std::iter::repeat_n(b'a', MAX_TEXT_BYTES + 1));
        assert!(Payload::decode(&long).is_err());
        // A receipt that says more ids than it holds, or more than the cap.
        assert!(Payload::decode(&[RECEIPT, 0, 2, 0]).is_err());
        let over = u16::try_from(MAX_RECEIPT_IDS + 1).unwrap_or(u16::MAX);
        let mut many = vec![RECEIPT];
        many.extend_from_slice(&over.to_be_bytes());
        assert!(Payload::decode(&many).is_err());
        assert!(check_text("  ").is_err());
        assert!(check_text(&"a".repeat(MAX_TEXT_BYTES + 1)).is_err());
        assert!(check_text("hi").is_ok());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(payload) = Payload::decode(&bytes)
                && !matches!(payload, Payload::Unknown(_))
            {
                prop_assert_eq!(payload.encode(), bytes);
            }
        }
    }
}
