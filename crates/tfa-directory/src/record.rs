//! What a directory knows about a user.

use tfa_phone::{PhoneError, PhoneNumber, Region};

use crate::Username;

/// A user's phone number as the directory holds it: parsed, or the raw value and why it did
/// not parse (so an operator can be shown what to fix, and the login fails closed).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PhoneField {
    /// The value parsed as a phone number.
    Parsed(PhoneNumber),
    /// The value did not parse.
    Unparsed {
        /// The value as stored in the directory.
        raw: String,
        /// Why it did not parse.
        error: PhoneError,
    },
}

impl PhoneField {
    /// The parsed number, if it parsed.
    pub fn number(&self) -> Option<&PhoneNumber> {
        match self {
            Self::Parsed(number) => Some(number),
            Self::Unparsed { .. } => None,
        }
    }

    /// Reads a value as directories hold it: the product's stored format (`1 9259249500 292`)
    /// or free form (`+1 (925) 924-9500 x292`; a national number is read in
    /// `default_region`).
    pub fn from_directory_value(raw: &str, default_region: Option<Region>) -> Self {
        match PhoneNumber::parse_input(raw, default_region) {
            Ok(number) => Self::Parsed(number),
            Err(error) => Self::Unparsed {
                raw: raw.to_owned(),
                error,
            },
        }
    }

    /// Reads a value in the product's stored format (`1 9259249500 292`), as the local store
    /// keeps it.
    pub fn from_stored(raw: &str) -> Self {
        match PhoneNumber::parse_stored(raw) {
            Ok(number) => Self::Parsed(number),
            Err(error) => Self::Unparsed {
                raw: raw.to_owned(),
                error,
            },
        }
    }
}

/// A user's record, read without a password: who they are, how to reach their phone, which
/// groups they are in, whether the account is enabled.
///
/// Backends fill it in; other crates' tests can build one with [`UserRecord::new`] and the
/// `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    username: Username,
    entry_dn: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    phone: Option<PhoneField>,
    phonefactor_username: Option<String>,
    groups: Vec<String>,
    enabled: bool,
}

impl UserRecord {
    /// A record for `username`, enabled, with nothing else known.
    pub fn new(username: Username) -> Self {
        Self {
            username,
            entry_dn: None,
            display_name: None,
            email: None,
            phone: None,
            phonefactor_username: None,
            groups: Vec::new(),
            enabled: true,
        }
    }

    /// Sets the directory entry's distinguished name.
    pub fn with_entry_dn(mut self, dn: impl Into<String>) -> Self {
        self.entry_dn = Some(dn.into());
        self
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the e-mail address.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the phone number (parsed, or raw with its error).
    pub fn with_phone(mut self, phone: PhoneField) -> Self {
        self.phone = Some(phone);
        self
    }

    /// Sets the user's name at PhoneFactor, where it differs from the login name.
    pub fn with_phonefactor_username(mut self, name: impl Into<String>) -> Self {
        self.phonefactor_username = Some(name.into());
        self
    }

    /// Sets the groups (distinguished names for LDAP and AD, plain names for the local store).
    pub fn with_groups(mut self, groups: Vec<String>) -> Self {
        self.groups = groups;
        self
    }

    /// Marks the account enabled or disabled.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The login name as the directory spells it (canonical form: for AD the
    /// `sAMAccountName`, whichever form the user typed).
    pub fn username(&self) -> &Username {
        &self.username
    }

    /// The directory entry's distinguished name (LDAP and AD only).
    pub fn entry_dn(&self) -> Option<&str> {
        self.entry_dn.as_deref()
    }

    /// The name to greet the user with.
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// The e-mail address.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// The phone number to call, parsed or with the reason it did not parse.
    pub fn phone(&self) -> Option<&PhoneField> {
        self.phone.as_ref()
    }

    /// The user's name at PhoneFactor: the mapped attribute, or the login name.
    pub fn phonefactor_username(&self) -> &str {
        self.phonefactor_username
            .as_deref()
            .unwrap_or(self.username.as_str())
    }

    /// The groups the user is a member of, nested groups included.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// True if the user is a member of `group`, given either as a full distinguished name or
    /// as the group's name (the value of the first RDN, e.g. `cn`), compared without regard to
    /// ASCII case as directories do.
    pub fn is_member_of(&self, group: &str) -> bool {
        self.groups.iter().any(|g| {
            g.eq_ignore_ascii_case(group)
                || first_rdn_value(g).is_some_and(|v| v.eq_ignore_ascii_case(group))
        })
    }

    /// False if the account is disabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
}

/// The value of a DN's first RDN (`cn=Sales,ou=groups,...` gives `Sales`), if it has a
/// simple unescaped one.
fn first_rdn_value(dn: &str) -> Option<&str> {
    let (_, rest) = dn.split_once('=')?;
    let value = rest.split(',').next()?;
    (!value.contains('\\')).then_some(value)
}

/// A user whose password was verified: the record read while checking it.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    record: UserRecord,
}

impl Identity {
    /// The identity of the user described by `record`.
    pub fn new(record: UserRecord) -> Self {
        Self { record }
    }

    /// The canonical login name.
    pub fn username(&self) -> &Username {
        self.record.username()
    }

    /// Everything known about the user.
    pub fn record(&self) -> &UserRecord {
        &self.record
    }

    /// Gives up the record.
    pub fn into_record(self) -> UserRecord {
        self.record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_matches_dn_or_first_rdn_ignoring_case() {
        let record = UserRecord::new(Username::new("alice").unwrap()).with_groups(vec![
            "cn=Sales,ou=groups,dc=example,dc=org".into(),
            "admins".into(),
        ]);
        assert!(record.is_member_of("sales"));
        assert!(record.is_member_of("CN=Sales,OU=groups,DC=example,DC=org"));
        assert!(record.is_member_of("admins"));
        assert!(!record.is_member_of("groups"));
    }

    #[test]
    fn phonefactor_username_defaults_to_login_name() {
        let record = UserRecord::new(Username::new("alice").unwrap());
        assert_eq!(record.phonefactor_username(), "alice");
        assert_eq!(
            record
                .with_phonefactor_username("TFA\\alice")
                .phonefactor_username(),
            "TFA\\alice"
        );
    }
}
