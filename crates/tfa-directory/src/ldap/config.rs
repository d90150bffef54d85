//! Settings of the LDAP and Active Directory backends, as written in TOML.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

/// How the LDAP backend finds and binds users.
///
/// In TOML, `mode = "service_account"` with `dn` and either `password_file` (a file holding
/// the password, preferred) or `password`; or `mode = "template"` with `dn_template`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(try_from = "BindConfigFile")]
#[non_exhaustive]
pub enum BindConfig {
    /// Search-then-bind: a service account searches for the user's entry, then the user's
    /// password is checked by binding as that entry. Lookups without a password work.
    ServiceAccount {
        /// The service account's DN (for AD also `user@domain` or `DOMAIN\user`).
        dn: String,
        /// The service account's password.
        password: SecretString,
    },
    /// Bind directly as a DN made from a template: `{user}` is replaced by the username,
    /// escaped for a DN (`uid={user},ou=people,dc=example,dc=org`). The entry is then read as
    /// the user. Lookups without a password need anonymous read access. A wrong password and
    /// an unknown user both read as [`DirectoryError::BadCredentials`](crate::DirectoryError).
    Template {
        /// The DN template, with `{user}` exactly once.
        dn_template: String,
    },
}

/// [`BindConfig`] as written in TOML.
#[derive(serde::Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
enum BindConfigFile {
    ServiceAccount {
        dn: String,
        #[serde(default)]
        password: Option<SecretString>,
        #[serde(default)]
        password_file: Option<PathBuf>,
    },
    Template {
        dn_template: String,
    },
}

impl TryFrom<BindConfigFile> for BindConfig {
    type Error = String;

    fn try_from(file: BindConfigFile) -> Result<Self, String> {
        Ok(match file {
            BindConfigFile::ServiceAccount {
                dn,
                password,
                password_file,
            } => Self::ServiceAccount {
                password: secret("bind", password, password_file)?,
                dn,
            },
            BindConfigFile::Template { dn_template } => Self::Template { dn_template },
        })
    }
}

/// A password given inline or, better, in a file of its own (first line, trailing white
/// space removed).
pub(crate) fn secret(
    table: &str,
    inline: Option<SecretString>,
    file: Option<PathBuf>,
) -> Result<SecretString, String> {
    match (inline, file) {
        (Some(password), None) => Ok(password),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "{table}.password_file {}: cannot read it: {e}",
                    path.display()
                )
            })?;
            let password = text.lines().next().unwrap_or_default().trim_end();
            if password.is_empty() {
                return Err(format!("{table}.password_file {} is empty", path.display()));
            }
            Ok(SecretString::from(password))
        }
        (Some(_), Some(_)) => Err(format!("{table}: give password or password_file, not both")),
        (None, None) => Err(format!("{table}: password_file (or password) is missing")),
    }
}

impl BindConfig {
    /// Search-then-bind with a service account.
    pub fn service_account(dn: impl Into<String>, password: SecretString) -> Self {
        Self::ServiceAccount {
            dn: dn.into(),
            password,
        }
    }

    /// Bind as a DN made from `dn_template` (`{user}` is replaced by the escaped username).
    pub fn template(dn_template: impl Into<String>) -> Self {
        Self::Template {
            dn_template: dn_template.into(),
        }
    }
}

/// Which directory attributes hold the parts of a [`UserRecord`](crate::UserRecord).
/// Attribute names are compared without regard to case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AttributeMap {
    /// The login name (LDAP default `uid`; AD always `sAMAccountName`).
    pub login: String,
    /// The display name (LDAP default `cn`; AD default `displayName`).
    pub display_name: String,
    /// The e-mail address (default `mail`).
    pub mail: String,
    /// The phone number: the first of these attributes that has a value (default
    /// `telephoneNumber`, then `mobile`).
    pub phone: Vec<String>,
    /// The user's name at PhoneFactor, if kept in the directory (default: none, the login
    /// name is used).
    pub phonefactor_username: Option<String>,
    /// The attribute listing the user's groups, for [`GroupSource::MemberOf`] (default
    /// `memberOf`).
    pub member_of: String,
}

impl Default for AttributeMap {
    fn default() -> Self {
        Self {
            login: "uid".into(),
            display_name: "cn".into(),
            mail: "mail".into(),
            phone: vec!["telephoneNumber".into(), "mobile".into()],
            phonefactor_username: None,
            member_of: "memberOf".into(),
        }
    }
}

