//! Where a profile keeps its files.
//!
//! By default Aura follows the platform's conventions (XDG on Linux) through the `directories`
//! crate: the config file in the config dir, one data folder per profile, one log folder per
//! profile. `--data-dir DIR` (or `AURA_HOME`) puts everything under one folder instead, which is
//! how tests and a second identity on the same machine stay apart.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Longest accepted profile name.
pub const MAX_PROFILE_NAME_LEN: usize = 32;
/// Permissions of every folder Aura creates: the owner alone may enter.
pub const DIR_MODE: u32 = 0o700;
/// Permissions of every file Aura creates: the owner alone may read it.
pub const FILE_MODE: u32 = 0o600;

const APPLICATION: &str = "aura";
const PROFILES_DIR: &str = "profiles";
const STORE_FILE: &str = "store.redb";
/// The running node's control socket.
const SOCKET_FILE: &str = "node.sock";
const CONFIG_FILE: &str = "config.toml";
const LOG_DIR: &str = "logs";

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error(
        "invalid profile name {0:?}: use 1 to {MAX_PROFILE_NAME_LEN} letters, digits, '-' or '_'"
    )]
    InvalidProfileName(String),
    #[error("no home directory found; pass --data-dir or set AURA_HOME")]
    NoHomeDirectory,
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a folder: profile '{profile}' keeps its files there")]
    ProfileNotAFolder { path: PathBuf, profile: String },
    #[error("{path} is not a folder: profile '{profile}' keeps its files in {data_dir}")]
    NotAFolder {
        path: PathBuf,
        profile: String,
        data_dir: PathBuf,
    },
    #[error("cannot use the folder {path} of profile '{profile}': {reason}")]
    Unusable {
        path: PathBuf,
        profile: String,
        reason: String,
    },
}

/// The files and folders of one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilePaths {
    pub profile: String,
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
    pub store_file: PathBuf,
    pub log_dir: PathBuf,
    /// The running node's control socket, in the profile folder.
    pub socket_file: PathBuf,
}

impl ProfilePaths {
    /// Resolves the paths of `profile`, under `data_dir` when given, else in the platform's
    /// standard locations. Creates nothing.
    pub fn resolve(profile: &str, data_dir: Option<&Path>) -> Result<Self, PathError> {
        validate_profile_name(profile)?;
        let (config_file, profile_root, log_root) = match data_dir {
            Some(root) => (
                root.join(CONFIG_FILE),
                root.join(PROFILES_DIR),
                root.join(PROFILES_DIR),
            ),
            None => {
                let dirs = directories::ProjectDirs::from("", "", APPLICATION)
                    .ok_or(PathError::NoHomeDirectory)?;
                let state = dirs.state_dir().unwrap_or(dirs.data_local_dir());
                (
                    dirs.config_dir().join(CONFIG_FILE),
                    dirs.data_dir().join(PROFILES_DIR),
                    state.join(PROFILES_DIR),
                )
            }
        };
        let data_dir = profile_root.join(profile);
        Ok(Self {
            profile: profile.to_owned(),
            config_file,
            store_file: data_dir.join(STORE_FILE),
            socket_file: data_dir.join(SOCKET_FILE),
            log_dir: log_root.join(profile).join(LOG_DIR),
            data_dir,
        })
    }

    /// Checks that the profile folder, or the nearest of its parents that exists, is a folder
    /// this user can enter and list: otherwise the config, the store and the socket would each
    /// fail in it with a message about themselves. Creates nothing.
    pub fn check_dirs(&self) -> Result<(), PathError> {
        let unusable = |path: &Path, reason: String| PathError::Unusable {
            path: path.to_owned(),
            profile: self.profile.clone(),
            reason,
        };
        for dir in self.data_dir.ancestors() {
            match fs::metadata(dir) {
                Ok(meta) if meta.is_dir() => {
                    let access = rustix::fs::Access::READ_OK | rustix::fs::Access::EXEC_OK;
                    return rustix::fs::access(dir, access)
                        .map_err(|err| unusable(dir, std::io::Error::from(err).to_string()));
                }
                Ok(_) if dir == self.data_dir => {
                    return Err(PathError::ProfileNotAFolder {
                        path: dir.to_owned(),
                        profile: self.profile.clone(),
                    });
                }
                Ok(_) => {
                    return Err(PathError::NotAFolder {
                        path: dir.to_owned(),
                        profile: self.profile.clone(),
                        data_dir: self.data_dir.clone(),
                    });
                }
                // Not there yet, or under something that is not a folder: look further up.
                Err(err)
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) => {}
                Err(err) => return Err(unusable(dir, err.to_string())),
            }
        }
        Ok(())
    }

    /// Creates the profile's data and log folders, owner-only.
    pub fn create_dirs(&self) -> Result<(), PathError> {
        create_private_dir(&self.data_dir)?;
        create_private_dir(&self.log_dir)
    }
}

fn validate_profile_name(name: &str) -> Result<(), PathError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_PROFILE_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(PathError::InvalidProfileName(name.to_owned()))
    }
}

/// Creates `path` and its missing parents with mode 0700, and tightens `path` itself if it
/// already existed with looser permissions.
fn create_private_dir(path: &Path) -> Result<(), PathError> {
    let wrap = |source| PathError::CreateDir {
        path: path.to_owned(),
        source,
    };
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
        .map_err(wrap)?;
    let mode = fs::metadata(path).map_err(wrap)?.permissions().mode() & 0o777;
    if mode != DIR_MODE {
        fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE)).map_err(wrap)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_under_a_data_dir_are_separate() {
        let root = Path::new("/tmp/aura-root");
        let a = ProfilePaths::resolve("a", Some(root)).unwrap();
        let b = ProfilePaths::resolve("b", Some(root)).unwrap();
        assert_eq!(a.store_file, root.join("profiles/a/store.redb"));
        assert_eq!(a.log_dir, root.join("profiles/a/logs"));
        assert_eq!(a.config_file, b.config_file);
        assert_ne!(a.data_dir, b.data_dir);
    }

    #[test]
    fn bad_profile_names_are_rejected() {
        for name in ["", "../x", "a/b", "a b", ".", &"x".repeat(33)] {
            assert!(
                matches!(
                    ProfilePaths::resolve(name, Some(Path::new("/tmp"))),
                    Err(PathError::InvalidProfileName(_))
                ),
                "{name:?} was accepted"
            );
        }
        assert!(ProfilePaths::resolve("work-2_b", Some(Path::new("/tmp"))).is_ok());
    }

    #[test]
    fn a_file_where_a_folder_belongs_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("home");
        fs::write(&file, b"").unwrap();
        let paths = ProfilePaths::resolve("p", Some(&file)).unwrap();
        let err = paths.check_dirs().unwrap_err();
        assert!(
            matches!(&err, PathError::NotAFolder { path, .. } if *path == file),
            "{err}"
        );
        let fine = ProfilePaths::resolve("p", Some(&tmp.path().join("new"))).unwrap();
        fine.check_dirs().unwrap();
    }

    #[test]
    fn created_dirs_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = ProfilePaths::resolve("p", Some(tmp.path())).unwrap();
        paths.create_dirs().unwrap();
        for dir in [&paths.data_dir, &paths.log_dir] {
            let mode = fs::metadata(dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, DIR_MODE, "{}", dir.display());
        }
    }
}
