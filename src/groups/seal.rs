//! Commits sealed to the members of the epoch they extend.
//!
//! The MLS core sends commits as PublicMessages, readable by whoever holds the bytes. Aura
//! encrypts each one under a key exported from the parent epoch (RFC 9420 §8.5), with
//! XChaCha20-Poly1305 and a random 24-byte nonce, the parent's id and number as associated
//! data. The readers are those of a PrivateMessage of that epoch (its members, and no one
//! removed before it), and the MLS signature inside still names and authenticates the
//! committer; unlike a PrivateMessage the sealed commit needs no secret-tree generation, so
//! members on any branch can open it as long as they hold the parent epoch.

use chacha20poly1305::XChaCha20Poly1305;

use super::convergence::EpochId;
use crate::crypto::aead;
use crate::crypto::group::{Group, GroupError};

/// Exporter label of the sealing key.
pub const COMMIT_SEAL_LABEL: &[u8] = b"aura commit seal";
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

fn key(parent: &Group, parent_id: &EpochId) -> Result<crate::crypto::secret::Secret, GroupError> {
    parent.export_secret(COMMIT_SEAL_LABEL, &parent_id.0, KEY_BYTES)
}

fn associated_data(parent: &Group, parent_id: &EpochId) -> Vec<u8> {
    let mut aad = parent_id.0.to_vec();
    aad.extend_from_slice(&parent.epoch().to_be_bytes());
    aad
}

/// `commit` sealed for the members of `parent` (whose id is `parent_id`): nonce, then
/// ciphertext.
pub fn seal_commit(
    parent: &Group,
    parent_id: &EpochId,
    commit: &[u8],
    rng: &mut impl rand_core::CryptoRng,
) -> Result<Vec<u8>, GroupError> {
    let mut nonce = [0u8; NONCE_BYTES];
    rng.fill_bytes(&mut nonce);
    let key = key(parent, parent_id)?;
    let sealed = aead::seal::<XChaCha20Poly1305>(
        key.as_bytes(),
        &nonce,
        &associated_data(parent, parent_id),
        commit,
    )?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The commit inside `sealed`, if it was sealed for `parent`.
pub fn open_commit(
    parent: &Group,
    parent_id: &EpochId,
    sealed: &[u8],
) -> Result<Vec<u8>, GroupError> {
    let Some((nonce, ciphertext)) = sealed.split_at_checked(NONCE_BYTES) else {
        return Err(GroupError::Crypto(crate::crypto::CryptoError::AeadOpen));
    };
    let key = key(parent, parent_id)?;
    Ok(aead::open::<XChaCha20Poly1305>(
        key.as_bytes(),
        nonce,
        &associated_data(parent, parent_id),
        ciphertext,
    )?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use getrandom::SysRng;
    use rand_core::UnwrapErr;

    use super::*;
    use crate::crypto::group::fixture::GroupFixture;
    use crate::crypto::tree_math::LeafIndex;
    use crate::groups::mls_epoch::epoch_id;

    #[test]
    fn only_the_parent_epoch_opens_a_sealed_commit_and_any_change_is_refused() {
        let mut rng = UnwrapErr(SysRng);
        let fixture = GroupFixture::new(b"sealed", 2, &mut rng).unwrap();
        let mut alice = fixture.member(LeafIndex(0)).unwrap();
        let bob = fixture.member(LeafIndex(1)).unwrap();
        let parent_id = epoch_id(&alice).unwrap();
        let sealed = seal_commit(&alice, &parent_id, b"a commit", &mut rng).unwrap();
        assert_eq!(open_commit(&bob, &parent_id, &sealed).unwrap(), b"a commit");
        assert!(!sealed.windows(8).any(|w| w == b"a commit"));
        for at in [0, NONCE_BYTES, sealed.len() - 1] {
            let mut changed = sealed.clone();
            changed[at] ^= 1;
            assert!(
                open_commit(&bob, &parent_id, &changed).is_err(),
                "byte {at}"
            );
        }
        assert!(open_commit(&bob, &EpochId([7; 32]), &sealed).is_err());
        assert!(open_commit(&bob, &parent_id, &sealed[..NONCE_BYTES]).is_err());
        assert!(open_commit(&bob, &parent_id, &[]).is_err());
        // The next epoch's members read nothing sealed for the one before.
        alice.update(&mut rng).unwrap();
        let next_id = epoch_id(&alice).unwrap();
        assert!(open_commit(&alice, &next_id, &sealed).is_err());
    }
}
