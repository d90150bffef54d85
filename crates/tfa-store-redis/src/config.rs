//! Configuration shared through Redis: the TFA mode, the phone service's address,
//! credentials and trust roots, and the policies, as one versioned document that every node
//! follows without a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use phonefactor::{AgentClient, DirectClient, DirectCredentials};
use redis::Script;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tfa_flow::{Authenticator, PhoneCall, Policy, SecondFactor};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::connection::Conn;
use crate::{ConfigKey, RedisStoreError};

/// The format of the stored document.
const FORMAT: u16 = 1;

/// How often nodes look for a new version by default.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);

/// `KEYS[1]` the configuration hash; `ARGV[1]` the document. Bumps the version and stores
/// the document in one step; the new version.
const PUBLISH: &str = r"
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'doc', ARGV[1])
return v
";

/// Everything a node needs to verify logins that an administrator may change while it runs.
#[derive(Debug, Clone)]
pub struct ConfigDocument {
    policy: Policy,
    second_factor: SecondFactorConfig,
}

impl ConfigDocument {
    /// A document with these policies and this second factor.
    pub fn new(policy: Policy, second_factor: SecondFactorConfig) -> Self {
        Self {
            policy,
            second_factor,
        }
    }

    /// The policies.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The second factor's settings.
    pub fn second_factor(&self) -> &SecondFactorConfig {
        &self.second_factor
    }
}

/// Which phone service mode, and how to reach it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SecondFactorConfig {
    /// The PhoneFactor agent's web service.
    Agent(AgentSettings),
    /// PhoneFactor direct mode (PFD over mutual TLS).
    Direct(DirectSettings),
}

/// Agent mode: the agent's URL, account and imported trust roots.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    url: String,
    username: String,
    password: SecretString,
    trust_roots_pem: Vec<String>,
    system_roots: bool,
}

impl AgentSettings {
    /// The agent at `url` (full `.asmx` URL or base), the account `DOMAIN\user` and its
    /// password (sealed when published). Trusts the system roots until told otherwise.
    pub fn new(
        url: impl Into<String>,
        username: impl Into<String>,
        password: SecretString,
    ) -> Self {
        Self {
            url: url.into(),
            username: username.into(),
            password,
            trust_roots_pem: Vec::new(),
            system_roots: true,
        }
    }

    /// Adds imported roots (PEM text with one or more certificates): they add trust, never
    /// replace verification.
    pub fn trust_root_pem(mut self, pem: impl Into<String>) -> Self {
        self.trust_roots_pem.push(pem.into());
        self
    }

    /// Whether to trust the system roots too (default true).
    pub fn system_roots(mut self, enabled: bool) -> Self {
        self.system_roots = enabled;
        self
    }

    /// The agent's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The agent account (`DOMAIN\user`).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The imported roots, as PEM texts.
    pub fn trust_roots_pem(&self) -> &[String] {
        &self.trust_roots_pem
    }

    /// Whether the system roots are trusted too.
    pub fn trusts_system_roots(&self) -> bool {
        self.system_roots
    }
}

/// Direct mode: the license directory (on each node), the PKCS#12 password (sealed when
/// published), the endpoints and extra trust roots.
#[derive(Debug, Clone)]
pub struct DirectSettings {
    license_dir: PathBuf,
    pkcs12_password: SecretString,
    primary_url: Option<String>,
    backup_url: Option<String>,
    extra_roots_pem: Vec<String>,
    system_roots: bool,
}

impl DirectSettings {
    /// The license directory (`license.xml`, `cert.p12`) as every node sees it, and the
    /// PKCS#12 password. Documented endpoints and the system roots until told otherwise.
    pub fn new(license_dir: impl Into<PathBuf>, pkcs12_password: SecretString) -> Self {
        Self {
            license_dir: license_dir.into(),
            pkcs12_password,
            primary_url: None,
            backup_url: None,
            extra_roots_pem: Vec::new(),
            system_roots: true,
        }
    }

    /// The primary endpoint.
    pub fn primary_url(mut self, url: impl Into<String>) -> Self {
        self.primary_url = Some(url.into());
        self
    }

    /// The backup endpoint; `""` for none.
    pub fn backup_url(mut self, url: impl Into<String>) -> Self {
        self.backup_url = Some(url.into());
        self
    }

