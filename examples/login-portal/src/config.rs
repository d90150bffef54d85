//! The portal's TOML configuration for a real deployment (`--config FILE`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use phonefactor::config::VerifierConfig;
use serde::Deserialize;
use tfa_directory::FirstFactorConfig;
use tfa_flow::Policy;

use crate::{PortalError, SameSite};

/// Everything the portal needs to run against a real deployment, read from one TOML file
/// (every key is documented in `docs/configuration.md`, section "login-portal"):
///
/// ```toml
/// listen = "127.0.0.1:8080"
/// audit_log = "audit.jsonl"
/// tfa_settings = "tfa-settings.json"   # optional: TFA on/off per user, bypasses, blocks
/// trusted_proxies = ["127.0.0.1"]      # optional: believe their X-Forwarded-For
///
/// [tls]                                # optional: serve HTTPS directly
/// cert_file = "portal.pem"
/// key_file = "portal.key"
///
/// [cookie]
/// secure = true                        # default true: serve over HTTPS (or a TLS proxy)
/// same_site = "strict"                 # or "lax"
/// idle_timeout_secs = 900
/// signed_in_lifetime_secs = 28800
///
/// [phonefactor]                        # phonefactor's VerifierConfig: agent or direct mode
/// mode = "agent"
/// [phonefactor.agent]
/// url = "https://pfagent.example.org/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx"
/// username = 'EXAMPLE\pfsdk'
/// password_file = "agent.password"
///
/// [first_factor]                       # tfa-directory: local, ldap or active_directory
/// backend = "local"
/// path = "users.json"
///
/// [policy]                             # tfa-flow's Policy; every key optional
/// [policy.machine]
/// ring_timeout = 60
///
/// [shared_config]                      # optional, with --store redis://... only: follow
/// key_file = "config.key"              # the configuration published in Redis
/// ```
///
/// Relative paths are relative to the file's directory.
#[derive(Debug)]
pub struct PortalConfig {
    pub(crate) listen: SocketAddr,
    pub(crate) audit_log: PathBuf,
    pub(crate) tfa_settings: Option<PathBuf>,
    pub(crate) trusted_proxies: Vec<IpAddr>,
    pub(crate) cookie: CookieConfig,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) phonefactor: VerifierConfig,
    pub(crate) first_factor: FirstFactorConfig,
    pub(crate) policy: Policy,
    pub(crate) shared_config: Option<SharedConfigSection>,
    pub(crate) base: PathBuf,
}

/// `[shared_config]`: follow the versioned configuration published in the Redis store
/// (`tfa-admin config publish`), which overrides `[phonefactor]` and `[policy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SharedConfigSection {
    /// The file holding the key that opens the published secrets (`tfa-admin config key new`).
    pub(crate) key_file: PathBuf,
}

/// `[cookie]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct CookieConfig {
    pub(crate) secure: bool,
    pub(crate) same_site: SameSite,
    pub(crate) idle_timeout_secs: u64,
    pub(crate) signed_in_lifetime_secs: u64,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            secure: true,
            same_site: SameSite::Strict,
            idle_timeout_secs: 900,
            signed_in_lifetime_secs: 8 * 3600,
        }
    }
}

impl CookieConfig {
    pub(crate) fn idle(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    pub(crate) fn signed_in_lifetime(&self) -> Duration {
        Duration::from_secs(self.signed_in_lifetime_secs)
    }
}

/// `[tls]`: serve HTTPS directly with this certificate chain and key (PEM files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsConfig {
    pub(crate) cert_file: PathBuf,
    pub(crate) key_file: PathBuf,
}

/// The file as written, before paths are resolved and sections are read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_listen")]
    listen: SocketAddr,
    audit_log: PathBuf,
    tfa_settings: Option<PathBuf>,
    #[serde(default)]
    trusted_proxies: Vec<IpAddr>,
    #[serde(default)]
    cookie: CookieConfig,
    tls: Option<TlsConfig>,
    phonefactor: VerifierConfig,
    first_factor: toml::Table,
    #[serde(default)]
    policy: Policy,
    shared_config: Option<SharedConfigSection>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080)
}

