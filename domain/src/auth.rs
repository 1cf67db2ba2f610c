//! The sign-in part of the HTTP API, shared by the sync server and the
//! desktop app: requests and the session they return.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::UserRole;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The device signing in, as its user will recognise it in their list
    /// of devices ("Ben's ThinkPad"); at most 100 characters.
    #[serde(default)]
    pub device_name: Option<String>,
    /// Its system ("linux", "windows", "macos"); at most 50 characters.
    #[serde(default)]
    pub platform: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Sign out every device of this account, not just this one. The other
    /// devices are told their sign-in was revoked (they keep nothing
    /// readable), so this needs `password`.
    #[serde(default)]
    pub everywhere: bool,
    /// The account's password: needed with `everywhere`, so a leaked access
    /// token cannot end every device's sign-in.
    #[serde(default)]
    pub password: Option<String>,
}

/// Confirms an action on the account's other devices with its password.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordConfirmation {
    /// Needed when a user ends one of their own sessions; an admin ending
    /// someone else's sends none.
    #[serde(default)]
    pub password: Option<String>,
}

/// A password change: the current one proves it is the account's owner.
/// Every other device is signed out (it signs in again, keeping its data).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// A new password set with a one-time code an admin handed over (there is
/// no email). Signs in, as a sign-in would.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub email: String,
    pub code: String,
    pub new_password: String,
    #[serde(default)]
    pub device_name: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
}

/// A one-time password reset code, shown to the admin who made it, once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetCode {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// An admin adds a colleague (`POST /admin/accounts`): no password is
/// chosen for them; the answer carries a one-time code they set theirs
/// with, in the app's sign-in window.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewColleague {
    pub email: String,
    pub full_name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "agent"))]
    pub role: UserRole,
}

impl NewColleague {
    /// The same rules as the server's, before anything is sent.
    pub fn check(&self) -> Result<(), crate::ValidationErrors> {
        crate::ValidationErrors::collect([
            crate::validation::validate_email(&self.email),
            self.full_name
                .as_deref()
                .map_or(Ok(()), crate::validation::validate_full_name),
        ])
    }
}

/// A colleague just added, with the code to hand over.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColleagueAdded {
    pub account: Account,
    pub reset_code: ResetCode,
}

/// An admin changes an account's role (`POST /admin/accounts/{id}/role`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "admin"))]
    pub role: UserRole,
}

/// One sign-in of an account: a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceSession {
    pub id: Uuid,
    pub device_name: Option<String>,
    pub platform: Option<String>,
    pub created_at: DateTime<Utc>,
    pub first_address: Option<String>,
    /// When it last renewed its access (a few times an hour while in use).
    pub last_seen_at: DateTime<Utc>,
    pub last_address: Option<String>,
    /// The absolute end of this sign-in.
    pub expires_at: DateTime<Utc>,
    /// The session this list was asked with.
    pub current: bool,
}

/// An account as admins manage it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountSummary {
    pub id: Uuid,
    pub email: String,
    pub full_name: Option<String>,
    pub role: UserRole,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Set while the account is deactivated.
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Devices signed in now.
    pub active_sessions: i64,
}

/// A signed-in session: send `access_token` as `Authorization: Bearer ...`;
/// trade `refresh_token` for a new pair before `expires_in` seconds pass.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub user: Account,
    /// Days a device may go without reaching the server before its app
    /// asks for the password again before it shows any data (the admins'
    /// `AccessPolicy`). Older servers do not send it: the default.
    #[serde(default = "default_offline_grace_days")]
    pub offline_grace_days: u16,
}

/// The offline grace period when admins have not set one.
pub const DEFAULT_OFFLINE_GRACE_DAYS: u16 = 14;

/// The longest offline grace period admins may set: a year.
pub const MAX_OFFLINE_GRACE_DAYS: u16 = 365;

fn default_offline_grace_days() -> u16 {
    DEFAULT_OFFLINE_GRACE_DAYS
}

/// What admins decide for every device (`GET`/`PUT /admin/access-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessPolicy {
    /// Days a device may go without reaching the server before its app
    /// asks for the password before it shows any data (1 to 365).
    pub offline_grace_days: u16,
}

impl AccessPolicy {
    /// The same rule as the database's check, before anything is sent.
    pub fn check(&self) -> Result<(), crate::ValidationError> {
        if (1..=MAX_OFFLINE_GRACE_DAYS).contains(&self.offline_grace_days) {
            Ok(())
        } else {
            Err(crate::ValidationError::new(
                "offline_grace_days",
                format!("must be from 1 to {MAX_OFFLINE_GRACE_DAYS} days"),
            ))
        }
    }
}

/// The signed-in user's own account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub full_name: Option<String>,
    pub role: UserRole,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offline_grace_period_is_one_day_to_a_year() {
        for days in [1, DEFAULT_OFFLINE_GRACE_DAYS, MAX_OFFLINE_GRACE_DAYS] {
            assert!(
                AccessPolicy {
                    offline_grace_days: days
                }
                .check()
                .is_ok(),
                "{days}"
            );
        }
        for days in [0, MAX_OFFLINE_GRACE_DAYS + 1] {
            assert!(
                AccessPolicy {
                    offline_grace_days: days
                }
                .check()
                .is_err(),
                "{days}"
            );
        }
    }

    #[test]
    fn a_session_from_a_server_that_does_not_say_has_the_default_grace_period() {
        let json = r#"{"access_token":"a","token_type":"Bearer","expires_in":900,"refresh_token":"r",
            "user":{"id":"018f0000-0000-7000-8000-000000000000","email":"a@b.io","full_name":null,"role":"agent"}}"#;
        let session: Session = serde_json::from_str(json).expect("reads");
        assert_eq!(session.offline_grace_days, DEFAULT_OFFLINE_GRACE_DAYS);
    }
}
