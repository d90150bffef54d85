//! `tfa-admin users tfa ...`: per-user TFA settings (the product's Users » Two-Factor
//! Authentication screen): enable or disable TFA for users in bulk, list settings, blocks and
//! bypasses, lift fraud blocks and grant one-time bypasses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use serde::Serialize;
use tfa_directory::Username;
use tfa_flow::{
    AuditKind, BypassGrant, FileTfaStateStore, FlowError, TfaStateStore, Timestamp, UserTfaSettings,
};
use tfa_store_redis::{Namespace, RedisStores, RedisTfaStateStore};

use crate::audit::{AuditArgs, AuditFile};

/// Commands on users' TFA settings.
///
/// `--store` names where the settings live: the TFA settings file (JSON, created at the first
/// change) that a server reads to decide who must answer a call, or the Redis that several
/// nodes share (`redis://[:password@]host[:port][/db][#namespace]`, the portal's `--store`).
/// It is not the local password store that `users import` writes.
#[derive(Debug, Subcommand)]
pub(crate) enum TfaCommand {
    /// Turn TFA on for users (named, or read from `--from-csv`).
    ///
    /// Every name is checked first; nothing is written if any is bad, unless `--skip-bad` is
    /// given. All users change in one atomic write. Exit status: 0 all changed, 1 some names
    /// refused, 2 usage or I/O error.
    Enable(ChangeArgs),
    /// Turn TFA off for users (named, or read from `--from-csv`). As `enable` otherwise.
    Disable(ChangeArgs),
    /// Forget users' own settings, so groups and the default policy decide again. As `enable`
    /// otherwise.
    Reset(ChangeArgs),
    /// List every user with a setting, a fraud block or a bypass.
    List(ListArgs),
    /// Lift the fraud block on users' TFA (set when a call ended with the fraud code). Exit
    /// status 1 if any of them was not blocked.
    Unblock(UnblockArgs),
    /// Let a user log in once without a call within the next N minutes.
    Bypass(BypassArgs),
}

/// The settings store, as every `users tfa` command names it.
#[derive(Debug, Args)]
pub(crate) struct StoreArg {
    /// The TFA settings file (JSON; created at the first change), or a shared Redis:
    /// `redis://[:password@]host[:port][/db][#namespace]` (namespace default `login-portal`,
    /// as the portal's). Not the password store.
    #[arg(long = "store", visible_alias = "settings", value_name = "FILE|URL")]
    store: PathBuf,
}

/// The key prefix in Redis when the URL names none (the portal's default).
const DEFAULT_NAMESPACE: &str = "login-portal";

/// An open settings store: a file, or a shared Redis.
enum Settings {
    File(FileTfaStateStore),
    Redis(Arc<RedisTfaStateStore>),
}

impl StoreArg {
    /// Where the settings are, for messages (a Redis URL without its password).
    fn shown(&self) -> String {
        match self.redis_url() {
            Some(url) => redact(url),
            None => self.store.display().to_string(),
        }
    }

    fn redis_url(&self) -> Option<&str> {
        self.store
            .to_str()
            .filter(|s| s.starts_with("redis://") || s.starts_with("rediss://"))
    }

    /// Opens the store; `create`: a missing file is created at the first change.
    async fn open(&self, create: bool) -> Result<Settings, ExitCode> {
        if let Some(spec) = self.redis_url() {
            return Ok(Settings::Redis(connect_redis(spec).await?.tfa_settings()));
        }
        let opened = if create {
            FileTfaStateStore::open_or_create(&self.store).await
        } else {
            FileTfaStateStore::open(&self.store).await
        };
        opened.map(Settings::File).map_err(|e| store_failed(&e))
    }
}

