//! The files the simulator writes, read by other tools: OpenSSL reads `cert.p12`, the
//! binary prints its address first and writes configurations with secrets by reference.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use secrecy::ExposeSecret;

use crate::support::*;

#[tokio::test]
async fn openssl_reads_cert_p12_with_the_password() {
    let sim = start().await;
    let out = Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-in"])
        .arg(sim.license().pkcs12_path())
        .arg("-passin")
        .arg(format!("pass:{}", sim.pkcs12_password().expose_secret()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wrong = Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-in"])
        .arg(sim.license().pkcs12_path())
        .args(["-passin", "pass:WRONGPASSWORD123"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    // The certificate inside is the client certificate, issued by the CA.
    let certs = Command::new("openssl")
        .args(["pkcs12", "-nokeys", "-clcerts", "-in"])
        .arg(sim.license().pkcs12_path())
        .arg("-passin")
        .arg(format!("pass:{}", sim.pkcs12_password().expose_secret()))
        .output()
        .unwrap();
    let pem = String::from_utf8(certs.stdout).unwrap();
    assert!(
        pem.contains(sim.license().certificate_pem().trim()),
        "{pem}"
    );
}

#[tokio::test]
async fn license_files_have_the_sample_shapes() {
    let sim = without_agent().await;
    let license = sim.license();
    assert_eq!(license.license_key().len(), 12);
    assert!(
        license
            .license_key()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    assert_eq!(license.group_key().len(), 32);
    assert!(
        license
            .group_key()
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let pw = sim.pkcs12_password().expose_secret();
    assert_eq!(pw.len(), 16);
    assert!(
        pw.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    let xml = std::fs::read(license.license_xml_path()).unwrap();
    let root = phonefactor::wire::xml::Element::parse(&xml).unwrap();
    assert_eq!(root.name, "license");
    assert_eq!(
        root.child("licenseKey").unwrap().trimmed(),
        license.license_key()
    );
    assert_eq!(
        root.child("groupKey").unwrap().trimmed(),
        license.group_key()
    );
    let mode = std::fs::metadata(sim.pkcs12_password_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        std::fs::read_to_string(sim.pkcs12_password_path()).unwrap(),
        pw
    );
    // The server certificate carries the names of spec §2.3.
    let connector = client(&sim.ca_cert_pem(), Some(sim.license()));
    let tcp = tokio::net::TcpStream::connect(sim.direct_addr())
        .await
        .unwrap();
    let tls = connector
        .connect(
            rustls_pki_types::ServerName::try_from("pfd2.phonefactor.net").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let server_cert = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    drop(tls);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.der");
    std::fs::write(&path, server_cert).unwrap();
    let out = Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName",
            "-in",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CN=pfd.phonefactor.net") || text.contains("CN = pfd.phonefactor.net"),
        "{text}"
    );
    for name in [
        "DNS:pfd.phonefactor.net",
        "DNS:pfd2.phonefactor.net",
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
    ] {
        assert!(text.contains(name), "{name} in {text}");
    }
}

async fn without_agent() -> phonefactor_sim::SimHandle {
    phonefactor_sim::Simulator::builder()
        .without_agent()
        .start()
        .await
        .unwrap()
}

#[test]
fn binary_prints_its_address_first_and_writes_configurations() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(
        &scenario,
        "default_delay_ms = 5\n[[phone]]\nusername = \"jsmith\"\nscenario = \"busy\"\n\
         [[account]]\nname = 'CORP\\svc'\npassword = \"pw-only\"\n\
         [[user]]\nusername = \"jsmith\"\ncountry_code = \"1\"\nphone = \"9259249500\"\n",
    )
    .unwrap();
    let pki = dir.path().join("pki");
    let mut child = Command::new(env!("CARGO_BIN_EXE_phonefactor-sim"))
        .args(["--listen", "127.0.0.1:0", "--pki-dir"])
        .arg(&pki)
        .arg("--scenario")
        .arg(&scenario)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let port = first
        .strip_prefix("listening on 127.0.0.1:")
        .unwrap_or_else(|| panic!("first line: {first}"));
    assert!(port.parse::<u16>().unwrap() > 0);
    let second = lines.next().unwrap().unwrap();
    assert!(
        second.starts_with("agent listening on 127.0.0.1:"),
        "{second}"
    );

    for f in [
        "ca.pem",
        "agent-ca.pem",
        "license/license.xml",
        "license/cert.p12",
        "direct.toml",
        "agent.toml",
    ] {
        assert!(pki.join(f).is_file(), "{f}");
    }
    for secret in ["pkcs12.password", "agent.password"] {
        let mode = std::fs::metadata(pki.join(secret))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{secret}");
    }
    let pw = std::fs::read_to_string(pki.join("pkcs12.password")).unwrap();
    let direct_text = std::fs::read_to_string(pki.join("direct.toml")).unwrap();
    assert!(
        !direct_text.contains(&pw),
        "the password must not be inline"
    );
    let direct: toml::Table = direct_text.parse().unwrap();
    assert_eq!(direct["mode"].as_str(), Some("direct"));
    let d = direct["direct"].as_table().unwrap();
    assert_eq!(
        d["primary_url"].as_str().unwrap(),
        format!("https://127.0.0.1:{port}/pfd/pfd.pl")
    );
    assert_eq!(
        std::fs::read_to_string(d["password_file"].as_str().unwrap()).unwrap(),
        pw
    );
    assert!(
        std::path::Path::new(d["license_dir"].as_str().unwrap())
            .join("cert.p12")
            .is_file()
    );
    let agent_text = std::fs::read_to_string(pki.join("agent.toml")).unwrap();
    assert!(!agent_text.contains("pw-only"));
    let agent: toml::Table = agent_text.parse().unwrap();
    let a = agent["agent"].as_table().unwrap();
    assert_eq!(a["username"].as_str(), Some("CORP\\svc"));
    assert_eq!(
        std::fs::read_to_string(a["password_file"].as_str().unwrap()).unwrap(),
        "pw-only"
    );

    // SIGTERM ends it cleanly.
    let status = Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn binary_refuses_a_bad_scenario_file_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("bad.toml");
    std::fs::write(
        &scenario,
        "[[phone]]\nusername = \"x\"\nscenario = \"ring-twice\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phonefactor-sim"))
        .arg("--pki-dir")
        .arg(dir.path().join("pki"))
        .arg("--scenario")
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("ring-twice"),
        "{err}"
    );
}

/// An independent client: curl (OpenSSL) with the PKCS#12 file, over HTTP/1.1, with a body
/// large enough that curl asks `Expect: 100-continue`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_cert_p12_gets_an_approved_call() {
    let sim = start().await;
    let req = request("77", "jsmith");
    let xml = String::from_utf8(req.encode().unwrap()).unwrap();
    let padded = xml.replacen(
        "<request ",
        &format!("<padding>{}</padding><request ", "x".repeat(1200)),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.xml");
    std::fs::write(&body, &padded).unwrap();
    let url = format!("https://localhost:{}/pfd/pfd.pl", sim.direct_addr().port());
    let cert = format!(
        "{}:{}",
        sim.license().pkcs12_path().display(),
        sim.pkcs12_password().expose_secret()
    );
    let ca = sim.ca_cert_path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "--max-time", "10", "--cacert"])
            .arg(&ca)
            .args(["--cert-type", "P12", "--cert", &cert])
            .args(["-H", "Content-Type: application/x-www-form-urlencoded"])
            .arg("--data-binary")
            .arg(format!("@{}", body.display()))
            .arg(&url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply = phonefactor::wire::PfdResponse::decode(&out.stdout, "77").unwrap();
    match reply.result {
        phonefactor::wire::PfdResult::Success(r) => {
            assert!(r.authenticated);
            assert_eq!(r.call_status.code(), 2);
        }
        other => panic!("{other:?}"),
    }
}

/// The "done" criterion: the configurations the simulator writes are enough for the
/// `phonefactor` client to place an approved call, in both modes.
#[tokio::test]
async fn written_configurations_place_approved_calls_with_the_client() {
    use phonefactor::config::VerifierConfig;
    use phonefactor::{PhoneFactorUsername, PhoneVerifier, VerificationRequest};
    let dir = tempfile::tempdir().unwrap();
    let sim = builder()
        .pki_dir(dir.path())
        .agent_directory(phonefactor_sim::AgentDirectory::new().user(
            phonefactor_sim::AgentUser::standard("jsmith", "1", "9259249500"),
        ))
        .start()
        .await
        .unwrap();
    let direct = VerifierConfig::from_file(sim.direct_config_path()).unwrap();
    let verifier = direct.verifier(sim.pki_dir(), None).unwrap();
    let request = VerificationRequest::new(PhoneFactorUsername::new("jsmith").unwrap())
        .with_phone(tfa_phone::PhoneNumber::parse_stored("1 9259249500 292").unwrap());
    let outcome = verifier.verify(&request).await.unwrap();
    assert!(outcome.is_approved(), "{outcome:?}");

    let agent = VerifierConfig::from_file(sim.agent_config_path().unwrap()).unwrap();
    let verifier = agent.verifier(sim.pki_dir(), None).unwrap();
    let request = VerificationRequest::new(PhoneFactorUsername::new("jsmith").unwrap());
    let outcome = verifier.verify(&request).await.unwrap();
    assert!(outcome.is_approved(), "{outcome:?}");
    let calls = sim.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].phone.extension.as_deref(), Some("292"));
}
