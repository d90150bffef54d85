//! A server process that cannot outlive the test process.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// A child server process holding the read end of a pipe from the test process. The server
/// (or a shell wrapped around it) stops when the pipe closes: on [`Daemon::stop`], on drop,
/// or when the test process exits for any reason.
#[derive(Debug)]
pub struct Daemon {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    log: PathBuf,
}

impl Daemon {
    /// Starts `command` with its standard input a pipe from this process and its output
    /// appended to `log`. The command must stop at end of input: Samba's `-i` does; for other
    /// servers use [`Daemon::watched_shell`].
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> std::io::Result<Self> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let err = out.try_clone()?;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot start {name}: {e} (is it installed? run scripts/test.sh)"),
                )
            })?;
        let stdin = child.stdin.take();
        Ok(Self {
            name: name.to_owned(),
            child,
            stdin,
            log: log.to_owned(),
        })
    }

    /// A shell command that runs `program args...` in the background and kills it when its
    /// own standard input ends, for servers that do not watch their input themselves.
    pub fn watched_shell(program: &str, args: &[String]) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#""$@" & pid=$!; read -r _ignored; kill "$pid" 2>/dev/null; wait "$pid""#)
            .arg("sh")
            .arg(program)
            .args(args);
        command
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The server's output so far, for failure messages.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        format!("--- {} log {} ---\n{text}", self.name, self.log.display())
    }

    /// Stops the server and waits for it (killing it if it has not stopped in 10 s).
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !self.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until `addr` accepts TCP connections, for at most `timeout`; fails early with the
/// log if the daemon dies.
pub fn wait_for_port(
    daemon: &mut Daemon,
    addr: std::net::SocketAddr,
    timeout: Duration,
) -> std::io::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if !daemon.is_running() {
            return Err(std::io::Error::other(format!(
                "{} exited before listening on {addr}\n{}",
                daemon.name,
                daemon.log()
            )));
        }
        if Instant::now() > deadline {
            return Err(std::io::Error::other(format!(
                "{} not listening on {addr} after {timeout:?}\n{}",
                daemon.name,
                daemon.log()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a setup command to completion; its output goes into the error if it fails.
pub fn run(command: &mut Command) -> std::io::Result<String> {
    let output = command.output().map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot run {command:?}: {e} (is it installed? run scripts/test.sh)"),
        )
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(std::io::Error::other(format!(
            "{command:?} failed with {}\nstdout:\n{stdout}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
