//! The sync protocol spoken between the desktop app and the sync server.
//! Both sides use these definitions; neither redefines them.
//!
//! Writes travel as [`Mutation`]s from a client's outbox, each with the
//! client's install id and a gap-free sequence number, so the server applies
//! each exactly once and a replay returns the stored result. An update
//! carries, per changed field, the value the client last saw (`base`), which
//! lets the server merge concurrent offline edits field by field (see
//! [`crate::merge`]).
//!
//! The version is negotiated on every request: a client speaking an older
//! version than the server supports is told to upgrade (and keeps its
//! outbox); nothing is ever wiped because of a version mismatch.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::catalogue::{self, Table};
pub use crate::codes::RejectionCode;

/// The protocol version this build speaks.
///
/// - 1: the first (push, pull, live events).
/// - 2: a push's answer may say `forked` (a restored or copied replica,
///   security review M4), and the client must then take a new client id
///   and send the rest again. A client of version 1 does not know this: it
///   would send the same batch for ever, its new work never applied.
pub const PROTOCOL_VERSION: u32 = 2;

/// The oldest client protocol version the server still accepts: 2, since a
/// client of version 1 cannot recover from a forked replica (see
/// [`PROTOCOL_VERSION`]). Older clients are answered 426
/// `upgrade_required` and keep their outbox until they are updated.
pub const MIN_SUPPORTED_PROTOCOL_VERSION: u32 = 2;

/// Most mutations one push may carry; a client with more sends several.
pub const MAX_MUTATIONS_PER_PUSH: usize = 1000;

/// The tables a client may write through sync, and the columns it may set.
/// Everything else (ids' defaults, authors, timestamps, derived stamps) is
/// the server's to fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncTable {
    Profiles,
    Products,
    AcquisitionStages,
    Customers,
    CustomerInteractions,
    Tickets,
    TicketAssignees,
    TicketComments,
    TicketAttachments,
}

impl SyncTable {
    pub const ALL: [SyncTable; 9] = [
        Self::Profiles,
        Self::Products,
        Self::AcquisitionStages,
        Self::Customers,
        Self::CustomerInteractions,
        Self::Tickets,
        Self::TicketAssignees,
        Self::TicketComments,
        Self::TicketAttachments,
    ];

    /// The table's definition in the catalogue: its columns, who may write
    /// them, its parent.
    pub const fn def(self) -> &'static Table {
        match self {
            Self::Profiles => &catalogue::PROFILES,
            Self::Products => &catalogue::PRODUCTS,
            Self::AcquisitionStages => &catalogue::ACQUISITION_STAGES,
            Self::Customers => &catalogue::CUSTOMERS,
            Self::CustomerInteractions => &catalogue::CUSTOMER_INTERACTIONS,
            Self::Tickets => &catalogue::TICKETS,
            Self::TicketAssignees => &catalogue::TICKET_ASSIGNEES,
            Self::TicketComments => &catalogue::TICKET_COMMENTS,
            Self::TicketAttachments => &catalogue::TICKET_ATTACHMENTS,
        }
    }

    /// The table's name in both databases.
    pub const fn name(self) -> &'static str {
        self.def().name
    }

    /// The table of that name, if clients may write it.
    pub fn from_name(name: &str) -> Option<SyncTable> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Columns a client may give when creating a row (besides `id`).
    pub fn insertable_columns(self) -> impl Iterator<Item = &'static str> {
        self.def().insertable().map(|c| c.name)
    }

    /// Columns a client may change on an existing row.
    pub fn updatable_columns(self) -> impl Iterator<Item = &'static str> {
        self.def().updatable().map(|c| c.name)
    }

    /// The customer or ticket a row hangs off, and the column naming it:
    /// the row follows its visibility, and a change to the row is "about"
    /// it (the inbox names it; the server explains a refusal by it).
    pub fn parent(self) -> Option<(SyncTable, &'static str)> {
        let parent = self.def().parent?;
        Some((Self::from_name(parent.table.name)?, parent.column))
    }

    /// The column that says when a row was made, where a client may give it
    /// on insert: the time the agent did the thing (offline work keeps its
    /// time), not the time it reached the server. PostgreSQL clamps it to
    /// its own clock (a row cannot be made in the future), and audit rows
    /// keep the server's time regardless.
    pub fn creation_column(self) -> Option<&'static str> {
        self.def().creation_column()
    }
}

/// What a mutation does to its row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MutationOp {
    Insert {
        values: BTreeMap<String, Value>,
    },
    Update {
        changes: BTreeMap<String, FieldChange>,
    },
    Delete,
}

/// One field of an update: the value the client last saw, and its new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub base: Value,
    pub value: Value,
}

/// One change from a client's outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mutation {
    /// Gap-free per client, from 1.
    pub seq: i64,
    pub table: SyncTable,
    pub row_id: Uuid,
    #[serde(flatten)]
    pub op: MutationOp,
    /// When the agent made the change, by the client's clock. Decides which
    /// of two concurrent edits of one field wins (clamped to the server's
    /// clock, so a clock running ahead cannot win everything).
    pub edited_at: DateTime<Utc>,
}