/// Connects to the Redis that `spec` names (`redis://[:password@]host[:port][/db][#namespace]`,
/// namespace default `login-portal`, as the portal's `--store`); says why on stderr and
/// gives exit status 2 when it cannot.
pub(crate) async fn connect_redis(spec: &str) -> Result<RedisStores, ExitCode> {
    let (url, namespace) = spec.split_once('#').unwrap_or((spec, DEFAULT_NAMESPACE));
    let namespace = Namespace::new(namespace).map_err(|e| {
        eprintln!("tfa-admin: --store: {}", crate::call::error_chain(&e));
        ExitCode::from(2)
    })?;
    RedisStores::connect(url, namespace).await.map_err(|e| {
        eprintln!("tfa-admin: {}", crate::call::error_chain(&e));
        ExitCode::from(2)
    })
}

/// `redis://:secret@host` as `redis://:***@host`.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Settings {
    fn state(&self) -> &dyn TfaStateStore {
        match self {
            Self::File(file) => file,
            Self::Redis(redis) => redis.as_ref(),
        }
    }

    async fn set_enforcement_many(
        &self,
        users: &[Username],
        enforced: Option<bool>,
    ) -> Result<(), FlowError> {
        match self {
            Self::File(file) => file.set_enforcement_many(users, enforced).await,
            Self::Redis(redis) => redis.set_enforcement_many(users, enforced).await,
        }
    }

    async fn users(&self) -> Result<BTreeMap<String, UserTfaSettings>, FlowError> {
        match self {
            Self::File(file) => file.users().await,
            Self::Redis(redis) => redis.users().await,
        }
    }
}

