//! Welcome messages (RFC 9420 §12.4.3): how a committer hands new members
//! the group's secrets (HPKE to each KeyPackage's init key) and its signed
//! GroupInfo (AEAD under the welcome key).

use super::cipher_suite::{CipherSuite, HASH_LENGTH, MAC_LENGTH};
use super::codec::{Decode, Encode, Reader, Writer, decode_mls_message, encode_mls_message};
use super::error::{CryptoError, DecodeError, EncodeError};
use super::group_context::{Extension, GroupContext};
use super::key_package::KeyPackage;
use super::key_schedule::welcome_key;
use super::keys::{HpkePrivateKey, HpkePublicKey, SignaturePrivateKey, SignaturePublicKey};
use super::leaf_node::MAX_SIGNATURE_BYTES;
use super::primitives::{
    HpkeCiphertext, decrypt_with_label, encrypt_with_label, sign_with_label, verify_with_label,
};
use super::psk::PreSharedKeyId;
use super::secret::Secret;
use super::tree_math::LeafIndex;

/// Label of the HPKE encryption of GroupSecrets.
pub const WELCOME_LABEL: &[u8] = b"Welcome";

/// Label of the GroupInfo signature.
pub const GROUP_INFO_SIGNATURE_LABEL: &[u8] = b"GroupInfoTBS";

const WIRE_FORMAT_WELCOME: u16 = 3;
const WIRE_FORMAT_GROUP_INFO: u16 = 4;

/// `GroupSecrets`: what each new member decrypts from the Welcome.
#[derive(Debug)]
pub struct GroupSecrets {
    /// Entry point of the new epoch's key schedule.
    pub joiner_secret: Secret,
    /// Path secret of the lowest node above the new member on the commit's
    /// path, when the commit had one.
    pub path_secret: Option<Secret>,
    /// PSKs the new member must also hold.
    pub psks: Vec<PreSharedKeyId>,
}

impl Encode for GroupSecrets {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(self.joiner_secret.as_bytes())?;
        writer.write_optional(self.path_secret.as_ref(), |writer, secret| {
            writer.write_opaque(secret.as_bytes())
        })?;
        writer.write_vector(|items| self.psks.iter().try_for_each(|psk| psk.encode(items)))
    }
}

impl Decode for GroupSecrets {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            joiner_secret: Secret::from_slice(reader.read_opaque_capped(HASH_LENGTH)?),
            path_secret: reader.read_optional(|reader| {
                Ok(Secret::from_slice(reader.read_opaque_capped(HASH_LENGTH)?))
            })?,
            psks: reader.read_vector(PreSharedKeyId::decode)?,
        })
    }
}

/// `GroupInfo`: the signed state a new member joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    /// The new epoch's group context.
    pub group_context: GroupContext,
    /// GroupInfo extensions (e.g. the ratchet tree).
    pub extensions: Vec<Extension>,
    /// Confirmation tag of the epoch.
    pub confirmation_tag: Vec<u8>,
    /// Leaf of the member that signed.
    pub signer: LeafIndex,
    /// Signature over `GroupInfoTBS`.
    pub signature: Vec<u8>,
}

impl GroupInfo {
    fn encode_tbs(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        self.group_context.encode(writer)?;
        writer.write_vector(|items| {
            self.extensions
                .iter()
                .try_for_each(|extension| extension.encode(items))
        })?;
        writer.write_opaque(&self.confirmation_tag)?;
        writer.write_u32(self.signer.0);
        Ok(())
    }

    /// Signs in place with the signer's key.
    pub fn sign(&mut self, signing_key: &SignaturePrivateKey) -> Result<(), CryptoError> {
        let mut tbs = Writer::new();
        self.encode_tbs(&mut tbs)?;
        self.signature =
            sign_with_label(signing_key, GROUP_INFO_SIGNATURE_LABEL, tbs.as_bytes())?.to_vec();
        Ok(())
    }

    /// Verifies the signature with the signer's key (from the signer's leaf).
    pub fn verify(&self, signer_key: &SignaturePublicKey) -> Result<(), CryptoError> {
        let mut tbs = Writer::new();
        self.encode_tbs(&mut tbs)?;
        verify_with_label(
            signer_key,
            GROUP_INFO_SIGNATURE_LABEL,
            tbs.as_bytes(),
            &self.signature,
        )
    }
}

impl GroupInfo {
    /// Encodes as an `MLSMessage` (a GroupInfo published on its own, for
    /// external joins).
    pub fn to_mls_message_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        encode_mls_message(WIRE_FORMAT_GROUP_INFO, |writer| self.encode(writer))
    }

    /// Decodes an `MLSMessage` that must hold a GroupInfo and nothing else.
    pub fn from_mls_message_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_mls_message(bytes, WIRE_FORMAT_GROUP_INFO, Self::decode)
    }
}

impl Encode for GroupInfo {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        self.encode_tbs(writer)?;
        writer.write_opaque(&self.signature)
    }
}

impl Decode for GroupInfo {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            group_context: GroupContext::decode(reader)?,
            extensions: reader.read_vector(Extension::decode)?,
            confirmation_tag: reader.read_opaque_capped(MAC_LENGTH)?.to_vec(),
            signer: LeafIndex(reader.read_u32()?),
            signature: reader.read_opaque_capped(MAX_SIGNATURE_BYTES)?.to_vec(),
        })
    }
}

