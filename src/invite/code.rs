//! The invitation code: plain text that can be pasted into another chat or an
//! email, and from which another Aura reaches the inviter.
//!
//! Version 1 is `aura1` followed by unpadded lowercase base32 (RFC 4648) of
//! `payload || crc32("aura1" || payload)`. The payload, integers big-endian:
//! target (u8, 0 = contact), inviter Ed25519 key (32 bytes), secret (16 bytes),
//! expiry (u32 seconds since the epoch, 0 = never), address count (u8) and each
//! address as length (u8) and binary multiaddr, note length (u8) and UTF-8 note.

// Decoding reads whatever a user pasted: nothing in it may panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::arithmetic_side_effects
)]

use libp2p::{Multiaddr, multiaddr::Protocol};

use std::fmt;

use data_encoding::{BASE32_NOPAD_NOCASE, DecodeKind};
use zeroize::{Zeroize, Zeroizing};

/// Followed by the version digit.
pub const CODE_PREFIX: &str = "aura";
pub const CODE_VERSION: u8 = 1;
pub const MAX_CODE_CHARS: usize = 4096;
pub const MAX_CODE_ADDRS: usize = 8;
pub const MAX_NOTE_BYTES: usize = 160;
pub const SECRET_BYTES: usize = 16;
/// An address's length is written in one byte.
pub const MAX_ADDR_BYTES: usize = u8::MAX as usize;

/// What the checksum covers before the payload. Covering the version too means a
/// code of another version whose digit was mistyped into `1` cannot pass.
const VERSIONED_PREFIX: &str = "aura1";
const TARGET_CONTACT: u8 = 0;
const TARGET_GROUP: u8 = 1;
const INVITER_KEY_BYTES: usize = 32;
const CHECKSUM_BYTES: usize = 4;
/// A missing or extra character usually ends here, or in the checksum.
const CUT_SHORT_OR_EXTENDED: &str = "the code is cut short or has extra characters";
/// Enough of a non-code to recognise what was pasted, short enough that an
/// error stays one readable line.
const ECHO_CHARS: usize = 16;
/// Matching pairs a chat or mail client may wrap a pasted code in.
const WRAPPERS: [(char, char); 6] = [
    ('<', '>'),
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('\u{201C}', '\u{201D}'),
    ('\u{2018}', '\u{2019}'),
];

const MAX_PAYLOAD_BYTES: usize = 1
    + INVITER_KEY_BYTES
    + SECRET_BYTES
    + 4
    + 1
    + MAX_CODE_ADDRS * (1 + MAX_ADDR_BYTES)
    + 1
    + MAX_NOTE_BYTES;
// Every code the encoder accepts must also be one the decoder accepts.
const _: () = assert!(
    VERSIONED_PREFIX.len() + ((MAX_PAYLOAD_BYTES + CHECKSUM_BYTES) * 8).div_ceil(5)
        <= MAX_CODE_CHARS
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationTarget {
    Contact,
    /// A contact, who is then added to a group of the inviter's (the code does not say
    /// which: only the inviter's records do).
    Group,
}

/// The one-time secret; zeroized on drop; Debug prints "InvitationSecret(..)",
/// never the bytes.
#[derive(Clone)]
pub struct InvitationSecret([u8; SECRET_BYTES]);

impl InvitationSecret {
    pub fn from_bytes(bytes: [u8; SECRET_BYTES]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; SECRET_BYTES] {
        &self.0
    }
}

impl Drop for InvitationSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for InvitationSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationSecret(..)")
    }
}

/// Compares every byte whatever the first difference, so that the time taken
/// does not tell an attacker how much of a guessed secret is right.
impl PartialEq for InvitationSecret {
    fn eq(&self, other: &Self) -> bool {
        let difference = self
            .0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| std::hint::black_box(acc | (a ^ b)));
        difference == 0
    }
}

impl Eq for InvitationSecret {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationCode {
    pub target: InvitationTarget,
    /// The inviter's Ed25519 public key (device key).
    pub inviter: [u8; INVITER_KEY_BYTES],
    pub secret: InvitationSecret,
    /// Seconds since the Unix epoch; `None` = never.
    pub expires_at_secs: Option<u64>,
    pub addrs: Vec<Multiaddr>,
    pub note: String,
}

/// Why [`InvitationCode::encode`] refused; each names the cap it would break.
/// Address indexes count from 1, as a person would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("an invitation code needs at least one address to reach the inviter")]
    NoAddress,
    #[error("an invitation code holds at most {cap} addresses, not {count}")]
    TooManyAddresses { count: usize, cap: usize },
    #[error("address {index} is empty")]
    EmptyAddress { index: usize },
    #[error(
        "address {index} is {bytes} bytes; an invitation code holds addresses of at most {cap} bytes"
    )]
    AddressTooLong {
        index: usize,
        bytes: usize,
        cap: usize,
    },
    #[error("address {index} ends with a /p2p/ peer id; leave it out, the inviter key gives it")]
    AddressHasPeerId { index: usize },
    #[error("the note is {bytes} bytes; an invitation code holds a note of at most {cap} bytes")]
    NoteTooLong { bytes: usize, cap: usize },
    #[error("the note contains a control character")]
    NoteHasControlCharacter,
    #[error(
        "an expiry of 0 seconds since the epoch is not a time; use None for a code that never expires"
    )]
    ExpiryIsZero,
    #[error("the expiry {secs} is later than an invitation code can hold (seconds up to {cap})")]
    ExpiryTooLate { secs: u64, cap: u32 },
}

