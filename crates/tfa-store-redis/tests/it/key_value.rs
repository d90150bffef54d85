//! The expiring key-value map an application keeps its own records in.

use std::time::Duration;

use tfa_store_redis::{Namespace, RedisStoreError, RedisStores};

use crate::support::{raw, redis};

const TTL: Duration = Duration::from_secs(60);

async fn pttl(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

#[tokio::test]
async fn values_live_under_the_namespace_and_expire_unless_used() {
    let server = redis().await;
    let stores = RedisStores::connect(&server.url(), Namespace::new("kv").unwrap())
        .await
        .unwrap();
    let map = stores.key_value("app-record");
    assert_eq!(map.key("abc"), "kv:app-record:abc");
    let mut conn = raw(&server).await;

    assert!(
        map.create("abc", "one", Duration::from_millis(300))
            .await
            .unwrap()
    );
    assert!(
        !map.create("abc", "two", TTL).await.unwrap(),
        "a taken name stays"
    );
    assert!(pttl(&mut conn, "kv:app-record:abc").await <= 300);
    // Reading renews the time to live.
    assert_eq!(
        map.get_and_touch("abc", TTL).await.unwrap().as_deref(),
        Some("one")
    );
    assert!(pttl(&mut conn, "kv:app-record:abc").await > 30_000);

    assert!(map.update("abc", "three", TTL).await.unwrap());
    assert_eq!(
        map.get_and_touch("abc", TTL).await.unwrap().as_deref(),
        Some("three")
    );
    assert!(map.delete("abc").await.unwrap());
    assert!(
        !map.update("abc", "four", TTL).await.unwrap(),
        "not brought back"
    );
    assert_eq!(map.get_and_touch("abc", TTL).await.unwrap(), None);

    map.create("short", "x", Duration::from_millis(50))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(map.get_and_touch("short", TTL).await.unwrap(), None);
}

#[tokio::test]
async fn replacing_moves_a_value_only_while_the_old_name_lives() {
    let server = redis().await;
    let stores = RedisStores::connect(&server.url(), Namespace::new("kv").unwrap())
        .await
        .unwrap();
    let map = stores.key_value("app-record");
    map.create("old", "before", TTL).await.unwrap();
    assert!(map.replace("old", "new", "after", TTL).await.unwrap());
    assert_eq!(map.get_and_touch("old", TTL).await.unwrap(), None);
    assert_eq!(
        map.get_and_touch("new", TTL).await.unwrap().as_deref(),
        Some("after")
    );
    // The old name is gone: a second replace does nothing.
    assert!(!map.replace("old", "newer", "again", TTL).await.unwrap());
    assert_eq!(map.get_and_touch("newer", TTL).await.unwrap(), None);
}

#[tokio::test]
async fn a_stopped_redis_fails_each_operation_by_name() {
    let mut server = redis().await;
    let stores = RedisStores::connect(&server.url(), Namespace::new("kv").unwrap())
        .await
        .unwrap();
    let map = stores.key_value("app-record");
    map.create("abc", "one", TTL).await.unwrap();
    server.stop();
    let error = map.get_and_touch("abc", TTL).await.unwrap_err();
    assert!(
        matches!(error, RedisStoreError::Command { .. }),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "redis key-value read failed");
    let error = map.replace("abc", "def", "two", TTL).await.unwrap_err();
    assert_eq!(error.to_string(), "redis key-value replace failed");
}
