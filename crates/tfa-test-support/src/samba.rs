//! A real Samba Active Directory domain controller on a loopback address of its own.
//!
//! Samba's LDAP server always listens on ports 389, 636, 3268 and 3269 (there is no setting
//! for them), so instead of a free port the DC gets a free address: the first `127.0.0.x`
//! (x from 2 to 254, starting at a place derived from the process id) on which all four
//! ports can be bound. Linux routes all of 127.0.0.0/8 to the loopback interface; Samba
//! accepts the address when given as `interfaces = 127.0.0.x/8`. Nothing else is served
//! (`server services = ldap`), and every state, lock, pid and socket directory is inside a
//! temporary directory, so a second Samba on the machine is not disturbed.
//!
//! The domain is [`REALM`] (`TFA.TEST`, NetBIOS [`NETBIOS`]), provisioned with
//! `samba-tool domain provision --dns-backend=NONE`; the fixture users are made with
//! `samba-tool user add` and friends:
//!
//! | user | state |
//! |---|---|
//! | [`ALICE`] | phone in `telephoneNumber`, in `Inner` ⊂ `Outer` ⊂ `TfaRequired` |
//! | [`BOB`] | phone only in `mobile`; in `Outer` |
//! | [`DAN`] | disabled (`samba-tool user disable`) |
//! | [`MIA`] | must change her password (`--must-change-at-next-login`) |
//! | [`EVE`] | account expired (`samba-tool user setexpiry --days=0`) |
//! | [`LOU`] | for lockout tests: the domain locks an account after [`LOCKOUT_THRESHOLD`] bad passwords |
//! | [`ZOE`] | Unicode `sAMAccountName` and password; in `Inner` |
//! | [`SERVICE`] | the service account for searches |
//!
//! LDAPS uses a certificate for the DC's address issued by a test CA ([`SambaDc::ca_file`]).
//! As on real AD, simple binds need TLS: use LDAPS or StartTLS.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::daemon::{self, Daemon};
use crate::tls::TestCa;

/// The Kerberos realm.
pub const REALM: &str = "TFA.TEST";
/// The DNS domain (UPN suffix).
pub const DOMAIN: &str = "tfa.test";
/// The NetBIOS domain (`TFA\user`).
pub const NETBIOS: &str = "TFA";
/// The domain's root DN.
pub const BASE_DN: &str = "DC=tfa,DC=test";
/// The Administrator's password.
pub const ADMIN_PASSWORD: &str = "Adm1n!Passw0rd";
/// Bad passwords before an account is locked.
pub const LOCKOUT_THRESHOLD: u32 = 5;

/// A fixture user of the domain.
#[derive(Debug, Clone, Copy)]
pub struct AdUser {
    /// `sAMAccountName`.
    pub sam: &'static str,
    /// Password.
    pub password: &'static str,
    /// Given name and surname (the CN is "given surname").
    pub given_name: &'static str,
    /// Surname.
    pub surname: &'static str,
    /// `telephoneNumber`.
    pub telephone: Option<&'static str>,
    /// `mobile`.
    pub mobile: Option<&'static str>,
}

impl AdUser {
    /// `user@tfa.test`.
    pub fn upn(&self) -> String {
        format!("{}@{DOMAIN}", self.sam)
    }

    /// `TFA\user`.
    pub fn down_level(&self) -> String {
        format!("{NETBIOS}\\{}", self.sam)
    }
}

const fn user(sam: &'static str, password: &'static str, given: &'static str) -> AdUser {
    AdUser {
        sam,
        password,
        given_name: given,
        surname: "Tester",
        telephone: None,
        mobile: None,
    }
}