/// Why a pasted text is not a usable invitation code. Every message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the invitation code is empty")]
    Empty,
    #[error("the invitation code is {chars} characters long; a code has at most {cap}")]
    TooLong { chars: usize, cap: usize },
    #[error(
        "this is not an Aura invitation code: it should start with aura1 (it starts with \"{starts_with}\")"
    )]
    NotACode { starts_with: String },
    #[error("an invitation code of version {0}; this aura reads version 1: update aura")]
    UnknownVersion(u32),
    #[error("the code has a typo: character {position} ({}) cannot be in a code", shown(*.character))]
    BadCharacter { position: usize, character: char },
    #[error("{0}")]
    Malformed(String),
    #[error(
        "the code has a typo: its checksum does not match (check each character, or ask for the code again)"
    )]
    Checksum,
    #[error("invites to something this aura does not know (target {0}): update aura")]
    UnknownTarget(u8),
}

impl CodeError {
    /// A mistyped character, as opposed to a text that was never a code, a code
    /// from a newer aura, or one cut short.
    pub fn is_typo(&self) -> bool {
        matches!(self, Self::BadCharacter { .. } | Self::Checksum)
    }
}

impl InvitationCode {
    /// Checks every cap (addresses 1..=8, each ≤255 bytes and without /p2p, note
    /// ≤160 bytes with no control characters, expiry fits u32 and is not 0) and
    /// returns the text.
    pub fn encode(&self) -> Result<String, EncodeError> {
        let expires = match self.expires_at_secs {
            None => 0,
            Some(0) => return Err(EncodeError::ExpiryIsZero),
            Some(secs) => u32::try_from(secs).map_err(|_| EncodeError::ExpiryTooLate {
                secs,
                cap: u32::MAX,
            })?,
        };
        if self.addrs.is_empty() {
            return Err(EncodeError::NoAddress);
        }
        let addr_count = u8::try_from(self.addrs.len())
            .ok()
            .filter(|&count| usize::from(count) <= MAX_CODE_ADDRS)
            .ok_or(EncodeError::TooManyAddresses {
                count: self.addrs.len(),
                cap: MAX_CODE_ADDRS,
            })?;
        let note_len = u8::try_from(self.note.len())
            .ok()
            .filter(|&len| usize::from(len) <= MAX_NOTE_BYTES)
            .ok_or(EncodeError::NoteTooLong {
                bytes: self.note.len(),
                cap: MAX_NOTE_BYTES,
            })?;
        if self.note.chars().any(char::is_control) {
            return Err(EncodeError::NoteHasControlCharacter);
        }

        // The payload holds the secret in the clear: wipe it once encoded.
        let mut payload = Zeroizing::new(Vec::with_capacity(MAX_PAYLOAD_BYTES + CHECKSUM_BYTES));
        payload.push(match self.target {
            InvitationTarget::Contact => TARGET_CONTACT,
            InvitationTarget::Group => TARGET_GROUP,
        });
        payload.extend_from_slice(&self.inviter);
        payload.extend_from_slice(self.secret.as_bytes());
        payload.extend_from_slice(&expires.to_be_bytes());
        payload.push(addr_count);
        for (index, addr) in (1..).zip(&self.addrs) {
            let bytes: &[u8] = addr.as_ref();
            let len = u8::try_from(bytes.len()).map_err(|_| EncodeError::AddressTooLong {
                index,
                bytes: bytes.len(),
                cap: MAX_ADDR_BYTES,
            })?;
            if len == 0 {
                return Err(EncodeError::EmptyAddress { index });
            }
            if ends_with_peer_id(addr) {
                return Err(EncodeError::AddressHasPeerId { index });
            }
            payload.push(len);
            payload.extend_from_slice(bytes);
        }
        payload.push(note_len);
        payload.extend_from_slice(self.note.as_bytes());
        let checksum = checksum(&payload);
        payload.extend_from_slice(&checksum.to_be_bytes());

        let mut text = String::with_capacity(
            VERSIONED_PREFIX
                .len()
                .saturating_add(BASE32_NOPAD_NOCASE.encode_len(payload.len())),
        );
        text.push_str(VERSIONED_PREFIX);
        BASE32_NOPAD_NOCASE.encode_append(&payload, &mut text);
        text.make_ascii_lowercase();
        Ok(text)
    }

