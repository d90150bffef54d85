//! `tfa-admin config ...` on a real `redis-server`: keys, publishing and showing the shared
//! configuration, read back through the library.

use std::path::Path;
use std::process::Command;

use tfa_store_redis::{ConfigKey, Namespace, RedisStores, SecondFactorConfig, SharedConfig};
use tfa_test_support::redis::RedisServer;

use crate::{stderr, stdout_lines, tfa_admin};

const NAMESPACE: &str = "config-tests";
const AGENT_PASSWORD: &str = "s3cret-agent-pw";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The shared configuration through the library (on the caller's runtime).
async fn shared(server: &RedisServer, key: &Path) -> SharedConfig {
    RedisStores::connect(&server.url(), Namespace::new(NAMESPACE).unwrap())
        .await
        .unwrap()
        .shared_config(ConfigKey::from_file(key).unwrap())
}

fn store_url(server: &RedisServer) -> String {
    format!("{}#{NAMESPACE}", server.url())
}

/// `tfa-admin config publish --store STORE --key-file KEY FILE`.
fn publish(store: &str, key: &Path, file: &Path) -> std::process::Output {
    tfa_admin(
        &[
            "config",
            "publish",
            "--store",
            store,
            "--key-file",
            key.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        "",
    )
}

/// A key file made by the binary.
fn new_key(path: &Path) {
    let output = tfa_admin(&["config", "key", "new", path.to_str().unwrap()], "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// A self-signed CA certificate made by `openssl`, in PEM.
fn root_certificate(dir: &Path) -> std::path::PathBuf {
    let pem = dir.join("root.pem");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj"])
        .arg("/CN=Config Test Root")
        .arg("-keyout")
        .arg(dir.join("root.key"))
        .arg("-out")
        .arg(&pem)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    pem
}

/// A portal-style file in `dir` (agent mode, a trust root, a ring timeout of 42 s, tables
/// that are not published), with `extra` appended to `[phonefactor.agent]`.
fn portal_file(dir: &Path, extra: &str) -> std::path::PathBuf {
    root_certificate(dir);
    std::fs::write(dir.join("agent.password"), format!("{AGENT_PASSWORD}\n")).unwrap();
    let path = dir.join("portal.toml");
    std::fs::write(
        &path,
        format!(
            r#"listen = "127.0.0.1:8080"
audit_log = "audit.jsonl"

[phonefactor]
mode = "agent"
[phonefactor.agent]
url = "https://mfa.example/MultiFactorAuthWebServiceSdk/PfWsSdk.asmx"
username = 'EXAMPLE\pfsdk'
password_file = "agent.password"
trust_roots = ["root.pem"]
{extra}

[first_factor]
backend = "local"
path = "users.json"

[policy.machine]
ring_timeout = 42
"#
        ),
    )
    .unwrap();
    path
}

#[test]
fn config_key_new_writes_a_private_key_and_never_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("config.key");
    new_key(&key);
    ConfigKey::from_file(&key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&key).unwrap();
    let output = tfa_admin(&["config", "key", "new", key.to_str().unwrap()], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("never overwritten"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

#[test]
fn a_portal_file_is_published_and_shown_with_its_secret_masked() {
    let server = RedisServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("config.key");
    new_key(&key);
    let file = portal_file(dir.path(), "");
    let url = store_url(&server);
    let args = ["--store", &url, "--key-file", key.to_str().unwrap()];

    let output = publish(&url, &key, &file);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout_lines(&output),
        [format!("published configuration version 1 to {url}")]
    );

    // What the nodes read: the policy, the account, the secret and the root.
    let config = runtime()
        .block_on(async { shared(&server, &key).await.load().await })
        .unwrap();
    assert_eq!(config.version(), 1);
    assert_eq!(
        config.document().policy().machine.ring_timeout,
        std::time::Duration::from_secs(42)
    );
    let SecondFactorConfig::Agent(agent) = config.document().second_factor() else {
        panic!("not agent mode: {config:?}");
    };
    assert_eq!(agent.username(), r"EXAMPLE\pfsdk");
    assert_eq!(agent.trust_roots_pem().len(), 1);
    assert!(agent.trust_roots_pem()[0].starts_with("-----BEGIN CERTIFICATE-----"));
    config.build_second_factor().unwrap();

    // Publishing again counts up.
    let output = publish(&url, &key, &file);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let mut show = vec!["config", "show"];
    show.extend_from_slice(&args);
    let output = tfa_admin(&show, "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(!text.contains(AGENT_PASSWORD), "{text}");
    assert!(!stderr(&output).contains(AGENT_PASSWORD));
    let shown: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["version"], 2);
    assert_eq!(shown["second_factor"]["password"], "********");
    assert_eq!(shown["second_factor"]["username"], r"EXAMPLE\pfsdk");
    assert_eq!(shown["second_factor"]["trust_roots"], 1);
    assert_eq!(
        shown["policy"]["machine"]["ring_timeout"].as_f64(),
        Some(42.0)
    );

    // Another key cannot open it.
    let other = dir.path().join("other.key");
    new_key(&other);
    let output = tfa_admin(
        &[
            "config",
            "show",
            "--store",
            &url,
            "--key-file",
            other.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("wrong configuration key"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_files_are_refused_by_name_and_nothing_is_published() {
    let server = RedisServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("config.key");
    new_key(&key);
    let url = store_url(&server);
    let refused = |file: &Path, names: &[&str]| {
        let output = publish(&url, &key, file);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let err = stderr(&output);
        for name in names {
            assert!(err.contains(name), "{name} not in: {err}");
        }
        assert!(!err.contains(AGENT_PASSWORD), "{err}");
    };

    // A pin the shared document cannot carry is refused, not dropped.
    let file = portal_file(dir.path(), "pinned_certificates = [\"sha256:00\"]");
    refused(
        &file,
        &["portal.toml", "phonefactor.agent.pinned_certificates"],
    );

    // The password file is missing.
    let file = portal_file(dir.path(), "");
    std::fs::remove_file(dir.path().join("agent.password")).unwrap();
    refused(
        &file,
        &["phonefactor.agent.password_file", "agent.password"],
    );

    // A trust root that is not a certificate.
    let file = portal_file(dir.path(), "");
    std::fs::write(dir.path().join("root.pem"), "not a certificate\n").unwrap();
    refused(&file, &["phonefactor.agent.trust_roots", "root.pem"]);

    // A policy that cannot work.
    let file = portal_file(dir.path(), "");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("ring_timeout = 42", "ring_timeout = 0");
    std::fs::write(&file, text).unwrap();
    refused(&file, &["policy", "ring_timeout"]);

    // An unknown key in [phonefactor].
    let file = portal_file(dir.path(), "pasword_file = \"x\"");
    refused(&file, &["pasword_file"]);

    let version = runtime()
        .block_on(async { shared(&server, &key).await.version().await })
        .unwrap();
    assert_eq!(version, None, "nothing was published");

    // A store that is not Redis is a usage error.
    let file = portal_file(dir.path(), "");
    let output = publish("tfa.json", &key, &file);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("redis://"), "{}", stderr(&output));
}

#[test]
fn the_simulators_direct_mode_file_is_published_with_paths_beside_it() {
    let server = RedisServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sim = crate::Sim::start(
        phonefactor_sim::Simulator::builder()
            .pki_dir(dir.path().join("simulator"))
            .without_agent(),
    );
    let key = dir.path().join("config.key");
    new_key(&key);
    // The simulator's direct-mode file as the portal's [phonefactor], beside it.
    let direct = std::fs::read_to_string(sim.handle.direct_config_path()).unwrap();
    let direct: toml::Table = toml::from_str(&direct).unwrap();
    let mut portal = toml::Table::new();
    portal.insert("phonefactor".into(), toml::Value::Table(direct));
    let file = sim
        .handle
        .direct_config_path()
        .with_file_name("portal.toml");
    std::fs::write(&file, toml::to_string(&portal).unwrap()).unwrap();
    let url = store_url(&server);
    let output = publish(&url, &key, &file);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let config = runtime()
        .block_on(async { shared(&server, &key).await.load().await })
        .unwrap();
    let SecondFactorConfig::Direct(direct) = config.document().second_factor() else {
        panic!("not direct mode: {config:?}");
    };
    assert!(
        direct.license_dir().join("license.xml").is_file(),
        "{}",
        direct.license_dir().display()
    );
    assert_eq!(direct.primary_endpoint(), Some(sim.handle.direct_url()));
    assert_eq!(direct.extra_roots_pem().len(), 1);
    // The license opens with the password read from the file the configuration names.
    config.build_second_factor().unwrap();
}