/// Alice: phone in `telephoneNumber`, nested groups.
pub const ALICE: AdUser = AdUser {
    telephone: Some("+1 925 924 9500"),
    surname: "Liddell",
    ..user("alice", "Al1ce!Secret", "Alice")
};
/// Bob: phone only in `mobile`.
pub const BOB: AdUser = AdUser {
    mobile: Some("+91 98765 43210"),
    ..user("bob", "B0b!Secret-1", "Bob")
};
/// Dan: disabled.
pub const DAN: AdUser = user("dan", "D4n!Secret-1", "Dan");
/// Mia: must change her password at next login.
pub const MIA: AdUser = user("mia", "M1a!Secret-1", "Mia");
/// Eve: account expired.
pub const EVE: AdUser = user("eve", "Ev3!Secret-1", "Eve");
/// Lou: locked out by the lockout test.
pub const LOU: AdUser = user("lou", "L0u!Secret-1", "Lou");
/// Zoë: Unicode name and password.
pub const ZOE: AdUser = AdUser {
    surname: "Ünal",
    ..user("zoë", "Pässwörd-密码-1", "Zoë")
};
/// The service account.
pub const SERVICE: AdUser = user("svc-tfa", "Svc!Passw0rd-1", "Service");

/// Every fixture user.
pub const USERS: [AdUser; 8] = [ALICE, BOB, DAN, MIA, EVE, LOU, ZOE, SERVICE];

/// The groups: `(name, members)`, members being users or groups.
pub const GROUPS: [(&str, &[&str]); 3] = [
    ("Inner", &["alice", "zoë"]),
    ("Outer", &["Inner", "bob"]),
    ("TfaRequired", &["Outer"]),
];

/// The DN of a fixture group (groups are created in `CN=Users`).
pub fn group_dn(name: &str) -> String {
    format!("CN={name},CN=Users,{BASE_DN}")
}

/// A running Samba AD DC with the fixture.
#[derive(Debug)]
pub struct SambaDc {
    daemon: Daemon,
    address: Ipv4Addr,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl SambaDc {
    /// The DC shared by all tests of this test binary, started on first use (provisioning
    /// takes some seconds).
    pub fn shared() -> &'static SambaDc {
        static SHARED: OnceLock<SambaDc> = OnceLock::new();
        SHARED.get_or_init(|| SambaDc::start().unwrap())
    }

    /// Provisions and starts a DC of the caller's own, stopped when it is dropped.
    pub fn start() -> std::io::Result<Self> {
        let address = free_address()?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().to_owned();
        let ca = TestCa::new();
        let ca_file = path.join("ca.pem");
        ca.write_pem(&ca_file);
        let ip = address.to_string();
        let cert = ca.issue(&[&ip, "dc1.tfa.test"], &path, "dc");
        for sub in ["run", "ncalrpc", "winbindd", "log"] {
            std::fs::create_dir(path.join(sub))?;
        }
        let d = path.display();
        let options = [
            format!("interfaces={ip}/8"),
            "bind interfaces only=yes".into(),
            "server services=ldap".into(),
            "tls enabled=yes".into(),
            format!("tls keyfile={}", cert.key_file.display()),
            format!("tls certfile={}", cert.cert_file.display()),
            format!("tls cafile={}", ca_file.display()),
            format!("pid directory={d}/run"),
            format!("ncalrpc dir={d}/ncalrpc"),
            format!("winbindd socket directory={d}/winbindd"),
            format!("log file={d}/log/samba.log"),
        ];
        let mut provision = Command::new("samba-tool");
        provision.args([
            "domain",
            "provision",
            "--realm",
            REALM,
            "--domain",
            NETBIOS,
            "--server-role=dc",
            "--dns-backend=NONE",
            "--host-name=dc1",
            "--adminpass",
            ADMIN_PASSWORD,
        ]);
        provision
            .arg(format!("--host-ip={ip}"))
            .arg(format!("--targetdir={d}"));
        for option in &options {
            provision.arg(format!("--option={option}"));
        }
        daemon::run(&mut provision)?;
        let conf = path.join("etc/smb.conf");
        let tool = |args: &[&str]| -> std::io::Result<String> {
            daemon::run(Command::new("samba-tool").args(args).arg("-s").arg(&conf))
        };
        let threshold = format!("--account-lockout-threshold={LOCKOUT_THRESHOLD}");
        tool(&["domain", "passwordsettings", "set", &threshold])?;
        for u in USERS {
            let given = format!("--given-name={}", u.given_name);
            let surname = format!("--surname={}", u.surname);
            let mail = format!("--mail-address={}", u.upn());
            let mut args = vec!["user", "add", u.sam, u.password, &given, &surname, &mail];
            let phone;
            if let Some(number) = u.telephone {
                phone = format!("--telephone-number={number}");
                args.push(&phone);
            }
            if u.sam == MIA.sam {
                args.push("--must-change-at-next-login");
            }
            tool(&args)?;
        }
        tool(&["user", "disable", DAN.sam])?;
        tool(&["user", "setexpiry", EVE.sam, "--days=0"])?;
        for (group, members) in GROUPS {
            tool(&["group", "add", group])?;
            tool(&["group", "addmembers", group, &members.join(",")])?;
        }

        let mut command = Command::new(samba_program());
        command
            .args(["-i", "-M", "single", "--debug-stdout", "-s"])
            .arg(&conf);
        let mut daemon = Daemon::spawn("samba", command, &path.join("samba.out"))?;
        for port in [389, 636] {
            daemon::wait_for_port(
                &mut daemon,
                SocketAddr::from((address, port)),
                Duration::from_secs(60),
            )?;
        }
        let server = Self {
            daemon,
            address,
            ca_file,
            _dir: dir,
        };
        server.set_mobiles(&path)?;
        Ok(server)
    }

