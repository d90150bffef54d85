//! Choosing and configuring a backend from a TOML file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{
    ActiveDirectory, ActiveDirectoryConfig, DirectoryError, FirstFactor, HashParams, LdapConfig,
    LdapDirectory, LocalDirectory,
};

/// Settings of the local backend.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// The JSON store file.
    pub path: PathBuf,
    /// Argon2id parameters for new hashes (default: OWASP's recommendation).
    #[serde(default)]
    pub hash: HashParams,
}

/// Which first-factor backend to use, with its settings, as written in a TOML file whose
/// `backend` key names the backend and whose other keys are that backend's settings:
///
/// ```toml
/// backend = "ldap"          # or "local", "active_directory"
/// url = "ldaps://ldap.example.org"
/// base_dn = "ou=people,dc=example,dc=org"
/// bind = { mode = "service_account", dn = "cn=reader,dc=example,dc=org", password = "..." }
/// ```
///
/// Relative paths (`path`, `ca_files`) are read relative to the file's directory.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FirstFactorConfig {
    /// A [`LocalDirectory`].
    Local(LocalConfig),
    /// An [`LdapDirectory`].
    Ldap(LdapConfig),
    /// An [`ActiveDirectory`].
    ActiveDirectory(ActiveDirectoryConfig),
}

impl FirstFactorConfig {
    /// Reads a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, DirectoryError> {
        let text = std::fs::read_to_string(path).map_err(|e| DirectoryError::Config {
            path: path.to_owned(),
            reason: "cannot read the file".into(),
            source: Some(Box::new(e)),
        })?;
        let mut config = Self::from_toml(&text).map_err(|e| match e {
            DirectoryError::Config { reason, source, .. } => DirectoryError::Config {
                path: path.to_owned(),
                reason,
                source,
            },
            other => other,
        })?;
        if let Some(dir) = path.parent() {
            config.resolve_paths(dir);
        }
        Ok(config)
    }

    /// Reads a configuration from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, DirectoryError> {
        toml::from_str(text).map_err(|e| DirectoryError::Config {
            path: PathBuf::from("<toml>"),
            reason: format!("invalid first-factor settings: {}", e.message()),
            source: Some(Box::new(e)),
        })
    }

    fn resolve_paths(&mut self, dir: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        match self {
            Self::Local(local) => resolve(&mut local.path),
            Self::Ldap(ldap) => ldap.connection.ca_files.iter_mut().for_each(resolve),
            Self::ActiveDirectory(ad) => ad.ca_files_mut().iter_mut().for_each(resolve),
        }
    }

    /// Opens the backend (the local store is read now; directories connect on first use).
    pub async fn open(self) -> Result<Arc<dyn FirstFactor>, DirectoryError> {
        Ok(match self {
            Self::Local(local) => Arc::new(LocalDirectory::open(&local.path, local.hash).await?),
            Self::Ldap(ldap) => Arc::new(LdapDirectory::new(ldap)?),
            Self::ActiveDirectory(ad) => Arc::new(ActiveDirectory::new(ad)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_backend_and_resolves_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("first-factor.toml");
        std::fs::write(&file, "backend = \"local\"\npath = \"users.json\"\n").unwrap();
        match FirstFactorConfig::from_file(&file).unwrap() {
            FirstFactorConfig::Local(local) => {
                assert_eq!(local.path, dir.path().join("users.json"))
            }
            other => panic!("{other:?}"),
        }
        let ldap = r#"
            backend = "ldap"
            url = "ldaps://ldap.example.org"
            base_dn = "ou=people,dc=example,dc=org"
            ca_files = ["ca.pem"]
            bind = { mode = "template", dn_template = "uid={user},ou=people,dc=example,dc=org" }
            groups = { source = "search", nested = true }
            disabled = { attribute = "employeeType", value = "disabled" }
        "#;
        assert!(matches!(
            FirstFactorConfig::from_toml(ldap).unwrap(),
            FirstFactorConfig::Ldap(_)
        ));
        let ad = r#"
            backend = "active_directory"
            url = "ldaps://dc1.example.com"
            domain = "example.com"
            netbios_domain = "EXAMPLE"
            service_account = { name = "svc@example.com", password = "x" }
        "#;
        assert!(matches!(
            FirstFactorConfig::from_toml(ad).unwrap(),
            FirstFactorConfig::ActiveDirectory(_)
        ));
    }

    #[test]
    fn unknown_keys_and_backends_are_refused_by_name() {
        let err = FirstFactorConfig::from_toml(
            "backend = \"ldap\"\nurl = \"ldap://x\"\nbase_dn = \"dc=x\"\nbase_dm = \"typo\"\n\
             bind = { mode = \"template\", dn_template = \"uid={user}\" }\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("base_dm"), "{err}");
        let err = FirstFactorConfig::from_toml("backend = \"kerberos\"\n").unwrap_err();
        assert!(err.to_string().contains("kerberos"), "{err}");
    }
}
