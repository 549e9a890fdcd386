//! `aura group`, `aura send` and `aura log`. What only reads (the list, members, a log) is
//! answered by the running node or else from the store; a change or a message needs a node:
//! the running one, or one started for the command (a message then waits in the store's
//! journal for the next sync).

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;

use super::{ask, note, open_profile, print, start_node};
use crate::control::render::{self, Source};
use crate::control::render_group;
use crate::control::{ControlRequest, ControlResponse, client};
use crate::node::{GroupReply, GroupRequest, PolicyEdit};
use crate::paths::ProfilePaths;

/// Messages a log shows unless told otherwise.
const DEFAULT_LOG_LIMIT: usize = 50;
/// How often `aura log --follow` looks for new messages.
const FOLLOW_POLL: Duration = Duration::from_millis(300);

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Make a group, with contacts in it from the start.
    Create {
        #[arg(value_name = "NAME")]
        name: String,
        /// A contact to add (peer id, a unique prefix of one, nickname or name); repeatable.
        #[arg(long = "with", value_name = "PEER")]
        with: Vec<String>,
    },
    /// Your groups: name, members, epoch, unread messages.
    List,
    /// A group's members. GROUP is its name or the start of its id.
    Members {
        #[arg(value_name = "GROUP")]
        group: String,
    },
    /// Add a contact to a group (it joins from the Welcome), or with `--code` print a group
    /// code: whoever accepts it (`aura invite accept CODE`) becomes your contact and is added.
    Invite {
        #[arg(value_name = "GROUP")]
        group: String,
        #[arg(
            value_name = "PEER",
            required_unless_present = "code",
            conflicts_with = "code"
        )]
        peer: Option<String>,
        /// Print a group code instead of adding a contact.
        #[arg(long)]
        code: bool,
        /// How long the code can be accepted.
        #[arg(long, value_enum, default_value = "24h", requires = "code")]
        expires: super::invite::Expiry,
        /// How many people may accept it.
        #[arg(long, default_value_t = 1, requires = "code")]
        uses: u32,
    },
    /// Remove a member; the group's keys change.
    Remove {
        #[arg(value_name = "GROUP")]
        group: String,
        #[arg(value_name = "PEER")]
        peer: String,
    },
    /// Give a group a new name; every member sees it.
    Rename {
        #[arg(value_name = "GROUP")]
        group: String,
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Put new keys on your path in the group now (it happens weekly by itself): keys
    /// stolen from this device stop opening the group's messages.
    Update {
        #[arg(value_name = "GROUP")]
        group: String,
    },
    /// Leave a group: the next member online removes you.
    Leave {
        #[arg(value_name = "GROUP")]
        group: String,
    },
    /// Who may add, remove, rename and change the policy: shown, or changed. Every member
    /// holds the default grant; a member's own grant narrows it (never widens it). Without
    /// a policy every member may do everything. CAPABILITIES is a comma-separated list of
    /// add, remove, rename, policy, or `none`.
    Policy {
        #[arg(value_name = "GROUP")]
        group: String,
        /// Set the grant every member holds.
        #[arg(
            long = "default",
            value_name = "CAPABILITIES",
            conflicts_with = "member"
        )]
        default: Option<String>,
        /// The member whose own grant `--grant` sets or `--reset` takes away.
        #[arg(long, value_name = "PEER")]
        member: Option<String>,
        #[arg(
            long,
            value_name = "CAPABILITIES",
            requires = "member",
            conflicts_with = "reset"
        )]
        grant: Option<String>,
        #[arg(long, requires = "member")]
        reset: bool,
    },
}

pub fn group(paths: &ProfilePaths, command: GroupCommand) -> Result<()> {
    let request = match command {
        GroupCommand::List => return read(paths, GroupRequest::List),
        GroupCommand::Members { group } => return read(paths, GroupRequest::Members { group }),
        GroupCommand::Create { name, with } => GroupRequest::Create { name, with },
        GroupCommand::Invite {
            group,
            peer: Some(peer),
            ..
        } => GroupRequest::Invite { group, peer },
        GroupCommand::Invite {
            group,
            expires,
            uses,
            ..
        } => GroupRequest::Code {
            group,
            valid_for_ms: expires.valid_for_ms(),
            uses,
        },
        GroupCommand::Remove { group, peer } => GroupRequest::Remove { group, peer },
        GroupCommand::Leave { group } => GroupRequest::Leave { group },
        GroupCommand::Update { group } => GroupRequest::Update { group },
        GroupCommand::Rename { group, name } => GroupRequest::Rename { group, name },
        GroupCommand::Policy {
            group,
            default,
            member,
            grant,
            reset,
        } => {
            let change = match (default, member, grant) {
                (Some(list), _, _) => PolicyEdit::Default(list),
                (None, Some(peer), Some(capabilities)) => PolicyEdit::Grant { peer, capabilities },
                (None, Some(peer), None) if reset => PolicyEdit::Reset { peer },
                (None, Some(_), None) => {
                    anyhow::bail!("with --member, say --grant CAPABILITIES or --reset")
                }
                (None, None, _) => {
                    return read(
                        paths,
                        GroupRequest::Policy {
                            group,
                            change: None,
                        },
                    );
                }
            };
            GroupRequest::Policy {
                group,
                change: Some(change),
            }
        }
    };
    change(paths, request)
}

