//! The Active Directory backend: LDAP with AD's login forms, bind sub-codes and groups.

use std::path::PathBuf;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::ldap::{
    AttributeMap, ConnectionSettings, Connector, Disabled, Engine, Groups, Mode, UserQuery,
    default_connect_timeout_ms, default_operation_timeout_ms, default_pool_size, pool, region,
};
use crate::{DirectoryError, FirstFactor, Identity, UserRecord, Username};

/// Which groups an [`ActiveDirectory`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AdGroups {
    /// Every group the user is in, directly or through nested groups
    /// (`LDAP_MATCHING_RULE_IN_CHAIN`, one paged search). The default.
    #[default]
    Nested,
    /// Only the direct groups, from `memberOf`.
    Direct,
    /// No groups.
    None,
}

/// A service account for searches, as DN, `user@domain` or `DOMAIN\user`. In TOML: `name` and
/// either `password_file` (preferred) or `password`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(try_from = "ServiceAccountFile")]
pub struct ServiceAccount {
    /// The account's bind name.
    pub name: String,
    /// Its password.
    pub password: SecretString,
}

/// [`ServiceAccount`] as written in TOML.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceAccountFile {
    name: String,
    #[serde(default)]
    password: Option<SecretString>,
    #[serde(default)]
    password_file: Option<PathBuf>,
}

impl TryFrom<ServiceAccountFile> for ServiceAccount {
    type Error = String;

    fn try_from(file: ServiceAccountFile) -> Result<Self, String> {
        Ok(Self {
            password: crate::ldap::secret("service_account", file.password, file.password_file)?,
            name: file.name,
        })
    }
}

/// Settings of an [`ActiveDirectory`], built in code or read from TOML:
///
/// ```toml
/// url = "ldaps://dc1.example.com"
/// domain = "example.com"
/// netbios_domain = "EXAMPLE"
/// ca_files = ["/etc/tfa/ad-root.pem"]
///
/// [service_account]
/// name = "svc-tfa@example.com"
/// password = "..."
/// ```
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(from = "ActiveDirectoryConfigFile")]
pub struct ActiveDirectoryConfig {
    connection: ConnectionSettings,
    domain: String,
    netbios_domain: Option<String>,
    base_dn: Option<String>,
    service_account: Option<ServiceAccount>,
    attributes: AttributeMap,
    groups: AdGroups,
    default_region: Option<String>,
}

/// [`ActiveDirectoryConfig`] as written in TOML: one flat table, unknown keys refused.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ActiveDirectoryConfigFile {
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
    domain: String,
    #[serde(default)]
    netbios_domain: Option<String>,
    #[serde(default)]
    base_dn: Option<String>,
    #[serde(default)]
    service_account: Option<ServiceAccount>,
    #[serde(default = "AttributeMap::active_directory")]
    attributes: AttributeMap,
    #[serde(default)]
    groups: AdGroups,
    #[serde(default)]
    default_region: Option<String>,
}

impl From<ActiveDirectoryConfigFile> for ActiveDirectoryConfig {
    fn from(file: ActiveDirectoryConfigFile) -> Self {
        Self {
            connection: ConnectionSettings {
                url: file.url,
                starttls: file.starttls,
                ca_files: file.ca_files,
                connect_timeout_ms: file.connect_timeout_ms,
                operation_timeout_ms: file.operation_timeout_ms,
                pool_size: file.pool_size,
            },
            domain: file.domain,
            netbios_domain: file.netbios_domain,
            base_dn: file.base_dn,
            service_account: file.service_account,
            attributes: file.attributes,
            groups: file.groups,
            default_region: file.default_region,
        }
    }
}

impl ActiveDirectoryConfig {
    /// Settings for the domain controller at `url` (`ldaps://`, or `ldap://` with
    /// [`starttls`](Self::starttls): AD refuses simple binds in the clear) serving the DNS
    /// domain `domain` (`example.com`). Defaults: base DN from the domain
    /// (`DC=example,DC=com`), no service account (users bind as `user@domain` and read their
    /// own entry), [`AttributeMap::active_directory`], nested groups.
    pub fn new(url: impl Into<String>, domain: impl Into<String>) -> Self {
        Self {
            connection: ConnectionSettings::new(url.into()),
            domain: domain.into(),
            netbios_domain: None,
            base_dn: None,
            service_account: None,
            attributes: AttributeMap::active_directory(),
            groups: AdGroups::Nested,
            default_region: None,
        }
    }

    /// The NetBIOS domain name, so `DOMAIN\user` logins are accepted (`EXAMPLE`).
    pub fn netbios_domain(mut self, name: impl Into<String>) -> Self {
        self.netbios_domain = Some(name.into());
        self
    }

