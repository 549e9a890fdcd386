//! A member's signed request to leave a group.
//!
//! A member cannot commit its own removal, so it asks the group (in a message only members
//! read) and another member commits it. The request is signed with the leaving device's key
//! and carried in that commit's authenticated data: every member then checks, from the
//! commit alone, that the device removed asked for it, and takes the removal whatever the
//! committer may do under the group's policy (see [`super::policy`]). A member can always
//! leave, even a group where nobody may remove others.
//!
//! A request names the group, the device and the epoch number it was made at, and stays
//! good for [`LEAVE_REQUEST_EPOCHS`] epochs either side of it: a device added again soon
//! after it left could be removed again with its old request by a member that may not
//! remove, which only repeats what the device asked.
//!
//! Encoding: format (1), context id (32), device key (32), epoch (8, big-endian), and the
//! Ed25519 signature (64) of the rest, with the label [`LEAVE_LABEL`] (MLS's
//! `SignWithLabel`).

use crate::crypto::CryptoError;
use crate::crypto::cipher_suite::SIGNATURE_LENGTH;
use crate::crypto::keys::{SignaturePrivateKey, SignaturePublicKey};
use crate::crypto::primitives::{sign_with_label, verify_with_label};
use crate::state::codec::{DecodeError, Reader, Writer};
use crate::state::fact::{ContextId, DeviceKey};

/// The label the request is signed under.
pub const LEAVE_LABEL: &[u8] = b"aura group leave";
/// The encoding's format.
pub const LEAVE_FORMAT: u8 = 1;
/// Length of an encoded request.
pub const LEAVE_REQUEST_BYTES: usize = 1 + 32 + 32 + 8 + SIGNATURE_LENGTH;
/// How many epochs from the one it was made at a request still removes its device.
pub const LEAVE_REQUEST_EPOCHS: u64 = 64;

/// A device asks to be removed from a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveRequest {
    pub context: ContextId,
    pub device: DeviceKey,
    pub epoch: u64,
    signature: [u8; SIGNATURE_LENGTH],
}

fn signed_content(context: &ContextId, device: &DeviceKey, epoch: u64) -> Vec<u8> {
    let mut writer = Writer::default();
    writer
        .u8(LEAVE_FORMAT)
        .raw(&context.0)
        .raw(&device.0)
        .u64(epoch);
    writer.into_bytes()
}

impl LeaveRequest {
    /// The request of the device whose key is `key`, to leave `context` at `epoch`.
    pub fn sign(
        context: ContextId,
        epoch: u64,
        key: &SignaturePrivateKey,
    ) -> Result<Self, CryptoError> {
        let device = DeviceKey(key.public_key().to_bytes());
        let signature =
            sign_with_label(key, LEAVE_LABEL, &signed_content(&context, &device, epoch))?;
        Ok(Self {
            context,
            device,
            epoch,
            signature,
        })
    }

    /// Whether the request is its device's own, for `context`, and still good at epoch
    /// `epoch`.
    pub fn covers(&self, context: &ContextId, epoch: u64) -> bool {
        if self.context != *context || self.epoch.abs_diff(epoch) > LEAVE_REQUEST_EPOCHS {
            return false;
        }
        let Ok(key) = SignaturePublicKey::from_bytes(&self.device.0) else {
            return false;
        };
        let content = signed_content(&self.context, &self.device, self.epoch);
        verify_with_label(&key, LEAVE_LABEL, &content, &self.signature).is_ok()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::default();
        writer
            .raw(&signed_content(&self.context, &self.device, self.epoch))
            .raw(&self.signature);
        writer.into_bytes()
    }

    /// Decodes a request; its signature is checked by [`Self::covers`].
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let format = reader.u8("leave request format")?;
        if format != LEAVE_FORMAT {
            return Err(DecodeError::Invalid {
                field: "leave request format",
                detail: format!("{format}; this build reads {LEAVE_FORMAT}"),
            });
        }
        let request = Self {
            context: ContextId(reader.array("leave request context")?),
            device: DeviceKey(reader.array("leaving device")?),
            epoch: reader.u64("leave request epoch")?,
            signature: reader.array("leave request signature")?,
        };
        reader.finish()?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn key(seed: u8) -> SignaturePrivateKey {
        SignaturePrivateKey::from_seed(&[seed; 32]).unwrap()
    }

    #[test]
    fn a_request_covers_its_group_near_its_epoch_and_nothing_forged() {
        let context = ContextId([3; 32]);
        let request = LeaveRequest::sign(context, 100, &key(1)).unwrap();
        let bytes = request.encode();
        assert_eq!(bytes.len(), LEAVE_REQUEST_BYTES);
        let decoded = LeaveRequest::decode(&bytes).unwrap();
        assert_eq!(decoded, request);
        assert!(decoded.covers(&context, 100));
        assert!(decoded.covers(&context, 100 + LEAVE_REQUEST_EPOCHS));
        assert!(decoded.covers(&context, 100 - LEAVE_REQUEST_EPOCHS));
        assert!(!decoded.covers(&context, 101 + LEAVE_REQUEST_EPOCHS));
        assert!(!decoded.covers(&ContextId([4; 32]), 100));
        // Another device's name on it, or any bit changed, and it covers nothing.
        let mut forged = decoded.clone();
        forged.device = DeviceKey(key(2).public_key().to_bytes());
        assert!(!forged.covers(&context, 100));
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            if let Ok(request) = LeaveRequest::decode(&flipped) {
                assert!(!request.covers(&context, 100), "byte {at}");
            }
        }
        assert!(LeaveRequest::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(LeaveRequest::decode(&longer).is_err());
    }
}
