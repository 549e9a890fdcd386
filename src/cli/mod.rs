//! The command line: parsing with clap, and the edge where module errors get their context
//! and become one line for the user.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

mod group;
mod invite;
mod trust;

use crate::agent::GuardConfig;
use crate::config::{self, LoadedConfig};
use crate::control::offline::{self, OfflineProfile};
use crate::control::render::{self, Source};
use crate::control::{ControlRequest, ControlResponse, answer, client};
use crate::identity::{DeviceIdentity, short_peer_id};
use crate::logging;
use crate::node::{Node, NodeHandle, NodeOptions};
use crate::paths::ProfilePaths;
use crate::state::{Store, StoreError};
use crate::ui::{self, App, IdentitySummary};

/// How long a command waits for a locked store: a starting node binds its socket within
/// this, and a command reading the store holds it for much less.
const LOCKED_WAIT: Duration = Duration::from_secs(5);
/// How often a locked store and the socket are tried again meanwhile.
const LOCK_POLL: Duration = Duration::from_millis(50);
/// Tries in [`LOCKED_WAIT`]: counted rather than timed, so the CLI reads no clock for it.
const LOCK_TRIES: u128 = LOCKED_WAIT.as_millis() / LOCK_POLL.as_millis();

#[derive(Debug, Parser)]
#[command(
    name = "aura",
    version,
    about = "Peer-to-peer, end-to-end encrypted group chat in the terminal"
)]
pub struct Cli {
    /// Profile to use: each profile is a separate identity with its own store.
    #[arg(long, global = true, value_name = "NAME", default_value = "default")]
    pub profile: String,
    /// Keep config, profiles and logs under DIR instead of the platform's standard folders.
    #[arg(long, global = true, value_name = "DIR", env = "AURA_HOME")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Create the profile (identity and store) if it does not exist yet.
    Init {
        /// The display name contacts see (`aura name set` changes it).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// Your display name.
    #[command(subcommand)]
    Name(invite::NameCommand),
    /// Invitation codes: make one, accept one, list, revoke, approve or decline.
    #[command(subcommand)]
    Invite(invite::InviteCommand),
    /// The people you have a relationship with.
    #[command(subcommand)]
    Contact(invite::ContactCommand),
    /// Whom you trust, how much, and why.
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// Groups: create, list, members, invite, remove, leave.
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Send a message to a group (waits until it is sent; GROUP is its name or the start of
    /// its id).
    Send {
        #[arg(value_name = "GROUP")]
        group: String,
        #[arg(value_name = "TEXT")]
        text: String,
        /// Return once the message is in the outbox.
        #[arg(long)]
        no_wait: bool,
    },
    /// A group's messages, one per line: time, author, text, and how far yours got.
    Log {
        #[arg(value_name = "GROUP")]
        group: String,
        /// How many of the last messages.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Keep printing new messages as they come.
        #[arg(long)]
        follow: bool,
    },
    /// Print this device's peer id and identity fingerprint.
    Id,
    /// Show the profile, its files, identity and store statistics, and the running node's
    /// listen addresses and connected peers.
    Status,
    /// Run the node without the TUI, until SIGTERM or Ctrl-C.
    Daemon,
    /// Manage the peers this profile dials at start.
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Inspect flow budgets: what this device may still send each peer in each context, each
    /// context's leakage, and what peers sent it.
    #[command(subcommand)]
    Budget(BudgetCommand),
}

#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Every budget, from the running node or, when none runs, as the store kept them.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Keep MULTIADDR (e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3…) and dial it at every start;
    /// with a node running, say whether the peer was reached.
    Add {
        #[arg(value_name = "MULTIADDR")]
        addr: String,
    },
    /// The saved peer addresses: whose they are, when they were added and, with a node
    /// running, whether each peer is connected.
    List,
    /// Forget a saved address, or every saved address of a peer id.
    Remove {
        #[arg(value_name = "MULTIADDR|PEER_ID")]
        target: String,
    },
}

/// Parses the command line, runs it, and turns an error into a message and an exit code.
pub fn main() -> ExitCode {
    // Everything Aura creates is private to its owner, whichever code creates it.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`aura status | head -1`): nothing left to say.
        Err(err) if err.is::<StdoutClosed>() => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr().lock(), "aura: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each cause once: many errors quote their source in
/// their own message, and `{:#}` would print it again.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Standard output was closed by its reader.
#[derive(Debug, thiserror::Error)]
#[error("standard output is closed")]
pub struct StdoutClosed;

/// Writes `text` to standard output; a closed one ends the command quietly.
fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match write!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(err) => Err(err).context("writing to standard output"),
    }
}

/// Writes a line to standard error; there is nowhere to report a failure to.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

