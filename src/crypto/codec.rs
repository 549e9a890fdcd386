//! TLS presentation-language codec (RFC 8446 §3) with the MLS variable-length
//! vector headers of RFC 9420 §2.1.2.
//!
//! Every length read from the wire is checked against a hard cap *before* any
//! allocation, so a hostile peer cannot make us reserve gigabytes with a
//! four-byte header. Decoding never panics: every failure is a [`DecodeError`].

use zeroize::Zeroize;

use super::error::{DecodeError, EncodeError};

/// Largest value a variable-length integer can carry (30 bits).
pub const MAX_VARINT_VALUE: u32 = (1 << 30) - 1;

/// Hard cap on the byte length of any vector this codec reads or writes.
///
/// Group messages, welcome messages and ratchet trees for groups of a few
/// thousand members stay well below this; anything larger is treated as an
/// attack rather than as data.
pub const MAX_VECTOR_BYTES: usize = 16 * 1024 * 1024;

/// Hard cap on the number of items decoded from one vector, bounding the
/// per-item overhead that zero-sized or tiny items could otherwise multiply.
pub const MAX_VECTOR_ITEMS: usize = 1 << 16;

const ONE_BYTE_VARINT_MAX: u32 = (1 << 6) - 1;
const TWO_BYTE_VARINT_MAX: u32 = (1 << 14) - 1;

/// Bytes taken by the variable-length header of a `length`-byte vector.
#[must_use]
pub const fn varint_size(length: usize) -> usize {
    if length <= ONE_BYTE_VARINT_MAX as usize {
        1
    } else if length <= TWO_BYTE_VARINT_MAX as usize {
        2
    } else {
        4
    }
}

/// Smallest buffer a wiping [`Writer`] allocates once something is written.
const MIN_WRITER_CAPACITY: usize = 64;

/// Serializes values into a growing byte buffer.
///
/// A writer made with [`Writer::for_secrets`] (exported state, message
/// plaintexts) wipes its bytes wherever they are left behind: when the
/// buffer grows (the old allocation is zeroed before it is freed, which
/// `Vec`'s own reallocation would not do), in the buffers of nested vectors,
/// and when the writer is dropped. [`Writer::into_bytes`] hands the bytes
/// over whole; wiping them is then the receiver's business. Other writers
/// skip the wiping, which would cost every message a few percent.
#[derive(Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
    wipe: bool,
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.wipe {
            self.bytes.zeroize();
        }
    }
}

impl Writer {
    /// An empty writer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer for content that includes secrets: no copy of its
    /// bytes is left unwiped.
    #[must_use]
    pub fn for_secrets() -> Self {
        Self {
            bytes: Vec::new(),
            wipe: true,
        }
    }

    /// The encoded bytes.
    #[must_use]
    pub fn into_bytes(mut self) -> Vec<u8> {
        core::mem::take(&mut self.bytes)
    }

    /// The bytes written so far.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Makes room for `additional` more bytes; a wiping writer moves into a
    /// larger allocation itself and zeroes the one it leaves.
    fn reserve(&mut self, additional: usize) {
        let needed = self.bytes.len().saturating_add(additional);
        if !self.wipe || needed <= self.bytes.capacity() {
            return;
        }
        let capacity = needed
            .max(self.bytes.capacity().saturating_mul(2))
            .max(MIN_WRITER_CAPACITY);
        let mut grown = Vec::with_capacity(capacity);
        grown.extend_from_slice(&self.bytes);
        let mut left_behind = core::mem::replace(&mut self.bytes, grown);
        left_behind.zeroize();
    }

