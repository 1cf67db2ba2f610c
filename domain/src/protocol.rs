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

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The oldest client protocol version the server still accepts.
pub const MIN_SUPPORTED_PROTOCOL_VERSION: u32 = 1;

/// Most mutations one push may carry; a client with more sends several.
pub const MAX_MUTATIONS_PER_PUSH: usize = 1000;

/// The tables a client may write through sync, and the columns it may set.
/// Everything else (ids' defaults, authors, timestamps, derived stamps) is
/// the server's to fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

    /// The table's name in both databases.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Profiles => "profiles",
            Self::Products => "products",
            Self::AcquisitionStages => "acquisition_stages",
            Self::Customers => "customers",
            Self::CustomerInteractions => "customer_interactions",
            Self::Tickets => "tickets",
            Self::TicketAssignees => "ticket_assignees",
            Self::TicketComments => "ticket_comments",
            Self::TicketAttachments => "ticket_attachments",
        }
    }

    /// Columns a client may give when creating a row (besides `id`).
    pub const fn insertable_columns(self) -> &'static [&'static str] {
        match self {
            // Profiles come from sign-up, never from a client.
            Self::Profiles => &[],
            Self::Products => &["name", "description", "is_active"],
            Self::AcquisitionStages => &["name", "order_index"],
            Self::Customers => &[
                "name",
                "email",
                "phone",
                "product_id",
                "status",
                "acquisition_stage",
                "owner",
                "is_archived",
            ],
            Self::CustomerInteractions => {
                &["customer_id", "type", "channel", "note", "follow_up_date"]
            }
            Self::Tickets => &[
                "title",
                "description",
                "priority",
                "customer_id",
                "assigned_to",
            ],
            Self::TicketAssignees => &["ticket_id", "user_id"],
            Self::TicketComments => &["ticket_id", "content", "is_internal"],
            Self::TicketAttachments => &[
                "ticket_id",
                "file_name",
                "file_path",
                "file_size",
                "mime_type",
            ],
        }
    }

    /// Columns a client may change on an existing row.
    pub const fn updatable_columns(self) -> &'static [&'static str] {
        match self {
            Self::Profiles => &["full_name", "avatar_url", "role"],
            Self::Products => &["name", "description", "is_active"],
            Self::AcquisitionStages => &["order_index"],
            Self::Customers => &[
                "name",
                "email",
                "phone",
                "product_id",
                "status",
                "acquisition_stage",
                "owner",
                "is_archived",
            ],
            Self::CustomerInteractions => {
                &["customer_id", "type", "channel", "note", "follow_up_date"]
            }
            Self::Tickets => &[
                "title",
                "description",
                "priority",
                "status",
                "customer_id",
                "assigned_to",
            ],
            Self::TicketAssignees => &["user_id"],
            Self::TicketComments => &["content", "is_internal"],
            Self::TicketAttachments => &["file_name", "mime_type"],
        }
    }
}

/// What a mutation does to its row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct FieldChange {
    pub base: Value,
    pub value: Value,
}

/// One change from a client's outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub protocol_version: u32,
    /// The install id of the client (one per user and machine).
    pub client_id: Uuid,
    pub mutations: Vec<Mutation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    /// Every mutation up to this one is settled (applied, merged or
    /// rejected): the client may drop them from its outbox.
    pub last_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationResult {
    pub seq: i64,
    #[serde(flatten)]
    pub outcome: MutationOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MutationOutcome {
    /// Applied as sent.
    Applied,
    /// Applied, but some fields met a concurrent edit; each is a recorded
    /// conflict whose losing value can be seen and restored.
    Merged { conflicts: Vec<FieldConflict> },
    /// Not applied; nothing of it changed. It still used up its sequence
    /// number, so the mutations after it go ahead.
    Rejected { code: String, message: String },
}

/// A field both sides changed: which value now stands and which lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
