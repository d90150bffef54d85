//! TFA settings in a JSON file, for one server (and the operator's tool) on one host.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tfa_directory::Username;
use tokio::sync::Mutex;

use super::{CounterKey, TfaStateStore};
use crate::{BypassGrant, FlowError, Timestamp};

/// Format version written in every settings file.
const FILE_VERSION: u32 = 1;

/// The store's name in [`FlowError::Store`].
const STORE: &str = "tfa settings";

/// Why a TFA settings file could not be read or written.
///
/// It reaches callers as the `source` of [`FlowError::Store`] (downcast it to tell the cases
/// apart); every case names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TfaStateFileError {
    /// The file does not exist and was required to (see [`FileTfaStateStore::open`]).
    #[error("tfa settings file {path} does not exist")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file existed when the store was opened and has since been removed: refuse rather
    /// than forget every block and setting.
    #[error("tfa settings file {path} has disappeared")]
    Disappeared {
        /// The file.
        path: PathBuf,
    },
    /// The operating system refused to read the file.
    #[error("cannot read tfa settings file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The operating system refused to write the file; the old contents are intact.
    #[error("cannot write tfa settings file {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a settings file this version understands.
    #[error("tfa settings file {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line and column where known.
        reason: String,
    },
}

impl From<TfaStateFileError> for FlowError {
    fn from(error: TfaStateFileError) -> Self {
        FlowError::Store {
            store: STORE,
            source: Box::new(error),
        }
    }
}

/// One user's TFA settings as an administrator sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserTfaSettings {
    /// The user's own enforcement setting (`None`: follow groups and the default policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforced: Option<bool>,
    /// A one-time bypass not yet used (it may have expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bypass: Option<BypassGrant>,
    /// When the user's TFA was blocked (after a fraud report), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_at: Option<Timestamp>,
}

impl UserTfaSettings {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The whole file as it is on disk.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    version: u32,
    users: BTreeMap<String, UserTfaSettings>,
}

impl SettingsFile {
    fn empty() -> Self {
        Self {
            version: FILE_VERSION,
            users: BTreeMap::new(),
        }
    }
}

/// What identifies one version of the file: each write renames a new file into place, so
/// the inode changes; size and modification time catch edits in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    fn of(metadata: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (metadata.dev(), metadata.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Self {
            dev,
            ino,
            len: metadata.len(),
            modified: metadata.modified().ok(),
        }
    }
}

#[derive(Debug)]
struct Loaded {
    file: SettingsFile,
    /// The version of the file `file` was read from or written as; `None` while there is no
    /// file yet.
    stamp: Option<Stamp>,
}

/// Per-user TFA settings (enforcement, one-time bypasses, fraud blocks) in a JSON file.
///
/// Every change re-reads the file, applies itself and writes the whole file atomically
/// (temporary file beside it, fsync, rename, fsync of the directory), so a crash leaves the
/// old or the new settings, never a mix. Reads check whether the file changed (one `stat`)
/// and re-read it if so, so changes made by `tfa-admin` while a server runs take effect at
/// the next login. Calls within one process are serialised by a lock.
///
/// This is for one server on one host, next to the operator's tool. Two processes changing
/// the file at the very same moment can lose one change; several nodes share settings
/// through the shared store crate instead.
///
/// Fail closed: a file that cannot be read, is corrupt, or vanished after it was opened
/// makes every call fail with [`FlowError::Store`], whose source is a
/// [`TfaStateFileError`] naming the file.
///
/// ```
/// # use tfa_flow::{FileTfaStateStore, TfaStateStore};
/// # use tfa_directory::Username;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("tfa-settings.json");
/// let store = FileTfaStateStore::open_or_create(&path).await?;
/// store.set_enforcement(&Username::new("alice")?, Some(false)).await?;
///
/// let reopened = FileTfaStateStore::open(&path).await?;
/// assert_eq!(reopened.enforcement(&Username::new("Alice")?).await?, Some(false));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FileTfaStateStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    state: Mutex<Loaded>,
}