impl PortalConfig {
    /// Reads and checks a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, PortalError> {
        let text = std::fs::read_to_string(path).map_err(|source| PortalError::ReadConfig {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_owned();
        Self::from_toml(&text, path, &base)
    }

    /// Reads and checks configuration `text` (named `origin` in errors) whose relative
    /// paths are relative to `base`.
    pub fn from_toml(text: &str, origin: &Path, base: &Path) -> Result<Self, PortalError> {
        let invalid = |reason: String| PortalError::InvalidConfig {
            path: origin.to_owned(),
            reason,
        };
        let mut raw: Raw = toml::from_str(text).map_err(|e| invalid(e.message().to_owned()))?;
        resolve_paths(&mut raw.first_factor, base);
        let first_factor = FirstFactorConfig::deserialize(raw.first_factor)
            .map_err(|e| invalid(format!("[first_factor]: {}", e.message())))?;
        raw.policy
            .validate()
            .map_err(|e| invalid(format!("[policy]: {e}")))?;
        if raw.cookie.idle_timeout_secs == 0 || raw.cookie.signed_in_lifetime_secs == 0 {
            return Err(invalid(
                "[cookie]: idle_timeout_secs and signed_in_lifetime_secs must be more than zero"
                    .into(),
            ));
        }
        Ok(Self {
            listen: raw.listen,
            audit_log: base.join(raw.audit_log),
            tfa_settings: raw.tfa_settings.map(|p| base.join(p)),
            trusted_proxies: raw.trusted_proxies,
            cookie: raw.cookie,
            tls: raw.tls.map(|tls| TlsConfig {
                cert_file: base.join(tls.cert_file),
                key_file: base.join(tls.key_file),
            }),
            phonefactor: raw.phonefactor,
            first_factor,
            policy: raw.policy,
            shared_config: raw.shared_config.map(|shared| SharedConfigSection {
                key_file: base.join(shared.key_file),
            }),
            base: base.to_owned(),
        })
    }

    /// Listens on `addr` instead of the file's `listen` (the `--listen` flag).
    pub fn set_listen(&mut self, addr: SocketAddr) {
        self.listen = addr;
    }

    /// Where the portal listens.
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// The audit file.
    pub fn audit_log(&self) -> &Path {
        &self.audit_log
    }
}

/// Makes the relative paths of a first-factor table (`path`, `password_file`, `ca_files`)
/// relative to `dir`, as tfa-directory does for a file of its own.
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

    const AGENT_LOCAL: &str = r#"
        listen = "0.0.0.0:8443"
        audit_log = "audit.jsonl"
        tfa_settings = "tfa.json"
        trusted_proxies = ["10.0.0.1"]
        [cookie]
        same_site = "lax"
        [phonefactor]
        mode = "agent"
        [phonefactor.agent]
        url = "https://127.0.0.1:1/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx"
        username = 'EXAMPLE\pfsdk'
        password_file = "agent.password"
        [first_factor]
        backend = "local"
        path = "users.json"
        [policy.machine]
        ring_timeout = 45
        [shared_config]
        key_file = "config.key"
    "#;

    #[test]
    fn a_full_file_reads_with_paths_beside_it() {
        let config =
            PortalConfig::from_toml(AGENT_LOCAL, Path::new("portal.toml"), Path::new("/etc/p"))
                .unwrap();
        assert_eq!(config.listen, "0.0.0.0:8443".parse().unwrap());
        assert_eq!(config.audit_log, Path::new("/etc/p/audit.jsonl"));
        assert_eq!(
            config.tfa_settings.as_deref(),
            Some(Path::new("/etc/p/tfa.json"))
        );
        assert!(config.cookie.secure, "secure cookies by default");
        assert_eq!(config.cookie.same_site, SameSite::Lax);
        assert_eq!(config.policy.machine.ring_timeout, Duration::from_secs(45));
        assert_eq!(
            config.shared_config.map(|s| s.key_file).as_deref(),
            Some(Path::new("/etc/p/config.key"))
        );
        let FirstFactorConfig::Local(local) = &config.first_factor else {
            panic!("not local: {:?}", config.first_factor);
        };
        assert_eq!(local.path, Path::new("/etc/p/users.json"));
    }

    #[test]
    fn unknown_keys_and_bad_sections_are_named() {
        let typo = AGENT_LOCAL.replace("audit_log", "audit_file");
        let err = PortalConfig::from_toml(&typo, Path::new("portal.toml"), Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("portal.toml") && err.contains("audit_file"),
            "{err}"
        );
        let bad_backend = AGENT_LOCAL.replace("backend = \"local\"", "backend = \"kerberos\"");
        let err = PortalConfig::from_toml(&bad_backend, Path::new("p.toml"), Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[first_factor]") && err.contains("kerberos"),
            "{err}"
        );
        let bad_policy = AGENT_LOCAL.replace("ring_timeout = 45", "ring_timeout = 0");
        let err = PortalConfig::from_toml(&bad_policy, Path::new("p.toml"), Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ring_timeout"), "{err}");
    }

    /// The example in docs/configuration.md, section "login-portal".
    const DOCUMENTED: &str = r#"
listen = "127.0.0.1:8080"          # behind a TLS-terminating proxy on the same host
audit_log = "/var/log/login-portal/audit.jsonl"
tfa_settings = "/var/lib/login-portal/tfa-settings.json"
trusted_proxies = ["127.0.0.1"]

[cookie]
same_site = "strict"

[phonefactor]
mode = "agent"
[phonefactor.agent]
url = "https://mfa.corp.example/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx"
username = 'CORP\svc-portal'
password_file = "agent.password"
trust_roots = ["corp-root.pem"]

[first_factor]
backend = "active_directory"
url = "ldaps://dc1.corp.example"
domain = "corp.example"
netbios_domain = "CORP"
service_account = { name = "svc-portal@corp.example", password_file = "ad.password" }

[policy.machine]
ring_timeout = 60
allowed_countries = [1]
"#;

    #[test]
    fn the_documented_example_reads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ad.password"), "secret\n").unwrap();
        let config =
            PortalConfig::from_toml(DOCUMENTED, Path::new("portal.toml"), dir.path()).unwrap();
        assert!(matches!(
            config.first_factor,
            FirstFactorConfig::ActiveDirectory(_)
        ));
        assert_eq!(config.policy.machine.allowed_countries, Some(vec![1]));
        assert_eq!(
            config.trusted_proxies,
            ["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
    }
}