pub fn run(cli: Cli) -> Result<()> {
    let paths = ProfilePaths::resolve(&cli.profile, cli.data_dir.as_deref())?;
    match cli.command {
        None => run_tui(&paths),
        Some(CliCommand::Init { name }) => {
            init(&paths)?;
            match name {
                Some(name) => invite::set_initial_name(&paths, name),
                None => Ok(()),
            }
        }
        Some(CliCommand::Name(command)) => invite::name(&paths, command),
        Some(CliCommand::Invite(command)) => invite::invite(&paths, command),
        Some(CliCommand::Contact(command)) => invite::contact(&paths, command),
        Some(CliCommand::Trust(command)) => trust::trust(&paths, command),
        Some(CliCommand::Group(command)) => group::group(&paths, command),
        Some(CliCommand::Send {
            group,
            text,
            no_wait,
        }) => group::send(&paths, group, text, no_wait),
        Some(CliCommand::Log {
            group,
            limit,
            follow,
        }) => group::log(&paths, group, limit, follow),
        Some(CliCommand::Id) => answered(&paths, ControlRequest::Id),
        Some(CliCommand::Status) => answered(&paths, ControlRequest::Status),
        Some(CliCommand::Daemon) => daemon(&paths),
        Some(CliCommand::Peer(PeerCommand::Add { addr })) => {
            // Checked before anything is opened or asked, so that a bad address is refused
            // the same way whether a node runs or not, and an over-long one is never sent.
            answer::check_addr_text(&addr)?;
            answered(&paths, ControlRequest::PeerAdd { addr })
        }
        Some(CliCommand::Peer(PeerCommand::List)) => answered(&paths, ControlRequest::PeerList),
        Some(CliCommand::Peer(PeerCommand::Remove { target })) => {
            answer::parse_target(&target)?;
            answered(&paths, ControlRequest::PeerRemove { target })
        }
        Some(CliCommand::Budget(BudgetCommand::List)) => {
            answered(&paths, ControlRequest::BudgetList)
        }
    }
}

/// Runs a command a node answers: asks the running node or, when none runs, the store, and
/// prints the answer with the one renderer.
fn answered(paths: &ProfilePaths, request: ControlRequest) -> Result<()> {
    paths.check_dirs()?;
    let config = config::load(&paths.config_file)?;
    // `status` lists them in its own output.
    if request != ControlRequest::Status {
        for key in &config.unknown_keys {
            note(&unknown_key_notice(&config, key));
        }
    }
    let (source, response) = ask(paths, &config, &request)?;
    let local = render::Local {
        paths,
        config: &config,
        now_ms: now_ms(),
    };
    let text = render::render(&response, source, &local)?;
    print(&text)
}

/// The answer to `request`, from the node running on the profile or else from its store.
/// A locked store with no node answering yet is a node starting (or another command reading
/// briefly): the socket is asked again until [`LOCKED_WAIT`] has passed.
fn ask(
    paths: &ProfilePaths,
    config: &LoadedConfig,
    request: &ControlRequest,
) -> Result<(Source, ControlResponse)> {
    let profile = OfflineProfile {
        paths,
        guard: GuardConfig {
            trust_hop_limit: config.config.trust.hop_limit,
            ..GuardConfig::from_config(&config.config.budgets)
        },
        now_ms: now_ms(),
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let asked = client::ask(&paths.socket_file, request)
            .with_context(|| format!("asking the node of profile '{}'", paths.profile))?;
        if let Some(response) = asked {
            return Ok((Source::Node, response));
        }
        match offline::answer(request, &profile) {
            Ok(response) => return Ok((Source::Store, response)),
            Err(err) if err.is_locked() && tries < LOCK_TRIES => {
                std::thread::sleep(LOCK_POLL);
            }
            Err(err) => return Err(err.into()),
        }
    }
}

// The binary's edge reads the wall clock for what it writes itself.
#[allow(clippy::disallowed_methods)]
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_millis() as u64)
        .unwrap_or(0)
}

/// Starts the node of the profile at `paths`, serving its control socket. Runs inside the
/// tokio runtime.
async fn start_node(
    paths: &ProfilePaths,
    store: Store,
    identity: DeviceIdentity,
    config: &LoadedConfig,
) -> Result<NodeHandle> {
    let mut options = NodeOptions::from_config(&paths.profile, store, identity, &config.config);
    options.control_socket = Some(paths.socket_file.clone());
    Node::start(options)
        .await
        .context("starting the network node")
}

