//! The epoch key schedule (RFC 9420 §8).
//!
//! ```text
//! init_secret[n-1] ─┐
//!      commit_secret ─ Extract ─ ExpandWithLabel("joiner", GroupContext) = joiner_secret
//!                                 psk_secret ─ Extract ─┬─ DeriveSecret("welcome") = welcome_secret
//!                                                       └─ ExpandWithLabel("epoch", GroupContext) = epoch_secret
//! epoch_secret ─ DeriveSecret(label) = sender_data, encryption, exporter, ... , init_secret[n]
//! ```
//!
//! Intermediate secrets are dropped (and wiped) as soon as the next one is
//! derived; only what an epoch needs is kept in [`EpochSecrets`].

use super::cipher_suite::{CipherSuite, HASH_LENGTH, MAC_LENGTH};
use super::codec::Encode;
use super::error::CryptoError;
use super::group_context::GroupContext;
use super::keys::{HpkeKeyPair, HpkePublicKey};
use super::primitives::{self, derive_secret, expand_with_label, extract};
use super::secret::Secret;

/// Labels of the secrets derived from `epoch_secret` (RFC 9420 Table 4).
mod label {
    pub const JOINER: &[u8] = b"joiner";
    pub const WELCOME: &[u8] = b"welcome";
    pub const EPOCH: &[u8] = b"epoch";
    pub const SENDER_DATA: &[u8] = b"sender data";
    pub const ENCRYPTION: &[u8] = b"encryption";
    pub const EXPORTER: &[u8] = b"exporter";
    pub const EXTERNAL: &[u8] = b"external";
    pub const CONFIRMATION: &[u8] = b"confirm";
    pub const MEMBERSHIP: &[u8] = b"membership";
    pub const RESUMPTION: &[u8] = b"resumption";
    pub const AUTHENTICATION: &[u8] = b"authentication";
    pub const INIT: &[u8] = b"init";
    pub const EXPORTED: &[u8] = b"exported";
    pub const KEY: &[u8] = b"key";
    pub const NONCE: &[u8] = b"nonce";
}

/// `joiner_secret = ExpandWithLabel(Extract(init_secret, commit_secret), "joiner", GroupContext, Nh)`.
///
/// `commit_secret` is the all-zero vector of length `Nh` when the commit had
/// no path; see [`Secret::zero`].
pub fn joiner_secret(
    previous_init_secret: &Secret,
    commit_secret: &Secret,
    group_context: &GroupContext,
) -> Result<Secret, CryptoError> {
    let prk = extract(previous_init_secret.as_bytes(), commit_secret.as_bytes());
    let context = group_context.to_tls_bytes()?;
    expand_with_label(prk.as_bytes(), label::JOINER, &context, HASH_LENGTH)
}

/// `welcome_secret = DeriveSecret(Extract(joiner_secret, psk_secret), "welcome")`:
/// all a new member needs, before it knows the GroupContext, to open the GroupInfo.
pub fn welcome_secret(joiner_secret: &Secret, psk_secret: &Secret) -> Result<Secret, CryptoError> {
    let member_prk = extract(joiner_secret.as_bytes(), psk_secret.as_bytes());
    derive_secret(member_prk.as_bytes(), label::WELCOME)
}

/// The key and nonce that protect a Welcome's `GroupInfo` (RFC 9420 §12.4.3.1).
#[derive(Debug)]
pub struct WelcomeKey {
    /// AEAD key.
    pub key: Secret,
    /// AEAD nonce.
    pub nonce: Secret,
}

/// What joining (or advancing to) an epoch derives from the joiner secret.
#[derive(Debug)]
pub struct EpochEntry {
    /// Secret from which the Welcome's GroupInfo key and nonce come.
    pub welcome_secret: Secret,
    /// The secrets of the new epoch.
    pub epoch: EpochSecrets,
}

impl EpochEntry {
    /// Runs the key schedule from `joiner_secret` (as a new member does after
    /// decrypting its GroupSecrets). `psk_secret` is the zero vector without PSKs.
    pub fn from_joiner_secret(
        joiner_secret: &Secret,
        psk_secret: &Secret,
        group_context: &GroupContext,
    ) -> Result<Self, CryptoError> {
        let member_prk = extract(joiner_secret.as_bytes(), psk_secret.as_bytes());
        let welcome_secret = derive_secret(member_prk.as_bytes(), label::WELCOME)?;
        let context = group_context.to_tls_bytes()?;
        let epoch_secret =
            expand_with_label(member_prk.as_bytes(), label::EPOCH, &context, HASH_LENGTH)?;
        Ok(Self {
            welcome_secret,
            epoch: EpochSecrets::from_epoch_secret(&epoch_secret)?,
        })
    }

