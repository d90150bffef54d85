//! The TOML configuration of a verifier (`mode = "direct"` or `"agent"`), as `tfa-admin`
//! and applications read it. Keys are documented in `docs/configuration.md`; secrets are
//! referenced by file or environment variable, never written inline.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::agent::AgentClient;
use crate::direct::{DEFAULT_BACKUP_URL, DEFAULT_PRIMARY_URL, DirectClient};
use crate::error::Error;
use crate::proxy::Proxy;
use crate::tls::Fingerprint;
use crate::verifier::PhoneVerifier;
use crate::wire::PfAuthUserVersion;

/// A whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierConfig {
    /// `direct` or `agent`.
    pub mode: Mode,
    /// The `[direct]` section (required in direct mode).
    pub direct: Option<DirectConfig>,
    /// The `[agent]` section (required in agent mode).
    pub agent: Option<AgentConfig>,
    /// The `[proxy]` section (optional, both modes).
    pub proxy: Option<ProxyConfig>,
}

/// Which verifier to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Mode {
    /// PFD over mutual TLS.
    Direct,
    /// The agent's Web Service SDK.
    Agent,
}

/// A secret given by file (first line) or environment variable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// A file whose first line is the secret.
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the secret.
    pub password_env: Option<String>,
}

impl SecretSource {
    fn load(&self, base: &Path, field: &'static str) -> Result<SecretString, Error> {
        if let Some(file) = &self.password_file {
            let path = base.join(file);
            let text = std::fs::read_to_string(&path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    Error::MissingFile { path: path.clone() }
                } else {
                    Error::ReadFile {
                        path: path.clone(),
                        source,
                    }
                }
            })?;
            let line = text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_end_matches('\r');
            return Ok(SecretString::from(line.to_owned()));
        }
        if let Some(var) = &self.password_env {
            return std::env::var(var)
                .map(SecretString::from)
                .map_err(|_| Error::InvalidSetting {
                    field,
                    reason: format!("the environment variable {var} is not set"),
                });
        }
        Err(Error::InvalidSetting {
            field,
            reason: "set password_file or password_env".into(),
        })
    }
}

/// `[direct]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectConfig {
    /// The license directory (`license.xml`, `cert.p12`).
    pub license_dir: PathBuf,
    /// The PKCS#12 password.
    #[serde(flatten)]
    pub password: SecretSource,
    /// Primary endpoint (default the documented one).
    pub primary_url: Option<String>,
    /// Backup endpoint (default the documented one; `""` for none).
    pub backup_url: Option<String>,
    /// Extra roots (PEM or DER files) added to the system roots.
    #[serde(default)]
    pub extra_roots: Vec<PathBuf>,
    /// Whether to trust the system roots (default true).
    pub system_roots: Option<bool>,
    /// Require `CN=<name>.phonefactor.net` (default true).
    pub phonefactor_cn_check: Option<bool>,
    /// TCP connect limit in seconds (default 10).
    pub connect_timeout_secs: Option<u64>,
    /// TLS handshake limit in seconds (default 10).
    pub handshake_timeout_secs: Option<u64>,
    /// Response limit in seconds (default 90).
    pub response_timeout_secs: Option<u64>,
    /// `allowInternationalCalls` (default false).
    pub allow_international_calls: Option<bool>,
    /// `applicationName` (default empty).
    pub application_name: Option<String>,
    /// `host/@ip` (default `255.255.255.255`).
    pub host_ip: Option<String>,
    /// `host/@hostname` (default this machine's name).
    pub host_name: Option<String>,
    /// `userInfo/userGroup` (default none).
    pub user_group: Option<String>,
}

/// `[agent]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The agent's URL (full `.asmx` or base).
    pub url: String,
    /// `DOMAIN\user`.
    pub username: String,
    /// The account's password.
    #[serde(flatten)]
    pub password: SecretSource,
    /// Imported roots or self-signed certificates (PEM or DER files).
    #[serde(default)]
    pub trust_roots: Vec<PathBuf>,
    /// A directory of imported certificates (as `tfa-admin ca import --store` writes).
    pub trust_store: Option<PathBuf>,
    /// SHA-256 fingerprints of certificates accepted by pin (audited exception).
    #[serde(default)]
    pub pinned_certificates: Vec<String>,
    /// Whether to trust the system roots (default true).
    pub system_roots: Option<bool>,
    /// XML namespace (default `http://tempuri.org/`).
    pub namespace: Option<String>,
    /// `PfAuthUser`, `PfAuthUser_4` or `PfAuthUser_5` (default `PfAuthUser`).
    pub operation: Option<String>,
    /// `initiatingAuthenticationType` (default `pfsdk`).
    pub initiating_type: Option<String>,
    /// `applicationName` (default empty).
    pub application_name: Option<String>,
    /// Connect limit in seconds (default 10).
    pub connect_timeout_secs: Option<u64>,
    /// Response limit in seconds (default 120).
    pub response_timeout_secs: Option<u64>,
}

