//! Integration tests of the `tfa-admin` binary, run as a process on real files.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

mod directory_check;
mod phones_check;
mod users_import;

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `tfa-admin` with `args`, feeding `stdin`.
pub(crate) fn tfa_admin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfa-admin"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The standard output as lines.
pub(crate) fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}
