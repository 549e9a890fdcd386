//! Transcript hashes (RFC 9420 §8.2): a running hash over every commit, so
//! that members who agree on an epoch also agree on how the group got there.

use super::cipher_suite::{MAC_LENGTH, SIGNATURE_LENGTH};
use super::codec::{Reader, Writer, varint_size};
use super::error::{CryptoError, DecodeError};
use super::primitives::{HashValue, hash};

/// `ConfirmedTranscriptHashInput = { WireFormat wire_format; FramedContent content; opaque signature<V>; }`,
/// kept in encoded form: the transcript hashes bytes, it never interprets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedTranscriptHashInput<'a> {
    /// `wire_format` followed by the encoded `FramedContent` of the commit.
    pub wire_format_and_content: &'a [u8],
    /// The commit's signature.
    pub signature: &'a [u8],
}

/// The pieces of an encoded `AuthenticatedContent` carrying a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedCommit<'a> {
    /// The part that enters the confirmed transcript hash.
    pub confirmed_input: ConfirmedTranscriptHashInput<'a>,
    /// The commit's confirmation tag.
    pub confirmation_tag: &'a [u8],
}

impl<'a> AuthenticatedCommit<'a> {
    /// Splits an encoded commit `AuthenticatedContent`
    /// (`wire_format || FramedContent || signature<V> || confirmation_tag<V>`).
    ///
    /// With this suite's fixed signature and MAC sizes the two trailing
    /// fields have fixed encodings, so they can be peeled off the end without
    /// parsing the commit itself; their length headers are still checked.
    pub fn split(authenticated_content: &'a [u8]) -> Result<Self, DecodeError> {
        let tag_field = encoded_opaque_length(MAC_LENGTH);
        let signature_field = encoded_opaque_length(SIGNATURE_LENGTH);
        // wire_format (2 bytes) plus at least one byte of content.
        let minimum = tag_field + signature_field + 3;
        if authenticated_content.len() < minimum {
            return Err(DecodeError::Truncated {
                needed: minimum,
                available: authenticated_content.len(),
            });
        }
        let (head, tag_bytes) =
            authenticated_content.split_at(authenticated_content.len() - tag_field);
        let (wire_format_and_content, signature_bytes) =
            head.split_at(head.len() - signature_field);
        let confirmation_tag = read_exact_opaque(tag_bytes, MAC_LENGTH)?;
        let signature = read_exact_opaque(signature_bytes, SIGNATURE_LENGTH)?;
        Ok(Self {
            confirmed_input: ConfirmedTranscriptHashInput {
                wire_format_and_content,
                signature,
            },
            confirmation_tag,
        })
    }
}

/// Size of `opaque x<V>` holding `length` bytes (header plus body).
const fn encoded_opaque_length(length: usize) -> usize {
    varint_size(length) + length
}

fn read_exact_opaque(bytes: &[u8], length: usize) -> Result<&[u8], DecodeError> {
    let mut reader = Reader::new(bytes);
    let value = reader.read_opaque()?;
    reader.finish()?;
    if value.len() != length {
        return Err(DecodeError::UnexpectedValue {
            field: "fixed-size opaque length",
        });
    }
    Ok(value)
}

/// `confirmed_transcript_hash[n] = Hash(interim_transcript_hash[n-1] || ConfirmedTranscriptHashInput[n])`.
pub fn confirmed_transcript_hash(
    interim_transcript_hash_before: &[u8],
    input: &ConfirmedTranscriptHashInput<'_>,
) -> Result<HashValue, CryptoError> {
    let mut writer = Writer::new();
    writer.write_fixed(interim_transcript_hash_before);
    writer.write_fixed(input.wire_format_and_content);
    writer.write_opaque(input.signature)?;
    Ok(hash(writer.as_bytes()))
}

/// `interim_transcript_hash[n] = Hash(confirmed_transcript_hash[n] || InterimTranscriptHashInput[n])`
/// with `InterimTranscriptHashInput = { MAC confirmation_tag; }` (a `MAC` is `opaque<V>`).
pub fn interim_transcript_hash(
    confirmed_transcript_hash: &[u8],
    confirmation_tag: &[u8],
) -> Result<HashValue, CryptoError> {
    let mut writer = Writer::new();
    writer.write_fixed(confirmed_transcript_hash);
    writer.write_opaque(confirmation_tag)?;
    Ok(hash(writer.as_bytes()))
}
