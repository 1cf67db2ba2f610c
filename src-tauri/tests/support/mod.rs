//! The desktop app's end-to-end harness: the real app binary in a real
//! window. Each [`Desktop`] is an X server of its own (Xvfb), a D-Bus
//! session of its own with a real notification daemon (dunst) on it, and
//! tauri-driver, which starts WebKitWebDriver, which starts the app; the test
//! drives the window over WebDriver (fantoccini) and talks to a real sync
//! server (sync-server's harness) on loopback.
//!
//! Everything a `Desktop` starts runs in one process group, killed when it
//! is dropped (also when a test panics), so no window or daemon outlives
//! its test.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long the window may take to show what a step waits for. Generous:
/// the machine may be busy; a hung app fails the test, a slow one does not.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The app binary cargo built for these tests.
pub fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_crm-desktop"))
}

/// Where screenshots go: `<target>/e2e-screenshots/`, kept after the run
/// as the test's artefacts.
pub fn screenshot_dir() -> PathBuf {
    let exe = app_binary();
    // <target>/debug/crm-desktop -> <target>/e2e-screenshots
    let target = exe
        .parent()
        .and_then(Path::parent)
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    let dir = target.join("e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A display, a session bus, a notification daemon and a WebDriver server.
pub struct Desktop {
    group: Child,
    pub display: String,
    pub bus_address: String,
    driver_port: u16,
    work: tempfile::TempDir,
}

impl Desktop {
    /// A desktop with a keyring (an unlocked GNOME keyring on the bus), as
    /// most desktops have: the app keeps its keys there.
    pub async fn start() -> Desktop {
        Self::start_with(true).await
    }

    /// A desktop where no keyring answers: the app asks for a passphrase
    /// to protect its data with.
    pub async fn without_keyring() -> Desktop {
        Self::start_with(false).await
    }

    async fn start_with(keyring: bool) -> Desktop {
        let work = tempfile::tempdir().unwrap();
        let bus_file = work.path().join("bus");
        let display_file = work.path().join("display");
        let driver_port = free_port();
        let native_port = free_port();
        let keyring_home = work.path().join("keyring-home");
        std::fs::create_dir_all(keyring_home.join("run")).unwrap();
        // On the private bus: notifications (dunst), the keyring if wanted
        // (waited for), then tauri-driver in the foreground.
        let on_bus = work.path().join("on-bus.sh");
        let keyring_start = if keyring {
            format!(
                r#"printf keyring-test-password | HOME="{home}" XDG_RUNTIME_DIR="{home}/run" XDG_DATA_HOME="{home}/data" gnome-keyring-daemon --unlock --components=secrets --foreground >/dev/null 2>&1 &
for _ in $(seq 1 200); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break
  sleep 0.05
done
"#,
                home = keyring_home.display()
            )
        } else {
            String::new()
        };
        std::fs::write(
            &on_bus,
            format!(
                r#"dunst >/dev/null 2>&1 &
{keyring_start}echo "$DBUS_SESSION_BUS_ADDRESS" > "{bus}"
exec tauri-driver --port {driver_port} --native-port {native_port}
"#,
                bus = bus_file.display(),
            ),
        )
        .unwrap();
        // One shell owns everything: Xvfb picks a free display (-displayfd),
        // dbus-run-session makes a private bus and runs the rest on it.
        let script = format!(
            r#"set -e
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"{display}" &
for _ in $(seq 1 100); do [ -s "{display}" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "{display}")"
exec dbus-run-session -- sh "{on_bus}"
"#,
            display = display_file.display(),
            on_bus = on_bus.display(),
        );
        let group = {
            use std::os::unix::process::CommandExt;
            Command::new("sh")
                .args(["-c", &script])
                .env("CRM_LOG", "info")
                .stdin(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("sh starts")
        };
        let mut desktop = Desktop {
            group,
            display: String::new(),
            bus_address: String::new(),
            driver_port,
            work,
        };
        let started = Instant::now();
        loop {
            let bus = std::fs::read_to_string(&bus_file).unwrap_or_default();
            let display = std::fs::read_to_string(&display_file).unwrap_or_default();
            let driver_up = std::net::TcpStream::connect(("127.0.0.1", driver_port)).is_ok();
            if !bus.trim().is_empty() && !display.trim().is_empty() && driver_up {
                desktop.bus_address = bus.trim().to_owned();
                desktop.display = format!(":{}", display.trim());
                break;
            }
            if let Some(status) = desktop.group.try_wait().unwrap() {
                panic!(
                    "the desktop did not start ({status}): are Xvfb, dbus-daemon, dunst and tauri-driver installed? (scripts/test installs them)"
                );
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the desktop did not start in time"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        desktop
    }

    /// Starts the app with `args` and opens a WebDriver session on its window.
    pub async fn open_app(&self, args: &[&str]) -> App {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({ "application": app_binary(), "args": args }),
        );
        // tauri-driver answers before WebKitWebDriver behind it is ready:
        // retry a refused session for a while.
        let started = Instant::now();
        loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{}", self.driver_port))
                .await
            {
                Ok(client) => {
                    return App {
                        client,
                        display: self.display.clone(),
                    };
                }
                Err(e) if started.elapsed() < PATIENCE => {
                    eprintln!("no WebDriver session yet ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("no WebDriver session on the app's window: {e}"),
            }
        }
    }

    /// Runs a command on this desktop's display and bus (e.g. `dunstctl`).
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address);
        command
    }

    /// Waits until the notification daemon has shown `n` notifications.
    pub async fn notifications_shown(&self, n: usize) {
        let started = Instant::now();
        loop {
            let out = self
                .command("dunstctl")
                .arg("count")
                .arg("displayed")
                .output()
                .unwrap();
            let shown: usize = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(0);
            if shown >= n {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "only {shown} of {n} notifications shown"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        // The whole group: Xvfb, the bus, dunst, the drivers and the apps.
        let group = format!("-{}", self.group.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.group.wait();
    }
}

/// One app window under WebDriver.
pub struct App {
    pub client: Client,
    /// The X display it shows on (screenshots are taken from there).
    display: String,
}

impl App {
    /// Waits for an element matching `css` and returns it.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return element;
            }
            assert!(started.elapsed() < PATIENCE, "never appeared: {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css` matches `n` elements.
    pub async fn count(&self, css: &str, n: usize) -> Vec<fantoccini::elements::Element> {
        let started = Instant::now();
        loop {
            let found = self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default();
            if found.len() == n {
                return found;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css}: {} elements, expected {n}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element matching `css` has `attribute` = `value`.
    pub async fn attribute_is(&self, css: &str, attribute: &str, value: &str) {
        let started = Instant::now();
        let mut last = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = element.attr(attribute).await.ok().flatten();
                if last.as_deref() == Some(value) {
                    return;
                }
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css}[{attribute}] stayed {last:?}, expected {value:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element's text contains `text`.
    pub async fn text_contains(&self, css: &str, text: &str) {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = element.text().await.unwrap_or_default();
                if last.contains(text) {
                    return;
                }
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css} says {last:?}, expected it to contain {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element once it is there and can be clicked (not covered
    /// by a closing dialog, not mid-render).
    pub async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if started.elapsed() < PATIENCE => {
                    tracing_free_note(css, &e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("could not click {css}: {e}"),
            }
        }
    }

    /// Replaces the text of an input.
    /// Types `text` into an empty input, until it holds exactly that.
    /// (WebDriver's clear does not always reach the UI: a controlled input
    /// could put its old value back, and the typing then lands after it.)
    pub async fn fill(&self, css: &str, text: &str) {
        let started = Instant::now();
        loop {
            self.set_value(css, "").await;
            let input = self.find(css).await;
            input.send_keys(text).await.unwrap();
            let holds = input.prop("value").await.unwrap().unwrap_or_default();
            if holds == text {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css}: typed {text:?}, it holds {holds:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sets an input's value the way the user's picker would (date and
    /// select inputs), firing the events the UI listens to.
    pub async fn set_value(&self, css: &str, value: &str) {
        self.find(css).await;
        self.client
            .execute(
                "const e = document.querySelector(arguments[0]);
                 e.value = arguments[1];
                 e.dispatchEvent(new Event('input', { bubbles: true }));
                 e.dispatchEvent(new Event('change', { bubbles: true }));",
                vec![json!(css), json!(value)],
            )
            .await
            .unwrap();
    }

    /// Saves a screenshot as `<name>.png` among the test's artefacts, once
    /// the screen's data is there. Taken from the X server (ImageMagick's
    /// `import`), so it is what the user would see: WebKitWebDriver's own
    /// screenshot waits about a minute for a frame when accelerated
    /// compositing is off, as the app has it.
    pub async fn screenshot(&self, name: &str) {
        self.find("[data-loaded='true']").await;
        // Let the last render reach the screen.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let path = screenshot_dir().join(format!("{name}.png"));
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(&path)
            .status()
            .expect("ImageMagick's import runs (scripts/test installs imagemagick)");
        assert!(status.success(), "screenshot {name} failed");
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Waits until no app holds `data_dir` (its lock is free): a closed window's
/// process may take a moment to end.
pub async fn wait_for_exit(data_dir: &str) {
    let started = Instant::now();
    let path = Path::new(data_dir).join("app.lock");
    loop {
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        if file.try_lock().is_ok() {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the app on {data_dir} never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn tracing_free_note(css: &str, error: &fantoccini::error::CmdError) {
    eprintln!("{css} not clickable yet ({error}); retrying");
}
