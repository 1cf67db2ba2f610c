//! Who may write what, as data: for each synced table and operation, the
//! relation an agent and an admin must have to the row. This is the write
//! half of the access matrix in `docs/security-model.md`; PostgreSQL's
//! row-level security policies and guard triggers are the authority (the
//! server re-checks everything), and the desktop app asks these rules
//! before it records a change, so a change the server would surely refuse
//! is refused at once, with a sentence, instead of bouncing back later.
//! `desktop-core/tests/parity.rs` puts the same attempts to both and
//! compares the answers.

use crate::protocol::SyncTable;

/// What a change does to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

/// The relation the user must have to the row for the change to be theirs
/// to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// Nobody, whatever their relation.
    Nobody,
    /// Anyone signed in.
    Anyone,
    /// The row is the user's own profile.
    OwnProfile,
    /// The user manages the customer (owns it): the row itself for a
    /// customer, its customer for an interaction. For a new customer: the
    /// owner it is given is the user.
    ManagesCustomer,
    /// The user has access to the ticket (made it, leads it, is assigned
    /// to it): the row itself for a ticket, its ticket for the rows that
    /// hang off one.
    TicketAccess,
    /// The user wrote the row (the column naming its author is the user),
    /// and has access to its ticket.
    Author(&'static str),
}

/// The rule of one table and operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub agent: Relation,
    pub admin: Relation,
    /// Columns only an admin may change (on update).
    pub admin_only: &'static [&'static str],
}

impl Rule {
    const fn new(agent: Relation, admin: Relation) -> Rule {
        Rule {
            agent,
            admin,
            admin_only: &[],
        }
    }

    /// The relation a user of this role needs.
    pub const fn needs(&self, admin: bool) -> Relation {
        if admin { self.admin } else { self.agent }
    }
}

use Relation::{Anyone, Author, ManagesCustomer, Nobody, OwnProfile, TicketAccess};

/// The rule for writing `table` by `op`.
pub const fn rule(table: SyncTable, op: Op) -> Rule {
    use Op::{Delete, Insert, Update};
    use SyncTable as T;
    match (table, op) {
        // Profiles are made at sign-up; a user edits their own name and
        // picture, an admin anyone's, and only an admin gives roles.
        (T::Profiles, Insert) => Rule::new(Nobody, Nobody),
        (T::Profiles, Update) => Rule {
            agent: OwnProfile,
            admin: Anyone,
            admin_only: &["role"],
        },
        (T::Profiles, Delete) => Rule::new(Nobody, Anyone),
        // The catalogue of products and stages is the admins'.
        (T::Products | T::AcquisitionStages, _) => Rule::new(Nobody, Anyone),
        (T::Customers, Insert) => Rule::new(ManagesCustomer, Anyone),
        // An agent cannot give a customer away; agents archive, admins
        // delete.
        (T::Customers, Update) => Rule {
            agent: ManagesCustomer,
            admin: Anyone,
            admin_only: &["owner"],
        },
        (T::Customers, Delete) => Rule::new(Nobody, Anyone),
        (T::CustomerInteractions, _) => Rule::new(ManagesCustomer, Anyone),
        (T::Tickets, Insert) => Rule::new(Anyone, Anyone),
        (T::Tickets, Update) => Rule::new(TicketAccess, Anyone),
        // Agents close tickets; admins delete them.
        (T::Tickets, Delete) => Rule::new(Nobody, Anyone),
        (T::TicketAssignees, Insert | Delete) => Rule::new(TicketAccess, Anyone),
        (T::TicketAssignees, Update) => Rule::new(Nobody, Anyone),
        // A comment is its author's words: not even an admin rewrites it,
        // though an admin may remove it.
        (T::TicketComments, Insert) => Rule::new(TicketAccess, Anyone),
        (T::TicketComments, Update) => Rule::new(Author("created_by"), Author("created_by")),
        (T::TicketComments, Delete) => Rule::new(Author("created_by"), Anyone),
        (T::TicketAttachments, Insert) => Rule::new(TicketAccess, Anyone),
        // Fixed once written: the row describes the uploaded file.
        (T::TicketAttachments, Update) => Rule::new(Nobody, Nobody),
        (T::TicketAttachments, Delete) => Rule::new(Author("uploaded_by"), Anyone),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_may_do_at_least_what_an_agent_may_except_rewrite_anothers_words() {
        for table in SyncTable::ALL {
            for op in [Op::Insert, Op::Update, Op::Delete] {
                let r = rule(table, op);
                let admin_weaker = r.admin == Nobody && r.agent != Nobody;
                assert!(!admin_weaker, "{table:?} {op:?}");
                if r.admin != Anyone {
                    assert!(
                        r.admin == r.agent || r.admin == Nobody,
                        "{table:?} {op:?}: {r:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_author_rule_names_a_column_of_the_table() {
        for table in SyncTable::ALL {
            for op in [Op::Insert, Op::Update, Op::Delete] {
                let r = rule(table, op);
                for relation in [r.agent, r.admin] {
                    if let Author(column) = relation {
                        assert!(table.def().column(column).is_some(), "{table:?}.{column}");
                    }
                }
                for column in r.admin_only {
                    assert!(table.def().column(column).is_some(), "{table:?}.{column}");
                }
            }
        }
    }
}