impl Mutation {
    /// What the mutation says, as 32 hex digits (md5 of its JSON, whose
    /// object keys are sorted): equal for a replay of it, different for
    /// another mutation under the same number (a restored or copied
    /// replica's).
    pub fn fingerprint(&self) -> String {
        use md5::{Digest, Md5};
        let text = serde_json::to_string(self).unwrap_or_default();
        Md5::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    pub protocol_version: u32,
    /// The install id of the client (one per user and machine).
    pub client_id: Uuid,
    pub mutations: Vec<Mutation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    /// Every mutation up to this one is settled (applied, merged or
    /// rejected): the client may drop them from its outbox.
    pub last_seq: i64,
    /// The server holds a different mutation under a number this client
    /// sent (the replica was restored from a backup, or copied to another
    /// machine, and both went on numbering from the same point). Nothing
    /// after `last_seq` was applied: the client takes a new client id and
    /// sends the rest again under it. Absent from older servers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResult {
    pub seq: i64,
    #[serde(flatten)]
    pub outcome: MutationOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MutationOutcome {
    /// Applied as sent.
    Applied,
    /// Applied, but some fields met a concurrent edit; each is a recorded
    /// conflict whose losing value can be seen and restored.
    Merged { conflicts: Vec<FieldConflict> },
    /// Not applied; nothing of it changed. It still used up its sequence
    /// number, so the mutations after it go ahead.
    Rejected {
        code: RejectionCode,
        message: String,
        /// The field the refusal concerns, when it concerns one (a rule of
        /// that field, a constraint named after it). Absent from older
        /// servers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        /// What happened to the row, when that is why: the agent reads
        /// "Ada Admin reassigned Stark Hardware to herself at 15:17", not a
        /// rule's code. Absent from older servers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<RefusalReason>,
    },
}

/// What someone did that put a row out of the user's reach: the customer
/// (of a customer, interaction) or ticket (of a ticket, comment, assignee,
/// attachment) the refused change was about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusalReason {
    pub kind: RefusalKind,
    /// Who did it, and their name as colleagues see it (none: the system).
    pub by: Option<Uuid>,
    pub by_name: Option<String>,
    /// For a reassignment: the new owner.
    pub to: Option<Uuid>,
    pub to_name: Option<String>,
    /// When, by the server's clock.
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The customer was given to someone else.
    Reassigned,
    /// The customer or ticket was deleted.
    Deleted,
}

/// A field both sides changed: which value now stands and which lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldConflict {
    pub conflict_id: Uuid,
    pub field: String,
    /// The value the row now has.
    pub kept: Value,
    /// The value that lost; restoring it is a new edit.
    pub lost: Value,
    /// Whether the lost value is this client's (false: its edit won over
    /// someone else's, whose value is kept in the conflict record).
    pub lost_is_yours: bool,
}

/// Most changes (or, on a first load, rows) one pull page carries.
pub const PULL_PAGE_SIZE: usize = 5000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullRequest {
    pub protocol_version: u32,
    pub client_id: Uuid,
    /// The `cursor` of the previous page; none for a fresh replica.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Ask for per-table checksums when the answer reaches the present.
    #[serde(default)]
    pub checksums: bool,
    /// Tables whose checksum disagreed: send them whole again (in pages,
    /// with progress), then carry on from `cursor`, which must be a caught-up
    /// one. The client empties those tables first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refetch: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// Apply these in order, in one local transaction, then store `cursor`.
    pub changes: Vec<Change>,
    /// Opaque: send it with the next pull.
    pub cursor: String,
    /// More pages are waiting: pull again at once.
    pub has_more: bool,
    /// The client's mutations up to this number are settled on the server.
    pub last_seq: i64,
    /// The user's access changed wholesale (e.g. their role): drop the
    /// replica (never the outbox) and pull again without a cursor.
    #[serde(default)]
    pub reset: bool,
    /// During a first load: rows sent so far, and the total to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// When asked for and caught up: what the replica should hold, per
    /// table, to find out whether it drifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums: Option<BTreeMap<String, TableChecksum>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// One row's news: `{"upsert": {"table": ..., "row": {...}}}` or
/// `{"remove": {"table": ..., "row_id": ...}}`. (Externally tagged: an
/// internally tagged enum buffers its content, and raw JSON cannot pass
/// through that buffer.)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The row as the user may see it now: insert or replace it. Kept as
    /// raw JSON text: the server passes PostgreSQL's JSON through, and the
    /// client parses a row only when it stores it.
    Upsert {
        table: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        row: Box<serde_json::value::RawValue>,
    },
    /// The row is gone, or no longer visible to the user: remove it (and
    /// nothing else: its dependants come with their own removals).
    Remove { table: String, row_id: Uuid },
}

/// How many rows of a table the user should hold, and the sum of their
/// fingerprints: the first 15 hex digits of md5(`{id}|{updated_at}`) read as
/// a number, where `updated_at` is the row's JSON string (empty if none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TableChecksum {
    pub count: i64,
    /// A decimal integer (it can exceed 64 bits).
    pub sum: String,
}

