//! Settings: the embedded defaults (`assets/config.toml`) with the user's file merged over them.
//!
//! A key the defaults do not know is reported by name and otherwise ignored, so that a typo
//! never passes silently and never stops Aura from starting. A value of the wrong type or out of
//! range is an error that names the file and the key.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tracing::level_filters::LevelFilter;

use crate::state::flow_budget::BudgetPolicy;
use crate::state::leakage::{LeakageCost, LeakagePolicy};

/// The defaults, compiled in so that Aura runs without any file on disk.
pub const DEFAULT_CONFIG: &str = include_str!("../assets/config.toml");
/// A config file larger than this is rejected unread.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024;
pub const TICK_MS_RANGE: std::ops::RangeInclusive<u64> = 50..=5000;
/// A trust path's hops: a contact is one; more than five says nothing worth trusting.
pub const HOP_LIMIT_RANGE: std::ops::RangeInclusive<u64> =
    1..=crate::trust::graph::MAX_HOP_LIMIT as u64;
pub const KEEP_LOG_FILES_RANGE: std::ops::RangeInclusive<usize> = 1..=365;
/// A day: longer epochs would leave a flooded budget shut for too long.
pub const EPOCH_SECS_RANGE: std::ops::RangeInclusive<u64> = 1..=86_400;
/// 2^40 units: far above any real limit, low enough that sums of limits cannot overflow.
pub const BUDGET_LIMIT_RANGE: std::ops::RangeInclusive<u64> = 0..=(1 << 40);
pub const RESERVE_PERCENT_RANGE: std::ops::RangeInclusive<u64> = 0..=100;
pub const SYNC_INTERVAL_SECS_RANGE: std::ops::RangeInclusive<u64> = 5..=3600;
/// Listen, bootstrap and relay addresses each list may hold.
pub const MAX_NETWORK_ADDRS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub log: LogConfig,
    pub ui: UiConfig,
    pub budgets: BudgetsConfig,
    pub network: NetworkConfig,
    pub trust: TrustConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetsConfig {
    pub epoch_secs: u64,
    pub limit_none: u64,
    pub limit_low: u64,
    pub limit_medium: u64,
    pub limit_high: u64,
    pub limit_complete: u64,
    pub leakage_external: u64,
    pub leakage_neighbour: u64,
    pub leakage_group: u64,
    pub optional_reserve_percent: u64,
}

impl BudgetsConfig {
    /// `(key, limit)` from the lowest trust level to the highest.
    fn trust_limits(&self) -> [(&'static str, u64); 5] {
        [
            ("budgets.limit_none", self.limit_none),
            ("budgets.limit_low", self.limit_low),
            ("budgets.limit_medium", self.limit_medium),
            ("budgets.limit_high", self.limit_high),
            ("budgets.limit_complete", self.limit_complete),
        ]
    }

    pub fn flow_policy(&self) -> BudgetPolicy {
        BudgetPolicy {
            epoch_ms: self.epoch_secs.saturating_mul(1000),
            limit_by_trust: self.trust_limits().map(|(_, limit)| limit),
        }
    }

    pub fn leakage_policy(&self) -> LeakagePolicy {
        LeakagePolicy {
            default_limit: LeakageCost {
                external: self.leakage_external,
                neighbour: self.leakage_neighbour,
                group: self.leakage_group,
            },
            optional_reserve_percent: self.optional_reserve_percent,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    pub listen: Vec<String>,
    pub mdns: bool,
    pub bootstrap: Vec<String>,
    pub sync_interval_secs: u64,
    /// Relays to be reached through, each a relay's address ending in `/p2p/PEER_ID`.
    pub relays: Vec<String>,
}

impl NetworkConfig {
    /// The listen addresses, already checked to parse when the config was loaded.
    pub fn listen_addrs(&self) -> Vec<libp2p::Multiaddr> {
        self.listen
            .iter()
            .filter_map(|addr| addr.parse().ok())
            .collect()
    }

    /// The bootstrap addresses, already checked when the config was loaded.
    pub fn bootstrap_addrs(&self) -> Vec<libp2p::Multiaddr> {
        self.bootstrap
            .iter()
            .filter_map(|addr| addr.parse().ok())
            .collect()
    }

    /// What the node listens on to be reached through each relay: the relay's address (checked
    /// when the config was loaded) followed by `/p2p-circuit`.
    pub fn relay_listen_addrs(&self) -> Vec<libp2p::Multiaddr> {
        self.relays
            .iter()
            .filter_map(|addr| addr.parse::<libp2p::Multiaddr>().ok())
            .map(|addr| addr.with(libp2p::multiaddr::Protocol::P2pCircuit))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
    pub keep_files: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    pub tick_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// How many hops a trust path may have.
    pub hop_limit: u8,
}

impl Config {
    /// The log level, already checked to parse when the config was loaded.
    pub fn log_level(&self) -> LevelFilter {
        self.log.level.parse().unwrap_or(LevelFilter::INFO)
    }
}

/// A loaded configuration and what was noticed on the way.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    /// The user's file, when there was one.
    pub source: Option<PathBuf>,
    /// Keys the user's file set that Aura does not know, as dotted paths.
    pub unknown_keys: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("config file {path}{at}: not valid TOML: {message}")]
    Syntax {
        path: PathBuf,
        /// ` line L, column C`, where the parser stopped; empty when it did not say.
        at: String,
        message: String,
    },
    #[error("config file {path}: invalid value for `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// Loads the defaults and, if `path` exists, merges the user's file over them.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return defaults(),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
        });
    }
    let mut loaded = merge_user_text(&text, path)?;
    loaded.source = Some(path.to_owned());
    Ok(loaded)
}

