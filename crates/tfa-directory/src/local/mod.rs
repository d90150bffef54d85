//! The local backend: users in a JSON file with argon2id password hashes.

mod hash;
mod import;
mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tfa_phone::PhoneNumber;
use tokio::sync::{Mutex, RwLock};

pub use hash::HashParams;
pub use import::{ImportOptions, ImportReport, RowError};

use crate::{DirectoryError, FirstFactor, Identity, PhoneField, UserRecord, Username};
use hash::Hasher;
use store::{StoreFile, StoredUser};

/// A user to add to a [`LocalDirectory`]: a name and a password, and optional details.
#[derive(Debug)]
pub struct NewUser {
    username: Username,
    password: SecretString,
    display_name: Option<String>,
    email: Option<String>,
    phone: Option<PhoneNumber>,
    phonefactor_username: Option<String>,
    groups: Vec<String>,
    enabled: bool,
}

impl NewUser {
    /// A new, enabled user with this password.
    pub fn new(username: Username, password: SecretString) -> Self {
        Self {
            username,
            password,
            display_name: None,
            email: None,
            phone: None,
            phonefactor_username: None,
            groups: Vec::new(),
            enabled: true,
        }
    }

    /// Sets the display name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the e-mail address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the phone number to call.
    pub fn phone(mut self, phone: PhoneNumber) -> Self {
        self.phone = Some(phone);
        self
    }

    /// Sets the user's name at PhoneFactor, where it differs from the login name.
    pub fn phonefactor_username(mut self, name: impl Into<String>) -> Self {
        self.phonefactor_username = Some(name.into());
        self
    }

    /// Sets the groups.
    pub fn groups(mut self, groups: Vec<String>) -> Self {
        self.groups = groups;
        self
    }

    /// Adds the user disabled.
    pub fn disabled(mut self) -> Self {
        self.enabled = false;
        self
    }
}

/// Users and argon2id password hashes in a JSON file.
///
/// The file is read when the directory is opened and rewritten atomically (temporary file,
/// fsync, rename) on every change, so a crash never loses or corrupts it. Hashing runs on a
/// blocking thread. Checking an unknown user verifies a dummy hash, so it takes as long as
/// checking a known one; a disabled user is reported only after the right password.
#[derive(Debug, Clone)]
pub struct LocalDirectory {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    hasher: Hasher,
    users: RwLock<StoreFile>,
    /// Serialises read-modify-write cycles, so two admin changes never lose one another.
    writer: Mutex<()>,
}

impl LocalDirectory {
    /// Opens an existing store. A missing file is an error: authenticating against an empty
    /// store by accident would lock everyone out without saying why.
    pub async fn open(path: impl AsRef<Path>, params: HashParams) -> Result<Self, DirectoryError> {
        let path = path.as_ref().to_owned();
        let read_path = path.clone();
        let store = blocking(move || store::read(&read_path)).await??;
        let store = store.ok_or_else(|| DirectoryError::StoreIo {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        })?;
        Self::with_store(path, params, store).await
    }

    /// Opens a store, or starts an empty one that is written on the first change.
    pub async fn open_or_create(
        path: impl AsRef<Path>,
        params: HashParams,
    ) -> Result<Self, DirectoryError> {
        let path = path.as_ref().to_owned();
        let read_path = path.clone();
        let store = blocking(move || store::read(&read_path)).await??;
        Self::with_store(path, params, store.unwrap_or_else(StoreFile::empty)).await
    }

