//! Password verifications per second: LDAP against a real slapd with pooled connections
//! versus a new connection per login, and the local store's argon2id at default parameters.
//!
//! `cargo bench -p tfa-directory --bench verify -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use secrecy::SecretString;
use tfa_directory::{
    BindConfig, FirstFactor, HashParams, LdapConfig, LdapDirectory, LocalDirectory, NewUser,
    Username,
};
use tfa_test_support::slapd::{self, Slapd};

fn ldap_config(url: String) -> LdapConfig {
    LdapConfig::new(
        url,
        slapd::PEOPLE_DN,
        BindConfig::service_account(
            slapd::SERVICE_DN,
            SecretString::from(slapd::SERVICE_PASSWORD),
        ),
    )
}

fn ldap(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let server = Slapd::shared();
    let alice = Username::new(slapd::ALICE.uid).expect("a valid username");
    let password = SecretString::from(slapd::ALICE.password);
    let mut group = c.benchmark_group("ldap_verify");
    group.throughput(Throughput::Elements(1));

    let plain = || ldap_config(server.ldap_url());
    let ldaps = || ldap_config(server.ldaps_url()).add_ca_file(server.ca_file());
    let configs: [(&str, &dyn Fn() -> LdapConfig); 2] = [("ldap", &plain), ("ldaps", &ldaps)];
    let (alice, password) = (&alice, &password);
    for (scheme, config) in configs {
        let pooled = LdapDirectory::new(config()).expect("valid settings");
        group.bench_function(format!("{scheme}/reused_connections"), |b| {
            b.to_async(&runtime).iter(|| async {
                let identity = pooled.verify(alice, password).await;
                black_box(identity.expect("alice verifies"));
            });
        });
        // A fresh directory per login has empty pools: every login opens its own
        // connections. Building it (reading the system's roots) is setup, not measured.
        group.bench_function(format!("{scheme}/new_connection_per_login"), |b| {
            b.to_async(&runtime).iter_batched(
                || LdapDirectory::new(config()).expect("valid settings"),
                |fresh| async move {
                    let identity = fresh.verify(alice, password).await;
                    black_box(identity.expect("alice verifies"));
                    fresh
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn local(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let alice = Username::new("alice").expect("a valid username");
    let password = SecretString::from("correct horse battery staple");
    let store = runtime.block_on(async {
        let store =
            LocalDirectory::open_or_create(dir.path().join("users.json"), HashParams::default())
                .await
                .expect("a store");
        store
            .add_user(NewUser::new(alice.clone(), password.clone()))
            .await
            .expect("alice added");
        store
    });
    let mut group = c.benchmark_group("local_argon2id_default_params");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify_known_user", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                store
                    .verify(&alice, &password)
                    .await
                    .expect("alice verifies"),
            );
        });
    });
    let nobody = Username::new("nobody").expect("a valid username");
    group.bench_function("verify_unknown_user", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(store.verify(&nobody, &password).await.is_err());
        });
    });
    group.finish();
}

criterion_group!(benches, ldap, local);
criterion_main!(benches);
