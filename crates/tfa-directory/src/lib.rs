//! First-factor backends for phonefactor-tfa: check a username and password, and look up what
//! the directory knows about a user (display name, e-mail, phone number, PhoneFactor username,
//! groups, enabled).
//!
//! One trait, [`FirstFactor`], used as `Arc<dyn FirstFactor>` by the login flow, with three
//! backends:
//!
//! - [`LocalDirectory`]: users in a JSON file with argon2id hashes, written atomically, with
//!   an admin API and CSV import;
//! - [`LdapDirectory`]: search-then-bind (service account or bind-DN template) over LDAP,
//!   LDAPS or StartTLS, with reused connections and escaped filters and DNs;
//! - [`ActiveDirectory`]: LDAP with AD's login forms (`sAMAccountName`, `user@domain`,
//!   `DOMAIN\user`), bind sub-codes mapped to typed errors, and nested groups.
//!
//! Errors are one enum, [`DirectoryError`]; a wrong password and an unknown user must reach
//! the user as the same answer ([`DirectoryError::is_credential_failure`]), and an outage is
//! never a wrong password.
//!
//! ```
//! use secrecy::SecretString;
//! use tfa_directory::{DirectoryError, FirstFactor, HashParams, LocalDirectory, NewUser, Username};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), DirectoryError> {
//! let dir = tempfile::tempdir().expect("a temporary directory");
//! let store = LocalDirectory::open_or_create(dir.path().join("users.json"), HashParams::default()).await?;
//! let alice = Username::new("alice")?;
//! store
//!     .add_user(NewUser::new(alice.clone(), SecretString::from("correct horse")).display_name("Alice"))
//!     .await?;
//!
//! let directory: std::sync::Arc<dyn FirstFactor> = std::sync::Arc::new(store);
//! let identity = directory.verify(&alice, &SecretString::from("correct horse")).await?;
//! assert_eq!(identity.record().display_name(), Some("Alice"));
//!
//! let wrong = directory.verify(&alice, &SecretString::from("battery staple")).await;
//! assert!(wrong.is_err_and(|e| e.is_credential_failure()));
//! # Ok(())
//! # }
//! ```
//!
//! Applications usually choose the backend with a settings file ([`FirstFactorConfig`], every
//! key in `docs/configuration.md`); relative paths are read from the file's directory, and
//! LDAP and AD connect on first use:
//!
//! ```
//! use tfa_directory::{DirectoryError, FirstFactorConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("svc-tfa.password"), "s3rvice-secret\n")?;
//! std::fs::write(
//!     dir.path().join("directory.toml"),
//!     r#"
//!     backend = "active_directory"
//!     url = "ldaps://dc1.example.com"
//!     domain = "example.com"
//!     netbios_domain = "EXAMPLE"
//!     service_account = { name = "svc-tfa@example.com", password_file = "svc-tfa.password" }
//!     "#,
//! )?;
//! let settings = FirstFactorConfig::from_file(&dir.path().join("directory.toml"))?;
//! assert!(matches!(settings, FirstFactorConfig::ActiveDirectory(_)));
//! let _directory = settings.open().await?; // an Arc<dyn FirstFactor>
//!
//! // Unknown keys are refused by name: a typo never falls back to a default.
//! let typo = FirstFactorConfig::from_toml(r#"backend = "local"
//!     path = "users.json"
//!     hash = { memory_kb = 65536 }"#);
//! assert!(matches!(typo, Err(DirectoryError::Config { reason, .. }) if reason.contains("memory_kb")));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ad;
mod config;
mod error;
mod first_factor;
mod ldap;
mod local;
mod record;
mod username;

pub use ad::{ActiveDirectory, ActiveDirectoryConfig, AdGroups, ServiceAccount};
pub use config::{FirstFactorConfig, LocalConfig};
pub use error::{BoxError, DirectoryError};
pub use first_factor::FirstFactor;
pub use ldap::{
    AttributeMap, BindConfig, DisabledRule, GroupConfig, GroupSource, LdapConfig, LdapDirectory,
};
pub use local::{HashParams, ImportOptions, ImportReport, LocalDirectory, NewUser, RowError};
pub use record::{Identity, PhoneField, UserRecord};
pub use username::{MAX_USERNAME_CHARS, Username};
