//! The guardian: a small shell that owns postgres and stops it when its
//! stdin closes.
//!
//! Our end of that stdin closes however our process ends (return, panic,
//! SIGKILL), so the cluster cannot outlive its owner even when no Rust code
//! gets to run at the end. The shell runs in a process group of its own, so
//! a Ctrl-C at the terminal reaches only the owner, which then stops the
//! cluster in its own time, instead of killing the guardian before it has
//! cleaned up.

use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::ClusterError;
use crate::user::{User, run_as};

/// Arguments: extra `-c name=value` settings for postgres. It prints
/// postgres's pid, then waits for stdin to close. Stop signals: SIGQUIT is an
/// immediate shutdown (no checkpoint, for a cluster about to be deleted);
/// SIGINT is a fast shutdown (sessions ended, checkpoint written, so nothing
/// is lost). Unix sockets are off so that the cluster is reachable only on
/// 127.0.0.1 and no socket path (which has a length limit) is involved.
const SCRIPT: &str = r#"
"$CLUSTER_BIN/postgres" -D "$CLUSTER_DATA" -p "$CLUSTER_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories= "$@" \
    </dev/null >>"$CLUSTER_LOG" 2>&1 &
pid=$!
echo "$pid"
read -r _ || true
kill -"$CLUSTER_STOP_SIGNAL" "$pid" 2>/dev/null
wait "$pid"
status=$?
if [ -n "$CLUSTER_REMOVE" ]; then rm -rf "$CLUSTER_REMOVE"; fi
exit "$status"
"#;

/// How the guardian runs postgres and what it does when told to stop.
pub(crate) struct Launch<'a> {
    pub(crate) bin_dir: &'a Path,
    pub(crate) data_dir: &'a Path,
    pub(crate) port: u16,
    pub(crate) log: &'a Path,
    pub(crate) settings: &'a [String],
    pub(crate) stop_signal: &'static str,
    /// Deleted once postgres is down (an ephemeral cluster's work dir).
    pub(crate) remove: Option<&'a Path>,
    pub(crate) user: Option<User>,
}

/// A running guardian and the pid of the postgres it started.
pub(crate) struct Guardian {
    pub(crate) child: Child,
    pub(crate) postgres_pid: u32,
}

impl Launch<'_> {
    pub(crate) fn spawn(&self) -> Result<Guardian, ClusterError> {
        let mut cmd = run_as(Command::new("sh"), self.user);
        cmd.arg("-c")
            .arg(SCRIPT)
            .arg("pg-cluster-guardian")
            .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .env("CLUSTER_BIN", self.bin_dir)
            .env("CLUSTER_DATA", self.data_dir)
            .env("CLUSTER_PORT", self.port.to_string())
            .env("CLUSTER_LOG", self.log)
            .env("CLUSTER_STOP_SIGNAL", self.stop_signal)
            .env("CLUSTER_REMOVE", self.remove.unwrap_or(Path::new("")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(ClusterError::io("starting the guardian shell (sh)"))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            // Nothing more comes on stdout; dropping our end is harmless.
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        match line.trim().parse() {
            Ok(postgres_pid) => Ok(Guardian {
                child,
                postgres_pid,
            }),
            Err(_) => {
                let _ = stop(&mut child);
                Err(ClusterError::Io {
                    action: "starting postgres through the guardian shell".into(),
                    source: std::io::Error::other(format!("expected postgres's pid, got {line:?}")),
                })
            }
        }
    }
}

/// Closes the guardian's stdin, which makes it stop postgres (and delete
/// what it was told to), and waits until it has.
pub(crate) fn stop(child: &mut Child) -> std::io::Result<std::process::ExitStatus> {
    drop(child.stdin.take());
    child.wait()
}

/// Whether process `pid` is still running. The guardian has not reaped
/// postgres while it waits on stdin, so a dead postgres lingers as a zombie
/// (or, where the shell reaps eagerly, is gone); either way its pid cannot
/// have been reused by then for anything we would mistake for it.
pub(crate) fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| running_state(&stat))
}

/// The state field of a /proc/PID/stat line is not zombie or dead. It
/// follows the command name, which is in parentheses and may itself hold
/// spaces and parentheses, hence the last ')'.
fn running_state(stat: &str) -> bool {
    stat.rfind(')')
        .and_then(|i| stat[i + 1..].trim_start().chars().next())
        .is_some_and(|state| !matches!(state, 'Z' | 'X' | 'x'))
}

