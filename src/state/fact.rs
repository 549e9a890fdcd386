//! Facts: the signed, content-addressed records the journal is made of.
//!
//! # Canonical encoding (format 1)
//!
//! | field | bytes | notes |
//! |---|---|---|
//! | format | 1 | `1` |
//! | context id | 32 | the group or relationship the fact belongs to |
//! | author | 32 | the author device's Ed25519 public key |
//! | time | 8 | HLC time, packed (see [`Hlc::to_u64`]), big-endian |
//! | kind code | 2 | big-endian |
//! | kind schema version | 2 | big-endian |
//! | body length | 4 | big-endian |
//! | body | body length | opaque here; its kind gives it meaning |
//! | signature | 64 | Ed25519 over [`SIGNING_DOMAIN`] followed by every byte above |
//!
//! The id is the SHA-256 of the whole encoding, signature included, so the id commits to
//! exactly the bytes stored. Verification is strict (`verify_strict`): the signature is not
//! malleable, so nobody but the author can make a second encoding of the same content.

use std::fmt;
use std::sync::Arc;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::codec::{DecodeError, Reader, Writer};
use super::hlc::Hlc;
use super::limits::MAX_FACT_BYTES;

/// The only encoding format this build writes and reads.
pub const FACT_FORMAT: u8 = 1;
/// Prefix of every signed message, so that a fact signature cannot be replayed as a signature
/// over anything else the device key signs.
pub const SIGNING_DOMAIN: &[u8] = b"aura/fact/v1\0";
/// Bytes of the encoding that are not the body.
pub const FACT_FIXED_BYTES: usize = 1 + 32 + 32 + 8 + 2 + 2 + 4 + SIGNATURE_BYTES;
const SIGNATURE_BYTES: usize = 64;

macro_rules! byte_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                for byte in &self.0[..6] {
                    write!(f, "{byte:02x}")?;
                }
                write!(f, "…)")
            }
        }
    };
}

byte_id!(
    /// A journal context: a group, or a relationship between two identities.
    ContextId
);
byte_id!(
    /// A device's Ed25519 public key, as authors and members are named.
    DeviceKey
);
byte_id!(
    /// The SHA-256 of a fact's canonical encoding.
    FactId
);

impl DeviceKey {
    pub fn of(key: &SigningKey) -> Self {
        Self(key.verifying_key().to_bytes())
    }
}

/// What a fact says, and which version of that kind's body layout it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FactKind {
    pub code: u16,
    pub schema: u16,
}

/// Why a fact could not be built locally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactError {
    #[error("a fact of {len} bytes exceeds the limit of {MAX_FACT_BYTES}")]
    TooLarge { len: usize },
}

/// A decoded fact. Decoding checks structure only; [`Fact::verify_signature`] checks the
/// signature, and `ingest` checks everything before a fact is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    context: ContextId,
    author: DeviceKey,
    time: Hlc,
    kind: FactKind,
    /// Shared, because views and snapshots of a journal hold the same bodies.
    body: Arc<[u8]>,
    signature: [u8; SIGNATURE_BYTES],
    id: FactId,
}

impl Fact {
    /// Builds and signs a fact by the holder of `key`.
    pub fn sign(
        key: &SigningKey,
        context: ContextId,
        time: Hlc,
        kind: FactKind,
        body: Vec<u8>,
    ) -> Result<Self, FactError> {
        let len = FACT_FIXED_BYTES + body.len();
        if len > MAX_FACT_BYTES {
            return Err(FactError::TooLarge { len });
        }
        let mut fact = Self {
            context,
            author: DeviceKey::of(key),
            time,
            kind,
            body: body.into(),
            signature: [0; SIGNATURE_BYTES],
            id: FactId::default(),
        };
        fact.signature = key.sign(&fact.signed_message()).to_bytes();
        fact.id = fact.compute_id();
        Ok(fact)
    }