/// `EncryptedGroupSecrets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedGroupSecrets {
    /// `KeyPackageRef` of the recipient.
    pub new_member: Vec<u8>,
    /// Its GroupSecrets, HPKE-encrypted to its init key.
    pub encrypted_group_secrets: HpkeCiphertext,
}

impl Encode for EncryptedGroupSecrets {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_opaque(&self.new_member)?;
        self.encrypted_group_secrets.encode(writer)
    }
}

impl Decode for EncryptedGroupSecrets {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            new_member: reader.read_opaque_capped(HASH_LENGTH)?.to_vec(),
            encrypted_group_secrets: HpkeCiphertext::decode(reader)?,
        })
    }
}

/// `Welcome` (suite 3 implied, checked on decode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// The group's cipher suite (any suite decodes; see [`GroupContext`]).
    pub cipher_suite: u16,
    /// One entry per new member.
    pub secrets: Vec<EncryptedGroupSecrets>,
    /// The AEAD-encrypted GroupInfo.
    pub encrypted_group_info: Vec<u8>,
}

impl Encode for Welcome {
    fn encode(&self, writer: &mut Writer) -> Result<(), EncodeError> {
        writer.write_u16(self.cipher_suite);
        writer.write_vector(|items| {
            self.secrets
                .iter()
                .try_for_each(|entry| entry.encode(items))
        })?;
        writer.write_opaque(&self.encrypted_group_info)
    }
}

impl Decode for Welcome {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            cipher_suite: reader.read_u16()?,
            secrets: reader.read_vector(EncryptedGroupSecrets::decode)?,
            encrypted_group_info: reader.read_opaque()?.to_vec(),
        })
    }
}

impl Welcome {
    /// Encrypts `group_info` under the welcome secret and each recipient's
    /// GroupSecrets to its KeyPackage's init key.
    pub fn seal(
        group_info: &GroupInfo,
        welcome_secret: &Secret,
        recipients: &[(&KeyPackage, &GroupSecrets)],
        rng: &mut impl rand_core::CryptoRng,
    ) -> Result<Self, CryptoError> {
        let suite = CipherSuite::try_from(group_info.group_context.cipher_suite)?;
        let key = welcome_key(suite, welcome_secret)?;
        let encrypted_group_info = suite.seal(
            key.key.as_bytes(),
            key.nonce.as_bytes(),
            &[],
            &group_info.to_tls_bytes()?,
        )?;
        let mut secrets = Vec::with_capacity(recipients.len());
        for (key_package, group_secrets) in recipients {
            let plaintext = zeroize::Zeroizing::new(group_secrets.to_tls_bytes()?);
            secrets.push(EncryptedGroupSecrets {
                new_member: key_package.reference()?.to_vec(),
                encrypted_group_secrets: encrypt_with_label(
                    suite,
                    &HpkePublicKey::from_bytes(&key_package.init_key)?,
                    WELCOME_LABEL,
                    &encrypted_group_info,
                    &plaintext,
                    rng,
                )?,
            });
        }
        Ok(Self {
            cipher_suite: suite.id(),
            secrets,
            encrypted_group_info,
        })
    }

    /// The suite the Welcome names, if Aura implements it.
    pub fn suite(&self) -> Result<CipherSuite, CryptoError> {
        CipherSuite::try_from(self.cipher_suite)
    }

    /// Finds and decrypts the GroupSecrets addressed to `key_package`, with
    /// the HPKE of the Welcome's suite.
    pub fn decrypt_group_secrets(
        &self,
        key_package: &KeyPackage,
        init_private_key: &HpkePrivateKey,
    ) -> Result<GroupSecrets, CryptoError> {
        let reference = key_package.reference()?;
        let entry = self
            .secrets
            .iter()
            .find(|entry| entry.new_member == reference)
            .ok_or(DecodeError::UnexpectedValue {
                field: "new_member (no secrets for this KeyPackage)",
            })?;
        let plaintext = decrypt_with_label(
            self.suite()?,
            init_private_key,
            WELCOME_LABEL,
            &self.encrypted_group_info,
            &entry.encrypted_group_secrets.kem_output,
            &entry.encrypted_group_secrets.ciphertext,
        )?;
        Ok(GroupSecrets::from_tls_bytes(plaintext.as_bytes())?)
    }

    /// Decrypts the GroupInfo with the welcome secret, with the AEAD of the
    /// Welcome's suite. The caller must still verify its signature and
    /// confirmation tag, and that its GroupContext names the same suite.
    pub fn decrypt_group_info(&self, welcome_secret: &Secret) -> Result<GroupInfo, CryptoError> {
        let suite = self.suite()?;
        let key = welcome_key(suite, welcome_secret)?;
        let plaintext = suite.open(
            key.key.as_bytes(),
            key.nonce.as_bytes(),
            &[],
            &self.encrypted_group_info,
        )?;
        Ok(GroupInfo::from_tls_bytes(&plaintext)?)
    }

    /// Encodes as an `MLSMessage`.
    pub fn to_mls_message_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        encode_mls_message(WIRE_FORMAT_WELCOME, |writer| self.encode(writer))
    }

    /// Decodes an `MLSMessage` that must hold a Welcome and nothing else.
    pub fn from_mls_message_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_mls_message(bytes, WIRE_FORMAT_WELCOME, Self::decode)
    }
}
