//! Nothing is lost, whatever dies and however the network fails: three
//! real desktop cores (an admin and two agents) make random changes of
//! every kind, offline and online, conflicting ones too (the admin and an
//! owner editing one customer's name), against two real `sync-server`
//! processes on one PostgreSQL of the test's own, through a
//! fault-injecting TCP proxy of our own on loopback (connections refused,
//! delayed, cut in the middle of a response, or dropped at a random moment,
//! so pushes are applied and their answers lost, and sent again; pushes
//! sent to both servers at once, as a retrying load balancer would), while
//! server processes are killed with SIGKILL, PostgreSQL is stopped (fast
//! shutdown) or crashed (SIGKILL of its postmaster) and started again, and
//! apps are killed with SIGKILL in the middle of their sync (the replica
//! handed to the real `crm-sync` binary, killed at a random moment, then
//! opened again). Then everything settles and the test checks: every change
//! a client recorded is in PostgreSQL exactly once, with exactly one audit
//! row, every attachment's bytes once; nothing was refused; every replica
//! holds exactly what its user may see (every table's checksum as the
//! server computes it under the user's row-level security, and the
//! customers in full).
//!
//! `FAULT_STEPS` (default 300, under a minute) sets the length, or
//! `FAULT_MINUTES` a duration; run it longer on demand: `FAULT_MINUTES=60
//! cargo test -p crm-desktop-core --test faults -- --nocapture`. The figures are printed. The servers are the
//! `sync-server` binary the workspace built (see [`server_binary`]).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crm_desktop_core::store::customers::{CustomerEdit, CustomerFilter};
use crm_domain::drafts::{NewComment, NewInteraction, NewTicket};
use crm_domain::protocol::TableChecksum;
use crm_domain::{InteractionChannel, TicketPriority, UserRole};
use pg_cluster::Cluster;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use support::{Client, edit_of, new_customer};
use sync_server::harness::{kill9, postmaster_pid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

/// What the proxy did, by kind.
#[derive(Default)]
struct Faults {
    passed: AtomicU64,
    delayed: AtomicU64,
    cut: AtomicU64,
    dropped: AtomicU64,
    refused: AtomicU64,
    /// Pushes sent twice, to both servers at once.
    duplicated: AtomicU64,
}

/// A TCP proxy to `upstreams` that, while `chaos` is on, delays some
/// connections, cuts others after a few bytes of the server's answer and
/// drops others at a random moment; while `down` is true, it refuses every
/// connection and ends the open ones (the network is gone).
async fn proxy(
    upstreams: [SocketAddr; 2],
    faults: Arc<Faults>,
    chaos: Arc<AtomicBool>,
    down: tokio::sync::watch::Sender<bool>,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut rng = StdRng::seed_from_u64(7);
        while let Ok((client, _)) = listener.accept().await {
            if *down.borrow() {
                faults.refused.fetch_add(1, Ordering::Relaxed);
                drop(client);
                continue;
            }
            let roll: u32 = if chaos.load(Ordering::SeqCst) {
                rng.random_range(0..100)
            } else {
                99
            };
            let delay = Duration::from_millis(rng.random_range(0..300));
            let cut_after: usize = rng.random_range(0..400);
            let lifetime = Duration::from_millis(rng.random_range(50..2000));
            // Which of its pushes a passed connection sends twice (none
            // while the chaos is off).
            let twin_seed = chaos.load(Ordering::SeqCst).then(|| rng.random::<u64>());
            // A load balancer: either server process, whichever is up.
            let first = rng.random_range(0..2);
            let faults = faults.clone();
            let mut gone = down.subscribe();
            tokio::spawn(async move {
                let link = async {
                    let server = match TcpStream::connect(upstreams[first]).await {
                        Ok(server) => server,
                        Err(_) => match TcpStream::connect(upstreams[1 - first]).await {
                            Ok(server) => server,
                            Err(_) => {
                                faults.refused.fetch_add(1, Ordering::Relaxed);
                                return;
                            }
                        },
                    };
                    match roll {
                        0..15 => {
                            faults.delayed.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(delay).await;
                            pass(client, server).await;
                        }
                        15..30 => {
                            faults.cut.fetch_add(1, Ordering::Relaxed);
                            cut(client, server, cut_after).await;
                        }
                        30..55 => {
                            // A link that drops at some moment, whatever
                            // is in flight (a push, a page, the live stream).
                            faults.dropped.fetch_add(1, Ordering::Relaxed);
                            let _ = tokio::time::timeout(lifetime, pass(client, server)).await;
                        }
                        _ => {
                            // Passed on, except that some pushes arrive
                            // twice (a load balancer that retries): also
                            // at the other server, at the same moment.
                            faults.passed.fetch_add(1, Ordering::Relaxed);
                            duplicate(client, server, upstreams[1 - first], faults, twin_seed)
                                .await;
                        }
                    }
                };
                tokio::select! {
                    () = link => {}
                    _ = gone.wait_for(|down| *down) => {}
                }
            });
        }
    });
    addr
}