/// The embedded defaults alone.
pub fn defaults() -> Result<LoadedConfig, ConfigError> {
    merge_user_text("", Path::new("<defaults>"))
}

/// Merges the text of a user file (named `path` in errors) over the defaults.
pub fn merge_user_text(text: &str, path: &Path) -> Result<LoadedConfig, ConfigError> {
    let syntax = |path: &Path, text: &str, err: toml::de::Error| ConfigError::Syntax {
        path: path.to_owned(),
        at: err
            .span()
            .map(|span| {
                let (line, column) = line_and_column(text, span.start);
                format!(" line {line}, column {column}")
            })
            .unwrap_or_default(),
        message: err.message().trim().replace('\n', " "),
    };
    let mut merged: toml::Table = toml::from_str(DEFAULT_CONFIG)
        .map_err(|err| syntax(Path::new("<embedded defaults>"), DEFAULT_CONFIG, err))?;
    let user: toml::Table = toml::from_str(text).map_err(|err| syntax(path, text, err))?;
    let mut unknown_keys = Vec::new();
    merge_known(&mut merged, user, "", &mut unknown_keys);

    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|err| {
            ConfigError::Invalid {
                path: path.to_owned(),
                key: err.path().to_string(),
                // The key is named once, above; toml's own text would name it again.
                message: err.inner().message().trim().to_owned(),
            }
        })?;
    validate(&config, path)?;
    Ok(LoadedConfig {
        config,
        source: None,
        unknown_keys,
    })
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

/// Copies the user's values over the defaults, key by key; keys absent from the defaults are
/// collected in `unknown` instead.
fn merge_known(base: &mut toml::Table, user: toml::Table, prefix: &str, unknown: &mut Vec<String>) {
    for (key, value) in user {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (base.get_mut(&key), value) {
            (None, _) => unknown.push(dotted),
            (Some(toml::Value::Table(base_table)), toml::Value::Table(user_table)) => {
                merge_known(base_table, user_table, &dotted, unknown)
            }
            (Some(slot), value) => *slot = value,
        }
    }
}

fn validate(config: &Config, path: &Path) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::Invalid {
        path: path.to_owned(),
        key: key.to_owned(),
        message,
    };
    if config.log.level.parse::<LevelFilter>().is_err() {
        return Err(invalid(
            "log.level",
            format!(
                "{:?} is not one of error, warn, info, debug, trace",
                config.log.level
            ),
        ));
    }
    check_range(
        "log.keep_files",
        config.log.keep_files,
        KEEP_LOG_FILES_RANGE,
        path,
    )?;
    check_range("ui.tick_ms", config.ui.tick_ms, TICK_MS_RANGE, path)?;
    check_range(
        "trust.hop_limit",
        u64::from(config.trust.hop_limit),
        HOP_LIMIT_RANGE,
        path,
    )?;
    check_range(
        "network.sync_interval_secs",
        config.network.sync_interval_secs,
        SYNC_INTERVAL_SECS_RANGE,
        path,
    )?;
    for (key, addrs, needs_peer) in [
        ("network.listen", &config.network.listen, false),
        ("network.bootstrap", &config.network.bootstrap, true),
        ("network.relays", &config.network.relays, true),
    ] {
        if addrs.len() > MAX_NETWORK_ADDRS {
            return Err(invalid(
                key,
                format!(
                    "{} addresses exceed the limit of {MAX_NETWORK_ADDRS}",
                    addrs.len()
                ),
            ));
        }
        for addr in addrs {
            let parsed: libp2p::Multiaddr = addr
                .parse()
                .map_err(|err| invalid(key, format!("{addr:?} is not a multiaddr: {err}")))?;
            let has_peer = parsed
                .iter()
                .any(|part| matches!(part, libp2p::multiaddr::Protocol::P2p(_)));
            if needs_peer && !has_peer {
                return Err(invalid(
                    key,
                    format!("{addr:?} does not end in /p2p/PEER_ID"),
                ));
            }
        }
    }
    validate_relays(&config.network.relays, path)?;
    validate_budgets(&config.budgets, path)
}

