//! Two portal nodes on one real `redis-server` and one simulator (direct mode): a browser
//! moves between them at every request, as behind a load balancer without affinity.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use login_portal::{PortalConfig, PortalHandle};
use phonefactor_sim::{Scenario, SimHandle, Simulator};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, StatusCode};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use tfa_directory::{HashParams, LocalDirectory, NewUser, Username};
use tfa_phone::PhoneNumber;
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

async fn cluster() -> Cluster {
    let redis = tokio::task::spawn_blocking(|| RedisServer::start().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::builder()
        .pki_dir(dir.path().join("simulator"))
        .manual_ring_time(Duration::from_secs(30))
        .without_agent()
        .start()
        .await
        .unwrap();
    sim.script_user("dora", Scenario::Manual);
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
    std::fs::write(home.join("portal.toml"), text).unwrap();
    let config = PortalConfig::from_file(&home.join("portal.toml")).unwrap();
    let stores = login_portal::open_stores(&format!("{}#{NAMESPACE}", redis.url()))
        .await
        .unwrap();
    login_portal::serve(config, stores).await.unwrap()
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
