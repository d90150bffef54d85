//! The store file: JSON, read whole, written atomically.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::DirectoryError;

/// Format version written in every store file.
pub(crate) const STORE_VERSION: u32 = 1;

/// The whole store as it is on disk.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreFile {
    pub(crate) version: u32,
    pub(crate) users: BTreeMap<String, StoredUser>,
}

/// One user as it is on disk.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredUser {
    /// Argon2id PHC string.
    pub(crate) password_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    /// The product's stored format, `1 9259249500 292`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) phonefactor_username: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) groups: Vec<String>,
    pub(crate) enabled: bool,
}

impl StoreFile {
    pub(crate) fn empty() -> Self {
        Self {
            version: STORE_VERSION,
            users: BTreeMap::new(),
        }
    }
}

/// Reads a store; `Ok(None)` if the file does not exist.
pub(crate) fn read(path: &Path) -> Result<Option<StoreFile>, DirectoryError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DirectoryError::StoreIo {
                path: path.to_owned(),
                source,
            });
        }
    };
    let store: StoreFile =
        serde_json::from_str(&text).map_err(|e| DirectoryError::StoreCorrupt {
            path: path.to_owned(),
            reason: format!(
                "not a JSON password store (line {}, column {})",
                e.line(),
                e.column()
            ),
            source: Some(Box::new(e)),
        })?;
    if store.version != STORE_VERSION {
        return Err(DirectoryError::StoreCorrupt {
            path: path.to_owned(),
            reason: format!(
                "version {} is not the supported version {STORE_VERSION}",
                store.version
            ),
            source: None,
        });
    }
    Ok(Some(store))
}

/// Writes `store` to `path` so that a crash leaves either the old or the new file, never a
/// mix: write a temporary file beside it, fsync it, rename it over the old one, fsync the
/// directory. The file is readable by its owner only.
pub(crate) fn write_atomically(path: &Path, store: &StoreFile) -> Result<(), DirectoryError> {
    let io_err = |source| DirectoryError::StoreIo {
        path: path.to_owned(),
        source,
    };
    let mut json = serde_json::to_vec_pretty(store).map_err(|e| DirectoryError::StoreCorrupt {
        path: path.to_owned(),
        reason: "could not serialise the store".into(),
        source: Some(Box::new(e)),
    })?;
    json.push(b'\n');
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io_err(std::io::Error::other("the store path names no file")))?;
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
        drop(file);
        std::fs::rename(&tmp, path)?;
        // The rename is durable only once the directory is synced.
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        // Best effort: a stale temp file is harmless, the old store is intact.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        let mut store = StoreFile::empty();
        store.users.insert(
            "zoë".into(),
            StoredUser {
                password_hash: "$argon2id$x".into(),
                display_name: Some("Zoë".into()),
                email: None,
                phone: Some("1 9259249500 292".into()),
                phonefactor_username: None,
                groups: vec!["sales".into()],
                enabled: true,
            },
        );
        write_atomically(&path, &store).unwrap();
        let back = read(&path).unwrap().unwrap();
        assert_eq!(back.users, store.users);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("users.json")]);
    }

    #[test]
    fn corrupt_and_future_stores_are_refused_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        std::fs::write(&path, "{ not json").unwrap();
        let err = read(&path).unwrap_err();
        assert!(err.to_string().contains("users.json"), "{err}");
        std::fs::write(&path, r#"{"version": 2, "users": {}}"#).unwrap();
        assert!(matches!(
            read(&path),
            Err(DirectoryError::StoreCorrupt { .. })
        ));
    }

    #[test]
    fn missing_store_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("absent.json")).unwrap().is_none());
    }
}