    /// Adds extra roots (PEM text).
    pub fn extra_root_pem(mut self, pem: impl Into<String>) -> Self {
        self.extra_roots_pem.push(pem.into());
        self
    }

    /// Whether to trust the system roots too (default true).
    pub fn system_roots(mut self, enabled: bool) -> Self {
        self.system_roots = enabled;
        self
    }

    /// The license directory, as every node sees it.
    pub fn license_dir(&self) -> &std::path::Path {
        &self.license_dir
    }

    /// The primary endpoint, when not the documented one.
    pub fn primary_endpoint(&self) -> Option<&str> {
        self.primary_url.as_deref()
    }

    /// The backup endpoint, when not the documented one (`""`: none).
    pub fn backup_endpoint(&self) -> Option<&str> {
        self.backup_url.as_deref()
    }

    /// The extra roots, as PEM texts.
    pub fn extra_roots_pem(&self) -> &[String] {
        &self.extra_roots_pem
    }

    /// Whether the system roots are trusted too.
    pub fn trusts_system_roots(&self) -> bool {
        self.system_roots
    }
}

/// A published document and its version.
#[derive(Debug, Clone)]
pub struct VersionedConfig {
    version: u64,
    document: ConfigDocument,
}

impl VersionedConfig {
    /// The version (counts up from 1 with each publication).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The document.
    pub fn document(&self) -> &ConfigDocument {
        &self.document
    }

    /// Builds the second factor the document describes.
    pub fn build_second_factor(&self) -> Result<Arc<dyn SecondFactor>, RedisStoreError> {
        let version = self.version;
        let failed = |mode, e: phonefactor::Error| RedisStoreError::SecondFactor {
            version,
            mode,
            source: Box::new(e),
        };
        Ok(match &self.document.second_factor {
            SecondFactorConfig::Agent(a) => {
                let mut builder = AgentClient::builder(&a.url, &a.username, a.password.clone())
                    .system_roots(a.system_roots);
                for der in certificates(&a.trust_roots_pem, version, "agent.trust_roots_pem")? {
                    builder = builder.add_root_certificate(der);
                }
                let client = builder.build().map_err(|e| failed("agent", e))?;
                Arc::new(PhoneCall::agent(Arc::new(client)))
            }
            SecondFactorConfig::Direct(d) => {
                let credentials =
                    DirectCredentials::from_license_dir(&d.license_dir, &d.pkcs12_password)
                        .map_err(|e| failed("direct", e))?;
                let mut builder = DirectClient::builder(credentials).system_roots(d.system_roots);
                if let Some(url) = &d.primary_url {
                    builder = builder.primary_url(url);
                }
                match d.backup_url.as_deref() {
                    Some("") => builder = builder.no_backup(),
                    Some(url) => builder = builder.backup_url(url),
                    None => {}
                }
                for der in certificates(&d.extra_roots_pem, version, "direct.extra_roots_pem")? {
                    builder = builder.add_root_certificate(der);
                }
                let client = builder.build().map_err(|e| failed("direct", e))?;
                Arc::new(PhoneCall::direct(Arc::new(client)))
            }
        })
    }

    /// Puts the document in force on `auth`: its policies and a second factor built from it.
    /// On error nothing changes.
    pub fn apply(&self, auth: &Authenticator) -> Result<(), RedisStoreError> {
        let factor = self.build_second_factor()?;
        auth.reconfigure(self.document.policy.clone(), factor)
            .map_err(|e| RedisStoreError::ConfigInvalid {
                version: self.version,
                field: "policy",
                reason: e.to_string(),
            })
    }
}

/// Every certificate in the PEM texts, in DER; a text without one is an error.
fn certificates(
    pems: &[String],
    version: u64,
    field: &'static str,
) -> Result<Vec<Vec<u8>>, RedisStoreError> {
    let mut all = Vec::new();
    for pem in pems {
        let found = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RedisStoreError::ConfigInvalid {
                version,
                field,
                reason: format!("not PEM certificates: {e}"),
            })?;
        if found.is_empty() {
            return Err(RedisStoreError::ConfigInvalid {
                version,
                field,
                reason: "no certificate in a PEM text".into(),
            });
        }
        all.extend(found.into_iter().map(|c| c.as_ref().to_vec()));
    }
    Ok(all)
}