async fn pass(mut client: TcpStream, mut server: TcpStream) {
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// Passes the connection on, and sends one push on it in three to `twin` as
/// well, at the same moment, throwing that answer away: the same push
/// arrives twice, at both servers, as from a load balancer that retries.
/// Without a `seed` (no chaos), just passes it on.
async fn duplicate(
    client: TcpStream,
    server: TcpStream,
    twin: SocketAddr,
    faults: Arc<Faults>,
    seed: Option<u64>,
) {
    let Some(seed) = seed else {
        return pass(client, server).await;
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let answers = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
        let _ = to_client.shutdown().await;
    });
    let mut buffered = Vec::new();
    while let Some(request) = next_request(&mut from_client, &mut buffered).await {
        if request.starts_with(b"POST /sync/push ") && rng.random_range(0..3) == 0 {
            faults.duplicated.fetch_add(1, Ordering::Relaxed);
            let request = request.clone();
            tokio::spawn(async move {
                let Ok(mut copy) = TcpStream::connect(twin).await else {
                    return;
                };
                if copy.write_all(&request).await.is_ok() {
                    let mut answer = [0u8; 4096];
                    // Its answer's first bytes: the push went through.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(10), copy.read(&mut answer)).await;
                }
            });
        }
        if to_server.write_all(&request).await.is_err() {
            break;
        }
    }
    // What is left (a body not framed by Content-Length, or nothing): as it
    // comes.
    if to_server.write_all(&buffered).await.is_ok() {
        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
    }
    let _ = to_server.shutdown().await;
    let _ = answers.await;
}

/// The client's next request, whole (its headers and a `Content-Length`
/// body), from what `buffered` holds and what arrives; none at the end of
/// the stream, or for a request not framed that way (its bytes stay in
/// `buffered`).
async fn next_request(
    client: &mut tokio::net::tcp::OwnedReadHalf,
    buffered: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&buffered[..end]).to_ascii_lowercase();
            if headers.contains("\ntransfer-encoding:") {
                return None;
            }
            let length: usize = headers
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buffered.len() >= end + 4 + length {
                let rest = buffered.split_off(end + 4 + length);
                return Some(std::mem::replace(buffered, rest));
            }
        }
        let n = client.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        buffered.extend_from_slice(&buf[..n]);
    }
}

/// Forwards the request whole, and `limit` bytes of what comes back; then
/// both ends are closed, as a link dropping mid-answer would.
async fn cut(client: TcpStream, server: TcpStream, limit: usize) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut sent = 0;
    let mut buf = [0u8; 512];
    while sent < limit {
        match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let n = n.min(limit - sent);
                if client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                sent += n;
            }
        }
    }
    upstream.abort();
    let _ = client_write.shutdown().await;
}

/// What the clients recorded: row id → (table, who made it).
type Made = BTreeMap<Uuid, (&'static str, &'static str)>;

/// The rows of `table` that `email` made.
fn made_by(made: &Made, table: &str, email: &str) -> Vec<Uuid> {
    made.iter()
        .filter(|(_, (t, by))| *t == table && *by == email)
        .map(|(id, _)| *id)
        .collect()
}

const SUPERUSER_PASSWORD: &str = "superuser-secret-for-the-fault-test";
const APP_PASSWORD: &str = "app-secret-for-the-fault-test";
const JWT: &str = "fault-test-secret-that-is-long-enough-for-hs256";

