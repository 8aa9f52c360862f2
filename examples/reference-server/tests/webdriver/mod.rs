//! Headless Chromium (Debian's `chromium` and `chromium-driver`) for the
//! console's browser tests, driven through chromedriver with fantoccini, a
//! WebDriver client from crates.io. What this adds to it: finding or
//! starting chromedriver, a headless session of a given size, typing from
//! the keyboard, and waiting for the page to show something.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

pub use fantoccini::key::Key;

/// A WebDriver server: `HOTSWAP_TEST_WEBDRIVER_URL` (.ci/services.sh starts
/// chromedriver), else a chromedriver started here; `None` when neither
/// exists (the caller skips, or fails under CI).
pub struct Driver {
    pub url: String,
    child: Option<std::process::Child>,
}

impl Driver {
    pub async fn find() -> Option<Driver> {
        if let Ok(url) = std::env::var("HOTSWAP_TEST_WEBDRIVER_URL") {
            return Some(Driver { url, child: None });
        }
        let port = super::support::free_port();
        let child = std::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let url = format!("http://127.0.0.1:{port}");
        let driver = Driver {
            url: url.clone(),
            child: Some(child),
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if reqwest::get(format!("{url}/status")).await.is_ok() {
                return Some(driver);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// A new headless Chromium `width` x `height` pixels.
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("chromium");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run",
                         format!("--window-size={width},{height}")],
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("no WebDriver session at {}: {e}", self.url));
        Browser(client)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One browser session.
pub struct Browser(pub Client);

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.0.goto(url).await.unwrap();
    }

    /// The element `css` selects, once it exists (10 s at most).
    pub async fn find(&self, css: &str) -> Element {
        self.0
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
    }

    /// How many elements `css` selects now.
    pub async fn count(&self, css: &str) -> usize {
        self.0.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// Run `script` (a function body; `arguments` holds `args`); a
    /// returned promise is awaited.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.0
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The text `css` shows, once it satisfies `ok` (panics naming what it
    /// last showed after `limit`).
    pub async fn text_until(
        &self,
        css: &str,
        limit: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let script =
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;";
        let start = Instant::now();
        loop {
            let text = self.eval(script, vec![json!(css)]).await;
            let text = text.as_str().unwrap_or_default();
            if ok(text) {
                return text.to_owned();
            }
            assert!(
                start.elapsed() < limit,
                "{css} never showed what was expected; last: {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Press and release each key of `keys` on the keyboard, into whatever
    /// has the focus.
    pub async fn type_keys(&self, keys: &str) {
        let actions = keys
            .chars()
            .fold(KeyActions::new("keyboard".into()), |a, c| {
                a.then(KeyAction::Down { value: c })
                    .then(KeyAction::Up { value: c })
            });
        self.0.perform_actions(actions).await.unwrap();
    }

    pub async fn press(&self, key: Key) {
        self.type_keys(&char::from(key).to_string()).await;
    }

    /// Save a PNG of the page to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.0.screenshot().await.unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.0.set_window_size(width, height).await.unwrap();
    }

    pub async fn close(self) {
        let _ = self.0.close().await;
    }
}
