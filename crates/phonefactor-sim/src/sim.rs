//! [`Simulator::builder`] and the [`SimHandle`] of a running simulator.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::agent::{AGENT_PATHS, AgentService};
use crate::config_files::{self, AgentInputs, ConfigInputs};
use crate::direct::{DirectService, PFD_PATH};
use crate::directory::{Accounts, AgentAccount, AgentDirectory, SimFile};
use crate::error::SimError;
use crate::files;
use crate::license::{LicenseTerms, Licenses};
use crate::phones::{CallRecord, PhoneSettings, Phones, RingingCall};
use crate::pki::{
    AGENT_SERVER_NAMES, Ca, DIRECT_SERVER_NAMES, Issued, LicenseDir, fingerprint, pem, random_hex,
    random_upper_alnum, self_signed_server,
};
use crate::scenario::{PhoneScript, Scenario};
use crate::server::{self, Counter, Shutdown};

/// The agent's server certificate, to test how clients trust it (spec §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AgentCertificate {
    /// Issued by the agent's own CA, whose certificate is the file to import (the default).
    #[default]
    CaSigned,
    /// Self-signed with `CA:TRUE` and a subjectAltName, as `openssl req -x509` makes by
    /// default; the certificate itself is the file to import.
    SelfSignedCa,
    /// Self-signed with `CA:TRUE` and no subjectAltName (CN only).
    SelfSignedNoSan,
    /// Issued by the agent's CA but expired yesterday.
    Expired,
}

/// Entry point: `Simulator::builder()...start().await`.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// A builder with the defaults: every listener on `127.0.0.1:0`, files in a temporary
    /// directory removed on shutdown, phones answering `#` after 1 s, home country `1`.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }
}

#[derive(Debug, Clone)]
enum Target {
    User(String),
    Number(String, String),
}

/// Options of a simulator; see [`Simulator::builder`].
#[derive(Debug)]
#[must_use]
pub struct SimulatorBuilder {
    direct_listen: SocketAddr,
    agent_listen: Option<SocketAddr>,
    control_listen: Option<SocketAddr>,
    pki_dir: Option<PathBuf>,
    default_delay: Duration,
    manual_ring_time: Duration,
    fraud_block_for: Option<Duration>,
    fraud_alerts: bool,
    terms: LicenseTerms,
    license_keys: Option<(String, String)>,
    accounts: Vec<AgentAccount>,
    directory: AgentDirectory,
    scripts: Vec<(Target, PhoneScript)>,
    agent_certificate: AgentCertificate,
    agent_names: Vec<String>,
    namespace: String,
}

const LOOPBACK_ANY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

impl Default for SimulatorBuilder {
    fn default() -> Self {
        Self {
            direct_listen: LOOPBACK_ANY,
            agent_listen: Some(LOOPBACK_ANY),
            control_listen: Some(LOOPBACK_ANY),
            pki_dir: None,
            default_delay: Duration::from_secs(1),
            manual_ring_time: Duration::from_secs(60),
            fraud_block_for: None,
            fraud_alerts: true,
            terms: LicenseTerms::default(),
            license_keys: None,
            accounts: Vec::new(),
            directory: AgentDirectory::new(),
            scripts: Vec::new(),
            agent_certificate: AgentCertificate::default(),
            agent_names: Vec::new(),
            namespace: phonefactor::wire::DEFAULT_NAMESPACE.to_owned(),
        }
    }
}

impl SimulatorBuilder {
    /// Where direct mode (PFD) listens (default `127.0.0.1:0`, a free port).
    pub fn direct_listen(mut self, addr: SocketAddr) -> Self {
        self.direct_listen = addr;
        self
    }

    /// Where the agent's Web Service SDK listens (default `127.0.0.1:0`).
    pub fn agent_listen(mut self, addr: SocketAddr) -> Self {
        self.agent_listen = Some(addr);
        self
    }

    /// Runs direct mode only.
    pub fn without_agent(mut self) -> Self {
        self.agent_listen = None;
        self
    }

    /// Where the control API and the phones page listen, in plain HTTP (default
    /// `127.0.0.1:0`; keep it on loopback).
    pub fn control_listen(mut self, addr: SocketAddr) -> Self {
        self.control_listen = Some(addr);
        self
    }