/// The `sync-server` binary this workspace built: `cargo test --workspace`
/// (the test command) builds it before any test runs; alone, build it
/// first (`cargo build -p sync-server`), or name one in
/// `CRM_SYNC_SERVER_BIN`.
fn server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("CRM_SYNC_SERVER_BIN") {
        return path.into();
    }
    let path = Path::new(env!("CARGO_BIN_EXE_crm-sync")).with_file_name("sync-server");
    assert!(
        path.exists(),
        "{} is missing: `cargo build -p sync-server` first (the test command builds it)",
        path.display()
    );
    path
}

/// The servers' side, all real processes: a PostgreSQL of its own (so it
/// can be stopped and crashed without touching other tests) and two
/// `sync-server` processes on it, each on a port of its own that it gets
/// back when it is started again.
struct Site {
    work: tempfile::TempDir,
    pg_port: u16,
    db: Option<Cluster>,
    migrate_url: String,
    app_url: String,
    ports: [u16; 2],
    servers: [Option<std::process::Child>; 2],
    http: reqwest::Client,
}

impl Site {
    async fn start() -> Site {
        let work = tempfile::tempdir().unwrap();
        let pg_port = sync_server::harness::free_port();
        let db = start_db(&work.path().join("pg"), pg_port);
        db.create_database_if_missing("crm").unwrap();
        let migrate_url = db.url("crm");
        let app_url = db.url_as("crm_app", Some(APP_PASSWORD), "crm");
        sync_server::harness::migrate_with(
            &server_binary(),
            &migrate_url,
            work.path(),
            APP_PASSWORD,
        )
        .await;
        let mut site = Site {
            work,
            pg_port,
            db: Some(db),
            migrate_url,
            app_url,
            ports: [
                sync_server::harness::free_port(),
                sync_server::harness::free_port(),
            ],
            servers: [None, None],
            http: reqwest::Client::new(),
        };
        site.serve(0).await;
        site.serve(1).await;
        site
    }

    /// A pool of the database's owner, for setting up and checking.
    async fn pool(&self) -> PgPool {
        PgPool::connect(&self.migrate_url).await.unwrap()
    }

    /// Starts server `which` and waits until it answers.
    async fn serve(&mut self, which: usize) {
        let child = std::process::Command::new(server_binary())
            .env_remove("DATABASE_URL")
            .env("CRM_LOG", "error")
            .args(["--listen", &format!("127.0.0.1:{}", self.ports[which])])
            .args(["--database-url", &self.app_url])
            .args(["--migrate-database-url", &self.migrate_url])
            .args(["--jwt-secret", JWT])
            // Access tokens that last 40 s: the apps refresh their sign-in
            // every ten seconds or so, through the same faults.
            .args(["--access-token-ttl", "40"])
            .arg("--data-dir")
            .arg(self.work.path().join(format!("server-{which}")))
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.servers[which] = Some(child);
        let base = format!("http://127.0.0.1:{}", self.ports[which]);
        sync_server::harness::wait_healthy(&self.http, &base).await;
    }

    /// Server `which` dies at once (SIGKILL), whatever it was doing.
    fn kill(&mut self, which: usize) {
        if let Some(mut child) = self.servers[which].take() {
            kill9(child.id());
            let _ = child.wait();
        }
    }

    /// PostgreSQL stops: `fast` (its shutdown, which ends every session
    /// and rolls back what was open) or killed (SIGKILL of the
    /// postmaster: a crash, recovered from the WAL when it starts again).
    fn stop_db(&mut self, fast: bool) {
        let db = self.db.take().expect("PostgreSQL is running");
        if fast {
            db.stop().unwrap();
        } else {
            kill9(postmaster_pid(&self.work.path().join("pg")));
            drop(db);
        }
    }

    fn start_db(&mut self) {
        self.db = Some(start_db(&self.work.path().join("pg"), self.pg_port));
    }
}