/// A relay is named by its own address: `/p2p-circuit` is added by the node, and the relay's
/// peer id must come last for the reservation address to name the relay.
fn validate_relays(relays: &[String], path: &Path) -> Result<(), ConfigError> {
    for addr in relays {
        // Each one was parsed with the other address lists.
        let Ok(parsed) = addr.parse::<libp2p::Multiaddr>() else {
            continue;
        };
        let problem = if crate::net::node::is_relayed(&parsed) {
            Some("is already a relayed address; give the relay's own address")
        } else if !matches!(
            parsed.iter().last(),
            Some(libp2p::multiaddr::Protocol::P2p(_))
        ) {
            Some("does not end in /p2p/PEER_ID")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                key: "network.relays".to_owned(),
                message: format!("{addr:?} {problem}"),
            });
        }
    }
    Ok(())
}

fn validate_budgets(budgets: &BudgetsConfig, path: &Path) -> Result<(), ConfigError> {
    check_range(
        "budgets.epoch_secs",
        budgets.epoch_secs,
        EPOCH_SECS_RANGE,
        path,
    )?;
    for (key, value) in budgets.trust_limits().into_iter().chain([
        ("budgets.leakage_external", budgets.leakage_external),
        ("budgets.leakage_neighbour", budgets.leakage_neighbour),
        ("budgets.leakage_group", budgets.leakage_group),
    ]) {
        check_range(key, value, BUDGET_LIMIT_RANGE, path)?;
    }
    check_range(
        "budgets.optional_reserve_percent",
        budgets.optional_reserve_percent,
        RESERVE_PERCENT_RANGE,
        path,
    )?;
    // More trust never means a smaller budget: a lower level above a higher one is a typo.
    for pair in budgets.trust_limits().windows(2) {
        let [(lower_key, lower), (key, value)] = [pair[0], pair[1]];
        if value < lower {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                key: key.to_owned(),
                message: format!("{value} is less than {lower_key} ({lower})"),
            });
        }
    }
    Ok(())
}

