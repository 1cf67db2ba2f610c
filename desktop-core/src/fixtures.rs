//! Sample data for the benchmarks (feature `fixtures`; this crate's and the
//! app's): replicas of many customers, built through the same page-applying
//! path a pull uses. Never compiled into the app.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use crate::vault::ReplicaKey;
use std::path::Path;

use crm_domain::UserRole;
use crm_domain::protocol::{Change, PullResponse};
use rand::Rng;
use rand::seq::IndexedRandom;
use uuid::Uuid;

use crate::Store;

pub const FIRST: &[&str] = &[
    "Ada", "Ben", "Cora", "Dmitri", "Elif", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kemal",
    "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor",
    "Wen", "Yusuf", "Zofia",
];
pub const LAST: &[&str] = &[
    "Andersen",
    "Baker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Horvat",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Umarov",
    "Varga",
    "Weber",
    "Yilmaz",
    "Zimmermann",
];
pub const TRADE: &[&str] = &[
    "Bakery",
    "Plumbing",
    "Logistics",
    "Dental",
    "Garage",
    "Florist",
    "Hardware",
    "Consulting",
    "Printing",
    "Roofing",
    "Catering",
    "Pharmacy",
];

/// A fixed key for replicas tests open directly (no keyring, no
/// passphrase to stretch).
pub fn test_key() -> ReplicaKey {
    ReplicaKey::Raw([7; 32])
}

/// The passphrase test clients protect their replicas with, where no
/// keyring answers (as in CI).
pub const TEST_PASSPHRASE: &str = "a test passphrase nobody would guess";

/// A connection of its own to the replica at `path` (beside the app's,
/// as SQLite allows), opened with `key`: for tests that look inside.
pub fn side_connection(path: &Path, key: &ReplicaKey) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    key.unlock(&conn).unwrap();
    conn
}

/// The key test clients' replicas have (`TEST_PASSPHRASE`).
pub fn test_passphrase() -> ReplicaKey {
    ReplicaKey::Passphrase(TEST_PASSPHRASE.to_owned())
}

/// A replica holding `n` customers (owned by its user), made through the
/// same page-applying path a pull uses.
pub fn replica_with_customers(path: &Path, n: usize, key: &ReplicaKey) -> Uuid {
    let me = Uuid::now_v7();
    let mut store = Store::open(path, key).unwrap();
    store.set_user(me, UserRole::Agent).unwrap();
    add_customers(&mut store, me, n);
    me
}

/// Adds `n` customers owned by `owner` to a replica, through the same
/// page-applying path a pull uses.
pub fn add_customers(store: &mut Store, owner: Uuid, n: usize) {
    let mut rng = rand::rng();
    let mut changes = Vec::with_capacity(5000);
    for i in 0..n {
        let first = FIRST.choose(&mut rng).unwrap();
        let last = LAST.choose(&mut rng).unwrap();
        let trade = TRADE.choose(&mut rng).unwrap();
        let stage = ["lead", "qualified", "proposal"][i % 3];
        let row = serde_json::json!({
            "id": Uuid::now_v7(), "name": format!("{last} {trade} {i}"),
            "email": format!("{}.{}{i}@example.com", first.to_lowercase(), last.to_lowercase()),
            "phone": format!("+44 20 {:04} {:04}", rng.random_range(0..10000), i % 10000),
            "product_id": null, "status": "active",
            "acquisition_stage": stage, "owner": owner,
            "is_archived": false,
            "created_at": "2026-11-01T10:00:00+00:00", "updated_at": "2026-11-01T10:00:00+00:00"
        });
        changes.push(Change::Upsert {
            table: crm_domain::protocol::SyncTable::Customers.name().into(),
            row: serde_json::value::to_raw_value(&row).unwrap(),
        });
        if changes.len() == 5000 || i + 1 == n {
            store
                .apply_pull(&PullResponse {
                    changes: std::mem::take(&mut changes),
                    cursor: "bench".into(),
                    has_more: false,
                    last_seq: 0,
                    reset: false,
                    progress: None,
                    checksums: None,
                })
                .unwrap();
        }
    }
}

/// Builds the search index in one pass, as the end of a first load does,
/// on a connection of the caller's (the load benchmark's plain-insert
/// baseline, which must index exactly as the replica does).
pub fn rebuild_search(conn: &rusqlite::Connection) {
    crate::store::replica::rebuild_search(conn).unwrap();
}
