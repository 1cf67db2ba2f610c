//! The closed sets of values the CRM stores as text or PostgreSQL enums, each
//! with the exact string it has on the wire and in both databases.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A string that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid {type_name} {value:?}; expected one of: {}", .expected.join(", "))]
pub struct ParseEnumError {
    /// The Rust name of the enum that was being parsed, e.g. `TicketStatus`.
    pub type_name: &'static str,
    /// The rejected input, verbatim.
    pub value: String,
    /// Every accepted string, in declaration order.
    pub expected: &'static [&'static str],
}

/// Declares an enum whose wire string is written once, next to its variant,
/// so serde, `as_str`, `FromStr` and `Display` cannot drift apart.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                // `tt`, not `literal`: a `literal` fragment reaches derive
                // macros wrapped in an invisible group, which utoipa's
                // derive does not read, so `/openapi.json` spelled the
                // variants' Rust names (`Agent`) instead of the wire's.
                $variant:ident => $wire:tt,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                #[serde(rename = $wire)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in declaration order (which is also the database's
            /// enum order, so sorting agrees on both sides).
            pub const ALL: [Self; [$($wire),+].len()] = [$(Self::$variant),+];

            /// The wire strings of [`Self::ALL`], in the same order.
            pub const WIRE_NAMES: [&'static str; [$($wire),+].len()] = [$($wire),+];

            /// The string stored in the database and sent over the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok(Self::$variant),)+
                    _ => Err(ParseEnumError {
                        type_name: stringify!($name),
                        value: s.to_owned(),
                        expected: &Self::WIRE_NAMES,
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// How urgently a ticket needs attention.
    #[derive(Default)]
    pub enum TicketPriority {
        Low => "low",
        #[default]
        Medium => "medium",
        High => "high",
        Urgent => "urgent",
    }
}

wire_enum! {
    /// Where a ticket is in its workflow; see [`crate::workflow`] for the
    /// moves between statuses.
    #[derive(Default)]
    pub enum TicketStatus {
        #[default]
        Open => "open",
        InProgress => "in_progress",
        PendingCustomer => "pending_customer",
        Resolved => "resolved",
        Closed => "closed",
        Reopened => "reopened",
    }
}

wire_enum! {
    /// A customer's step in the sales pipeline.
    #[derive(Default)]
    pub enum AcquisitionStage {
        #[default]
        Lead => "lead",
        Qualified => "qualified",
        Proposal => "proposal",
        Negotiation => "negotiation",
        ClosedWon => "closed_won",
        ClosedLost => "closed_lost",
    }
}

wire_enum! {
    /// How a customer interaction took place.
    pub enum InteractionChannel {
        Phone => "phone",
        Email => "email",
        Meeting => "meeting",
        Chat => "chat",
        Other => "other",
    }
}

wire_enum! {
    /// What a signed-in person may do; admins manage users, products and tokens.
    #[derive(Default)]
    pub enum UserRole {
        #[default]
        Agent => "agent",
        Admin => "admin",
    }
}

wire_enum! {
    /// Whether a customer is still a customer.
    #[derive(Default)]
    pub enum CustomerStatus {
        #[default]
        Active => "active",
        Inactive => "inactive",
        Churned => "churned",
    }
}

wire_enum! {
    /// One right granted to an integration token, written `resource:action`.
    pub enum IntegrationPermission {
        CustomersRead => "customers:read",
        CustomersWrite => "customers:write",
        InteractionsRead => "interactions:read",
        InteractionsWrite => "interactions:write",
        TicketsRead => "tickets:read",
        TicketsWrite => "tickets:write",
        CommentsRead => "comments:read",
        CommentsWrite => "comments:write",
        /// Lets a token see and write internal comments, which customers
        /// must never see; `comments:read` alone does not.
        CommentsInternal => "comments:internal",
        AttachmentsRead => "attachments:read",
        AttachmentsWrite => "attachments:write",
    }
}

wire_enum! {
    /// What a webhook subscription can hear about, `resource.happening`.
    pub enum WebhookEvent {
        CustomerCreated => "customer.created",
        CustomerUpdated => "customer.updated",
        CustomerArchived => "customer.archived",
        InteractionLogged => "interaction.logged",
        TicketCreated => "ticket.created",
        TicketUpdated => "ticket.updated",
        TicketStatusChanged => "ticket.status_changed",
        /// Its `assigned_to` changed, or someone was added to its assignees.
        TicketAssigned => "ticket.assigned",
        CommentAdded => "comment.added",
    }
}

wire_enum! {
    /// Where one webhook delivery stands.
    pub enum DeliveryState {
        /// Waiting for its (next) attempt.
        Pending => "pending",
        Delivered => "delivered",
        /// Retried for a day without success.
        Failed => "failed",
        /// Not sent: the subscriber may not see the row (or it is gone).
        Skipped => "skipped",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use std::fmt::Debug;

    /// Checks every path between a value and its string: serde both ways,
    /// `as_str`, `Display` and `FromStr`.
    fn assert_wire_strings<T>(all: &[T], expected: &[&str])
    where
        T: Copy + Debug + PartialEq + Serialize + DeserializeOwned + FromStr + fmt::Display,
        <T as FromStr>::Err: Debug,
    {
        assert_eq!(all.len(), expected.len(), "ALL has the wrong length");
        for (value, wire) in all.iter().zip(expected) {
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, format!("\"{wire}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *value);
            assert_eq!(value.to_string(), *wire);
            assert_eq!(wire.parse::<T>().unwrap(), *value);
        }
    }

    #[test]
    fn ticket_priority_values_have_their_wire_strings_in_order() {
        assert_wire_strings(&TicketPriority::ALL, &["low", "medium", "high", "urgent"]);
        assert_eq!(TicketPriority::Urgent.as_str(), "urgent");
    }

    #[test]
    fn ticket_status_values_have_their_wire_strings_in_order() {
        assert_wire_strings(
            &TicketStatus::ALL,
            &[
                "open",
                "in_progress",
                "pending_customer",
                "resolved",
                "closed",
                "reopened",
            ],
        );
    }

    #[test]
    fn acquisition_stage_values_have_their_wire_strings_in_order() {
        assert_wire_strings(
            &AcquisitionStage::ALL,
            &[
                "lead",
                "qualified",
                "proposal",
                "negotiation",
                "closed_won",
                "closed_lost",
            ],
        );
    }

    #[test]
    fn interaction_channel_values_have_their_wire_strings_in_order() {
        assert_wire_strings(
            &InteractionChannel::ALL,
            &["phone", "email", "meeting", "chat", "other"],
        );
    }

    #[test]
    fn user_role_values_have_their_wire_strings_in_order() {
        assert_wire_strings(&UserRole::ALL, &["agent", "admin"]);
    }

    #[test]
    fn customer_status_values_have_their_wire_strings_in_order() {
        assert_wire_strings(&CustomerStatus::ALL, &["active", "inactive", "churned"]);
    }

    #[test]
    fn integration_permission_values_have_their_wire_strings_in_order() {
        assert_wire_strings(
            &IntegrationPermission::ALL,
            &[
                "customers:read",
                "customers:write",
                "interactions:read",
                "interactions:write",
                "tickets:read",
                "tickets:write",
                "comments:read",
                "comments:write",
                "comments:internal",
                "attachments:read",
                "attachments:write",
            ],
        );
    }

    #[test]
    fn defaults_are_the_database_column_defaults() {
        assert_eq!(TicketPriority::default(), TicketPriority::Medium);
        assert_eq!(TicketStatus::default(), TicketStatus::Open);
        assert_eq!(AcquisitionStage::default(), AcquisitionStage::Lead);
        assert_eq!(UserRole::default(), UserRole::Agent);
        assert_eq!(CustomerStatus::default(), CustomerStatus::Active);
    }

    #[test]
    fn ordering_follows_declaration_order() {
        let mut shuffled = TicketStatus::ALL;
        shuffled.reverse();
        shuffled.sort();
        assert_eq!(shuffled, TicketStatus::ALL);
        assert!(TicketPriority::Low < TicketPriority::Urgent);
    }

    #[test]
    fn wire_names_match_as_str() {
        for (value, name) in IntegrationPermission::ALL
            .iter()
            .zip(IntegrationPermission::WIRE_NAMES)
        {
            assert_eq!(value.as_str(), name);
        }
    }

    #[test]
    fn parse_error_names_the_enum_the_value_and_the_allowed_values() {
        let err = "done".parse::<TicketStatus>().unwrap_err();
        assert_eq!(err.type_name, "TicketStatus");
        assert_eq!(err.value, "done");
        assert_eq!(
            err.to_string(),
            "invalid TicketStatus \"done\"; expected one of: open, in_progress, \
             pending_customer, resolved, closed, reopened"
        );
    }

    #[test]
    fn parsing_is_exact_about_case_and_spacing() {
        assert!("Open".parse::<TicketStatus>().is_err());
        assert!(" open".parse::<TicketStatus>().is_err());
        assert!("".parse::<UserRole>().is_err());
        assert!("customers_read".parse::<IntegrationPermission>().is_err());
        assert!("CustomersRead".parse::<IntegrationPermission>().is_err());
    }

    #[test]
    fn deserializing_an_unknown_string_fails() {
        assert!(serde_json::from_str::<CustomerStatus>("\"deleted\"").is_err());
        assert!(serde_json::from_str::<TicketPriority>("\"Medium\"").is_err());
    }
}