impl AttributeMap {
    /// The defaults for Active Directory.
    pub fn active_directory() -> Self {
        Self {
            login: "sAMAccountName".into(),
            display_name: "displayName".into(),
            ..Self::default()
        }
    }
}

/// Where the LDAP backend reads group membership from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GroupSource {
    /// Groups are not read.
    #[default]
    None,
    /// From the user's `memberOf` attribute (OpenLDAP's memberof overlay lists direct groups).
    MemberOf,
    /// By searching for groups whose member filter matches the user.
    Search,
}

/// Group membership for "TFA required for members of group X".
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct GroupConfig {
    /// Where direct memberships come from (default: none).
    pub source: GroupSource,
    /// Where groups are searched (for [`GroupSource::Search`] and nested groups; default: the
    /// base DN).
    pub search_base: Option<String>,
    /// The filter that finds the groups having a member: `{dn}` is the member's DN, `{user}`
    /// its login name, both escaped (default `(|(member={dn})(uniqueMember={dn}))`).
    pub search_filter: String,
    /// Also follow groups that are members of groups, up to 16 levels (default false).
    /// OpenLDAP does not evaluate AD's in-chain matching rule, so this walks the groups one
    /// search per level.
    pub nested: bool,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            source: GroupSource::None,
            search_base: None,
            search_filter: "(|(member={dn})(uniqueMember={dn}))".into(),
            nested: false,
        }
    }
}

impl GroupConfig {
    /// Groups from the `memberOf` attribute.
    pub fn member_of() -> Self {
        Self {
            source: GroupSource::MemberOf,
            ..Self::default()
        }
    }

    /// Groups found by searching for the user as a member.
    pub fn search() -> Self {
        Self {
            source: GroupSource::Search,
            ..Self::default()
        }
    }

    /// Follows nested groups.
    pub fn nested(mut self) -> Self {
        self.nested = true;
        self
    }

    /// Searches for groups under this DN.
    pub fn search_base(mut self, dn: impl Into<String>) -> Self {
        self.search_base = Some(dn.into());
        self
    }
}

/// A rule that marks an LDAP account disabled: the attribute has the value (compared without
/// regard to ASCII case). Generic LDAP has no standard flag; AD's `userAccountControl` is
/// read by [`ActiveDirectory`](crate::ActiveDirectory) itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisabledRule {
    /// The attribute, e.g. `employeeType`.
    pub attribute: String,
    /// The value that means disabled, e.g. `disabled`.
    pub value: String,
}

/// Connection settings shared by the LDAP and AD backends.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub(crate) url: String,
    /// Upgrade `ldap://` with StartTLS before anything else is sent.
    pub(crate) starttls: bool,
    /// Extra root CAs (PEM or DER files) trusted besides the system's.
    pub(crate) ca_files: Vec<PathBuf>,
    pub(crate) connect_timeout_ms: u64,
    pub(crate) operation_timeout_ms: u64,
    pub(crate) pool_size: usize,
}

pub(crate) fn default_connect_timeout_ms() -> u64 {
    5_000
}

pub(crate) fn default_operation_timeout_ms() -> u64 {
    10_000
}

pub(crate) fn default_pool_size() -> usize {
    8
}

impl ConnectionSettings {
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            starttls: false,
            ca_files: Vec::new(),
            connect_timeout_ms: default_connect_timeout_ms(),
            operation_timeout_ms: default_operation_timeout_ms(),
            pool_size: default_pool_size(),
        }
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub(crate) fn operation_timeout(&self) -> Duration {
        Duration::from_millis(self.operation_timeout_ms)
    }
}

/// Settings of an [`LdapDirectory`](crate::LdapDirectory), built in code or read from TOML:
///
/// ```toml
/// url = "ldaps://ldap.example.org"
/// base_dn = "ou=people,dc=example,dc=org"
/// user_filter = "(&(objectClass=inetOrgPerson)(uid={user}))"
/// ca_files = ["/etc/tfa/ldap-ca.pem"]
///
/// [bind]
/// mode = "service_account"
/// dn = "cn=reader,dc=example,dc=org"
/// password = "..."
///
/// [groups]
/// source = "search"
/// nested = true
/// ```
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(from = "LdapConfigFile")]
pub struct LdapConfig {
    pub(crate) connection: ConnectionSettings,
    pub(crate) base_dn: String,
    pub(crate) user_filter: String,
    pub(crate) bind: BindConfig,
    pub(crate) attributes: AttributeMap,
    pub(crate) groups: GroupConfig,
    pub(crate) disabled: Option<DisabledRule>,
    pub(crate) default_region: Option<String>,
}