fn daemon(paths: &ProfilePaths) -> Result<()> {
    let (store, identity, config) = open_profile(paths, true)?;
    let _log_guard = logging::init(&paths.log_dir, &config.config)?;
    tracing::info!(profile = %paths.profile, peer_id = %identity.peer_id(), "starting the daemon");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("listening for SIGTERM")?;
        let peer_id = identity.peer_id();
        let node = start_node(paths, store, identity, &config).await?;
        note(&format!(
            "aura daemon: profile '{}', peer id {peer_id}; stop with Ctrl-C or SIGTERM",
            paths.profile,
        ));
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("daemon stopping");
        node.stop().await.context("stopping the node")?;
        Ok(())
    })
}

/// Loads the config and opens (creating if needed) the profile's store and identity, for a
/// node or `init`. A locked store is retried for [`LOCKED_WAIT`]: a CLI command holds it only
/// briefly, and must never make a starting node fail. A node answering on the profile's
/// socket holds it for good, so that is an error at once.
fn open_profile(
    paths: &ProfilePaths,
    report_unknown_keys: bool,
) -> Result<(Store, DeviceIdentity, LoadedConfig)> {
    paths.check_dirs()?;
    let config = config::load(&paths.config_file)?;
    if report_unknown_keys {
        for key in &config.unknown_keys {
            note(&unknown_key_notice(&config, key));
        }
    }
    paths.create_dirs()?;
    let store = open_store_waiting(paths)?;
    let identity = DeviceIdentity::load_or_create(&store)
        .with_context(|| format!("loading the identity of profile '{}'", paths.profile))?;
    Ok((store, identity, config))
}

fn open_store_waiting(paths: &ProfilePaths) -> Result<Store> {
    let mut tries = 0;
    loop {
        tries += 1;
        match Store::open(&paths.store_file, &paths.profile) {
            Err(StoreError::Locked { .. }) if client::node_answers(&paths.socket_file) => {
                anyhow::bail!(
                    "profile '{}' is in use by a running Aura node (it answers on {})",
                    paths.profile,
                    paths.socket_file.display()
                );
            }
            Err(StoreError::Locked { .. }) if tries < LOCK_TRIES => {
                std::thread::sleep(LOCK_POLL);
            }
            opened => return Ok(opened?),
        }
    }
}

fn unknown_key_notice(config: &LoadedConfig, key: &str) -> String {
    let file = config
        .source
        .as_ref()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    format!("config: unknown key `{key}` in {file} (ignored)")
}

fn init(paths: &ProfilePaths) -> Result<()> {
    let existed = paths.store_file.exists();
    let (_store, identity, _config) = open_profile(paths, true)?;
    let created = if existed {
        format!("profile '{}' already exists", paths.profile)
    } else {
        format!("created profile '{}'", paths.profile)
    };
    print(&format!(
        "{created}\npeer id      {}\nfingerprint  {}\nstore        {}\n",
        identity.peer_id(),
        identity.fingerprint(),
        paths.store_file.display()
    ))
}

fn run_tui(paths: &ProfilePaths) -> Result<()> {
    // Everything that can fail with a message for the user happens before the terminal is
    // taken over, so that the message lands on a normal screen.
    let (store, identity, config) = open_profile(paths, false)?;
    let _log_guard = logging::init(&paths.log_dir, &config.config)?;
    tracing::info!(profile = %paths.profile, peer_id = %identity.peer_id(), "starting the TUI");
    let peer_id = identity.peer_id();
    let mut app = App::new(
        IdentitySummary {
            profile: paths.profile.clone(),
            peer_id,
            short_peer_id: short_peer_id(&peer_id),
            fingerprint: identity.fingerprint().to_string(),
        },
        (0, 0),
    );
    for key in &config.unknown_keys {
        tracing::warn!(key, "unknown config key ignored");
        app.model.notices.push(unknown_key_notice(&config, key));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let tick = Duration::from_millis(config.config.ui.tick_ms);
    let result = runtime.block_on(async {
        let mut node = start_node(paths, store, identity, &config).await?;
        let events = node.events();
        let shown = async {
            let mut guard = ui::terminal::TerminalGuard::enter()?;
            ui::event_loop::run(guard.terminal(), &mut app, node.client(), events, tick).await
        }
        .await
        .context("terminal");
        let stopped = node.stop().await.context("stopping the node").map(drop);
        shown.and(stopped)
    });
    tracing::info!("TUI closed");
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read {path}: {source}")]
    struct Quoting {
        path: &'static str,
        source: std::io::Error,
    }

    #[test]
    fn a_cause_its_error_already_quotes_is_not_repeated() {
        let io = std::io::Error::other("Is a directory");
        let err = anyhow::Error::new(Quoting {
            path: "x",
            source: io,
        })
        .context("loading");
        assert_eq!(format!("{err:#}").matches("Is a directory").count(), 2);
        assert_eq!(one_line(&err), "loading: cannot read x: Is a directory");
        let plain = anyhow::anyhow!("first\nsecond").context("outer");
        assert_eq!(one_line(&plain), "outer: first second");
    }
}
