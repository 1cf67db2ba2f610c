//! What a person or integration submits to create a row, before the database
//! adds ids and timestamps. Each draft's `validate` reports every broken rule
//! at once, so a form can mark all its fields in one pass.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{
    AcquisitionStage, CustomerStatus, IntegrationPermission, InteractionChannel, TicketPriority,
};
use crate::resources::{
    ROTATION_DEFAULT_GRACE_MINUTES, ROTATION_MAX_GRACE_MINUTES, TOKEN_DEFAULT_DAYS, TOKEN_MAX_DAYS,
};
use crate::validation::{
    ValidationError, ValidationErrors, attachment_path, validate_attachment_file_name,
    validate_attachment_mime_type, validate_attachment_size, validate_comment_content,
    validate_customer_name, validate_email, validate_integration_permissions,
    validate_integration_token_name, validate_interaction_note, validate_interaction_type,
    validate_occurred_at, validate_phone, validate_product_description, validate_product_name,
    validate_ticket_description, validate_ticket_title,
};

/// Runs `rule` on an optional value; absent values break no rule.
fn optional(
    value: Option<&String>,
    rule: fn(&str) -> Result<(), ValidationError>,
) -> Result<(), ValidationError> {
    value.map_or(Ok(()), |text| rule(text))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewCustomer {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub product_id: Option<Uuid>,
    #[serde(default)]
    pub status: CustomerStatus,
    #[serde(default)]
    pub acquisition_stage: AcquisitionStage,
    pub owner: Option<Uuid>,
}

impl NewCustomer {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([
            validate_customer_name(&self.name),
            optional(self.email.as_ref(), validate_email),
            optional(self.phone.as_ref(), validate_phone),
        ])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewInteraction {
    pub customer_id: Uuid,
    /// Named `type` on the wire, like the column.
    #[serde(rename = "type")]
    pub interaction_type: String,
    pub channel: InteractionChannel,
    pub note: Option<String>,
    pub follow_up_date: Option<DateTime<Utc>>,
    /// When it happened, if not just now: a call made yesterday is logged
    /// today. Stored as the interaction's `created_at`.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
}

impl NewInteraction {
    /// The rules that need no clock.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        self.check(None)
    }

    /// Every rule, as of `now` (the device's clock): when it happened
    /// cannot be in the future.
    pub fn validate_at(&self, now: DateTime<Utc>) -> Result<(), ValidationErrors> {
        self.check(Some(now))
    }

    fn check(&self, now: Option<DateTime<Utc>>) -> Result<(), ValidationErrors> {
        let occurred = match (self.occurred_at, now) {
            (Some(at), Some(now)) => validate_occurred_at(at, now),
            _ => Ok(()),
        };
        ValidationErrors::collect([
            validate_interaction_type(&self.interaction_type),
            optional(self.note.as_ref(), validate_interaction_note),
            occurred,
        ])
    }
}

/// A new ticket always starts `open`, so there is no status to choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewTicket {
    pub title: String,
    pub description: Option<String>,
    #[serde(default)]
    pub priority: TicketPriority,
    pub customer_id: Option<Uuid>,
    pub assigned_to: Option<Uuid>,
}

impl NewTicket {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([
            validate_ticket_title(&self.title),
            optional(self.description.as_ref(), validate_ticket_description),
        ])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewComment {
    pub ticket_id: Uuid,
    pub content: String,
    /// Required on the wire, unlike the column's default: a client that forgets
    /// it should fail, not publish a note meant for staff to the customer.
    pub is_internal: bool,
}

impl NewComment {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([validate_comment_content(&self.content)])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewAttachment {
    pub ticket_id: Uuid,
    pub file_name: String,
    pub file_size: i64,
    pub mime_type: String,
}

impl NewAttachment {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([
            validate_attachment_file_name(&self.file_name),
            validate_attachment_size(self.file_size),
            validate_attachment_mime_type(&self.mime_type),
        ])
    }

    /// Where the file's bytes go in storage; see [`attachment_path`].
    pub fn path(&self) -> Result<String, ValidationError> {
        attachment_path(self.ticket_id, &self.file_name)
    }
}

/// The [`MAX_ACTIVE_PRODUCTS`](crate::validation::MAX_ACTIVE_PRODUCTS) limit
/// depends on the other products, so `validate` cannot check it; use
/// [`check_active_product_count`](crate::validation::check_active_product_count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewProduct {
    pub name: String,
    pub description: Option<String>,
    pub is_active: bool,
}

impl NewProduct {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([
            validate_product_name(&self.name),
            optional(self.description.as_ref(), validate_product_description),
        ])
    }
}

