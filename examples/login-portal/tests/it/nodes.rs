//! Two portal nodes on one real `redis-server` and one simulator (direct mode): a browser
//! moves between them at every request, as behind a load balancer without affinity.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use login_portal::{PortalConfig, PortalError, PortalHandle};
use phonefactor_sim::{Scenario, SimHandle, Simulator};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tfa_directory::{HashParams, LocalDirectory, NewUser, Username};
use tfa_flow::{Enforcement, Policy};
use tfa_phone::PhoneNumber;
use tfa_store_redis::{ConfigDocument, ConfigKey, DirectSettings, SecondFactorConfig};
use tfa_test_support::redis::RedisServer;

use crate::support::{Events, cookieless, csrf, location};

const PASSWORD: &str = "correct horse battery staple";
const NAMESPACE: &str = "nodes";

/// A redis-server, a simulator whose phones wait to be answered, and two portals on both.
struct Cluster {
    redis: RedisServer,
    sim: SimHandle,
    a: PortalHandle,
    b: PortalHandle,
    _dir: tempfile::TempDir,
}

/// A `redis-server` of the test's own.
async fn redis_server() -> RedisServer {
    tokio::task::spawn_blocking(|| RedisServer::start().unwrap())
        .await
        .unwrap()
}

/// The direct-mode simulator, its PKI under `dir`, where dora's phone rings until the test
/// answers it (30 s at most).
async fn simulator(dir: &Path) -> SimHandle {
    let sim = Simulator::builder()
        .pki_dir(dir.join("simulator"))
        .manual_ring_time(Duration::from_secs(30))
        .without_agent()
        .start()
        .await
        .unwrap();
    sim.script_user("dora", Scenario::Manual);
    sim
}

async fn cluster() -> Cluster {
    let redis = redis_server().await;
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(dir.path()).await;
    let a = node(&dir.path().join("a"), &sim, &redis).await;
    let b = node(&dir.path().join("b"), &sim, &redis).await;
    Cluster {
        redis,
        sim,
        a,
        b,
        _dir: dir,
    }
}

/// A portal with its own configuration, users file and audit file in `home`, on the
/// cluster's Redis.
async fn node(home: &Path, sim: &SimHandle, redis: &RedisServer) -> PortalHandle {
    node_with(home, sim, &format!("{}#{NAMESPACE}", redis.url()), "")
        .await
        .unwrap()
}

/// A portal as [`node`] makes it, on the store `store`, with `extra` appended to its
/// configuration file.
async fn node_with(
    home: &Path,
    sim: &SimHandle,
    store: &str,
    extra: &str,
) -> Result<PortalHandle, PortalError> {
    std::fs::create_dir_all(home).unwrap();
    let users = LocalDirectory::open_or_create(home.join("users.json"), HashParams::default())
        .await
        .unwrap();
    users
        .add_user(
            NewUser::new(Username::new("dora").unwrap(), SecretString::from(PASSWORD))
                .phone(PhoneNumber::parse_stored("1 9259249500").unwrap()),
        )
        .await
        .unwrap();
    let direct: toml::Table =
        toml::from_str(&std::fs::read_to_string(sim.direct_config_path()).unwrap()).unwrap();
    let mut text = String::from("listen = \"127.0.0.1:0\"\naudit_log = \"audit.jsonl\"\n");
    let mut sections = toml::Table::new();
    sections.insert("phonefactor".into(), toml::Value::Table(direct));
    let first_factor: toml::Table =
        toml::from_str("backend = \"local\"\npath = \"users.json\"").unwrap();
    sections.insert("first_factor".into(), toml::Value::Table(first_factor));
    // Plain HTTP on loopback: a Secure cookie would never come back.
    let cookie: toml::Table = toml::from_str("secure = false").unwrap();
    sections.insert("cookie".into(), toml::Value::Table(cookie));
    text.push_str(&toml::to_string(&sections).unwrap());
    text.push_str(extra);
    std::fs::write(home.join("portal.toml"), text).unwrap();
    let config = PortalConfig::from_file(&home.join("portal.toml")).unwrap();
    let stores = login_portal::open_stores(store).await.unwrap();
    login_portal::serve(config, stores).await
}

