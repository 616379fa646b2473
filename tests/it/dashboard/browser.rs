//! Chromium through chromedriver, and the page helpers the tests use.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the page may take to show a change (it polls every 3 s).
pub(super) const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

pub(super) fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// chromedriver in its own process group, killed with everything it started
/// (Chromium) when dropped, on success and on failure alike.
pub(super) struct Chromedriver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
    chromium: PathBuf,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: signals to the process group this test created.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        std::thread::sleep(Duration::from_millis(200));
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium's helpers that left the group: found by this test's own
        // profile directory on their command line.
        let profile = self._profile.path().to_string_lossy().into_owned();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&profile) {
                // SAFETY: a process of this test's browser.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

pub(super) fn chromedriver() -> Chromedriver {
    let (Some(chromium), Some(driver)) = (on_path("chromium"), on_path("chromedriver")) else {
        panic!(
            "the dashboard test needs Chromium and its WebDriver: \
             apt-get install chromium chromium-driver (scripts/test.sh installs them)"
        );
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    use std::os::unix::process::CommandExt;
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromedriver starts");
    Chromedriver {
        child,
        port,
        _profile: tempfile::tempdir().unwrap(),
        chromium,
    }
}

/// A headless Chromium session; the driver goes when the returned guard does.
pub(super) async fn browser() -> (Client, Chromedriver) {
    let driver = chromedriver();
    let url = format!("http://127.0.0.1:{}", driver.port);
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": driver.chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                format!("--user-data-dir={}", driver._profile.path().display()),
                "--window-size=1400,1000",
            ],
        }),
    );
    let started = Instant::now();
    let mut driver = driver;
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let err = match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => break c,
            Err(e) => e,
        };
        if let Ok(Some(status)) = driver.child.try_wait() {
            panic!("chromedriver exited ({status}) before a session started: {err}");
        }
        if started.elapsed() > Duration::from_secs(30) {
            panic!("no WebDriver session from chromedriver on {url}: {err}");
        }
        // chromedriver is still starting.
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    (client, driver)
}

/// The page's text at `css` (`None` while there is no such element).
pub(super) async fn text_of(c: &Client, css: &str) -> Option<String> {
    c.execute(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
        vec![json!(css)],
    )
    .await
    .ok()?
    .as_str()
    .map(str::to_string)
}

/// Every `css` element's text, in page order.
pub(super) async fn texts_of(c: &Client, css: &str) -> Vec<String> {
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent);",
            vec![json!(css)],
        )
        .await
        .unwrap_or(Value::Null);
    serde_json::from_value(v).unwrap_or_default()
}

/// Polls `check` until it is `Some`, up to `PAGE_TIMEOUT`; the failure says
/// what was expected and what was last seen.
pub(super) async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(v) => return v,
            Err(seen) if start.elapsed() > PAGE_TIMEOUT => {
                panic!("timed out waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Waits until `css` shows text containing `want`.
pub(super) async fn shows(c: &Client, css: &str, want: &str) -> String {
    until(&format!("`{css}` to show {want:?}"), || async {
        match text_of(c, css).await {
            Some(t) if t.contains(want) => Ok(t),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// A real click (WebDriver's element click) on `css`, retried while the
/// element is missing or being re-rendered.
pub(super) async fn click(c: &Client, css: &str) {
    until(&format!("a clickable `{css}`"), || async {
        let e = c.find(Locator::Css(css)).await.map_err(|e| e.to_string())?;
        e.click().await.map_err(|e| e.to_string())
    })
    .await
}

pub(super) async fn type_into(c: &Client, css: &str, text: &str) {
    until(&format!("an input `{css}`"), || async {
        let e = c.find(Locator::Css(css)).await.map_err(|e| e.to_string())?;
        e.clear().await.map_err(|e| e.to_string())?;
        e.send_keys(text).await.map_err(|e| e.to_string())
    })
    .await
}

pub(super) async fn open_view(c: &Client, base: &str, hash: &str) {
    c.goto(&format!("{base}/#{hash}")).await.unwrap();
}

/// Saves the page as `name`.png in `$NIGHTSHIFT_SCREENSHOTS`, if set: the
/// window grown to the page's height (up to 2400 px) for the picture.
pub(super) async fn screenshot(c: &Client, name: &str) {
    let Some(dir) = std::env::var_os("NIGHTSHIFT_SCREENSHOTS") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Let the last poll's rendering and the fonts settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The window's height less the viewport's is the browser's own frame.
    let h = c
        .execute(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(1000)
        .clamp(1000, 2400) as u32;
    c.set_window_size(1400, h).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = c.screenshot().await.unwrap();
    c.set_window_size(1400, 1000).await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}
