//! `tfa-admin ca import` on certificates made by the simulator and by `openssl`.

use std::path::{Path, PathBuf};
use std::process::Command;

use phonefactor_sim::Simulator;

use crate::{Sim, stderr, stdout_lines, tfa_admin};

fn import(store: &Path, extra: &[&str], files: &[&Path]) -> std::process::Output {
    let mut args = vec!["ca", "import", "--store", store.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    tfa_admin(&args, "")
}

fn stored(store: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(store)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn openssl(args: &[&str]) {
    let status = Command::new("openssl").args(args).status().unwrap();
    assert!(status.success(), "openssl {args:?}");
}

fn sim() -> Sim {
    Sim::start(Simulator::builder().without_agent().without_control())
}

#[test]
fn a_pem_ca_is_imported_once() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("trust");
    let output = import(&store, &[], &[sim.handle.ca_cert_path()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    assert!(lines[0].starts_with("imported: "), "{lines:?}");
    assert!(lines.iter().any(|l| l.trim_start().starts_with("subject:")));
    let files = stored(&store);
    assert_eq!(files.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap().trim(),
        sim.handle.ca_cert_pem().trim()
    );
    let again = import(&store, &[], &[sim.handle.ca_cert_path()]);
    assert_eq!(again.status.code(), Some(0));
    assert!(stdout_lines(&again)[0].starts_with("already present: "));
    assert_eq!(stored(&store), files);
}

#[test]
fn a_der_ca_is_stored_as_the_same_pem() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let der = dir.path().join("ca.der");
    let ca = sim.handle.ca_cert_path().to_str().unwrap().to_owned();
    openssl(&[
        "x509",
        "-in",
        &ca,
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let store = dir.path().join("trust");
    let output = import(&store, &[], &[&der]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let files = stored(&store);
    assert_eq!(files.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap().trim(),
        sim.handle.ca_cert_pem().trim()
    );
}

#[test]
fn garbage_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let store = dir.path().join("trust");
    let output = import(&store, &[], &[&garbage]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("garbage.pem"),
        "{}",
        stderr(&output)
    );
    assert!(stored(&store).is_empty());
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = import(
        &dir.path().join("trust"),
        &[],
        &[&dir.path().join("absent.pem")],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("absent.pem"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_leaf_issued_by_a_ca_is_refused_even_with_the_self_signed_flag() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let leaf = dir.path().join("client.pem");
    std::fs::write(&leaf, sim.handle.license().certificate_pem()).unwrap();
    let store = dir.path().join("trust");
    for extra in [&[][..], &["--allow-self-signed-leaf"][..]] {
        let output = import(&store, extra, &[&leaf]);
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).contains("import that CA's certificate instead"),
            "{}",
            stderr(&output)
        );
    }
    assert!(stored(&store).is_empty());
}

#[test]
fn a_self_signed_leaf_needs_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("agent.pem");
    let key = dir.path().join("agent.key");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=agent.example.test",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    let store = dir.path().join("trust");
    let refused = import(&store, &[], &[&cert]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("pass --allow-self-signed-leaf"),
        "{}",
        stderr(&refused)
    );
    assert!(stored(&store).is_empty());
    let accepted = import(&store, &["--allow-self-signed-leaf"], &[&cert]);
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));
    assert_eq!(stored(&store).len(), 1);
}
