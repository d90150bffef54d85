//! `tfa-admin config ...`: the configuration that every portal node follows from Redis
//! (`[shared_config]` in the portal's file): the key that seals its secrets, publishing a new
//! version, and showing the version in force.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use phonefactor::config::{Mode, SecretSource, VerifierConfig};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;
use tfa_flow::Policy;
use tfa_store_redis::{
    AgentSettings, ConfigDocument, ConfigKey, DirectSettings, RedisStoreError, SecondFactorConfig,
    SharedConfig,
};

use crate::call::error_chain;
use crate::tfa_settings::{connect_redis, redact};

/// Commands on the shared configuration.
///
/// `--store` is the Redis the portal nodes share (`redis://[:password@]host[:port][/db][#namespace]`,
/// namespace default `login-portal`, as the portal's `--store`); `--key-file` the key every
/// node holds (`config key new`).
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// The key that seals the secrets of the shared configuration.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Publish the `[phonefactor]` and `[policy]` tables of a portal-style TOML file as the
    /// next version; every node following it has it in force within seconds.
    ///
    /// Secrets are read from the files or environment variables the file names and sealed with
    /// the key; trust roots are read from the files and trust store it names; relative paths
    /// are relative to the file's directory. Other tables are ignored, so a portal's own file
    /// can be published. Nothing is published when anything is wrong. Exit status: 0
    /// published, 1 the file was refused, 2 usage, key or Redis error.
    Publish(PublishArgs),
    /// Print the version in force and its document as JSON, secrets masked. Exit status: 0
    /// shown, 1 nothing published or it cannot be opened with this key, 2 usage or Redis
    /// error.
    Show(ShowArgs),
}

/// Commands on the configuration key.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Write a new random key (base64) to FILE, readable by its owner only (mode 0600);
    /// an existing file is never overwritten. Copy it to every portal node.
    New(KeyNewArgs),
}

/// Arguments of `config key new`.
#[derive(Debug, Args)]
pub(crate) struct KeyNewArgs {
    /// The key file to create.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Where the shared configuration lives and the key that opens it.
#[derive(Debug, Args)]
pub(crate) struct SharedArgs {
    /// The shared Redis: `redis://[:password@]host[:port][/db][#namespace]`.
    #[arg(long, value_name = "URL")]
    store: String,
    /// The configuration key file (`config key new`).
    #[arg(long, value_name = "FILE")]
    key_file: PathBuf,
}

/// Arguments of `config publish`.
#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    #[command(flatten)]
    shared: SharedArgs,
    /// The TOML file with `[phonefactor]` and `[policy]` (the portal's keys).
    #[arg(value_name = "CONFIG.toml")]
    config: PathBuf,
}

/// Arguments of `config show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    shared: SharedArgs,
}

