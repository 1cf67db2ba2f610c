//! The integration API's resources (`/api/v1/{path}`), once, as data: the
//! table each one is, the token permission its reads and writes need, what
//! it can be filtered and sorted by. The server's handlers, its
//! `/openapi.json` and the app's token form all read this list.
//!
//! The permission named here is checked first, to answer "this token lacks
//! `customers:read`" rather than an empty list; PostgreSQL's row-level
//! security then decides row by row, as for the app (it checks the token's
//! permissions again, and the owner's rights).
//!
//! Also the rules of a token's life that the app and the server share.

use crate::catalogue::Kind;
use crate::enums::IntegrationPermission;
use crate::protocol::SyncTable;

/// How long a token lives unless its owner says otherwise.
pub const TOKEN_DEFAULT_DAYS: u32 = 90;
/// The longest a token may live, from when it is made or rotated.
pub const TOKEN_MAX_DAYS: u32 = 365;
/// The longest an old secret keeps working after a rotation.
pub const ROTATION_MAX_GRACE_MINUTES: u32 = 7 * 24 * 60;
/// The default: long enough to roll out the new secret.
pub const ROTATION_DEFAULT_GRACE_MINUTES: u32 = 60;

/// What a query parameter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    /// `column = value`.
    Equals,
    /// `column >= value` (`…_since`).
    AtLeast,
    /// `column <= value` (`…_before`).
    AtMost,
    /// `true`: the follow-up date has come and the follow-up is not done.
    FollowUpDue,
}

/// One filter a list takes, as `?{param}=value`.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    pub param: &'static str,
    pub column: &'static str,
    pub test: Test,
}

const fn eq(column: &'static str) -> Filter {
    Filter {
        param: column,
        column,
        test: Test::Equals,
    }
}

const fn named(param: &'static str, column: &'static str) -> Filter {
    Filter {
        param,
        column,
        test: Test::Equals,
    }
}

const fn since(param: &'static str, column: &'static str) -> Filter {
    Filter {
        param,
        column,
        test: Test::AtLeast,
    }
}

const fn before(param: &'static str, column: &'static str) -> Filter {
    Filter {
        param,
        column,
        test: Test::AtMost,
    }
}

/// Which verbs a resource takes besides reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verbs {
    pub create: bool,
    pub update: bool,
    pub delete: bool,
}

const READ_ONLY: Verbs = Verbs {
    create: false,
    update: false,
    delete: false,
};
const ALL: Verbs = Verbs {
    create: true,
    update: true,
    delete: true,
};

#[derive(Debug)]
pub struct Resource {
    /// The path segment: `/api/v1/{path}`.
    pub path: &'static str,
    pub table: SyncTable,
    /// What a token needs to read it; `None`: any token (reference data).
    pub read: Option<IntegrationPermission>,
    /// What a token needs to change it; `None`: nobody through a token.
    pub write: Option<IntegrationPermission>,
    pub verbs: Verbs,
    pub filters: &'static [Filter],
    /// Columns a list may be sorted by (never null, so a page's cursor is
    /// always a value); the first is the default.
    pub sorts: &'static [&'static str],
}

impl Resource {
    pub fn filter(&self, param: &str) -> Option<&'static Filter> {
        self.filters.iter().find(|f| f.param == param)
    }

    /// How the permission a verb needs reads in an error message.
    pub fn permission(&self, write: bool) -> Option<IntegrationPermission> {
        if write { self.write } else { self.read }
    }
}

use IntegrationPermission as P;

