//! A real headless Chromium for end-to-end tests, driven through chromedriver (WebDriver) with
//! fantoccini.
//!
//! [`Browser::start`] starts its own chromedriver on a free port and a Chromium with a fresh
//! profile directory, so tests share nothing and run in parallel. It uses Debian's `chromium`
//! and `chromium-driver` (`scripts/setup.sh` installs them; `SOCKHUB_CHROMEDRIVER` names another
//! driver). Without them the tests fail with that advice rather than pass by skipping.
//!
//! The helpers wait for the page instead of sleeping: [`Browser::wait_js`] polls a JavaScript
//! condition until it holds or [`PATIENCE`] runs out. [`Browser::screenshot`] saves a PNG under
//! `target/e2e-artifacts/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::PATIENCE;

/// A chromedriver process with one browser session.
pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

fn chromedriver() -> PathBuf {
    if let Some(path) = std::env::var_os("SOCKHUB_CHROMEDRIVER") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from("/usr/bin/chromedriver");
    assert!(
        path.exists(),
        "the browser tests need Debian's chromium and chromium-driver: run `bash scripts/setup.sh` \
         (or `apt-get install chromium chromium-driver`), or set SOCKHUB_CHROMEDRIVER"
    );
    path
}

/// Where screenshots go: `target/e2e-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("e2e-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    /// Start chromedriver and a headless Chromium with a desktop-sized window.
    pub async fn start() -> Browser {
        Self::start_with(&[]).await
    }

    /// [`Browser::start`] with more Chromium flags (`--ignore-certificate-errors` for a page
    /// served with the test CA's certificate).
    pub async fn start_with(extra: &[&str]) -> Browser {
        let port = crate::support::unused_port();
        let driver = tokio::process::Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let user_data_dir = format!("--user-data-dir={}", profile.path().display());
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,860",
            "--lang=en-US",
            &user_data_dir,
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect::<Vec<_>>();
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), json!({"args": args, "binary": "/usr/bin/chromium"}));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver on port {port} did not start a browser: {e}"),
            }
        };
        Browser { client, driver, _profile: profile }
    }

    /// Resize the window (the page's CSS px): a phone is 390×844.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Run JavaScript (a function body; `arguments[i]` are `args`) and return its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Wait until `script` (a function body) returns something truthy; returns it.
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let v = self.client.execute(script, args.clone()).await.unwrap_or(Value::Null);
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) {
                return v;
            }
            if tokio::time::Instant::now() >= deadline {
                self.screenshot(&format!("timeout-{}", slug(what))).await;
                panic!("gave up waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until an element matching `css` exists and is visible.
    pub async fn wait_visible(&self, css: &str) {
        self.wait_js(
            &format!("{css} to be visible"),
            "const e = document.querySelector(arguments[0]); return !!e && e.getClientRects().length > 0;",
            vec![json!(css)],
        )
        .await;
    }

    /// Wait until some element matching `css` has text containing `text`.
    pub async fn wait_text(&self, css: &str, text: &str) {
        self.wait_js(
            &format!("{css} containing {text:?}"),
            "return [...document.querySelectorAll(arguments[0])].some(e => e.textContent.includes(arguments[1]));",
            vec![json!(css), json!(text)],
        )
        .await;
    }

    /// The texts of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let v = self
            .js(
                "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent);",
                vec![json!(css)],
            )
            .await;
        serde_json::from_value(v).unwrap()
    }

    /// Type into the element matching `css` (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        self.wait_visible(css).await;
        let e = self.client.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Click the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.wait_visible(css).await;
        self.client.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
    }

    /// Press Enter in the element matching `css`.
    pub async fn enter(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap().send_keys("\u{E007}").await.unwrap();
    }

    /// Save a screenshot as `target/e2e-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(artifacts_dir().join(format!("{name}.png")), png);
        }
    }

    /// End the browser session and chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}

fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).take(60).collect()
}
