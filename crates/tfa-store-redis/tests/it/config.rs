//! The shared configuration: published on one node, in force on the other without a
//! restart; secrets sealed, and a node with another key refusing them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;
use secrecy::SecretString;
use tfa_flow::{
    Enforcement, FactorError, FactorOutcome, FactorRequest, NumberNeed, Policy, Progress,
    SecondFactor, SecondFactorStatus,
};
use tfa_store_redis::{
    AgentSettings, ConfigDocument, ConfigKey, RedisStoreError, SecondFactorConfig,
};

use crate::support::*;

/// The factor a node starts with before any configuration is in force: nobody gets in.
#[derive(Debug)]
struct NotConfigured;

#[async_trait]
impl SecondFactor for NotConfigured {
    fn name(&self) -> &str {
        "not-configured"
    }
    fn number_need(&self) -> NumberNeed {
        NumberNeed::Optional
    }
    async fn verify(&self, _: &FactorRequest) -> Result<FactorOutcome, FactorError> {
        Err(FactorError::Unavailable {
            service: "not configured".into(),
            source: "no configuration in force".into(),
        })
    }
}

fn agent_document(cluster: &Cluster, policy: Policy) -> ConfigDocument {
    let sim = &cluster.sim;
    let account = sim.agent_account().unwrap();
    let agent = AgentSettings::new(
        sim.agent_url().unwrap(),
        account.name(),
        account.password().clone(),
    )
    .trust_root_pem(sim.agent_trust_pem().unwrap())
    .system_roots(false);
    ConfigDocument::new(policy, SecondFactorConfig::Agent(agent))
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_published_on_one_node_is_in_force_on_the_other_without_a_restart() {
    let cluster = Cluster::start().await;
    let key = ConfigKey::generate().unwrap();
    let nothing = Arc::new(NotConfigured) as Arc<dyn SecondFactor>;
    let a = cluster.node_with(quick_policy(), nothing.clone()).await;
    let b = cluster.node_with(quick_policy(), nothing).await;
    let config_a = a
        .stores
        .shared_config(key.clone())
        .poll_every(Duration::from_millis(100));
    let config_b = b
        .stores
        .shared_config(key)
        .poll_every(Duration::from_millis(100));
    let _following = config_b.follow(b.auth.clone());

    // Before any configuration: the phone service is "unavailable", nobody gets in.
    assert!(matches!(
        b.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Denied { .. }
    ));

    // A publishes agent mode (URL, sealed credentials, imported root) and a policy.
    let mut v1 = quick_policy();
    v1.result_ttl = Duration::from_secs(61);
    assert_eq!(
        config_a
            .publish(&agent_document(&cluster, v1.clone()))
            .await
            .unwrap(),
        1
    );
    eventually("version 1 on B", || *b.auth.policy() == v1).await;
    assert!(matches!(
        b.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));
    let calls = cluster.sim.calls();
    assert_eq!(
        (calls.len(), calls[0].username.as_str()),
        (1, "alice"),
        "an agent-mode call"
    );

    // A turns TFA off by default: B lets alice in on her password alone.
    let mut v2 = v1.clone();
    v2.enforcement.default = Enforcement::NotEnforced;
    assert_eq!(
        config_a
            .publish(&agent_document(&cluster, v2.clone()))
            .await
            .unwrap(),
        2
    );
    eventually("version 2 on B", || *b.auth.policy() == v2).await;
    let Progress::Authenticated(session) = b.full_login("alice", PASSWORD, ip(1)).await else {
        panic!("TFA is off by default now")
    };
    assert!(matches!(
        session.second_factor(),
        SecondFactorStatus::NotEnforced
    ));
    assert_eq!(cluster.sim.calls().len(), 1, "no call with TFA off");
    cluster.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_sealed_and_a_node_with_another_key_refuses_them() {
    let cluster = Cluster::start().await;
    let key = ConfigKey::generate().unwrap();
    let stores = cluster.stores().await;
    let config = stores.shared_config(key.clone());
    assert!(matches!(
        config.load().await,
        Err(RedisStoreError::NoConfig { .. })
    ));
    let document = agent_document(&cluster, quick_policy());
    config.publish(&document).await.unwrap();

    let mut raw = raw(&cluster.redis).await;
    let stored: String = raw
        .hget(format!("{NS}:config:current"), "doc")
        .await
        .unwrap();
    let password = cluster.sim.agent_account().unwrap().password().clone();
    assert!(!stored.contains(secrecy::ExposeSecret::expose_secret(&password)));
    assert!(stored.contains("sealed-v1:"), "{stored}");

    let loaded = config.load().await.unwrap();
    assert_eq!(
        (loaded.version(), loaded.document().policy()),
        (1, &quick_policy())
    );

    // Another key: a clear error naming the field, never the plain text.
    let stranger = stores.shared_config(ConfigKey::generate().unwrap());
    let error = stranger.load().await.unwrap_err();
    assert!(
        matches!(
            error,
            RedisStoreError::WrongKey {
                field: "agent.password",
                version: 1
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("wrong configuration key"),
        "{error}"
    );

    // A node following with the wrong key keeps what it has.
    let node = cluster.node(quick_policy()).await;
    let _following = stranger
        .poll_every(Duration::from_millis(50))
        .follow(node.auth.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(*node.auth.policy(), quick_policy());
    assert!(matches!(
        node.full_login("alice", PASSWORD, ip(1)).await,
        Progress::Authenticated(_)
    ));

    // A bad document is refused before it reaches any node.
    let mut bad = quick_policy();
    bad.machine.ring_timeout = Duration::ZERO;
    let error = config
        .publish(&agent_document(&cluster, bad))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            RedisStoreError::ConfigInvalid {
                field: "policy",
                ..
            }
        ),
        "{error}"
    );
    let not_pem = ConfigDocument::new(
        quick_policy(),
        SecondFactorConfig::Agent(
            AgentSettings::new("https://127.0.0.1:1/", r"X\y", SecretString::from("p"))
                .trust_root_pem("not a certificate"),
        ),
    );
    assert!(matches!(
        config.publish(&not_pem).await,
        Err(RedisStoreError::ConfigInvalid {
            field: "agent.trust_roots_pem",
            ..
        })
    ));
    assert_eq!(config.version().await.unwrap(), Some(1));
    cluster.sim.shutdown().await;
}
