//! The one error type of the end-to-end harness.

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong while starting, driving or stopping the browser.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum E2eError {
    /// Chromium or ChromeDriver is not installed where we look for it.
    #[error(
        "{program} is not installed: {} is not a file (${env_var} names another path); \
         install Debian's browser with `apt-get install -y chromium chromium-driver` as root, \
         or run scripts/test.sh, which installs what the tests need",
        path.display()
    )]
    NotInstalled {
        /// `chromium` or `chromedriver`.
        program: &'static str,
        /// Where we looked: the variable's value, or the Debian package's path.
        path: PathBuf,
        /// The environment variable that may name the program's path.
        env_var: &'static str,
    },
    /// A program was found but could not be started.
    #[error("could not start {}", path.display())]
    Spawn {
        /// The program's path.
        path: PathBuf,
        /// Why it could not start.
        #[source]
        source: std::io::Error,
    },
    /// ChromeDriver did not listen on its port in time.
    #[error(
        "chromedriver did not accept connections on 127.0.0.1:{port} within {waited:?}; its log: {log}"
    )]
    DriverNotReady {
        /// The port it was told to listen on.
        port: u16,
        /// How long we waited.
        waited: Duration,
        /// The end of its log file.
        log: String,
    },
    /// ChromeDriver could not start a Chromium session.
    #[error("chromedriver could not start chromium; the end of its log: {log}")]
    Session {
        /// The end of ChromeDriver's log file.
        log: String,
        /// The WebDriver error.
        #[source]
        source: fantoccini::error::NewSessionError,
    },
    /// A WebDriver command failed.
    #[error("browser command failed: {doing}")]
    Command {
        /// What the test was doing, with the selector or URL.
        doing: String,
        /// The WebDriver error.
        #[source]
        source: fantoccini::error::CmdError,
    },
    /// An element did not appear in time.
    #[error(
        "{selector} did not appear within {waited:?} on {url}; screenshot {}; page text: {text}",
        screenshot.display()
    )]
    Timeout {
        /// The CSS selector waited for.
        selector: String,
        /// How long we waited.
        waited: Duration,
        /// The page's URL when we gave up.
        url: String,
        /// A screenshot taken when we gave up.
        screenshot: PathBuf,
        /// The start of the page's visible text.
        text: String,
    },
    /// A file or folder of the harness could not be written.
    #[error("could not write {}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Browser processes were still running after the browser was closed.
    #[error("browser processes still running after close: pids {pids:?}")]
    Leftover {
        /// Their process ids.
        pids: Vec<u32>,
    },
    /// A plain HTTP request of a test (to a control API) failed.
    #[error("GET {url} failed: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
}