    /// `samba-tool` cannot set `mobile`: write it over LDAPS as the Administrator.
    fn set_mobiles(&self, dir: &Path) -> std::io::Result<()> {
        let mut ldif = String::new();
        for u in USERS {
            if let Some(mobile) = u.mobile {
                ldif += &format!(
                    "dn: CN={} {},CN=Users,{BASE_DN}\nchangetype: modify\nreplace: mobile\nmobile: {mobile}\n\n",
                    u.given_name, u.surname
                );
            }
        }
        let file = dir.join("mobiles.ldif");
        std::fs::write(&file, ldif)?;
        daemon::run(
            Command::new("ldapmodify")
                .env("LDAPTLS_CACERT", &self.ca_file)
                .args(["-x", "-H", &self.ldaps_url(), "-D"])
                .arg(format!("Administrator@{DOMAIN}"))
                .args(["-w", ADMIN_PASSWORD, "-f"])
                .arg(&file),
        )
        .map(drop)
    }

    /// The DC's address, `127.0.0.x`.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// `ldap://127.0.0.x` (port 389: StartTLS needed for binds).
    pub fn ldap_url(&self) -> String {
        format!("ldap://{}", self.address)
    }

    /// `ldaps://127.0.0.x` (port 636).
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://{}", self.address)
    }

    /// The PEM file of the CA that issued the DC's certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// Stops the DC now.
    pub fn stop(&mut self) {
        self.daemon.stop();
    }
}

fn samba_program() -> &'static str {
    if Path::new("/usr/sbin/samba").exists() {
        "/usr/sbin/samba"
    } else {
        "samba"
    }
}

/// The first 127.0.0.x on which Samba's four LDAP ports are free.
fn free_address() -> std::io::Result<Ipv4Addr> {
    let start = std::process::id() % 250;
    for i in 0..250 {
        let x = u8::try_from((start + i) % 253 + 2).unwrap_or(2);
        let address = Ipv4Addr::new(127, 0, 0, x);
        let free = [389, 636, 3268, 3269]
            .iter()
            .all(|port| TcpListener::bind((address, *port)).is_ok());
        if free {
            return Ok(address);
        }
    }
    Err(std::io::Error::other(
        "no 127.0.0.x address has ports 389, 636, 3268 and 3269 free for Samba \
         (is a server listening on those ports on all addresses?)",
    ))
}
