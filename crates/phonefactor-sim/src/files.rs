//! Writing the simulator's files: secrets with mode 0600.

use std::path::Path;

use crate::error::SimError;

/// Who may read a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Certificates, license keys, configuration: 0644.
    Public,
    /// Passwords and private keys: 0600.
    Private,
}

pub(crate) fn create_dir(dir: &Path) -> Result<(), SimError> {
    std::fs::create_dir_all(dir).map_err(|e| SimError::io("create directory", dir, e))
}

pub(crate) fn write(path: &Path, contents: &[u8], mode: Mode) -> Result<(), SimError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    let bits = match mode {
        Mode::Public => 0o644,
        Mode::Private => 0o600,
    };
    #[cfg(unix)]
    options.mode(bits);
    let mut file = options
        .open(path)
        .map_err(|e| SimError::io("write", path, e))?;
    // An existing file keeps its old mode on open; set it explicitly.
    #[cfg(unix)]
    file.set_permissions(std::fs::Permissions::from_mode(bits))
        .map_err(|e| SimError::io("set permissions of", path, e))?;
    file.write_all(contents)
        .map_err(|e| SimError::io("write", path, e))
}