/// `[proxy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// `http://host:port` (credentials may be inline, but prefer `username` + a password file).
    pub url: String,
    /// Proxy user name.
    pub username: Option<String>,
    /// Proxy password source.
    #[serde(flatten)]
    pub password: SecretSource,
    /// Hosts reached directly (agent mode): names or `.domain`.
    #[serde(default)]
    pub no_proxy: Vec<String>,
}

impl VerifierConfig {
    /// Reads and parses a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::MissingFile {
                    path: path.to_owned(),
                }
            } else {
                Error::ReadFile {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        toml::from_str(&text).map_err(|e| Error::InvalidSetting {
            field: "configuration file",
            reason: format!("{}: {}", path.display(), e.message()),
        })
    }

    /// The proxy, if configured; `override_url` replaces the configured URL.
    pub fn proxy(&self, base: &Path, override_url: Option<&str>) -> Result<Option<Proxy>, Error> {
        let (url, section) = match (override_url, &self.proxy) {
            (Some(url), section) => (url.to_owned(), section.as_ref()),
            (None, Some(p)) => (p.url.clone(), Some(p)),
            (None, None) => return Ok(None),
        };
        let mut url = url;
        if let Some((p, user)) = section.and_then(|p| p.username.as_ref().map(|u| (p, u)))
            && (p.password.password_file.is_some() || p.password.password_env.is_some())
        {
            let pass = p.password.load(base, "proxy password")?;
            url = with_credentials(&url, user, &pass)?;
        }
        let mut proxy = Proxy::parse(&url)?;
        if let Some(p) = section {
            proxy = proxy.with_no_proxy(p.no_proxy.iter().cloned());
        }
        Ok(Some(proxy))
    }

    /// Builds the direct client (relative paths are read from `base`).
    pub fn direct_client(&self, base: &Path, proxy: Option<Proxy>) -> Result<DirectClient, Error> {
        let d = self.direct.as_ref().ok_or(Error::InvalidSetting {
            field: "[direct]",
            reason: "mode is direct but the section is missing".into(),
        })?;
        let password = d.password.load(base, "direct password")?;
        let mut b = DirectClient::from_license_dir(base.join(&d.license_dir), &password)?
            .primary_url(
                d.primary_url
                    .clone()
                    .unwrap_or_else(|| DEFAULT_PRIMARY_URL.into()),
            );
        b = match d.backup_url.as_deref() {
            Some("") => b.no_backup(),
            Some(url) => b.backup_url(url),
            None => b.backup_url(DEFAULT_BACKUP_URL),
        };
        for root in &d.extra_roots {
            b = b.add_root_certificate_file(base.join(root));
        }
        if let Some(system) = d.system_roots {
            b = b.system_roots(system);
        }
        if d.phonefactor_cn_check == Some(false) {
            b = b.self_hosted_service();
        }
        if let Some(s) = d.connect_timeout_secs {
            b = b.connect_timeout(Duration::from_secs(s));
        }
        if let Some(s) = d.handshake_timeout_secs {
            b = b.handshake_timeout(Duration::from_secs(s));
        }
        if let Some(s) = d.response_timeout_secs {
            b = b.response_timeout(Duration::from_secs(s));
        }
        if let Some(a) = d.allow_international_calls {
            b = b.allow_international_calls(a);
        }
        if let Some(n) = &d.application_name {
            b = b.application_name(n);
        }
        if let Some(ip) = &d.host_ip {
            b = b.host_ip(ip);
        }
        if let Some(n) = &d.host_name {
            b = b.host_name(n);
        }
        if let Some(g) = &d.user_group {
            b = b.user_group(g);
        }
        if let Some(p) = proxy {
            b = b.proxy(p);
        }
        b.build()
    }

    /// Builds the agent client (relative paths are read from `base`).
    pub fn agent_client(&self, base: &Path, proxy: Option<Proxy>) -> Result<AgentClient, Error> {
        let a = self.agent.as_ref().ok_or(Error::InvalidSetting {
            field: "[agent]",
            reason: "mode is agent but the section is missing".into(),
        })?;
        let password = a.password.load(base, "agent password")?;
        let mut b = AgentClient::builder(&a.url, &a.username, password);
        for root in &a.trust_roots {
            b = b.add_root_certificate_file(base.join(root));
        }
        if let Some(store) = &a.trust_store {
            let dir = base.join(store);
            let files = trust_store_files(&dir).map_err(|source| Error::ReadFile {
                path: dir.clone(),
                source,
            })?;
            for f in files {
                b = b.add_root_certificate_file(f);
            }
        }
        for pin in &a.pinned_certificates {
            b = b.pin_certificate(Fingerprint::parse(pin)?);
        }
        if let Some(system) = a.system_roots {
            b = b.system_roots(system);
        }
        if let Some(ns) = &a.namespace {
            b = b.namespace(ns);
        }
        if let Some(op) = &a.operation {
            let version =
                PfAuthUserVersion::from_operation(op).ok_or_else(|| Error::InvalidSetting {
                    field: "agent.operation",
                    reason: format!("{op:?} is not PfAuthUser, PfAuthUser_4 or PfAuthUser_5"),
                })?;
            b = b.operation(version);
        }
        if let Some(t) = &a.initiating_type {
            b = b.initiating_type(t);
        }
        if let Some(n) = &a.application_name {
            b = b.application_name(n);
        }
        if let Some(s) = a.connect_timeout_secs {
            b = b.connect_timeout(Duration::from_secs(s));
        }
        if let Some(s) = a.response_timeout_secs {
            b = b.response_timeout(Duration::from_secs(s));
        }
        if let Some(p) = proxy {
            b = b.proxy(p);
        }
        b.build()
    }

    /// Builds the configured verifier.
    pub fn verifier(
        &self,
        base: &Path,
        proxy_override: Option<&str>,
    ) -> Result<Arc<dyn PhoneVerifier>, Error> {
        let proxy = self.proxy(base, proxy_override)?;
        Ok(match self.mode {
            Mode::Direct => Arc::new(self.direct_client(base, proxy)?),
            Mode::Agent => Arc::new(self.agent_client(base, proxy)?),
        })
    }
}