    async fn with_store(
        path: PathBuf,
        params: HashParams,
        store: StoreFile,
    ) -> Result<Self, DirectoryError> {
        let hasher = blocking(move || Hasher::new(params)).await??;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                hasher,
                users: RwLock::new(store),
                writer: Mutex::new(()),
            }),
        })
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Re-reads the file, picking up changes made by another process.
    pub async fn reload(&self) -> Result<(), DirectoryError> {
        let _writer = self.inner.writer.lock().await;
        let path = self.inner.path.clone();
        let store = blocking(move || store::read(&path)).await??;
        *self.inner.users.write().await = store.unwrap_or_else(StoreFile::empty);
        Ok(())
    }

    /// The users in the store, in name order.
    pub async fn usernames(&self) -> Vec<Username> {
        self.inner
            .users
            .read()
            .await
            .users
            .keys()
            .filter_map(|name| Username::new(name).ok())
            .collect()
    }

    /// Adds a user; fails if one of that name exists or the password is empty.
    pub async fn add_user(&self, user: NewUser) -> Result<(), DirectoryError> {
        let stored = self.stored_user(&user).await?;
        self.modify(|store| {
            let key = user.username.as_str();
            if store.users.contains_key(key) {
                return Err(DirectoryError::UserExists {
                    username: key.to_owned(),
                });
            }
            store.users.insert(key.to_owned(), stored);
            Ok(())
        })
        .await
    }

    /// Removes a user.
    pub async fn remove_user(&self, username: &Username) -> Result<(), DirectoryError> {
        self.modify(|store| {
            store
                .users
                .remove(username.as_str())
                .map(drop)
                .ok_or_else(|| no_such_user(username))
        })
        .await
    }

    /// Sets a user's password (hashed with the current parameters).
    pub async fn set_password(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<(), DirectoryError> {
        let hash = self.hash(username, password.clone()).await?;
        self.modify(|store| {
            let user = store
                .users
                .get_mut(username.as_str())
                .ok_or_else(|| no_such_user(username))?;
            user.password_hash = hash;
            Ok(())
        })
        .await
    }

    /// Sets or clears a user's phone number.
    pub async fn set_phone(
        &self,
        username: &Username,
        phone: Option<&PhoneNumber>,
    ) -> Result<(), DirectoryError> {
        let stored = phone.map(PhoneNumber::stored);
        self.modify(|store| {
            let user = store
                .users
                .get_mut(username.as_str())
                .ok_or_else(|| no_such_user(username))?;
            user.phone = stored;
            Ok(())
        })
        .await
    }

    /// Lets the user log in again.
    pub async fn enable_user(&self, username: &Username) -> Result<(), DirectoryError> {
        self.set_enabled(username, true).await
    }

    /// Stops the user from logging in (the password still verifies, and is then refused
    /// with [`DirectoryError::AccountDisabled`]).
    pub async fn disable_user(&self, username: &Username) -> Result<(), DirectoryError> {
        self.set_enabled(username, false).await
    }

    async fn set_enabled(&self, username: &Username, enabled: bool) -> Result<(), DirectoryError> {
        self.modify(|store| {
            let user = store
                .users
                .get_mut(username.as_str())
                .ok_or_else(|| no_such_user(username))?;
            user.enabled = enabled;
            Ok(())
        })
        .await
    }

    async fn stored_user(&self, user: &NewUser) -> Result<StoredUser, DirectoryError> {
        let password_hash = self.hash(&user.username, user.password.clone()).await?;
        Ok(StoredUser {
            password_hash,
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            phone: user.phone.as_ref().map(PhoneNumber::stored),
            phonefactor_username: user.phonefactor_username.clone(),
            groups: user.groups.clone(),
            enabled: user.enabled,
        })
    }

    async fn hash(
        &self,
        username: &Username,
        password: SecretString,
    ) -> Result<String, DirectoryError> {
        if password.expose_secret().is_empty() {
            return Err(DirectoryError::EmptyPassword {
                username: username.to_string(),
            });
        }
        let hasher = self.inner.hasher.clone();
        blocking(move || hasher.hash(&password)).await?
    }

    /// Applies `change` to a copy of the store, writes the copy atomically, and only then
    /// makes it current: a failed write leaves memory and file as they were.
    async fn modify(
        &self,
        change: impl FnOnce(&mut StoreFile) -> Result<(), DirectoryError>,
    ) -> Result<(), DirectoryError> {
        let _writer = self.inner.writer.lock().await;
        let mut next = self.inner.users.read().await.clone();
        change(&mut next)?;
        let path = self.inner.path.clone();
        let written = next.clone();
        blocking(move || store::write_atomically(&path, &written)).await??;
        *self.inner.users.write().await = next;
        Ok(())
    }

    fn record(username: &Username, user: &StoredUser) -> UserRecord {
        let mut record = UserRecord::new(username.clone())
            .with_groups(user.groups.clone())
            .with_enabled(user.enabled);
        if let Some(name) = &user.display_name {
            record = record.with_display_name(name.clone());
        }
        if let Some(email) = &user.email {
            record = record.with_email(email.clone());
        }
        if let Some(phone) = &user.phone {
            record = record.with_phone(PhoneField::from_stored(phone));
        }
        if let Some(name) = &user.phonefactor_username {
            record = record.with_phonefactor_username(name.clone());
        }
        record
    }
}

fn no_such_user(username: &Username) -> DirectoryError {
    DirectoryError::NoSuchUser {
        username: username.to_string(),
    }
}

/// Runs CPU-bound or blocking work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DirectoryError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DirectoryError::Hashing {
            reason: format!("blocking task failed: {e}"),
        })
}

#[async_trait]
impl FirstFactor for LocalDirectory {
    async fn verify(
        &self,
        username: &Username,
        password: &SecretString,
    ) -> Result<Identity, DirectoryError> {
        if password.expose_secret().is_empty() {
            return Err(DirectoryError::BadCredentials);
        }
        let user = self
            .inner
            .users
            .read()
            .await
            .users
            .get(username.as_str())
            .cloned();
        let hasher = self.inner.hasher.clone();
        let password = password.clone();
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let matched = blocking(move || hasher.verify(&password, phc.as_deref())).await?;
        match user {
            None => Err(DirectoryError::UnknownUser),
            Some(_) if !matched => Err(DirectoryError::BadCredentials),
            Some(user) if !user.enabled => Err(DirectoryError::AccountDisabled),
            Some(user) => Ok(Identity::new(Self::record(username, &user))),
        }
    }

    async fn lookup(&self, username: &Username) -> Result<Option<UserRecord>, DirectoryError> {
        let users = self.inner.users.read().await;
        Ok(users
            .users
            .get(username.as_str())
            .map(|user| Self::record(username, user)))
    }
}
