//! A real OpenLDAP `slapd` on 127.0.0.1 with a fixture directory.
//!
//! The fixture, under [`BASE_DN`]:
//!
//! | user | password | notes |
//! |---|---|---|
//! | [`ALICE`] | `alice-secret` | phone in `telephoneNumber` in free form, PhoneFactor username in `employeeNumber`, in `engineers` ⊂ `staff` ⊂ `tfa-required` |
//! | [`BOB`] | `bob-secret` | phone only in `mobile`, stored format; in `staff` |
//! | [`CAROL`] | `carol-secret` | disabled (`employeeType: disabled`) |
//! | [`DAVE`] | `dave-secret` | malformed phone `12345 call me` |
//! | [`ERIN`] | `erin-secret` | national phone `(925) 924-9500` (needs a default region) |
//! | [`ZOE`] | `pässwörd-密码-🔑` | Unicode uid `zoë` and name; in `engineers` |
//! | [`SMITH`] | `smith-secret` | uid `smith, j`: a comma that must be escaped in a DN |
//!
//! The service account [`SERVICE_DN`] / [`SERVICE_PASSWORD`] may search everything;
//! anonymous clients may read everything but passwords. OpenLDAP's memberof overlay keeps
//! `memberOf` with the direct groups.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;

use crate::daemon::{self, Daemon};
use crate::tls::TestCa;

/// The fixture's base DN.
pub const BASE_DN: &str = "dc=example,dc=org";
/// Where the users are.
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=org";
/// Where the groups are.
pub const GROUPS_DN: &str = "ou=groups,dc=example,dc=org";
/// The service account that searches for users.
pub const SERVICE_DN: &str = "cn=reader,dc=example,dc=org";
/// The service account's password.
pub const SERVICE_PASSWORD: &str = "reader-secret";
/// The directory manager (loads the fixture).
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
/// The directory manager's password.
pub const ADMIN_PASSWORD: &str = "admin-secret";

/// A fixture user.
#[derive(Debug, Clone, Copy)]
pub struct User {
    /// Login name (`uid`).
    pub uid: &'static str,
    /// Password.
    pub password: &'static str,
    /// `cn`, the display name.
    pub cn: &'static str,
    /// `mail`.
    pub mail: Option<&'static str>,
    /// `telephoneNumber`.
    pub telephone: Option<&'static str>,
    /// `mobile`.
    pub mobile: Option<&'static str>,
    /// `employeeNumber`, mapped to the PhoneFactor username in tests.
    pub employee_number: Option<&'static str>,
    /// `employeeType`; `disabled` marks a disabled account in tests.
    pub employee_type: Option<&'static str>,
}

impl User {
    /// The user's DN (the uid escaped as RFC 4514 requires).
    pub fn dn(&self) -> String {
        let escaped = self.uid.replace('\\', "\\\\").replace(',', "\\,");
        format!("uid={escaped},{PEOPLE_DN}")
    }
}

const NOBODY: User = User {
    uid: "",
    password: "",
    cn: "",
    mail: None,
    telephone: None,
    mobile: None,
    employee_number: None,
    employee_type: None,
};

/// Alice: free-form phone with extension, PhoneFactor username, nested groups.
pub const ALICE: User = User {
    uid: "alice",
    password: "alice-secret",
    cn: "Alice Liddell",
    mail: Some("alice@example.org"),
    telephone: Some("+1 (925) 924-9500 ext. 292"),
    employee_number: Some("pf-alice"),
    ..NOBODY
};
/// Bob: phone only in `mobile`, in the stored format.
pub const BOB: User = User {
    uid: "bob",
    password: "bob-secret",
    cn: "Bob Builder",
    mobile: Some("91 9876543210"),
    ..NOBODY
};
/// Carol: disabled.
pub const CAROL: User = User {
    uid: "carol",
    password: "carol-secret",
    cn: "Carol Danvers",
    telephone: Some("1 9259249500"),
    employee_type: Some("disabled"),
    ..NOBODY
};
/// Dave: a phone number that does not parse.
pub const DAVE: User = User {
    uid: "dave",
    password: "dave-secret",
    cn: "Dave Lister",
    telephone: Some("12345 call me"),
    ..NOBODY
};
/// Erin: a national number, readable only with a default region (US).
pub const ERIN: User = User {
    uid: "erin",
    password: "erin-secret",
    cn: "Erin Brockovich",
    telephone: Some("(925) 924-9500"),
    ..NOBODY
};
/// Zoë: Unicode uid, name and password.
pub const ZOE: User = User {
    uid: "zoë",
    password: "pässwörd-密码-🔑",
    cn: "Zoë Ünal",
    telephone: Some("+44 20 7946 0958"),
    ..NOBODY
};
/// Smith: a uid with a comma.
pub const SMITH: User = User {
    uid: "smith, j",
    password: "smith-secret",
    cn: "J Smith",
    ..NOBODY
};

/// Every fixture user.
pub const USERS: [User; 7] = [ALICE, BOB, CAROL, DAVE, ERIN, ZOE, SMITH];

/// The groups: `(cn, members)`; a member is a user's uid or `cn=<group>`.
pub const GROUPS: [(&str, &[&str]); 3] = [
    ("engineers", &["alice", "zoë"]),
    ("staff", &["cn=engineers", "bob"]),
    ("tfa-required", &["cn=staff"]),
];

