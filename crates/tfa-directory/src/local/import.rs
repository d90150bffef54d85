//! Bulk import of users from CSV.

use std::collections::BTreeSet;

use secrecy::SecretString;
use tfa_phone::{PhoneNumber, Region};

use super::{LocalDirectory, NewUser};
use crate::{DirectoryError, Username};

/// How to import a CSV file into a [`LocalDirectory`].
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    default_region: Option<Region>,
    skip_bad: bool,
}

impl ImportOptions {
    /// Strict import: nothing is written if any row is bad.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads phone numbers written without a country code as numbers of this region.
    pub fn default_region(mut self, region: Region) -> Self {
        self.default_region = Some(region);
        self
    }

    /// Imports the good rows even if some are bad (the bad ones are reported).
    pub fn skip_bad_rows(mut self) -> Self {
        self.skip_bad = true;
        self
    }
}

/// What an import did.
#[derive(Debug)]
pub struct ImportReport {
    /// Users added, in file order.
    pub added: Vec<Username>,
    /// Rows refused, in file order.
    pub errors: Vec<RowError>,
    /// False when nothing was written because a row was bad (and bad rows were not skipped).
    pub written: bool,
}

/// A CSV row that could not be imported.
#[derive(Debug, thiserror::Error)]
#[error("line {line}{}", username.as_ref().map(|u| format!(" (user {u:?})")).unwrap_or_default())]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// The row's username, when it had one.
    pub username: Option<String>,
    /// What is wrong.
    #[source]
    pub error: DirectoryError,
}

/// The columns an import understands; `username` and `password` are required.
const COLUMNS: [&str; 8] = [
    "username",
    "password",
    "phone",
    "display_name",
    "email",
    "phonefactor_username",
    "groups",
    "enabled",
];

struct Row {
    line: u64,
    cells: Vec<Option<String>>,
}

impl Row {
    fn get(&self, column: usize) -> Option<&str> {
        self.cells.get(column).and_then(|c| c.as_deref())
    }
}

impl LocalDirectory {
    /// Imports users from CSV with a header row naming the columns: `username`, `password`
    /// (required), and any of `phone` (free form or stored format), `display_name`, `email`,
    /// `phonefactor_username`, `groups` (separated by `;`), `enabled` (`true`/`false`,
    /// `yes`/`no`, `1`/`0`). Every bad row is reported with its line; unless
    /// [`ImportOptions::skip_bad_rows`] is set, nothing is written if any row is bad. All
    /// users are written in one atomic store update.
    ///
    /// `Err` only for a file that cannot be read as CSV at all or a store that cannot be
    /// written.
    pub async fn import_csv(
        &self,
        csv_text: impl std::io::Read,
        options: &ImportOptions,
    ) -> Result<ImportReport, DirectoryError> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(csv_text);
        let csv_error = |e: csv::Error| DirectoryError::Config {
            path: "CSV input".into(),
            reason: "not readable as CSV".into(),
            source: Some(Box::new(e)),
        };
        let header = reader.headers().map_err(csv_error)?.clone();
        let mut index = [None; COLUMNS.len()];
        for (position, name) in header.iter().enumerate() {
            let name = name.to_ascii_lowercase();
            match COLUMNS.iter().position(|c| *c == name) {
                Some(column) => index[column] = Some(position),
                None => {
                    return Err(DirectoryError::Config {
                        path: "CSV input".into(),
                        reason: format!(
                            "unknown column {name:?} in the header; known columns: {}",
                            COLUMNS.join(", ")
                        ),
                        source: None,
                    });
                }
            }
        }
        if index[0].is_none() || index[1].is_none() {
            return Err(DirectoryError::Config {
                path: "CSV input".into(),
                reason: "the header must name the columns username and password".into(),
                source: None,
            });
        }

        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, csv::Position::line);
            let cells = index
                .iter()
                .map(|i| {
                    i.and_then(|i| record.get(i))
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned)
                })
                .collect();
            rows.push(Row { line, cells });
        }

        let existing: BTreeSet<Username> = self.usernames().await.into_iter().collect();
        let mut seen = BTreeSet::new();
        let mut users = Vec::new();
        let mut errors = Vec::new();
        for row in rows {
            let username = row.get(0).map(str::to_owned);
            match parse_row(&row, options, &existing, &mut seen) {
                Ok(user) => users.push(user),
                Err(error) => errors.push(RowError {
                    line: row.line,
                    username,
                    error,
                }),
            }
        }
        if !errors.is_empty() && !options.skip_bad {
            return Ok(ImportReport {
                added: Vec::new(),
                errors,
                written: false,
            });
        }

        let mut stored = Vec::with_capacity(users.len());
        for user in &users {
            stored.push((user.username.clone(), self.stored_user(user).await?));
        }
        let added: Vec<Username> = stored.iter().map(|(name, _)| name.clone()).collect();
        if !stored.is_empty() {
            self.modify(|store| {
                for (name, user) in stored {
                    if store.users.contains_key(name.as_str()) {
                        return Err(DirectoryError::UserExists {
                            username: name.to_string(),
                        });
                    }
                    store.users.insert(name.to_string(), user);
                }
                Ok(())
            })
            .await?;
        }
        Ok(ImportReport {
            written: !added.is_empty(),
            added,
            errors,
        })
    }
}

fn parse_row(
    row: &Row,
    options: &ImportOptions,
    existing: &BTreeSet<Username>,
    seen: &mut BTreeSet<Username>,
) -> Result<NewUser, DirectoryError> {
    let username = Username::new(row.get(0).unwrap_or_default())?;
    if existing.contains(&username) || !seen.insert(username.clone()) {
        return Err(DirectoryError::UserExists {
            username: username.to_string(),
        });
    }
    let password = row.get(1).ok_or_else(|| DirectoryError::EmptyPassword {
        username: username.to_string(),
    })?;
    let mut user = NewUser::new(username.clone(), SecretString::from(password));
    if let Some(raw) = row.get(2) {
        let phone = PhoneNumber::parse_input(raw, options.default_region).map_err(|source| {
            DirectoryError::InvalidPhone {
                username: username.to_string(),
                raw: raw.to_owned(),
                source,
            }
        })?;
        user = user.phone(phone);
    }
    if let Some(name) = row.get(3) {
        user = user.display_name(name);
    }
    if let Some(email) = row.get(4) {
        user = user.email(email);
    }
    if let Some(name) = row.get(5) {
        user = user.phonefactor_username(name);
    }
    if let Some(groups) = row.get(6) {
        user = user.groups(
            groups
                .split(';')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    if let Some(enabled) = row.get(7) {
        match enabled.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => {}
            "false" | "no" | "0" => user = user.disabled(),
            _ => {
                return Err(DirectoryError::Config {
                    path: "CSV input".into(),
                    reason: format!("enabled is {enabled:?}; write true or false"),
                    source: None,
                });
            }
        }
    }
    Ok(user)
}
