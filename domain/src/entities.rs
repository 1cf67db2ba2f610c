//! The CRM's stored rows as plain data, shaped like the database tables so the
//! sync server and the desktop replica exchange them without translation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{
    AcquisitionStage, CustomerStatus, IntegrationPermission, InteractionChannel, TicketPriority,
    TicketStatus, UserRole,
};

/// A person who can sign in, as they see themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Profile {
    pub id: Uuid,
    pub email: String,
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    pub role: UserRole,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What other users may see of a [`Profile`]: everything but the email, which
/// is personal data colleagues do not need in order to assign work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Colleague {
    pub id: Uuid,
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    pub role: UserRole,
}

impl From<&Profile> for Colleague {
    fn from(profile: &Profile) -> Self {
        Self {
            id: profile.id,
            full_name: profile.full_name.clone(),
            avatar_url: profile.avatar_url.clone(),
            role: profile.role,
        }
    }
}

/// Something the company sells; customers may be linked to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Product {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A row of `acquisition_stages`: the enum names a stage, the row orders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AcquisitionStageRow {
    pub id: Uuid,
    pub name: AcquisitionStage,
    pub order_index: i32,
    pub created_at: DateTime<Utc>,
}

/// A person or company the CRM tracks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Customer {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub product_id: Option<Uuid>,
    pub status: CustomerStatus,
    pub acquisition_stage: AcquisitionStage,
    pub owner: Option<Uuid>,
    /// Customers with tickets cannot be deleted, so they are archived instead.
    pub is_archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A logged contact with a customer, possibly with a follow-up to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerInteraction {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// Free text such as "demo" or "renewal call"; the column is named `type`,
    /// a Rust keyword.
    #[serde(rename = "type")]
    pub interaction_type: String,
    pub channel: InteractionChannel,
    pub note: Option<String>,
    pub follow_up_date: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the follow-up was done; `None` while it is still to do.
    #[serde(default)]
    pub follow_up_done_at: Option<DateTime<Utc>>,
}

/// A support request and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Ticket {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    pub customer_id: Option<Uuid>,
    pub assigned_to: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// One status change of a ticket, kept forever as its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TicketWorkflowHistory {
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// `None` for the entry written when the ticket is created.
    pub from_status: Option<TicketStatus>,
    pub to_status: TicketStatus,
    /// `None` once the person who made the change has been deleted.
    pub changed_by: Option<Uuid>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One of the people assigned to a ticket; a ticket may have several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TicketAssignee {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub user_id: Uuid,
    pub assigned_at: DateTime<Utc>,
    pub assigned_by: Uuid,
}

