//! Every replicated table, once, as data: its name, its columns (how each
//! is stored, who may write it through sync, the rule a client's value must
//! meet, what the server fills in when it is left out) and the customer or
//! ticket whose visibility its rows follow.
//!
//! Everything that used to restate a table list derives from here: the
//! protocol's writable columns ([`crate::protocol::SyncTable`]), the field
//! validation of a mutation ([`crate::validation::validate_sync_field`]),
//! the replica's table shapes and local defaults, the cascades of a local
//! delete, the pull's load order. PostgreSQL states the same facts in SQL
//! (`sync.pulled_tables()`, `sync.writable_columns()`, the column types and
//! defaults); `desktop-core/tests/parity.rs` compares the two, so a one-sided
//! edit fails a test instead of drifting.
//!
//! Every table here is pulled by clients, in the order of [`TABLES`]
//! (parents first). Tables no client holds (audit history, tokens, the
//! server's bookkeeping) are not in the catalogue at all.

use crate::enums::{
    AcquisitionStage, CustomerStatus, InteractionChannel, TicketPriority, TicketStatus, UserRole,
};
use crate::validation::{self, ValidationError};

/// How a column's value travels (JSON) and is stored (SQLite, PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    /// Text, including PostgreSQL enum types (the wire spells them as text).
    Text,
    /// A whole number (`integer` or `bigint`).
    Int,
    Bool,
    /// A date and time with offset (`timestamptz`), as RFC 3339 text.
    Timestamp,
    /// Any JSON value (`jsonb`).
    Json,
}

/// Who may write a column through sync. Everything a client may not write
/// is the server's to fill (authors, timestamps, derived stamps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Only the server (or PostgreSQL's defaults and triggers).
    Server,
    /// A client may give it when creating the row, never change it.
    Insert,
    /// A client may change it on an existing row, never give it on insert.
    Update,
    /// A client may give it on insert and change it later.
    Always,
}

impl Write {
    pub const fn on_insert(self) -> bool {
        matches!(self, Write::Insert | Write::Always)
    }

    pub const fn on_update(self) -> bool {
        matches!(self, Write::Update | Write::Always)
    }
}

/// A text rule from [`crate::validation`].
pub type TextRule = fn(&str) -> Result<(), ValidationError>;

/// What a client's value for a column must be, beyond its type (which
/// PostgreSQL checks).
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// Nothing beyond the type.
    None,
    /// Text meeting `check`; null only when not `required`.
    Text { check: TextRule, required: bool },
    /// When the row was made, as the agent did it: a date and time with an
    /// offset. PostgreSQL clamps it to its clock; audit keeps the server's.
    CreationTime,
}

/// What the server fills in when an insert leaves the column out, as the
/// replica fills it in for the optimistic row (so the row the user sees is
/// the one that will come back). PostgreSQL's `DEFAULT`s say the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    Text(&'static str),
    Bool(bool),
    /// The time of the change.
    Now,
    /// The user making the change (`auth.uid()`).
    Me,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub write: Write,
    pub rule: Rule,
    pub fill: Option<Fill>,
    /// For an enum column, the values it takes (as they travel).
    pub values: Option<&'static [&'static str]>,
}

impl Column {
    /// A column only the server writes.
    const fn new(name: &'static str, kind: Kind) -> Column {
        Column {
            name,
            kind,
            write: Write::Server,
            rule: Rule::None,
            fill: None,
            values: None,
        }
    }

    /// An enum column: one of `values`.
    const fn one_of(mut self, values: &'static [&'static str]) -> Column {
        self.values = Some(values);
        self
    }

    const fn write(mut self, write: Write) -> Column {
        self.write = write;
        self
    }

    const fn check(mut self, check: TextRule, required: bool) -> Column {
        self.rule = Rule::Text { check, required };
        self
    }

    /// The row's creation time, which a client may give on insert.
    const fn creation(mut self) -> Column {
        self.write = Write::Insert;
        self.rule = Rule::CreationTime;
        self.fill = Some(Fill::Now);
        self
    }

    const fn fill(mut self, fill: Fill) -> Column {
        self.fill = Some(fill);
        self
    }
}

/// The customer or ticket a table's rows hang off: they follow its
/// visibility, go with it when it is deleted, and a change to one is
/// "about" it.
#[derive(Debug, Clone, Copy)]
pub struct Parent {
    pub table: &'static Table,
    pub column: &'static str,
}