    /// Runs the key schedule for an existing member processing a commit.
    pub fn from_commit(
        previous_init_secret: &Secret,
        commit_secret: &Secret,
        psk_secret: &Secret,
        group_context: &GroupContext,
    ) -> Result<(Secret, Self), CryptoError> {
        let joiner = joiner_secret(previous_init_secret, commit_secret, group_context)?;
        let entry = Self::from_joiner_secret(&joiner, psk_secret, group_context)?;
        Ok((joiner, entry))
    }
}

/// `welcome_key` and `welcome_nonce` from the welcome secret, for the AEAD
/// of `suite`.
pub fn welcome_key(suite: CipherSuite, welcome_secret: &Secret) -> Result<WelcomeKey, CryptoError> {
    let secret = welcome_secret.as_bytes();
    Ok(WelcomeKey {
        key: expand_with_label(secret, label::KEY, &[], suite.aead_key_length())?,
        nonce: expand_with_label(secret, label::NONCE, &[], suite.aead_nonce_length())?,
    })
}

/// The secrets of one epoch, derived from its `epoch_secret`.
#[derive(Debug)]
pub struct EpochSecrets {
    /// Protects the sender data of PrivateMessages.
    pub sender_data_secret: Secret,
    /// Root of the secret tree.
    pub encryption_secret: Secret,
    /// Source of [`EpochSecrets::export`].
    pub exporter_secret: Secret,
    /// Seed of the key pair external joiners encrypt to.
    pub external_secret: Secret,
    /// Key of the confirmation tag MAC.
    pub confirmation_key: Secret,
    /// Key of the membership tag MAC on PublicMessages.
    pub membership_key: Secret,
    /// PSK for resuming or branching the group.
    pub resumption_psk: Secret,
    /// Value members can compare out of band to detect a split view.
    pub epoch_authenticator: Secret,
    /// Input to the next epoch's key schedule.
    pub init_secret: Secret,
}

impl EpochSecrets {
    /// Derives all per-epoch secrets from `epoch_secret`.
    pub fn from_epoch_secret(epoch_secret: &Secret) -> Result<Self, CryptoError> {
        let derive = |label: &[u8]| derive_secret(epoch_secret.as_bytes(), label);
        Ok(Self {
            sender_data_secret: derive(label::SENDER_DATA)?,
            encryption_secret: derive(label::ENCRYPTION)?,
            exporter_secret: derive(label::EXPORTER)?,
            external_secret: derive(label::EXTERNAL)?,
            confirmation_key: derive(label::CONFIRMATION)?,
            membership_key: derive(label::MEMBERSHIP)?,
            resumption_psk: derive(label::RESUMPTION)?,
            epoch_authenticator: derive(label::AUTHENTICATION)?,
            init_secret: derive(label::INIT)?,
        })
    }

    /// The key pair external joiners encrypt their init secret to.
    #[must_use]
    pub fn external_key_pair(&self) -> HpkeKeyPair {
        HpkeKeyPair::derive(self.external_secret.as_bytes())
    }

    /// The public half of [`EpochSecrets::external_key_pair`], published in GroupInfo.
    #[must_use]
    pub fn external_public_key(&self) -> HpkePublicKey {
        self.external_key_pair().public_key
    }

    /// `MLS-Exporter(label, context, length)`: secrets for the application,
    /// bound to this epoch.
    pub fn export(
        &self,
        label: &[u8],
        context: &[u8],
        length: usize,
    ) -> Result<Secret, CryptoError> {
        let derived = derive_secret(self.exporter_secret.as_bytes(), label)?;
        expand_with_label(
            derived.as_bytes(),
            label::EXPORTED,
            &primitives::hash(context),
            length,
        )
    }

    /// `confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash)`.
    pub fn confirmation_tag(
        &self,
        confirmed_transcript_hash: &[u8],
    ) -> Result<[u8; MAC_LENGTH], CryptoError> {
        primitives::mac(self.confirmation_key.as_bytes(), confirmed_transcript_hash)
    }

    /// Checks a received confirmation tag in constant time.
    pub fn verify_confirmation_tag(
        &self,
        confirmed_transcript_hash: &[u8],
        tag: &[u8],
    ) -> Result<(), CryptoError> {
        primitives::verify_mac(
            self.confirmation_key.as_bytes(),
            confirmed_transcript_hash,
            tag,
        )
    }
}
