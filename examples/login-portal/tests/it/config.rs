//! The portal from a configuration file, against the simulator in direct mode: a local
//! password file, a TFA settings file, secure cookies, and a trusted reverse proxy.

use std::path::Path;
use std::time::Duration;

use login_portal::PortalConfig;
use phonefactor_sim::Simulator;
use reqwest::{Client, Response, StatusCode};
use secrecy::SecretString;
use tfa_directory::{HashParams, LocalDirectory, NewUser, Username};
use tfa_flow::{FileTfaStateStore, TfaStateStore};
use tfa_phone::PhoneNumber;

use crate::support::{cookieless, csrf, location};

const PASSWORD: &str = "correct horse battery staple";

/// Writes `portal.toml` into `dir`: the simulator's own direct-mode settings under
/// `[phonefactor]`, the local users file, and `extra` keys.
fn write_config(dir: &Path, sim_direct_toml: &Path, extra: &str) -> std::path::PathBuf {
    let direct: toml::Table =
        toml::from_str(&std::fs::read_to_string(sim_direct_toml).unwrap()).unwrap();
    let mut text = format!(
        "listen = \"127.0.0.1:0\"\naudit_log = \"audit.jsonl\"\ntfa_settings = \"tfa-settings.json\"\n{extra}\n"
    );
    let mut sections = toml::Table::new();
    sections.insert("phonefactor".into(), toml::Value::Table(direct));
    let mut first_factor = toml::Table::new();
    first_factor.insert("backend".into(), "local".into());
    first_factor.insert("path".into(), "users.json".into());
    sections.insert("first_factor".into(), toml::Value::Table(first_factor));
    text.push_str(&toml::to_string(&sections).unwrap());
    let path = dir.join("portal.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes `users.json` into `dir` with `names`, each with [`PASSWORD`] and a US number.
async fn write_users(dir: &Path, names: &[&str]) {
    let users = LocalDirectory::open_or_create(dir.join("users.json"), HashParams::default())
        .await
        .unwrap();
    for name in names {
        users
            .add_user(
                NewUser::new(Username::new(name).unwrap(), SecretString::from(PASSWORD))
                    .phone(PhoneNumber::parse_stored("1 9259249500").unwrap()),
            )
            .await
            .unwrap();
    }
}

/// A request carrying the session cookie by hand (a cookie store would not send a
/// `Secure` cookie over plain HTTP).
async fn send(
    client: &Client,
    request: reqwest::RequestBuilder,
    cookie: &mut Option<String>,
) -> Response {
    let request = match cookie.as_deref() {
        Some(c) => request.header("cookie", c),
        None => request,
    };
    let response = client.execute(request.build().unwrap()).await.unwrap();
    if let Some(set) = response.headers().get("set-cookie") {
        let set = set.to_str().unwrap();
        assert!(
            set.ends_with("Path=/; HttpOnly; SameSite=Strict; Secure"),
            "{set}"
        );
        *cookie = Some(set.split(';').next().unwrap().to_owned());
    }
    response
}

/// From the start page through the password, as a client behind the trusted proxy at
/// 203.0.113.9; returns the password step's response.
async fn username_and_password(
    client: &Client,
    base: &str,
    cookie: &mut Option<String>,
    username: &str,
) -> Response {
    let start = send(client, client.get(base), cookie).await;
    let token = csrf(&start.text().await.unwrap());
    let step = send(
        client,
        client
            .post(format!("{base}username"))
            .header("x-forwarded-for", "203.0.113.9")
            .form(&[("csrf", token.as_str()), ("username", username)]),
        cookie,
    )
    .await;
    assert_eq!(location(&step), "/password");
    let page = send(client, client.get(format!("{base}password")), cookie).await;
    let token = csrf(&page.text().await.unwrap());
    send(
        client,
        client
            .post(format!("{base}password"))
            .header("x-forwarded-for", "203.0.113.9")
            .form(&[("csrf", token.as_str()), ("password", PASSWORD)]),
        cookie,
    )
    .await
}

#[tokio::test]
async fn a_configured_portal_signs_in_through_direct_mode_with_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::builder()
        .pki_dir(dir.path().join("simulator"))
        .default_ring_delay(Duration::from_millis(50))
        .without_agent()
        .start()
        .await
        .unwrap();
    let users =
        LocalDirectory::open_or_create(dir.path().join("users.json"), HashParams::default())
            .await
            .unwrap();
    for name in ["dora", "erin"] {
        users
            .add_user(
                NewUser::new(Username::new(name).unwrap(), SecretString::from(PASSWORD))
                    .phone(PhoneNumber::parse_stored("1 9259249500").unwrap()),
            )
            .await
            .unwrap();
    }
    // TFA off for erin in the settings file, as `tfa-admin users tfa disable` writes it.
    let settings = FileTfaStateStore::open_or_create(dir.path().join("tfa-settings.json"))
        .await
        .unwrap();
    settings
        .set_enforcement(&Username::new("erin").unwrap(), Some(false))
        .await
        .unwrap();
    let file = write_config(
        dir.path(),
        sim.direct_config_path(),
        "trusted_proxies = [\"127.0.0.1\"]",
    );
    let config = PortalConfig::from_file(&file).unwrap();
    let stores = login_portal::open_stores("memory").await.unwrap();
    let portal = login_portal::serve(config, stores).await.unwrap();
    assert_eq!(portal.audit_log_path(), dir.path().join("audit.jsonl"));
    assert!(portal.demo_users().is_empty() && portal.phones_url().is_empty());

    let client = cookieless();
    let base = portal.url().to_owned();
    let mut cookie = None;
    let first = send(&client, client.get(&base), &mut cookie).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first_cookie = cookie.clone().unwrap();
    assert!(
        first_cookie.starts_with("__Host-login-portal="),
        "{first_cookie}"
    );
    let placed = username_and_password(&client, &base, &mut cookie, "dora").await;
    assert_eq!(location(&placed), "/call");

    // The phone presses # after 50 ms; the call page then leads on to the signed-in page.
    let mut signed_in = false;
    for _ in 0..100 {
        let call = send(&client, client.get(format!("{base}call")), &mut cookie).await;
        if call.status() == StatusCode::SEE_OTHER {
            assert_eq!(location(&call), "/signed-in");
            signed_in = true;
            break;
        }
        let page = call.text().await.unwrap();
        assert!(page.contains("data-state=\"ringing\""), "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(signed_in, "the call was approved");
    assert_ne!(
        cookie.as_deref(),
        Some(first_cookie.as_str()),
        "new id at sign-in"
    );
    let page = send(&client, client.get(format!("{base}signed-in")), &mut cookie).await;
    assert!(page.text().await.unwrap().contains("<strong>dora</strong>"));

    let audit = std::fs::read_to_string(portal.audit_log_path()).unwrap();
    let authenticated: serde_json::Value = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["kind"]["event"] == "authenticated")
        .expect("an authenticated event");
    assert_eq!(authenticated["source"], "203.0.113.9", "the proxy's client");
    assert_eq!(sim.calls().len(), 1);

    // erin's TFA is off in the settings file: signed in on the password alone, no call.
    let mut cookie = None;
    let signed = username_and_password(&client, &base, &mut cookie, "erin").await;
    assert_eq!(location(&signed), "/signed-in");
    assert_eq!(sim.calls().len(), 1);
    portal.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_configured_portal_refuses_to_start_without_its_audit_file() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::builder()
        .pki_dir(dir.path().join("simulator"))
        .without_agent()
        .without_control()
        .start()
        .await
        .unwrap();
    write_users(dir.path(), &["dora"]).await;
    let file = write_config(dir.path(), sim.direct_config_path(), "");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "audit_log = \"audit.jsonl\"",
        "audit_log = \"missing/audit.jsonl\"",
    );
    std::fs::write(&file, text).unwrap();
    let config = PortalConfig::from_file(&file).unwrap();
    let stores = login_portal::open_stores("memory").await.unwrap();
    let err = login_portal::serve(config, stores).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open audit file {} for appending",
            dir.path().join("missing/audit.jsonl").display()
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_portal_with_a_certificate_serves_https_only_and_marks_its_cookie_secure() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::builder()
        .pki_dir(dir.path().join("simulator"))
        .without_agent()
        .without_control()
        .start()
        .await
        .unwrap();
    write_users(dir.path(), &["dora"]).await;
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    std::fs::write(dir.path().join("portal.pem"), certified.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("portal.key"),
        certified.signing_key.serialize_pem(),
    )
    .unwrap();
    let file = write_config(
        dir.path(),
        sim.direct_config_path(),
        "[tls]\ncert_file = \"portal.pem\"\nkey_file = \"portal.key\"",
    );
    let config = PortalConfig::from_file(&file).unwrap();
    let stores = login_portal::open_stores("memory").await.unwrap();
    let portal = login_portal::serve(config, stores).await.unwrap();
    assert!(
        portal.url().starts_with("https://127.0.0.1:"),
        "{}",
        portal.url()
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap();
    let response = client.get(portal.url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-login-portal="), "{cookie}");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("id=\"username-form\"")
    );

    // Plain HTTP to the same port gets no page.
    let plain = portal.url().replacen("https://", "http://", 1);
    assert!(cookieless().get(plain).send().await.is_err());
    portal.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn nobody_signs_in_once_the_audit_file_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::builder()
        .pki_dir(dir.path().join("simulator"))
        .without_agent()
        .without_control()
        .start()
        .await
        .unwrap();
    write_users(dir.path(), &["erin"]).await;
    let settings = FileTfaStateStore::open_or_create(dir.path().join("tfa-settings.json"))
        .await
        .unwrap();
    settings
        .set_enforcement(&Username::new("erin").unwrap(), Some(false))
        .await
        .unwrap();
    // /dev/full opens for appending, and every write to it fails (no space left).
    let file = write_config(
        dir.path(),
        sim.direct_config_path(),
        "[cookie]\nsecure = false",
    );
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("audit_log = \"audit.jsonl\"", "audit_log = \"/dev/full\"");
    std::fs::write(&file, text).unwrap();
    let config = PortalConfig::from_file(&file).unwrap();
    let stores = login_portal::open_stores("memory").await.unwrap();
    let portal = login_portal::serve(config, stores).await.unwrap();

    let browser = crate::support::browser();
    let base = portal.url();
    let token = csrf(
        &browser
            .get(base)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    browser
        .post(format!("{base}username"))
        .form(&[("csrf", token.as_str()), ("username", "erin")])
        .send()
        .await
        .unwrap();
    let page = browser.get(format!("{base}password")).send().await.unwrap();
    let token = csrf(&page.text().await.unwrap());
    let refused = browser
        .post(format!("{base}password"))
        .form(&[("csrf", token.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&refused),
        "/failed",
        "the right password, but no audit trail"
    );
    let failed = browser
        .get(format!("{base}failed"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        failed.contains("Sign-in is temporarily unavailable."),
        "{failed}"
    );
    portal.shutdown().await;
    sim.shutdown().await;
}