#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    pub parent: Option<Parent>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Columns a client may give when creating a row (besides `id`), in
    /// the table's order.
    pub fn insertable(&self) -> impl Iterator<Item = &'static Column> + use<> {
        self.columns.iter().filter(|c| c.write.on_insert())
    }

    /// Columns a client may change on an existing row, in the table's order.
    pub fn updatable(&self) -> impl Iterator<Item = &'static Column> + use<> {
        self.columns.iter().filter(|c| c.write.on_update())
    }

    /// The column saying when a row was made, if a client may give it.
    pub fn creation_column(&self) -> Option<&'static str> {
        self.columns
            .iter()
            .find(|c| matches!(c.rule, Rule::CreationTime))
            .map(|c| c.name)
    }

    /// The column a constraint of this table concerns, by PostgreSQL's
    /// naming (`{table}_{column}_check`, `{table}_{column}_fkey`, ...): the
    /// longest column name the rest of the constraint's name starts with.
    pub fn column_of_constraint(&self, constraint: &str) -> Option<&'static str> {
        let rest = constraint.strip_prefix(self.name)?.strip_prefix('_')?;
        self.columns
            .iter()
            .map(|c| c.name)
            .filter(|name| {
                rest.strip_prefix(name)
                    .is_some_and(|after| after.is_empty() || after.starts_with('_'))
            })
            .max_by_key(|name| name.len())
    }

    /// The tables whose rows hang off this one, with the column naming it.
    pub fn dependants(&self) -> impl Iterator<Item = (&'static Table, &'static str)> + '_ {
        TABLES.iter().filter_map(move |t| {
            let parent = t.parent?;
            std::ptr::eq(parent.table, self).then_some((*t, parent.column))
        })
    }
}

/// Every replicated table, in load order (parents first).
pub static TABLES: [&Table; 11] = [
    &PROFILES,
    &PRODUCTS,
    &ACQUISITION_STAGES,
    &CUSTOMERS,
    &CUSTOMER_INTERACTIONS,
    &TICKETS,
    &TICKET_WORKFLOW_HISTORY,
    &TICKET_ASSIGNEES,
    &TICKET_COMMENTS,
    &TICKET_ATTACHMENTS,
    &CONFLICTS,
];

use Kind::{Bool, Int, Json, Text, Timestamp, Uuid};
use Write::{Always, Insert, Update};

const fn id() -> Column {
    Column::new("id", Uuid)
}

const fn created_at() -> Column {
    Column::new("created_at", Timestamp).fill(Fill::Now)
}

const fn updated_at() -> Column {
    Column::new("updated_at", Timestamp).fill(Fill::Now)
}

const fn author(name: &'static str) -> Column {
    Column::new(name, Uuid).fill(Fill::Me)
}

/// Profiles come from sign-up, never from a client; a user edits their own
/// name and picture, an admin anyone's role.
pub static PROFILES: Table = Table {
    name: "profiles",
    columns: &[
        id(),
        Column::new("email", Text),
        Column::new("full_name", Text)
            .write(Update)
            .check(validation::validate_full_name, false),
        Column::new("avatar_url", Text)
            .write(Update)
            .check(validation::validate_avatar_url, false),
        Column::new("role", Text)
            .one_of(&UserRole::WIRE_NAMES)
            .write(Update)
            .fill(Fill::Text("agent")),
        created_at(),
        updated_at(),
    ],
    parent: None,
};

pub static PRODUCTS: Table = Table {
    name: "products",
    columns: &[
        id(),
        Column::new("name", Text)
            .write(Always)
            .check(validation::validate_product_name, true),
        Column::new("description", Text)
            .write(Always)
            .check(validation::validate_product_description, false),
        Column::new("is_active", Bool)
            .write(Always)
            .fill(Fill::Bool(true)),
        created_at(),
        updated_at(),
    ],
    parent: None,
};

/// A stage's name is its identity (an enum value); only its place moves.
pub static ACQUISITION_STAGES: Table = Table {
    name: "acquisition_stages",
    columns: &[
        id(),
        Column::new("name", Text)
            .one_of(&AcquisitionStage::WIRE_NAMES)
            .write(Insert),
        Column::new("order_index", Int).write(Always),
        created_at(),
    ],
    parent: None,
};