/// Arguments of `users tfa enable|disable|reset`.
#[derive(Debug, Args)]
pub(crate) struct ChangeArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Users to change.
    #[arg(value_name = "USER", required_unless_present = "from_csv")]
    users: Vec<String>,
    /// A CSV file whose header has a `username` column (other columns are ignored).
    #[arg(long, value_name = "FILE")]
    from_csv: Option<PathBuf>,
    /// Change the good names even if some are bad.
    #[arg(long)]
    skip_bad: bool,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Arguments of `users tfa list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Print one JSON object per user, one per line.
    #[arg(long)]
    json: bool,
}

/// Arguments of `users tfa unblock`.
#[derive(Debug, Args)]
pub(crate) struct UnblockArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Users whose block to lift.
    #[arg(value_name = "USER", required = true)]
    users: Vec<String>,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Arguments of `users tfa bypass`.
#[derive(Debug, Args)]
pub(crate) struct BypassArgs {
    #[command(flatten)]
    store: StoreArg,
    /// The user.
    #[arg(value_name = "USER")]
    user: String,
    /// How long the bypass may be used, in minutes (1 to 10080, a week).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_080))]
    minutes: u64,
    /// Why, for the audit trail (required).
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[command(flatten)]
    audit: AuditArgs,
}

/// Runs a `users tfa` command.
pub(crate) fn run(command: TfaCommand) -> ExitCode {
    let Some(runtime) = crate::call::runtime() else {
        return ExitCode::from(2);
    };
    runtime.block_on(async {
        match command {
            TfaCommand::Enable(args) => change(&args, Some(true)).await,
            TfaCommand::Disable(args) => change(&args, Some(false)).await,
            TfaCommand::Reset(args) => change(&args, None).await,
            TfaCommand::List(args) => list(&args).await,
            TfaCommand::Unblock(args) => unblock(&args).await,
            TfaCommand::Bypass(args) => bypass(&args).await,
        }
    })
}

/// Reports a store error and returns the I/O exit status.
fn store_failed(error: &FlowError) -> ExitCode {
    eprintln!("tfa-admin: {}", crate::call::error_chain(error));
    ExitCode::from(2)
}

/// Opens the audit file (if any) before a change; reports why not.
fn open_audit(args: &AuditArgs) -> Result<Option<AuditFile>, ExitCode> {
    args.open().map_err(|message| {
        eprintln!("tfa-admin: {message}");
        ExitCode::from(2)
    })
}

/// Records one change in the audit file, if there is one; false (reported) if it failed.
fn audited(audit: &mut Option<AuditFile>, user: &Username, kind: AuditKind) -> bool {
    let Some(file) = audit else {
        return true;
    };
    match file.record(now(), user, kind) {
        Ok(()) => true,
        Err(message) => {
            eprintln!("tfa-admin: {message}");
            false
        }
    }
}

/// A name that could not be used, with where it came from.
struct BadName {
    origin: String,
    reason: String,
}

async fn change(args: &ChangeArgs, enforced: Option<bool>) -> ExitCode {
    let mut names: Vec<(String, String)> = args
        .users
        .iter()
        .map(|name| (format!("argument {name:?}"), name.clone()))
        .collect();
    if let Some(csv) = &args.from_csv {
        match read_csv(csv) {
            Ok(rows) => names.extend(rows),
            Err(message) => {
                eprintln!("tfa-admin: {message}");
                return ExitCode::from(2);
            }
        }
    }
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (origin, name) in names {
        match Username::new(&name) {
            Ok(user) => good.push(user),
            Err(e) => bad.push(BadName {
                origin,
                reason: crate::call::error_chain(&e),
            }),
        }
    }
    for name in &bad {
        eprintln!("tfa-admin: {}: {}", name.origin, name.reason);
    }
    if !bad.is_empty() && !args.skip_bad {
        println!(
            "nothing written: {} bad name(s); fix them or pass --skip-bad",
            bad.len()
        );
        return ExitCode::from(1);
    }
    let mut audit = match open_audit(&args.audit) {
        Ok(audit) => audit,
        Err(code) => return code,
    };
    let store = match args.store.open(true).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    if !good.is_empty()
        && let Err(e) = store.set_enforcement_many(&good, enforced).await
    {
        return store_failed(&e);
    }
    let by = args.audit.operator();
    let mut recorded = true;
    for user in &good {
        let kind = AuditKind::EnforcementChanged {
            enforced,
            by: by.clone(),
        };
        recorded &= audited(&mut audit, user, kind);
    }
    let what = match enforced {
        Some(true) => "TFA enabled",
        Some(false) => "TFA disabled",
        None => "TFA settings reset",
    };
    println!(
        "{what} for {} user(s) in {}",
        good.len(),
        args.store.shown()
    );
    if !recorded {
        ExitCode::from(2)
    } else if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The `username` column of a CSV file, each value with its line.
fn read_csv(path: &Path) -> Result<Vec<(String, String)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let header = reader
        .headers()
        .map_err(|e| format!("{}: not readable as CSV: {e}", path.display()))?;
    let column = header
        .iter()
        .position(|name| name.eq_ignore_ascii_case("username"))
        .ok_or_else(|| format!("{}: the header has no username column", path.display()))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{}: not readable as CSV: {e}", path.display()))?;
        let line = record.position().map_or(0, csv::Position::line);
        let name = record.get(column).unwrap_or_default().to_owned();
        rows.push((format!("{}: line {line}", path.display()), name));
    }
    Ok(rows)
}

/// One user's settings as `list` prints them.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    user: &'a str,
    /// `on`, `off` or `default`.
    tfa: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocked_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bypass: Option<ListedBypass<'a>>,
}

#[derive(Debug, Serialize)]
struct ListedBypass<'a> {
    until: String,
    expired: bool,
    reason: &'a str,
    granted_by: &'a str,
}

async fn list(args: &ListArgs) -> ExitCode {
    let store = match args.store.open(false).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let users = match store.users().await {
        Ok(users) => users,
        Err(e) => return store_failed(&e),
    };
    let now = now();
    let rows: Vec<Listed<'_>> = users
        .iter()
        .map(|(user, settings)| Listed {
            user,
            tfa: match settings.enforced {
                Some(true) => "on",
                Some(false) => "off",
                None => "default",
            },
            blocked_since: settings.blocked_at.map(rfc3339),
            bypass: settings.bypass.as_ref().map(|grant| ListedBypass {
                until: rfc3339(grant.until),
                expired: grant.until <= now,
                reason: &grant.reason,
                granted_by: &grant.granted_by,
            }),
        })
        .collect();
    if args.json {
        for row in &rows {
            match serde_json::to_string(row) {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    eprintln!("tfa-admin: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        return ExitCode::SUCCESS;
    }
    if rows.is_empty() {
        println!("no user has a TFA setting, a block or a bypass");
        return ExitCode::SUCCESS;
    }
    let width = rows.iter().map(|r| r.user.len()).max().unwrap_or(4).max(4);
    println!("{:<width$}  {:<7}  notes", "USER", "TFA");
    for row in &rows {
        let mut notes = Vec::new();
        if let Some(since) = &row.blocked_since {
            notes.push(format!("BLOCKED since {since} (fraud report)"));
        }
        if let Some(b) = &row.bypass {
            let state = if b.expired { "expired" } else { "until" };
            notes.push(format!(
                "bypass {state} {} by {}: {}",
                b.until, b.granted_by, b.reason
            ));
        }
        println!("{:<width$}  {:<7}  {}", row.user, row.tfa, notes.join("; "));
    }
    ExitCode::SUCCESS
}

async fn unblock(args: &UnblockArgs) -> ExitCode {
    let users = match parse_users(&args.users) {
        Ok(users) => users,
        Err(code) => return code,
    };
    let mut audit = match open_audit(&args.audit) {
        Ok(audit) => audit,
        Err(code) => return code,
    };
    let store = match args.store.open(false).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let by = args.audit.operator();
    let mut all = true;
    let mut recorded = true;
    for user in &users {
        match store.state().unblock(user).await {
            Ok(true) => {
                println!("{user}: block lifted");
                recorded &= audited(&mut audit, user, AuditKind::Unblocked { by: by.clone() });
            }
            Ok(false) => {
                println!("{user}: was not blocked");
                all = false;
            }
            Err(e) => return store_failed(&e),
        }
    }
    if !recorded {
        ExitCode::from(2)
    } else if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn bypass(args: &BypassArgs) -> ExitCode {
    let users = match parse_users(std::slice::from_ref(&args.user)) {
        Ok(users) => users,
        Err(code) => return code,
    };
    if args.reason.trim().is_empty() {
        eprintln!("tfa-admin: --reason must say why, for the audit log");
        return ExitCode::from(2);
    }
    let granted_by = args.audit.operator();
    let until = now().plus(Duration::from_secs(args.minutes * 60));
    let mut audit = match open_audit(&args.audit) {
        Ok(audit) => audit,
        Err(code) => return code,
    };
    let store = match args.store.open(true).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let grant = BypassGrant {
        until,
        reason: args.reason.trim().to_owned(),
        granted_by: granted_by.clone(),
    };
    if let Err(e) = store.state().grant_bypass(&users[0], grant).await {
        return store_failed(&e);
    }
    println!(
        "{}: one login without a call allowed until {}",
        users[0],
        rfc3339(until)
    );
    let kind = AuditKind::BypassGranted {
        until,
        reason: args.reason.trim().to_owned(),
        by: granted_by,
    };
    if audited(&mut audit, &users[0], kind) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// Parses usernames given as arguments; reports the bad ones.
fn parse_users(names: &[String]) -> Result<Vec<Username>, ExitCode> {
    let mut users = Vec::new();
    let mut bad = false;
    for name in names {
        match Username::new(name) {
            Ok(user) => users.push(user),
            Err(e) => {
                eprintln!(
                    "tfa-admin: argument {name:?}: {}",
                    crate::call::error_chain(&e)
                );
                bad = true;
            }
        }
    }
    if bad {
        Err(ExitCode::from(2))
    } else {
        Ok(users)
    }
}

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp::from_unix_millis(millis)
}

/// A timestamp as RFC 3339 in UTC, to the second.
fn rfc3339(at: Timestamp) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(at.unix_millis()))
        .to_string()
}
