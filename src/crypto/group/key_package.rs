//! KeyPackages for joining: what a prospective member publishes, and the
//! private keys it keeps to open the Welcome that answers it.

use super::{GroupError, default_capabilities};
use crate::crypto::cipher_suite::CIPHER_SUITE_ID;
use crate::crypto::key_package::KeyPackage;
use crate::crypto::keys::{HpkeKeyPair, HpkePrivateKey, SignaturePrivateKey};
use crate::crypto::leaf_node::{Credential, LeafNode, LeafNodeSource};
use crate::crypto::tree_math::LeafIndex;

/// The private halves of a KeyPackage's keys. Each KeyPackage must be used
/// for one join only, so these are consumed by [`super::Group::join_from_welcome`].
#[derive(Debug)]
pub struct KeyPackageSecrets {
    /// Opens the GroupSecrets of a Welcome.
    pub init_private_key: HpkePrivateKey,
    /// Private key of the leaf the member will occupy.
    pub leaf_private_key: HpkePrivateKey,
}

/// Creates and signs a KeyPackage for `identity`, valid for all time (Aura
/// has no clock in the crypto core; validity is the caller's policy).
pub fn generate_key_package(
    identity: Vec<u8>,
    signing_key: &SignaturePrivateKey,
    rng: &mut impl rand_core::CryptoRng,
) -> Result<(KeyPackage, KeyPackageSecrets), GroupError> {
    let init = HpkeKeyPair::generate(rng);
    let leaf_keys = HpkeKeyPair::generate(rng);
    let mut leaf_node = LeafNode {
        encryption_key: leaf_keys.public_key.to_bytes().to_vec(),
        signature_key: signing_key.public_key().to_bytes().to_vec(),
        credential: Credential::Basic { identity },
        capabilities: default_capabilities(),
        source: LeafNodeSource::KeyPackage {
            not_before: 0,
            not_after: u64::MAX,
        },
        extensions: Vec::new(),
        signature: Vec::new(),
    };
    // KeyPackage leaves are not bound to a group or position.
    leaf_node.sign(signing_key, &[], LeafIndex(0))?;
    let mut key_package = KeyPackage {
        cipher_suite: CIPHER_SUITE_ID,
        init_key: init.public_key.to_bytes().to_vec(),
        leaf_node,
        extensions: Vec::new(),
        signature: Vec::new(),
    };
    key_package.sign(signing_key)?;
    Ok((
        key_package,
        KeyPackageSecrets {
            init_private_key: init.private_key,
            leaf_private_key: leaf_keys.private_key,
        },
    ))
}
