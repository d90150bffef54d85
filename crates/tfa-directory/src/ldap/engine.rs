//! Search-then-bind and bind-then-read, shared by the LDAP and Active Directory backends.

use std::collections::{BTreeSet, HashMap};

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapResult, Scope, SearchEntry};
use secrecy::{ExposeSecret, SecretString};
use tfa_phone::Region;

use super::config::{AttributeMap, DisabledRule};
use super::conn::{self, Connector, Pool};
use crate::{DirectoryError, Identity, PhoneField, UserRecord, Username};

/// The deepest group nesting followed by the group walk.
const MAX_GROUP_DEPTH: usize = 16;

/// How groups are found.
#[derive(Debug, Clone)]
pub(crate) enum Groups {
    None,
    /// The user's member-of attribute, then optionally a walk up the nesting.
    MemberOf {
        walk: Option<GroupWalk>,
    },
    /// A search for groups listing the user, then optionally a walk.
    Search {
        base: String,
        filter: String,
        walk: Option<GroupWalk>,
    },
    /// AD's `LDAP_MATCHING_RULE_IN_CHAIN`: all groups, nested ones included, in one search.
    InChain {
        base: String,
    },
}

/// Walks up nested groups: finds the groups that list a group as a member.
#[derive(Debug, Clone)]
pub(crate) struct GroupWalk {
    pub(crate) base: String,
    pub(crate) filter: String,
}

/// How accounts are recognised as disabled.
#[derive(Debug, Clone)]
pub(crate) enum Disabled {
    Never,
    Attribute(DisabledRule),
    /// AD's `userAccountControl` ACCOUNTDISABLE flag (0x2).
    UserAccountControl,
}

/// How users' passwords are checked.
#[derive(Debug)]
pub(crate) enum Mode {
    /// A service account (pooled) finds the entry, then the user binds as it.
    SearchThenBind { service: Pool },
    /// The user binds with a name made from what they typed, then reads their own entry.
    BindThenRead,
}

/// One user's query: the filter that finds the entry, and the name to bind as in
/// [`Mode::BindThenRead`], both already escaped.
#[derive(Debug)]
pub(crate) struct UserQuery {
    pub(crate) filter: String,
    pub(crate) bind_name: String,
    pub(crate) typed: Username,
}

#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) connector: Connector,
    pub(crate) mode: Mode,
    /// Connections that carry users' binds only, never the service account's searches.
    pub(crate) binds: Pool,
    pub(crate) base_dn: String,
    pub(crate) attributes: AttributeMap,
    pub(crate) groups: Groups,
    pub(crate) disabled: Disabled,
    pub(crate) default_region: Option<Region>,
    pub(crate) paged: bool,
}

impl Engine {
    fn server(&self) -> &str {
        self.connector.url()
    }

    fn io(&self, e: ldap3::LdapError) -> DirectoryError {
        DirectoryError::unreachable(self.server(), e)
    }

