//! Forward secrecy and post-compromise security against an adversary that
//! holds a member's complete state, over random group histories.

mod adversary;
mod network;
mod properties;