fn check_range<T: PartialOrd + std::fmt::Display>(
    key: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
    path: &Path,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        path: path.to_owned(),
        key: key.to_owned(),
        message: format!("{value} is outside {}..={}", range.start(), range.end()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Result<LoadedConfig, ConfigError> {
        merge_user_text(text, Path::new("/home/u/.config/aura/config.toml"))
    }

    #[test]
    fn defaults_parse_and_validate() {
        let loaded = defaults().unwrap();
        assert_eq!(loaded.config.log.level, "info");
        assert_eq!(loaded.config.ui.tick_ms, 250);
        assert!(loaded.unknown_keys.is_empty());
    }

    #[test]
    fn user_values_override_only_their_keys() {
        let loaded = user("[ui]\ntick_ms = 100\n").unwrap();
        assert_eq!(loaded.config.ui.tick_ms, 100);
        assert_eq!(loaded.config.log.level, "info");
    }

    #[test]
    fn unknown_keys_are_named_and_ignored() {
        let loaded =
            user("colour = 1\n[ui]\ntick_ms = 100\ntheme = \"x\"\n[net]\nport = 1\n").unwrap();
        assert_eq!(loaded.unknown_keys, ["colour", "net", "ui.theme"]);
        assert_eq!(loaded.config.ui.tick_ms, 100);
    }

    #[test]
    fn wrong_types_name_the_key_and_file() {
        let err = user("[ui]\ntick_ms = \"fast\"\n").unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, ConfigError::Invalid { key, .. } if key == "ui.tick_ms"),
            "{text}"
        );
        assert!(text.contains("config.toml"), "{text}");
        let err = user("log = 3\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, .. } if key == "log"),
            "{err}"
        );
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        for (text, key) in [
            ("[ui]\ntick_ms = 0\n", "ui.tick_ms"),
            ("[trust]\nhop_limit = 0\n", "trust.hop_limit"),
            ("[trust]\nhop_limit = 6\n", "trust.hop_limit"),
            ("[log]\nlevel = \"loud\"\n", "log.level"),
            ("[log]\nkeep_files = 0\n", "log.keep_files"),
        ] {
            let err = user(text).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key: k, .. } if k == key),
                "{err}"
            );
        }
    }

    #[test]
    fn budget_defaults_become_policies() {
        let config = defaults().unwrap().config;
        let policy = config.budgets.flow_policy();
        assert_eq!(policy.epoch_ms, 60_000);
        assert!(policy.limit_by_trust.windows(2).all(|w| w[0] <= w[1]));
        let leakage = config.budgets.leakage_policy();
        assert_eq!(leakage.optional_reserve_percent, 25);
        let loaded = user("[budgets]\nlimit_high = 20000\n").unwrap();
        assert_eq!(loaded.config.budgets.limit_high, 20_000);
    }

    #[test]
    fn bad_budget_values_name_their_key() {
        for (text, key) in [
            ("[budgets]\nepoch_secs = 0\n", "budgets.epoch_secs"),
            ("[budgets]\nepoch_secs = 86401\n", "budgets.epoch_secs"),
            (
                "[budgets]\nlimit_low = 1099511627777\n",
                "budgets.limit_low",
            ),
            (
                "[budgets]\nleakage_group = 1099511627777\n",
                "budgets.leakage_group",
            ),
            (
                "[budgets]\noptional_reserve_percent = 101\n",
                "budgets.optional_reserve_percent",
            ),
            ("[budgets]\nlimit_medium = 10\n", "budgets.limit_medium"),
            ("[budgets]\nlimit_none = -1\n", "budgets.limit_none"),
        ] {
            let err = user(text).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key: k, .. } if k == key),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn network_addresses_are_checked() {
        let loaded =
            user("[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\n").unwrap();
        assert!(!loaded.config.network.mdns);
        assert_eq!(loaded.config.network.listen_addrs().len(), 1);
        for (text, key) in [
            (
                "[network]\nlisten = [\"not an address\"]\n",
                "network.listen",
            ),
            (
                "[network]\nbootstrap = [\"/ip4/127.0.0.1/tcp/4001\"]\n",
                "network.bootstrap",
            ),
            (
                "[network]\nsync_interval_secs = 1\n",
                "network.sync_interval_secs",
            ),
            ("[network]\nmdns = \"yes\"\n", "network.mdns"),
            (
                "[network]\nrelays = [\"/ip4/127.0.0.1/tcp/4001\"]\n",
                "network.relays",
            ),
            ("[network]\nrelays = [\"relay\"]\n", "network.relays"),
            (
                &format!("[network]\nrelays = [\"{RELAY}/p2p-circuit\"]\n"),
                "network.relays",
            ),
            (
                &format!("[network]\nrelays = [\"{RELAY}/ip4/10.0.0.1/tcp/1\"]\n"),
                "network.relays",
            ),
        ] {
            let err = user(text).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key: k, .. } if k == key),
                "{text}: {err}"
            );
        }
    }

    /// A relay's address, its peer id last.
    const RELAY: &str =
        "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    #[test]
    fn relays_become_circuit_listen_addresses() {
        assert!(defaults().unwrap().config.network.relays.is_empty());
        let loaded = user(&format!("[network]\nrelays = [\"{RELAY}\"]\n")).unwrap();
        let listen = loaded.config.network.relay_listen_addrs();
        assert_eq!(listen.len(), 1);
        assert_eq!(listen[0].to_string(), format!("{RELAY}/p2p-circuit"));
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(user("[ui\n"), Err(ConfigError::Syntax { .. })));
        let err = user("[ui]\ntick_ms = 100\nkeep = = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3, column 8"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(line_and_column("ab\ncé\nx", 6), (2, 3));
        assert_eq!(line_and_column("", 0), (1, 1));
    }

    #[test]
    fn files_over_the_cap_are_rejected_and_missing_files_mean_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.toml");
        assert!(load(&path).unwrap().source.is_none());
        std::fs::write(&path, "#".repeat(MAX_CONFIG_BYTES as usize + 1)).unwrap();
        assert!(matches!(load(&path), Err(ConfigError::TooLarge { .. })));
    }
}
