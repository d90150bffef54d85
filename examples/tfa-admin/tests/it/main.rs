//! Integration tests of the `tfa-admin` binary, run as a process on real files.
#![allow(clippy::unwrap_used)] // a test that unwraps fails loudly, which is the point

mod agent_test;
mod ca_import;
mod call;
mod demo;
mod direct_check;
mod directory_check;
mod load;
mod phones_check;
mod shared_config;
mod users_import;
mod users_tfa;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use phonefactor_sim::{SimHandle, SimulatorBuilder};

/// Runs `tfa-admin` with `args`, feeding `stdin`.
pub(crate) fn tfa_admin(args: &[&str], stdin: &str) -> Output {
    tfa_admin_with_env(args, stdin, &[])
}

/// Runs `tfa-admin` with `args` and extra environment variables, feeding `stdin`.
pub(crate) fn tfa_admin_with_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfa-admin"))
        .args(args)
        .envs(env.iter().copied())
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

/// The standard error as text.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A simulator serving on its own runtime while a test runs the binary against it. Dropping
/// it stops the servers (the handle is dropped before the runtime).
pub(crate) struct Sim {
    pub(crate) handle: SimHandle,
    _runtime: tokio::runtime::Runtime,
}

impl Sim {
    /// Starts the simulator `builder` describes.
    pub(crate) fn start(builder: SimulatorBuilder) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handle = runtime.block_on(builder.start()).unwrap();
        Self {
            handle,
            _runtime: runtime,
        }
    }
}