/// A browser: one cookie jar for both nodes (cookies do not depend on the port), redirects
/// not followed.
fn browser() -> (Client, Arc<Jar>) {
    // Installs the crypto provider as the other clients do.
    drop(cookieless());
    let jar = Arc::new(Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    (client, jar)
}

/// The `name=value` the jar sends to `portal`.
fn cookie_for(jar: &Jar, portal: &PortalHandle) -> String {
    let header = jar.cookies(&portal.url().parse().unwrap()).unwrap();
    header.to_str().unwrap().to_owned()
}

async fn get(client: &Client, portal: &PortalHandle, path: &str) -> reqwest::Response {
    client
        .get(format!("{}{}", portal.url(), &path[1..]))
        .send()
        .await
        .unwrap()
}

async fn post(
    client: &Client,
    portal: &PortalHandle,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(format!("{}{}", portal.url(), &path[1..]))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// The username on node A, the password on node B; returns B's answer to the password.
async fn username_on_a_password_on_b(cluster: &Cluster, client: &Client) -> reqwest::Response {
    let start = get(client, &cluster.a, "/").await;
    assert_eq!(start.status(), StatusCode::OK);
    let token = csrf(&start.text().await.unwrap());
    let step = post(
        client,
        &cluster.a,
        "/username",
        &[("csrf", &token), ("username", "dora")],
    )
    .await;
    assert_eq!(location(&step), "/password");
    let page = get(client, &cluster.b, "/password").await;
    assert_eq!(page.status(), StatusCode::OK, "node B knows the session");
    let token = csrf(&page.text().await.unwrap());
    post(
        client,
        &cluster.b,
        "/password",
        &[("csrf", &token), ("password", PASSWORD)],
    )
    .await
}

/// Answers dora's ringing phone with `#` through the simulator.
async fn answer(sim: &SimHandle) {
    for _ in 0..400 {
        if let Some(call) = sim.ringing().into_iter().find(|c| c.username == "dora") {
            sim.answer(call.id, Scenario::Pound).unwrap();
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("dora's phone never rang");
}

/// Signs dora in across both nodes, following the call on A while it rings from B; returns
/// once node B shows her signed in.
async fn sign_in_across(cluster: &Cluster, client: &Client) {
    let placed = username_on_a_password_on_b(cluster, client).await;
    assert_eq!(placed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&placed), "/call");

    // Node A serves the call's events though node B placed the call.
    let mut events = Events::open(client, cluster.a.url()).await;
    assert_eq!(events.next_state().await.as_deref(), Some("ringing"));
    answer(&cluster.sim).await;
    let rest = events.rest().await;
    assert_eq!(
        rest.last().map(String::as_str),
        Some("approved"),
        "{rest:?}"
    );

    let finished = get(client, &cluster.a, "/call").await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&finished), "/signed-in");
    let page = get(client, &cluster.b, "/signed-in").await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("<strong>dora</strong>"), "{page}");
}