/// Whether the postmaster.pid in `data_dir` says that postgres `pid` is
/// accepting connections. Checking the pid too means a stale file from a
/// crashed run, or another server answering on our port, is never taken for
/// ours.
pub(crate) fn postmaster_ready(data_dir: &Path, pid: u32) -> bool {
    std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .is_ok_and(|text| pid_file_says_ready(&text, pid))
}

/// The port of a postgres that is running on `data_dir` and accepting
/// connections now (its postmaster.pid names a live process, ready), if
/// any: another process's cluster, to use rather than start a second one.
pub(crate) fn running_port(data_dir: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let pid = lines.first()?.trim().parse::<u32>().ok()?;
    if !alive(pid) || !pid_file_says_ready(&text, pid) {
        return None;
    }
    // Line 4 is the port.
    lines.get(3)?.trim().parse().ok()
}

/// Line 1 of postmaster.pid is the pid, line 8 the status (PostgreSQL 10+).
fn pid_file_says_ready(text: &str, pid: u32) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    lines.first().and_then(|l| l.trim().parse::<u32>().ok()) == Some(pid)
        && lines.get(7).is_some_and(|status| status.trim() == "ready")
}

/// The log's size now, so that a failed start can show only its own part of
/// a log that a persistent cluster keeps appending to.
pub(crate) fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map_or(0, |m| m.len())
}