    /// Parses what a user pasted: whitespace anywhere, any letter case and one
    /// pair of wrapping `<>` or quotes are forgiven; nothing else is.
    pub fn decode(text: &str) -> Result<InvitationCode, CodeError> {
        // Bytes bound characters, so only a long text needs counting.
        if text.len() > MAX_CODE_CHARS {
            let chars = text.chars().count();
            if chars > MAX_CODE_CHARS {
                return Err(CodeError::TooLong {
                    chars,
                    cap: MAX_CODE_CHARS,
                });
            }
        }

        // The secret is in these chars: wipe them once parsed. Positions are
        // 1-based in the text as given, so a typo is reported where the user sees it.
        let mut chars = Zeroizing::new(Vec::with_capacity(text.len().min(MAX_CODE_CHARS)));
        let mut positions = Vec::with_capacity(text.len().min(MAX_CODE_CHARS));
        for (position, c) in (1..).zip(text.chars()) {
            if !c.is_whitespace() {
                chars.push(c.to_ascii_lowercase());
                positions.push(position);
            }
        }
        let (chars, positions) = unwrap_pair(&chars, &positions);
        if chars.is_empty() {
            return Err(CodeError::Empty);
        }

        let not_a_code = || CodeError::NotACode {
            starts_with: echo(text),
        };
        let prefix: Vec<char> = CODE_PREFIX.chars().collect();
        let after_prefix = chars
            .strip_prefix(prefix.as_slice())
            .ok_or_else(not_a_code)?;
        let body = match after_prefix.split_first() {
            Some(('1', body)) => body,
            // Base32 text may start with the digits 2-7, so after a `1` every digit
            // belongs to the payload, and a version ≥ 10 must not start with 1.
            Some((digit, _)) if digit.is_ascii_digit() => {
                return Err(CodeError::UnknownVersion(leading_number(after_prefix)));
            }
            _ => return Err(not_a_code()),
        };
        let body_positions = positions.get(VERSIONED_PREFIX.len()..).unwrap_or_default();

        let mut ascii = Zeroizing::new(String::with_capacity(body.len()));
        for (index, &c) in body.iter().enumerate() {
            if !matches!(c, 'a'..='z' | '2'..='7') {
                return Err(CodeError::BadCharacter {
                    position: body_positions.get(index).copied().unwrap_or_default(),
                    character: c,
                });
            }
            ascii.push(c);
        }

        let bytes = Zeroizing::new(BASE32_NOPAD_NOCASE.decode(ascii.as_bytes()).map_err(
            |err| match err.kind {
                // Bits the encoder always leaves zero are set: usually the last
                // character is mistyped, which makes it a typo like any other.
                DecodeKind::Trailing => CodeError::Checksum,
                _ => malformed(CUT_SHORT_OR_EXTENDED),
            },
        )?);
        let (payload, checksum_bytes) = bytes
            .split_last_chunk::<CHECKSUM_BYTES>()
            .ok_or_else(|| malformed(CUT_SHORT_OR_EXTENDED))?;
        if checksum(payload) != u32::from_be_bytes(*checksum_bytes) {
            return Err(CodeError::Checksum);
        }
        parse_payload(payload)
    }
}

/// CRC-32 (IEEE) over `aura1 || payload`. A CRC and not a hash, because a
/// CRC-32 detects every burst error of up to 32 bits: any single changed
/// character (5 bits) and any swap of two neighbouring characters (10 bits) is
/// always caught, at every length up to the cap. In the order base32 writes the
/// bits (each byte most significant bit first, the CRC big-endian) the
/// guaranteed burst is 29 bits, which still covers any change within five
/// neighbouring characters; the tests check every such window exhaustively.
fn checksum(payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(VERSIONED_PREFIX.as_bytes());
    hasher.update(payload);
    hasher.finalize()
}

