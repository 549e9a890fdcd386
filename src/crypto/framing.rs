//! Message framing shared by PublicMessage and PrivateMessage (RFC 9420 §6):
//! who sent what, and the signature that binds it to the group context.
//!
//! Proposal and Commit bodies are kept as their encoded bytes: this module
//! protects and authenticates them but does not interpret them. Decoding
//! therefore takes a [`BodySkipper`] from the layer that understands them,
//! which only has to step over one encoded body.

use super::cipher_suite::{MAC_LENGTH, PROTOCOL_VERSION_MLS10};
use super::codec::{Decode, Encode, Reader, Writer};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::group_context::{GroupContext, MAX_GROUP_ID_BYTES};
use super::keys::{SignaturePrivateKey, SignaturePublicKey};
use super::leaf_node::MAX_SIGNATURE_BYTES;
use super::primitives::{sign_with_label, verify_with_label};
use super::tree_math::LeafIndex;

/// Label of the signature over `FramedContentTBS`.
pub const FRAMED_CONTENT_SIGNATURE_LABEL: &[u8] = b"FramedContentTBS";

/// Cap on the application-chosen authenticated data of one message.
pub const MAX_AUTHENTICATED_DATA_BYTES: usize = 64 * 1024;

/// `WireFormat` code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// `mls_public_message`.
    PublicMessage,
    /// `mls_private_message`.
    PrivateMessage,
}

impl WireFormat {
    /// The `uint16` code point.
    #[must_use]
    pub fn code(self) -> u16 {
        match self {
            Self::PublicMessage => 1,
            Self::PrivateMessage => 2,
        }
    }

    /// Parses a code point; only the two framed formats are accepted here.
    pub fn from_code(code: u16) -> Result<Self, DecodeError> {
        match code {
            1 => Ok(Self::PublicMessage),
            2 => Ok(Self::PrivateMessage),
            _ => Err(DecodeError::UnexpectedValue {
                field: "wire_format",
            }),
        }
    }
}

/// `ContentType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// Application data.
    Application,
    /// A proposal.
    Proposal,
    /// A commit.
    Commit,
}

impl ContentType {
    /// The `uint8` code point.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Application => 1,
            Self::Proposal => 2,
            Self::Commit => 3,
        }
    }

    /// Parses a code point.
    pub fn from_code(code: u8) -> Result<Self, DecodeError> {
        match code {
            1 => Ok(Self::Application),
            2 => Ok(Self::Proposal),
            3 => Ok(Self::Commit),
            _ => Err(DecodeError::UnexpectedValue {
                field: "content_type",
            }),
        }
    }
}

/// `Sender`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// A member, by leaf.
    Member(LeafIndex),
    /// An external sender, by index in the external-senders extension.
    External(u32),
    /// A non-member proposing to be added.
    NewMemberProposal,
    /// A non-member joining by external commit.
    NewMemberCommit,
}

impl Encode for Sender {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        match *self {
            Self::Member(leaf) => {
                writer.write_u8(1);
                writer.write_u32(leaf.0);
            }
            Self::External(index) => {
                writer.write_u8(2);
                writer.write_u32(index);
            }
            Self::NewMemberProposal => writer.write_u8(3),
            Self::NewMemberCommit => writer.write_u8(4),
        }
        Ok(())
    }
}

impl Decode for Sender {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.read_u8()? {
            1 => Ok(Self::Member(LeafIndex(reader.read_u32()?))),
            2 => Ok(Self::External(reader.read_u32()?)),
            3 => Ok(Self::NewMemberProposal),
            4 => Ok(Self::NewMemberCommit),
            _ => Err(DecodeError::UnexpectedValue {
                field: "sender_type",
            }),
        }
    }
}

/// Steps a reader over one encoded Proposal or Commit body (never called for
/// application data). Supplied by the layer that knows those structures.
pub trait BodySkipper {
    /// Advances `reader` past one body of `content_type`.
    fn skip_body(
        &self,
        content_type: ContentType,
        reader: &mut Reader<'_>,
    ) -> Result<(), DecodeError>;
}

impl<F> BodySkipper for F
where
    F: Fn(ContentType, &mut Reader<'_>) -> Result<(), DecodeError>,
{
    fn skip_body(
        &self,
        content_type: ContentType,
        reader: &mut Reader<'_>,
    ) -> Result<(), DecodeError> {
        self(content_type, reader)
    }
}

/// `FramedContent`, with the body in encoded form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramedContent {
    /// Group the message belongs to.
    pub group_id: Vec<u8>,
    /// Epoch the message was sent in.
    pub epoch: u64,
    /// Who sent it.
    pub sender: Sender,
    /// Application-chosen data that is authenticated but not encrypted.
    pub authenticated_data: Vec<u8>,
    /// What the body is.
    pub content_type: ContentType,
    /// The encoded body: `opaque application_data<V>`, a `Proposal` or a `Commit`.
    pub body: Vec<u8>,
}

impl FramedContent {
    /// Application content carrying `application_data`.
    pub fn application(
        group_id: Vec<u8>,
        epoch: u64,
        sender: Sender,
        authenticated_data: Vec<u8>,
        application_data: &[u8],
    ) -> Result<Self, EncodeError> {
        let mut body = Writer::new();
        body.write_opaque(application_data)?;
        Ok(Self {
            group_id,
            epoch,
            sender,
            authenticated_data,
            content_type: ContentType::Application,
            body: body.into_bytes(),
        })
    }

    /// The application data, if this is application content.
    pub fn application_data(&self) -> Result<Option<&[u8]>, DecodeError> {
        if self.content_type != ContentType::Application {
            return Ok(None);
        }
        let mut reader = Reader::new(&self.body);
        let data = reader.read_opaque()?;
        reader.finish()?;
        Ok(Some(data))
    }

