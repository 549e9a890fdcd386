//! `aura name`, `aura invite` and `aura contact`: requests a node answers. With a node
//! running on the profile they go over its socket; without one, a node is started for the
//! command's length (an invitation's handshake needs the network), except for making a code,
//! whose addresses must be those of a node that stays up.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};

use super::{note, open_profile, print, start_node};
use crate::agent::core::InviteAnswer;
use crate::control::render::{self, Source};
use crate::control::render_invite;
use crate::control::{ControlRequest, ControlResponse, client};
use crate::invite::views::{AcceptanceStage, AcceptanceView};
use crate::node::{InviteOptions, InviteRequest};
use crate::paths::ProfilePaths;

/// How often `invite accept` asks how its acceptance is going.
const ACCEPT_POLL: Duration = Duration::from_millis(200);
/// How long `invite accept` waits for an inviter's user to approve before leaving the
/// acceptance to the node.
const APPROVAL_WAIT: Duration = Duration::from_secs(600);
const HOUR_MS: u64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Expiry {
    #[value(name = "1h")]
    Hour,
    #[value(name = "24h")]
    Day,
    #[value(name = "7d")]
    Week,
    #[value(name = "30d")]
    Month,
    Never,
}

impl Expiry {
    pub(super) fn valid_for_ms(self) -> Option<u64> {
        match self {
            Self::Hour => Some(HOUR_MS),
            Self::Day => Some(24 * HOUR_MS),
            Self::Week => Some(7 * 24 * HOUR_MS),
            Self::Month => Some(30 * 24 * HOUR_MS),
            Self::Never => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum NameCommand {
    /// Set the display name contacts see (sent when a relationship forms, and to every
    /// contact when it changes).
    Set {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Make an invitation code and print it (only the code goes to standard output).
    Create {
        /// How long the code can be accepted.
        #[arg(long, value_enum, default_value = "24h")]
        expires: Expiry,
        /// How many people may accept it.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        /// A note the invitee sees.
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
        /// Ask before each acceptance completes (`aura invite approve|decline ID`).
        #[arg(long)]
        approve: bool,
        /// The level a contact made with it starts at (`aura trust set` changes it later).
        #[arg(long, value_enum, default_value = "low")]
        trust: super::trust::Level,
    },
    /// Accept someone's invitation code and wait for the outcome.
    Accept {
        #[arg(value_name = "CODE")]
        code: String,
        /// Leave the acceptance pending and return at once; the node completes it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Invitations made here, and acceptances of others' invitations.
    List,
    /// Make an invitation unusable.
    Revoke {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Let the person waiting on an `--approve` invitation become a contact.
    Approve {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Turn down the person waiting on an `--approve` invitation.
    Decline {
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Contacts: name, nickname, since when, whether online, peer id.
    List,
    /// Give a contact a nickname only this device sees ("" clears it). PEER is a peer id, a
    /// unique prefix of one, a nickname or a name.
    Rename {
        #[arg(value_name = "PEER")]
        peer: String,
        #[arg(value_name = "NICKNAME")]
        nickname: String,
    },
    /// End the relationship on this side; the contact is told.
    Remove {
        #[arg(value_name = "PEER")]
        peer: String,
    },
}

pub fn name(paths: &ProfilePaths, command: NameCommand) -> Result<()> {
    match command {
        NameCommand::Set { name } => ask_node(paths, InviteRequest::SetName(name), true),
    }
}

pub fn invite(paths: &ProfilePaths, command: InviteCommand) -> Result<()> {
    match command {
        InviteCommand::Create {
            expires,
            uses,
            note,
            approve,
            trust,
        } => ask_node(
            paths,
            InviteRequest::Create(InviteOptions {
                valid_for_ms: expires.valid_for_ms(),
                uses,
                note,
                approve,
                trust: trust.into(),
                group: None,
            }),
            true,
        ),
        InviteCommand::Accept { code, no_wait } => {
            ask_node(paths, InviteRequest::Accept(code), !no_wait)
        }
        InviteCommand::List => super::answered(paths, ControlRequest::InviteList),
        InviteCommand::Revoke { id } => ask_node(paths, InviteRequest::Revoke(id), true),
        InviteCommand::Approve { id } => {
            ask_node(paths, InviteRequest::Answer { id, approve: true }, true)
        }
        InviteCommand::Decline { id } => {
            ask_node(paths, InviteRequest::Answer { id, approve: false }, true)
        }
    }
}

pub fn contact(paths: &ProfilePaths, command: ContactCommand) -> Result<()> {
    match command {
        ContactCommand::List => super::answered(paths, ControlRequest::ContactList),
        ContactCommand::Rename { peer, nickname } => ask_node(
            paths,
            InviteRequest::Rename {
                target: peer,
                nickname,
            },
            true,
        ),
        ContactCommand::Remove { peer } => ask_node(paths, InviteRequest::Remove(peer), true),
    }
}

/// Asks the node for a setting, waiting for its answer.
pub fn ask(paths: &ProfilePaths, request: InviteRequest) -> Result<()> {
    ask_node(paths, request, true)
}

/// Sets the name of a profile just created, through a node started for it.
pub fn set_initial_name(paths: &ProfilePaths, name: String) -> Result<()> {
    ask_node(paths, InviteRequest::SetName(name), true)
}

/// Asks the running node, or else a node started for this command.
fn ask_node(paths: &ProfilePaths, request: InviteRequest, wait: bool) -> Result<()> {
    paths.check_dirs()?;
    let asked = client::ask(&paths.socket_file, &ControlRequest::Invite(request.clone()))
        .with_context(|| format!("asking the node of profile '{}'", paths.profile))?;
    if let Some(response) = asked {
        return follow(paths, response, wait, false);
    }
    if matches!(request, InviteRequest::Create(_)) {
        bail!(
            "no node is running for profile '{}': a code gives the addresses of a running node, so start `aura daemon` (or `aura`) first and keep it running until the code is accepted",
            paths.profile
        );
    }
    let (store, identity, config) = open_profile(paths, false)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let node = start_node(paths, store, identity, &config).await?;
        let socket = paths.socket_file.clone();
        let paths_owned = paths.clone();
        // The socket client blocks; the node keeps answering on the runtime's workers.
        let outcome = tokio::task::spawn_blocking(move || {
            let response = client::ask(&socket, &ControlRequest::Invite(request))?
                .context("the node started for this command did not answer")?;
            follow(&paths_owned, response, wait, true)
        })
        .await
        .context("waiting for the answer")?;
        node.stop().await.context("stopping the node")?;
        outcome
    })
}

/// Prints an answer; an acceptance is followed until it ends when `wait`.
fn follow(
    paths: &ProfilePaths,
    response: ControlResponse,
    wait: bool,
    temporary: bool,
) -> Result<()> {
    let now = super::now_ms();
    match response {
        ControlResponse::Invited(InviteAnswer::Created(created)) => {
            note(&format!(
                "invitation {}: {} use{}, {}{}; {} characters; give the code below to the person you invite",
                created.id,
                created.uses,
                if created.uses == 1 { "" } else { "s" },
                created.expires_at_ms.map_or_else(
                    || "never expires".to_owned(),
                    |at| format!("expires {} UTC", render::utc_minute(at))
                ),
                if created.approve {
                    ", you approve each acceptance"
                } else {
                    ""
                },
                created.code.len(),
            ));
            print(&format!("{}\n", created.code))
        }
        ControlResponse::Invited(InviteAnswer::Acceptance(view)) if wait => {
            await_acceptance(paths, view, temporary)
        }
        ControlResponse::Invited(InviteAnswer::Acceptance(view)) => {
            let mut text = render_invite::acceptance_line(&view, now);
            if temporary && !view.stage.is_final() {
                text.push_str("\n(no node runs for this profile: the acceptance continues when `aura daemon` or `aura` starts)");
            }
            print(&format!("{text}\n"))
        }
        ControlResponse::Invited(InviteAnswer::Done(text)) => {
            print(&format!("{}\n", crate::ui::text::sanitize(&text)))
        }
        ControlResponse::Failed(failure) => Err(failure.into()),
        other => {
            let config = crate::config::load(&paths.config_file)?;
            let local = render::Local {
                paths,
                config: &config,
                now_ms: now,
            };
            print(&render::render(&other, Source::Node, &local)?)
        }
    }
}

/// Follows an acceptance: each change of stage to standard error, the outcome to standard
/// output (or as the error). An inviter that cannot be reached leaves it pending.
fn await_acceptance(paths: &ProfilePaths, mut view: AcceptanceView, temporary: bool) -> Result<()> {
    let mut shown = String::new();
    let mut polls: u64 = 0;
    let approval_polls = APPROVAL_WAIT.as_millis() as u64 / ACCEPT_POLL.as_millis() as u64;
    loop {
        let line = render_invite::acceptance_line(&view, super::now_ms());
        let stage_name = stage_name(&view.stage);
        if stage_name != shown {
            match &view.stage {
                AcceptanceStage::Done { .. } => return print(&format!("{line}\n")),
                AcceptanceStage::Failed { reason } => {
                    bail!("{}", crate::ui::text::sanitize(reason))
                }
                _ => note(&line),
            }
            shown = stage_name.to_owned();
        }
        match &view.stage {
            AcceptanceStage::Waiting { .. } => {
                let later = if temporary {
                    "no node runs for this profile: the acceptance is kept and continues when `aura daemon` or `aura` starts"
                } else {
                    "the node keeps trying; `aura invite list` shows how it goes"
                };
                note(later);
                return Ok(());
            }
            AcceptanceStage::AwaitingApproval { .. } if polls > approval_polls => {
                note(
                    "still waiting for the inviter to approve; the node keeps asking (`aura invite list`)",
                );
                return Ok(());
            }
            _ => {}
        }
        std::thread::sleep(ACCEPT_POLL);
        polls += 1;
        let response = client::ask(
            &paths.socket_file,
            &ControlRequest::Acceptance {
                id: view.id.clone(),
            },
        )?
        .context("the node stopped while accepting")?;
        match response {
            ControlResponse::Acceptance(Some(next)) => view = next,
            ControlResponse::Acceptance(None) => bail!("the node no longer knows this acceptance"),
            ControlResponse::Failed(failure) => return Err(failure.into()),
            _ => bail!("the node answered something else than the acceptance's state"),
        }
    }
}

fn stage_name(stage: &AcceptanceStage) -> &'static str {
    match stage {
        AcceptanceStage::Waiting { .. } => "waiting",
        AcceptanceStage::Connecting => "connecting",
        AcceptanceStage::Connected => "connected",
        AcceptanceStage::Proving => "proving",
        AcceptanceStage::AwaitingApproval { .. } => "approval",
        AcceptanceStage::Done { .. } => "done",
        AcceptanceStage::Failed { .. } => "failed",
    }
}