    /// Runs without the control listener (the handle still controls everything).
    pub fn without_control(mut self) -> Self {
        self.control_listen = None;
        self
    }

    /// Writes the PKI, license directory and configurations into this directory (created if
    /// missing) instead of a temporary one; the files stay after shutdown.
    pub fn pki_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.pki_dir = Some(dir.into());
        self
    }

    /// How long an unscripted phone (or a script without its own delay) rings before it
    /// acts (default 1 s).
    pub fn default_ring_delay(mut self, delay: Duration) -> Self {
        self.default_delay = delay;
        self
    }

    /// How long a `manual` phone rings before it rings out as `no-answer` (default 60 s).
    pub fn manual_ring_time(mut self, time: Duration) -> Self {
        self.manual_ring_time = time;
        self
    }

    /// Lifts fraud blocks by themselves after this long (default: only when lifted).
    pub fn fraud_block_for(mut self, time: Duration) -> Self {
        self.fraud_block_for = Some(time);
        self
    }

    /// Turns fraud alerts off (spec §4): `0#` is then plain digits and `#` (status 1, denied)
    /// and nobody is blocked. On by default, with fraud code `0`.
    pub fn without_fraud_alerts(mut self) -> Self {
        self.fraud_alerts = false;
        self
    }

    /// The license's home country code (default `1`); other countries need
    /// `allowInternationalCalls=yes` (else 103). Also the agent's home country.
    pub fn license_home_country(mut self, country_code: impl Into<String>) -> Self {
        self.terms.home_country = country_code.into();
        self
    }

    /// Uses these keys for the main license instead of random ones (e.g. the spec's sample
    /// `QX7R2M9KD4LP` / `5f0c3a9e1b7d4e2f8a6c0b9d3e1f7a24`, for golden documents).
    pub fn license_keys(
        mut self,
        license_key: impl Into<String>,
        group_key: impl Into<String>,
    ) -> Self {
        self.license_keys = Some((license_key.into(), group_key.into()));
        self
    }

    /// The license refuses extensions (status 110).
    pub fn license_refuses_extensions(mut self) -> Self {
        self.terms.extensions_allowed = false;
        self
    }

    /// The license refuses PIN mode (status 104).
    pub fn license_refuses_pin_mode(mut self) -> Self {
        self.terms.pin_mode_allowed = false;
        self
    }

    /// Adds an agent account. Without any, the simulator makes one admin account,
    /// `PHONEFACTOR-SIM\admin`, with a random password ([`SimHandle::agent_account`]).
    pub fn agent_account(mut self, account: AgentAccount) -> Self {
        self.accounts.push(account);
        self
    }

    /// The agent's user directory (default empty: every user unknown, 1001).
    pub fn agent_directory(mut self, directory: AgentDirectory) -> Self {
        self.directory = directory;
        self
    }

    /// The agent's certificate kind (default [`AgentCertificate::CaSigned`]).
    pub fn agent_certificate(mut self, kind: AgentCertificate) -> Self {
        self.agent_certificate = kind;
        self
    }

    /// Adds a DNS name to the agent's certificate (it always has `localhost`, `127.0.0.1`
    /// and `::1`).
    pub fn agent_host_name(mut self, name: impl Into<String>) -> Self {
        self.agent_names.push(name.into());
        self
    }

    /// The namespace of the agent's replies and WSDL (default `http://tempuri.org/`;
    /// requests are read whatever their namespace).
    pub fn agent_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Scripts the phone of `username` (wins over a number script).
    pub fn script_user(
        mut self,
        username: impl Into<String>,
        script: impl Into<PhoneScript>,
    ) -> Self {
        self.scripts
            .push((Target::User(username.into()), script.into()));
        self
    }

    /// Scripts the phone at `country_code` + `number` (digits).
    pub fn script_number(
        mut self,
        country_code: impl Into<String>,
        number: impl Into<String>,
        script: impl Into<PhoneScript>,
    ) -> Self {
        self.scripts.push((
            Target::Number(country_code.into(), number.into()),
            script.into(),
        ));
        self
    }

    /// Applies a scenario file: its default delay, phone scripts, accounts, users and
    /// applications (replacing the agent directory).
    pub fn scenario_file(mut self, file: &SimFile) -> Self {
        if let Some(ms) = file.default_delay_ms {
            self.default_delay = Duration::from_millis(ms);
        }
        for p in &file.phones {
            let script = PhoneScript {
                scenario: p.scenario.clone(),
                delay: p.delay(),
            };
            match (&p.username, &p.country_code, &p.number) {
                (Some(u), _, _) => self.scripts.push((Target::User(u.clone()), script)),
                (None, Some(cc), Some(n)) => {
                    self.scripts
                        .push((Target::Number(cc.clone(), n.clone()), script));
                }
                _ => {}
            }
        }
        self.accounts.extend(file.accounts());
        self.directory = file.directory();
        self
    }

    /// Generates the PKI, writes the files, binds the listeners and starts serving.
    pub async fn start(self) -> Result<SimHandle, SimError> {
        let (dir, temp) = match &self.pki_dir {
            Some(d) => {
                files::create_dir(d)?;
                let d = std::fs::canonicalize(d).map_err(|e| SimError::io("resolve", d, e))?;
                (d, None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("phonefactor-sim-")
                    .tempdir()
                    .map_err(|e| SimError::io("create directory", std::env::temp_dir(), e))?;
                (t.path().to_owned(), Some(t))
            }
        };

        // Direct-mode PKI and the license (spec §2.2, §2.3).
        let ca = Ca::new("phonefactor-sim PFD test CA")?;
        let names: Vec<String> = DIRECT_SERVER_NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let server_cert = ca.server(&names, false)?;
        let ca_path = dir.join("ca.pem");
        files::write(&ca_path, ca.pem().as_bytes(), files::Mode::Public)?;
        let licenses = Arc::new(Licenses::default());
        let (license_key, group_key) = match self.license_keys.clone() {
            Some(keys) => keys,
            None => (random_upper_alnum(12)?, random_hex::<16>()?),
        };
        licenses.add(&license_key, &group_key, self.terms.clone());
        let client = ca.client(&license_key)?;
        licenses.bind(fingerprint(&client.cert), &license_key, &group_key);
        let license = LicenseDir::write(&dir.join("license"), &license_key, &group_key, &client)?;
        let password_path = dir.join("pkcs12.password");
        files::write(
            &password_path,
            license.pkcs12_password().expose_secret().as_bytes(),
            files::Mode::Private,
        )?;

        let phones = Phones::new(PhoneSettings {
            default_delay: self.default_delay,
            manual_ring_time: self.manual_ring_time,
            fraud_block_for: self.fraud_block_for,
            fraud_alerts: self.fraud_alerts,
        });
        for (target, script) in self.scripts {
            match target {
                Target::User(u) => phones.script_user(&u, script),
                Target::Number(cc, n) => phones.script_number(&cc, &n, script),
            }
        }

        let (stop_tx, stop) = Shutdown::new();
        let mut tasks = Vec::new();

        // Direct listener.
        let direct_listener = TcpListener::bind(self.direct_listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: self.direct_listen,
                source,
            })?;
        let direct_addr = local_addr(&direct_listener, self.direct_listen)?;
        let direct = Arc::new(DirectService {
            phones: Arc::clone(&phones),
            licenses: Arc::clone(&licenses),
            host_ip: direct_addr.ip().to_string(),
            handshakes: Counter::default(),
        });
        let acceptor = TlsAcceptor::from(server::direct_tls(ca.der(), &server_cert)?);
        {
            let direct = Arc::clone(&direct);
            tasks.push(tokio::spawn(server::accept_loop(
                direct_listener,
                stop.clone(),
                move |tcp| crate::direct::serve(Arc::clone(&direct), acceptor.clone(), tcp),
            )));
        }
        let direct_url = format!("https://{}{PFD_PATH}", url_host(direct_addr));

        // Agent listener.
        let mut accounts = Accounts::default();
        let mut main_account = self.accounts.iter().find(|a| a.is_admin()).cloned();
        for a in self.accounts {
            accounts.add(a);
        }
        if accounts.is_empty() {
            let account = AgentAccount::admin(
                "PHONEFACTOR-SIM\\admin",
                SecretString::from(random_upper_alnum(16)?),
            );
            accounts.add(account.clone());
            main_account = Some(account);
        }
        let agent = match self.agent_listen {
            None => None,
            Some(addr) => {
                let mut names: Vec<String> =
                    AGENT_SERVER_NAMES.iter().map(|s| (*s).to_owned()).collect();
                names.extend(self.agent_names);
                let (cert, trust_pem) = agent_certificate(self.agent_certificate, &names)?;
                let trust_path = dir.join("agent-ca.pem");
                files::write(&trust_path, trust_pem.as_bytes(), files::Mode::Public)?;
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|source| SimError::Bind { addr, source })?;
                let agent_addr = local_addr(&listener, addr)?;
                let service = Arc::new(AgentService {
                    phones: Arc::clone(&phones),
                    accounts,
                    directory: self.directory,
                    namespace: self.namespace,
                    home_country: self.terms.home_country.clone(),
                    handshakes: Counter::default(),
                });
                let acceptor = TlsAcceptor::from(server::agent_tls(&cert)?);
                {
                    let service = Arc::clone(&service);
                    tasks.push(tokio::spawn(server::accept_loop(
                        listener,
                        stop.clone(),
                        move |tcp| crate::agent::serve(Arc::clone(&service), acceptor.clone(), tcp),
                    )));
                }
                Some(AgentRuntime {
                    addr: agent_addr,
                    url: format!("https://{}{}", url_host(agent_addr), AGENT_PATHS[0]),
                    trust_path,
                    trust_pem,
                    service,
                })
            }
        };
        let agent_password_path = dir.join("agent.password");
        if let Some(account) = &main_account {
            files::write(
                &agent_password_path,
                account.password().expose_secret().as_bytes(),
                files::Mode::Private,
            )?;
        }

        // Control listener.
        let control_addr = match self.control_listen {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .map_err(|source| SimError::Bind { addr, source })?;
                let bound = local_addr(&listener, addr)?;
                let phones = Arc::clone(&phones);
                tasks.push(tokio::spawn(server::accept_loop(
                    listener,
                    stop.clone(),
                    move |tcp| crate::control::serve(Arc::clone(&phones), tcp),
                )));
                Some(bound)
            }
        };

        let (direct_config, agent_config) = config_files::write(&ConfigInputs {
            dir: &dir,
            license_dir: license.path(),
            pkcs12_password_file: &password_path,
            ca_file: &ca_path,
            direct_url: &direct_url,
            agent: match (&agent, &main_account) {
                (Some(a), Some(account)) => Some(AgentInputs {
                    url: &a.url,
                    username: account.name(),
                    password_file: &agent_password_path,
                    trust_file: &a.trust_path,
                }),
                _ => None,
            },
        })?;

        tracing::info!(%direct_addr, "phonefactor-sim started");
        Ok(SimHandle {
            dir,
            _temp: temp,
            ca,
            ca_path,
            license,
            licenses,
            terms: self.terms,
            pkcs12_password_path: password_path,
            phones,
            direct,
            direct_addr,
            direct_url,
            agent,
            main_account,
            control_addr,
            direct_config,
            agent_config,
            stop: stop_tx,
            tasks,
        })
    }
}

