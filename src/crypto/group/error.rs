//! Errors of the group state machine.

use thiserror::Error;

use crate::crypto::error::{CryptoError, DecodeError, EncodeError};

/// Why a group operation failed. A failed operation leaves the group as it was.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GroupError {
    /// A primitive, decoder or tree check failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The message belongs to another group.
    #[error("message is for another group")]
    WrongGroup,
    /// The message was sent in another epoch than the group's current one.
    #[error("message is for epoch {received}, the group is at epoch {expected}")]
    WrongEpoch {
        /// The group's epoch.
        expected: u64,
        /// The message's epoch.
        received: u64,
    },
    /// The message carries another kind of content than the operation expects.
    #[error("unexpected content type")]
    UnexpectedContentType,
    /// The sender is not a member of the group.
    #[error("sender {0} is not a member")]
    UnknownSender(u32),
    /// A commit sent by this member itself came back; it was applied when created.
    #[error("commit was sent by this member")]
    OwnCommit,
    /// The commit lacks the UpdatePath its proposals require (RFC 9420 §12.4).
    #[error("commit has no update path")]
    MissingPath,
    /// The commit uses a proposal form Aura does not support.
    #[error("unsupported proposal: {0}")]
    UnsupportedProposal(&'static str),
    /// A commit references a proposal this member has not received in this epoch.
    #[error("commit references an unknown proposal")]
    UnknownProposalRef,
    /// A PSK the commit or Welcome needs is not among the member's PSKs.
    #[error("pre-shared key not available")]
    MissingPsk,
    /// More proposals arrived in one epoch than one commit may carry.
    #[error("more than {max} proposals pending in this epoch")]
    TooManyPendingProposals {
        /// The cap.
        max: usize,
    },
    /// A proposal cannot be applied to the group.
    #[error("invalid proposal: {0}")]
    InvalidProposal(&'static str),
    /// Adding members would exceed [`super::MAX_GROUP_MEMBERS`].
    #[error("the group cannot have more than {max} members")]
    GroupFull {
        /// The cap.
        max: usize,
    },
    /// No member sits at this leaf.
    #[error("leaf {0} holds no member")]
    NotAMember(u32),
    /// The confirmation tag does not match the epoch the commit leads to.
    #[error("confirmation tag does not verify")]
    ConfirmationTagInvalid,
    /// A tree's hash differs from the one in the group context.
    #[error("ratchet tree does not match the tree hash")]
    TreeHashMismatch,
    /// A GroupInfo came without the `ratchet_tree` extension.
    #[error("GroupInfo has no ratchet tree")]
    MissingRatchetTree,
    /// The joiner's KeyPackage leaf is not in the tree of the Welcome.
    #[error("own leaf not found in the group's tree")]
    OwnLeafNotFound,
    /// A Welcome, GroupInfo, KeyPackage or stored state names a cipher suite
    /// Aura does not implement, or one it joins only on opt-in
    /// ([`JoinOptions::allow_interop_suites`](super::JoinOptions)).
    #[error("unsupported cipher suite {0}")]
    UnsupportedCipherSuite(u16),
    /// A Welcome names another cipher suite than the KeyPackage it is for,
    /// or than the group context it carries.
    #[error("the Welcome is for cipher suite {welcome}, but {other} names suite {found}")]
    CipherSuiteMismatch {
        /// The suite the Welcome names.
        welcome: u16,
        /// What names another suite: "key package" or "group context".
        other: &'static str,
        /// The suite that one names.
        found: u16,
    },
    /// The signing key does not belong to the leaf it is used for.
    #[error("signing key does not match the leaf")]
    SigningKeyMismatch,
    /// The epoch counter cannot advance any further.
    #[error("epoch counter exhausted")]
    EpochExhausted,
    /// An exported state has an unknown format version.
    #[error("unsupported state version {0}")]
    StateVersion(u8),
    /// An exported state is well-formed but contradicts itself.
    #[error("inconsistent group state: {0}")]
    InconsistentState(&'static str),
}

impl From<DecodeError> for GroupError {
    fn from(error: DecodeError) -> Self {
        Self::Crypto(CryptoError::Decode(error))
    }
}

impl From<EncodeError> for GroupError {
    fn from(error: EncodeError) -> Self {
        Self::Crypto(CryptoError::Encode(error))
    }
}