    pub(crate) async fn verify(
        &self,
        query: &UserQuery,
        password: &SecretString,
    ) -> Result<Identity, DirectoryError> {
        // An empty password would make a simple bind "unauthenticated", which succeeds.
        if password.expose_secret().is_empty() {
            return Err(DirectoryError::BadCredentials);
        }
        let record = match &self.mode {
            Mode::SearchThenBind { service } => {
                let Some(entry) = self.find_with_service(service, query).await? else {
                    self.decoy_bind(password).await;
                    return Err(DirectoryError::UnknownUser);
                };
                self.bind_user(&entry.dn, password).await?;
                let mut conn = conn::get(service, self.server()).await?;
                match self.record(&mut conn, &entry, &query.typed).await {
                    Ok(record) => record,
                    Err(e) => {
                        conn::discard(conn);
                        return Err(e);
                    }
                }
            }
            Mode::BindThenRead => {
                let mut conn = conn::get(&self.binds, self.server()).await?;
                let answer = self
                    .connector
                    .bind(&mut conn, &query.bind_name, password)
                    .await;
                let read = match answer {
                    Ok(answer) => match bind_outcome(&answer, self.server()) {
                        Ok(()) => self.read_own_entry(&mut conn, query).await,
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                };
                // The connection is bound as this user now; never hand it to another.
                conn::discard(conn);
                read?
            }
        };
        if !record.is_enabled() {
            return Err(DirectoryError::AccountDisabled);
        }
        Ok(Identity::new(record))
    }

    pub(crate) async fn lookup(
        &self,
        query: &UserQuery,
    ) -> Result<Option<UserRecord>, DirectoryError> {
        match &self.mode {
            Mode::SearchThenBind { service } => {
                let Some(entry) = self.find_with_service(service, query).await? else {
                    return Ok(None);
                };
                let mut conn = conn::get(service, self.server()).await?;
                let record = self.record(&mut conn, &entry, &query.typed).await;
                if record.is_err() {
                    conn::discard(conn);
                }
                record.map(Some)
            }
            Mode::BindThenRead => {
                // Anonymous, on a connection of its own: a pooled one may be bound as a user.
                let mut ldap = self.connector.connect().await?;
                let result = match self.find_user(&mut ldap, query).await {
                    Ok(Some(entry)) => self.record(&mut ldap, &entry, &query.typed).await.map(Some),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                };
                let _ = ldap.unbind().await;
                result
            }
        }
    }

    async fn read_own_entry(
        &self,
        ldap: &mut Ldap,
        query: &UserQuery,
    ) -> Result<UserRecord, DirectoryError> {
        let entry = self.find_user(ldap, query).await?.ok_or_else(|| {
            DirectoryError::misconfigured(format!(
                "{:?} can bind but the user filter finds no entry for it under {:?}",
                query.bind_name, self.base_dn
            ))
        })?;
        self.record(ldap, &entry, &query.typed).await
    }

    /// Finds the user with a pooled service connection, retrying once on a fresh connection
    /// when a reused one turns out to be dead (the server restarted since).
    async fn find_with_service(
        &self,
        service: &Pool,
        query: &UserQuery,
    ) -> Result<Option<SearchEntry>, DirectoryError> {
        let mut conn = conn::get(service, self.server()).await?;
        match self.find_user(&mut conn, query).await {
            Err(DirectoryError::Unreachable { .. }) => {
                conn::discard(conn);
                let mut conn = conn::get(service, self.server()).await?;
                let found = self.find_user(&mut conn, query).await;
                if found.is_err() {
                    conn::discard(conn);
                }
                found
            }
            found => found,
        }
    }

    async fn find_user(
        &self,
        ldap: &mut Ldap,
        query: &UserQuery,
    ) -> Result<Option<SearchEntry>, DirectoryError> {
        let mut entries = self
            .search(
                ldap,
                &self.base_dn,
                Scope::Subtree,
                &query.filter,
                self.user_attributes(),
            )
            .await?;
        match entries.len() {
            0 => Ok(None),
            1 => Ok(entries.pop()),
            n => Err(DirectoryError::misconfigured(format!(
                "the user filter {:?} matches {n} entries; it must match at most one",
                query.filter
            ))),
        }
    }

    /// Binds as the user on a connection that carries only users' binds.
    async fn bind_user(&self, dn: &str, password: &SecretString) -> Result<(), DirectoryError> {
        let mut conn = conn::get(&self.binds, self.server()).await?;
        match self.connector.bind(&mut conn, dn, password).await {
            Ok(answer) => bind_outcome(&answer, self.server()),
            Err(e) => {
                conn::discard(conn);
                Err(e)
            }
        }
    }

    /// Spends a bind on a name that does not exist, so an unknown user takes about as long
    /// as a wrong password. The outcome is irrelevant.
    async fn decoy_bind(&self, password: &SecretString) {
        let decoy = format!("cn=tfa-no-such-user,{}", self.base_dn);
        if let Ok(mut conn) = conn::get(&self.binds, self.server()).await
            && self
                .connector
                .bind(&mut conn, &decoy, password)
                .await
                .is_err()
        {
            conn::discard(conn);
        }
    }

    fn user_attributes(&self) -> Vec<String> {
        let a = &self.attributes;
        let mut attrs = vec![a.login.clone(), a.display_name.clone(), a.mail.clone()];
        attrs.extend(a.phone.iter().cloned());
        attrs.extend(a.phonefactor_username.iter().cloned());
        if matches!(self.groups, Groups::MemberOf { .. }) {
            attrs.push(a.member_of.clone());
        }
        match &self.disabled {
            Disabled::Never => {}
            Disabled::Attribute(rule) => attrs.push(rule.attribute.clone()),
            Disabled::UserAccountControl => attrs.push("userAccountControl".into()),
        }
        attrs
    }

    async fn record(
        &self,
        ldap: &mut Ldap,
        entry: &SearchEntry,
        typed: &Username,
    ) -> Result<UserRecord, DirectoryError> {
        let a = &self.attributes;
        let first = |name: &str| first_value(&entry.attrs, name);
        let username = first(&a.login)
            .and_then(|v| Username::new(v).ok())
            .unwrap_or_else(|| typed.clone());
        let mut record = UserRecord::new(username)
            .with_entry_dn(entry.dn.clone())
            .with_enabled(!self.is_disabled(entry));
        if let Some(v) = first(&a.display_name) {
            record = record.with_display_name(v);
        }
        if let Some(v) = first(&a.mail) {
            record = record.with_email(v);
        }
        if let Some(v) = a.phone.iter().find_map(|name| first(name)) {
            record = record.with_phone(PhoneField::from_directory_value(v, self.default_region));
        }
        if let Some(v) = a.phonefactor_username.as_deref().and_then(first) {
            record = record.with_phonefactor_username(v);
        }
        let groups = self.groups(ldap, entry, record.username()).await?;
        Ok(record.with_groups(groups))
    }

    fn is_disabled(&self, entry: &SearchEntry) -> bool {
        match &self.disabled {
            Disabled::Never => false,
            Disabled::Attribute(rule) => values(&entry.attrs, &rule.attribute)
                .iter()
                .any(|v| v.eq_ignore_ascii_case(&rule.value)),
            // Unreadable flags count as disabled: fail closed.
            Disabled::UserAccountControl => first_value(&entry.attrs, "userAccountControl")
                .map(|v| {
                    v.trim()
                        .parse::<u32>()
                        .map_or(true, |flags| flags & 0x2 != 0)
                })
                .unwrap_or(false),
        }
    }

    async fn groups(
        &self,
        ldap: &mut Ldap,
        entry: &SearchEntry,
        login: &Username,
    ) -> Result<Vec<String>, DirectoryError> {
        let (direct, walk) = match &self.groups {
            Groups::None => return Ok(Vec::new()),
            Groups::InChain { base } => {
                let filter = format!(
                    "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={}))",
                    ldap3::ldap_escape(entry.dn.as_str())
                );
                let found = self
                    .search(ldap, base, Scope::Subtree, &filter, no_attributes())
                    .await?;
                return Ok(found.into_iter().map(|e| e.dn).collect());
            }
            Groups::MemberOf { walk } => (values(&entry.attrs, &self.attributes.member_of), walk),
            Groups::Search { base, filter, walk } => {
                let filter = fill_group_filter(filter, &entry.dn, login.as_str());
                let found = self
                    .search(ldap, base, Scope::Subtree, &filter, no_attributes())
                    .await?;
                (found.into_iter().map(|e| e.dn).collect(), walk)
            }
        };
        let mut seen: BTreeSet<String> = direct.iter().map(|g| g.to_ascii_lowercase()).collect();
        let mut all = direct.clone();
        if let Some(walk) = walk {
            let mut frontier = direct;
            for _ in 0..MAX_GROUP_DEPTH {
                let mut next = Vec::new();
                for group in &frontier {
                    let filter = fill_group_filter(&walk.filter, group, "");
                    let parents = self
                        .search(ldap, &walk.base, Scope::Subtree, &filter, no_attributes())
                        .await?;
                    for parent in parents {
                        if seen.insert(parent.dn.to_ascii_lowercase()) {
                            all.push(parent.dn.clone());
                            next.push(parent.dn);
                        }
                    }
                }
                if next.is_empty() {
                    break;
                }
                frontier = next;
            }
        }
        Ok(all)
    }

    /// Runs a search, keeping only entries: search references (AD sends them for its
    /// configuration partitions) are dropped before `ldap3` could trip over them. Paged when
    /// the server is AD.
    async fn search(
        &self,
        ldap: &mut Ldap,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: Vec<String>,
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let mut adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> =
            vec![Box::new(EntriesOnly::new())];
        if self.paged {
            adapters.push(Box::new(PagedResults::new(500)));
        }
        let mut stream = ldap
            .with_timeout(self.connector.operation_timeout())
            .streaming_search_with(adapters, base, scope, filter, attrs)
            .await
            .map_err(|e| self.io(e))?;
        let mut entries = Vec::new();
        while let Some(entry) = stream.next().await.map_err(|e| self.io(e))? {
            entries.push(SearchEntry::construct(entry));
        }
        let result = stream.finish().await;
        match result.rc {
            0 => Ok(entries),
            _ => Err(self.search_failure(result, base, filter)),
        }
    }

    fn search_failure(&self, result: LdapResult, base: &str, filter: &str) -> DirectoryError {
        let rc = result.rc;
        let source: Option<crate::BoxError> = result.success().err().map(|e| Box::new(e) as _);
        match rc {
            // AD answers an anonymous search with operationsError.
            1 => DirectoryError::Misconfiguration {
                reason: format!(
                    "{} refused the search of {base:?} (operations error): anonymous searches \
                     are not allowed there; configure a service account",
                    self.server()
                ),
                source,
            },
            32 => DirectoryError::Misconfiguration {
                reason: format!(
                    "the search base {base:?} does not exist on {}",
                    self.server()
                ),
                source,
            },
            50 => DirectoryError::Misconfiguration {
                reason: format!("not allowed to search {base:?} on {}", self.server()),
                source,
            },
            87 => DirectoryError::Misconfiguration {
                reason: format!("the filter {filter:?} is not a valid LDAP filter"),
                source,
            },
            _ => DirectoryError::Unreachable {
                server: self.server().to_owned(),
                source: source
                    .unwrap_or_else(|| format!("search failed with result code {rc}").into()),
            },
        }
    }
}

fn no_attributes() -> Vec<String> {
    vec!["1.1".into()]
}

/// Fills `{dn}` and `{user}` in a group filter, escaped for a filter value.
fn fill_group_filter(template: &str, dn: &str, user: &str) -> String {
    template
        .replace("{dn}", &ldap3::ldap_escape(dn))
        .replace("{user}", &ldap3::ldap_escape(user))
}

fn values(attrs: &HashMap<String, Vec<String>>, name: &str) -> Vec<String> {
    attrs
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn first_value<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.iter().map(|s| s.trim()).find(|s| !s.is_empty()))
}

/// What a user's bind answer means. Result code 49 carries AD's sub-code in its text
/// (`... data 52e, v1db1`).
pub(crate) fn bind_outcome(answer: &LdapResult, server: &str) -> Result<(), DirectoryError> {
    match answer.rc {
        0 => Ok(()),
        49 => Err(crate::ad::subcode_error(&answer.text).unwrap_or(DirectoryError::BadCredentials)),
        // inappropriateAuthentication: e.g. a simple bind to an account with no password.
        48 => Err(DirectoryError::BadCredentials),
        8 | 13 => Err(DirectoryError::misconfigured(
            "the server requires a protected connection for binds: use ldaps:// or starttls",
        )),
        rc => Err(DirectoryError::Unreachable {
            server: server.to_owned(),
            source: format!("bind answered result code {rc}: {}", answer.text).into(),
        }),
    }
}
