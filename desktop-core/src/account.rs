//! The user's account on the server, and the team's for admins: my signed-in
//! devices (ending one needs my password), changing my password, signing
//! out everywhere; an admin's list of accounts, deactivating and
//! reactivating one, their devices, and one-time password reset codes.
//! Online only: all of it is the server's, none of it is in the replica.
//! New passwords are checked here with crm-domain's rules first.

use crm_domain::UserRole;
use crm_domain::auth::{
    AccountSummary, ColleagueAdded, DeviceSession, LogoutRequest, NewColleague, PasswordChange,
    PasswordConfirmation, ResetCode, RoleChange,
};
use crm_domain::validation::validate_new_password;
use reqwest::Method;
use uuid::Uuid;

use crate::CoreResult;
use crate::online::{self, Context, NO_BODY};
use crate::session::Session;

const CONTEXT: Context = Context {
    offline: "Devices, passwords and accounts are managed on the server, so this needs a connection.",
    missing: "device or account",
};

/// My devices signed in now, this one first.
pub async fn devices(session: &Session) -> CoreResult<Vec<DeviceSession>> {
    online::call(session, CONTEXT, Method::GET, "/auth/sessions", NO_BODY).await
}

/// Ends one of my devices' sign-in (my password confirms it); an admin
/// ending someone else's passes `None`. That device keeps nothing readable.
pub async fn revoke_device(
    session: &Session,
    id: Uuid,
    password: Option<String>,
) -> CoreResult<()> {
    let path = format!("/auth/sessions/{id}/revoke");
    let body = PasswordConfirmation { password };
    online::call(session, CONTEXT, Method::POST, &path, Some(&body)).await
}

/// The rules a new password must meet, for this user (their email and name
/// are words it must not be built from).
pub fn check_new_password(
    session: &Session,
    password: &str,
) -> Result<(), crm_domain::ValidationError> {
    let user = session.user();
    let mut inputs = vec![user.email.as_str()];
    inputs.extend(user.full_name.as_deref());
    validate_new_password(password, &inputs)
}

/// Changes my password; my other devices must sign in again.
pub async fn change_password(session: &Session, current: String, new: String) -> CoreResult<()> {
    check_new_password(session, &new)?;
    let body = PasswordChange {
        current_password: current,
        new_password: new,
    };
    online::call(
        session,
        CONTEXT,
        Method::POST,
        "/auth/password",
        Some(&body),
    )
    .await
}

/// Ends every sign-in of mine, this one included (the caller then signs
/// out here); the other devices keep nothing readable.
pub async fn sign_out_everywhere(session: &Session, password: String) -> CoreResult<()> {
    let body = LogoutRequest {
        everywhere: true,
        password: Some(password),
    };
    online::call(session, CONTEXT, Method::POST, "/auth/logout", Some(&body)).await
}

/// Admins: every account, active ones first.
pub async fn accounts(session: &Session) -> CoreResult<Vec<AccountSummary>> {
    online::call(session, CONTEXT, Method::GET, "/admin/accounts", NO_BODY).await
}

/// Admins: deactivates (`active: false`) or reactivates an account.
pub async fn set_account_active(
    session: &Session,
    id: Uuid,
    active: bool,
) -> CoreResult<AccountSummary> {
    let verb = if active { "reactivate" } else { "deactivate" };
    let path = format!("/admin/accounts/{id}/{verb}");
    online::call(session, CONTEXT, Method::POST, &path, NO_BODY).await
}

/// Admins: adds a colleague; the answer's one-time code (shown once) is
/// what they set their password with in the sign-in window.
pub async fn add_colleague(session: &Session, new: NewColleague) -> CoreResult<ColleagueAdded> {
    new.check()?;
    online::call(
        session,
        CONTEXT,
        Method::POST,
        "/admin/accounts",
        Some(&new),
    )
    .await
}

/// Admins: changes an account's role (the last active admin stays one).
pub async fn set_role(session: &Session, id: Uuid, role: UserRole) -> CoreResult<AccountSummary> {
    let path = format!("/admin/accounts/{id}/role");
    online::call(
        session,
        CONTEXT,
        Method::POST,
        &path,
        Some(&RoleChange { role }),
    )
    .await
}

/// Admins: an account's devices signed in now.
pub async fn account_devices(session: &Session, id: Uuid) -> CoreResult<Vec<DeviceSession>> {
    let path = format!("/admin/accounts/{id}/sessions");
    online::call(session, CONTEXT, Method::GET, &path, NO_BODY).await
}

/// Admins: a one-time code for the account's owner to set a new password
/// with, shown once.
pub async fn reset_code(session: &Session, id: Uuid) -> CoreResult<ResetCode> {
    let path = format!("/admin/accounts/{id}/reset-code");
    online::call(session, CONTEXT, Method::POST, &path, NO_BODY).await
}