fn parse_payload(payload: &[u8]) -> Result<InvitationCode, CodeError> {
    let mut fields = Fields { rest: payload };
    // Later versions lay out other targets differently: stop before reading on.
    let target = match fields.byte("target")? {
        TARGET_CONTACT => InvitationTarget::Contact,
        TARGET_GROUP => InvitationTarget::Group,
        other => return Err(CodeError::UnknownTarget(other)),
    };
    let inviter = *fields.array::<INVITER_KEY_BYTES>("inviter key")?;
    let secret = InvitationSecret::from_bytes(*fields.array::<SECRET_BYTES>("secret")?);
    let expires = u32::from_be_bytes(*fields.array::<4>("expiry")?);

    let addr_count = usize::from(fields.byte("address count")?);
    if addr_count == 0 {
        return Err(malformed("the code has no address to reach the inviter"));
    }
    if addr_count > MAX_CODE_ADDRS {
        return Err(CodeError::Malformed(format!(
            "the code has {addr_count} addresses; at most {MAX_CODE_ADDRS} are allowed"
        )));
    }
    let mut addrs = Vec::with_capacity(addr_count);
    for index in 1..=addr_count {
        let field = format!("address {index}");
        let len = usize::from(fields.byte(&field)?);
        if len == 0 {
            return Err(CodeError::Malformed(format!("the code's {field} is empty")));
        }
        let bytes = fields.slice(len, &field)?;
        let addr = Multiaddr::try_from(bytes.to_vec()).map_err(|_| {
            CodeError::Malformed(format!("the code's {field} is not a valid network address"))
        })?;
        if ends_with_peer_id(&addr) {
            return Err(CodeError::Malformed(format!(
                "the code's {field} ends with a peer id, which the inviter key already gives"
            )));
        }
        addrs.push(addr);
    }

    let note_len = usize::from(fields.byte("note length")?);
    if note_len > MAX_NOTE_BYTES {
        return Err(CodeError::Malformed(format!(
            "the code's note is {note_len} bytes; at most {MAX_NOTE_BYTES} are allowed"
        )));
    }
    let note = std::str::from_utf8(fields.slice(note_len, "note")?)
        .map_err(|_| malformed("the code's note is not valid UTF-8"))?;
    // The note is shown in a terminal, where control characters could rewrite
    // the screen; no encoder writes them.
    if note.chars().any(char::is_control) {
        return Err(malformed("the code's note contains control characters"));
    }
    if !fields.rest.is_empty() {
        return Err(CodeError::Malformed(format!(
            "the code has {} unexpected bytes after its note",
            fields.rest.len()
        )));
    }

    Ok(InvitationCode {
        target,
        inviter,
        secret,
        expires_at_secs: (expires != 0).then_some(u64::from(expires)),
        addrs,
        note: note.to_owned(),
    })
}

/// Reads the payload front to back, naming the field that is cut short.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn array<const N: usize>(&mut self, field: &str) -> Result<&'a [u8; N], CodeError> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or_else(|| cut_short(field))?;
        self.rest = rest;
        Ok(head)
    }

    fn byte(&mut self, field: &str) -> Result<u8, CodeError> {
        self.array::<1>(field).map(|&[byte]| byte)
    }

    fn slice(&mut self, len: usize, field: &str) -> Result<&'a [u8], CodeError> {
        let (head, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or_else(|| cut_short(field))?;
        self.rest = rest;
        Ok(head)
    }
}

fn cut_short(field: &str) -> CodeError {
    CodeError::Malformed(format!("the code's {field} is cut short"))
}

fn malformed(message: &str) -> CodeError {
    CodeError::Malformed(message.to_owned())
}

/// The peer id follows from the inviter key; carrying it again would only
/// allow the two to disagree.
fn ends_with_peer_id(addr: &Multiaddr) -> bool {
    matches!(addr.iter().last(), Some(Protocol::P2p(_)))
}

/// Drops one pair of matching wrapping characters, with their positions.
fn unwrap_pair<'a>(chars: &'a [char], positions: &'a [usize]) -> (&'a [char], &'a [usize]) {
    if let [first, inner @ .., last] = chars
        && WRAPPERS.contains(&(*first, *last))
    {
        let inner_positions = positions.get(1..positions.len().saturating_sub(1));
        return (inner, inner_positions.unwrap_or_default());
    }
    (chars, positions)
}

/// The number a run of digits spells, saturating: it is only ever shown.
fn leading_number(chars: &[char]) -> u32 {
    chars
        .iter()
        .map_while(|c| c.to_digit(10))
        .fold(0u32, |n, digit| n.saturating_mul(10).saturating_add(digit))
}

/// How the text starts, short and made safe to print on one line.
fn echo(text: &str) -> String {
    let text = text.trim_start();
    let mut echoed: String = text
        .chars()
        .take(ECHO_CHARS)
        .map(|c| if is_unprintable(c) { '\u{FFFD}' } else { c })
        .collect();
    if text.chars().nth(ECHO_CHARS).is_some() {
        echoed.push('…');
    }
    echoed
}

/// A character as it may safely appear in a message: quoted, or escaped when a
/// terminal would not print it.
fn shown(c: char) -> String {
    if is_unprintable(c) {
        format!("\"{}\"", c.escape_unicode())
    } else {
        format!("\"{c}\"")
    }
}

/// Control characters, line and paragraph breaks, and invisible formatting
/// characters (zero-width, bidirectional overrides) that could hide or reorder
/// text in a terminal.
fn is_unprintable(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod typo_tests;