/// `aura send GROUP TEXT`.
pub fn send(paths: &ProfilePaths, group: String, text: String, no_wait: bool) -> Result<()> {
    change(
        paths,
        GroupRequest::Send {
            group,
            text,
            wait: !no_wait,
        },
    )
}

/// `aura log GROUP`: the last messages, then, with `follow`, each new one as it comes.
pub fn log(paths: &ProfilePaths, group: String, limit: Option<usize>, follow: bool) -> Result<()> {
    let limit = limit.unwrap_or(DEFAULT_LOG_LIMIT);
    let request = GroupRequest::Log {
        group: group.clone(),
        limit,
        mark_read: true,
    };
    let GroupReply::Log(view) = ask_reply(paths, &request)? else {
        anyhow::bail!("the node answered something else than a log");
    };
    print(&render_group::group(&GroupReply::Log(view.clone())))?;
    if !follow {
        return Ok(());
    }
    let mut shown: HashSet<String> = view.messages.iter().map(|m| m.id.clone()).collect();
    loop {
        std::thread::sleep(FOLLOW_POLL);
        let GroupReply::Log(view) = ask_reply(paths, &request)? else {
            continue;
        };
        for message in view.messages.iter().filter(|m| !m.id.is_empty()) {
            if shown.insert(message.id.clone()) {
                print(&format!("{}\n", render_group::message_line(message)))?;
            }
        }
    }
}

fn ask_reply(paths: &ProfilePaths, request: &GroupRequest) -> Result<GroupReply> {
    let config = crate::config::load(&paths.config_file)?;
    let (_, response) = ask(paths, &config, &ControlRequest::Group(request.clone()))?;
    match response {
        ControlResponse::Group(reply) => Ok(reply),
        ControlResponse::Failed(failure) => Err(failure.into()),
        _ => anyhow::bail!("the node answered something else than a group answer"),
    }
}

fn read(paths: &ProfilePaths, request: GroupRequest) -> Result<()> {
    super::answered(paths, ControlRequest::Group(request))
}

/// Asks the running node, or else a node started for this command.
fn change(paths: &ProfilePaths, request: GroupRequest) -> Result<()> {
    paths.check_dirs()?;
    let control = ControlRequest::Group(request);
    let asked = client::ask(&paths.socket_file, &control)
        .with_context(|| format!("asking the node of profile '{}'", paths.profile))?;
    let response = match asked {
        Some(response) => response,
        None if matches!(control, ControlRequest::Group(GroupRequest::Code { .. })) => {
            anyhow::bail!(
                "no node is running for profile '{}': a code gives the addresses of a running node, so start `aura daemon` (or `aura`) first and keep it running until the code is accepted",
                paths.profile
            );
        }
        None => {
            let (store, identity, config) = open_profile(paths, false)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let response = runtime.block_on(async {
                let node = start_node(paths, store, identity, &config).await?;
                let socket = paths.socket_file.clone();
                let response = tokio::task::spawn_blocking(move || {
                    client::ask(&socket, &control)?
                        .context("the node started for this command did not answer")
                })
                .await
                .context("waiting for the answer")?;
                node.stop().await.context("stopping the node")?;
                response
            })?;
            // A refusal changed nothing: there is nothing to reach the group.
            if !matches!(response, ControlResponse::Failed(_)) {
                note(
                    "(no node runs for this profile: what this changed reaches the group when `aura daemon` or `aura` runs)",
                );
            }
            response
        }
    };
    let config = crate::config::load(&paths.config_file)?;
    let local = render::Local {
        paths,
        config: &config,
        now_ms: super::now_ms(),
    };
    print(&render::render(&response, Source::Node, &local)?)
}