    fn append(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends a `uint8`.
    pub fn write_u8(&mut self, value: u8) {
        self.append(&[value]);
    }

    /// Appends a big-endian `uint16`.
    pub fn write_u16(&mut self, value: u16) {
        self.append(&value.to_be_bytes());
    }

    /// Appends a big-endian `uint32`.
    pub fn write_u32(&mut self, value: u32) {
        self.append(&value.to_be_bytes());
    }

    /// Appends a big-endian `uint64`.
    pub fn write_u64(&mut self, value: u64) {
        self.append(&value.to_be_bytes());
    }

    /// Appends raw bytes with no length header (fixed-size `opaque[N]`).
    pub fn write_fixed(&mut self, bytes: &[u8]) {
        self.append(bytes);
    }

    /// Appends `count` zero bytes (padding).
    pub fn write_zeros(&mut self, count: usize) {
        self.reserve(count);
        self.bytes.resize(self.bytes.len().saturating_add(count), 0);
    }

    /// Appends a variable-length integer in its shortest form.
    pub fn write_varint(&mut self, value: usize) -> Result<(), EncodeError> {
        let too_long = EncodeError::VectorTooLong {
            length: value,
            cap: MAX_VECTOR_BYTES,
        };
        let value = u32::try_from(value).map_err(|_| too_long)?;
        if value <= ONE_BYTE_VARINT_MAX {
            // The range check above makes the truncation lossless.
            self.write_u8(value as u8);
        } else if value <= TWO_BYTE_VARINT_MAX {
            self.write_u16(0x4000 | value as u16);
        } else if value <= MAX_VARINT_VALUE {
            self.write_u32(0x8000_0000 | value);
        } else {
            return Err(too_long);
        }
        Ok(())
    }

    /// Appends `opaque data<V>`: a varint length header and the bytes.
    pub fn write_opaque(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        check_vector_length(bytes.len())?;
        self.write_varint(bytes.len())?;
        self.write_fixed(bytes);
        Ok(())
    }

    /// Appends a vector `T items<V>` whose content is produced by `write_items`.
    pub fn write_vector(
        &mut self,
        write_items: impl FnOnce(&mut Writer) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let mut content = Writer {
            bytes: Vec::new(),
            wipe: self.wipe,
        };
        write_items(&mut content)?;
        self.write_opaque(&content.bytes)
    }

    /// Appends `optional<T>`: a presence byte then, if present, the value.
    pub fn write_optional<T>(
        &mut self,
        value: Option<&T>,
        write_value: impl FnOnce(&mut Writer, &T) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        match value {
            None => {
                self.write_u8(0);
                Ok(())
            }
            Some(value) => {
                self.write_u8(1);
                write_value(self, value)
            }
        }
    }
}

fn check_vector_length(length: usize) -> Result<(), EncodeError> {
    if length > MAX_VECTOR_BYTES {
        return Err(EncodeError::VectorTooLong {
            length,
            cap: MAX_VECTOR_BYTES,
        });
    }
    Ok(())
}

/// Reads values from a borrowed byte slice, front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    remaining: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { remaining: bytes }
    }

    /// Number of unread bytes.
    #[must_use]
    pub fn remaining_len(&self) -> usize {
        self.remaining.len()
    }

    /// Whether all input was consumed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.remaining.is_empty()
    }

    /// Fails unless all input was consumed; call after decoding a value that
    /// must span the whole buffer, so that smuggled trailing bytes are caught.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.remaining.len()))
        }
    }

    /// Reads exactly `length` bytes (fixed-size `opaque[N]`).
    pub fn read_fixed(&mut self, length: usize) -> Result<&'a [u8], DecodeError> {
        if length > self.remaining.len() {
            return Err(DecodeError::Truncated {
                needed: length,
                available: self.remaining.len(),
            });
        }
        let (taken, rest) = self.remaining.split_at(length);
        self.remaining = rest;
        Ok(taken)
    }

    /// Reads exactly `N` bytes into an array.
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.read_fixed(N)?);
        Ok(out)
    }

    /// Reads a `uint8`.
    pub fn read_u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.read_array()?))
    }

    /// Reads a big-endian `uint16`.
    pub fn read_u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.read_array()?))
    }

    /// Reads a big-endian `uint32`.
    pub fn read_u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.read_array()?))
    }

    /// Reads a big-endian `uint64`.
    pub fn read_u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.read_array()?))
    }

    /// Reads a variable-length integer, rejecting the reserved prefix and
    /// non-minimal encodings (RFC 9420 §2.1.2) so each length has exactly one
    /// encoding and signed bytes cannot be malleated.
    pub fn read_varint(&mut self) -> Result<u32, DecodeError> {
        let first = self.read_u8()?;
        let (value, minimum) = match first >> 6 {
            0b00 => return Ok(u32::from(first & 0x3f)),
            0b01 => {
                let low = self.read_u8()?;
                (
                    u32::from(first & 0x3f) << 8 | u32::from(low),
                    ONE_BYTE_VARINT_MAX + 1,
                )
            }
            0b10 => {
                let low: [u8; 3] = self.read_array()?;
                (
                    u32::from_be_bytes([first & 0x3f, low[0], low[1], low[2]]),
                    TWO_BYTE_VARINT_MAX + 1,
                )
            }
            _ => return Err(DecodeError::InvalidVarintPrefix),
        };
        if value < minimum {
            return Err(DecodeError::NonMinimalVarint { value });
        }
        Ok(value)
    }

    /// Reads a vector length header and checks it against `cap`.
    fn read_vector_length(&mut self, cap: usize) -> Result<usize, DecodeError> {
        let length =
            usize::try_from(self.read_varint()?).map_err(|_| DecodeError::VectorTooLong {
                length: usize::MAX,
                cap,
            })?;
        if length > cap {
            return Err(DecodeError::VectorTooLong { length, cap });
        }
        Ok(length)
    }

    /// Reads `opaque data<V>`, borrowing the bytes.
    pub fn read_opaque(&mut self) -> Result<&'a [u8], DecodeError> {
        self.read_opaque_capped(MAX_VECTOR_BYTES)
    }

    /// Reads `opaque data<V>` whose length must not exceed `cap` (at most
    /// [`MAX_VECTOR_BYTES`]); use for fields with a known small size.
    pub fn read_opaque_capped(&mut self, cap: usize) -> Result<&'a [u8], DecodeError> {
        let length = self.read_vector_length(cap.min(MAX_VECTOR_BYTES))?;
        self.read_fixed(length)
    }

    /// Reads a vector `T items<V>`, decoding items with `read_item` until its
    /// declared length is used up exactly.
    pub fn read_vector<T>(
        &mut self,
        mut read_item: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let content = self.read_opaque()?;
        let mut items_reader = Reader::new(content);
        let mut items = Vec::new();
        while !items_reader.is_empty() {
            if items.len() >= MAX_VECTOR_ITEMS {
                return Err(DecodeError::TooManyItems {
                    cap: MAX_VECTOR_ITEMS,
                });
            }
            let before = items_reader.remaining_len();
            items.push(read_item(&mut items_reader)?);
            // An item that consumes nothing would loop forever on hostile input.
            if items_reader.remaining_len() == before {
                return Err(DecodeError::VectorItemOverrun);
            }
        }
        Ok(items)
    }

    /// Reads `optional<T>`.
    pub fn read_optional<T>(
        &mut self,
        read_value: impl FnOnce(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        match self.read_u8()? {
            0 => Ok(None),
            1 => read_value(self).map(Some),
            other => Err(DecodeError::InvalidOptionalPresence(other)),
        }
    }
}

