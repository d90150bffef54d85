//! Choosing and configuring a backend from a TOML file.

use std::path::{Path, PathBuf};

use serde::Deserialize as _;
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
/// In a file read with [`FirstFactorConfig::from_file`], relative paths (`path`,
/// `ca_files`, `password_file`) are relative to the file's directory.
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
        let invalid = |e: toml::de::Error| DirectoryError::Config {
            path: path.to_owned(),
            reason: format!("invalid first-factor settings: {}", e.message()),
            source: Some(Box::new(e)),
        };
        let mut table: toml::Table = toml::from_str(&text).map_err(invalid)?;
        if let Some(dir) = path.parent() {
            resolve_paths(&mut table, dir);
        }
        Self::deserialize(table).map_err(invalid)
    }

    /// Reads a configuration from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, DirectoryError> {
        toml::from_str(text).map_err(|e| DirectoryError::Config {
            path: PathBuf::from("<toml>"),
            reason: format!("invalid first-factor settings: {}", e.message()),
            source: Some(Box::new(e)),
        })
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

/// Makes the relative paths of a settings table (`path`, `ca_files`, `password_file`)
/// relative to `dir`, the settings file's directory.
fn resolve_paths(table: &mut toml::Table, dir: &Path) {
    let resolve = |value: &mut toml::Value| {
        if let toml::Value::String(text) = value
            && Path::new(text.as_str()).is_relative()
        {
            *text = dir.join(text.as_str()).display().to_string();
        }
    };
    for (key, value) in table.iter_mut() {
        match (key.as_str(), value) {
            ("path" | "password_file", value) => resolve(value),
            ("ca_files", toml::Value::Array(files)) => files.iter_mut().for_each(resolve),
            (_, toml::Value::Table(inner)) => resolve_paths(inner, dir),
            _ => {}
        }
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
    fn service_account_passwords_are_read_from_a_file_beside_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("reader.password"), "s3cret\n").unwrap();
        let file = dir.path().join("ldap.toml");
        let text = "backend = \"ldap\"\nurl = \"ldap://127.0.0.1\"\nbase_dn = \"dc=x\"\n\
                    bind = { mode = \"service_account\", dn = \"cn=r\", password_file = \"reader.password\" }\n";
        std::fs::write(&file, text).unwrap();
        let FirstFactorConfig::Ldap(ldap) = FirstFactorConfig::from_file(&file).unwrap() else {
            panic!("not ldap");
        };
        let crate::BindConfig::ServiceAccount { password, .. } = &ldap.bind else {
            panic!("not a service account");
        };
        assert_eq!(secrecy::ExposeSecret::expose_secret(password), "s3cret");

        std::fs::remove_file(dir.path().join("reader.password")).unwrap();
        let err = FirstFactorConfig::from_file(&file).unwrap_err();
        assert!(err.to_string().contains("reader.password"), "{err}");
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