pub static CUSTOMERS: Table = Table {
    name: "customers",
    columns: &[
        id(),
        Column::new("name", Text)
            .write(Always)
            .check(validation::validate_customer_name, true),
        Column::new("email", Text)
            .write(Always)
            .check(validation::validate_email, false),
        Column::new("phone", Text)
            .write(Always)
            .check(validation::validate_phone, false),
        Column::new("product_id", Uuid).write(Always),
        Column::new("status", Text)
            .one_of(&CustomerStatus::WIRE_NAMES)
            .write(Always)
            .fill(Fill::Text("active")),
        Column::new("acquisition_stage", Text)
            .one_of(&AcquisitionStage::WIRE_NAMES)
            .write(Always)
            .fill(Fill::Text("lead")),
        Column::new("owner", Uuid).write(Always).fill(Fill::Me),
        Column::new("is_archived", Bool)
            .write(Always)
            .fill(Fill::Bool(false)),
        created_at().creation(),
        updated_at(),
    ],
    parent: None,
};

pub static CUSTOMER_INTERACTIONS: Table = Table {
    name: "customer_interactions",
    columns: &[
        id(),
        Column::new("customer_id", Uuid).write(Always),
        Column::new("type", Text)
            .write(Always)
            .check(validation::validate_interaction_type, true),
        Column::new("channel", Text)
            .one_of(&InteractionChannel::WIRE_NAMES)
            .write(Always),
        Column::new("note", Text)
            .write(Always)
            .check(validation::validate_interaction_note, false),
        Column::new("follow_up_date", Timestamp).write(Always),
        author("created_by"),
        created_at().creation(),
        updated_at(),
        // Done is a later act, never part of logging the interaction.
        Column::new("follow_up_done_at", Timestamp).write(Update),
    ],
    parent: Some(Parent {
        table: &CUSTOMERS,
        column: "customer_id",
    }),
};

/// A ticket opens as `open`; its status then moves by the workflow, whose
/// stamps (`resolved_at`, `closed_at`) are the server's.
pub static TICKETS: Table = Table {
    name: "tickets",
    columns: &[
        id(),
        Column::new("title", Text)
            .write(Always)
            .check(validation::validate_ticket_title, true),
        Column::new("description", Text)
            .write(Always)
            .check(validation::validate_ticket_description, false),
        Column::new("priority", Text)
            .one_of(&TicketPriority::WIRE_NAMES)
            .write(Always)
            .fill(Fill::Text("medium")),
        Column::new("status", Text)
            .one_of(&TicketStatus::WIRE_NAMES)
            .write(Update)
            .fill(Fill::Text("open")),
        Column::new("customer_id", Uuid).write(Always),
        Column::new("assigned_to", Uuid).write(Always),
        author("created_by"),
        created_at().creation(),
        updated_at(),
        Column::new("resolved_at", Timestamp),
        Column::new("closed_at", Timestamp),
    ],
    parent: None,
};

/// Written by PostgreSQL's workflow trigger only.
pub static TICKET_WORKFLOW_HISTORY: Table = Table {
    name: "ticket_workflow_history",
    columns: &[
        id(),
        Column::new("ticket_id", Uuid),
        Column::new("from_status", Text).one_of(&TicketStatus::WIRE_NAMES),
        Column::new("to_status", Text).one_of(&TicketStatus::WIRE_NAMES),
        Column::new("changed_by", Uuid),
        Column::new("note", Text),
        created_at(),
    ],
    parent: Some(Parent {
        table: &TICKETS,
        column: "ticket_id",
    }),
};

pub static TICKET_ASSIGNEES: Table = Table {
    name: "ticket_assignees",
    columns: &[
        id(),
        Column::new("ticket_id", Uuid).write(Insert),
        Column::new("user_id", Uuid).write(Always),
        Column::new("assigned_at", Timestamp).creation(),
        author("assigned_by"),
    ],
    parent: Some(Parent {
        table: &TICKETS,
        column: "ticket_id",
    }),
};

pub static TICKET_COMMENTS: Table = Table {
    name: "ticket_comments",
    columns: &[
        id(),
        Column::new("ticket_id", Uuid).write(Insert),
        Column::new("content", Text)
            .write(Always)
            .check(validation::validate_comment_content, true),
        Column::new("is_internal", Bool)
            .write(Always)
            .fill(Fill::Bool(false)),
        author("created_by"),
        created_at().creation(),
        updated_at(),
    ],
    parent: Some(Parent {
        table: &TICKETS,
        column: "ticket_id",
    }),
};