async fn raw_redis(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn session_keys(redis: &RedisServer) -> Vec<String> {
    let mut conn = raw_redis(redis).await;
    redis::cmd("KEYS")
        .arg(format!("{NAMESPACE}:portal-session:*"))
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_login_begun_on_one_node_is_finished_and_signed_in_on_the_other() {
    let cluster = cluster().await;
    let (client, jar) = browser();
    sign_in_across(&cluster, &client).await;
    // Node A shows the same signed-in session.
    let page = get(&client, &cluster.a, "/signed-in").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(cluster.sim.calls().len(), 1, "one call for the login");

    // Redis holds one session, keyed by the SHA-256 of the cookie value, never the value,
    // expiring by itself, with no password in it.
    let cookie = cookie_for(&jar, &cluster.a);
    let id = cookie.split_once('=').unwrap().1;
    let digest: String = Sha256::digest(id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let keys = session_keys(&cluster.redis).await;
    assert_eq!(keys, [format!("{NAMESPACE}:portal-session:{digest}")]);
    let mut conn = raw_redis(&cluster.redis).await;
    let value: String = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!value.contains(id) && !value.contains(PASSWORD), "{value}");
    assert!(
        value.contains("\"signed-in\"") && value.contains("dora"),
        "{value}"
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 900_000, "{ttl}");

    cluster.a.shutdown().await;
    cluster.b.shutdown().await;
}

#[tokio::test]
async fn signing_out_on_one_node_ends_the_session_on_the_other() {
    let cluster = cluster().await;
    let (client, jar) = browser();
    sign_in_across(&cluster, &client).await;
    let cookie = cookie_for(&jar, &cluster.b);
    let page = get(&client, &cluster.b, "/signed-in").await;
    let token = csrf(&page.text().await.unwrap());

    let out = post(&client, &cluster.a, "/sign-out", &[("csrf", &token)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/");

    // The old cookie, replayed on node B, names nothing any more.
    let replayed = cookieless()
        .get(format!("{}signed-in", cluster.b.url()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replayed), "/");
    assert!(session_keys(&cluster.redis).await.is_empty());

    cluster.a.shutdown().await;
    cluster.b.shutdown().await;
}

#[tokio::test]
async fn redis_stopped_mid_session_gives_the_unavailable_page_and_nobody_signs_in() {
    let mut cluster = cluster().await;
    let (client, _jar) = browser();
    let start = get(&client, &cluster.a, "/").await;
    let token = csrf(&start.text().await.unwrap());
    let step = post(
        &client,
        &cluster.a,
        "/username",
        &[("csrf", &token), ("username", "dora")],
    )
    .await;
    assert_eq!(location(&step), "/password");

    cluster.redis.stop();
    for (portal, path) in [(&cluster.b, "/password"), (&cluster.a, "/signed-in")] {
        let page = get(&client, portal, path).await;
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE, "GET {path}");
        assert!(page.text().await.unwrap().contains("id=\"login-failed\""));
    }
    let refused = post(
        &client,
        &cluster.b,
        "/password",
        &[("csrf", &token), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let fresh = get(&cookieless(), &cluster.a, "/").await;
    assert_eq!(
        fresh.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "no new sessions"
    );
    assert!(cluster.sim.calls().is_empty(), "no call placed");

    for portal in [&cluster.a, &cluster.b] {
        let audit = std::fs::read_to_string(portal.audit_log_path()).unwrap_or_default();
        assert!(!audit.contains("\"authenticated\""), "{audit}");
    }
    cluster.a.shutdown().await;
    cluster.b.shutdown().await;
}

/// `[shared_config]` with the key file one directory up from the node's home.
const SHARED: &str = "\n[shared_config]\nkey_file = \"../config.key\"\n";

/// Writes a new configuration key to `path`; the key.
fn write_key(path: &Path) -> ConfigKey {
    let key = ConfigKey::generate().unwrap();
    std::fs::write(path, key.to_base64().expose_secret()).unwrap();
    key
}

/// The simulator's direct mode as a shared document, with TFA not enforced by default: a
/// change a user sees (no call at all).
fn tfa_off_by_default(sim: &SimHandle) -> ConfigDocument {
    let mut policy = Policy::default();
    policy.enforcement.default = Enforcement::NotEnforced;
    let direct = DirectSettings::new(sim.license_dir(), sim.pkcs12_password().clone())
        .primary_url(sim.direct_url())
        .backup_url("")
        .extra_root_pem(sim.ca_cert_pem());
    ConfigDocument::new(policy, SecondFactorConfig::Direct(direct))
}

/// Where dora's username and password, both on `portal` in a new browser, lead.
async fn password_leads_to(portal: &PortalHandle) -> String {
    let (client, _) = browser();
    let start = get(&client, portal, "/").await;
    let token = csrf(&start.text().await.unwrap());
    let step = post(
        &client,
        portal,
        "/username",
        &[("csrf", &token), ("username", "dora")],
    )
    .await;
    assert_eq!(location(&step), "/password");
    let page = get(&client, portal, "/password").await;
    let token = csrf(&page.text().await.unwrap());
    let done = post(
        &client,
        portal,
        "/password",
        &[("csrf", &token), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    location(&done)
}

/// Asks `portal` until dora signs in on her password alone; panics after `deadline`.
async fn until_signed_in_without_a_call(portal: &PortalHandle, deadline: Duration) {
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        let went = password_leads_to(portal).await;
        if went == "/signed-in" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "the published change was not in force within {deadline:?}: the password led to {went}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_change_published_in_redis_is_in_force_on_running_nodes_without_a_restart() {
    let redis = redis_server().await;
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(dir.path()).await;
    let key = write_key(&dir.path().join("config.key"));
    let store = format!("{}#{NAMESPACE}", redis.url());
    let a = node_with(&dir.path().join("a"), &sim, &store, SHARED)
        .await
        .unwrap();
    let b = node_with(&dir.path().join("b"), &sim, &store, SHARED)
        .await
        .unwrap();

    // Nothing published yet: the files' settings are in force, and TFA is enforced.
    assert_eq!(password_leads_to(&b).await, "/call");

    let stores = tfa_store_redis::RedisStores::connect(
        &redis.url(),
        tfa_store_redis::Namespace::new(NAMESPACE).unwrap(),
    )
    .await
    .unwrap();
    let version = stores
        .shared_config(key)
        .publish(&tfa_off_by_default(&sim))
        .await
        .unwrap();
    assert_eq!(version, 1);

    // Both running nodes follow it within seconds, without a restart.
    until_signed_in_without_a_call(&b, Duration::from_secs(10)).await;
    until_signed_in_without_a_call(&a, Duration::from_secs(10)).await;

    // A node started now has it in force from its first request.
    let c = node_with(&dir.path().join("c"), &sim, &store, SHARED)
        .await
        .unwrap();
    assert_eq!(password_leads_to(&c).await, "/signed-in");

    for node in [a, b, c] {
        node.shutdown().await;
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_node_whose_key_cannot_open_the_published_configuration_refuses_to_start() {
    let redis = redis_server().await;
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(dir.path()).await;
    let stores = tfa_store_redis::RedisStores::connect(
        &redis.url(),
        tfa_store_redis::Namespace::new(NAMESPACE).unwrap(),
    )
    .await
    .unwrap();
    stores
        .shared_config(ConfigKey::generate().unwrap())
        .publish(&tfa_off_by_default(&sim))
        .await
        .unwrap();
    write_key(&dir.path().join("config.key"));
    let store = format!("{}#{NAMESPACE}", redis.url());
    let err = node_with(&dir.path().join("a"), &sim, &store, SHARED)
        .await
        .unwrap_err();
    assert!(matches!(err, PortalError::SharedConfig { .. }), "{err:?}");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        err.to_string().starts_with("[shared_config]") && cause.contains("wrong configuration key"),
        "{err}: {cause}"
    );

    // A missing key file is named.
    let missing = "\n[shared_config]\nkey_file = \"nowhere.key\"\n";
    let err = node_with(&dir.path().join("b"), &sim, &store, missing)
        .await
        .unwrap_err();
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("nowhere.key"), "{err}: {cause}");
    sim.shutdown().await;
}

#[tokio::test]
async fn shared_config_without_a_redis_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulator(dir.path()).await;
    write_key(&dir.path().join("config.key"));
    let err = node_with(&dir.path().join("a"), &sim, "memory", SHARED)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PortalError::SharedConfigNeedsRedis { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("[shared_config]") && text.contains("redis://"),
        "{text}"
    );
    sim.shutdown().await;
}
