//! A real `redis-server` on 127.0.0.1, one per caller, with its data in a temporary
//! directory (append-only file, synced on every write, so that a restart keeps the data).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::time::Duration;

use crate::daemon::{self, Daemon};

/// A running `redis-server`, stopped when dropped. [`RedisServer::stop`] and
/// [`RedisServer::restart`] take it down and bring it back on the same port with the same
/// data, to test what clients do meanwhile.
#[derive(Debug)]
pub struct RedisServer {
    daemon: Option<Daemon>,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server of the caller's own on a free port.
    pub fn start() -> std::io::Result<Self> {
        let mut last_error = None;
        // A free port can be taken by someone else between choosing and binding: retry.
        for _ in 0..3 {
            let dir = tempfile::tempdir()?;
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                .local_addr()?
                .port();
            let mut server = Self {
                daemon: None,
                port,
                dir,
            };
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("redis-server did not start")))
    }

    fn launch(&mut self) -> std::io::Result<()> {
        let dir = self.dir.path();
        let args: Vec<String> = [
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir.display().to_string(),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            "",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let mut daemon = Daemon::spawn(
            "redis-server",
            Daemon::watched_shell(redis_program(), &args),
            &dir.join("redis.log"),
        )?;
        daemon::wait_for_port(
            &mut daemon,
            SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            Duration::from_secs(15),
        )?;
        self.daemon = Some(daemon);
        Ok(())
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server now: connections break, new ones are refused.
    pub fn stop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop();
        }
    }

    /// Starts the server again on the same port with the same data (stopping it first if
    /// it runs).
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        self.launch()
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        self.daemon
            .as_ref()
            .map(Daemon::log)
            .unwrap_or_else(|| "redis-server is stopped".into())
    }
}

fn redis_program() -> &'static str {
    if Path::new("/usr/bin/redis-server").exists() {
        "/usr/bin/redis-server"
    } else {
        "redis-server"
    }
}