/// A token to make: what it may do and how long it lives (in days, from
/// now: [`TOKEN_DEFAULT_DAYS`] unless given, at most [`TOKEN_MAX_DAYS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewIntegrationToken {
    pub name: String,
    pub permissions: Vec<IntegrationPermission>,
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

impl NewIntegrationToken {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([
            validate_integration_token_name(&self.name),
            validate_integration_permissions(&self.permissions),
            validate_token_days(self.expires_in_days),
        ])
    }

    /// Days until it expires.
    pub fn days(&self) -> u32 {
        self.expires_in_days.unwrap_or(TOKEN_DEFAULT_DAYS)
    }
}

fn validate_token_days(days: Option<u32>) -> Result<(), ValidationError> {
    match days {
        Some(d) if d == 0 || d > TOKEN_MAX_DAYS => Err(ValidationError::new(
            "expires_in_days",
            "must be between 1 and 365 days",
        )),
        _ => Ok(()),
    }
}

/// A new secret for a token; the old one keeps working for
/// `grace_minutes` ([`ROTATION_DEFAULT_GRACE_MINUTES`] unless given, at
/// most [`ROTATION_MAX_GRACE_MINUTES`]; 0 ends it at once), and the token
/// lives `expires_in_days` from now (unchanged unless given).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenRotation {
    #[serde(default)]
    pub grace_minutes: Option<u32>,
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

impl TokenRotation {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([
            match self.grace_minutes {
                Some(m) if m > ROTATION_MAX_GRACE_MINUTES => Err(ValidationError::new(
                    "grace_minutes",
                    "must be at most a week (10080 minutes)",
                )),
                _ => Ok(()),
            },
            validate_token_days(self.expires_in_days),
        ])
    }

    pub fn grace_minutes(&self) -> u32 {
        self.grace_minutes.unwrap_or(ROTATION_DEFAULT_GRACE_MINUTES)
    }
}

/// A token's new name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenRename {
    pub name: String,
}

