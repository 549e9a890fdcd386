//! The cryptography of relationship formation, pure: the invitation key pair both sides
//! derive from the code's one-time secret, the handshake transcript, the proofs each side
//! signs, and the pairwise secret both derive.
//!
//! The connection already proves each side's identity (libp2p's Noise handshake binds the
//! stream to both peer ids). What it cannot prove is that the invitee holds the invitation's
//! secret, and that the two ended with the same view of the exchange: so the invitee signs
//! the transcript with the invitation key (and with its identity key), the inviter signs it
//! with its identity key when it accepts, and the pairwise secret comes from fresh X25519
//! keys of both sides with the transcript as salt. The transcript holds a fresh nonce and
//! key of the inviter, so a proof recorded from one run is worth nothing in another.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::code::InvitationSecret;
use super::facts::InvitationKey;
use super::messages::{Ask, Proceed};
use crate::state::fact::{ContextId, DeviceKey};

const INVITATION_KEY_LABEL: &[u8] = b"aura/invitation-key/v1";
const TRANSCRIPT_LABEL: &[u8] = b"aura/relationship/transcript/v1";
const PROOF_BY_INVITATION: &[u8] = b"aura/relationship/proof/invitation/v1";
const PROOF_BY_IDENTITY: &[u8] = b"aura/relationship/proof/identity/v1";
const ACCEPTED_BY_INVITER: &[u8] = b"aura/relationship/accepted/v1";
const PAIRWISE_SECRET_LABEL: &[u8] = b"aura/pairwise-secret/v1";
const PAIRWISE_CONTEXT_LABEL: &[u8] = b"aura/pairwise-context/v1";
const OWN_CONTEXT_LABEL: &[u8] = b"aura/own-context/v1";

/// Why a handshake step failed its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("the proof of the invitation key does not verify")]
    BadInvitationProof,
    #[error("the invitee's identity signature does not verify")]
    BadIdentityProof,
    #[error("the inviter's acceptance signature does not verify")]
    BadAcceptance,
    #[error("a peer sent a key that gives no shared secret")]
    WeakKey,
}

/// HKDF-SHA256 into 32 bytes; 32 is within HKDF's output limit, so expand cannot fail.
fn hkdf32(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let kdf = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut out = Zeroizing::new([0; 32]);
    let filled = kdf.expand_multi_info(info, out.as_mut_slice());
    debug_assert!(filled.is_ok());
    out
}

/// The invitation key pair of `secret`, for the inviter `inviter`: both sides derive it.
pub fn invitation_signing_key(secret: &InvitationSecret, inviter: &DeviceKey) -> SigningKey {
    let seed = hkdf32(INVITATION_KEY_LABEL, secret.as_bytes(), &[&inviter.0]);
    SigningKey::from_bytes(&seed)
}

/// The public half, which the inviter records.
pub fn invitation_key(secret: &InvitationSecret, inviter: &DeviceKey) -> InvitationKey {
    InvitationKey(
        invitation_signing_key(secret, inviter)
            .verifying_key()
            .to_bytes(),
    )
}

/// The device's own context: derived from its secret key, so only its holders can name it.
pub fn own_context(identity: &SigningKey) -> ContextId {
    ContextId(*hkdf32(OWN_CONTEXT_LABEL, identity.as_bytes(), &[]))
}

/// The hash both sides sign: who, with which invitation, and both sides' fresh values.
pub fn transcript(
    inviter: &DeviceKey,
    invitee: &DeviceKey,
    ask: &Ask,
    proceed: &Proceed,
) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(TRANSCRIPT_LABEL);
    hash.update(inviter.0);
    hash.update(invitee.0);
    for part in [ask.transcript_bytes(), proceed.transcript_bytes()] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(&part);
    }
    hash.finalize().into()
}

fn labelled(label: &[u8], transcript: &[u8; 32]) -> Vec<u8> {
    [label, transcript.as_slice()].concat()
}

/// The invitee's two signatures over the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofSignatures {
    pub by_invitation: [u8; 64],
    pub by_identity: [u8; 64],
}