/// Why a configuration file cannot be published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ConfigFileError {
    /// The file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a table has unknown or missing keys.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A setting cannot be published as it is.
    #[error("{path}: {key}: {reason}")]
    Setting {
        /// The file.
        path: PathBuf,
        /// The key at fault.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A file the configuration names (secret, trust root) cannot be read.
    #[error("{path}: {key}: cannot read {file}")]
    Referenced {
        /// The configuration file.
        path: PathBuf,
        /// The key naming the file.
        key: String,
        /// The file named.
        file: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Runs a `config` command.
pub(crate) fn run(command: ConfigCommand) -> ExitCode {
    match command {
        ConfigCommand::Key(KeyCommand::New(args)) => key_new(&args.file),
        ConfigCommand::Publish(args) => with_runtime(publish(&args)),
        ConfigCommand::Show(args) => with_runtime(show(&args)),
    }
}

fn with_runtime(work: impl Future<Output = ExitCode>) -> ExitCode {
    match crate::call::runtime() {
        Some(runtime) => runtime.block_on(work),
        None => ExitCode::from(2),
    }
}

fn key_new(file: &Path) -> ExitCode {
    let key = match ConfigKey::generate() {
        Ok(key) => key,
        Err(e) => {
            eprintln!("tfa-admin: {}", error_chain(&e));
            return ExitCode::from(2);
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(file).and_then(|mut out| {
        out.write_all(key.to_base64().expose_secret().as_bytes())?;
        out.write_all(b"\n")?;
        out.sync_all()
    });
    match written {
        Ok(()) => {
            println!(
                "wrote a new configuration key to {} (mode 0600): copy it to every portal node",
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "tfa-admin: {} exists: a key file is never overwritten",
                file.display()
            );
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("tfa-admin: cannot write {}: {e}", file.display());
            ExitCode::from(2)
        }
    }
}

/// The shared configuration `args` names; a message and exit status 2 when it cannot be
/// reached.
async fn open_shared(args: &SharedArgs) -> Result<(SharedConfig, String), ExitCode> {
    if !(args.store.starts_with("redis://") || args.store.starts_with("rediss://")) {
        eprintln!(
            "tfa-admin: --store {}: expected redis://[:password@]host[:port][/db][#namespace]",
            redact(&args.store)
        );
        return Err(ExitCode::from(2));
    }
    let key = ConfigKey::from_file(&args.key_file).map_err(|e| {
        eprintln!("tfa-admin: --key-file: {}", error_chain(&e));
        ExitCode::from(2)
    })?;
    let stores = connect_redis(&args.store).await?;
    Ok((stores.shared_config(key), redact(&args.store)))
}

async fn publish(args: &PublishArgs) -> ExitCode {
    let document = match document_from_file(&args.config) {
        Ok(document) => document,
        Err(e) => {
            eprintln!("tfa-admin: {}", error_chain(&e));
            return ExitCode::from(1);
        }
    };
    let (shared, shown) = match open_shared(&args.shared).await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    match shared.publish(&document).await {
        Ok(version) => {
            println!("published configuration version {version} to {shown}");
            ExitCode::SUCCESS
        }
        Err(e @ RedisStoreError::ConfigInvalid { .. }) => {
            eprintln!("tfa-admin: {}: {}", args.config.display(), error_chain(&e));
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("tfa-admin: {}", error_chain(&e));
            ExitCode::from(2)
        }
    }
}

async fn show(args: &ShowArgs) -> ExitCode {
    let (shared, _) = match open_shared(&args.shared).await {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let config = match shared.load().await {
        Ok(config) => config,
        Err(e @ RedisStoreError::Command { .. }) => {
            eprintln!("tfa-admin: {}", error_chain(&e));
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("tfa-admin: {}", error_chain(&e));
            return ExitCode::from(1);
        }
    };
    const MASK: &str = "********";
    let document = config.document();
    let second_factor = match document.second_factor() {
        SecondFactorConfig::Agent(a) => json!({
            "mode": "agent",
            "url": a.url(),
            "username": a.username(),
            "password": MASK,
            "trust_roots": a.trust_roots_pem().len(),
            "system_roots": a.trusts_system_roots(),
        }),
        SecondFactorConfig::Direct(d) => json!({
            "mode": "direct",
            "license_dir": d.license_dir(),
            "pkcs12_password": MASK,
            "primary_url": d.primary_endpoint(),
            "backup_url": d.backup_endpoint(),
            "extra_roots": d.extra_roots_pem().len(),
            "system_roots": d.trusts_system_roots(),
        }),
        _ => json!({ "mode": "unknown" }),
    };
    let shown = json!({
        "version": config.version(),
        "policy": document.policy(),
        "second_factor": second_factor,
    });
    match serde_json::to_string_pretty(&shown) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tfa-admin: cannot print the configuration: {e}");
            ExitCode::from(2)
        }
    }
}

/// The tables of the file that are published; the others are ignored.
#[derive(Deserialize)]
struct Published {
    phonefactor: VerifierConfig,
    #[serde(default)]
    policy: Policy,
}

/// Reads `path` (the portal's `[phonefactor]` and `[policy]`) into a document: secrets and
/// trust roots read from the files it names, relative to its directory.
pub(crate) fn document_from_file(path: &Path) -> Result<ConfigDocument, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file: Published = toml::from_str(&text).map_err(|e| ConfigFileError::Invalid {
        path: path.to_owned(),
        reason: e.message().to_owned(),
    })?;
    let reader = Reader {
        path,
        base: path.parent().unwrap_or(Path::new(".")),
    };
    file.policy
        .validate()
        .map_err(|e| reader.setting("policy", e.to_string()))?;
    let config = file.phonefactor;
    if config.proxy.is_some() {
        return Err(reader.not_carried("phonefactor.proxy"));
    }
    let second_factor = match config.mode {
        Mode::Agent => SecondFactorConfig::Agent(reader.agent(&config)?),
        Mode::Direct => SecondFactorConfig::Direct(reader.direct(&config)?),
        other => {
            return Err(reader.setting("phonefactor.mode", format!("{other:?} is not supported")));
        }
    };
    Ok(ConfigDocument::new(file.policy, second_factor))
}

/// Reads what a configuration file names, for its errors.
struct Reader<'a> {
    path: &'a Path,
    base: &'a Path,
}

impl Reader<'_> {
    fn setting(&self, key: &str, reason: String) -> ConfigFileError {
        ConfigFileError::Setting {
            path: self.path.to_owned(),
            key: key.to_owned(),
            reason,
        }
    }

    /// A setting the shared document has no place for: refused rather than dropped, so that
    /// no node runs with less than the file asks (a pin, a proxy).
    fn not_carried(&self, key: &str) -> ConfigFileError {
        self.setting(
            key,
            "the shared configuration cannot carry this setting; remove it to publish".into(),
        )
    }

    /// Refuses the first setting in `settings` that is set (the shared document cannot
    /// carry it), naming it.
    fn refuse_any(&self, settings: &[(bool, &str)]) -> Result<(), ConfigFileError> {
        match settings.iter().find(|(set, _)| *set) {
            Some((_, key)) => Err(self.not_carried(key)),
            None => Ok(()),
        }
    }

    fn referenced(
        &self,
        key: &str,
        file: PathBuf,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> ConfigFileError {
        ConfigFileError::Referenced {
            path: self.path.to_owned(),
            key: key.to_owned(),
            file,
            source: Box::new(source),
        }
    }

    /// The secret from `password_file` (its first line) or `password_env`.
    fn secret(
        &self,
        source: &SecretSource,
        section: &str,
    ) -> Result<SecretString, ConfigFileError> {
        if let Some(file) = &source.password_file {
            let key = format!("{section}.password_file");
            let file = self.base.join(file);
            let text =
                std::fs::read_to_string(&file).map_err(|e| self.referenced(&key, file, e))?;
            let line = text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_end_matches('\r');
            if line.is_empty() {
                return Err(self.setting(&key, "the file's first line is empty".into()));
            }
            return Ok(SecretString::from(line.to_owned()));
        }
        if let Some(var) = &source.password_env {
            let key = format!("{section}.password_env");
            return match std::env::var(var) {
                Ok(value) if !value.is_empty() => Ok(SecretString::from(value)),
                _ => Err(self.setting(&key, format!("the environment variable {var} is not set"))),
            };
        }
        Err(self.setting(section, "set password_file or password_env".into()))
    }

    /// Every certificate in `file` (PEM or DER), as PEM text.
    fn pem(&self, key: &str, file: &Path) -> Result<String, ConfigFileError> {
        let file = self.base.join(file);
        let certificates = phonefactor::load_certificates(&file)
            .map_err(|e| self.referenced(key, file.clone(), e))?;
        Ok(certificates
            .iter()
            .map(|der| crate::ca::certificate_pem(der.as_ref()))
            .collect())
    }

    fn agent(&self, config: &VerifierConfig) -> Result<AgentSettings, ConfigFileError> {
        let a = config.agent.as_ref().ok_or_else(|| {
            self.setting(
                "phonefactor.agent",
                "mode is agent but the section is missing".into(),
            )
        })?;
        self.refuse_any(&[
            (
                !a.pinned_certificates.is_empty(),
                "phonefactor.agent.pinned_certificates",
            ),
            (a.namespace.is_some(), "phonefactor.agent.namespace"),
            (a.operation.is_some(), "phonefactor.agent.operation"),
            (
                a.initiating_type.is_some(),
                "phonefactor.agent.initiating_type",
            ),
            (
                a.application_name.is_some(),
                "phonefactor.agent.application_name",
            ),
            (
                a.connect_timeout_secs.is_some(),
                "phonefactor.agent.connect_timeout_secs",
            ),
            (
                a.response_timeout_secs.is_some(),
                "phonefactor.agent.response_timeout_secs",
            ),
        ])?;
        let password = self.secret(&a.password, "phonefactor.agent")?;
        let mut settings = AgentSettings::new(&a.url, &a.username, password)
            .system_roots(a.system_roots.unwrap_or(true));
        for root in &a.trust_roots {
            settings = settings.trust_root_pem(self.pem("phonefactor.agent.trust_roots", root)?);
        }
        if let Some(store) = &a.trust_store {
            let key = "phonefactor.agent.trust_store";
            let dir = self.base.join(store);
            let files = phonefactor::config::trust_store_files(&dir)
                .map_err(|e| self.referenced(key, dir.clone(), e))?;
            for file in files {
                settings = settings.trust_root_pem(self.pem(key, &file)?);
            }
        }
        Ok(settings)
    }

    fn direct(&self, config: &VerifierConfig) -> Result<DirectSettings, ConfigFileError> {
        let d = config.direct.as_ref().ok_or_else(|| {
            self.setting(
                "phonefactor.direct",
                "mode is direct but the section is missing".into(),
            )
        })?;
        self.refuse_any(&[
            (
                d.phonefactor_cn_check == Some(false),
                "phonefactor.direct.phonefactor_cn_check",
            ),
            (
                d.connect_timeout_secs.is_some(),
                "phonefactor.direct.connect_timeout_secs",
            ),
            (
                d.handshake_timeout_secs.is_some(),
                "phonefactor.direct.handshake_timeout_secs",
            ),
            (
                d.response_timeout_secs.is_some(),
                "phonefactor.direct.response_timeout_secs",
            ),
            (
                d.allow_international_calls.is_some(),
                "phonefactor.direct.allow_international_calls",
            ),
            (
                d.application_name.is_some(),
                "phonefactor.direct.application_name",
            ),
            (d.host_ip.is_some(), "phonefactor.direct.host_ip"),
            (d.host_name.is_some(), "phonefactor.direct.host_name"),
            (d.user_group.is_some(), "phonefactor.direct.user_group"),
        ])?;
        let password = self.secret(&d.password, "phonefactor.direct")?;
        let mut settings = DirectSettings::new(self.base.join(&d.license_dir), password)
            .system_roots(d.system_roots.unwrap_or(true));
        if let Some(url) = &d.primary_url {
            settings = settings.primary_url(url);
        }
        if let Some(url) = &d.backup_url {
            settings = settings.backup_url(url);
        }
        for root in &d.extra_roots {
            settings = settings.extra_root_pem(self.pem("phonefactor.direct.extra_roots", root)?);
        }
        Ok(settings)
    }
}