impl TokenRename {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([validate_integration_token_name(&self.name)])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(errors: ValidationErrors) -> Vec<&'static str> {
        errors.into_iter().map(|error| error.field).collect()
    }

    fn customer() -> NewCustomer {
        NewCustomer {
            name: "Acme".into(),
            email: Some("sales@acme.test".into()),
            phone: Some("+1 555 0100".into()),
            product_id: None,
            status: CustomerStatus::Active,
            acquisition_stage: AcquisitionStage::Lead,
            owner: None,
        }
    }

    #[test]
    fn valid_customer_passes() {
        assert_eq!(customer().validate(), Ok(()));
    }

    #[test]
    fn customer_without_email_or_phone_is_fine() {
        let draft = NewCustomer {
            email: None,
            phone: None,
            ..customer()
        };
        assert_eq!(draft.validate(), Ok(()));
    }

    #[test]
    fn customer_reports_every_bad_field_at_once() {
        let draft = NewCustomer {
            name: "  ".into(),
            email: Some("not-an-email".into()),
            phone: Some("12".into()),
            ..customer()
        };
        let errors = draft.validate().unwrap_err();
        assert_eq!(
            errors.to_string(),
            "name: must not be blank; email: must be an address like name@example.com; \
             phone: must contain at least 5 digits"
        );
        assert_eq!(fields(errors), ["name", "email", "phone"]);
    }

    #[test]
    fn customer_with_an_empty_email_string_is_refused() {
        let draft = NewCustomer {
            email: Some(String::new()),
            ..customer()
        };
        assert_eq!(fields(draft.validate().unwrap_err()), ["email"]);
    }

    #[test]
    fn customer_status_and_stage_default_when_omitted() {
        let draft: NewCustomer = serde_json::from_value(json!({ "name": "Acme" })).unwrap();
        assert_eq!(draft.status, CustomerStatus::Active);
        assert_eq!(draft.acquisition_stage, AcquisitionStage::Lead);
        assert_eq!(draft.email, None);
    }

    #[test]
    fn interaction_checks_type_and_note() {
        let draft = NewInteraction {
            customer_id: Uuid::from_u128(1),
            interaction_type: "call".into(),
            channel: InteractionChannel::Phone,
            note: None,
            follow_up_date: None,
            occurred_at: None,
        };
        assert_eq!(draft.validate(), Ok(()));

        let bad = NewInteraction {
            interaction_type: String::new(),
            note: Some("x".repeat(10_001)),
            ..draft
        };
        assert_eq!(fields(bad.validate().unwrap_err()), ["type", "note"]);
    }

    #[test]
    fn interaction_type_is_called_type_on_the_wire() {
        let draft: NewInteraction = serde_json::from_value(json!({
            "customer_id": Uuid::from_u128(1),
            "type": "demo",
            "channel": "meeting",
        }))
        .unwrap();
        assert_eq!(draft.interaction_type, "demo");
        assert_eq!(draft.channel, InteractionChannel::Meeting);
    }

    #[test]
    fn ticket_checks_title_and_description() {
        let draft = NewTicket {
            title: "Login fails".into(),
            description: Some(String::new()),
            priority: TicketPriority::High,
            customer_id: None,
            assigned_to: None,
        };
        assert_eq!(draft.validate(), Ok(()));

        let bad = NewTicket {
            title: "x".repeat(201),
            description: Some("x".repeat(20_001)),
            ..draft
        };
        assert_eq!(
            fields(bad.validate().unwrap_err()),
            ["title", "description"]
        );
    }

    #[test]
    fn ticket_priority_defaults_to_medium() {
        let draft: NewTicket = serde_json::from_value(json!({ "title": "Help" })).unwrap();
        assert_eq!(draft.priority, TicketPriority::Medium);
    }

    #[test]
    fn comment_must_say_whether_it_is_internal() {
        let ticket_id = Uuid::from_u128(1);
        let missing = serde_json::from_value::<NewComment>(json!({
            "ticket_id": ticket_id,
            "content": "On it",
        }));
        assert!(missing.is_err());

        let draft: NewComment = serde_json::from_value(json!({
            "ticket_id": ticket_id,
            "content": "On it",
            "is_internal": false,
        }))
        .unwrap();
        assert_eq!(draft.validate(), Ok(()));
    }

    #[test]
    fn blank_comment_is_refused() {
        let draft = NewComment {
            ticket_id: Uuid::from_u128(1),
            content: "\n\n".into(),
            is_internal: true,
        };
        assert_eq!(fields(draft.validate().unwrap_err()), ["content"]);
    }

    #[test]
    fn attachment_reports_name_size_and_type_together() {
        let draft = NewAttachment {
            ticket_id: Uuid::from_u128(7),
            file_name: "shot.png".into(),
            file_size: 10,
            mime_type: "image/png".into(),
        };
        assert_eq!(draft.validate(), Ok(()));
        assert_eq!(
            draft.path().unwrap(),
            "00000000-0000-0000-0000-000000000007/shot.png"
        );

        let bad = NewAttachment {
            file_name: "..".into(),
            file_size: 0,
            mime_type: "image/svg+xml".into(),
            ..draft
        };
        assert_eq!(
            fields(bad.validate().unwrap_err()),
            ["file_name", "file_size", "mime_type"]
        );
        assert!(bad.path().is_err());
    }

    #[test]
    fn product_checks_name_and_description() {
        let draft = NewProduct {
            name: "Widget".into(),
            description: None,
            is_active: true,
        };
        assert_eq!(draft.validate(), Ok(()));

        let bad = NewProduct {
            name: "x".repeat(101),
            description: Some("x".repeat(10_001)),
            ..draft
        };
        assert_eq!(fields(bad.validate().unwrap_err()), ["name", "description"]);
    }

    #[test]
    fn integration_token_needs_a_name_and_a_permission() {
        let draft = NewIntegrationToken {
            name: "Helpdesk bridge".into(),
            permissions: vec![IntegrationPermission::TicketsWrite],
            expires_in_days: None,
        };
        assert_eq!(draft.validate(), Ok(()));
        assert_eq!(draft.days(), 90);

        let bad = NewIntegrationToken {
            name: " ".into(),
            permissions: vec![],
            expires_in_days: Some(366),
        };
        assert_eq!(
            fields(bad.validate().unwrap_err()),
            ["name", "permissions", "expires_in_days"]
        );
    }

    #[test]
    fn a_rotation_keeps_the_old_secret_at_most_a_week() {
        assert_eq!(TokenRotation::default().validate(), Ok(()));
        assert_eq!(TokenRotation::default().grace_minutes(), 60);
        let bad = TokenRotation {
            grace_minutes: Some(7 * 24 * 60 + 1),
            expires_in_days: Some(0),
        };
        assert_eq!(
            fields(bad.validate().unwrap_err()),
            ["grace_minutes", "expires_in_days"]
        );
    }

    #[test]
    fn integration_token_refuses_unknown_permissions_on_the_wire() {
        let result = serde_json::from_value::<NewIntegrationToken>(json!({
            "name": "x",
            "permissions": ["tickets:delete"],
        }));
        assert!(result.is_err());
    }
}