/// The document as stored: plain JSON but for the secrets, which are sealed.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    format: u16,
    policy: Policy,
    second_factor: StoredFactor,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase", deny_unknown_fields)]
enum StoredFactor {
    Agent {
        url: String,
        username: String,
        password: String,
        trust_roots_pem: Vec<String>,
        system_roots: bool,
    },
    Direct {
        license_dir: PathBuf,
        pkcs12_password: String,
        primary_url: Option<String>,
        backup_url: Option<String>,
        extra_roots_pem: Vec<String>,
        system_roots: bool,
    },
}

/// The shared configuration of one deployment: `{namespace}:config:current`, a hash with
/// the `version` and the `doc` (JSON; secrets sealed with the [`ConfigKey`]).
///
/// An administrator (or any node) calls [`SharedConfig::publish`]; every node runs
/// [`SharedConfig::follow`] (or reads [`SharedConfig::watch`]) and has the new version in
/// force within the poll interval, without a restart. A node whose key does not open the
/// secrets keeps the version it has and logs why.
#[derive(Debug, Clone)]
pub struct SharedConfig {
    conn: Conn,
    key: Arc<ConfigKey>,
    poll: Duration,
    publish: Arc<Script>,
}

impl SharedConfig {
    pub(crate) fn new(conn: Conn, key: ConfigKey) -> Self {
        Self {
            conn,
            key: Arc::new(key),
            poll: DEFAULT_POLL,
            publish: Arc::new(Script::new(PUBLISH)),
        }
    }

    /// How often [`SharedConfig::watch`] looks for a new version (default 1 s).
    pub fn poll_every(mut self, interval: Duration) -> Self {
        self.poll = interval.max(Duration::from_millis(10));
        self
    }

    fn redis_key(&self) -> String {
        self.conn.namespace().key("config", "current")
    }

    fn context(&self, field: &str) -> String {
        format!("tfa-store-redis config|{}|{field}", self.conn.namespace())
    }

    /// Checks `document` (policies valid, trust roots readable), seals its secrets and
    /// publishes it as the next version; that version.
    pub async fn publish(&self, document: &ConfigDocument) -> Result<u64, RedisStoreError> {
        document
            .policy
            .validate()
            .map_err(|e| RedisStoreError::ConfigInvalid {
                version: 0,
                field: "policy",
                reason: e.to_string(),
            })?;
        let second_factor = match &document.second_factor {
            SecondFactorConfig::Agent(a) => {
                certificates(&a.trust_roots_pem, 0, "agent.trust_roots_pem")?;
                StoredFactor::Agent {
                    url: a.url.clone(),
                    username: a.username.clone(),
                    password: self
                        .key
                        .seal(&self.context("agent.password"), &a.password)?,
                    trust_roots_pem: a.trust_roots_pem.clone(),
                    system_roots: a.system_roots,
                }
            }
            SecondFactorConfig::Direct(d) => {
                certificates(&d.extra_roots_pem, 0, "direct.extra_roots_pem")?;
                StoredFactor::Direct {
                    license_dir: d.license_dir.clone(),
                    pkcs12_password: self
                        .key
                        .seal(&self.context("direct.pkcs12_password"), &d.pkcs12_password)?,
                    primary_url: d.primary_url.clone(),
                    backup_url: d.backup_url.clone(),
                    extra_roots_pem: d.extra_roots_pem.clone(),
                    system_roots: d.system_roots,
                }
            }
        };
        let json = serde_json::to_string(&Stored {
            format: FORMAT,
            policy: document.policy.clone(),
            second_factor,
        })
        .map_err(|e| RedisStoreError::ConfigInvalid {
            version: 0,
            field: "document",
            reason: e.to_string(),
        })?;
        self.conn
            .script(
                "config publish",
                self.publish.key(self.redis_key()).arg(json),
            )
            .await
    }

    /// The version in force, if one was published.
    pub async fn version(&self) -> Result<Option<u64>, RedisStoreError> {
        self.conn
            .run(
                "config version read",
                redis::cmd("HGET").arg(self.redis_key()).arg("version"),
            )
            .await
    }