    /// Decodes a canonical encoding; the size cap is checked before anything else is read.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let parsed = Parsed::read(bytes)?;
        Ok(Self {
            context: parsed.context,
            author: parsed.author,
            time: parsed.time,
            kind: parsed.kind,
            body: Arc::from(parsed.body),
            signature: parsed.signature,
            id: FactId(Sha256::digest(bytes).into()),
        })
    }

    /// Checks what [`Fact::decode`] checks, without hashing or copying: what a store can
    /// afford to do with every stored fact each time it is opened. Returns the fact's context
    /// and time, which the store's keys repeat.
    pub fn check_encoding(bytes: &[u8]) -> Result<(ContextId, Hlc), DecodeError> {
        let parsed = Parsed::read(bytes)?;
        Ok((parsed.context, parsed.time))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut writer = self.unsigned_encoding();
        writer.raw(&self.signature);
        writer.into_bytes()
    }

    pub fn encoded_len(&self) -> usize {
        FACT_FIXED_BYTES + self.body.len()
    }

    pub fn verify_signature(&self) -> Result<(), ed25519_dalek::SignatureError> {
        self.verify_signature_with(&VerifyingKey::from_bytes(&self.author.0)?)
    }

    /// Verifies with `key`, already decompressed from [`Fact::author`]: decompression costs
    /// a good part of a verification, and a batch has few distinct authors.
    pub fn verify_signature_with(
        &self,
        key: &VerifyingKey,
    ) -> Result<(), ed25519_dalek::SignatureError> {
        if key.as_bytes() != &self.author.0 {
            return Err(ed25519_dalek::SignatureError::new());
        }
        key.verify_strict(
            &self.signed_message(),
            &Signature::from_bytes(&self.signature),
        )
    }

    /// Whether the signature field was left empty: a fact nobody signed.
    pub fn is_unsigned(&self) -> bool {
        self.signature.iter().all(|byte| *byte == 0)
    }

    pub fn id(&self) -> FactId {
        self.id
    }

    pub fn context(&self) -> ContextId {
        self.context
    }

    pub fn author(&self) -> DeviceKey {
        self.author
    }

    pub fn time(&self) -> Hlc {
        self.time
    }

    pub fn kind(&self) -> FactKind {
        self.kind
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, shared rather than copied.
    pub fn shared_body(&self) -> Arc<[u8]> {
        Arc::clone(&self.body)
    }

    /// The order facts are kept and reconciled in: time, then id.
    pub fn order_key(&self) -> (Hlc, FactId) {
        (self.time, self.id)
    }

    fn unsigned_encoding(&self) -> Writer {
        let mut writer = Writer::with_capacity(self.encoded_len());
        writer
            .u8(FACT_FORMAT)
            .raw(&self.context.0)
            .raw(&self.author.0)
            .u64(self.time.to_u64())
            .u16(self.kind.code)
            .u16(self.kind.schema)
            // `sign` and `decode` bound the body far below 4 GiB.
            .u32(self.body.len() as u32)
            .raw(&self.body);
        writer
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut message = SIGNING_DOMAIN.to_vec();
        message.extend_from_slice(&self.unsigned_encoding().into_bytes());
        message
    }

    fn compute_id(&self) -> FactId {
        FactId(Sha256::digest(self.encode()).into())
    }
}

/// The fields of a canonical encoding, borrowed from it.
struct Parsed<'a> {
    context: ContextId,
    author: DeviceKey,
    time: Hlc,
    kind: FactKind,
    body: &'a [u8],
    signature: [u8; SIGNATURE_BYTES],
}

impl<'a> Parsed<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_FACT_BYTES {
            return Err(DecodeError::Invalid {
                field: "fact",
                detail: format!("{} bytes exceed the limit of {MAX_FACT_BYTES}", bytes.len()),
            });
        }
        let mut reader = Reader::new(bytes);
        let format = reader.u8("format")?;
        if format != FACT_FORMAT {
            return Err(DecodeError::UnknownVersion(format));
        }
        let context = ContextId(reader.array("context id")?);
        let author = DeviceKey(reader.array("author")?);
        let time = Hlc::from_u64(reader.u64("time")?);
        let kind = FactKind {
            code: reader.u16("kind code")?,
            schema: reader.u16("kind schema")?,
        };
        let body_len = reader.u32("body length")? as usize;
        let body = reader.take(body_len, "body")?;
        let signature = reader.array("signature")?;
        reader.finish()?;
        Ok(Self {
            context,
            author,
            time,
            kind,
            body,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(body: Vec<u8>) -> Result<Fact, FactError> {
        Fact::sign(
            &SigningKey::from_bytes(&[7; 32]),
            ContextId([1; 32]),
            Hlc::new(1_000, 2).unwrap(),
            FactKind { code: 1, schema: 1 },
            body,
        )
    }

    #[test]
    fn the_encoding_round_trips_and_names_the_fact() {
        let fact = fact(b"hello".to_vec()).unwrap();
        let bytes = fact.encode();
        assert_eq!(bytes.len(), fact.encoded_len());
        let decoded = Fact::decode(&bytes).unwrap();
        assert_eq!(decoded, fact);
        assert_eq!(decoded.id(), FactId(Sha256::digest(&bytes).into()));
        decoded.verify_signature().unwrap();
    }

    #[test]
    fn the_largest_fact_is_accepted_and_one_byte_more_is_not() {
        let largest = MAX_FACT_BYTES - FACT_FIXED_BYTES;
        assert_eq!(
            fact(vec![0; largest]).unwrap().encoded_len(),
            MAX_FACT_BYTES
        );
        assert!(matches!(
            fact(vec![0; largest + 1]),
            Err(FactError::TooLarge { .. })
        ));
    }

    #[test]
    fn trailing_bytes_and_other_formats_are_refused() {
        let mut bytes = fact(Vec::new()).unwrap().encode();
        bytes.push(0);
        assert_eq!(Fact::decode(&bytes), Err(DecodeError::TrailingBytes(1)));
        assert_eq!(
            Fact::check_encoding(&bytes),
            Err(DecodeError::TrailingBytes(1))
        );
        bytes.pop();
        let fact = Fact::decode(&bytes).unwrap();
        assert_eq!(
            Fact::check_encoding(&bytes),
            Ok((fact.context(), fact.time()))
        );
        bytes[0] = 2;
        assert_eq!(Fact::decode(&bytes), Err(DecodeError::UnknownVersion(2)));
        assert_eq!(
            Fact::check_encoding(&bytes),
            Err(DecodeError::UnknownVersion(2))
        );
    }
}
