//! Nothing is lost under faults: three real desktop cores (an admin and two
//! agents) make random changes of every kind, offline and online, through a
//! fault-injecting TCP proxy of our own on loopback (connections refused,
//! delayed, cut in the middle of a response, or dropped at a random moment,
//! so pushes are applied and their answers lost, and sent again; pushes
//! sent to both servers at once, as a retrying load balancer would), while the server goes away and
//! comes back. Then everything settles and the test checks: every change a
//! client recorded is in PostgreSQL exactly once, with exactly one audit
//! row; nothing was refused; every replica holds exactly what its user may
//! see, with the server's values.
//!
//! `FAULT_STEPS` (default 150, about half a minute) sets the length; run it
//! longer on demand: `FAULT_STEPS=5000 cargo test -p crm-desktop-core --test
//! faults -- --nocapture`. The figures are printed.
//!
//! The server "processes" are two independent servers in this process (each
//! its own pool, LISTEN connection and budgets); a crash aborts one with
//! its connections. Not yet here (see the notes of issue 14): SIGKILL of
//! real processes, of clients, and PostgreSQL restarts.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crm_desktop_core::store::customers::{CustomerEdit, CustomerFilter};
use crm_domain::drafts::{NewComment, NewInteraction, NewTicket};
use crm_domain::{InteractionChannel, TicketPriority};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::{Backend, Client, Team, edit_of, new_customer};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_or_applied_twice_through_cut_connections_and_outages() {
    let steps: usize = std::env::var("FAULT_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let mut backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let faults = Arc::new(Faults::default());
    let chaos = Arc::new(AtomicBool::new(false));
    let down = tokio::sync::watch::Sender::new(false);
    // A second server process on the same database, behind the same proxy.
    let (second, _second_dir) = backend
        .another_process("127.0.0.1:0".parse().unwrap())
        .await;
    let second_addr = second.addr;
    let mut second = Some(second);
    let mut second_dirs = vec![_second_dir];
    let via = proxy(
        [backend.addr, second_addr],
        faults.clone(),
        chaos.clone(),
        down.clone(),
    )
    .await;
    let url = format!("http://{via}");

    let people = [
        ("ada@example.com", team.ada),
        ("ben@example.com", team.ben),
        ("cy@example.com", team.cy),
    ];
    let mut clients = Vec::new();
    for (email, _) in people {
        let mut client = Client::sign_in_via(&url, email).await;
        client.start_sync();
        clients.push(client);
    }
    chaos.store(true, Ordering::SeqCst);

    let mut rng = StdRng::seed_from_u64(42);
    let mut made = Made::new();
    // Attachments made, with the SHA-256 of their bytes.
    let mut files: std::collections::HashMap<Uuid, String> = std::collections::HashMap::new();
    let (mut outages, mut crashes, mut offline_spells, mut actions) = (0, 0, 0, 0);
    let mut database_drops = 0;
    for step in 0..steps {
        let who = rng.random_range(0..clients.len());
        let email = people[who].0;
        let roll: u32 = rng.random_range(0..100);
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
                // An edit of a customer this user manages (an admin: any).
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
                let mine: Vec<Uuid> = made
                    .iter()
                    .filter(|(_, (t, by))| *t == "customers" && *by == email)
                    .map(|(id, _)| *id)
                    .collect();
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
            84..88 => {
                // A file onto one of this user's tickets: its bytes go up
                // before its row, through the same cut connections.
                let mine: Vec<Uuid> = made
                    .iter()
                    .filter(|(_, (t, by))| *t == "tickets" && *by == email)
                    .map(|(id, _)| *id)
                    .collect();
                if let Some(ticket) = mine.get(rng.random_range(0..mine.len().max(1))) {
                    let mut bytes = b"%PDF-1.7\n".to_vec();
                    let len = rng.random_range(1_000..300_000);
                    bytes.extend((0..len).map(|i| b'a' + ((i + step) % 26) as u8));
                    let cache = c.with(|s| s.files().clone());
                    let staged = cache.stage(&mut std::io::Cursor::new(&bytes)).unwrap();
                    let attachment = c.with(|s| {
                        s.attach(*ticket, &format!("step-{step}.pdf"), &staged)
                            .unwrap()
                    });
                    made.insert(attachment.id, ("ticket_attachments", email));
                    files.insert(attachment.id, staged.sha256);
                }
            }
            78..84 => {
                let mine: Vec<Uuid> = made
                    .iter()
                    .filter(|(_, (t, by))| *t == "tickets" && *by == email)
                    .map(|(id, _)| *id)
                    .collect();
                if let Some(ticket) = mine.get(rng.random_range(0..mine.len().max(1))) {
                    let comment = c.with(|s| {
                        s.add_comment(NewComment {
                            ticket_id: *ticket,
                            content: format!("step {step}"),
                            is_internal: false,
                        })
                        .unwrap()
                    });
                    made.insert(comment.id, ("ticket_comments", email));
                }
            }
            88..94 => {
                // The laptop goes offline, or comes back.
                if c.engine.is_some() {
                    c.stop_sync().await;
                    offline_spells += 1;
                } else {
                    c.start_sync();
                }
            }
            94..95 => {
                // PostgreSQL drops every connection of the servers (as a
                // crash and restart of it would, mid-transaction).
                sqlx::query(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .execute(backend.pool())
                .await
                .unwrap();
                database_drops += 1;
            }
            95..97 => {
                // The servers' network goes away for a moment.
                down.send_replace(true);
                tokio::time::sleep(Duration::from_millis(rng.random_range(50..400))).await;
                down.send_replace(false);
                outages += 1;
            }
            _ => {
                // A server process crashes (in the middle of whatever it
                // was doing) and is started again.
                if rng.random_bool(0.5) {
                    backend.crash();
                    tokio::time::sleep(Duration::from_millis(rng.random_range(50..400))).await;
                    backend.restart().await;
                } else {
                    if let Some(server) = second.take() {
                        server.crash();
                    }
                    tokio::time::sleep(Duration::from_millis(rng.random_range(50..400))).await;
                    let mut again = None;
                    for _ in 0..50 {
                        if tokio::net::TcpListener::bind(second_addr).await.is_ok() {
                            again = Some(backend.another_process(second_addr).await);
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    let (server, dir) = again.expect("the second server's address is free again");
                    second = Some(server);
                    second_dirs.push(dir);
                }
                crashes += 1;
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

    // Every recorded row once, with one INSERT audit row.
    let pool = backend.pool();
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
            .fetch_one(pool)
            .await
            .unwrap();
        let audits: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_history WHERE record_id = $1 AND action = 'INSERT'",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
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
        let stored: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT o.content_sha256 FROM ticket_attachments a
               JOIN storage.objects o ON o.bucket_id = 'ticket-attachments' AND o.name = a.file_path
              WHERE a.id = $1",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .unwrap();
        if stored != [Some(sha256.clone())] {
            files_lost += 1;
            eprintln!("attachment {id}: stored {stored:?}, expected {sha256}");
        }
    }
    assert_eq!(
        files_lost, 0,
        "every attachment's bytes are on the server once"
    );
    // Nothing refused, nothing left to send.
    for (c, (email, _)) in clients.iter().zip(people) {
        let inbox = c.with(|s| s.inbox().unwrap());
        assert!(inbox.rejected.is_empty(), "{email}: {:?}", inbox.rejected);
        assert_eq!(c.with(|s| s.pending_count().unwrap()), 0, "{email}");
    }
    // Each replica holds what its user may see, with the server's values.
    for (c, (email, user)) in clients.iter().zip(people) {
        let mut tx =
            sync_server::data::acting::begin_as(pool, &sync_server::data::Claims::user(user))
                .await
                .unwrap();
        let mut server: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, name FROM customers ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        tx.rollback().await.unwrap();
        let mut replica: Vec<(Uuid, String)> = c.with(|s| {
            s.list_customers(&CustomerFilter {
                include_archived: true,
                limit: Some(1000),
                ..CustomerFilter::default()
            })
            .unwrap()
            .into_iter()
            .map(|i| (i.customer.id, i.customer.name))
            .collect()
        });
        server.sort();
        replica.sort();
        assert_eq!(replica, server, "{email}'s replica is what they may see");
    }
    println!(
        "faults: {actions} actions ({} rows made, {} of them attachments with their files), {crashes} server crashes, {outages} network outages, \
         {database_drops} times PostgreSQL dropped every connection, \
         {offline_spells} offline spells; \
         connections passed {}, delayed {}, cut mid-answer {}, dropped mid-flight {}, refused {}; \
         pushes sent twice {}; lost {lost}, applied twice {doubled}",
        made.len(),
        files.len(),
        faults.passed.load(Ordering::Relaxed),
        faults.delayed.load(Ordering::Relaxed),
        faults.cut.load(Ordering::Relaxed),
        faults.dropped.load(Ordering::Relaxed),
        faults.refused.load(Ordering::Relaxed),
        faults.duplicated.load(Ordering::Relaxed),
    );
    assert_eq!((lost, doubled), (0, 0));
    assert!(
        faults.cut.load(Ordering::Relaxed) > 0,
        "the run cut some answers"
    );
}
