//! Webhook subscriptions as people make and see them, and their
//! deliveries. The events themselves are recorded by PostgreSQL in the
//! changes' own transactions (`..._webhooks.sql`); what each event type
//! means is [`WebhookEvent`]'s documentation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::enums::{DeliveryState, WebhookEvent};
use crate::validation::{ValidationError, ValidationErrors};

/// The longest URL a subscription takes.
pub const URL_MAX_CHARS: usize = 2000;
pub const DESCRIPTION_MAX_CHARS: usize = 500;

/// A URL a webhook may be sent to: `http` or `https`, a host, no
/// credentials in it (they would be stored and shown), no spaces. Where it
/// may point (not at the server's own network) is checked when sending.
pub fn validate_webhook_url(url: &str) -> Result<(), ValidationError> {
    let bad = |why: &'static str| Err(ValidationError::new("url", why));
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return bad("must start with https:// (or http://)");
    };
    if url.chars().count() > URL_MAX_CHARS {
        return bad("must be at most 2000 characters");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain spaces");
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return bad("must name a host");
    }
    if host.contains('@') {
        return bad("must not carry a user name or password");
    }
    Ok(())
}

fn validate_events(events: &[WebhookEvent]) -> Result<(), ValidationError> {
    if events.is_empty() {
        Err(ValidationError::new(
            "event_types",
            "must name at least one event",
        ))
    } else {
        Ok(())
    }
}

fn validate_description(text: Option<&String>) -> Result<(), ValidationError> {
    match text {
        Some(t) if t.chars().count() > DESCRIPTION_MAX_CHARS => Err(ValidationError::new(
            "description",
            "must be at most 500 characters",
        )),
        _ => Ok(()),
    }
}

/// A subscription to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    pub event_types: Vec<WebhookEvent>,
    #[serde(default)]
    pub description: Option<String>,
    /// Send comments marked internal too (they are staff-only).
    #[serde(default)]
    pub include_internal: bool,
}

impl NewWebhook {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([
            validate_webhook_url(&self.url),
            validate_events(&self.event_types),
            validate_description(self.description.as_ref()),
        ])
    }
}

/// A change to a subscription: the fields given change. Setting
/// `is_active` back to true restarts one the server stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<WebhookEvent>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub include_internal: Option<bool>,
    #[serde(default)]
    pub is_active: Option<bool>,
}

impl WebhookChange {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        ValidationErrors::collect([
            self.url.as_deref().map_or(Ok(()), validate_webhook_url),
            self.event_types.as_deref().map_or(Ok(()), validate_events),
            validate_description(self.description.as_ref()),
        ])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<WebhookEvent>,
    pub description: Option<String>,
    pub include_internal: bool,
    pub is_active: bool,
    /// Why the server stopped it, when it did (deliveries failing for a day).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscription just made, with the secret its deliveries are signed
/// with (Standard Webhooks, `whsec_…`): shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

/// One event sent (or to send) to one subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// Also the `webhook-id` it is sent with (`msg_{id}`).
    pub id: i64,
    pub event_type: String,
    pub record_id: Uuid,
    pub state: DeliveryState,
    pub attempts: i32,
    pub occurred_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_http_with_a_host_and_no_credentials() {
        for ok in [
            "https://erp.example.com/hooks/crm",
            "http://10.0.0.5:8080/x?y=1",
        ] {
            assert_eq!(validate_webhook_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ftp://example.com",
            "https://",
            "https://user:pw@example.com/",
            "https://exa mple.com",
            "example.com/hook",
        ] {
            assert!(validate_webhook_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_subscription_names_at_least_one_known_event() {
        let draft: Result<NewWebhook, _> = serde_json::from_value(serde_json::json!({
            "url": "https://example.com", "event_types": ["ticket.deleted"]
        }));
        assert!(draft.is_err());
        let empty = NewWebhook {
            url: "https://example.com".into(),
            event_types: vec![],
            description: None,
            include_internal: false,
        };
        assert!(empty.validate().is_err());
    }
}
