//! Who must use TFA, and who fails open.

use tfa_directory::UserRecord;

use crate::{Enforcement, FailMode};

/// Who must use TFA: a per-user setting (set in bulk by an administrator, kept in the
/// [`TfaStateStore`](crate::TfaStateStore)) wins; then membership of an enforced group, then
/// of an exempt group; then the default.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnforcementPolicy {
    /// For users with no setting of their own and in no listed group. Default: enforced.
    pub default: Enforcement,
    /// Groups whose members must use TFA (names or DNs), whatever the default.
    pub enforced_groups: Vec<String>,
    /// Groups whose members need not, unless also in an enforced group.
    pub exempt_groups: Vec<String>,
}

impl Default for EnforcementPolicy {
    fn default() -> Self {
        Self {
            default: Enforcement::Enforced,
            enforced_groups: Vec::new(),
            exempt_groups: Vec::new(),
        }
    }
}

impl EnforcementPolicy {
    /// Whether TFA applies to `record`, given the user's own setting.
    pub fn decide(&self, user_setting: Option<bool>, record: &UserRecord) -> Enforcement {
        match user_setting {
            Some(true) => Enforcement::Enforced,
            Some(false) => Enforcement::NotEnforced,
            None if self.enforced_groups.iter().any(|g| record.is_member_of(g)) => {
                Enforcement::Enforced
            }
            None if self.exempt_groups.iter().any(|g| record.is_member_of(g)) => {
                Enforcement::NotEnforced
            }
            None => self.default,
        }
    }
}

/// Groups whose members get in on the password alone when the second-factor service is
/// unavailable. Empty by default: everybody fails closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailOpenPolicy {
    /// The groups (names or DNs).
    pub groups: Vec<String>,
}

impl FailOpenPolicy {
    /// The fail mode for `record`.
    pub fn mode(&self, record: &UserRecord) -> FailMode {
        self.groups
            .iter()
            .find(|g| record.is_member_of(g))
            .map_or(FailMode::Closed, |group| FailMode::Open {
                group: group.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use tfa_directory::Username;

    use super::*;

    fn record(groups: &[&str]) -> UserRecord {
        UserRecord::new(Username::new("alice").unwrap())
            .with_groups(groups.iter().map(|g| (*g).to_owned()).collect())
    }

    #[test]
    fn user_setting_beats_groups_and_enforced_groups_beat_exempt_ones() {
        let policy = EnforcementPolicy {
            default: Enforcement::NotEnforced,
            enforced_groups: vec!["admins".into()],
            exempt_groups: vec!["cn=kiosk,ou=groups,dc=example,dc=org".into()],
        };
        assert_eq!(policy.decide(None, &record(&[])), Enforcement::NotEnforced);
        assert_eq!(
            policy.decide(None, &record(&["cn=Admins,ou=groups,dc=example,dc=org"])),
            Enforcement::Enforced
        );
        assert_eq!(
            policy.decide(
                None,
                &record(&["admins", "cn=kiosk,ou=groups,dc=example,dc=org"])
            ),
            Enforcement::Enforced
        );
        assert_eq!(
            policy.decide(Some(false), &record(&["admins"])),
            Enforcement::NotEnforced
        );
        assert_eq!(
            policy.decide(Some(true), &record(&[])),
            Enforcement::Enforced
        );
        let strict = EnforcementPolicy {
            exempt_groups: vec!["kiosk".into()],
            ..Default::default()
        };
        assert_eq!(
            strict.decide(None, &record(&[])),
            Enforcement::Enforced,
            "enforced by default"
        );
        assert_eq!(
            strict.decide(None, &record(&["cn=kiosk,ou=groups,dc=example,dc=org"])),
            Enforcement::NotEnforced
        );
    }

    #[test]
    fn only_listed_groups_fail_open() {
        let policy = FailOpenPolicy {
            groups: vec!["helpdesk".into()],
        };
        assert_eq!(policy.mode(&record(&["staff"])), FailMode::Closed);
        assert_eq!(
            policy.mode(&record(&["helpdesk"])),
            FailMode::Open {
                group: "helpdesk".into()
            }
        );
        assert_eq!(
            FailOpenPolicy::default().mode(&record(&["helpdesk"])),
            FailMode::Closed
        );
    }
}
