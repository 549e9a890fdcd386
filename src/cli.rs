//! The command line: parsing with clap, and the edge where module errors get their context
//! and become one line for the user.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tokio::sync::mpsc;

use crate::config::{self, LoadedConfig};
use crate::identity::{DeviceIdentity, short_peer_id};
use crate::logging;
use crate::paths::ProfilePaths;
use crate::state::{Store, StoreStats};
use crate::ui::{self, App, IdentitySummary};

/// Capacity of the channel from the agent to the UI.
const AGENT_EVENT_CAPACITY: usize = 256;

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
    /// Show the profile, its files, identity and store statistics.
    Status,
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
            let (_store, identity, _config) = open_profile(&paths, true)?;
            println!("peer id      {}", identity.peer_id());
            println!("fingerprint  {}", identity.fingerprint());
            Ok(())
        }
        Some(CliCommand::Status) => status(&paths),
    }
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
            peer_id: peer_id.to_base58(),
            short_peer_id: short_peer_id(&peer_id),
            fingerprint: identity.fingerprint().to_string(),
        },
        (0, 0),
    );
    for key in &config.unknown_keys {
        tracing::warn!(key, "unknown config key ignored");
        app.notices.push(unknown_key_notice(&config, key));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // The agent that will publish network state and views holds the sending half; until it
    // exists, the channel stays open and quiet and the status bar says "offline".
    let (_agent_sender, agent_events) = mpsc::channel(AGENT_EVENT_CAPACITY);
    let tick = Duration::from_millis(config.config.ui.tick_ms);
    let result = runtime.block_on(async {
        let mut guard = ui::terminal::TerminalGuard::enter()?;
        ui::event_loop::run(guard.terminal(), &mut app, agent_events, tick).await
    });
    drop(store);
    tracing::info!("TUI closed");
    result.context("terminal")
}