/// The certificate files of a trust directory (`*.pem`, `*.der`, `*.crt`, as
/// `tfa-admin ca import` writes it), sorted by name so that every reader sees them in one
/// order.
pub fn trust_store_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "pem" || e == "der" || e == "crt")
        })
        .collect();
    files.sort();
    Ok(files)
}

fn with_credentials(url: &str, user: &str, pass: &SecretString) -> Result<String, Error> {
    use secrecy::ExposeSecret;
    let mut parsed = url::Url::parse(url).map_err(|_| Error::InvalidProxy {
        reason: "not a URL of the form http://host:port",
    })?;
    parsed
        .set_username(user)
        .and_then(|()| parsed.set_password(Some(pass.expose_secret())))
        .map_err(|()| Error::InvalidProxy {
            reason: "cannot carry credentials",
        })?;
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_simulator_written_files() {
        let direct: VerifierConfig = toml::from_str(
            r#"mode = "direct"
[direct]
license_dir = "license"
password_file = "pkcs12.password"
primary_url = "https://127.0.0.1:1/pfd/pfd.pl"
backup_url = "https://127.0.0.1:1/pfd/pfd.pl"
extra_roots = ["ca.pem"]
phonefactor_cn_check = true
"#,
        )
        .unwrap();
        assert_eq!(direct.mode, Mode::Direct);
        let agent: VerifierConfig = toml::from_str(
            r#"mode = "agent"
[agent]
url = "https://127.0.0.1:1/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx"
username = 'PHONEFACTOR-SIM\admin'
password_file = "agent.password"
trust_roots = ["agent-ca.pem"]
"#,
        )
        .unwrap();
        assert_eq!(agent.agent.unwrap().username, "PHONEFACTOR-SIM\\admin");
        assert!(toml::from_str::<VerifierConfig>("mode = \"direct\"\nbogus = 1\n").is_err());
    }
}
