//! Headless Chromium driven over WebDriver (chromedriver + fantoccini), the one driver
//! every browser test uses: the dashboard's, the access test's token prompt and the
//! TLS test's pinned-key session. What differs between them is a few Chromium flags,
//! which [`Browser::start`] takes; what they do in the page stays in each test.
//!
//! A missing Chromium or chromedriver fails the test and says how to install it
//! (`apt-get install -y chromium chromium-driver`); `CHROMIUM` and `CHROMEDRIVER` name
//! other binaries.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::peer::{require, Peer};

/// Flags every session runs with: headless without a sandbox (tests run in
/// containers), and nothing that reaches the network or updates itself mid-test.
const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// How long chromedriver may take to hand out a session.
const SESSION_TIMEOUT: Duration = Duration::from_secs(20);

/// How often [`Browser::wait_for`] asks again, and chromedriver is asked for a session.
const POLL: Duration = Duration::from_millis(100);

/// chromedriver and its browser session; chromedriver is killed on drop.
pub struct Browser {
    /// The WebDriver session, for navigation and window size.
    pub client: Client,
    driver: Child,
    /// A fresh profile per session: nothing persists from one test to the next.
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Ends chromedriver and the Chromium it started, also when the test panicked with
    /// the session open: chromedriver runs in a process group of its own, and the
    /// whole group is killed (its browser would otherwise outlive the test).
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            let group = format!("-{}", self.driver.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session with
    /// [`FLAGS`] plus `extra_flags`. A missing browser or driver fails the test (`None`
    /// only under the missing-peer opt-out).
    pub async fn start(extra_flags: &[&str]) -> Option<Self> {
        let chromium = require(Peer::Chromium)?;
        let chromedriver = require(Peer::ChromeDriver)?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut driver = Command::new(&chromedriver);
        driver
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that dropping the browser ends Chromium too.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut driver, 0);
        let driver = driver
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let profile = tempfile::tempdir().expect("browser profile folder");
        let mut args: Vec<String> = FLAGS
            .iter()
            .chain(extra_flags)
            .map(|f| f.to_string())
            .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let Value::Object(capabilities) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }) else {
            unreachable!("a JSON object literal")
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + SESSION_TIMEOUT;
        let client = loop {
            // chromedriver takes a moment to listen; a refused connection means "not yet".
            // It is on loopback, so the plain (non-TLS) hyper-util connector is enough.
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            match builder
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
                Err(e) => panic!("no WebDriver session from {}: {e}", chromedriver.display()),
            }
        };
        Some(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs `script` (a function body) once the page has drawn two more frames, so what
    /// it reads is what the frame after now shows; returns what it returns.
    pub async fn js_after_frames(&self, script: &str) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1]; \
             requestAnimationFrame(() => requestAnimationFrame(() => done((() => {{ {script} }})())));"
        );
        self.client
            .execute_async(&wrapped, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Types `text` into the element `selector` with real key events, as a person does.
    pub async fn type_into(&self, selector: &str, text: &str) {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector}: {e}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {selector}: {e}"));
    }

    /// Empties the input `selector` (WebDriver's Element Clear).
    pub async fn clear(&self, selector: &str) {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector}: {e}"))
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clearing {selector}: {e}"));
    }

    /// Polls `script` until it returns `true`; returns whether it did before `timeout`.
    pub async fn wait_for(&self, script: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.js(script).await == Value::Bool(true) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Presses the left button on the element `selector` at `from` (a fraction of its
    /// width, at half its height), moves to `to` in a few steps and releases: real
    /// pointer input, as a person drags (`from == to` is a click at that spot).
    pub async fn drag(&self, selector: &str, from: f64, to: f64) {
        let element = self
            .client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector}: {e}"));
        self.js(&format!(
            "document.querySelector({selector:?}).scrollIntoView({{block: 'center'}}); return true;"
        ))
        .await;
        let (_, _, width, _) = element.rectangle().await.expect("the element's size");
        // Offsets are from the element's centre.
        let at = |fraction: f64| PointerAction::MoveToElement {
            element: element.clone(),
            duration: Some(Duration::from_millis(50)),
            x: (fraction - 0.5) * width,
            y: 0.0,
        };
        let mut mouse =
            MouseActions::new("mouse".into())
                .then(at(from))
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                });
        if from != to {
            for step in 1..=4 {
                mouse = mouse.then(at(from + (to - from) * f64::from(step) / 4.0));
            }
        }
        mouse = mouse.then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
        self.client
            .perform_actions(mouse)
            .await
            .unwrap_or_else(|e| panic!("drag on {selector}: {e}"));
    }

    /// Saves a PNG of the viewport under `target/test-artifacts/` and prints its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).expect("target/test-artifacts");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("write the screenshot");
        eprintln!("browser screenshot: {}", path.display());
        path
    }

    /// Ends the session (chromedriver closes Chromium), then chromedriver (on drop).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// `target/test-artifacts`, beside the profile folder the harness builds into.
pub fn artifacts_dir() -> PathBuf {
    crate::server::artifacts()
        .parent()
        .unwrap_or(Path::new("target"))
        .join("test-artifacts")
}