/// Signs the transcript as the invitee.
pub fn prove(
    invitation: &SigningKey,
    identity: &SigningKey,
    transcript: &[u8; 32],
) -> ProofSignatures {
    ProofSignatures {
        by_invitation: invitation
            .sign(&labelled(PROOF_BY_INVITATION, transcript))
            .to_bytes(),
        by_identity: identity
            .sign(&labelled(PROOF_BY_IDENTITY, transcript))
            .to_bytes(),
    }
}

fn verify(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    VerifyingKey::from_bytes(key)
        .and_then(|key| key.verify_strict(message, &Signature::from_bytes(signature)))
        .is_ok()
}

/// Checks the invitee's proof against the recorded invitation key and its identity.
pub fn verify_proof(
    invitation: &InvitationKey,
    invitee: &DeviceKey,
    transcript: &[u8; 32],
    proof: &ProofSignatures,
) -> Result<(), HandshakeError> {
    if !verify(
        &invitation.0,
        &labelled(PROOF_BY_INVITATION, transcript),
        &proof.by_invitation,
    ) {
        return Err(HandshakeError::BadInvitationProof);
    }
    if !verify(
        &invitee.0,
        &labelled(PROOF_BY_IDENTITY, transcript),
        &proof.by_identity,
    ) {
        return Err(HandshakeError::BadIdentityProof);
    }
    Ok(())
}

/// The inviter's signature that it accepted and recorded the relationship.
pub fn accept(identity: &SigningKey, transcript: &[u8; 32]) -> [u8; 64] {
    identity
        .sign(&labelled(ACCEPTED_BY_INVITER, transcript))
        .to_bytes()
}

pub fn verify_acceptance(
    inviter: &DeviceKey,
    transcript: &[u8; 32],
    signature: &[u8; 64],
) -> Result<(), HandshakeError> {
    if verify(
        &inviter.0,
        &labelled(ACCEPTED_BY_INVITER, transcript),
        signature,
    ) {
        Ok(())
    } else {
        Err(HandshakeError::BadAcceptance)
    }
}

/// A fresh X25519 key of one handshake.
pub struct Ephemeral(StaticSecret);

impl std::fmt::Debug for Ephemeral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ephemeral(..)")
    }
}

impl Ephemeral {
    /// From 32 random bytes the caller drew.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(StaticSecret::from(bytes))
    }

    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&self.0).to_bytes()
    }

    /// The pair's secret and context: X25519 with the peer's key, then HKDF with both
    /// identities and the transcript in the info, so that the secret is bound to who formed
    /// the relationship and to the exchange they both signed.
    pub fn pairwise(
        &self,
        peer_public: &[u8; 32],
        inviter: &DeviceKey,
        invitee: &DeviceKey,
        transcript: &[u8; 32],
    ) -> Result<Pairwise, HandshakeError> {
        let shared = self.0.diffie_hellman(&PublicKey::from(*peer_public));
        if !shared.was_contributory() {
            return Err(HandshakeError::WeakKey);
        }
        let secret = hkdf32(
            PAIRWISE_SECRET_LABEL,
            shared.as_bytes(),
            &[PAIRWISE_SECRET_LABEL, &inviter.0, &invitee.0, transcript],
        );
        let context = ContextId(*hkdf32(&[], secret.as_slice(), &[PAIRWISE_CONTEXT_LABEL]));
        Ok(Pairwise { secret, context })
    }
}

/// What a formed relationship shares: a secret for later protocols, and the context its
/// facts live in.
#[derive(Clone)]
pub struct Pairwise {
    pub secret: Zeroizing<[u8; 32]>,
    pub context: ContextId,
}

