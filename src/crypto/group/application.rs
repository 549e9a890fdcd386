//! Application messages of the current epoch (RFC 9420 §6.3): signed by the
//! sender, encrypted under its next secret-tree key, sender data hidden,
//! padded to coarse size buckets. Each key opens one message, once.

use super::{Group, GroupError};
use crate::crypto::commit::HandshakeBodies;
use crate::crypto::framing::{
    AuthenticatedContent, ContentType, FramedContent, Sender, WireFormat,
};
use crate::crypto::keys::SignaturePublicKey;
use crate::crypto::private_message::{self, PrivateMessage, REUSE_GUARD_LENGTH};
use crate::crypto::tree_math::LeafIndex;

/// A decrypted application message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The sender's leaf.
    pub sender: LeafIndex,
    /// Data the sender authenticated but did not encrypt.
    pub authenticated_data: Vec<u8>,
    /// The message.
    pub plaintext: Vec<u8>,
}

impl Group {
    /// Signs and encrypts `plaintext` for the members of the current epoch;
    /// returns an `MLSMessage` holding a PrivateMessage.
    pub fn protect(
        &mut self,
        plaintext: &[u8],
        authenticated_data: &[u8],
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Vec<u8>, GroupError> {
        let content = FramedContent::application(
            self.context.group_id.clone(),
            self.context.epoch,
            Sender::Member(self.own_leaf),
            authenticated_data.to_vec(),
            plaintext,
        )?;
        let signed = AuthenticatedContent::sign(
            WireFormat::PrivateMessage,
            content,
            &self.context,
            &self.signing_key,
            None,
        )?;
        let mut reuse_guard = [0u8; REUSE_GUARD_LENGTH];
        rng.fill_bytes(&mut reuse_guard);
        let message = private_message::protect(
            &signed,
            &mut self.secret_tree,
            &self.secrets.sender_data_secret,
            reuse_guard,
        )?;
        Ok(message.to_mls_message_bytes()?)
    }

    /// Decrypts and verifies an application message of the current epoch.
    /// The key it used is deleted: a replay fails. A message that fails any
    /// check, its signature included, leaves the sender's keys as they were,
    /// so that no member can use up another's keys with forgeries.
    pub fn unprotect(&mut self, message: &[u8]) -> Result<ReceivedMessage, GroupError> {
        let message = PrivateMessage::from_mls_message_bytes(message)?;
        if message.group_id != self.context.group_id {
            return Err(GroupError::WrongGroup);
        }
        self.check_epoch(message.epoch)?;
        if message.content_type != ContentType::Application {
            return Err(GroupError::UnexpectedContentType);
        }
        let (tree, context) = (&self.tree, &self.context);
        let signed = private_message::unprotect_verified(
            &message,
            &mut self.secret_tree,
            &self.secrets.sender_data_secret,
            &HandshakeBodies,
            |signed| {
                let Sender::Member(sender) = signed.content.sender else {
                    return Err(GroupError::UnexpectedContentType);
                };
                // A blank leaf has no signature key: its messages fail here.
                let sender_leaf = tree
                    .leaf(sender)
                    .ok_or(GroupError::UnknownSender(sender.0))?;
                signed.verify(
                    context,
                    &SignaturePublicKey::from_bytes(&sender_leaf.signature_key)?,
                )?;
                match signed.content.application_data()? {
                    Some(_) => Ok(()),
                    None => Err(GroupError::UnexpectedContentType),
                }
            },
        )?;
        let Sender::Member(sender) = signed.content.sender else {
            return Err(GroupError::UnexpectedContentType);
        };
        let plaintext = signed
            .content
            .application_data()?
            .ok_or(GroupError::UnexpectedContentType)?
            .to_vec();
        Ok(ReceivedMessage {
            sender,
            authenticated_data: signed.content.authenticated_data,
            plaintext,
        })
    }
}
