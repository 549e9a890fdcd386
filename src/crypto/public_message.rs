//! PublicMessage (RFC 9420 §6.2): signed but unencrypted content; messages
//! from members also carry a membership tag, a MAC under the epoch's
//! membership key proving the sender is in the group *this* epoch.

use super::cipher_suite::MAC_LENGTH;
use super::codec::{Reader, Writer, decode_mls_message, encode_mls_message};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::framing::{
    AuthenticatedContent, BodySkipper, FramedContent, FramedContentAuthData, Sender, WireFormat,
    framed_content_tbs,
};
use super::group_context::GroupContext;
use super::primitives::{mac, verify_mac};
use super::secret::Secret;

/// `PublicMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicMessage {
    /// The content.
    pub content: FramedContent,
    /// Signature and, for commits, confirmation tag.
    pub auth: FramedContentAuthData,
    /// Present exactly when the sender is a member.
    pub membership_tag: Option<Vec<u8>>,
}

/// `AuthenticatedContentTBM = { FramedContentTBS content_tbs; FramedContentAuthData auth; }`.
fn authenticated_content_tbm(
    content: &AuthenticatedContent,
    group_context: &GroupContext,
) -> Result<Vec<u8>, EncodeError> {
    let mut writer = Writer::new();
    writer.write_fixed(&framed_content_tbs(
        content.wire_format,
        &content.content,
        group_context,
    )?);
    content.auth.encode(&mut writer)?;
    Ok(writer.into_bytes())
}

fn is_member(sender: Sender) -> bool {
    matches!(sender, Sender::Member(_))
}

impl PublicMessage {
    /// Frames signed content as a PublicMessage, adding the membership tag
    /// for member senders.
    pub fn protect(
        content: &AuthenticatedContent,
        group_context: &GroupContext,
        membership_key: &Secret,
    ) -> Result<Self, CryptoError> {
        if content.wire_format != WireFormat::PublicMessage {
            return Err(DecodeError::UnexpectedValue {
                field: "wire_format",
            }
            .into());
        }
        let membership_tag = if is_member(content.content.sender) {
            let tbm = authenticated_content_tbm(content, group_context)?;
            Some(mac(membership_key.as_bytes(), &tbm)?.to_vec())
        } else {
            None
        };
        Ok(Self {
            content: content.content.clone(),
            auth: content.auth.clone(),
            membership_tag,
        })
    }

    /// Checks the membership tag (for member senders) and returns the
    /// content. The caller must still verify the signature.
    pub fn unprotect(
        &self,
        group_context: &GroupContext,
        membership_key: &Secret,
    ) -> Result<AuthenticatedContent, CryptoError> {
        let content = AuthenticatedContent {
            wire_format: WireFormat::PublicMessage,
            content: self.content.clone(),
            auth: self.auth.clone(),
        };
        match (&self.membership_tag, is_member(self.content.sender)) {
            (Some(tag), true) => {
                let tbm = authenticated_content_tbm(&content, group_context)?;
                verify_mac(membership_key.as_bytes(), &tbm, tag)?;
            }
            (None, false) => {}
            _ => return Err(CryptoError::MacInvalid),
        }
        Ok(content)
    }

    /// Appends the encoding.
    pub fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        use super::codec::Encode as _;
        self.content.encode(writer)?;
        self.auth.encode(writer)?;
        if let Some(tag) = &self.membership_tag {
            writer.write_opaque(tag)?;
        }
        Ok(())
    }

    /// Reads the encoding, delegating Proposal/Commit bodies to `skipper`.
    pub fn decode_with(
        reader: &mut Reader<'_>,
        skipper: &impl BodySkipper,
    ) -> Result<Self, DecodeError> {
        let content = FramedContent::decode_with(reader, skipper)?;
        let auth = FramedContentAuthData::decode(reader, content.content_type)?;
        let membership_tag = if is_member(content.sender) {
            Some(reader.read_opaque_capped(MAC_LENGTH)?.to_vec())
        } else {
            None
        };
        Ok(Self {
            content,
            auth,
            membership_tag,
        })
    }

    /// Encodes as an `MLSMessage`.
    pub fn to_mls_message_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        encode_mls_message(WireFormat::PublicMessage.code(), |writer| {
            self.encode(writer)
        })
    }

    /// Decodes an `MLSMessage` that must hold a PublicMessage and nothing else.
    pub fn from_mls_message_bytes(
        bytes: &[u8],
        skipper: &impl BodySkipper,
    ) -> Result<Self, DecodeError> {
        decode_mls_message(bytes, WireFormat::PublicMessage.code(), |reader| {
            Self::decode_with(reader, skipper)
        })
    }
}
