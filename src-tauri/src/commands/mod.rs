//! The commands the window may call, by concept. Each is a thin call into
//! crm-desktop-core through [`AppState`](crate::state::AppState): the rules
//! live in the core and in crm-domain, never here. Every command answers
//! `Result<T, ErrorReport>`, so the UI gets one error shape (a code, a
//! sentence, and per-field messages for forms).

pub mod account;
pub mod attachments;
pub mod customers;
pub mod follow_ups;
pub mod inbox;
pub mod integrations;
pub mod overview;
pub mod session;
pub mod tickets;
pub mod window;

use crm_desktop_core::CoreError;
use crm_desktop_core::error::{ErrorReport, FieldMessage};
use crm_domain::ValidationErrors;

/// A draft's broken rules as the form shows them.
fn field_messages(checked: Result<(), ValidationErrors>) -> Vec<FieldMessage> {
    match checked {
        Ok(()) => Vec::new(),
        Err(errors) => ErrorReport::from(&CoreError::Invalid(errors)).fields,
    }
}
