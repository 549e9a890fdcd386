//! One file per screen or overlay, each with its state, its key table, what its actions do and
//! how it is drawn.

mod add_peer;
mod help;
mod main;
mod network;

pub use add_peer::AddPeerPrompt;
pub use help::HelpScreen;
pub use main::{Focus, MainScreen};
pub use network::NetworkScreen;
