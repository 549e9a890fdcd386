//! Joining from a Welcome (RFC 9420 §12.4.3.1): open our GroupSecrets, then
//! check everything about the group before trusting it: the GroupInfo
//! signature, the tree against the tree hash, every parent hash and leaf
//! signature, and the confirmation tag.

use std::collections::BTreeMap;

use super::{Group, GroupError, MAX_GROUP_MEMBERS, RATCHET_TREE_EXTENSION};
use crate::crypto::CryptoError;
use crate::crypto::cipher_suite::{CipherSuite, HASH_LENGTH};
use crate::crypto::key_package::KeyPackage;
use crate::crypto::key_schedule::{EpochEntry, welcome_secret};
use crate::crypto::keys::HpkePrivateKey;
use crate::crypto::keys::{SignaturePrivateKey, SignaturePublicKey};
use crate::crypto::ratchet_tree::{RatchetTree, is_in_subtree};
use crate::crypto::secret::Secret;
use crate::crypto::transcript::interim_transcript_hash;
use crate::crypto::tree_kem::{filtered_direct_path, next_path_secret, node_key_pair};
use crate::crypto::tree_math::{LeafIndex, NodeIndex};
use crate::crypto::welcome::{GroupInfo, GroupSecrets, Welcome};

use super::{KeyPackageSecrets, PskStore};

/// What a joiner may need beside the Welcome.
#[derive(Debug, Clone, Copy, Default)]
pub struct JoinOptions<'a> {
    /// The group's ratchet tree, handed over out of band, for a GroupInfo
    /// without the `ratchet_tree` extension (an encoded `RatchetTree`).
    pub ratchet_tree: Option<&'a [u8]>,
    /// External PSKs the Welcome's GroupSecrets may name.
    pub psks: Option<&'a PskStore>,
    /// Join groups of the other suites Aura implements (suite 1, which
    /// other MLS implementations use), not only of [`CipherSuite::AURA`].
    /// Off by default: Aura's own groups never use them, so a Welcome of
    /// another suite is refused unless the caller asked for it.
    pub allow_interop_suites: bool,
}

impl Group {
    /// Joins the group a Welcome (an `MLSMessage`) invites `key_package` to;
    /// the GroupInfo must carry the ratchet tree and no PSK may be needed.
    pub fn join_from_welcome(
        welcome: &[u8],
        key_package: &KeyPackage,
        key_package_secrets: KeyPackageSecrets,
        signing_key: SignaturePrivateKey,
    ) -> Result<Self, GroupError> {
        Self::join_from_welcome_with(
            welcome,
            key_package,
            key_package_secrets,
            signing_key,
            JoinOptions::default(),
        )
    }

    /// [`Self::join_from_welcome`] with a tree given out of band and
    /// external PSKs. A tree in the GroupInfo takes precedence; either way it
    /// is checked against the signed tree hash.
    pub fn join_from_welcome_with(
        welcome: &[u8],
        key_package: &KeyPackage,
        key_package_secrets: KeyPackageSecrets,
        signing_key: SignaturePrivateKey,
        options: JoinOptions<'_>,
    ) -> Result<Self, GroupError> {
        if key_package.leaf_node.signature_key != signing_key.public_key().to_bytes() {
            return Err(GroupError::SigningKeyMismatch);
        }
        // The Welcome must name the key package's suite (checked on opening).
        let suite = supported_suite(key_package.cipher_suite)?;
        if suite != CipherSuite::AURA && !options.allow_interop_suites {
            return Err(GroupError::UnsupportedCipherSuite(suite.id()));
        }
        let OpenedWelcome {
            group_secrets,
            group_info,
            entry,
        } = Self::open_welcome(
            welcome,
            key_package,
            &key_package_secrets.init_private_key,
            options.psks,
        )?;
        let context = group_info.group_context.clone();

        let tree_bytes = group_info
            .extensions
            .iter()
            .find(|extension| extension.extension_type == RATCHET_TREE_EXTENSION)
            .map(|extension| extension.extension_data.as_slice())
            .or(options.ratchet_tree)
            .ok_or(GroupError::MissingRatchetTree)?;
        let tree = RatchetTree::from_tls_bytes(tree_bytes)?;
        let members = (0..tree.size().leaf_count())
            .filter(|&leaf| tree.leaf(LeafIndex(leaf)).is_some())
            .count();
        if members > MAX_GROUP_MEMBERS {
            return Err(GroupError::GroupFull {
                max: MAX_GROUP_MEMBERS,
            });
        }
        if tree.root_tree_hash()?.as_slice() != context.tree_hash.as_slice() {
            return Err(GroupError::TreeHashMismatch);
        }
        tree.verify_parent_hashes()?;
        tree.verify_leaf_signatures(&context.group_id)?;
        let signer = tree
            .leaf(group_info.signer)
            .ok_or(GroupError::UnknownSender(group_info.signer.0))?;
        group_info.verify(&SignaturePublicKey::from_bytes(&signer.signature_key)?)?;
        let own_leaf = (0..tree.size().leaf_count())
            .map(LeafIndex)
            .find(|&leaf| tree.leaf(leaf) == Some(&key_package.leaf_node))
            .ok_or(GroupError::OwnLeafNotFound)?;
        if key_package_secrets
            .leaf_private_key
            .public_key()
            .to_bytes()
            .as_slice()
            != key_package.leaf_node.encryption_key.as_slice()
        {
            return Err(GroupError::OwnLeafNotFound);
        }

        let interim = interim_transcript_hash(
            &context.confirmed_transcript_hash,
            &group_info.confirmation_tag,
        )?;
        let path_secrets = match &group_secrets.path_secret {
            Some(path_secret) => {
                joiner_path_secrets(&tree, group_info.signer, own_leaf, path_secret)?
            }
            None => BTreeMap::new(),
        };
        Ok(Self::assemble(
            suite,
            context,
            tree,
            own_leaf,
            signing_key,
            key_package_secrets.leaf_private_key,
            path_secrets,
            entry.epoch,
            interim.to_vec(),
        ))
    }
}

