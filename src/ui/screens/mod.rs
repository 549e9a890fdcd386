//! One file per screen or overlay, each with its state, its key table, what its actions do and
//! how it is drawn.

mod add_peer;
mod confirm_remove;
mod contacts;
mod create_invitation;
mod help;
mod invitations;
mod main;
mod network;
mod prompt;
mod trust_path;
mod welcome;

pub use add_peer::AddPeerPrompt;
pub use confirm_remove::ConfirmRemove;
pub use contacts::ContactsScreen;
pub use create_invitation::{CreateInvitationForm, EXPIRY_CHOICES, MAX_USES, Row};
pub use help::HelpScreen;
pub use invitations::{CODE_HEADING, COPIED, InvitationsScreen};
pub use main::{Focus, MainScreen};
pub use network::NetworkScreen;
pub use prompt::{CODE_FIELD_CAP, Prompt, Purpose};
pub use welcome::{HOW_TO_START, WelcomeScreen};