/// Every resource of `/api/v1`, in the order the documentation lists them.
pub static RESOURCES: [Resource; 8] = [
    Resource {
        path: "customers",
        table: SyncTable::Customers,
        read: Some(P::CustomersRead),
        write: Some(P::CustomersWrite),
        verbs: ALL,
        filters: &[
            named("stage", "acquisition_stage"),
            eq("status"),
            eq("owner"),
            eq("product_id"),
            eq("is_archived"),
            since("updated_since", "updated_at"),
            since("created_since", "created_at"),
        ],
        sorts: &["created_at", "updated_at", "name"],
    },
    Resource {
        path: "interactions",
        table: SyncTable::CustomerInteractions,
        read: Some(P::InteractionsRead),
        write: Some(P::InteractionsWrite),
        verbs: ALL,
        filters: &[
            eq("customer_id"),
            eq("channel"),
            eq("created_by"),
            Filter {
                param: "follow_up_due",
                column: "follow_up_date",
                test: Test::FollowUpDue,
            },
            before("follow_up_before", "follow_up_date"),
            since("updated_since", "updated_at"),
            since("created_since", "created_at"),
        ],
        sorts: &["created_at", "updated_at"],
    },
    Resource {
        path: "tickets",
        table: SyncTable::Tickets,
        read: Some(P::TicketsRead),
        write: Some(P::TicketsWrite),
        verbs: ALL,
        filters: &[
            eq("status"),
            eq("priority"),
            eq("customer_id"),
            eq("assigned_to"),
            eq("created_by"),
            since("updated_since", "updated_at"),
            since("created_since", "created_at"),
        ],
        sorts: &["created_at", "updated_at", "priority", "title"],
    },
    Resource {
        path: "comments",
        table: SyncTable::TicketComments,
        read: Some(P::CommentsRead),
        write: Some(P::CommentsWrite),
        verbs: ALL,
        filters: &[
            eq("ticket_id"),
            eq("is_internal"),
            eq("created_by"),
            since("updated_since", "updated_at"),
            since("created_since", "created_at"),
        ],
        sorts: &["created_at", "updated_at"],
    },
    Resource {
        path: "assignees",
        table: SyncTable::TicketAssignees,
        read: Some(P::TicketsRead),
        write: Some(P::TicketsWrite),
        // An assignment is made or taken away, not edited.
        verbs: Verbs {
            create: true,
            update: false,
            delete: true,
        },
        filters: &[eq("ticket_id"), eq("user_id")],
        sorts: &["assigned_at"],
    },
    Resource {
        path: "attachments",
        table: SyncTable::TicketAttachments,
        read: Some(P::AttachmentsRead),
        write: Some(P::AttachmentsWrite),
        // The file goes up through /storage (with the token), then its row
        // is made here; the database refuses a row without its file.
        verbs: Verbs {
            create: true,
            update: false,
            delete: true,
        },
        filters: &[eq("ticket_id"), eq("uploaded_by"), eq("mime_type")],
        sorts: &["uploaded_at"],
    },
    Resource {
        path: "products",
        table: SyncTable::Products,
        read: None,
        write: None,
        verbs: READ_ONLY,
        filters: &[eq("is_active")],
        sorts: &["name", "created_at"],
    },
    Resource {
        path: "stages",
        table: SyncTable::AcquisitionStages,
        read: None,
        write: None,
        verbs: READ_ONLY,
        filters: &[],
        sorts: &["order_index"],
    },
];

/// The resource at `/api/v1/{path}`.
pub fn resource(path: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.path == path)
}

/// The kind of value a filter compares (its column's), for parsing the
/// query parameter and documenting it.
pub fn filter_kind(resource: &Resource, filter: &Filter) -> Kind {
    match filter.test {
        Test::FollowUpDue => Kind::Bool,
        _ => resource
            .table
            .def()
            .column(filter.column)
            .map_or(Kind::Text, |c| c.kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_and_sort_names_a_column_of_its_table() {
        for r in &RESOURCES {
            let table = r.table.def();
            for f in r.filters {
                assert!(table.column(f.column).is_some(), "{}: {}", r.path, f.column);
            }
            assert!(!r.sorts.is_empty(), "{}", r.path);
            for s in r.sorts {
                assert!(table.column(s).is_some(), "{}: sort {s}", r.path);
            }
            if let Some(done) = r.filters.iter().find(|f| f.test == Test::FollowUpDue) {
                assert!(
                    table.column("follow_up_done_at").is_some(),
                    "{}",
                    done.param
                );
            }
        }
    }

    #[test]
    fn a_resource_that_takes_writes_names_the_permission_they_need() {
        for r in &RESOURCES {
            let writes = r.verbs.create || r.verbs.update || r.verbs.delete;
            assert_eq!(writes, r.write.is_some(), "{}", r.path);
        }
    }

    #[test]
    fn paths_and_filter_parameters_are_unique() {
        for (i, r) in RESOURCES.iter().enumerate() {
            assert!(RESOURCES[..i].iter().all(|o| o.path != r.path));
            for (j, f) in r.filters.iter().enumerate() {
                assert!(r.filters[..j].iter().all(|o| o.param != f.param));
            }
        }
    }
}