/// A Welcome opened by its recipient: the GroupSecrets and GroupInfo
/// decrypted and the new epoch's key schedule run, its confirmation tag
/// checked. The GroupInfo's signature and tree are not checked yet.
#[derive(Debug)]
pub struct OpenedWelcome {
    /// What the committer encrypted to the recipient's init key.
    pub group_secrets: GroupSecrets,
    /// The group's state in the new epoch.
    pub group_info: GroupInfo,
    /// The new epoch's secrets.
    pub entry: EpochEntry,
}

impl Group {
    /// The first half of [`Self::join_from_welcome_with`]: opens a Welcome
    /// (an `MLSMessage`) for `key_package` and checks that it leads to the
    /// epoch its GroupInfo confirms. Any suite Aura implements is opened,
    /// if the Welcome, the key package and the group context all name it;
    /// which suites a member may join is decided by the join itself.
    pub fn open_welcome(
        welcome: &[u8],
        key_package: &KeyPackage,
        init_private_key: &HpkePrivateKey,
        psks: Option<&PskStore>,
    ) -> Result<OpenedWelcome, GroupError> {
        let welcome = Welcome::from_mls_message_bytes(welcome)?;
        let suite = supported_suite(welcome.cipher_suite)?;
        check_same_suite(suite, "key package", key_package.cipher_suite)?;
        let group_secrets = welcome.decrypt_group_secrets(key_package, init_private_key)?;
        let psk_secret = match psks {
            Some(psks) => psks.psk_secret(&group_secrets.psks)?,
            None if group_secrets.psks.is_empty() => Secret::zero(HASH_LENGTH),
            None => return Err(GroupError::MissingPsk),
        };
        let welcome_secret = welcome_secret(&group_secrets.joiner_secret, &psk_secret)?;
        let group_info = welcome.decrypt_group_info(&welcome_secret)?;
        let context = &group_info.group_context;
        check_same_suite(suite, "group context", context.cipher_suite)?;
        let entry =
            EpochEntry::from_joiner_secret(&group_secrets.joiner_secret, &psk_secret, context)?;
        entry
            .epoch
            .verify_confirmation_tag(
                &context.confirmed_transcript_hash,
                &group_info.confirmation_tag,
            )
            .map_err(|error| match error {
                CryptoError::MacInvalid => GroupError::ConfirmationTagInvalid,
                other => GroupError::Crypto(other),
            })?;
        Ok(OpenedWelcome {
            group_secrets,
            group_info,
            entry,
        })
    }
}

fn supported_suite(id: u16) -> Result<CipherSuite, GroupError> {
    CipherSuite::try_from(id).map_err(|_| GroupError::UnsupportedCipherSuite(id))
}

fn check_same_suite(
    welcome: CipherSuite,
    other: &'static str,
    found: u16,
) -> Result<(), GroupError> {
    if found == welcome.id() {
        Ok(())
    } else {
        Err(GroupError::CipherSuiteMismatch {
            welcome: welcome.id(),
            other,
            found,
        })
    }
}

/// Derives the path secrets of the committer's filtered direct path from the
/// lowest node above us up to the root, checking each against the tree's
/// public key so a committer cannot hand us keys the others do not have.
fn joiner_path_secrets(
    tree: &RatchetTree,
    committer: LeafIndex,
    own_leaf: LeafIndex,
    path_secret: &Secret,
) -> Result<BTreeMap<NodeIndex, Secret>, GroupError> {
    let steps = filtered_direct_path(tree, committer)?;
    let start = steps
        .iter()
        .position(|step| is_in_subtree(own_leaf.node(), step.node))
        .ok_or(CryptoError::InvalidTree(
            "joiner not below the committer's path",
        ))?;
    let mut secrets = BTreeMap::new();
    let mut secret = path_secret.duplicate();
    for (offset, step) in steps[start..].iter().enumerate() {
        if offset > 0 {
            secret = next_path_secret(&secret)?;
        }
        let derived = node_key_pair(&secret)?.public_key.to_bytes();
        if tree.encryption_key(step.node) != Some(derived.as_slice()) {
            return Err(CryptoError::InvalidTree("path secret does not match public key").into());
        }
        secrets.insert(step.node, secret.duplicate());
    }
    Ok(secrets)
}
