//! `aura trust`: the levels of contacts and of peers reached through them, and why.

use anyhow::Result;
use clap::{Subcommand, ValueEnum};

use crate::control::ControlRequest;
use crate::node::{InviteRequest, TrustQuery};
use crate::paths::ProfilePaths;
use crate::state::trust_level::TrustLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    None,
    Low,
    Medium,
    High,
    Complete,
}

impl From<Level> for TrustLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::None => Self::None,
            Level::Low => Self::Low,
            Level::Medium => Self::Medium,
            Level::High => Self::High,
            Level::Complete => Self::Complete,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Each contact and each peer reached through them: level, direct or via whom, and
    /// whether you share your trust with the contact.
    List,
    /// Set how much you trust a contact (`none` distrusts it). PEER is a peer id, a unique
    /// prefix of one, a nickname or a name.
    Set {
        #[arg(value_name = "PEER")]
        peer: String,
        #[arg(value_enum, value_name = "LEVEL")]
        level: Level,
    },
    /// Tell a contact whom you trust, and how much (off by default).
    Share {
        #[arg(value_name = "PEER")]
        peer: String,
        #[arg(value_enum)]
        switch: Switch,
    },
    /// Every best path to a peer, edge by edge, and how its level was reached.
    Path {
        #[arg(value_name = "PEER")]
        peer: String,
    },
    /// Why a peer is below a level: the edge or the rule that stopped it.
    WhyNot {
        #[arg(value_name = "PEER")]
        peer: String,
        #[arg(long, value_enum, default_value = "low")]
        level: Level,
    },
}

pub fn trust(paths: &ProfilePaths, command: TrustCommand) -> Result<()> {
    match command {
        TrustCommand::List => super::answered(paths, ControlRequest::Trust(TrustQuery::List)),
        TrustCommand::Path { peer } => {
            super::answered(paths, ControlRequest::Trust(TrustQuery::Path(peer)))
        }
        TrustCommand::WhyNot { peer, level } => super::answered(
            paths,
            ControlRequest::Trust(TrustQuery::WhyNot {
                target: peer,
                level: level.into(),
            }),
        ),
        TrustCommand::Set { peer, level } => super::invite::ask(
            paths,
            InviteRequest::SetTrust {
                target: peer,
                level: level.into(),
            },
        ),
        TrustCommand::Share { peer, switch } => super::invite::ask(
            paths,
            InviteRequest::Share {
                target: peer,
                on: switch == Switch::On,
            },
        ),
    }
}
