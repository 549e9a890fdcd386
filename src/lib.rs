//! Aura: a peer-to-peer, end-to-end encrypted group messenger for the terminal.

pub mod crypto;
