//! A member's whole group state as bytes, secrets included, for the store
//! (which seals it). Importing re-checks what can be checked cheaply so that
//! a damaged record gives an error rather than a group that misbehaves later.

use std::collections::BTreeMap;

use super::{Group, GroupError};
use crate::crypto::cipher_suite::{
    CipherSuite, HASH_LENGTH, HPKE_KEY_LENGTH, SIGNATURE_KEY_LENGTH,
};
use crate::crypto::codec::{Decode, Encode, Reader, Writer};
use crate::crypto::group_context::GroupContext;
use crate::crypto::key_schedule::EpochSecrets;
use crate::crypto::keys::{HpkePrivateKey, SignaturePrivateKey};
use crate::crypto::ratchet_tree::RatchetTree;
use crate::crypto::secret::Secret;
use crate::crypto::secret_tree::{SecretTree, read_exact_secret};
use crate::crypto::tree_math::{LeafIndex, NodeIndex};
use crate::crypto::{CryptoError, DecodeError};

/// Version of the format written by [`Group::export_state`].
pub const STATE_FORMAT_VERSION: u8 = 1;

impl Group {
    /// Serializes the complete state, secrets included. Whoever holds the
    /// bytes can read the group until the next commit: store them sealed.
    pub fn export_state(&self) -> Result<Secret, GroupError> {
        let mut writer = Writer::for_secrets();
        writer.write_u8(STATE_FORMAT_VERSION);
        self.context.encode(&mut writer)?;
        writer.write_opaque(&self.tree.to_tls_bytes()?)?;
        writer.write_u32(self.own_leaf.0);
        writer.write_opaque(self.signing_key.to_seed().as_ref())?;
        writer.write_opaque(self.leaf_private_key.to_bytes().as_ref())?;
        writer.write_vector(|items| {
            self.path_secrets.iter().try_for_each(|(node, secret)| {
                items.write_u32(node.0);
                items.write_opaque(secret.as_bytes())
            })
        })?;
        for secret in epoch_secret_fields(&self.secrets) {
            writer.write_opaque(secret.as_bytes())?;
        }
        writer.write_opaque(&self.interim_transcript_hash)?;
        self.secret_tree.encode_state(&mut writer)?;
        Ok(Secret::new(writer.into_bytes()))
    }

    /// Restores a state written by [`Group::export_state`].
    pub fn import_state(bytes: &[u8]) -> Result<Self, GroupError> {
        let mut reader = Reader::new(bytes);
        let version = reader.read_u8()?;
        if version != STATE_FORMAT_VERSION {
            return Err(GroupError::StateVersion(version));
        }
        let context = GroupContext::decode(&mut reader)?;
        // The stored context records the suite; a state can only hold one
        // Aura implements (suite 1 only if the group was joined on opt-in).
        let suite = CipherSuite::try_from(context.cipher_suite)
            .map_err(|_| GroupError::UnsupportedCipherSuite(context.cipher_suite))?;
        let tree = RatchetTree::from_tls_bytes(reader.read_opaque()?)?;
        let own_leaf = LeafIndex(reader.read_u32()?);
        let signing_key =
            SignaturePrivateKey::from_seed(reader.read_opaque_capped(SIGNATURE_KEY_LENGTH)?)?;
        let leaf_private_key =
            HpkePrivateKey::from_bytes(reader.read_opaque_capped(HPKE_KEY_LENGTH)?)?;
        let path_secrets = reader.read_vector(|items| {
            let node = NodeIndex(items.read_u32()?);
            Ok((node, read_exact_secret(items, HASH_LENGTH, "path secret")?))
        })?;
        let mut read_secret = || -> Result<Secret, GroupError> {
            Ok(read_exact_secret(&mut reader, HASH_LENGTH, "epoch secret")?)
        };
        let secrets = EpochSecrets {
            sender_data_secret: read_secret()?,
            encryption_secret: read_secret()?,
            exporter_secret: read_secret()?,
            external_secret: read_secret()?,
            confirmation_key: read_secret()?,
            membership_key: read_secret()?,
            resumption_psk: read_secret()?,
            epoch_authenticator: read_secret()?,
            init_secret: read_secret()?,
        };
        let interim_transcript_hash = reader.read_opaque_capped(HASH_LENGTH)?.to_vec();
        if interim_transcript_hash.len() != HASH_LENGTH {
            return Err(DecodeError::UnexpectedValue {
                field: "interim transcript hash",
            }
            .into());
        }
        let secret_tree = SecretTree::decode_state(&mut reader, suite)?;
        reader.finish()?;

        if tree.root_tree_hash()?.as_slice() != context.tree_hash.as_slice() {
            return Err(GroupError::TreeHashMismatch);
        }
        if !tree.size().contains_leaf(own_leaf) {
            return Err(CryptoError::IndexOutOfRange {
                index: own_leaf.0,
                size: tree.size().leaf_count(),
            }
            .into());
        }
        let own = tree.leaf(own_leaf).ok_or(GroupError::OwnLeafNotFound)?;
        let path_secrets =
            on_direct_path(path_secrets, &tree.size().direct_path(own_leaf.node())?)?;
        if own.signature_key != signing_key.public_key().to_bytes() {
            return Err(GroupError::SigningKeyMismatch);
        }
        if secret_tree.size() != tree.size() {
            return Err(CryptoError::InvalidTree("secret tree size differs from the tree").into());
        }
        Ok(Self {
            context,
            tree,
            own_leaf,
            signing_key,
            leaf_private_key,
            path_secrets,
            secrets,
            interim_transcript_hash,
            secret_tree,
        })
    }
}

/// The path secrets as a map, if each belongs to a distinct node of the
/// member's direct path: a member learns no others.
fn on_direct_path(
    path_secrets: Vec<(NodeIndex, Secret)>,
    direct_path: &[NodeIndex],
) -> Result<BTreeMap<NodeIndex, Secret>, GroupError> {
    let count = path_secrets.len();
    if path_secrets
        .iter()
        .any(|(node, _)| !direct_path.contains(node))
    {
        return Err(GroupError::InconsistentState(
            "path secret for a node off the member's direct path",
        ));
    }
    let path_secrets = path_secrets.into_iter().collect::<BTreeMap<_, _>>();
    if path_secrets.len() != count {
        return Err(GroupError::InconsistentState("path secret given twice"));
    }
    Ok(path_secrets)
}

/// The epoch secrets in their fixed export order.
fn epoch_secret_fields(secrets: &EpochSecrets) -> [&Secret; 9] {
    [
        &secrets.sender_data_secret,
        &secrets.encryption_secret,
        &secrets.exporter_secret,
        &secrets.external_secret,
        &secrets.confirmation_key,
        &secrets.membership_key,
        &secrets.resumption_psk,
        &secrets.epoch_authenticator,
        &secrets.init_secret,
    ]
}