/// A value with a TLS presentation-language encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `writer`.
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError>;

    /// The encoding of `self` as a fresh byte vector.
    fn to_tls_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut writer = Writer::new();
        self.encode(&mut writer)?;
        Ok(writer.into_bytes())
    }
}

/// A value that can be decoded from its TLS presentation-language encoding.
pub trait Decode: Sized {
    /// Reads one value from `reader`.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a value that must span all of `bytes`.
    fn from_tls_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let value = Self::decode(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
}

/// Encodes an `MLSMessage`: `version || wire_format || body`.
pub fn encode_mls_message(
    wire_format: u16,
    body: impl FnOnce(&mut Writer) -> Result<(), EncodeError>,
) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::new();
    writer.write_u16(super::cipher_suite::PROTOCOL_VERSION_MLS10);
    writer.write_u16(wire_format);
    body(&mut writer)?;
    Ok(writer.into_bytes())
}

/// Decodes an `MLSMessage` that must be of `wire_format` and hold one body and nothing else.
pub fn decode_mls_message<T>(
    bytes: &[u8],
    wire_format: u16,
    body: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut reader = Reader::new(bytes);
    if reader.read_u16()? != super::cipher_suite::PROTOCOL_VERSION_MLS10 {
        return Err(DecodeError::UnexpectedValue { field: "version" });
    }
    if reader.read_u16()? != wire_format {
        return Err(DecodeError::UnexpectedValue {
            field: "wire_format",
        });
    }
    let value = body(&mut reader)?;
    reader.finish()?;
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn varint_bytes(value: usize) -> Vec<u8> {
        let mut writer = Writer::new();
        writer.write_varint(value).unwrap();
        writer.into_bytes()
    }

    #[test]
    fn varint_uses_rfc_9420_examples() {
        // Examples from RFC 9420 §2.1.2 / RFC 9000 §16.
        assert_eq!(varint_bytes(37), [0x25]);
        assert_eq!(varint_size(37), 1);
        assert_eq!(varint_size(15_293), 2);
        assert_eq!(varint_size(494_878_333), 4);
        assert_eq!(varint_bytes(15_293), [0x7b, 0xbd]);
        assert_eq!(varint_bytes(494_878_333), [0x9d, 0x7f, 0x3e, 0x7d]);
        assert_eq!(Reader::new(&[0x7b, 0xbd]).read_varint(), Ok(15_293));
        assert_eq!(
            Reader::new(&[0x9d, 0x7f, 0x3e, 0x7d]).read_varint(),
            Ok(494_878_333)
        );
    }

    #[test]
    fn varint_round_trips_at_boundaries() {
        for value in [0, 63, 64, 16_383, 16_384, MAX_VARINT_VALUE as usize] {
            let bytes = varint_bytes(value);
            let mut reader = Reader::new(&bytes);
            assert_eq!(reader.read_varint(), Ok(value as u32));
            assert!(reader.is_empty());
        }
    }

    #[test]
    fn varint_rejects_reserved_prefix_and_non_minimal_forms() {
        assert_eq!(
            Reader::new(&[0xc0, 0, 0, 0, 0, 0, 0, 1]).read_varint(),
            Err(DecodeError::InvalidVarintPrefix)
        );
        assert_eq!(
            Reader::new(&[0x40, 0x25]).read_varint(),
            Err(DecodeError::NonMinimalVarint { value: 37 })
        );
        assert_eq!(
            Reader::new(&[0x80, 0x00, 0x3f, 0xff]).read_varint(),
            Err(DecodeError::NonMinimalVarint { value: 16_383 })
        );
    }

    #[test]
    fn oversized_values_are_rejected_when_encoding() {
        let mut writer = Writer::new();
        assert!(writer.write_varint(MAX_VARINT_VALUE as usize + 1).is_err());
    }

    #[test]
    fn opaque_length_is_capped_before_reading() {
        // Header claims 2^30 - 1 bytes: rejected without touching the body.
        let bytes = [0xbf, 0xff, 0xff, 0xff];
        assert!(matches!(
            Reader::new(&bytes).read_opaque(),
            Err(DecodeError::VectorTooLong { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x05, 1, 2]).read_opaque(),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn vector_items_must_fill_the_declared_length() {
        // Three bytes of u16 items: the last item is truncated.
        let bytes = [0x03, 0, 1, 2];
        assert!(matches!(
            Reader::new(&bytes).read_vector(|r| r.read_u16()),
            Err(DecodeError::Truncated { .. })
        ));
        let good = [0x04, 0, 1, 0, 2];
        assert_eq!(
            Reader::new(&good).read_vector(|r| r.read_u16()),
            Ok(vec![1, 2])
        );
    }

    #[test]
    fn optional_presence_byte_is_strict() {
        assert_eq!(Reader::new(&[0]).read_optional(|r| r.read_u8()), Ok(None));
        assert_eq!(
            Reader::new(&[1, 9]).read_optional(|r| r.read_u8()),
            Ok(Some(9))
        );
        assert_eq!(
            Reader::new(&[2, 9]).read_optional(|r| r.read_u8()),
            Err(DecodeError::InvalidOptionalPresence(2))
        );
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let mut reader = Reader::new(&[1, 2, 3]);
        assert_eq!(reader.read_u8(), Ok(1));
        assert_eq!(reader.finish(), Err(DecodeError::TrailingBytes(2)));
    }

    #[test]
    fn a_wiping_writer_writes_the_same_bytes() {
        let fill = |writer: &mut Writer| {
            for round in 0..300u32 {
                writer.write_u8(round as u8);
                writer.write_u64(u64::from(round) << 20);
                writer.write_zeros(round as usize % 7);
                writer
                    .write_vector(|items| {
                        items.write_u32(round);
                        items.write_opaque(&vec![round as u8; round as usize])
                    })
                    .unwrap();
            }
        };
        let (mut plain, mut wiping) = (Writer::new(), Writer::for_secrets());
        fill(&mut plain);
        fill(&mut wiping);
        assert!(wiping.as_bytes().len() > 40_000);
        assert_eq!(wiping.into_bytes(), plain.into_bytes());
    }
}