    /// Reads and opens the version in force.
    pub async fn load(&self) -> Result<VersionedConfig, RedisStoreError> {
        let (version, doc): (Option<u64>, Option<String>) = self
            .conn
            .run(
                "config read",
                redis::cmd("HMGET")
                    .arg(self.redis_key())
                    .arg("version")
                    .arg("doc"),
            )
            .await?;
        let (Some(version), Some(doc)) = (version, doc) else {
            return Err(RedisStoreError::NoConfig {
                namespace: self.conn.namespace().to_string(),
            });
        };
        let invalid = |field, reason: String| RedisStoreError::ConfigInvalid {
            version,
            field,
            reason,
        };
        let stored: Stored =
            serde_json::from_str(&doc).map_err(|e| invalid("document", e.to_string()))?;
        if stored.format != FORMAT {
            return Err(invalid(
                "format",
                format!(
                    "format {} is not {FORMAT}, the one this build reads",
                    stored.format
                ),
            ));
        }
        let open = |field: &'static str, sealed: &str| {
            self.key
                .open(&self.context(field), sealed)
                .ok_or(RedisStoreError::WrongKey { field, version })
        };
        let second_factor = match stored.second_factor {
            StoredFactor::Agent {
                url,
                username,
                password,
                trust_roots_pem,
                system_roots,
            } => SecondFactorConfig::Agent(AgentSettings {
                url,
                username,
                password: open("agent.password", &password)?,
                trust_roots_pem,
                system_roots,
            }),
            StoredFactor::Direct {
                license_dir,
                pkcs12_password,
                primary_url,
                backup_url,
                extra_roots_pem,
                system_roots,
            } => SecondFactorConfig::Direct(DirectSettings {
                license_dir,
                pkcs12_password: open("direct.pkcs12_password", &pkcs12_password)?,
                primary_url,
                backup_url,
                extra_roots_pem,
                system_roots,
            }),
        };
        Ok(VersionedConfig {
            version,
            document: ConfigDocument {
                policy: stored.policy,
                second_factor,
            },
        })
    }

    /// Follows the configuration: the receiver holds the newest version that opened and
    /// parsed (`None` until one is found), checked every poll interval. A version that
    /// cannot be read (wrong key, bad document) is logged and skipped; the previous one stays.
    /// The polling stops when every receiver is dropped.
    pub fn watch(&self) -> watch::Receiver<Option<Arc<VersionedConfig>>> {
        let (sender, receiver) = watch::channel(None);
        let this = self.clone();
        tokio::spawn(async move {
            let mut seen = None;
            loop {
                match this.version().await {
                    Ok(Some(version)) if seen != Some(version) => match this.load().await {
                        Ok(config) => {
                            seen = Some(config.version());
                            sender.send_replace(Some(Arc::new(config)));
                        }
                        // Redis did not answer: try again at the next poll.
                        Err(error @ RedisStoreError::Command { .. }) => {
                            tracing::warn!(%error, "cannot read the shared configuration")
                        }
                        // This version cannot be used: say so once, keep the previous one.
                        Err(error) => {
                            seen = Some(version);
                            tracing::error!(
                                %error,
                                version,
                                "shared configuration not taken; the previous one stays in force"
                            )
                        }
                    },
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the shared configuration version")
                    }
                }
                tokio::select! {
                    () = sender.closed() => return,
                    () = tokio::time::sleep(this.poll) => {}
                }
            }
        });
        receiver
    }

    /// Keeps `auth` on the newest version: applies each new one as it is seen (see
    /// [`VersionedConfig::apply`]). Runs until the returned task is aborted.
    pub fn follow(&self, auth: Authenticator) -> JoinHandle<()> {
        let mut versions = self.watch();
        tokio::spawn(async move {
            while versions.changed().await.is_ok() {
                let Some(config) = versions.borrow_and_update().clone() else {
                    continue;
                };
                match config.apply(&auth) {
                    Ok(()) => {
                        tracing::info!(version = config.version(), "shared configuration in force")
                    }
                    Err(error) => tracing::error!(
                        %error,
                        version = config.version(),
                        "shared configuration not applied; the previous one stays in force"
                    ),
                }
            }
        })
    }
}
