//! The command line: parsing with clap, and the edge where module errors get their context
//! and become one line for the user.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::agent::control;
use crate::agent::{self, GuardConfig};
use crate::config::{self, LoadedConfig};
use crate::identity::{DeviceIdentity, short_peer_id};
use crate::logging;
use crate::node::{Node, NodeHandle, NodeOptions};
use crate::paths::ProfilePaths;
use crate::state::{Store, StoreStats};
use crate::ui::{self, App, IdentitySummary};

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
    Init,
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
    /// Keep MULTIADDR (e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3…) and dial it at every start.
    Add {
        #[arg(value_name = "MULTIADDR")]
        addr: String,
    },
}

/// Parses the command line, runs it, and turns an error into a message and an exit code.
pub fn main() -> ExitCode {
    // Everything Aura creates is private to its owner, whichever code creates it.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("aura: {err:#}");
            ExitCode::FAILURE
        }
    }
}

pub fn run(cli: Cli) -> Result<()> {
    let paths = ProfilePaths::resolve(&cli.profile, cli.data_dir.as_deref())?;
    match cli.command {
        None => run_tui(&paths),
        Some(CliCommand::Init) => init(&paths),
        Some(CliCommand::Id) => {
            if let Some(answer) = ask_node(&paths, "id")? {
                print!("{answer}");
                return Ok(());
            }
            let (_store, identity, _config) = open_profile(&paths, true)?;
            println!("peer id      {}", identity.peer_id());
            println!("fingerprint  {}", identity.fingerprint());
            Ok(())
        }
        Some(CliCommand::Status) => status(&paths),
        Some(CliCommand::Daemon) => daemon(&paths),
        Some(CliCommand::Peer(PeerCommand::Add { addr })) => peer_add(&paths, &addr),
        Some(CliCommand::Budget(BudgetCommand::List)) => budget_list(&paths),
    }
}

fn budget_list(paths: &ProfilePaths) -> Result<()> {
    if let Some(answer) = ask_node(paths, "budget list")? {
        print!("{answer}");
        return Ok(());
    }
    let (store, _identity, config) = open_profile(paths, true)?;
    let guard = GuardConfig::from_config(&config.config.budgets);
    let now = now_ms();
    let ledgers = agent::KeptLedgers::load(&store, &guard)?.as_of(&guard, now);
    let report = agent::BudgetReport {
        ledgers,
        policy: guard.flow,
        now_ms: now,
    };
    println!("(no node is running: budgets as the store kept them)");
    print!("{}", report.text());
    Ok(())
}

/// Asks the node running on the profile, if one does; `None` when none runs.
fn ask_node(paths: &ProfilePaths, request: &str) -> Result<Option<String>> {
    control::request(&paths.socket_file, request)
        .with_context(|| format!("asking the node of profile '{}'", paths.profile))
}

fn peer_add(paths: &ProfilePaths, addr: &str) -> Result<()> {
    let parsed: libp2p::Multiaddr = addr.parse().with_context(|| {
        format!("`{addr}` is not a multiaddr (e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3…)")
    })?;
    if let Some(answer) = ask_node(paths, &format!("peer add {parsed}"))? {
        print!("{answer}");
        return Ok(());
    }
    let (store, _identity, _config) = open_profile(paths, true)?;
    let fresh = store.add_peer_addr(&parsed.to_string(), now_ms())?;
    let known = if fresh { "added" } else { "already known:" };
    println!("{known} peer {parsed}; it is dialled when a node starts on this profile");
    Ok(())
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
        eprintln!(
            "aura daemon: profile '{}', peer id {peer_id}; stop with Ctrl-C or SIGTERM",
            paths.profile,
        );
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("daemon stopping");
        node.stop().await.context("stopping the node")?;
        Ok(())
    })
}

/// Loads the config and opens (creating if needed) the profile's store and identity.
fn open_profile(
    paths: &ProfilePaths,
    report_unknown_keys: bool,
) -> Result<(Store, DeviceIdentity, LoadedConfig)> {
    let config = config::load(&paths.config_file)?;
    if report_unknown_keys {
        for key in &config.unknown_keys {
            eprintln!("{}", unknown_key_notice(&config, key));
        }
    }
    paths.create_dirs()?;
    let store = Store::open(&paths.store_file, &paths.profile)?;
    let identity = DeviceIdentity::load_or_create(&store)
        .with_context(|| format!("loading the identity of profile '{}'", paths.profile))?;
    Ok((store, identity, config))
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
    if existed {
        println!("profile '{}' already exists", paths.profile);
    } else {
        println!("created profile '{}'", paths.profile);
    }
    println!("peer id      {}", identity.peer_id());
    println!("fingerprint  {}", identity.fingerprint());
    println!("store        {}", paths.store_file.display());
    Ok(())
}

fn status(paths: &ProfilePaths) -> Result<()> {
    let config = config::load(&paths.config_file)?;
    let config_state = match &config.source {
        Some(_) => "",
        None => " (not present; defaults in use)",
    };
    println!("profile      {}", paths.profile);
    println!("config       {}{config_state}", paths.config_file.display());
    for key in &config.unknown_keys {
        println!("             unknown key `{key}` (ignored)");
    }
    println!("data         {}", paths.data_dir.display());
    println!("logs         {}", paths.log_dir.display());
    if let Some(answer) = ask_node(paths, "status")? {
        println!(
            "store        {} (held by the running node)",
            paths.store_file.display()
        );
        print!("{answer}");
        return Ok(());
    }
    if !paths.store_file.exists() {
        println!(
            "store        {} (not created yet)",
            paths.store_file.display()
        );
        println!(
            "identity     none yet: run `aura --profile {} init`",
            paths.profile
        );
        return Ok(());
    }
    let store = Store::open(&paths.store_file, &paths.profile)?;
    let identity = DeviceIdentity::load_or_create(&store)?;
    let StoreStats {
        schema_version,
        file_bytes,
        tables,
    } = store.stats()?;
    println!(
        "store        {} ({} KiB, schema v{schema_version})",
        paths.store_file.display(),
        file_bytes.div_ceil(1024)
    );
    for (table, entries) in tables {
        println!("  {table:<10} {entries} entries");
    }
    println!("peer id      {}", identity.peer_id());
    println!("fingerprint  {}", identity.fingerprint());
    println!("network      offline (no node is running)");
    Ok(())
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