/// A row's fingerprint for [`TableChecksum`]: the first 15 hex digits of
/// md5(`{id}|{updated_at}`), `updated_at` being the row's JSON string or
/// empty. The server computes the same in SQL (`sync.checksum`).
pub fn row_fingerprint(row: &Value) -> Option<u64> {
    let id = row.get("id")?.as_str()?;
    let updated_at = row.get("updated_at").and_then(Value::as_str).unwrap_or("");
    Some(fingerprint(id, updated_at))
}

/// [`row_fingerprint`] from the two fields themselves, for a replica that
/// holds rows as columns (hashing a million rows must not build a million
/// JSON objects).
pub fn fingerprint(id: &str, updated_at: &str) -> u64 {
    use md5::{Digest, Md5};
    let digest = Md5::new()
        .chain_update(id.as_bytes())
        .chain_update(b"|")
        .chain_update(updated_at.as_bytes())
        .finalize();
    // 15 hex digits = the first 7.5 bytes: 60 bits.
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) >> 4
}

impl TableChecksum {
    /// The checksum of the rows a replica holds for one table.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a Value>) -> TableChecksum {
        Self::of_fingerprints(rows.into_iter().filter_map(row_fingerprint))
    }

    /// The checksum of rows given by their [`fingerprint`]s.
    pub fn of_fingerprints(fingerprints: impl IntoIterator<Item = u64>) -> TableChecksum {
        let (count, sum) = fingerprints
            .into_iter()
            .fold((0i64, 0u128), |(n, sum), f| (n + 1, sum + u128::from(f)));
        TableChecksum {
            count,
            sum: sum.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190a0c8-0000-7000-8000-000000000001";

    // Expected values: the first 15 hex digits of md5, computed outside Rust
    // (Python's hashlib), as PostgreSQL's `sync.checksum` reads them.
    #[test]
    fn fingerprint_is_the_first_fifteen_hex_digits_of_md5() {
        assert_eq!(
            fingerprint(ID, "2026-11-25T09:00:00+00:00"),
            478_917_684_946_891_474
        );
        assert_eq!(fingerprint(ID, ""), 588_406_450_211_719_918);
    }

    #[test]
    fn rows_hang_off_a_customer_or_a_ticket_one_level_deep() {
        for table in SyncTable::ALL {
            if let Some((parent, column)) = table.parent() {
                assert!(matches!(parent, SyncTable::Customers | SyncTable::Tickets));
                assert_eq!(parent.parent(), None, "{table:?}");
                assert!(table.insertable_columns().any(|c| c == column), "{table:?}");
            }
        }
        assert_eq!(
            SyncTable::TicketComments.parent(),
            Some((SyncTable::Tickets, "ticket_id"))
        );
    }

    #[test]
    fn a_rows_fingerprint_reads_its_id_and_updated_at() {
        let row = serde_json::json!({"id": ID, "name": "Acme", "updated_at": "2026-11-25T09:00:00+00:00"});
        assert_eq!(
            row_fingerprint(&row),
            Some(fingerprint(ID, "2026-11-25T09:00:00+00:00"))
        );
        let without = serde_json::json!({"id": ID, "name": "Acme"});
        assert_eq!(row_fingerprint(&without), Some(fingerprint(ID, "")));
        assert_eq!(row_fingerprint(&serde_json::json!({"name": "Acme"})), None);
    }

    #[test]
    fn a_table_is_found_by_its_name_and_only_if_clients_write_it() {
        for table in SyncTable::ALL {
            assert_eq!(SyncTable::from_name(table.name()), Some(table));
        }
        assert_eq!(SyncTable::from_name(crate::catalogue::CONFLICTS.name), None);
        assert_eq!(SyncTable::from_name("Customers"), None);
    }

    #[test]
    fn a_mutations_fingerprint_tells_a_replay_from_another_change_with_its_number() {
        let m = Mutation {
            seq: 7,
            table: SyncTable::Customers,
            row_id: uuid::Uuid::nil(),
            op: MutationOp::Insert {
                values: BTreeMap::from([
                    ("name".to_string(), Value::from("Acme")),
                    ("email".to_string(), Value::Null),
                ]),
            },
            edited_at: DateTime::<Utc>::MIN_UTC,
        };
        let again: Mutation = serde_json::from_str(&serde_json::to_string(&m).unwrap_or_default())
            .unwrap_or_else(|_| m.clone());
        assert_eq!(m.fingerprint(), again.fingerprint());
        assert_eq!(m.fingerprint().len(), 32);
        let other = Mutation {
            row_id: uuid::Uuid::max(),
            ..m.clone()
        };
        assert_ne!(m.fingerprint(), other.fingerprint());
    }

    #[test]
    fn a_checksum_counts_and_sums_without_overflowing() {
        let sum = TableChecksum::of_fingerprints([u64::MAX >> 4; 32]);
        assert_eq!(sum.count, 32);
        assert_eq!(sum.sum, (u128::from(u64::MAX >> 4) * 32).to_string());
    }
}