/// What postgres logged from byte `from` on.
pub(crate) fn log_since(log: &Path, from: u64) -> String {
    match std::fs::read(log) {
        Ok(bytes) => {
            let start = usize::try_from(from).unwrap_or(0).min(bytes.len());
            String::from_utf8_lossy(&bytes[start..]).into_owned()
        }
        Err(e) => format!("(could not read {}: {e})", log.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempDir;
    use std::time::{Duration, Instant};

    #[test]
    fn proc_stat_states() {
        assert!(running_state("123 (postgres) S 1 2 3"));
        assert!(running_state("123 (odd) name (x)) R 1 2 3"));
        assert!(!running_state("123 (postgres) Z 1 2 3"));
        assert!(!running_state("123 (postgres) X 1 2 3"));
        assert!(!running_state("garbage"));
    }

    #[test]
    fn we_are_alive_and_a_reaped_child_is_not() {
        assert!(alive(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid));
    }

    const READY: &str =
        "4242\n/data\n1795571364\n5432\n\n127.0.0.1\n 10076369     98315\nready   \n";

    #[test]
    fn pid_file_must_name_our_pid_and_say_ready() {
        assert!(pid_file_says_ready(READY, 4242));
        assert!(!pid_file_says_ready(READY, 4243), "a stale file");
        assert!(!pid_file_says_ready(
            &READY.replace("ready   ", "starting"),
            4242
        ));
        assert!(!pid_file_says_ready("4242\n/data\n", 4242), "half written");
        assert!(!pid_file_says_ready("", 4242));
    }

    #[test]
    fn a_running_cluster_is_found_by_its_live_ready_postmaster() {
        let tmp = TempDir::new("running");
        assert_eq!(running_port(tmp.path()), None, "no pid file");
        let me = std::process::id();
        let file = tmp.path().join("postmaster.pid");
        std::fs::write(&file, READY.replace("4242", &me.to_string())).unwrap();
        assert_eq!(running_port(tmp.path()), Some(5432));
        std::fs::write(
            &file,
            READY
                .replace("4242", &me.to_string())
                .replace("ready   ", "starting"),
        )
        .unwrap();
        assert_eq!(
            running_port(tmp.path()),
            None,
            "not accepting connections yet"
        );
        // A stale file of a crashed run: its pid is no process.
        std::fs::write(&file, READY.replace("4242", "4194304")).unwrap();
        assert_eq!(running_port(tmp.path()), None);
    }

    #[test]
    fn log_since_shows_only_the_new_part() {
        let tmp = TempDir::new("log");
        let log = tmp.path().join("postgres.log");
        assert_eq!(log_len(&log), 0);
        std::fs::write(&log, "old run\n").unwrap();
        let from = log_len(&log);
        std::fs::write(&log, "old run\nnew run\n").unwrap();
        assert_eq!(log_since(&log, from), "new run\n");
        assert_eq!(log_since(&log, 10_000), "");
    }

    /// A stand-in postgres that records its arguments and the signal that
    /// ends it, so the script can be tested without a real server. Perl,
    /// not sh: a background command of a non-interactive shell starts with
    /// SIGINT and SIGQUIT ignored, and only a program that installs its own
    /// handlers (as postgres does) can see them; a shell script cannot.
    fn fake_postgres(bin: &Path, record: &Path) {
        std::fs::create_dir_all(bin).unwrap();
        let script = format!(
            r#"#!/usr/bin/env perl
my $record = "{record}";
sub note {{ open(my $f, '>>', $record) or die; print $f "$_[0]\n"; close $f; }}
$SIG{{QUIT}} = sub {{ note("QUIT"); exit 0 }};
$SIG{{INT}} = sub {{ note("INT"); exit 0 }};
$| = 1;
print "fake postgres starting\n";
note("@ARGV");
sleep 1 while 1;
"#,
            record = record.display()
        );
        let path = bin.join("postgres");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn closing_stdin_signals_postgres_then_removes_the_work_dir() {
        let tmp = TempDir::new("guardian-remove");
        let work = tmp.path().join("work");
        std::fs::create_dir_all(work.join("data")).unwrap();
        let bin = tmp.path().join("bin");
        let record = tmp.path().join("record");
        fake_postgres(&bin, &record);
        let settings = ["max_connections=7".to_string()];
        let launch = Launch {
            bin_dir: &bin,
            data_dir: &work.join("data"),
            port: 5999,
            log: &work.join("postgres.log"),
            settings: &settings,
            stop_signal: "QUIT",
            remove: Some(&work),
            user: None,
        };

        let mut guardian = launch.spawn().unwrap();
        wait_for("the fake postgres", || {
            std::fs::read_to_string(&record).is_ok_and(|r| !r.is_empty())
        });
        assert!(alive(guardian.postgres_pid));
        let status = stop(&mut guardian.child).unwrap();

        assert!(status.success());
        let record = std::fs::read_to_string(&record).unwrap();
        let mut lines = record.lines();
        let args = lines.next().unwrap();
        assert!(
            args.contains("-p 5999")
                && args.contains("listen_addresses=127.0.0.1")
                && args.ends_with("-c max_connections=7"),
            "{args}"
        );
        assert_eq!(lines.next(), Some("QUIT"));
        assert!(!work.exists(), "the work dir is removed");
        assert!(!alive(guardian.postgres_pid));
    }

    #[test]
    fn a_persistent_guardian_asks_for_fast_shutdown_and_keeps_the_data() {
        let tmp = TempDir::new("guardian-keep");
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let bin = tmp.path().join("bin");
        let record = tmp.path().join("record");
        fake_postgres(&bin, &record);
        let log = data.join("postgres.log");
        std::fs::write(&log, "earlier run\n").unwrap();
        let launch = Launch {
            bin_dir: &bin,
            data_dir: &data,
            port: 5998,
            log: &log,
            settings: &[],
            stop_signal: "INT",
            remove: None,
            user: None,
        };

        let mut guardian = launch.spawn().unwrap();
        wait_for("the fake postgres", || {
            std::fs::read_to_string(&record).is_ok_and(|r| !r.is_empty())
        });
        wait_for("the log line", || {
            log_since(&log, 12).contains("fake postgres starting")
        });
        let status = stop(&mut guardian.child).unwrap();

        assert!(status.success());
        assert_eq!(
            std::fs::read_to_string(&record).unwrap().lines().nth(1),
            Some("INT")
        );
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "earlier run\nfake postgres starting\n",
            "the log is appended to, never truncated"
        );
    }

    #[test]
    fn a_postgres_that_cannot_start_is_seen_dead() {
        let tmp = TempDir::new("guardian-dead");
        let launch = Launch {
            bin_dir: &tmp.path().join("no-such-bin"),
            data_dir: tmp.path(),
            port: 5997,
            log: &tmp.path().join("postgres.log"),
            settings: &[],
            stop_signal: "QUIT",
            remove: None,
            user: None,
        };

        let mut guardian = launch.spawn().unwrap();
        wait_for("postgres to be seen dead", || !alive(guardian.postgres_pid));
        let status = stop(&mut guardian.child).unwrap();

        assert!(!status.success(), "its exit status is passed on");
        assert!(log_since(&tmp.path().join("postgres.log"), 0).contains("no-such-bin"));
    }
}