impl Drop for Site {
    /// However the test ends, no server outlives it.
    fn drop(&mut self) {
        for child in self.servers.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_db(dir: &Path, port: u16) -> Cluster {
    sync_server::harness::start_own_cluster(dir, port, SUPERUSER_PASSWORD)
}

/// The app is killed (SIGKILL) in the middle of its sync: the user's
/// in-app engine stops, the replica is handed to the real `crm-sync`
/// binary (the same core, in a process of its own), which is killed at a
/// random moment of its pushes, uploads and pulls; then the app opens the
/// replica again. Returns whether work was waiting when it died.
async fn kill_the_app_mid_sync(client: Client, after: Duration) -> (Client, bool) {
    let data_dir = client.data_dir.clone();
    let online = client.engine.is_some();
    let mut client = client;
    client.stop_sync().await;
    drop(client);
    let mut app = tokio::process::Command::new(env!("CARGO_BIN_EXE_crm-sync"))
        .env(
            "CRM_REPLICA_PASSPHRASE",
            crm_desktop_core::fixtures::TEST_PASSPHRASE,
        )
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("sync")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::sleep(after).await;
    app.start_kill().unwrap();
    app.wait().await.unwrap();
    let mut client = Client::resume(data_dir);
    let waiting = client.with(|s| s.pending_count().unwrap()) > 0;
    if online {
        client.start_sync();
    }
    (client, waiting)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_or_applied_twice_whatever_dies_and_however_the_network_fails() {
    let steps: usize = std::env::var("FAULT_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    // Or for so many minutes, whatever the steps: the hour-long run.
    let until = std::env::var("FAULT_MINUTES")
        .ok()
        .and_then(|m| m.parse::<u64>().ok())
        .map(|m| Instant::now() + Duration::from_secs(m * 60));
    let started = Instant::now();
    let mut site = Site::start().await;
    let pool = site.pool().await;
    let mut people = Vec::new();
    for (email, role) in [
        ("ada@example.com", UserRole::Admin),
        ("ben@example.com", UserRole::Agent),
        ("cy@example.com", UserRole::Agent),
    ] {
        let account = sync_server::accounts::create_account(
            &pool,
            email,
            sync_server::harness::PASSWORD,
            Some(email),
            role,
        )
        .await
        .unwrap();
        people.push((email, account.id));
    }
    let faults = Arc::new(Faults::default());
    let chaos = Arc::new(AtomicBool::new(false));
    let down = tokio::sync::watch::Sender::new(false);
    let upstreams = site
        .ports
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)));
    let via = proxy(upstreams, faults.clone(), chaos.clone(), down.clone()).await;
    let url = format!("http://{via}");

    let homes: Vec<tempfile::TempDir> = people
        .iter()
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let mut clients = Vec::new();
    for ((email, _), home) in people.iter().zip(&homes) {
        let session = support::session_at(home.path(), url.as_str(), email).await;
        let mut client = Client::open(session, home.path().to_path_buf());
        client.start_sync();
        clients.push(client);
    }
    chaos.store(true, Ordering::SeqCst);

    let mut rng = StdRng::seed_from_u64(42);
    let mut made = Made::new();
    // Attachments made, with the SHA-256 of their bytes.
    let mut files: std::collections::HashMap<Uuid, String> = std::collections::HashMap::new();
    // Tickets the admin deleted, and what their makers attached to them:
    // a comment or file made offline on a ticket deleted meanwhile is
    // refused, and must then be in its maker's inbox.
    let mut deleted: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    let mut on_ticket: BTreeMap<Uuid, Uuid> = BTreeMap::new();
    let (mut outages, mut server_kills, mut offline_spells, mut actions) = (0, 0, 0, 0);
    let (mut db_stops, mut db_crashes, mut app_kills, mut app_kills_with_work) = (0, 0, 0, 0);
    for step in 0.. {
        let more = match until {
            Some(until) => Instant::now() < until,
            None => step < steps,
        };
        if !more {
            break;
        }
        let who = rng.random_range(0..clients.len());
        let email = people[who].0;
        // Every kind of fault at least once, whatever the dice say.
        let roll: u32 = match step {
            10 => 92,
            20 => 97,
            30 => 98,
            40 => 93,
            _ => rng.random_range(0..100),
        };
        let c = &mut clients[who];
        match roll {
            0..30 => {
                let customer = c.with(|s| {
                    s.create_customer(new_customer(&format!("{email} {step}")))
                        .unwrap()
                });
                made.insert(customer.id, ("customers", email));
            }
            30..50 => {
                // An edit of a customer this user manages (an admin: any),
                // so the admin's and the owner's edits of one field meet.
                let mine: Vec<_> = c.with(|s| {
                    s.list_customers(&CustomerFilter {
                        include_archived: true,
                        limit: Some(1000),
                        ..CustomerFilter::default()
                    })
                    .unwrap()
                });
                if let Some(item) = mine.get(rng.random_range(0..mine.len().max(1))) {
                    let customer = item.customer.clone();
                    let edit = CustomerEdit {
                        name: format!(
                            "{} / {step}",
                            customer.name.split(" / ").next().unwrap_or("")
                        ),
                        ..edit_of(&customer)
                    };
                    c.with(|s| s.update_customer(customer.id, edit).unwrap());
                }
            }
            50..65 => {
                let mine = made_by(&made, "customers", email);
                if let Some(customer) = mine.get(rng.random_range(0..mine.len().max(1))) {
                    let interaction = c.with(|s| {
                        s.log_interaction(NewInteraction {
                            customer_id: *customer,
                            interaction_type: "visit".into(),
                            channel: InteractionChannel::Phone,
                            note: Some(format!("step {step}")),
                            follow_up_date: None,
                            occurred_at: None,
                        })
                        .unwrap()
                    });
                    made.insert(interaction.id, ("customer_interactions", email));
                }
            }
            65..78 => {
                let ticket = c.with(|s| {
                    s.open_ticket(NewTicket {
                        title: format!("{email} {step}"),
                        description: None,
                        priority: TicketPriority::Medium,
                        customer_id: None,
                        assigned_to: None,
                    })
                    .unwrap()
                });
                made.insert(ticket.id, ("tickets", email));
            }
            78..84 => {
                let mine = made_by(&made, "tickets", email);
                if let Some(ticket) = mine.get(rng.random_range(0..mine.len().max(1))) {
                    let comment = c.with(|s| {
                        s.add_comment(NewComment {
                            ticket_id: *ticket,
                            content: format!("step {step}"),
                            is_internal: false,
                        })
                    });
                    match comment {
                        Ok(comment) => {
                            made.insert(comment.id, ("ticket_comments", email));
                            on_ticket.insert(comment.id, *ticket);
                        }
                        // The deletion reached this replica first.
                        Err(e) => assert!(deleted.contains(ticket), "{e}"),
                    }
                }
            }
            87..88 => {
                // The admin deletes one of an agent's tickets she has
                // heard of, while its maker may still be at work on it.
                let admin = &clients[0];
                let theirs: Vec<Uuid> = made
                    .iter()
                    .filter(|(id, (t, by))| {
                        *t == "tickets" && *by != people[0].0 && !deleted.contains(*id)
                    })
                    .map(|(id, _)| *id)
                    .filter(|id| admin.with(|s| s.ticket(*id).is_ok()))
                    .collect();
                if let Some(ticket) = theirs.get(rng.random_range(0..theirs.len().max(1))) {
                    admin.with(|s| s.delete_ticket(*ticket).unwrap());
                    deleted.insert(*ticket);
                    // Its maker, not knowing yet, adds a comment.
                    let maker = made[ticket].1;
                    let at = people.iter().position(|(e, _)| *e == maker).unwrap();
                    let comment = clients[at].with(|s| {
                        s.add_comment(NewComment {
                            ticket_id: *ticket,
                            content: format!("step {step}, on a ticket deleted meanwhile"),
                            is_internal: false,
                        })
                    });
                    if let Ok(comment) = comment {
                        made.insert(comment.id, ("ticket_comments", maker));
                        on_ticket.insert(comment.id, *ticket);
                    }
                }
            }
            84..87 => {
                // A file onto one of this user's tickets: its bytes go up
                // before its row, through the same cut connections.
                let mine = made_by(&made, "tickets", email);
                if let Some(ticket) = mine.get(rng.random_range(0..mine.len().max(1))) {
                    let mut bytes = b"%PDF-1.7\n".to_vec();
                    let len = rng.random_range(1_000..300_000);
                    bytes.extend((0..len).map(|i| b'a' + ((i + step) % 26) as u8));
                    let cache = c.with(|s| s.files().clone());
                    let staged = cache.stage(&mut std::io::Cursor::new(&bytes)).unwrap();
                    match c.with(|s| s.attach(*ticket, &format!("step-{step}.pdf"), &staged)) {
                        Ok(attachment) => {
                            made.insert(attachment.id, ("ticket_attachments", email));
                            on_ticket.insert(attachment.id, *ticket);
                            files.insert(attachment.id, staged.sha256);
                        }
                        Err(e) => assert!(deleted.contains(ticket), "{e}"),
                    }
                }
            }
            88..92 => {
                // The laptop goes offline, or comes back.
                if c.engine.is_some() {
                    c.stop_sync().await;
                    offline_spells += 1;
                } else {
                    c.start_sync();
                }
            }
            92..93 => {
                // PostgreSQL stops, fast or by crashing, under the servers'
                // feet, and is started again a moment later.
                let fast = rng.random_bool(0.5) || db_stops == 0;
                site.stop_db(fast);
                tokio::time::sleep(Duration::from_millis(rng.random_range(50..500))).await;
                site.start_db();
                if fast {
                    db_stops += 1;
                } else {
                    db_crashes += 1;
                }
            }
            93..95 => {
                // The servers' network goes away for a moment.
                down.send_replace(true);
                tokio::time::sleep(Duration::from_millis(rng.random_range(50..400))).await;
                down.send_replace(false);
                outages += 1;
            }
            95..98 => {
                // A server process dies (SIGKILL, in the middle of
                // whatever it was doing) and is started again.
                let which = rng.random_range(0..2);
                site.kill(which);
                tokio::time::sleep(Duration::from_millis(rng.random_range(50..400))).await;
                site.serve(which).await;
                server_kills += 1;
            }
            _ => {
                // The app dies (SIGKILL) mid-sync and is opened again.
                let client = clients.remove(who);
                let after = Duration::from_millis(rng.random_range(50..1500));
                let (client, waiting) = kill_the_app_mid_sync(client, after).await;
                clients.insert(who, client);
                app_kills += 1;
                app_kills_with_work += usize::from(waiting);
            }
        }
        actions += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..40))).await;
    }

    // Settle: the network heals, every laptop comes online and catches up
    // (twice round, so each hears what the others sent last).
    chaos.store(false, Ordering::SeqCst);
    for c in &mut clients {
        if c.engine.is_none() {
            c.start_sync();
        }
    }
    for _ in 0..2 {
        for c in &clients {
            c.synced().await;
        }
    }

    // What the server refused, by row: only work on a deleted ticket.
    let mut refused = std::collections::HashSet::new();
    for (c, (email, _)) in clients.iter().zip(&people) {
        let inbox = c.with(|s| s.inbox().unwrap());
        for change in &inbox.rejected {
            let on_deleted = on_ticket
                .get(&change.row_id)
                .is_some_and(|t| deleted.contains(t));
            assert!(
                on_deleted,
                "{email}: refused, though its ticket is there: {change:?}"
            );
            refused.insert(change.row_id);
        }
        assert_eq!(c.with(|s| s.pending_count().unwrap()), 0, "{email}");
    }

    // Every recorded row once, with one INSERT audit row.
    let pool = site.pool().await;
    let mut lost = 0;
    let mut doubled = 0;
    for (id, (table, by)) in &made {
        let count = match *table {
            "customers" => "SELECT count(*) FROM customers WHERE id = $1",
            "customer_interactions" => "SELECT count(*) FROM customer_interactions WHERE id = $1",
            "tickets" => "SELECT count(*) FROM tickets WHERE id = $1",
            "ticket_attachments" => "SELECT count(*) FROM ticket_attachments WHERE id = $1",
            _ => "SELECT count(*) FROM ticket_comments WHERE id = $1",
        };
        let rows: i64 = sqlx::query_scalar(count)
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        let audits: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_history WHERE record_id = $1 AND action = 'INSERT'",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        let gone_with_its_ticket =
            deleted.contains(id) || on_ticket.get(id).is_some_and(|t| deleted.contains(t));
        if gone_with_its_ticket {
            // Applied once and deleted with the ticket, or refused (and
            // then in its maker's inbox, checked below).
            if audits > 1 || (audits == 1) == refused.contains(id) {
                doubled += usize::from(audits > 1 || (audits == 1 && refused.contains(id)));
                lost += usize::from(audits == 0 && !refused.contains(id));
                eprintln!("{table} {id} by {by} on a deleted ticket: {audits} insert audit rows");
            }
            continue;
        }
        if rows == 0 {
            lost += 1;
            eprintln!("lost: {table} {id} by {by}");
        }
        if rows > 1 || audits != 1 {
            doubled += 1;
            eprintln!("{table} {id} by {by}: {rows} rows, {audits} insert audit rows");
        }
    }
    // Each attachment's file arrived, once, with its bytes.
    let mut files_lost = 0;
    for (id, sha256) in &files {
        if on_ticket.get(id).is_some_and(|t| deleted.contains(t)) {
            continue;
        }
        let stored: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT o.content_sha256 FROM ticket_attachments a
               JOIN storage.objects o ON o.bucket_id = 'ticket-attachments' AND o.name = a.file_path
              WHERE a.id = $1",
        )
        .bind(id)
        .fetch_all(&pool)
        .await
        .unwrap();
        if stored != [Some(sha256.clone())] {
            files_lost += 1;
            eprintln!("attachment {id}: stored {stored:?}, expected {sha256}");
        }
    }
    println!(
        "faults: {actions} actions in {:.0?} ({} rows made, {} of them attachments with their files; \
         {} tickets deleted by the admin, {} changes on them refused and in their makers' inboxes); \
         {server_kills} server processes killed (SIGKILL), {db_stops} PostgreSQL fast stops, \
         {db_crashes} PostgreSQL crashes (SIGKILL), {app_kills} apps killed mid-sync (SIGKILL; \
         {app_kills_with_work} with work waiting), {outages} network outages, \
         {offline_spells} offline spells; \
         connections passed {}, delayed {}, cut mid-answer {}, dropped mid-flight {}, refused {}; \
         pushes sent twice {}; lost {lost}, applied twice {doubled}",
        started.elapsed(),
        made.len(),
        files.len(),
        deleted.len(),
        refused.len(),
        faults.passed.load(Ordering::Relaxed),
        faults.delayed.load(Ordering::Relaxed),
        faults.cut.load(Ordering::Relaxed),
        faults.dropped.load(Ordering::Relaxed),
        faults.refused.load(Ordering::Relaxed),
        faults.duplicated.load(Ordering::Relaxed),
    );
    assert_eq!(
        files_lost, 0,
        "every attachment's bytes are on the server once"
    );
    // Each replica holds exactly what its user may see: every table's
    // checksum (ids and versions) as the server computes it under the
    // user's row-level security, and the customers in full.
    for (c, (email, user)) in clients.iter().zip(&people) {
        let mut tx =
            sync_server::data::acting::begin_as(&pool, &sync_server::data::Claims::user(*user))
                .await
                .unwrap();
        let mut sums = BTreeMap::new();
        for table in crm_domain::catalogue::TABLES.map(|t| t.name) {
            let (count, sum): (i64, String) =
                sqlx::query_as("SELECT row_count, fingerprint_sum::text FROM sync.checksum($1)")
                    .bind(table)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
            sums.insert(table.to_owned(), TableChecksum { count, sum });
        }
        let mut server: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, name FROM customers ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        tx.rollback().await.unwrap();
        let drifted = c.with(|s| s.drifted_tables(&sums).unwrap());
        assert!(
            drifted.is_empty(),
            "{email}'s replica differs in {drifted:?}"
        );
        // Page by page: the app's list gives at most 1,000 at a time.
        let mut replica: Vec<(Uuid, String)> = Vec::new();
        loop {
            let page = c.with(|s| {
                s.list_customers(&CustomerFilter {
                    include_archived: true,
                    limit: Some(1000),
                    offset: Some(u32::try_from(replica.len()).unwrap()),
                    ..CustomerFilter::default()
                })
                .unwrap()
            });
            if page.is_empty() {
                break;
            }
            replica.extend(page.into_iter().map(|i| (i.customer.id, i.customer.name)));
        }
        server.sort();
        replica.sort();
        assert_eq!(replica, server, "{email}'s replica is what they may see");
    }
    assert_eq!((lost, doubled), (0, 0));
    assert!(
        faults.cut.load(Ordering::Relaxed) > 0,
        "the run cut some answers"
    );
    assert!(server_kills > 0 && db_stops > 0 && db_crashes > 0 && app_kills > 0);
    drop(clients);
    pool.close().await;
}
