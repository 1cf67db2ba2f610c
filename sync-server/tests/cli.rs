//! The `sync-server` binary as an operator uses it: account commands, and
//! serving with no database URL on a private PostgreSQL kept in the data
//! directory, stopped cleanly by SIGTERM.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crm_testkit::TestDatabase;
use serde_json::json;
use support::server::{PASSWORD, TestServer};

fn sync_server() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sync-server"));
    cmd.env_remove("DATABASE_URL").env("CRM_LOG", "warn");
    cmd
}

fn create_user(db_url: &str, email: &str, admin: bool) -> std::process::Output {
    let mut cmd = sync_server();
    cmd.args([
        "user",
        "create",
        "--email",
        email,
        "--password-stdin",
        "--full-name",
        "Ops Person",
    ])
    .env("DATABASE_URL", db_url)
    .env(
        "CRM_DATA_DIR",
        std::env::temp_dir().join("crm-cli-test-unused"),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if admin {
        cmd.arg("--admin");
    }
    let mut child = cmd.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_create_makes_the_first_admin_who_can_then_sign_in() {
    let db = TestDatabase::create(&sync_server::db::MIGRATOR).await;
    let out = create_user(db.url(), "boss@field.test", true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created boss@field.test (admin)"));

    let again = create_user(db.url(), "boss@field.test", false);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let demote = sync_server()
        .args([
            "user",
            "set-role",
            "--email",
            "nobody@field.test",
            "--role",
            "agent",
        ])
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(!demote.status.success());
    assert!(
        String::from_utf8_lossy(&demote.stderr).contains("no account with email nobody@field.test")
    );

    let s = TestServer::on(db, &[]).await;
    let session = s.login("boss@field.test").await;
    assert_eq!(session["user"]["role"], "admin");
    assert_eq!(session["user"]["full_name"], "Ops Person");
}

#[tokio::test]
async fn with_no_database_url_it_serves_from_a_private_postgres_kept_between_runs() {
    let data_dir = std::env::temp_dir().join(format!("crm-embedded-{}", uuid::Uuid::now_v7()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let pg_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let serve = || {
        sync_server()
            .args([
                "--listen",
                &listen,
                "--data-dir",
                data_dir.to_str().unwrap(),
                "--embedded-pg-port",
                &pg_port,
                "--signup",
                "open",
                "serve",
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let http = reqwest::Client::new();
    let base = format!("http://{listen}");

    let mut first = serve();
    wait_healthy(&http, &base, &mut first).await;

    // While it serves, an operator adds a colleague and deactivates them
    // with the CLI: the command uses the running cluster (a second one
    // could not start on the same files) and leaves it running.
    let user_command = |args: &[&str]| {
        let mut child = sync_server()
            .args(["--data-dir", data_dir.to_str().unwrap(), "user"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        child.wait_with_output().unwrap()
    };
    let created = user_command(&["create", "--email", "new@field.test", "--password-stdin"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let login = |email: &'static str| {
        http.post(format!("{base}/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
    };
    assert_eq!(
        login("new@field.test").await.unwrap().status(),
        reqwest::StatusCode::OK
    );
    let deactivated = user_command(&["deactivate", "--email", "new@field.test"]);
    assert!(
        deactivated.status.success(),
        "{}",
        String::from_utf8_lossy(&deactivated.stderr)
    );
    let refused = login("new@field.test").await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    let code = user_command(&["reset-code", "--email", "new@field.test"]);
    assert!(code.status.success());
    assert!(
        String::from_utf8_lossy(&code.stdout).contains('-'),
        "a code is printed"
    );
    assert!(first.try_wait().unwrap().is_none(), "the server still runs");
    let mode = std::fs::metadata(data_dir.join("jwt-secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the signing secret is readable by its owner only"
    );
    let signup = http
        .post(format!("{base}/auth/signup"))
        .json(&json!({ "email": "kept@field.test", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), reqwest::StatusCode::CREATED);
    let token = signup.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The private PostgreSQL lets no one in without a password (H2), and
    // the role requests run on cannot become a superuser again.
    let db = |user: &str, password: Option<&str>| {
        let password = password.map_or(String::new(), |p| format!(":{p}"));
        format!("postgres://{user}{password}@127.0.0.1:{pg_port}/crm")
    };
    let secret = |name: &str| {
        let path = data_dir.join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is readable by its owner only");
        std::fs::read_to_string(path).unwrap().trim().to_owned()
    };
    let superuser = secret("postgres-superuser.secret");
    let app = secret("postgres-app.secret");
    assert!(sqlx::PgPool::connect(&db("postgres", None)).await.is_err());
    assert!(
        sqlx::PgPool::connect(&db("postgres", Some("guess")))
            .await
            .is_err()
    );
    assert!(
        sqlx::PgPool::connect(&db("postgres", Some(&superuser)))
            .await
            .is_ok()
    );
    let as_app = sqlx::PgPool::connect(&db("crm_app", Some(&app)))
        .await
        .unwrap();
    let superuser_now: bool =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&as_app)
            .await
            .unwrap();
    assert!(!superuser_now);
    for escape in [
        "SELECT pg_read_file('PG_VERSION')",
        "SET ROLE postgres",
        "SELECT count(*) FROM auth.users",
    ] {
        let mut tx = as_app.begin().await.unwrap();
        // As a request would be, then trying to climb out of it.
        sqlx::query("SELECT set_config('role', 'authenticated', true)")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("RESET ROLE").execute(&mut *tx).await.unwrap();
        let refused = sqlx::query(escape).execute(&mut *tx).await.unwrap_err();
        assert_eq!(
            refused
                .as_database_error()
                .and_then(|e| e.code())
                .as_deref(),
            Some("42501"),
            "{escape}: {refused}"
        );
    }
    stop(first);

    // Second run: same cluster, same account, same secret (the old token works).
    let mut second = serve();
    wait_healthy(&http, &base, &mut second).await;
    let me = http
        .get(format!("{base}/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), reqwest::StatusCode::OK);
    stop(second);

    let left = Command::new("pgrep")
        .args(["-f", data_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "PostgreSQL stopped with the server");
    std::fs::remove_dir_all(&data_dir).unwrap();
}

async fn wait_healthy(http: &reqwest::Client, base: &str, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(r) = http.get(format!("{base}/health")).send().await
            && r.status().is_success()
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("sync-server exited with {status}: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "sync-server did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM, as a service manager stops it: it must exit cleanly.
fn stop(child: std::process::Child) {
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "clean exit on SIGTERM: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