impl FileTfaStateStore {
    /// Opens an existing settings file. A missing file is an error
    /// ([`TfaStateFileError::Missing`]): a mistyped path must not silently drop every block.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, FlowError> {
        let path = path.as_ref().to_owned();
        let loaded = read_blocking(path.clone()).await?;
        if loaded.stamp.is_none() {
            return Err(TfaStateFileError::Missing { path }.into());
        }
        Ok(Self::with(path, loaded))
    }

    /// Opens a settings file, or starts with no settings and writes the file at the first
    /// change.
    pub async fn open_or_create(path: impl AsRef<Path>) -> Result<Self, FlowError> {
        let path = path.as_ref().to_owned();
        let loaded = read_blocking(path.clone()).await?;
        Ok(Self::with(path, loaded))
    }

    fn with(path: PathBuf, loaded: Loaded) -> Self {
        Self {
            inner: Arc::new(Inner {
                path,
                state: Mutex::new(loaded),
            }),
        }
    }

    /// The settings file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Every user with a setting, a bypass or a block, by lower-case name.
    pub async fn users(&self) -> Result<BTreeMap<String, UserTfaSettings>, FlowError> {
        let mut state = self.inner.state.lock().await;
        self.refresh(&mut state)?;
        Ok(state.file.users.clone())
    }

    /// Sets (or with `None` clears) the enforcement setting of every user in `users`, in one
    /// write: all of them change, or none.
    pub async fn set_enforcement_many(
        &self,
        users: &[Username],
        enforced: Option<bool>,
    ) -> Result<(), FlowError> {
        self.modify(|file| {
            for user in users {
                entry(file, user, |settings| settings.enforced = enforced);
            }
            true
        })
        .await
    }

    /// Re-reads the file if it changed since it was last read or written.
    fn refresh(&self, state: &mut Loaded) -> Result<(), TfaStateFileError> {
        let path = &self.inner.path;
        let stamp = match std::fs::metadata(path) {
            Ok(metadata) => Some(Stamp::of(&metadata)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(TfaStateFileError::Read {
                    path: path.clone(),
                    source,
                });
            }
        };
        match (state.stamp, stamp) {
            (_, Some(now)) if state.stamp == Some(now) => Ok(()),
            (None, None) => Ok(()),
            (Some(_), None) => Err(TfaStateFileError::Disappeared { path: path.clone() }),
            (_, Some(_)) => {
                *state = read(path)?;
                Ok(())
            }
        }
    }

    /// Applies `change` to fresh settings and writes them if it returns true. Memory follows
    /// the file: if the write fails, nothing changes.
    async fn modify(
        &self,
        change: impl FnOnce(&mut SettingsFile) -> bool,
    ) -> Result<(), FlowError> {
        let mut state = self.inner.state.lock().await;
        self.refresh(&mut state)?;
        let mut file = state.file.clone();
        if !change(&mut file) {
            return Ok(());
        }
        file.users.retain(|_, settings| !settings.is_empty());
        let path = self.inner.path.clone();
        let to_write = file.clone();
        let stamp = tokio::task::spawn_blocking(move || write_atomically(&path, &to_write))
            .await
            .map_err(|e| FlowError::Store {
                store: STORE,
                source: Box::new(e),
            })??;
        *state = Loaded {
            file,
            stamp: Some(stamp),
        };
        Ok(())
    }

    /// Runs `look` on the user's settings after a refresh.
    async fn look<T>(
        &self,
        user: &Username,
        look: impl FnOnce(Option<&UserTfaSettings>) -> T,
    ) -> Result<T, FlowError> {
        let mut state = self.inner.state.lock().await;
        self.refresh(&mut state)?;
        Ok(look(state.file.users.get(&CounterKey::user(user))))
    }
}

fn entry(file: &mut SettingsFile, user: &Username, change: impl FnOnce(&mut UserTfaSettings)) {
    change(file.users.entry(CounterKey::user(user)).or_default());
}

#[async_trait]
impl TfaStateStore for FileTfaStateStore {
    async fn enforcement(&self, user: &Username) -> Result<Option<bool>, FlowError> {
        self.look(user, |s| s.and_then(|s| s.enforced)).await
    }

    async fn set_enforcement(
        &self,
        user: &Username,
        enforced: Option<bool>,
    ) -> Result<(), FlowError> {
        self.set_enforcement_many(std::slice::from_ref(user), enforced)
            .await
    }

    async fn grant_bypass(&self, user: &Username, grant: BypassGrant) -> Result<(), FlowError> {
        self.modify(|file| {
            entry(file, user, |settings| settings.bypass = Some(grant));
            true
        })
        .await
    }

    async fn bypass(
        &self,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError> {
        self.look(user, |s| {
            s.and_then(|s| s.bypass.clone())
                .filter(|grant| grant.until > now)
        })
        .await
    }

    async fn take_bypass(
        &self,
        user: &Username,
        now: Timestamp,
    ) -> Result<Option<BypassGrant>, FlowError> {
        // Most logins have no bypass: answer those without writing.
        if self
            .look(user, |s| s.is_none_or(|s| s.bypass.is_none()))
            .await?
        {
            return Ok(None);
        }
        let mut taken = None;
        self.modify(|file| {
            let key = CounterKey::user(user);
            taken = file.users.get_mut(&key).and_then(|s| s.bypass.take());
            taken.is_some()
        })
        .await?;
        Ok(taken.filter(|grant| grant.until > now))
    }

    async fn block(&self, user: &Username, at: Timestamp) -> Result<(), FlowError> {
        self.modify(|file| {
            entry(file, user, |settings| settings.blocked_at = Some(at));
            true
        })
        .await
    }

    async fn is_blocked(&self, user: &Username) -> Result<bool, FlowError> {
        self.look(user, |s| s.is_some_and(|s| s.blocked_at.is_some()))
            .await
    }

    async fn unblock(&self, user: &Username) -> Result<bool, FlowError> {
        let mut was_blocked = false;
        self.modify(|file| {
            let key = CounterKey::user(user);
            was_blocked = file
                .users
                .get_mut(&key)
                .and_then(|s| s.blocked_at.take())
                .is_some();
            was_blocked
        })
        .await?;
        Ok(was_blocked)
    }
}

async fn read_blocking(path: PathBuf) -> Result<Loaded, FlowError> {
    tokio::task::spawn_blocking(move || read(&path))
        .await
        .map_err(|e| FlowError::Store {
            store: STORE,
            source: Box::new(e),
        })?
        .map_err(FlowError::from)
}

/// Reads the file; an absent file is empty settings with no stamp.
fn read(path: &Path) -> Result<Loaded, TfaStateFileError> {
    let read_err = |source| TfaStateFileError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Loaded {
                file: SettingsFile::empty(),
                stamp: None,
            });
        }
        Err(source) => return Err(read_err(source)),
    };
    // Stamp and contents from the same open file, so a concurrent rename cannot pair the
    // stamp of one version with the contents of another.
    let stamp = Stamp::of(&file.metadata().map_err(read_err)?);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut file, &mut text).map_err(read_err)?;
    let settings: SettingsFile =
        serde_json::from_str(&text).map_err(|e| TfaStateFileError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "not a JSON tfa settings file ({} at line {}, column {})",
                category(&e),
                e.line(),
                e.column()
            ),
        })?;
    if settings.version != FILE_VERSION {
        return Err(TfaStateFileError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "version {} is not the supported version {FILE_VERSION}",
                settings.version
            ),
        });
    }
    Ok(Loaded {
        file: settings,
        stamp: Some(stamp),
    })
}

