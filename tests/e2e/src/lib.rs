//! Drives the login portal in a real, headless Chromium for end-to-end tests.
//!
//! [`Browser::launch`] starts Debian's `chromedriver` (`/usr/bin/chromedriver`) on a free
//! loopback port, which starts `chromium` headless with a fresh, temporary profile and the
//! flags this sandbox needs (no background networking, no component updates, no sync). The
//! tests speak WebDriver to it through [`fantoccini`] over plain HTTP on loopback. Every
//! process is killed when the [`Browser`] is dropped, also when a test panics half-way, and
//! [`Browser::close`] checks that none is left.
//!
//! When Chromium or ChromeDriver is missing, [`Browser::launch`] fails with
//! [`E2eError::NotInstalled`], which says how to install them (`scripts/test.sh` does).
//!
//! ```no_run
//! use std::time::Duration;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), e2e::E2eError> {
//!     let browser = e2e::Browser::launch("readme").await?;
//!     browser.goto("http://127.0.0.1:8080/").await?;
//!     browser.fill("input#username", "alice").await?;
//!     browser.click("button#continue").await?;
//!     browser.wait_for("input#password", Duration::from_secs(10)).await?;
//!     // Saved as target/e2e-screenshots/readme/01-password-page.png.
//!     let png = browser.screenshot("password-page").await?;
//!     println!("screenshot: {}", png.display());
//!     browser.close().await
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod browser;
mod driver;
mod error;
mod http;

pub use browser::{Browser, Tab};
pub use driver::{CHROMEDRIVER_ENV, CHROMIUM_ENV, CHROMIUM_FLAGS, processes_naming};
pub use error::E2eError;
pub use http::get_text;
