//! The agent's accounts (HTTP Basic, spec §5.2) and its user directory (spec §6.3), and the
//! TOML file that holds them with phone scripts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::error::SimError;
use crate::scenario::Scenario;

/// An account that may call the agent's Web Service SDK: `DOMAIN\user`, a password and
/// whether it is in the PhoneFactor Admins group.
#[derive(Clone)]
pub struct AgentAccount {
    name: String,
    password: SecretString,
    admin: bool,
}

impl std::fmt::Debug for AgentAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentAccount")
            .field("name", &self.name)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl AgentAccount {
    /// An account in the PhoneFactor Admins group (may call the SDK).
    pub fn admin(name: impl Into<String>, password: SecretString) -> Self {
        Self {
            name: name.into(),
            password,
            admin: true,
        }
    }

    /// A valid account outside the group (gets 403).
    pub fn non_admin(name: impl Into<String>, password: SecretString) -> Self {
        Self {
            name: name.into(),
            password,
            admin: false,
        }
    }

    /// `DOMAIN\user`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The password.
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// Whether the account is in PhoneFactor Admins.
    pub fn is_admin(&self) -> bool {
        self.admin
    }
}

/// How an agent user authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AgentUserMode {
    /// Presses `#`.
    #[default]
    Standard,
    /// Keys the PIN, then `#`.
    Pin,
}

/// One user in the agent's directory.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AgentUser {
    /// The PhoneFactor username (compared case-insensitively).
    pub username: String,
    /// The country calling code, e.g. `1`.
    pub country_code: String,
    /// The phone number with area code, digits.
    pub phone: String,
    /// The extension, if any.
    #[serde(default)]
    pub extension: Option<String>,
    /// Standard (`#`) or PIN mode.
    #[serde(default)]
    pub mode: AgentUserMode,
    /// The PIN for PIN mode.
    #[serde(default)]
    pub pin: Option<SecretString>,
    /// Disabled users get error 1002.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Blocked users get status 14.
    #[serde(default)]
    pub blocked: bool,
}

fn yes() -> bool {
    true
}

impl std::fmt::Debug for AgentUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentUser")
            .field("username", &self.username)
            .field("country_code", &self.country_code)
            .field("phone", &self.phone)
            .field("extension", &self.extension)
            .field("mode", &self.mode)
            .field("enabled", &self.enabled)
            .field("blocked", &self.blocked)
            .finish_non_exhaustive()
    }
}

impl AgentUser {
    /// An enabled standard-mode user.
    pub fn standard(
        username: impl Into<String>,
        country_code: impl Into<String>,
        phone: impl Into<String>,
    ) -> Self {
        Self {
            username: username.into(),
            country_code: country_code.into(),
            phone: phone.into(),
            extension: None,
            mode: AgentUserMode::Standard,
            pin: None,
            enabled: true,
            blocked: false,
        }
    }

    /// An enabled PIN-mode user.
    pub fn with_pin(
        username: impl Into<String>,
        country_code: impl Into<String>,
        phone: impl Into<String>,
        pin: SecretString,
    ) -> Self {
        Self {
            mode: AgentUserMode::Pin,
            pin: Some(pin),
            ..Self::standard(username, country_code, phone)
        }
    }

    /// The same user with this extension.
    pub fn extension(mut self, extension: impl Into<String>) -> Self {
        self.extension = Some(extension.into());
        self
    }

    /// The same user, disabled.
    pub fn disabled(mut self) -> Self {
        self.enabled = false;
        self
    }

    /// The same user, blocked.
    pub fn blocked(mut self) -> Self {
        self.blocked = true;
        self
    }
}

/// The agent's directory: users, and which initiating types each application may use.
#[derive(Debug, Clone, Default)]
pub struct AgentDirectory {
    users: HashMap<String, AgentUser>,
    applications: HashMap<String, Vec<String>>,
    allow_international_calls: bool,
}

impl AgentDirectory {
    /// An empty directory (every user unknown, every initiating type permitted, international
    /// calls allowed).
    pub fn new() -> Self {
        Self {
            allow_international_calls: true,
            ..Self::default()
        }
    }

    /// Adds or replaces a user.
    pub fn user(mut self, user: AgentUser) -> Self {
        self.users.insert(user.username.trim().to_lowercase(), user);
        self
    }

    /// Permits only these initiating types (`pfsdk`, `userportal`, ...) for calls naming
    /// `application` (empty: calls without an application name); others get status 149.
    pub fn permit(mut self, application: impl Into<String>, types: &[&str]) -> Self {
        self.applications.insert(
            application.into(),
            types.iter().map(|t| t.to_ascii_lowercase()).collect(),
        );
        self
    }