/// A message on a ticket; internal ones are for staff only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TicketComment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub content: String,
    pub is_internal: bool,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A file attached to a ticket; the bytes live in storage at `file_path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TicketAttachment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub file_name: String,
    /// Always `{ticket_id}/{file_name}`; see [`crate::validation::attachment_path`].
    pub file_path: String,
    pub file_size: i64,
    pub mime_type: String,
    pub uploaded_by: Uuid,
    pub uploaded_at: DateTime<Utc>,
}

/// A credential for another system to call the CRM. The token's hash is
/// deliberately absent: it never leaves the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrationToken {
    pub id: Uuid,
    pub name: String,
    pub permissions: Vec<IntegrationPermission>,
    /// The secret's first characters, to tell tokens apart
    /// (`crm_pat_AbCd`).
    pub hint: String,
    /// False once revoked (for good).
    pub is_active: bool,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Requests made with it (counted in batches: a few seconds behind).
    pub use_count: i64,
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret it had before its last rotation still works.
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just made or rotated, with its secret: shown this once, never
/// again (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenSecret {
    pub token: IntegrationToken,
    /// `crm_pat_…`: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).unwrap()
    }

    fn profile() -> Profile {
        Profile {
            id: Uuid::from_u128(1),
            email: "ada@example.com".into(),
            full_name: Some("Ada Lovelace".into()),
            avatar_url: None,
            role: UserRole::Admin,
            created_at: at(0),
            updated_at: at(1),
        }
    }

    #[test]
    fn colleague_view_of_a_profile_never_carries_the_email() {
        let colleague = Colleague::from(&profile());
        assert_eq!(colleague.id, Uuid::from_u128(1));
        assert_eq!(colleague.full_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(colleague.role, UserRole::Admin);
        let json = serde_json::to_value(&colleague).unwrap();
        assert!(json.get("email").is_none());
        assert!(!json.to_string().contains("ada@example.com"));
    }

    #[test]
    fn interaction_type_is_called_type_on_the_wire() {
        let interaction = CustomerInteraction {
            id: Uuid::from_u128(2),
            customer_id: Uuid::from_u128(3),
            interaction_type: "demo".into(),
            channel: InteractionChannel::Meeting,
            note: None,
            follow_up_date: Some(at(86_400)),
            created_by: Uuid::from_u128(1),
            created_at: at(0),
            updated_at: at(0),
            follow_up_done_at: None,
        };
        let json = serde_json::to_value(&interaction).unwrap();
        assert_eq!(json["type"], "demo");
        assert_eq!(json["channel"], "meeting");
        assert!(json.get("interaction_type").is_none());
        let back: CustomerInteraction = serde_json::from_value(json).unwrap();
        assert_eq!(back, interaction);
    }

    #[test]
    fn customer_fields_use_the_column_names_and_wire_strings() {
        let customer = Customer {
            id: Uuid::from_u128(3),
            name: "Acme".into(),
            email: None,
            phone: Some("+1 555 0100".into()),
            product_id: None,
            status: CustomerStatus::Churned,
            acquisition_stage: AcquisitionStage::ClosedLost,
            owner: Some(Uuid::from_u128(1)),
            is_archived: true,
            created_at: at(0),
            updated_at: at(5),
        };
        let json = serde_json::to_value(&customer).unwrap();
        assert_eq!(json["status"], "churned");
        assert_eq!(json["acquisition_stage"], "closed_lost");
        assert_eq!(json["owner"], "00000000-0000-0000-0000-000000000001");
        assert_eq!(json["email"], serde_json::Value::Null);
        let back: Customer = serde_json::from_value(json).unwrap();
        assert_eq!(back, customer);
    }

    #[test]
    fn ticket_round_trips_through_json() {
        let ticket = Ticket {
            id: Uuid::from_u128(4),
            title: "Printer on fire".into(),
            description: Some("Again.".into()),
            priority: TicketPriority::Urgent,
            status: TicketStatus::PendingCustomer,
            customer_id: Some(Uuid::from_u128(3)),
            assigned_to: None,
            created_by: Uuid::from_u128(1),
            created_at: at(0),
            updated_at: at(10),
            resolved_at: None,
            closed_at: None,
        };
        let json = serde_json::to_value(&ticket).unwrap();
        assert_eq!(json["priority"], "urgent");
        assert_eq!(json["status"], "pending_customer");
        let back: Ticket = serde_json::from_value(json).unwrap();
        assert_eq!(back, ticket);
    }

    #[test]
    fn workflow_history_of_a_new_ticket_has_no_from_status() {
        let entry: TicketWorkflowHistory = serde_json::from_value(json!({
            "id": Uuid::from_u128(5),
            "ticket_id": Uuid::from_u128(4),
            "from_status": null,
            "to_status": "open",
            "changed_by": null,
            "note": null,
            "created_at": "2024-01-01T00:00:00Z",
        }))
        .unwrap();
        assert_eq!(entry.from_status, None);
        assert_eq!(entry.to_status, TicketStatus::Open);
    }

    #[test]
    fn integration_token_lists_permissions_as_strings_and_has_no_hash() {
        let token = IntegrationToken {
            id: Uuid::from_u128(6),
            name: "Zapier".into(),
            permissions: vec![
                IntegrationPermission::TicketsRead,
                IntegrationPermission::CommentsInternal,
            ],
            hint: "crm_pat_AbCd".into(),
            is_active: true,
            created_by: Uuid::from_u128(1),
            created_at: at(0),
            expires_at: at(3_600),
            last_used_at: None,
            use_count: 0,
            rotated_at: None,
            previous_valid_until: None,
            revoked_at: None,
        };
        let json = serde_json::to_value(&token).unwrap();
        assert_eq!(
            json["permissions"],
            json!(["tickets:read", "comments:internal"])
        );
        assert!(json.get("token_hash").is_none());
        let back: IntegrationToken = serde_json::from_value(json).unwrap();
        assert_eq!(back, token);
    }

    #[test]
    fn remaining_rows_round_trip_through_json() {
        let product = Product {
            id: Uuid::from_u128(7),
            name: "Widget".into(),
            description: None,
            is_active: true,
            created_at: at(0),
            updated_at: at(0),
        };
        let stage = AcquisitionStageRow {
            id: Uuid::from_u128(8),
            name: AcquisitionStage::Negotiation,
            order_index: 3,
            created_at: at(0),
        };
        let assignee = TicketAssignee {
            id: Uuid::from_u128(9),
            ticket_id: Uuid::from_u128(4),
            user_id: Uuid::from_u128(2),
            assigned_at: at(0),
            assigned_by: Uuid::from_u128(1),
        };
        let comment = TicketComment {
            id: Uuid::from_u128(10),
            ticket_id: Uuid::from_u128(4),
            content: "Looking into it".into(),
            is_internal: true,
            created_by: Uuid::from_u128(1),
            created_at: at(0),
            updated_at: at(0),
        };
        let attachment = TicketAttachment {
            id: Uuid::from_u128(11),
            ticket_id: Uuid::from_u128(4),
            file_name: "log.pdf".into(),
            file_path: format!("{}/log.pdf", Uuid::from_u128(4)),
            file_size: 1_024,
            mime_type: "application/pdf".into(),
            uploaded_by: Uuid::from_u128(1),
            uploaded_at: at(0),
        };

        let profile = profile();
        let json = serde_json::to_string(&profile).unwrap();
        assert_eq!(serde_json::from_str::<Profile>(&json).unwrap(), profile);
        let json = serde_json::to_string(&product).unwrap();
        assert_eq!(serde_json::from_str::<Product>(&json).unwrap(), product);
        let json = serde_json::to_value(&stage).unwrap();
        assert_eq!(json["name"], "negotiation");
        assert_eq!(
            serde_json::from_value::<AcquisitionStageRow>(json).unwrap(),
            stage
        );
        let json = serde_json::to_string(&assignee).unwrap();
        assert_eq!(
            serde_json::from_str::<TicketAssignee>(&json).unwrap(),
            assignee
        );
        let json = serde_json::to_string(&comment).unwrap();
        assert_eq!(
            serde_json::from_str::<TicketComment>(&json).unwrap(),
            comment
        );
        let json = serde_json::to_string(&attachment).unwrap();
        assert_eq!(
            serde_json::from_str::<TicketAttachment>(&json).unwrap(),
            attachment
        );
    }
}