fn local_addr(listener: &TcpListener, asked: SocketAddr) -> Result<SocketAddr, SimError> {
    listener.local_addr().map_err(|source| SimError::Bind {
        addr: asked,
        source,
    })
}

/// The host to put in URLs: the listen IP, or loopback for a wildcard listener.
fn url_host(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port()).to_string()
}

fn agent_certificate(
    kind: AgentCertificate,
    names: &[String],
) -> Result<(Issued, String), SimError> {
    match kind {
        AgentCertificate::CaSigned | AgentCertificate::Expired => {
            let ca = Ca::new("phonefactor-sim agent test CA")?;
            let cert = ca.server(names, kind == AgentCertificate::Expired)?;
            Ok((cert, ca.pem()))
        }
        AgentCertificate::SelfSignedCa | AgentCertificate::SelfSignedNoSan => {
            let cert = self_signed_server(names, kind == AgentCertificate::SelfSignedCa)?;
            let pem = pem("CERTIFICATE", &cert.cert);
            Ok((cert, pem))
        }
    }
}

struct AgentRuntime {
    addr: SocketAddr,
    url: String,
    trust_path: PathBuf,
    trust_pem: String,
    service: Arc<AgentService>,
}

/// A running simulator. Dropping it stops the servers; [`SimHandle::shutdown`] also waits
/// for them.
pub struct SimHandle {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    ca: Ca,
    ca_path: PathBuf,
    license: LicenseDir,
    licenses: Arc<Licenses>,
    terms: LicenseTerms,
    pkcs12_password_path: PathBuf,
    phones: Arc<Phones>,
    direct: Arc<DirectService>,
    direct_addr: SocketAddr,
    direct_url: String,
    agent: Option<AgentRuntime>,
    main_account: Option<AgentAccount>,
    control_addr: Option<SocketAddr>,
    direct_config: PathBuf,
    agent_config: Option<PathBuf>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("dir", &self.dir)
            .field("direct_addr", &self.direct_addr)
            .field("agent_addr", &self.agent.as_ref().map(|a| a.addr))
            .field("control_addr", &self.control_addr)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    // ----- where things are -----

