//! The typed boundary between Rust and the UI: every command and event the
//! window may use, registered once here. The same list generates
//! `ui/src/bindings.ts` (types of commands, payloads, events and errors),
//! so TypeScript never restates a Rust type; a test fails when the file is
//! stale, and `CRM_WRITE_BINDINGS=1 cargo test -p crm-desktop bindings`
//! rewrites it.

use std::path::{Path, PathBuf};

use specta_typescript::Typescript;
use tauri_specta::{Builder, collect_commands, collect_events};

use crate::commands::{
    account, attachments, customers, follow_ups, inbox, integrations, overview, session, tickets,
    window,
};
use crate::events::{AccessEnded, OpenCustomer, OpenFollowUps, SyncStatusChanged};

pub fn builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            session::startup,
            session::sign_in,
            session::sign_out,
            session::sync_now,
            session::sign_in_with_code,
            session::unlock,
            session::confirm_password,
            account::my_devices,
            account::revoke_device,
            account::check_new_password,
            account::change_password,
            account::sign_out_everywhere,
            account::team,
            account::set_account_active,
            account::account_devices,
            account::make_reset_code,
            account::add_colleague,
            account::set_role,
            account::check_new_colleague,
            customers::list_customers,
            customers::customer_list,
            customers::customer_page,
            customers::create_customer,
            customers::update_customer,
            customers::check_customer,
            customers::log_interaction,
            customers::check_interaction,
            tickets::tickets,
            tickets::ticket_page,
            tickets::open_ticket,
            tickets::update_ticket,
            tickets::add_comment,
            tickets::edit_comment,
            tickets::delete_comment,
            tickets::add_assignee,
            tickets::set_ticket_lead,
            tickets::remove_assignee,
            tickets::check_ticket,
            tickets::check_comment,
            attachments::attach_files,
            attachments::pick_files,
            attachments::open_attachment,
            attachments::attachment_preview,
            attachments::delete_attachment,
            follow_ups::follow_ups,
            follow_ups::complete_follow_up,
            follow_ups::reschedule_follow_up,
            follow_ups::snooze_follow_up,
            inbox::inbox,
            inbox::retry_rejected,
            inbox::resend_edited,
            inbox::discard_rejected,
            inbox::restore_conflict,
            inbox::dismiss_conflict,
            integrations::integration_vocabulary,
            integrations::integration_tokens,
            integrations::check_integration_token,
            integrations::check_webhook,
            integrations::create_integration_token,
            integrations::rename_integration_token,
            integrations::rotate_integration_token,
            integrations::revoke_integration_token,
            integrations::webhooks,
            integrations::create_webhook,
            integrations::update_webhook,
            integrations::delete_webhook,
            integrations::test_webhook,
            integrations::webhook_deliveries,
            integrations::replay_webhook_delivery,
            overview::dashboard,
            overview::search,
            overview::colleagues,
            overview::products,
            overview::vocabulary,
            window::last_screen,
            window::remember_screen,
            window::quit,
        ])
        .events(collect_events![
            SyncStatusChanged,
            AccessEnded,
            OpenCustomer,
            OpenFollowUps
        ])
        // Counts and sequence numbers are i64 in Rust but far below 2^53.
        .dangerously_cast_bigints_to_number()
}

/// Where the UI keeps the generated file.
pub fn ui_bindings_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts")
}

/// Writes the TypeScript bindings to `path`.
pub fn export(path: &Path) -> anyhow::Result<()> {
    builder()
        .export(
            Typescript::default().header(
                "// Generated from the Rust types by src-tauri/src/bindings.rs: do not edit.\n",
            ),
            path,
        )
        .map_err(|e| anyhow::anyhow!("exporting TypeScript bindings: {e}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bindings_in_the_ui_are_current() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("bindings.ts");
        export(&fresh).unwrap();
        let fresh = std::fs::read_to_string(fresh).unwrap();
        let committed_path = ui_bindings_path();
        if std::env::var_os("CRM_WRITE_BINDINGS").is_some() {
            std::fs::write(&committed_path, &fresh).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/bindings.ts is stale: run `CRM_WRITE_BINDINGS=1 cargo test -p crm-desktop bindings` and commit it"
        );
    }
}