    /// Decodes `FramedContent`, delegating Proposal/Commit bodies to `skipper`.
    pub fn decode_with(
        reader: &mut Reader<'_>,
        skipper: &impl BodySkipper,
    ) -> Result<Self, DecodeError> {
        let group_id = reader.read_opaque_capped(MAX_GROUP_ID_BYTES)?.to_vec();
        let epoch = reader.read_u64()?;
        let sender = Sender::decode(reader)?;
        let authenticated_data = reader
            .read_opaque_capped(MAX_AUTHENTICATED_DATA_BYTES)?
            .to_vec();
        let content_type = ContentType::from_code(reader.read_u8()?)?;
        let body = read_body(reader, content_type, skipper)?;
        Ok(Self {
            group_id,
            epoch,
            sender,
            authenticated_data,
            content_type,
            body,
        })
    }
}

/// Reads one body and returns its exact encoded bytes.
pub(crate) fn read_body(
    reader: &mut Reader<'_>,
    content_type: ContentType,
    skipper: &impl BodySkipper,
) -> Result<Vec<u8>, DecodeError> {
    let mut start = reader.clone();
    match content_type {
        ContentType::Application => {
            reader.read_opaque()?;
        }
        ContentType::Proposal | ContentType::Commit => skipper.skip_body(content_type, reader)?,
    }
    let consumed = start.remaining_len() - reader.remaining_len();
    Ok(start.read_fixed(consumed)?.to_vec())
}

impl Encode for FramedContent {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(&self.group_id)?;
        writer.write_u64(self.epoch);
        self.sender.encode(writer)?;
        writer.write_opaque(&self.authenticated_data)?;
        writer.write_u8(self.content_type.code());
        writer.write_fixed(&self.body);
        Ok(())
    }
}

/// `FramedContentAuthData`: the signature and, for commits, the confirmation tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramedContentAuthData {
    /// Signature over `FramedContentTBS`.
    pub signature: Vec<u8>,
    /// Present exactly when the content is a commit.
    pub confirmation_tag: Option<Vec<u8>>,
}

impl FramedContentAuthData {
    /// Appends the encoding.
    pub fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(&self.signature)?;
        if let Some(tag) = &self.confirmation_tag {
            writer.write_opaque(tag)?;
        }
        Ok(())
    }

    /// Reads the encoding; whether a tag follows depends on the content type.
    pub fn decode(reader: &mut Reader<'_>, content_type: ContentType) -> Result<Self, DecodeError> {
        // Capped for any suite's signatures (ECDSA ones are longer than
        // Ed25519's); verification checks the exact length.
        let signature = reader.read_opaque_capped(MAX_SIGNATURE_BYTES)?.to_vec();
        let confirmation_tag = match content_type {
            ContentType::Commit => Some(reader.read_opaque_capped(MAC_LENGTH)?.to_vec()),
            ContentType::Application | ContentType::Proposal => None,
        };
        Ok(Self {
            signature,
            confirmation_tag,
        })
    }
}

/// `AuthenticatedContent`: content plus authentication, before protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedContent {
    /// How the content is (to be) sent; part of what is signed.
    pub wire_format: WireFormat,
    /// The content.
    pub content: FramedContent,
    /// Its signature (and confirmation tag for commits).
    pub auth: FramedContentAuthData,
}

impl Encode for AuthenticatedContent {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_u16(self.wire_format.code());
        self.content.encode(writer)?;
        self.auth.encode(writer)
    }
}

/// `FramedContentTBS`: what a sender signs.
pub(crate) fn framed_content_tbs(
    wire_format: WireFormat,
    content: &FramedContent,
    group_context: &GroupContext,
) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::new();
    writer.write_u16(PROTOCOL_VERSION_MLS10);
    writer.write_u16(wire_format.code());
    content.encode(&mut writer)?;
    // Only senders inside the group bind the group context.
    if matches!(content.sender, Sender::Member(_) | Sender::NewMemberCommit) {
        group_context.encode(&mut writer)?;
    }
    Ok(writer.into_bytes())
}

impl AuthenticatedContent {
    /// Signs `content` for sending as `wire_format`. Commits must carry their
    /// confirmation tag, other content must not.
    pub fn sign(
        wire_format: WireFormat,
        content: FramedContent,
        group_context: &GroupContext,
        signing_key: &SignaturePrivateKey,
        confirmation_tag: Option<Vec<u8>>,
    ) -> Result<Self, CryptoError> {
        if (content.content_type == ContentType::Commit) != confirmation_tag.is_some() {
            return Err(DecodeError::UnexpectedValue {
                field: "confirmation_tag",
            }
            .into());
        }
        let tbs = framed_content_tbs(wire_format, &content, group_context)?;
        let signature = sign_with_label(signing_key, FRAMED_CONTENT_SIGNATURE_LABEL, &tbs)?;
        Ok(Self {
            wire_format,
            content,
            auth: FramedContentAuthData {
                signature: signature.to_vec(),
                confirmation_tag,
            },
        })
    }

    /// Verifies the sender's signature.
    pub fn verify(
        &self,
        group_context: &GroupContext,
        sender_key: &SignaturePublicKey,
    ) -> Result<(), CryptoError> {
        let tbs = framed_content_tbs(self.wire_format, &self.content, group_context)?;
        verify_with_label(
            sender_key,
            FRAMED_CONTENT_SIGNATURE_LABEL,
            &tbs,
            &self.auth.signature,
        )
    }
}