    /// The directory holding the simulator's files.
    pub fn pki_dir(&self) -> &Path {
        &self.dir
    }

    /// The direct listener's address.
    pub fn direct_addr(&self) -> SocketAddr {
        self.direct_addr
    }

    /// `https://127.0.0.1:PORT/pfd/pfd.pl`.
    pub fn direct_url(&self) -> &str {
        &self.direct_url
    }

    /// The agent listener's address, if the agent runs.
    pub fn agent_addr(&self) -> Option<SocketAddr> {
        self.agent.as_ref().map(|a| a.addr)
    }

    /// `https://127.0.0.1:PORT/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx`, if the agent runs
    /// (`/PhoneFactorWebServiceSdk/PfWsSdk.asmx` and `/PfWsSdk.asmx` are served too).
    pub fn agent_url(&self) -> Option<&str> {
        self.agent.as_ref().map(|a| a.url.as_str())
    }

    /// `http://127.0.0.1:PORT/` of the control API and phones page, if it runs.
    pub fn control_url(&self) -> Option<String> {
        self.control_addr
            .map(|a| format!("http://{}/", url_host(a)))
    }

    /// The direct-mode CA certificate (PEM) that issued the server and client certificates.
    pub fn ca_cert_pem(&self) -> String {
        self.ca.pem()
    }