fn category(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected content",
        serde_json::error::Category::Eof => "unexpected end",
    }
}

/// Writes `settings` so that a crash leaves either the old or the new file: a temporary file
/// beside it, fsync, rename over the old one, fsync of the directory. Readable by its owner
/// only. Returns the new file's stamp.
fn write_atomically(path: &Path, settings: &SettingsFile) -> Result<Stamp, TfaStateFileError> {
    let write_err = |source| TfaStateFileError::Write {
        path: path.to_owned(),
        source,
    };
    let mut json = serde_json::to_vec_pretty(settings)
        .map_err(|e| write_err(std::io::Error::other(e.to_string())))?;
    json.push(b'\n');
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| write_err(std::io::Error::other("the path names no file")))?;
    let mut tmp_name = file_name.to_owned();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        let stamp = Stamp::of(&file.metadata()?);
        drop(file);
        std::fs::rename(&tmp, path)?;
        // The rename is durable only once the directory is synced.
        std::fs::File::open(&dir)?.sync_all()?;
        Ok(stamp)
    })();
    if result.is_err() {
        // Best effort: a stale temporary file is harmless, the old settings are intact.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn t(secs: u64) -> Timestamp {
        Timestamp::from_unix_millis(1_000_000_000).plus(Duration::from_secs(secs))
    }

    fn user(name: &str) -> Username {
        Username::new(name).unwrap()
    }

    fn file_error(error: &FlowError) -> &TfaStateFileError {
        match error {
            FlowError::Store { store, source } => {
                assert_eq!(*store, STORE);
                source.downcast_ref().unwrap()
            }
            other => panic!("expected a store error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn nothing_is_written_until_the_first_change_and_empty_users_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tfa.json");
        let store = FileTfaStateStore::open_or_create(&path).await.unwrap();
        assert!(!store.is_blocked(&user("alice")).await.unwrap());
        assert!(!store.unblock(&user("alice")).await.unwrap());
        assert!(!path.exists(), "a read or a no-op writes nothing");

        store
            .set_enforcement(&user("alice"), Some(true))
            .await
            .unwrap();
        assert!(path.exists());
        store.set_enforcement(&user("alice"), None).await.unwrap();
        assert!(store.users().await.unwrap().is_empty());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("tfa.json")]);
    }

    #[tokio::test]
    async fn a_bypass_is_taken_once_and_expired_ones_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTfaStateStore::open_or_create(dir.path().join("tfa.json"))
            .await
            .unwrap();
        let grant = BypassGrant {
            until: t(60),
            reason: "lost phone".into(),
            granted_by: "admin".into(),
        };
        store
            .grant_bypass(&user("Alice"), grant.clone())
            .await
            .unwrap();
        assert_eq!(
            store.take_bypass(&user("alice"), t(1)).await.unwrap(),
            Some(grant.clone())
        );
        assert_eq!(store.take_bypass(&user("alice"), t(2)).await.unwrap(), None);
        store.grant_bypass(&user("alice"), grant).await.unwrap();
        assert_eq!(
            store.take_bypass(&user("alice"), t(60)).await.unwrap(),
            None
        );
        assert!(
            store.users().await.unwrap().is_empty(),
            "an expired bypass is consumed too"
        );
    }

    #[tokio::test]
    async fn a_future_version_is_refused_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tfa.json");
        std::fs::write(&path, r#"{"version": 2, "users": {}}"#).unwrap();
        let err = FileTfaStateStore::open(&path).await.unwrap_err();
        let TfaStateFileError::Corrupt {
            path: named,
            reason,
        } = file_error(&err)
        else {
            panic!("{err:?}")
        };
        assert_eq!(named, &path);
        assert_eq!(reason, "version 2 is not the supported version 1");
    }
}