/// The DN of a fixture group.
pub fn group_dn(cn: &str) -> String {
    format!("cn={cn},{GROUPS_DN}")
}

/// A running `slapd` with the fixture loaded.
#[derive(Debug)]
pub struct Slapd {
    daemon: Daemon,
    ldap_port: u16,
    ldaps_port: u16,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Slapd {
    /// The server shared by all tests of this test binary, started on first use.
    pub fn shared() -> &'static Slapd {
        static SHARED: OnceLock<Slapd> = OnceLock::new();
        SHARED.get_or_init(|| Slapd::start().unwrap())
    }

    /// Starts a server of the caller's own, stopped when it is dropped.
    pub fn start() -> std::io::Result<Self> {
        let mut last_error = None;
        // A free port can be taken by someone else between choosing and binding: retry.
        for _ in 0..3 {
            match Self::try_start() {
                Ok(server) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("slapd did not start")))
    }

    fn try_start() -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path();
        std::fs::create_dir(path.join("db"))?;
        let ca = TestCa::new();
        let ca_file = path.join("ca.pem");
        ca.write_pem(&ca_file);
        let cert = ca.issue(&["127.0.0.1", "localhost"], path, "server");
        let conf = path.join("slapd.conf");
        std::fs::write(
            &conf,
            config(path, &ca_file, &cert.cert_file, &cert.key_file),
        )?;

        let (ldap_port, ldaps_port) = {
            let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            (a.local_addr()?.port(), b.local_addr()?.port())
        };
        let urls = format!("ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/");
        let args = [
            "-d".to_owned(),
            "0".to_owned(),
            "-h".to_owned(),
            urls,
            "-f".to_owned(),
            conf.display().to_string(),
        ];
        let mut daemon = Daemon::spawn(
            "slapd",
            Daemon::watched_shell(slapd_program(), &args),
            &path.join("slapd.log"),
        )?;
        for port in [ldap_port, ldaps_port] {
            daemon::wait_for_port(
                &mut daemon,
                SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                Duration::from_secs(15),
            )?;
        }
        let ldif = path.join("fixture.ldif");
        std::fs::write(&ldif, fixture_ldif())?;
        daemon::run(
            Command::new("ldapadd")
                .args(["-x", "-H"])
                .arg(format!("ldap://127.0.0.1:{ldap_port}"))
                .args(["-D", ADMIN_DN, "-w", ADMIN_PASSWORD, "-f"])
                .arg(&ldif),
        )?;
        Ok(Self {
            daemon,
            ldap_port,
            ldaps_port,
            ca_file,
            _dir: dir,
        })
    }

    /// `ldap://127.0.0.1:<port>` (plain, or StartTLS).
    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    /// `ldaps://127.0.0.1:<port>`.
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// The PEM file of the CA that issued the server's certificate (for `127.0.0.1` and
    /// `localhost`).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Stops the server now (connections break, new ones are refused).
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

fn slapd_program() -> &'static str {
    if Path::new("/usr/sbin/slapd").exists() {
        "/usr/sbin/slapd"
    } else {
        "slapd"
    }
}

fn config(dir: &Path, ca: &Path, cert: &Path, key: &Path) -> String {
    let d = dir.display();
    format!(
        r#"include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}

access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to * by * read

database mdb
maxsize 33554432
suffix "{BASE_DN}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {d}/db
overlay memberof
"#,
        ca = ca.display(),
        cert = cert.display(),
        key = key.display(),
    )
}

/// One LDIF attribute line; values that are not plain ASCII are written in base64.
fn line(attr: &str, value: &str) -> String {
    let safe = value.is_ascii()
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ')
        && !value.contains(['\n', '\r', '\0']);
    if safe {
        format!("{attr}: {value}\n")
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        format!("{attr}:: {encoded}\n")
    }
}

fn fixture_ldif() -> String {
    let mut ldif = String::new();
    ldif += &format!(
        "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n"
    );
    ldif += &format!("dn: {PEOPLE_DN}\nobjectClass: organizationalUnit\nou: people\n\n");
    ldif += &format!("dn: {GROUPS_DN}\nobjectClass: organizationalUnit\nou: groups\n\n");
    ldif += &format!(
        "dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: {SERVICE_PASSWORD}\n\n"
    );
    for user in USERS {
        ldif += &line("dn", &user.dn());
        ldif += "objectClass: inetOrgPerson\n";
        ldif += &line("uid", user.uid);
        ldif += &line("cn", user.cn);
        ldif += &line("sn", user.cn.rsplit(' ').next().unwrap_or(user.cn));
        ldif += &line("userPassword", user.password);
        let optional = [
            ("mail", user.mail),
            ("telephoneNumber", user.telephone),
            ("mobile", user.mobile),
            ("employeeNumber", user.employee_number),
            ("employeeType", user.employee_type),
        ];
        for (attr, value) in optional {
            if let Some(value) = value {
                ldif += &line(attr, value);
            }
        }
        ldif += "\n";
    }
    for (cn, members) in GROUPS {
        ldif += &line("dn", &group_dn(cn));
        ldif += "objectClass: groupOfNames\n";
        ldif += &line("cn", cn);
        for member in members {
            let dn = match member.strip_prefix("cn=") {
                Some(group) => group_dn(group),
                None => USERS
                    .iter()
                    .find(|u| u.uid == *member)
                    .map(User::dn)
                    .unwrap_or_default(),
            };
            ldif += &line("member", &dn);
        }
        ldif += "\n";
    }
    ldif
}