    /// `<pki_dir>/ca.pem`.
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_path
    }

    /// The file a client must import to trust the agent (its CA, or the self-signed
    /// certificate itself): `<pki_dir>/agent-ca.pem`.
    pub fn agent_trust_path(&self) -> Option<&Path> {
        self.agent.as_ref().map(|a| a.trust_path.as_path())
    }

    /// The agent trust file's PEM.
    pub fn agent_trust_pem(&self) -> Option<&str> {
        self.agent.as_ref().map(|a| a.trust_pem.as_str())
    }

    /// The license directory (`license.xml` + `cert.p12`): `<pki_dir>/license`.
    pub fn license_dir(&self) -> &Path {
        self.license.path()
    }

    /// The license with its keys, password and client certificate.
    pub fn license(&self) -> &LicenseDir {
        &self.license
    }

    /// The password of `cert.p12`.
    pub fn pkcs12_password(&self) -> &SecretString {
        self.license.pkcs12_password()
    }

    /// `<pki_dir>/pkcs12.password` (mode 0600).
    pub fn pkcs12_password_path(&self) -> &Path {
        &self.pkcs12_password_path
    }

    /// The admin account whose password is in `<pki_dir>/agent.password` (the first admin
    /// account given, or the generated `PHONEFACTOR-SIM\admin`).
    pub fn agent_account(&self) -> Option<&AgentAccount> {
        self.main_account.as_ref()
    }

    /// `<pki_dir>/direct.toml`, a `tfa-admin` configuration pointing here.
    pub fn direct_config_path(&self) -> &Path {
        &self.direct_config
    }

    /// `<pki_dir>/agent.toml`, if the agent runs.
    pub fn agent_config_path(&self) -> Option<&Path> {
        self.agent_config.as_deref()
    }

    /// TLS handshakes completed by the direct listener.
    pub fn direct_handshakes(&self) -> u64 {
        self.direct.handshakes.get()
    }

    /// TLS handshakes completed by the agent listener (keep-alive makes this smaller than
    /// the number of calls).
    pub fn agent_handshakes(&self) -> u64 {
        self.agent
            .as_ref()
            .map_or(0, |a| a.service.handshakes.get())
    }

    // ----- phones -----

    /// Scripts the phone of `username` (wins over a number script), e.g.
    /// `sim.script_user("jsmith", Scenario::Pin("4821".into()).after(Duration::from_millis(50)))`.
    pub fn script_user(&self, username: &str, script: impl Into<PhoneScript>) {
        self.phones.script_user(username, script.into());
    }

    /// Scripts the phone at `country_code` + `number` (digits, as sent on the wire).
    pub fn script_number(&self, country_code: &str, number: &str, script: impl Into<PhoneScript>) {
        self.phones
            .script_number(country_code, number, script.into());
    }

    /// Forgets every script: phones answer `#` after the default delay again.
    pub fn clear_scripts(&self) {
        self.phones.clear_scripts();
    }

    /// Blocks a user as a fraud report does, until lifted.
    pub fn block_user(&self, username: &str) {
        self.phones.block_user(username, None);
    }

    /// Lifts a user's block; whether there was one.
    pub fn lift_user_block(&self, username: &str) -> bool {
        self.phones.lift_user_block(username)
    }

    /// Lifts a number's block; whether there was one.
    pub fn lift_number_block(&self, country_code: &str, number: &str) -> bool {
        self.phones.lift_number_block(country_code, number)
    }

    /// Lifts every block; how many there were.
    pub fn lift_all_blocks(&self) -> usize {
        self.phones.lift_all_blocks()
    }

    /// Every call request decided so far, oldest first.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.phones.calls()
    }

    /// Forgets the call log.
    pub fn clear_calls(&self) {
        self.phones.clear_calls();
    }

    /// The calls ringing now.
    pub fn ringing(&self) -> Vec<RingingCall> {
        self.phones.ringing()
    }

    /// Ends a ringing call now as if the phone did `action` (`Scenario::Pound`,
    /// `Scenario::Pin(..)`, `Scenario::NoAnswer`, `Scenario::Fraud`, ...).
    pub fn answer(&self, call_id: u64, action: Scenario) -> Result<(), SimError> {
        self.phones.answer(call_id, action)
    }

    /// Waits until a call for `username` rings.
    pub async fn wait_for_ringing(
        &self,
        username: &str,
        timeout: Duration,
    ) -> Result<RingingCall, SimError> {
        self.phones
            .wait_for("a ringing call", timeout, |p| {
                p.ringing()
                    .into_iter()
                    .find(|c| c.username.eq_ignore_ascii_case(username))
            })
            .await
    }

    /// Waits until at least `n` calls are in the log, and returns the log.
    pub async fn wait_for_calls(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<CallRecord>, SimError> {
        self.phones
            .wait_for("calls in the log", timeout, |p| {
                let calls = p.calls();
                (calls.len() >= n).then_some(calls)
            })
            .await
    }

    // ----- extra credentials -----

    /// Issues a new license (new keys, same terms) with its own client certificate, written
    /// as `license.xml` + `cert.p12` into `dir`.
    pub fn issue_license(&self, dir: &Path) -> Result<LicenseDir, SimError> {
        let license_key = random_upper_alnum(12)?;
        let group_key = random_hex::<16>()?;
        self.licenses
            .add(&license_key, &group_key, self.terms.clone());
        let client = self.ca.client(&license_key)?;
        self.licenses
            .bind(fingerprint(&client.cert), &license_key, &group_key);
        LicenseDir::write(dir, &license_key, &group_key, &client)
    }

    /// Issues a second client certificate for the main license into `dir`.
    pub fn issue_license_copy(&self, dir: &Path) -> Result<LicenseDir, SimError> {
        let (lk, gk) = (self.license.license_key(), self.license.group_key());
        let client = self.ca.client(lk)?;
        self.licenses.bind(fingerprint(&client.cert), lk, gk);
        LicenseDir::write(dir, lk, gk, &client)
    }

    /// Writes into `dir` the main license's keys with a client certificate from an unrelated
    /// CA: the handshake must be refused.
    pub fn issue_foreign_license(&self, dir: &Path) -> Result<LicenseDir, SimError> {
        let other = Ca::new("unrelated test CA")?;
        let client = other.client(self.license.license_key())?;
        LicenseDir::write(
            dir,
            self.license.license_key(),
            self.license.group_key(),
            &client,
        )
    }

    // ----- lifecycle -----

    /// Stops every listener and open connection (ringing calls end without a reply) and
    /// waits for the servers to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
