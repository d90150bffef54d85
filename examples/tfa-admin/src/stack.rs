//! The whole login stack on one machine, for `demo` and `load`: the PhoneFactor simulator
//! (direct mode, mutual TLS on loopback), a temporary local password store, a `DirectClient`
//! built from the simulator's license directory, and an `Authenticator` over them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use phonefactor::{DirectClient, DirectCredentials};
use phonefactor_sim::{SimHandle, Simulator};
use secrecy::SecretString;
use tfa_directory::{HashParams, ImportOptions, LocalDirectory};
use tfa_flow::{Authenticator, PhoneCall, Policy, TfaStateStore};

/// The number every simulated user has (stored format), a US fixed line.
pub(crate) const PHONE: &str = "1 9259249500";

/// The same number as the service dials it, for printing.
pub(crate) const PHONE_DISPLAY: &str = "+1 925 924 9500";

/// A cheap argon2id cost for test users: 64 KiB, one pass. Far below what a real store uses
/// (19 MiB, two passes), so that hashing does not dominate a load run.
pub(crate) const TEST_HASH: HashParams = HashParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// An error while setting the stack up, already worded for the operator.
pub(crate) type SetupError = String;

/// Starts the simulator in this process, its files under `pki_dir`, every phone answering
/// `#` after `answer_after` (a phone scripted to be answered by hand rings for as long plus
/// 30 s).
pub(crate) async fn start_simulator(
    pki_dir: &Path,
    answer_after: Duration,
) -> Result<SimHandle, SetupError> {
    Simulator::builder()
        .pki_dir(pki_dir)
        .default_ring_delay(answer_after)
        .manual_ring_time(answer_after + Duration::from_secs(30))
        .without_agent()
        .without_control()
        .start()
        .await
        .map_err(|e| {
            format!(
                "cannot start the simulator: {}",
                crate::call::error_chain(&e)
            )
        })
}

/// A direct-mode client for the simulator whose files are in `pki_dir` and which listens at
/// `url`: the license directory and its password, trusting only the simulator's CA.
pub(crate) fn direct_client(
    pki_dir: &Path,
    url: &str,
    answer_after: Duration,
) -> Result<DirectClient, SetupError> {
    let password_path = pki_dir.join("pkcs12.password");
    let password = std::fs::read_to_string(&password_path)
        .map_err(|e| format!("cannot read {}: {e}", password_path.display()))?;
    let password = SecretString::from(password.trim().to_owned());
    let credentials = DirectCredentials::from_license_dir(pki_dir.join("license"), &password)
        .map_err(|e| crate::call::error_chain(&e))?;
    DirectClient::builder(credentials)
        .primary_url(url)
        .no_backup()
        .system_roots(false)
        .add_root_certificate_file(pki_dir.join("ca.pem"))
        .response_timeout(answer_after + Duration::from_secs(30))
        .build()
        .map_err(|e| crate::call::error_chain(&e))
}

/// A local password store at `path` holding `users` (each with `password` and the simulated
/// phone), hashed with [`TEST_HASH`], written in one import.
pub(crate) async fn local_users(
    path: PathBuf,
    users: impl Iterator<Item = String>,
    password: &str,
) -> Result<LocalDirectory, SetupError> {
    let store = LocalDirectory::open_or_create(&path, TEST_HASH)
        .await
        .map_err(|e| crate::directory::chain(&e))?;
    let mut csv = String::from("username,password,phone\n");
    for user in users {
        csv.push_str(&format!("{user},{password},{PHONE}\n"));
    }
    let report = store
        .import_csv(csv.as_bytes(), &ImportOptions::new())
        .await
        .map_err(|e| crate::directory::chain(&e))?;
    match report.errors.first() {
        None => Ok(store),
        Some(row) => Err(format!(
            "cannot create the test users: {row}: {}",
            crate::directory::chain(&row.error)
        )),
    }
}

/// The timeouts of `policy` stretched so that a call answered after `answer_after` never
/// times out.
pub(crate) fn fit_timeouts(policy: &mut Policy, answer_after: Duration) {
    let ring = answer_after + Duration::from_secs(30);
    if policy.machine.ring_timeout < ring {
        policy.machine.ring_timeout = ring;
    }
    if policy.machine.login_timeout < ring * 2 {
        policy.machine.login_timeout = ring * 2;
    }
    if policy.machine.idle_timeout < ring {
        policy.machine.idle_timeout = ring;
    }
}

/// An `Authenticator` over `users` and the direct client, with `policy` and, if given, the
/// TFA settings store.
pub(crate) fn authenticator(
    users: LocalDirectory,
    client: DirectClient,
    policy: Policy,
    settings: Option<Arc<dyn TfaStateStore>>,
) -> Result<Authenticator, SetupError> {
    let factor = Arc::new(PhoneCall::direct(Arc::new(client)));
    let mut builder = Authenticator::builder(Arc::new(users), factor).policy(policy);
    if let Some(settings) = settings {
        builder = builder.tfa_state_store(settings);
    }
    builder
        .build()
        .map_err(|e| format!("invalid policy: {}", crate::call::error_chain(&e)))
}
