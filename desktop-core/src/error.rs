//! The errors the desktop core reports to its callers (the Tauri commands,
//! the sync engine). A person reads them: each says what went wrong and,
//! where it can, which field.

use crm_domain::validation::{ValidationError, ValidationErrors};
use serde::Serialize;

pub type CoreResult<T> = Result<T, CoreError>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The input breaks a rule (the same rules as the server's); nothing
    /// was changed.
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// The user may not do this (the server would refuse it too).
    #[error("{0}")]
    Forbidden(String),
    /// The row is not in this replica (never was, or the user lost access).
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The local database failed (disk full, corrupt file, ...).
    #[error("local database: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("local database migration: {0}")]
    Migration(#[from] refinery::Error),
    /// A stored row or message could not be read back.
    #[error("malformed data: {0}")]
    Malformed(String),
    /// The server could not be reached or answered with an error.
    #[error("{0}")]
    Remote(String),
    /// Signing in is needed (no session, or it was revoked).
    #[error("please sign in")]
    SignInRequired,
    /// The account was deactivated or this device's sign-in ended from
    /// elsewhere: the app keeps nothing readable (see `wipe`).
    #[error("{0}")]
    AccessEnded(String),
    /// The app is too old for the server; the outbox is kept.
    #[error(
        "this version of the app is too old for the server: please update it (your unsent changes are kept)"
    )]
    UpgradeRequired,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The app will not talk to the server as it stands: its user decides
    /// (the sign-in window shows the certificate's fingerprint).
    #[error("{0}")]
    NotTrusted(crate::trust::TrustError),
    /// No keyring answers on this computer, so the replica is kept with a
    /// passphrase: the user chooses one (`new`) or enters theirs.
    #[error("{}", if *new {
        "no keyring answers on this computer: choose a passphrase to protect your data here"
    } else {
        "enter the passphrase that protects your data on this computer"
    })]
    PassphraseRequired { new: bool },
    #[error("that is not the passphrase of your data on this computer")]
    WrongPassphrase,
    /// The keyring that holds the replica's key did not answer, or lost it.
    #[error("{0}")]
    KeyUnavailable(String),
    /// Past the offline grace period: the password first (`grace`).
    #[error("this device has not reached the server for too long: enter your password to go on")]
    PasswordDue,
    /// A wrong password at the offline check.
    #[error(
        "that is not your password ({answers_left} more tries before the app locks until you sign in with the server)"
    )]
    WrongPassword { answers_left: u32 },
    /// Too many wrong passwords offline: only a sign-in with the server
    /// opens the app again (nothing is deleted).
    #[error(
        "too many wrong passwords: sign in again when the server can be reached (nothing here is deleted)"
    )]
    OfflineLockedOut,
}

impl CoreError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid(ValidationErrors::from(ValidationError::new(field, message)))
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// A stable code for the UI to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::Storage(_) | Self::Migration(_) | Self::Io(_) => "storage",
            Self::Malformed(_) => "malformed",
            Self::Remote(_) => "remote",
            Self::SignInRequired => "sign_in_required",
            Self::AccessEnded(_) => "access_ended",
            Self::UpgradeRequired => "upgrade_required",
            Self::NotTrusted(e) => e.code(),
            Self::PassphraseRequired { new: true } => "choose_passphrase",
            Self::PassphraseRequired { new: false } => "passphrase_required",
            Self::WrongPassphrase => "wrong_passphrase",
            Self::KeyUnavailable(_) => "key_unavailable",
            Self::PasswordDue => "password_due",
            Self::WrongPassword { .. } => "wrong_password",
            Self::OfflineLockedOut => "offline_locked_out",
        }
    }
}

impl From<ValidationErrors> for CoreError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl From<ValidationError> for CoreError {
    fn from(error: ValidationError) -> Self {
        Self::Invalid(ValidationErrors::from(error))
    }
}

impl From<serde_json::Error> for CoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::Malformed(error.to_string())
    }
}

/// What the UI receives for an error: a code, a sentence, and per-field
/// messages for forms.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ErrorReport {
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldMessage>,
    /// The fingerprint of the certificate the server offered, when the app
    /// would not trust it (`untrusted_certificate`, `certificate_changed`):
    /// for its user to compare with the one their administrator gave.
    pub offered_certificate: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

impl From<&CoreError> for ErrorReport {
    fn from(error: &CoreError) -> Self {
        let fields = match error {
            CoreError::Invalid(errors) => errors
                .errors()
                .iter()
                .map(|e| FieldMessage {
                    field: e.field.to_string(),
                    message: e.message.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let offered_certificate = match error {
            CoreError::NotTrusted(e) => e.offered().map(|f| f.to_string()),
            _ => None,
        };
        Self {
            code: error.code(),
            message: error.to_string(),
            fields,
            offered_certificate,
        }
    }
}
