//! The demo: the simulator embedded, a few users in a temporary store, the portal on
//! loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use phonefactor::config::VerifierConfig;
use phonefactor_sim::{AgentDirectory, AgentUser, PhoneScript, Scenario, Simulator};
use secrecy::SecretString;
use tfa_directory::{HashParams, LocalDirectory, NewUser, Username};
use tfa_flow::{Authenticator, PhoneCall, Policy};
use tfa_phone::PhoneNumber;

use crate::audit::JsonLinesAuditSink;
use crate::client_addr::TrustedProxies;
use crate::cookie::{CookieSettings, SameSite};
use crate::progress::SimWatch;
use crate::server::{AppParts, DemoParts, bind, launch};
use crate::{PortalError, PortalHandle, StoreSet};

/// How a demo user passes the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DemoMode {
    /// Answers the call and presses `#` (standard mode).
    PressPound,
    /// Answers, keys this PIN, then `#` (PIN mode, kept on the agent).
    Pin(String),
    /// TFA is turned off for this user: the password alone signs in, no call.
    NoTfa,
}

/// A user of the demo, with everything needed to sign in as them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DemoUser {
    /// The username to type.
    pub username: String,
    /// The password (random for each start).
    pub password: String,
    /// The phone the call goes to, e.g. `+1 925 924 9500`.
    pub phone: String,
    /// How the user passes the second factor.
    pub mode: DemoMode,
}

/// Options of [`start_demo`].
#[derive(Debug, Clone)]
pub struct DemoOptions {
    listen: SocketAddr,
    answer_after: Option<Duration>,
    ring_time: Duration,
    stores: Option<StoreSet>,
}

impl Default for DemoOptions {
    /// Portal on `127.0.0.1:0` (a free port); phones ring until answered by hand on the
    /// phones page and ring out after 60 s.
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            answer_after: None,
            ring_time: Duration::from_secs(60),
            stores: None,
        }
    }
}

