//! `KeyPackage` (RFC 9420 §10): a prospective member's signed, pre-published
//! init key and leaf, by which others can add it to a group.

use super::cipher_suite::PROTOCOL_VERSION_MLS10;
use super::codec::{Decode, Encode, Reader, Writer, decode_mls_message, encode_mls_message};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::group_context::Extension;
use super::keys::{SignaturePrivateKey, SignaturePublicKey};
use super::leaf_node::{LeafNode, LeafNodeSource, MAX_PUBLIC_KEY_BYTES, MAX_SIGNATURE_BYTES};
use super::primitives::{HashValue, ref_hash, sign_with_label, verify_with_label};
use super::tree_math::LeafIndex;

/// Label of the KeyPackage signature.
pub const KEY_PACKAGE_SIGNATURE_LABEL: &[u8] = b"KeyPackageTBS";

/// Label of the KeyPackage reference hash.
pub const KEY_PACKAGE_REFERENCE_LABEL: &[u8] = b"MLS 1.0 KeyPackage Reference";

/// `KeyPackage` (version `mls10` implied, checked on decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPackage {
    /// Cipher suite the package is for. Any suite decodes, so that foreign
    /// packages round-trip; groups accept only their own suite.
    pub cipher_suite: u16,
    /// Encoded HPKE key that Welcome secrets are encrypted to.
    pub init_key: Vec<u8>,
    /// The leaf the member will occupy.
    pub leaf_node: LeafNode,
    /// KeyPackage extensions.
    pub extensions: Vec<Extension>,
    /// Signature over `KeyPackageTBS` with the leaf's signature key.
    pub signature: Vec<u8>,
}

impl KeyPackage {
    fn encode_tbs(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_u16(PROTOCOL_VERSION_MLS10);
        writer.write_u16(self.cipher_suite);
        writer.write_opaque(&self.init_key)?;
        self.leaf_node.encode(writer)?;
        writer.write_vector(|items| {
            self.extensions
                .iter()
                .try_for_each(|extension| extension.encode(items))
        })
    }

    /// Signs the package in place.
    pub fn sign(&mut self, signing_key: &SignaturePrivateKey) -> Result<(), CryptoError> {
        let mut tbs = Writer::new();
        self.encode_tbs(&mut tbs)?;
        self.signature =
            sign_with_label(signing_key, KEY_PACKAGE_SIGNATURE_LABEL, tbs.as_bytes())?.to_vec();
        Ok(())
    }

    /// Verifies the package signature and its leaf's signature. The leaf
    /// must come from a KeyPackage and its init key must differ from its
    /// encryption key (RFC 9420 §10.1).
    pub fn verify(&self) -> Result<(), CryptoError> {
        if !matches!(self.leaf_node.source, LeafNodeSource::KeyPackage { .. }) {
            return Err(DecodeError::UnexpectedValue {
                field: "leaf_node_source",
            }
            .into());
        }
        if self.init_key == self.leaf_node.encryption_key {
            return Err(DecodeError::UnexpectedValue { field: "init_key" }.into());
        }
        // Key-package leaves are not bound to a group or position.
        self.leaf_node.verify(&[], LeafIndex(0))?;
        let key = SignaturePublicKey::from_bytes(&self.leaf_node.signature_key)?;
        let mut tbs = Writer::new();
        self.encode_tbs(&mut tbs)?;
        verify_with_label(
            &key,
            KEY_PACKAGE_SIGNATURE_LABEL,
            tbs.as_bytes(),
            &self.signature,
        )
    }

    /// `KeyPackageRef = RefHash("MLS 1.0 KeyPackage Reference", KeyPackage)`.
    pub fn reference(&self) -> Result<HashValue, CryptoError> {
        ref_hash(KEY_PACKAGE_REFERENCE_LABEL, &self.to_tls_bytes()?)
    }

    /// Encodes as an `MLSMessage` (wire format `mls_key_package`).
    pub fn to_mls_message_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        encode_mls_message(WIRE_FORMAT_KEY_PACKAGE, |writer| self.encode(writer))
    }

    /// Decodes an `MLSMessage` that must hold a KeyPackage and nothing else.
    pub fn from_mls_message_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_mls_message(bytes, WIRE_FORMAT_KEY_PACKAGE, |reader| {
            Self::decode(reader)
        })
    }
}

/// `WireFormat` code point of `mls_key_package`.
const WIRE_FORMAT_KEY_PACKAGE: u16 = 5;

impl Encode for KeyPackage {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        self.encode_tbs(writer)?;
        writer.write_opaque(&self.signature)
    }
}

impl Decode for KeyPackage {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if reader.read_u16()? != PROTOCOL_VERSION_MLS10 {
            return Err(DecodeError::UnexpectedValue { field: "version" });
        }
        Ok(Self {
            cipher_suite: reader.read_u16()?,
            init_key: reader.read_opaque_capped(MAX_PUBLIC_KEY_BYTES)?.to_vec(),
            leaf_node: LeafNode::decode(reader)?,
            extensions: reader.read_vector(Extension::decode)?,
            signature: reader.read_opaque_capped(MAX_SIGNATURE_BYTES)?.to_vec(),
        })
    }
}