/// Where the file is and how big it is are facts of the upload, fixed once
/// the row exists; its name and type may be corrected.
pub static TICKET_ATTACHMENTS: Table = Table {
    name: "ticket_attachments",
    columns: &[
        id(),
        Column::new("ticket_id", Uuid).write(Insert),
        // Fixed once written: the row describes the uploaded bytes.
        Column::new("file_name", Text)
            .write(Insert)
            .check(validation::validate_attachment_file_name, true),
        Column::new("file_path", Text).write(Insert),
        Column::new("file_size", Int).write(Insert),
        Column::new("mime_type", Text)
            .write(Insert)
            .check(validation::validate_attachment_mime_type, true),
        author("uploaded_by"),
        Column::new("uploaded_at", Timestamp).creation(),
    ],
    parent: Some(Parent {
        table: &TICKETS,
        column: "ticket_id",
    }),
};

/// The field conflicts the user may see (`sync.conflicts`): recorded by the
/// server's merge, resolved by a later edit.
pub static CONFLICTS: Table = Table {
    name: "conflicts",
    columns: &[
        id(),
        Column::new("table_name", Text),
        Column::new("row_id", Uuid),
        Column::new("field", Text),
        Column::new("kept_value", Json),
        Column::new("lost_value", Json),
        Column::new("kept_by", Uuid),
        Column::new("lost_by", Uuid),
        Column::new("client_id", Uuid),
        Column::new("client_seq", Int),
        created_at(),
        Column::new("resolved_at", Timestamp),
        Column::new("resolution", Text),
    ],
    parent: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_starts_with_its_id_and_names_each_column_once() {
        for table in TABLES {
            assert_eq!(table.columns[0].name, "id", "{}", table.name);
            assert_eq!(table.columns[0].write, Write::Server, "{}", table.name);
            let mut names: Vec<_> = table.columns.iter().map(|c| c.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), table.columns.len(), "{}", table.name);
        }
    }

    #[test]
    fn parents_come_before_their_rows_and_are_one_level_deep() {
        for (i, table) in TABLES.iter().enumerate() {
            if let Some(parent) = table.parent {
                let at = TABLES.iter().position(|t| std::ptr::eq(*t, parent.table));
                assert!(at.is_some_and(|at| at < i), "{}", table.name);
                assert!(parent.table.parent.is_none(), "{}", table.name);
                assert!(table.column(parent.column).is_some(), "{}", table.name);
            }
        }
    }

    #[test]
    fn a_tickets_dependants_are_its_history_assignees_comments_and_attachments() {
        let names: Vec<_> = TICKETS.dependants().map(|(t, c)| (t.name, c)).collect();
        assert_eq!(
            names,
            [
                ("ticket_workflow_history", "ticket_id"),
                ("ticket_assignees", "ticket_id"),
                ("ticket_comments", "ticket_id"),
                ("ticket_attachments", "ticket_id"),
            ]
        );
        assert_eq!(PRODUCTS.dependants().count(), 0);
    }

    #[test]
    fn a_constraint_is_traced_to_the_column_it_names() {
        assert_eq!(
            CUSTOMERS.column_of_constraint("customers_phone_check"),
            Some("phone")
        );
        assert_eq!(
            CUSTOMER_INTERACTIONS.column_of_constraint("customer_interactions_customer_id_fkey"),
            Some("customer_id")
        );
        assert_eq!(
            TICKET_ATTACHMENTS.column_of_constraint("ticket_attachments_file_name_check"),
            Some("file_name")
        );
        // A rule across columns names none of them.
        assert_eq!(
            TICKET_ATTACHMENTS.column_of_constraint("ticket_attachments_path_shape"),
            None
        );
        assert_eq!(CUSTOMERS.column_of_constraint("tickets_title_check"), None);
    }

    #[test]
    fn a_required_text_column_is_one_a_client_gives_on_insert() {
        for table in TABLES {
            for column in table.columns {
                if let Rule::Text { required: true, .. } = column.rule {
                    assert!(column.write.on_insert(), "{}.{}", table.name, column.name);
                }
            }
        }
    }
}
