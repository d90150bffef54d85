//! The LDAP backend.

mod config;
mod conn;
pub(crate) mod engine;
mod tls;

use async_trait::async_trait;
use secrecy::SecretString;

pub use config::{AttributeMap, BindConfig, DisabledRule, GroupConfig, GroupSource, LdapConfig};
pub(crate) use config::{
    ConnectionSettings, default_connect_timeout_ms, default_operation_timeout_ms,
    default_pool_size, secret,
};
pub(crate) use conn::{Connector, pool};
pub(crate) use engine::{Disabled, Engine, GroupWalk, Groups, Mode, UserQuery};

use crate::{DirectoryError, FirstFactor, Identity, UserRecord, Username};

/// Users in an LDAP directory (OpenLDAP and others): search-then-bind with a service account,
/// or bind as a DN made from a template.
///
/// Every username is escaped before it enters a filter (`ldap3::ldap_escape`) or a DN
/// (`ldap3::dn_escape`), so `*)(uid=*))(|(uid=*` finds nobody. Service-account searches and
/// users' binds run on pooled connections, opened on first use and reused; a dead pooled
/// connection is replaced and the search retried once.
#[derive(Debug)]
pub struct LdapDirectory {
    engine: Engine,
    filter: String,
    dn_template: Option<String>,
}

impl LdapDirectory {
    /// Checks the settings (URL, templates, CA files) and prepares the connection pools.
    /// No connection is opened until the first request.
    pub fn new(config: LdapConfig) -> Result<Self, DirectoryError> {
        let connector = Connector::new(&config.connection)?;
        let size = config.connection.pool_size;
        if !config.user_filter.contains("{user}") {
            return Err(DirectoryError::misconfigured(format!(
                "user_filter {:?} must contain {{user}}",
                config.user_filter
            )));
        }
        let (mode, dn_template) = match config.bind {
            BindConfig::ServiceAccount { dn, password } => (
                Mode::SearchThenBind {
                    service: pool(&connector, Some((dn, password)), size)?,
                },
                None,
            ),
            BindConfig::Template { dn_template } => {
                if dn_template.matches("{user}").count() != 1 {
                    return Err(DirectoryError::misconfigured(format!(
                        "dn_template {dn_template:?} must contain {{user}} exactly once"
                    )));
                }
                (Mode::BindThenRead, Some(dn_template))
            }
        };
        let default_region = region(config.default_region.as_deref())?;
        let search_base = config
            .groups
            .search_base
            .clone()
            .unwrap_or_else(|| config.base_dn.clone());
        let walk = config.groups.nested.then(|| GroupWalk {
            base: search_base.clone(),
            filter: config.groups.search_filter.clone(),
        });
        let groups = match config.groups.source {
            GroupSource::None => Groups::None,
            GroupSource::MemberOf => Groups::MemberOf { walk },
            GroupSource::Search => Groups::Search {
                base: search_base,
                filter: config.groups.search_filter.clone(),
                walk,
            },
        };
        let binds = pool(&connector, None, size)?;
        Ok(Self {
            engine: Engine {
                connector,
                mode,
                binds,
                base_dn: config.base_dn,
                attributes: config.attributes,
                groups,
                disabled: config.disabled.map_or(Disabled::Never, Disabled::Attribute),
                default_region,
                paged: false,
            },
            filter: config.user_filter,
            dn_template,
        })
    }

    fn query(&self, username: &Username) -> UserQuery {
        let name = username.as_str();
        UserQuery {
            filter: self.filter.replace("{user}", &ldap3::ldap_escape(name)),
            bind_name: self
                .dn_template
                .as_deref()
                .map(|t| t.replace("{user}", &ldap3::dn_escape(name)))
                .unwrap_or_default(),
            typed: username.clone(),
        }
    }
}

/// Reads an optional region setting.
pub(crate) fn region(code: Option<&str>) -> Result<Option<tfa_phone::Region>, DirectoryError> {
    code.map(|c| {
        tfa_phone::Region::new(c).map_err(|e| DirectoryError::Misconfiguration {
            reason: format!("default_region {c:?} is not a region code"),
            source: Some(Box::new(e)),
        })
    })
    .transpose()
}

#[async_trait]
impl FirstFactor for LdapDirectory {
    async fn verify(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<Identity, DirectoryError> {
        self.engine.verify(&self.query(username), password).await
    }

    async fn lookup(&self, username: &Username) -> Result<Option<UserRecord>, DirectoryError> {
        self.engine.lookup(&self.query(username)).await
    }
}