    /// Searches users under this DN instead of the domain's root.
    pub fn base_dn(mut self, dn: impl Into<String>) -> Self {
        self.base_dn = Some(dn.into());
        self
    }

    /// Searches with this account (search-then-bind); needed for lookups without a password.
    pub fn service_account(mut self, name: impl Into<String>, password: SecretString) -> Self {
        self.service_account = Some(ServiceAccount {
            name: name.into(),
            password,
        });
        self
    }

    /// Upgrades an `ldap://` connection with StartTLS.
    pub fn starttls(mut self) -> Self {
        self.connection.starttls = true;
        self
    }

    /// Trusts the root CA certificates in this file (PEM or DER) besides the system's.
    pub fn add_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.connection.ca_files.push(path.into());
        self
    }

    /// Which attributes hold the record's parts (the login attribute is always
    /// `sAMAccountName`).
    pub fn attributes(mut self, attributes: AttributeMap) -> Self {
        self.attributes = attributes;
        self
    }

    /// Which groups to read.
    pub fn groups(mut self, groups: AdGroups) -> Self {
        self.groups = groups;
        self
    }

    /// Reads phone numbers without a country code as numbers of this region (`US`).
    pub fn default_region(mut self, region: impl Into<String>) -> Self {
        self.default_region = Some(region.into());
        self
    }
}

/// Users in Active Directory (or Samba AD).
///
/// Users log in as `sAMAccountName`, as `user@domain` (their UPN) or as `DOMAIN\user`; the
/// record's username is the `sAMAccountName` whichever form was typed. Bind failures carry
/// AD's sub-codes, mapped to [`DirectoryError`]: 52e bad credentials, 525 unknown user,
/// 530/531 not permitted now/here, 532 password expired, 773 must change, 533 disabled,
/// 701 account expired, 775 locked. The `userAccountControl` disabled flag is honoured,
/// nested groups come from `LDAP_MATCHING_RULE_IN_CHAIN`, searches are paged and search
/// references are dropped.
#[derive(Debug)]
pub struct ActiveDirectory {
    engine: Engine,
    domain: String,
    netbios: Option<String>,
}

impl ActiveDirectory {
    /// Checks the settings and prepares the connection pools; nothing is opened yet.
    pub fn new(config: ActiveDirectoryConfig) -> Result<Self, DirectoryError> {
        let domain = config.domain.trim().trim_matches('.').to_owned();
        if domain.is_empty() || domain.split('.').any(str::is_empty) {
            return Err(DirectoryError::misconfigured(format!(
                "domain {:?} is not a DNS domain name",
                config.domain
            )));
        }
        let base_dn = config.base_dn.clone().unwrap_or_else(|| {
            domain
                .split('.')
                .map(|label| format!("DC={}", ldap3::dn_escape(label)))
                .collect::<Vec<_>>()
                .join(",")
        });
        let connector = Connector::new(&config.connection)?;
        let size = config.connection.pool_size;
        let mode = match config.service_account {
            Some(account) => Mode::SearchThenBind {
                service: pool(&connector, Some((account.name, account.password)), size)?,
            },
            None => Mode::BindThenRead,
        };
        let mut attributes = config.attributes;
        attributes.login = "sAMAccountName".into();
        let groups = match config.groups {
            AdGroups::Nested => Groups::InChain {
                base: base_dn.clone(),
            },
            AdGroups::Direct => Groups::MemberOf { walk: None },
            AdGroups::None => Groups::None,
        };
        Ok(Self {
            engine: Engine {
                binds: pool(&connector, None, size)?,
                connector,
                mode,
                base_dn,
                attributes,
                groups,
                disabled: Disabled::UserAccountControl,
                default_region: region(config.default_region.as_deref())?,
                paged: true,
            },
            domain,
            netbios: config.netbios_domain,
        })
    }

    /// The query for what the user typed, or `None` for a domain that is not ours.
    fn query(&self, username: &Username) -> Option<UserQuery> {
        let typed = username.as_str();
        let (inner, bind_name) = if let Some((domain, user)) = typed.split_once('\\') {
            let ours = domain.eq_ignore_ascii_case(&self.domain)
                || self
                    .netbios
                    .as_deref()
                    .is_some_and(|n| domain.eq_ignore_ascii_case(n));
            if !ours || user.is_empty() || user.contains('\\') {
                return None;
            }
            (
                format!("(sAMAccountName={})", ldap3::ldap_escape(user)),
                format!("{user}@{}", self.domain),
            )
        } else if let Some((user, suffix)) = typed.rsplit_once('@') {
            if user.is_empty() || suffix.is_empty() {
                return None;
            }
            let upn = format!("(userPrincipalName={})", ldap3::ldap_escape(typed));
            let inner = if suffix.eq_ignore_ascii_case(&self.domain) {
                format!("(|{upn}(sAMAccountName={}))", ldap3::ldap_escape(user))
            } else {
                upn
            };
            (inner, typed.to_owned())
        } else {
            (
                format!("(sAMAccountName={})", ldap3::ldap_escape(typed)),
                format!("{typed}@{}", self.domain),
            )
        };
        Some(UserQuery {
            filter: format!("(&(objectCategory=person)(objectClass=user){inner})"),
            bind_name,
            typed: username.clone(),
        })
    }
}