impl DemoOptions {
    /// Where the portal listens (default `127.0.0.1:0`).
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Phones answer by themselves after `delay` as their users would (`#`, or the PIN
    /// and `#`), instead of waiting to be answered by hand.
    #[must_use]
    pub fn answer_after(mut self, delay: Duration) -> Self {
        self.answer_after = Some(delay);
        self
    }

    /// How long a phone nobody answers rings before it rings out (default 60 s).
    #[must_use]
    pub fn ring_time(mut self, time: Duration) -> Self {
        self.ring_time = time;
        self
    }

    /// Keeps logins, counters and (where the set has them) TFA settings in these stores
    /// (see [`open_stores`](crate::open_stores)) instead of in memory.
    #[must_use]
    pub fn stores(mut self, stores: StoreSet) -> Self {
        self.stores = Some(stores);
        self
    }
}

/// The demo's users: name, number (stored format), how they answer.
const USERS: [(&str, &str, &str); 3] = [
    ("alice", "1 9259249500", "+1 925 924 9500"),
    ("bob", "1 9259249501", "+1 925 924 9501"),
    ("carol", "1 9259249502", "+1 925 924 9502"),
];

/// Starts the demo: the PhoneFactor simulator in this process (agent mode, real TLS on
/// loopback), a temporary local password store with three users (`alice` presses `#`,
/// `bob` keys a PIN, `carol` has TFA off), a JSON-lines audit file, and the portal.
///
/// Everything lives in a temporary directory removed at [`PortalHandle::shutdown`].
pub async fn start_demo(options: DemoOptions) -> Result<PortalHandle, PortalError> {
    let listener = bind(options.listen).await?;
    let temp = tempfile::Builder::new()
        .prefix("login-portal-demo-")
        .tempdir()
        .map_err(|source| PortalError::TempDir { source })?;
    let pin = random_digits(4)?;
    let mut users = Vec::new();
    for (name, _, shown) in USERS {
        let mode = match name {
            "alice" => DemoMode::PressPound,
            "bob" => DemoMode::Pin(pin.clone()),
            _ => DemoMode::NoTfa,
        };
        users.push(crate::DemoUser {
            username: name.to_owned(),
            password: random_password()?,
            phone: shown.to_owned(),
            mode,
        });
    }

    let sim = start_simulator(&options, &temp, &users).await?;
    let config_path = sim.agent_config_path().ok_or(PortalError::InvalidSetting {
        field: "demo",
        reason: "the simulator wrote no agent configuration".into(),
    })?;
    let verifier = VerifierConfig::from_file(config_path)
        .and_then(|config| {
            let base = config_path.parent().unwrap_or(config_path);
            config.verifier(base, None)
        })
        .map_err(|source| PortalError::PhoneFactor { source })?;

    let directory =
        LocalDirectory::open_or_create(temp.path().join("users.json"), HashParams::default())
            .await
            .map_err(|source| PortalError::Directory { source })?;
    for (user, (_, stored, _)) in users.iter().zip(USERS) {
        let phone = PhoneNumber::parse_stored(stored).map_err(|e| PortalError::InvalidSetting {
            field: "demo phone",
            reason: e.to_string(),
        })?;
        let name =
            Username::new(&user.username).map_err(|source| PortalError::Directory { source })?;
        directory
            .add_user(NewUser::new(name, SecretString::from(user.password.clone())).phone(phone))
            .await
            .map_err(|source| PortalError::Directory { source })?;
    }

    let audit = Arc::new(JsonLinesAuditSink::open(temp.path().join("audit.jsonl"))?);
    let mut policy = Policy::default();
    let ring = options.ring_time + Duration::from_secs(15);
    if policy.machine.ring_timeout < ring {
        policy.machine.ring_timeout = ring;
        policy.machine.idle_timeout = policy.machine.idle_timeout.max(ring);
        policy.machine.login_timeout = policy.machine.login_timeout.max(ring * 2);
    }
    let mut builder =
        Authenticator::builder(Arc::new(directory), Arc::new(PhoneCall::agent(verifier)))
            .policy(policy)
            .audit_sink(audit.clone());
    if let Some(stores) = &options.stores {
        builder = builder
            .session_store(stores.sessions.clone())
            .counter_store(stores.counters.clone());
        if let Some(tfa) = &stores.tfa {
            builder = builder.tfa_state_store(tfa.clone());
            if let Some(transactions) = &stores.transactions {
                builder = builder.transactions(transactions.clone());
            }
        }
    }
    let auth = builder
        .build()
        .map_err(|source| PortalError::Flow { source })?;
    let no_tfa: Vec<Username> = users
        .iter()
        .filter(|u| u.mode == DemoMode::NoTfa)
        .filter_map(|u| Username::new(&u.username).ok())
        .collect();
    auth.set_enforcement(&no_tfa, Some(false), "login-portal demo")
        .await
        .map_err(|source| PortalError::Flow { source })?;

    let sim = Arc::new(sim);
    let phones_url = sim.control_url().unwrap_or_default();
    let parts = AppParts {
        auth,
        cookie: CookieSettings {
            // Plain HTTP on loopback: a Secure cookie would never come back.
            secure: false,
            same_site: SameSite::Strict,
            idle: Duration::from_secs(900),
            signed_in_lifetime: Duration::from_secs(8 * 3600),
        },
        proxies: TrustedProxies::default(),
        watch: Some(Arc::new(SimWatch(sim.clone()))),
        audit,
        browser_sessions: options.stores.and_then(|s| s.browser_sessions),
    };
    let demo = DemoParts {
        phones_url,
        users,
        sim,
        temp,
    };
    launch(parts, listener, None, Some(demo)).await
}

async fn start_simulator(
    options: &DemoOptions,
    temp: &tempfile::TempDir,
    users: &[crate::DemoUser],
) -> Result<phonefactor_sim::SimHandle, PortalError> {
    let mut agent_users = AgentDirectory::new();
    let mut builder = Simulator::builder()
        .pki_dir(temp.path().join("simulator"))
        .manual_ring_time(options.ring_time);
    for (user, (_, stored, _)) in users.iter().zip(USERS) {
        let number = stored.trim_start_matches("1 ");
        let (agent_user, answer) = match &user.mode {
            DemoMode::Pin(pin) => (
                AgentUser::with_pin(&user.username, "1", number, SecretString::from(pin.clone())),
                Scenario::Pin(pin.clone()),
            ),
            _ => (
                AgentUser::standard(&user.username, "1", number),
                Scenario::Pound,
            ),
        };
        agent_users = agent_users.user(agent_user);
        let script = match options.answer_after {
            Some(delay) => answer.after(delay),
            None => PhoneScript::from(Scenario::Manual),
        };
        builder = builder.script_user(&user.username, script);
    }
    builder
        .agent_directory(agent_users)
        .start()
        .await
        .map_err(|source| PortalError::Simulator { source })
}

/// `n` characters drawn uniformly from `alphabet` (rejection sampling: no modulo bias).
fn random_from(alphabet: &[u8], n: usize) -> Result<String, PortalError> {
    let len = alphabet.len();
    // The largest multiple of `len` that fits in a byte: bytes at or above it are redrawn.
    let limit = 256 - 256 % len;
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| PortalError::Random {
            reason: e.to_string(),
        })?;
        for b in bytes.iter().map(|b| usize::from(*b)).filter(|b| *b < limit) {
            if out.len() == n {
                break;
            }
            if let Some(c) = alphabet.get(b % len) {
                out.push(char::from(*c));
            }
        }
    }
    Ok(out)
}

/// `n` random decimal digits.
fn random_digits(n: usize) -> Result<String, PortalError> {
    random_from(b"0123456789", n)
}

/// A random password easy to type: three groups of four lower-case letters and digits
/// (about 59 bits).
fn random_password() -> Result<String, PortalError> {
    let chars = random_from(b"abcdefghjkmnpqrstuvwxyz23456789", 12)?;
    let groups: Vec<&str> = [0, 4, 8]
        .iter()
        .filter_map(|i| chars.get(*i..*i + 4))
        .collect();
    Ok(groups.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_secrets_have_their_shape_and_differ() {
        let pin = random_digits(4).unwrap();
        assert!(
            pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit()),
            "{pin}"
        );
        let password = random_password().unwrap();
        assert_eq!(password.len(), 14, "{password}");
        assert_eq!(password.matches('-').count(), 2, "{password}");
        assert_ne!(password, random_password().unwrap());
    }
}