    /// Whether calls outside the home country are placed (default yes; otherwise 103).
    pub fn allow_international_calls(mut self, allow: bool) -> Self {
        self.allow_international_calls = allow;
        self
    }

    pub(crate) fn find(&self, username: &str) -> Option<&AgentUser> {
        self.users.get(&username.trim().to_lowercase())
    }

    pub(crate) fn permits(&self, application: &str, initiating_type: &str) -> bool {
        self.applications.get(application).is_none_or(|types| {
            types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(initiating_type.trim()))
        })
    }

    pub(crate) fn international_allowed(&self) -> bool {
        self.allow_international_calls
    }

    /// Reads a directory from TOML (the `[[user]]`, `[[application]]` and
    /// `allow_international_calls` parts of a [`SimFile`]).
    pub fn from_toml(text: &str) -> Result<Self, SimError> {
        Ok(SimFile::parse(text, Path::new("<string>"))?.directory())
    }
}

/// Accounts by lower-cased name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Accounts {
    by_name: HashMap<String, AgentAccount>,
}

/// What Basic credentials amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Admin,
    NotAdmin,
    Denied,
}

/// A password nobody has, compared against when the account is unknown so both paths cost
/// the same.
const DECOY: &[u8] = b"phonefactor-sim decoy password, never valid";

impl Accounts {
    pub(crate) fn add(&mut self, account: AgentAccount) {
        self.by_name.insert(account.name.to_lowercase(), account);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub(crate) fn check(&self, name: &str, password: &[u8]) -> Access {
        match self.by_name.get(&name.to_lowercase()) {
            Some(account) => {
                if bool::from(account.password.expose_secret().as_bytes().ct_eq(password)) {
                    if account.admin {
                        Access::Admin
                    } else {
                        Access::NotAdmin
                    }
                } else {
                    Access::Denied
                }
            }
            None => {
                let _ = DECOY.ct_eq(password);
                Access::Denied
            }
        }
    }
}

/// A scenario file (TOML): phone scripts, agent accounts, agent users and applications.
///
/// ```toml
/// default_delay_ms = 1000
///
/// [[phone]]
/// username = "jsmith"          # or: country_code = "1" and number = "9259249500"
/// scenario = "pin:4821"
/// delay_ms = 200
///
/// [[account]]
/// name = 'CORP\svc-pam360'
/// password = "Ex4mple-only"
/// admin = true
///
/// [[user]]
/// username = "akhan"
/// country_code = "44"
/// phone = "7700900123"
/// mode = "pin"
/// pin = "4821"
///
/// [[application]]
/// name = "PAM360"
/// initiating_types = ["userportal"]
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SimFile {
    /// The default ring delay for unscripted phones, in milliseconds.
    #[serde(default)]
    pub default_delay_ms: Option<u64>,
    /// Whether the agent places international calls (default yes).
    #[serde(default)]
    pub allow_international_calls: Option<bool>,
    /// Phone scripts.
    #[serde(default, rename = "phone")]
    pub phones: Vec<PhoneEntry>,
    /// Agent accounts.
    #[serde(default, rename = "account")]
    pub accounts: Vec<AccountEntry>,
    /// Agent users.
    #[serde(default, rename = "user")]
    pub users: Vec<AgentUser>,
    /// Permitted initiating types per application.
    #[serde(default, rename = "application")]
    pub applications: Vec<ApplicationEntry>,
}

/// A `[[phone]]` script.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PhoneEntry {
    /// Script this username's phone (wins over a number script).
    #[serde(default)]
    pub username: Option<String>,
    /// With `number`: script this phone.
    #[serde(default)]
    pub country_code: Option<String>,
    /// With `country_code`: script this phone.
    #[serde(default)]
    pub number: Option<String>,
    /// What the phone does.
    pub scenario: Scenario,
    /// How long it rings first, in milliseconds (default: the simulator's default delay).
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

impl PhoneEntry {
    /// The delay, if set.
    pub fn delay(&self) -> Option<Duration> {
        self.delay_ms.map(Duration::from_millis)
    }
}

/// An `[[account]]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AccountEntry {
    /// `DOMAIN\user`.
    pub name: String,
    /// The password.
    pub password: SecretString,
    /// In PhoneFactor Admins (default yes).
    #[serde(default = "yes")]
    pub admin: bool,
}

impl std::fmt::Debug for AccountEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountEntry")
            .field("name", &self.name)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// An `[[application]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ApplicationEntry {
    /// The `applicationName` calls carry.
    pub name: String,
    /// The initiating types it may use.
    pub initiating_types: Vec<String>,
}

