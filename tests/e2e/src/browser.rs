//! The browser a test drives: one headless Chromium session, helpers that wait for what the
//! page shows, and numbered screenshots.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::E2eError;
use crate::driver::{self, CHROMIUM_FLAGS, Driver};

/// How long [`Browser::click`] and [`Browser::fill`] wait for their element to appear.
const FIND_WITHIN: Duration = Duration::from_secs(15);
const POLL_EVERY: Duration = Duration::from_millis(100);

/// A headless Chromium with a fresh profile, driven over WebDriver.
///
/// Screenshots go to `target/e2e-screenshots/NAME/` (`NAME` as given to [`Browser::launch`]),
/// numbered in the order taken; each path is printed. Dropping the browser kills Chromium and
/// ChromeDriver; [`Browser::close`] ends the session politely and checks that nothing is left.
#[derive(Debug)]
pub struct Browser {
    client: Client,
    driver: Driver,
    screenshots: PathBuf,
    taken: AtomicU32,
}

/// A browser tab, to switch between the portal and the phone page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tab(WindowHandle);

fn command(doing: impl Into<String>) -> impl FnOnce(CmdError) -> E2eError {
    let doing = doing.into();
    move |source| E2eError::Command { doing, source }
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium; `name` names the screenshot folder (one
    /// per test), which is emptied first.
    ///
    /// Fails with [`E2eError::NotInstalled`] when Chromium or ChromeDriver is missing.
    pub async fn launch(name: &str) -> Result<Self, E2eError> {
        let chromium = driver::chromium()?;
        let chromedriver = driver::chromedriver()?;
        let screenshots = screenshot_root().join(name);
        if screenshots.is_dir() {
            std::fs::remove_dir_all(&screenshots).map_err(|source| E2eError::Write {
                path: screenshots.clone(),
                source,
            })?;
        }
        std::fs::create_dir_all(&screenshots).map_err(|source| E2eError::Write {
            path: screenshots.clone(),
            source,
        })?;

        let driver = tokio::task::spawn_blocking(move || Driver::start(&chromedriver))
            .await
            .map_err(|e| E2eError::Spawn {
                path: PathBuf::from("chromedriver"),
                source: std::io::Error::other(e),
            })??;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!(
            "--user-data-dir={}",
            driver.profile_dir().display()
        ));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal is an object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .map_err(|source| E2eError::Session {
                log: driver.log_tail(),
                source,
            })?;
        Ok(Self {
            client,
            driver,
            screenshots,
            taken: AtomicU32::new(0),
        })
    }

    /// The WebDriver client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The folder this browser's screenshots go to.
    pub fn screenshots_dir(&self) -> &Path {
        &self.screenshots
    }

    /// Chromium's temporary profile folder (its processes name it on their command line).
    pub fn profile_dir(&self) -> PathBuf {
        self.driver.profile_dir()
    }

    /// The ids of this browser's running processes (ChromeDriver's are not among them).
    pub fn processes(&self) -> Vec<u32> {
        driver::processes_naming(&self.driver.profile_dir())
    }

    /// Opens `url` in the current tab and waits for it to load.
    pub async fn goto(&self, url: &str) -> Result<(), E2eError> {
        self.client
            .goto(url)
            .await
            .map_err(command(format!("opening {url}")))
    }

    /// The current tab's URL.
    pub async fn current_url(&self) -> Result<String, E2eError> {
        Ok(self
            .client
            .current_url()
            .await
            .map_err(command("reading the URL"))?
            .to_string())
    }

    /// Waits up to `within` for an element matching the CSS `selector`. When it does not
    /// come, the error carries a screenshot and the page's text.
    pub async fn wait_for(&self, selector: &str, within: Duration) -> Result<Element, E2eError> {
        match self
            .client
            .wait()
            .at_most(within)
            .every(POLL_EVERY)
            .for_element(Locator::Css(selector))
            .await
        {
            Ok(element) => Ok(element),
            Err(CmdError::WaitTimeout) => Err(self.timeout(selector, within).await),
            Err(source) => Err(E2eError::Command {
                doing: format!("waiting for {selector}"),
                source,
            }),
        }
    }

    async fn timeout(&self, selector: &str, within: Duration) -> E2eError {
        let slug: String = selector
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let screenshot = self
            .screenshot(&format!("timeout-{slug}"))
            .await
            .unwrap_or_else(|_| PathBuf::from("(none: the screenshot failed too)"));
        let url = self.current_url().await.unwrap_or_default();
        let text = match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        E2eError::Timeout {
            selector: selector.to_owned(),
            waited: within,
            url,
            screenshot,
            text: text.chars().take(400).collect(),
        }
    }

    /// Waits for the CSS `selector` and returns the element's visible text.
    pub async fn text(&self, selector: &str) -> Result<String, E2eError> {
        self.wait_for(selector, FIND_WITHIN)
            .await?
            .text()
            .await
            .map_err(command(format!("reading the text of {selector}")))
    }

    /// Waits for the CSS `selector` and returns the element's `name` attribute.
    pub async fn attr(&self, selector: &str, name: &str) -> Result<Option<String>, E2eError> {
        self.wait_for(selector, FIND_WITHIN)
            .await?
            .attr(name)
            .await
            .map_err(command(format!("reading {name} of {selector}")))
    }

    /// Waits for the input matching the CSS `selector` and types `text` into it.
    pub async fn fill(&self, selector: &str, text: &str) -> Result<(), E2eError> {
        self.wait_for(selector, FIND_WITHIN)
            .await?
            .send_keys(text)
            .await
            .map_err(command(format!("typing into {selector}")))
    }

    /// Waits for the element matching the CSS `selector` and clicks it. A page that reloads
    /// itself (the phone page does, every 1.5 s) can swap the element between finding and
    /// clicking; the click is then tried again on the new one.
    pub async fn click(&self, selector: &str) -> Result<(), E2eError> {
        let deadline = tokio::time::Instant::now() + FIND_WITHIN;
        loop {
            let element = self.wait_for(selector, FIND_WITHIN).await?;
            match element.click().await {
                Ok(()) => return Ok(()),
                Err(e)
                    if (e.is_stale_element_reference() || e.is_no_such_element())
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(POLL_EVERY).await;
                }
                Err(source) => {
                    return Err(E2eError::Command {
                        doing: format!("clicking {selector}"),
                        source,
                    });
                }
            }
        }
    }

    /// Saves a PNG of the current tab as `NN-step.png` in [`Browser::screenshots_dir`],
    /// prints its path and returns it.
    pub async fn screenshot(&self, step: &str) -> Result<PathBuf, E2eError> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(command(format!("taking screenshot {step}")))?;
        let n = self.taken.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.screenshots.join(format!("{n:02}-{step}.png"));
        std::fs::write(&path, png).map_err(|source| E2eError::Write {
            path: path.clone(),
            source,
        })?;
        println!("screenshot: {}", path.display());
        Ok(path)
    }

    /// The tab the browser is driving now.
    pub async fn current_tab(&self) -> Result<Tab, E2eError> {
        Ok(Tab(self
            .client
            .window()
            .await
            .map_err(command("reading the current tab"))?))
    }

    /// Opens a new tab, switches to it and opens `url` there.
    pub async fn open_tab(&self, url: &str) -> Result<Tab, E2eError> {
        let tab = self
            .client
            .new_window(true)
            .await
            .map_err(command("opening a tab"))?;
        let tab = Tab(tab.handle);
        self.switch_to(&tab).await?;
        self.goto(url).await?;
        Ok(tab)
    }

    /// Makes `tab` the one the browser drives.
    pub async fn switch_to(&self, tab: &Tab) -> Result<(), E2eError> {
        self.client
            .switch_to_window(tab.0.clone())
            .await
            .map_err(command("switching tabs"))
    }

    /// Ends the session (ChromeDriver quits Chromium), stops ChromeDriver, and fails with
    /// [`E2eError::Leftover`] if any of their processes is still running.
    pub async fn close(self) -> Result<(), E2eError> {
        let Self {
            client, mut driver, ..
        } = self;
        let closed = client.close().await.map_err(command("ending the session"));
        let left = tokio::task::spawn_blocking(move || {
            let left = driver.kill_all();
            drop(driver);
            left
        })
        .await
        .unwrap_or_default();
        closed?;
        if left.is_empty() {
            Ok(())
        } else {
            Err(E2eError::Leftover { pids: left })
        }
    }
}

/// `target/e2e-screenshots`, under `CARGO_TARGET_DIR` when that is set.
fn screenshot_root() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let target = target.canonicalize().unwrap_or(target);
    target.join("e2e-screenshots")
}
