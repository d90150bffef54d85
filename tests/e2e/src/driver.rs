//! Finding, starting and stopping ChromeDriver and the Chromium it starts, so that no process
//! outlives the test that started it.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::E2eError;

/// The environment variable that names the Chromium binary, when not `/usr/bin/chromium`.
pub const CHROMIUM_ENV: &str = "E2E_CHROMIUM";
/// The environment variable that names the ChromeDriver binary, when not
/// `/usr/bin/chromedriver`.
pub const CHROMEDRIVER_ENV: &str = "E2E_CHROMEDRIVER";

/// The flags Chromium runs with: headless, and nothing that reaches for the network on its
/// own (the sandbox refuses it, and tests should only talk to loopback). The temporary
/// `--user-data-dir` is added per browser.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1024,768",
];

const CHROMIUM_DEFAULT: &str = "/usr/bin/chromium";
const CHROMEDRIVER_DEFAULT: &str = "/usr/bin/chromedriver";
const READY_WITHIN: Duration = Duration::from_secs(20);

/// Where Chromium is, or how to install it.
pub(crate) fn chromium() -> Result<PathBuf, E2eError> {
    locate("chromium", CHROMIUM_ENV, CHROMIUM_DEFAULT)
}

/// Where ChromeDriver is, or how to install it.
pub(crate) fn chromedriver() -> Result<PathBuf, E2eError> {
    locate("chromedriver", CHROMEDRIVER_ENV, CHROMEDRIVER_DEFAULT)
}

fn locate(
    program: &'static str,
    env_var: &'static str,
    default: &'static str,
) -> Result<PathBuf, E2eError> {
    let path = std::env::var_os(env_var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    if path.is_file() {
        Ok(path)
    } else {
        Err(E2eError::NotInstalled {
            program,
            path,
            env_var,
        })
    }
}

/// A running ChromeDriver in a process group of its own, with the temporary folder that holds
/// its log and Chromium's profile. Dropping it kills the group and every process that still
/// uses the folder.
#[derive(Debug)]
pub(crate) struct Driver {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Driver {
    /// Starts ChromeDriver on a free loopback port and waits until it accepts connections.
    pub(crate) fn start(chromedriver: &Path) -> Result<Self, E2eError> {
        let dir = tempfile::Builder::new()
            .prefix("e2e-chromium-")
            .tempdir()
            .map_err(|source| E2eError::Write {
                path: std::env::temp_dir(),
                source,
            })?;
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile).map_err(|source| E2eError::Write {
            path: profile.clone(),
            source,
        })?;
        let log = dir.path().join("chromedriver.log");
        // The port is free when we look; another process could take it before ChromeDriver
        // binds, so a driver that does not come up is retried on a new port.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let port = free_port().map_err(|source| E2eError::Spawn {
                path: chromedriver.to_owned(),
                source,
            })?;
            let mut child = Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .map_err(|source| E2eError::Spawn {
                    path: chromedriver.to_owned(),
                    source,
                })?;
            match wait_ready(&mut child, port, &log) {
                Ok(()) => return Ok(Self { child, port, dir }),
                Err(e) => {
                    kill_group(&mut child);
                    if attempts == 3 {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// ChromeDriver's URL.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Chromium's fresh profile folder.
    pub(crate) fn profile_dir(&self) -> PathBuf {
        self.dir.path().join("profile")
    }

    /// The last part of ChromeDriver's log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        log_tail(&self.dir.path().join("chromedriver.log"))
    }

    /// Kills ChromeDriver's process group, ChromeDriver, and every process whose command line
    /// names our temporary folder (Chromium and its helpers, wherever they went); returns the
    /// ids of those still alive afterwards.
    pub(crate) fn kill_all(&mut self) -> Vec<u32> {
        kill_group(&mut self.child);
        let marker = self.dir.path().to_owned();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = processes_naming(&marker);
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            for pid in &left {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.kill_all();
    }
}

fn wait_ready(child: &mut Child, port: u16, log: &Path) -> Result<(), E2eError> {
    let start = Instant::now();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || start.elapsed() > READY_WITHIN {
            return Err(E2eError::DriverNotReady {
                port,
                waited: start.elapsed(),
                log: log_tail(log),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the child's process group (it leads one of its own), then the child, and reaps it.
fn kill_group(child: &mut Child) {
    // std has no killpg and the workspace forbids `unsafe`, so procps' kill(1) does it.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

fn log_tail(log: &Path) -> String {
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// The ids of live processes whose command line contains `marker` (a profile folder, say);
/// zombies have an empty command line and are not counted.
pub fn processes_naming(marker: &Path) -> Vec<u32> {
    let marker = marker.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmd| cmd.windows(marker.len()).any(|w| w == marker))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_is_an_error_that_says_how_to_install_it() {
        let err = locate(
            "chromium",
            "E2E_VARIABLE_NOBODY_SETS",
            "/nonexistent/usr/bin/chromium",
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("chromium is not installed: /nonexistent/usr/bin/chromium"),
            "{message}"
        );
        assert!(
            message.contains("apt-get install -y chromium chromium-driver"),
            "{message}"
        );
        assert!(message.contains("scripts/test.sh"), "{message}");
    }

    #[test]
    fn an_installed_program_is_found_at_its_default_path() {
        let path = locate("sh", "E2E_VARIABLE_NOBODY_SETS", "/bin/sh").unwrap();
        assert_eq!(path, Path::new("/bin/sh"));
    }
}
