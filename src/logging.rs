//! Logging to a daily-rolling file in the profile's log folder. Nothing is ever written to the
//! terminal, which belongs to the TUI.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

use crate::config::Config;

const LOG_FILE_PREFIX: &str = "aura";
const LOG_FILE_SUFFIX: &str = "log";

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("cannot open the log file in {dir}: {message}")]
    File { dir: String, message: String },
    #[error("logging was already set up in this process")]
    AlreadyInitialized,
}

/// Keeps the background log writer alive; logs written before it drops are flushed.
#[derive(Debug)]
#[must_use = "logs stop being written when the guard is dropped"]
pub struct LogGuard {
    _writer: WorkerGuard,
}

/// Sends this process's `tracing` output to `log_dir`. The level is `RUST_LOG` when set and
/// valid, else the config's `log.level`.
pub fn init(log_dir: &Path, config: &Config) -> Result<LogGuard, LoggingError> {
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .filename_suffix(LOG_FILE_SUFFIX)
        .max_log_files(config.log.keep_files)
        .build(log_dir)
        .map_err(|err| LoggingError::File {
            dir: log_dir.display().to_string(),
            message: err.to_string(),
        })?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::default().add_directive(config.log_level().into()));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|_| LoggingError::AlreadyInitialized)?;
    Ok(LogGuard { _writer: guard })
}
