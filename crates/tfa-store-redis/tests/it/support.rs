//! One cluster per test: a real `redis-server`, the simulator in direct and agent mode, a
//! local user file; and nodes, each an `Authenticator` with its own Redis connection.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use phonefactor::{DirectClient, DirectCredentials};
use phonefactor_sim::{AgentDirectory, AgentUser, SimHandle, Simulator};
use secrecy::SecretString;
use tfa_directory::{HashParams, LocalDirectory, NewUser, Username};
use tfa_flow::{
    AuditKind, Authenticator, DenyReason, LoginId, MemoryAuditSink, PhoneCall, Policy, Progress,
    SecondFactor,
};
use tfa_phone::PhoneNumber;
use tfa_store_redis::{Namespace, RedisStores};
use tfa_test_support::redis::RedisServer;

pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const NS: &str = "it";

pub(crate) fn user(name: &str) -> Username {
    Username::new(name).unwrap()
}

pub(crate) fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

pub(crate) fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

pub(crate) fn ns() -> Namespace {
    Namespace::new(NS).unwrap()
}

/// Quick tests: no password floor, short timeouts, generous limits.
pub(crate) fn quick_policy() -> Policy {
    let mut policy = Policy::default();
    policy.password_floor = Duration::ZERO;
    policy.machine.ring_timeout = Duration::from_secs(5);
    policy.machine.login_timeout = Duration::from_secs(30);
    policy.calls.fatigue.base_delay = Duration::from_millis(1);
    policy.calls.fatigue.max_delay = Duration::from_millis(1);
    policy
}

/// A started redis-server (blocking while it starts).
pub(crate) async fn redis() -> RedisServer {
    tokio::task::spawn_blocking(|| RedisServer::start().unwrap())
        .await
        .unwrap()
}

/// A plain connection for looking at what the stores wrote.
pub(crate) async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

pub(crate) struct Cluster {
    pub(crate) redis: RedisServer,
    pub(crate) sim: SimHandle,
    users: PathBuf,
    _dir: tempfile::TempDir,
}

pub(crate) struct Node {
    pub(crate) auth: Authenticator,
    pub(crate) audit: Arc<MemoryAuditSink>,
    pub(crate) stores: RedisStores,
}

impl Cluster {
    pub(crate) async fn start() -> Self {
        let redis = redis().await;
        let sim = Simulator::builder()
            .default_ring_delay(Duration::from_millis(20))
            .agent_directory(
                AgentDirectory::new()
                    .user(AgentUser::standard("alice", "1", "9259249500"))
                    .user(AgentUser::standard("bob", "1", "9259249503")),
            )
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users.json");
        let store = LocalDirectory::open_or_create(&users, cheap_hash())
            .await
            .unwrap();
        for name in ["alice", "bob"] {
            store
                .add_user(NewUser::new(user(name), secret(PASSWORD)))
                .await
                .unwrap();
        }
        let cluster = Self {
            redis,
            sim,
            users,
            _dir: dir,
        };
        let stores = cluster.stores().await;
        for (name, number) in [("alice", "1 9259249500"), ("bob", "1 9259249503")] {
            stores
                .phone_book()
                .set_number(
                    &user(name),
                    Some(&PhoneNumber::parse_stored(number).unwrap()),
                )
                .await
                .unwrap();
        }
        cluster
    }

    /// Adds a user with the test password and `number` in the Redis phone book (before the
    /// nodes that should know the user are made).
    pub(crate) async fn add_user(&self, name: &str, number: &str) {
        LocalDirectory::open_or_create(&self.users, cheap_hash())
            .await
            .unwrap()
            .add_user(NewUser::new(user(name), secret(PASSWORD)))
            .await
            .unwrap();
        self.stores()
            .await
            .phone_book()
            .set_number(
                &user(name),
                Some(&PhoneNumber::parse_stored(number).unwrap()),
            )
            .await
            .unwrap();
    }

    pub(crate) async fn stores(&self) -> RedisStores {
        RedisStores::connect(&self.redis.url(), ns()).await.unwrap()
    }

    /// The direct-mode client, over mutual TLS to the simulator.
    pub(crate) fn direct(&self) -> Arc<dyn SecondFactor> {
        let sim = &self.sim;
        let credentials =
            DirectCredentials::from_license_dir(sim.license_dir(), sim.pkcs12_password()).unwrap();
        let client = DirectClient::builder(credentials)
            .primary_url(sim.direct_url())
            .no_backup()
            .system_roots(false)
            .add_root_certificate_file(sim.ca_cert_path())
            .connect_timeout(Duration::from_secs(2))
            .handshake_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        Arc::new(PhoneCall::direct(Arc::new(client)))
    }

    /// A node in direct mode: its own connection, the numbers from the Redis phone book.
    pub(crate) async fn node(&self, policy: Policy) -> Node {
        self.node_with(policy, self.direct()).await
    }

    pub(crate) async fn node_with(&self, policy: Policy, factor: Arc<dyn SecondFactor>) -> Node {
        let users = LocalDirectory::open_or_create(&self.users, cheap_hash())
            .await
            .unwrap();
        let stores = self.stores().await;
        let audit = Arc::new(MemoryAuditSink::new());
        let auth = stores
            .attach_with_phone_book(Authenticator::builder(Arc::new(users), factor))
            .policy(policy)
            .audit_sink(audit.clone())
            .build()
            .unwrap();
        Node {
            auth,
            audit,
            stores,
        }
    }
}

fn cheap_hash() -> HashParams {
    HashParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    }
}

impl Node {
    pub(crate) async fn login(
        &self,
        name: &str,
        password: &str,
        source: IpAddr,
    ) -> (LoginId, Progress) {
        let id = self.auth.begin(name, source).await.unwrap();
        let progress = self
            .auth
            .submit_password(id, secret(password))
            .await
            .unwrap();
        (id, progress)
    }

    pub(crate) async fn full_login(&self, name: &str, password: &str, source: IpAddr) -> Progress {
        let (id, progress) = self.login(name, password, source).await;
        match progress {
            Progress::Calling { .. } => self.auth.second_factor(id).await.unwrap(),
            other => other,
        }
    }

    /// The denial reasons audited for `id`.
    pub(crate) fn denials_of(&self, id: LoginId) -> Vec<DenyReason> {
        self.audit
            .events()
            .into_iter()
            .filter(|e| e.login == Some(id))
            .filter_map(|e| match e.kind {
                AuditKind::Denied { reason } => Some(reason),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn last_denial(&self) -> Option<DenyReason> {
        self.audit
            .events()
            .into_iter()
            .rev()
            .find_map(|e| match e.kind {
                AuditKind::Denied { reason } => Some(reason),
                _ => None,
            })
    }
}

/// Polls `login` on `node` until it is past its call (store errors while Redis is away are
/// retried), for at most `limit`.
pub(crate) async fn settle(node: &Node, login: LoginId, limit: Duration) -> Progress {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match node.auth.poll(login).await {
            Ok(Progress::Calling { .. }) | Ok(Progress::CheckingPassword) | Err(_)
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Ok(progress) => return progress,
            Err(error) => panic!("login {login} unreadable after {limit:?}: {error}"),
        }
    }
}