#[async_trait]
impl FirstFactor for ActiveDirectory {
    async fn verify(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<Identity, DirectoryError> {
        match self.query(username) {
            Some(query) => self.engine.verify(&query, password).await,
            None => Err(DirectoryError::UnknownUser),
        }
    }

    async fn lookup(&self, username: &Username) -> Result<Option<UserRecord>, DirectoryError> {
        match self.query(username) {
            Some(query) => self.engine.lookup(&query).await,
            None => Ok(None),
        }
    }
}

/// The typed error for the AD sub-code in a bind failure's diagnostic text
/// (`80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1`),
/// or `None` when the text carries no known sub-code.
pub(crate) fn subcode_error(text: &str) -> Option<DirectoryError> {
    let (_, after) = text.split_once("data ")?;
    let code: String = after
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match code.as_str() {
        "52e" => DirectoryError::BadCredentials,
        "525" => DirectoryError::UnknownUser,
        "530" => DirectoryError::NotPermittedNow,
        "531" => DirectoryError::NotPermittedHere,
        "532" => DirectoryError::PasswordExpired,
        "533" => DirectoryError::AccountDisabled,
        "701" => DirectoryError::AccountExpired,
        "773" => DirectoryError::PasswordMustChange,
        "775" => DirectoryError::AccountLocked,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(sub: &str) -> Option<DirectoryError> {
        subcode_error(&format!(
            "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data {sub}, v1db1\0"
        ))
    }

    #[test]
    fn every_ad_subcode_maps_to_its_error() {
        use DirectoryError as E;
        assert!(matches!(code("52e"), Some(E::BadCredentials)));
        assert!(matches!(code("525"), Some(E::UnknownUser)));
        assert!(matches!(code("530"), Some(E::NotPermittedNow)));
        assert!(matches!(code("531"), Some(E::NotPermittedHere)));
        assert!(matches!(code("532"), Some(E::PasswordExpired)));
        assert!(matches!(code("533"), Some(E::AccountDisabled)));
        assert!(matches!(code("701"), Some(E::AccountExpired)));
        assert!(matches!(code("773"), Some(E::PasswordMustChange)));
        assert!(matches!(code("775"), Some(E::AccountLocked)));
        assert!(matches!(code("52E"), Some(E::BadCredentials)));
        assert!(code("999").is_none());
        assert!(subcode_error("invalid credentials").is_none());
    }

    fn ad() -> ActiveDirectory {
        ActiveDirectory::new(
            ActiveDirectoryConfig::new("ldaps://dc.example.com", "example.com")
                .netbios_domain("EXAMPLE"),
        )
        .unwrap()
    }

    fn filter(typed: &str) -> Option<String> {
        ad().query(&Username::new(typed).unwrap()).map(|q| q.filter)
    }

    #[test]
    fn three_login_forms_find_the_same_account() {
        let sam = "(&(objectCategory=person)(objectClass=user)(sAMAccountName=alice))";
        assert_eq!(filter("alice").as_deref(), Some(sam));
        assert_eq!(filter("EXAMPLE\\alice").as_deref(), Some(sam));
        assert_eq!(filter("example.com\\alice").as_deref(), Some(sam));
        assert_eq!(
            filter("alice@Example.com").as_deref(),
            Some(
                "(&(objectCategory=person)(objectClass=user)\
                 (|(userPrincipalName=alice@Example.com)(sAMAccountName=alice)))"
            )
        );
    }

    #[test]
    fn foreign_domains_and_injection_find_nobody() {
        assert_eq!(filter("OTHER\\alice"), None);
        assert_eq!(filter("\\alice"), None);
        assert_eq!(
            filter("*)(sAMAccountName=*").as_deref(),
            Some(
                "(&(objectCategory=person)(objectClass=user)\
                 (sAMAccountName=\\2a\\29\\28sAMAccountName=\\2a))"
            )
        );
    }

    #[test]
    fn base_dn_comes_from_the_domain() {
        assert_eq!(ad().engine.base_dn, "DC=example,DC=com");
    }
}
