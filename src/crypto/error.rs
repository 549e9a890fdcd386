//! Typed errors of the cryptographic core.
//!
//! Decoding problems get their own enum because they are the errors a peer can
//! provoke at will: callers usually want to tell "malformed input" apart from
//! "well-formed but cryptographically invalid input".

use thiserror::Error;

/// Why a byte string could not be decoded as a TLS presentation-language value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("input truncated: needed {needed} more bytes, {available} available")]
    Truncated {
        /// Bytes the value still required.
        needed: usize,
        /// Bytes that were left in the input.
        available: usize,
    },
    /// A variable-length integer used the reserved `0b11` prefix.
    #[error("variable-length integer uses the reserved 0b11 prefix")]
    InvalidVarintPrefix,
    /// A variable-length integer was not encoded in its shortest form.
    #[error("variable-length integer {value} is not minimally encoded")]
    NonMinimalVarint {
        /// The decoded value.
        value: u32,
    },
    /// A vector length exceeds the hard cap for its kind.
    #[error("vector of {length} bytes exceeds the cap of {cap} bytes")]
    VectorTooLong {
        /// Declared length.
        length: usize,
        /// Cap that applied.
        cap: usize,
    },
    /// A vector holds more items than allowed.
    #[error("vector holds more than {cap} items")]
    TooManyItems {
        /// Cap that applied.
        cap: usize,
    },
    /// An `optional<T>` presence byte was neither 0 nor 1.
    #[error("optional presence byte {0} is neither 0 nor 1")]
    InvalidOptionalPresence(u8),
    /// A vector's items did not exactly fill its declared length.
    #[error("vector content does not fill its declared length")]
    VectorItemOverrun,
    /// Bytes remained after a value that must span the whole input.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A value was syntactically fine but not one this implementation accepts.
    #[error("unexpected value for {field}")]
    UnexpectedValue {
        /// Which field held the value.
        field: &'static str,
    },
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A vector is longer than the codec allows.
    #[error("vector of {length} bytes exceeds the cap of {cap} bytes")]
    VectorTooLong {
        /// Length of the vector.
        length: usize,
        /// Cap that applied.
        cap: usize,
    },
}

/// Everything that can go wrong in the cryptographic core.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    /// Input bytes were malformed.
    #[error("decode error: {0}")]
    Decode(#[from] DecodeError),
    /// A value could not be serialized.
    #[error("encode error: {0}")]
    Encode(#[from] EncodeError),
    /// A key, secret, nonce or signature had the wrong length.
    #[error("{what} must be {expected} bytes, got {actual}")]
    InvalidLength {
        /// What was being parsed.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Length that was supplied.
        actual: usize,
    },
    /// A requested output length is not representable or too long for the KDF.
    #[error("requested KDF output of {0} bytes is not allowed")]
    KdfOutputLength(usize),
    /// A public key is not a valid curve point.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// A signature did not verify.
    #[error("signature verification failed")]
    SignatureInvalid,
    /// HPKE setup, seal or open failed.
    #[error("HPKE operation failed")]
    Hpke,
    /// A message or state names a cipher suite Aura does not implement.
    #[error("unsupported cipher suite {0}")]
    UnsupportedCipherSuite(u16),
    /// AEAD decryption failed (wrong key, nonce, AAD or tampered ciphertext).
    #[error("AEAD authentication failed")]
    AeadOpen,
    /// AEAD encryption failed (input too long for the AEAD).
    #[error("AEAD encryption failed")]
    AeadSeal,
    /// A MAC did not verify.
    #[error("MAC verification failed")]
    MacInvalid,
    /// A tree index lies outside the tree.
    #[error("index {index} is outside a tree of {size}")]
    IndexOutOfRange {
        /// The offending index.
        index: u32,
        /// Number of leaves or nodes it was checked against.
        size: u32,
    },
    /// The number of leaves is not a power of two between 1 and the cap.
    #[error("invalid leaf count {0}")]
    InvalidLeafCount(u32),
    /// The key for this generation was already taken, or has left the window.
    #[error("key for generation {generation} was already used or has expired")]
    KeyUnavailable {
        /// The requested generation.
        generation: u32,
    },
    /// The generation lies further ahead than the out-of-order window allows.
    #[error("generation {requested} is too far ahead of {current}")]
    GenerationTooFarAhead {
        /// The requested generation.
        requested: u32,
        /// The next generation the ratchet would produce.
        current: u32,
    },
    /// The secret tree no longer holds the secret this leaf needs.
    #[error("secret of leaf {0} is no longer available")]
    LeafSecretUnavailable(u32),
    /// A ratchet tree is structurally invalid.
    #[error("invalid ratchet tree: {0}")]
    InvalidTree(&'static str),
    /// A non-blank parent node is not covered by exactly one valid parent-hash chain.
    #[error("parent hash of node {0} is not valid")]
    ParentHashInvalid(u32),
    /// The ratchet ran out of generations.
    #[error("ratchet generation counter exhausted")]
    GenerationExhausted,
}