impl std::fmt::Debug for Pairwise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pairwise")
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    fn run(ask_seed: u8, proceed_seed: u8) -> (Ask, Proceed) {
        let ask = Ask {
            invitation: InvitationKey([1; 32]),
            ephemeral: Ephemeral::from_random([ask_seed; 32]).public(),
            nonce: [ask_seed; 32],
            name: "Bob".to_owned(),
        };
        let proceed = Proceed {
            ephemeral: Ephemeral::from_random([proceed_seed; 32]).public(),
            nonce: [proceed_seed; 32],
            name: "Alice".to_owned(),
        };
        (ask, proceed)
    }

    #[test]
    fn both_sides_derive_the_same_invitation_key_and_pairwise_secret() {
        let secret = InvitationSecret::from_bytes([5; 16]);
        let inviter = DeviceKey::of(&key(1));
        assert_eq!(
            invitation_key(&secret, &inviter),
            InvitationKey(
                invitation_signing_key(&secret, &inviter)
                    .verifying_key()
                    .to_bytes()
            )
        );
        // The same secret for another inviter is another key.
        assert_ne!(
            invitation_key(&secret, &inviter),
            invitation_key(&secret, &DeviceKey::of(&key(2)))
        );
        let a = Ephemeral::from_random([3; 32]);
        let b = Ephemeral::from_random([4; 32]);
        let t = [9; 32];
        let (x, y) = (DeviceKey([1; 32]), DeviceKey([2; 32]));
        let ab = a.pairwise(&b.public(), &x, &y, &t).unwrap();
        let ba = b.pairwise(&a.public(), &x, &y, &t).unwrap();
        assert_eq!(*ab.secret, *ba.secret);
        assert_eq!(ab.context, ba.context);
        assert_ne!(
            a.pairwise(&b.public(), &x, &y, &[8; 32]).unwrap().context,
            ab.context
        );
        // Other identities, another secret.
        assert_ne!(
            *a.pairwise(&b.public(), &y, &x, &t).unwrap().secret,
            *ab.secret
        );
        assert!(matches!(
            a.pairwise(&[0; 32], &x, &y, &t),
            Err(HandshakeError::WeakKey)
        ));
    }

    #[test]
    fn a_proof_verifies_only_for_its_own_transcript_and_keys() {
        let secret = InvitationSecret::from_bytes([5; 16]);
        let inviter = DeviceKey::of(&key(1));
        let invitee_key = key(2);
        let invitee = DeviceKey::of(&invitee_key);
        let invitation = invitation_signing_key(&secret, &inviter);
        let recorded = invitation_key(&secret, &inviter);
        let (ask, proceed) = run(3, 4);
        let t = transcript(&inviter, &invitee, &ask, &proceed);
        let proof = prove(&invitation, &invitee_key, &t);
        assert_eq!(verify_proof(&recorded, &invitee, &t, &proof), Ok(()));
        // Replayed into a run with the inviter's fresh values: refused.
        let (_, other_proceed) = run(3, 5);
        let replayed = transcript(&inviter, &invitee, &ask, &other_proceed);
        assert_eq!(
            verify_proof(&recorded, &invitee, &replayed, &proof),
            Err(HandshakeError::BadInvitationProof)
        );
        // Presented by another identity: refused.
        let thief = DeviceKey::of(&key(6));
        let stolen = transcript(&inviter, &thief, &ask, &proceed);
        assert!(verify_proof(&recorded, &thief, &stolen, &proof).is_err());
        // Signed with a key not derived from the secret: refused.
        let forged = prove(&key(7), &invitee_key, &t);
        assert_eq!(
            verify_proof(&recorded, &invitee, &t, &forged),
            Err(HandshakeError::BadInvitationProof)
        );
        let accepted = accept(&key(1), &t);
        assert_eq!(verify_acceptance(&inviter, &t, &accepted), Ok(()));
        assert_eq!(
            verify_acceptance(&inviter, &replayed, &accepted),
            Err(HandshakeError::BadAcceptance)
        );
    }

    #[test]
    fn the_own_context_depends_on_the_secret_key_only() {
        assert_eq!(own_context(&key(1)), own_context(&key(1)));
        assert_ne!(own_context(&key(1)), own_context(&key(2)));
        assert_ne!(own_context(&key(1)).0, DeviceKey::of(&key(1)).0);
    }
}