/// [`LdapConfig`] as written in TOML: one flat table, unknown keys refused.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LdapConfigFile {
    url: String,
    #[serde(default)]
    starttls: bool,
    #[serde(default)]
    ca_files: Vec<PathBuf>,
    #[serde(default = "default_connect_timeout_ms")]
    connect_timeout_ms: u64,
    #[serde(default = "default_operation_timeout_ms")]
    operation_timeout_ms: u64,
    #[serde(default = "default_pool_size")]
    pool_size: usize,
    base_dn: String,
    #[serde(default = "default_user_filter")]
    user_filter: String,
    bind: BindConfig,
    #[serde(default)]
    attributes: AttributeMap,
    #[serde(default)]
    groups: GroupConfig,
    #[serde(default)]
    disabled: Option<DisabledRule>,
    #[serde(default)]
    default_region: Option<String>,
}

impl From<LdapConfigFile> for LdapConfig {
    fn from(file: LdapConfigFile) -> Self {
        Self {
            connection: ConnectionSettings {
                url: file.url,
                starttls: file.starttls,
                ca_files: file.ca_files,
                connect_timeout_ms: file.connect_timeout_ms,
                operation_timeout_ms: file.operation_timeout_ms,
                pool_size: file.pool_size,
            },
            base_dn: file.base_dn,
            user_filter: file.user_filter,
            bind: file.bind,
            attributes: file.attributes,
            groups: file.groups,
            disabled: file.disabled,
            default_region: file.default_region,
        }
    }
}

pub(crate) fn default_user_filter() -> String {
    "(&(objectClass=person)(uid={user}))".into()
}

impl LdapConfig {
    /// Settings for the server at `url` (`ldap://` or `ldaps://`), users under `base_dn`,
    /// binding as `bind` says. Defaults: user filter `(&(objectClass=person)(uid={user}))`,
    /// [`AttributeMap::default`], no groups, connect timeout 5 s, operation timeout 10 s,
    /// 8 pooled connections.
    pub fn new(url: impl Into<String>, base_dn: impl Into<String>, bind: BindConfig) -> Self {
        Self {
            connection: ConnectionSettings::new(url.into()),
            base_dn: base_dn.into(),
            user_filter: default_user_filter(),
            bind,
            attributes: AttributeMap::default(),
            groups: GroupConfig::default(),
            disabled: None,
            default_region: None,
        }
    }

    /// Upgrades `ldap://` connections with StartTLS.
    pub fn starttls(mut self) -> Self {
        self.connection.starttls = true;
        self
    }

    /// Trusts the root CA certificates in this file (PEM or DER) besides the system's.
    pub fn add_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.connection.ca_files.push(path.into());
        self
    }

    /// The filter that finds a user; `{user}` is replaced by the escaped username.
    pub fn user_filter(mut self, filter: impl Into<String>) -> Self {
        self.user_filter = filter.into();
        self
    }

    /// Which attributes hold the record's parts.
    pub fn attributes(mut self, attributes: AttributeMap) -> Self {
        self.attributes = attributes;
        self
    }

    /// How group membership is read.
    pub fn groups(mut self, groups: GroupConfig) -> Self {
        self.groups = groups;
        self
    }

    /// Treats accounts whose `attribute` has `value` as disabled.
    pub fn disabled_when(mut self, attribute: impl Into<String>, value: impl Into<String>) -> Self {
        self.disabled = Some(DisabledRule {
            attribute: attribute.into(),
            value: value.into(),
        });
        self
    }

    /// Reads phone numbers written without a country code as numbers of this region
    /// (ISO 3166 code, e.g. `US`).
    pub fn default_region(mut self, region: impl Into<String>) -> Self {
        self.default_region = Some(region.into());
        self
    }

    /// How long to wait for a connection (and its TLS handshake).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connection.connect_timeout_ms = duration_ms(timeout);
        self
    }

    /// How long to wait for one LDAP operation.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.connection.operation_timeout_ms = duration_ms(timeout);
        self
    }

    /// How many connections to keep for reuse (each pool: searches, binds).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.connection.pool_size = size;
        self
    }
}

pub(crate) fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