impl SimFile {
    /// Reads a scenario file.
    pub fn load(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::io("read", path, e))?;
        Self::parse(&text, path)
    }

    /// Parses a scenario file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SimError> {
        let file: Self = toml::from_str(text).map_err(|e| SimError::File {
            path: PathBuf::from(path),
            reason: e.message().to_owned(),
        })?;
        for (i, p) in file.phones.iter().enumerate() {
            let by_number = p.country_code.is_some() && p.number.is_some();
            if p.username.is_none() && !by_number {
                return Err(SimError::File {
                    path: PathBuf::from(path),
                    reason: format!("phone[{i}] needs username, or country_code and number"),
                });
            }
        }
        for u in &file.users {
            if u.mode == AgentUserMode::Pin && u.pin.is_none() {
                return Err(SimError::File {
                    path: PathBuf::from(path),
                    reason: format!("user {} is in pin mode but has no pin", u.username),
                });
            }
        }
        Ok(file)
    }

    /// The agent directory this file describes.
    pub fn directory(&self) -> AgentDirectory {
        let mut dir = AgentDirectory::new()
            .allow_international_calls(self.allow_international_calls.unwrap_or(true));
        for u in &self.users {
            dir = dir.user(u.clone());
        }
        for a in &self.applications {
            let types: Vec<&str> = a.initiating_types.iter().map(String::as_str).collect();
            dir = dir.permit(a.name.clone(), &types);
        }
        dir
    }

    /// The agent accounts this file describes.
    pub fn accounts(&self) -> Vec<AgentAccount> {
        self.accounts
            .iter()
            .map(|a| AgentAccount {
                name: a.name.clone(),
                password: a.password.clone(),
                admin: a.admin,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_file_reads_every_section() {
        let text = r#"
default_delay_ms = 250
allow_international_calls = false
[[phone]]
username = "jsmith"
scenario = "pin:4821"
delay_ms = 5
[[phone]]
country_code = "1"
number = "4155550100"
scenario = "voicemail"
[[account]]
name = 'CORP\svc'
password = "pw"
[[account]]
name = 'CORP\user'
password = "pw2"
admin = false
[[user]]
username = "AKhan"
country_code = "44"
phone = "7700900123"
mode = "pin"
pin = "4821"
[[application]]
name = "PAM360"
initiating_types = ["userportal"]
"#;
        let file = SimFile::parse(text, Path::new("s.toml")).unwrap();
        assert_eq!(file.default_delay_ms, Some(250));
        assert_eq!(file.phones[1].scenario, Scenario::Silence);
        assert_eq!(file.phones[0].delay(), Some(Duration::from_millis(5)));
        let accounts = file.accounts();
        assert!(accounts[0].is_admin() && !accounts[1].is_admin());
        let dir = file.directory();
        assert_eq!(dir.find("akhan").map(|u| u.mode), Some(AgentUserMode::Pin));
        assert!(!dir.international_allowed());
        assert!(dir.permits("PAM360", "UserPortal"));
        assert!(!dir.permits("PAM360", "pfsdk"));
        assert!(dir.permits("other", "pfsdk"));
    }

    #[test]
    fn scenario_file_errors_name_the_file_and_the_fault() {
        for (text, needle) in [
            (
                "[[phone]]\nscenario = \"busy\"\n",
                "phone[0] needs username",
            ),
            (
                "[[user]]\nusername = \"x\"\ncountry_code = \"1\"\nphone = \"1\"\nmode = \"pin\"\n",
                "no pin",
            ),
            (
                "[[phone]]\nusername = \"x\"\nscenario = \"ring\"\n",
                "unknown scenario",
            ),
            ("colour = \"blue\"\n", "unknown field"),
        ] {
            let err = SimFile::parse(text, Path::new("bad.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("bad.toml") && err.contains(needle), "{err}");
        }
    }

    #[test]
    fn accounts_compare_names_without_case_and_passwords_exactly() {
        let mut accounts = Accounts::default();
        accounts.add(AgentAccount::admin(
            "CORP\\Svc",
            SecretString::from("Pw".to_owned()),
        ));
        accounts.add(AgentAccount::non_admin(
            "CORP\\u",
            SecretString::from("x".to_owned()),
        ));
        assert_eq!(accounts.check("corp\\svc", b"Pw"), Access::Admin);
        assert_eq!(accounts.check("CORP\\Svc", b"pw"), Access::Denied);
        assert_eq!(accounts.check("CORP\\nobody", b"Pw"), Access::Denied);
        assert_eq!(accounts.check("corp\\U", b"x"), Access::NotAdmin);
    }
}
