//! A desktop of the test's own for notification tests: Xvfb, a private
//! D-Bus session bus, the dunst notification daemon on it, and dbus-monitor
//! recording every `Notify` call with all its fields (dunst's own history
//! omits urgency and lists a notification only once it is closed).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct NotificationDesk {
    pub bus_address: String,
    pub display: String,
    log: Arc<Mutex<Vec<String>>>,
    _children: Vec<Child>,
}

/// One `Notify` call as the daemon received it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeenNotification {
    pub app_name: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
    pub urgency: Option<u8>,
    pub category: Option<String>,
    /// The timeout asked for, in ms: -1 the server's default, 0 never
    /// (sticky).
    pub expire_timeout: i32,
}

async fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the program printed its address in time")
        .unwrap()
        .expect("a line")
}

impl NotificationDesk {
    pub async fn start() -> NotificationDesk {
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("Xvfb (Debian package xvfb)");
        let display = format!(":{}", first_line(&mut xvfb).await.trim());

        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-daemon");
        let bus_address = first_line(&mut bus).await.trim().to_string();

        let mut monitor = Command::new("dbus-monitor")
            .args([
                "--address",
                &bus_address,
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-monitor");
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines_log = log.clone();
        let stdout = monitor.stdout.take().unwrap();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                lines_log.lock().unwrap().push(line);
            }
        });

        let dunst = Command::new("dunst")
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dunst");

        let desk = NotificationDesk {
            bus_address,
            display,
            log,
            _children: vec![xvfb, bus, monitor, dunst],
        };
        desk.wait_for_daemon().await;
        desk
    }

    async fn wait_for_daemon(&self) {
        for _ in 0..200 {
            let out = Command::new("dbus-send")
                .args([
                    &format!("--bus={}", self.bus_address),
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.Notifications",
                ])
                .output()
                .await
                .unwrap();
            let monitoring = !self.log.lock().unwrap().is_empty();
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") && monitoring {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("dunst did not come up on the private bus");
    }

    /// Every Notify call so far, in order.
    pub fn seen(&self) -> Vec<SeenNotification> {
        parse(&self.log.lock().unwrap())
    }

    /// Waits until at least `n` notifications were seen.
    pub async fn wait_for(&self, n: usize) -> Vec<SeenNotification> {
        for _ in 0..400 {
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("expected {n} notifications, saw {:?}", self.seen());
    }
}

/// Reads dbus-monitor's text: after each `member=Notify` header come
/// app_name, replaces_id, icon, summary, body, the actions array, the hints
/// array of dict entries, and the timeout. A call counts once its timeout
/// (the last argument) has been read: dbus-monitor's output arrives in
/// pieces, and a half-read call would look like one with an empty summary.
fn parse(lines: &[String]) -> Vec<SeenNotification> {
    let mut out = Vec::new();
    let mut current: Option<(SeenNotification, usize, usize)> = None; // (n, strings seen, arrays closed)
    let mut depth = 0usize;
    let mut last_key: Option<String> = None;
    for line in lines {
        let t = line.trim();
        if t.starts_with("method call") && t.contains("member=Notify") {
            current = Some((SeenNotification::default(), 0, 0));
            depth = 0;
            continue;
        }
        let Some((n, strings, arrays)) = current.as_mut() else {
            continue;
        };
        if t.starts_with("array [") {
            depth += 1;
            continue;
        }
        if t == "]" {
            depth = depth.saturating_sub(1);
            *arrays += 1;
            continue;
        }
        if depth == 0 && *arrays >= 2 && t.starts_with("int32 ") {
            // The timeout: the call is complete.
            if let Some((mut n, ..)) = current.take() {
                n.expire_timeout = t
                    .trim_start_matches("int32 ")
                    .trim()
                    .parse()
                    .unwrap_or(i32::MIN);
                out.push(n);
            }
            continue;
        }
        if let Some(s) = t
            .strip_prefix("string \"")
            .and_then(|s| s.strip_suffix('"'))
        {
            if depth == 0 {
                match *strings {
                    0 => n.app_name = s.to_string(),
                    2 => n.summary = s.to_string(),
                    3 => n.body = s.to_string(),
                    _ => {}
                }
                *strings += 1;
            } else if *arrays == 0 {
                n.actions.push(s.to_string());
            } else if last_key.is_none() {
                last_key = Some(s.to_string());
            }
            continue;
        }
        if let Some(key) = last_key.take() {
            if t.starts_with("variant") {
                let value = t.trim_start_matches("variant").trim();
                if key == "urgency" {
                    n.urgency = value
                        .strip_prefix("byte ")
                        .and_then(|b| b.trim().parse().ok());
                } else if key == "category" {
                    n.category = value
                        .strip_prefix("string \"")
                        .and_then(|s| s.strip_suffix('"'))
                        .map(str::to_string);
                }
            } else {
                last_key = Some(key);
            }
        }
    }
    out
}

/// A private D-Bus session bus with an unlocked GNOME keyring (the Secret
/// Service) on it, in a home directory of its own.
pub struct KeyringDesk {
    pub bus_address: String,
    pub home: tempfile::TempDir,
    _children: Vec<Child>,
}

impl KeyringDesk {
    pub async fn start() -> KeyringDesk {
        let home = tempfile::tempdir().unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-daemon");
        let bus_address = first_line(&mut bus).await.trim().to_string();
        let runtime = home.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", home.path().join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("gnome-keyring-daemon (Debian package gnome-keyring)");
        {
            use tokio::io::AsyncWriteExt;
            let mut stdin = keyring.stdin.take().unwrap();
            stdin.write_all(b"keyring-test-password").await.unwrap();
        }
        let desk = KeyringDesk {
            bus_address,
            home,
            _children: vec![bus, keyring],
        };
        for _ in 0..200 {
            let out = Command::new("dbus-send")
                .args([
                    &format!("--bus={}", desk.bus_address),
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .await
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return desk;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the keyring did not come up on the private bus");
    }
}
