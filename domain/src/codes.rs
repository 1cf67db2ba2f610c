//! The stable, machine-readable codes on the wire: [`ErrorCode`] for a
//! request the server refuses whole (`{"error": {"code", "message"}}`), and
//! [`RejectionCode`] for one change of a push that could not be applied.
//! Programs branch on these; people read the message beside them. Each is
//! listed in `/openapi.json` and in the app's generated TypeScript types,
//! so a code is added here or nowhere.
//!
//! Wire strings are snake_case and never change meaning. A code this build
//! does not know (a newer server's) reads as `Unknown`, never as a failure
//! to read the whole answer.

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "specta", derive(specta::Type))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A code this build does not know (from a newer peer).
            #[serde(other)]
            Unknown,
        }

        impl $name {
            /// Every code this build knows.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The code as it travels.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Unknown => "unknown",
                }
            }

            /// The code of that wire string (`Unknown` if none).
            pub fn parse(text: &str) -> $name {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|code| code.as_str() == text)
                    .unwrap_or($name::Unknown)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

codes! {
    /// Why the server refused a whole request.
    ErrorCode {
        // Input.
        /// The body is not the JSON the endpoint takes.
        InvalidBody = "invalid_body",
        UnsupportedMediaType = "unsupported_media_type",
        PayloadTooLarge = "payload_too_large",
        /// Field rules failed; `details` lists each field and why.
        ValidationFailed = "validation_failed",
        NotFound = "not_found",
        MethodNotAllowed = "method_not_allowed",
        // Accounts and sessions.
        InvalidCredentials = "invalid_credentials",
        TooManyAttempts = "too_many_attempts",
        MissingToken = "missing_token",
        InvalidToken = "invalid_token",
        TokenExpired = "token_expired",
        /// The sign-in was ended (signed out, or a stolen token detected).
        SessionEnded = "session_ended",
        InvalidRefreshToken = "invalid_refresh_token",
        RefreshTokenExpired = "refresh_token_expired",
        RefreshTokenReused = "refresh_token_reused",
        /// The account was deleted while signed in.
        AccountGone = "account_gone",
        /// An admin deactivated the account: nothing works until one
        /// reactivates it. The app keeps nothing readable.
        AccountDeactivated = "account_deactivated",
        /// This device's sign-in was ended from elsewhere (its user on
        /// another device, or an admin). The app keeps nothing readable.
        SessionRevoked = "session_revoked",
        /// The sign-in reached its absolute lifetime: sign in again.
        SessionExpired = "session_expired",
        /// The password given to confirm an action is wrong.
        WrongPassword = "wrong_password",
        /// A password reset code that is unknown, used or expired.
        InvalidResetCode = "invalid_reset_code",
        SignupClosed = "signup_closed",
        EmailTaken = "email_taken",
        RoleNotAllowed = "role_not_allowed",
        Forbidden = "forbidden",
        // The sync protocol.
        /// The client must be updated; it keeps its outbox.
        UpgradeRequired = "upgrade_required",
        ProtocolTooNew = "protocol_too_new",
        BatchTooLarge = "batch_too_large",
        InvalidSequence = "invalid_sequence",
        SequenceNotConsecutive = "sequence_not_consecutive",
        /// Mutations are missing before this batch: send them first.
        SequenceGap = "sequence_gap",
        EmptyUpdate = "empty_update",
        ColumnNotWritable = "column_not_writable",
        ClientOfAnotherUser = "client_of_another_user",
        InvalidCursor = "invalid_cursor",
        UnknownTable = "unknown_table",
        RefetchNeedsCursor = "refetch_needs_cursor",
        // Attachment files.
        /// The file is over the bucket's size limit (50 MiB).
        FileTooLarge = "file_too_large",
        /// The file's content is not an allowed type (images, PDF, Office).
        FileTypeNotAllowed = "file_type_not_allowed",
        /// The file carries scripts or macros.
        ActiveContent = "active_content",
        FileNameNotAllowed = "file_name_not_allowed",
        /// The upload stopped sending for too long.
        UploadStalled = "upload_stalled",
        RangeNotSatisfiable = "range_not_satisfiable",
        /// A signed URL past its expiry.
        LinkExpired = "link_expired",
        /// A signed URL for another file, method or user, or forged.
        LinkInvalid = "link_invalid",
        // The integration API.
        /// The integration token lacks the permission this needs.
        PermissionMissing = "permission_missing",
        /// The integration token was revoked by its owner or an admin.
        TokenRevoked = "token_revoked",
        /// A filter, sort, page size or cursor the list does not take.
        InvalidQuery = "invalid_query",
        /// `If-Match` names a version the row no longer has (412).
        PreconditionFailed = "precondition_failed",
        /// An `Idempotency-Key` already used for another request (422).
        IdempotencyKeyReused = "idempotency_key_reused",
        /// The first request with this `Idempotency-Key` is still running (409).
        IdempotencyKeyInUse = "idempotency_key_in_use",
        /// A rule of the data refused the change (a workflow move, a guard).
        NotAllowed = "not_allowed",
        AlreadyExists = "already_exists",
        /// It refers to a row that does not exist, or is out of sight.
        MissingReference = "missing_reference",
        MissingValue = "missing_value",
        /// A value the database cannot hold (a wrong type, an unknown enum value).
        InvalidValue = "invalid_value",
        // The server.
        /// Over a per-user budget of requests; see `Retry-After`.
        RateLimited = "rate_limited",
        DatabaseUnavailable = "database_unavailable",
        /// The file store (disk or object store) failed; try again.
        StorageUnavailable = "storage_unavailable",
        Internal = "internal",
    }
}

codes! {
    /// Why one change of a push was not applied (the rest go ahead).
    RejectionCode {
        /// A field broke a rule (see the refusal's `field`).
        ValidationFailed = "validation_failed",
        /// The row is gone, or out of the user's sight.
        NotFound = "not_found",
        /// The user may not make this change.
        Forbidden = "forbidden",
        /// A rule of the data refused it (a workflow move, a guard).
        NotAllowed = "not_allowed",
        AlreadyExists = "already_exists",
        /// It refers to a row that does not exist (any more).
        MissingReference = "missing_reference",
        MissingValue = "missing_value",
        /// A value the database cannot hold.
        InvalidValue = "invalid_value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_travels_as_its_wire_string_and_reads_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, code.as_str(), "{code:?}");
            assert_eq!(ErrorCode::parse(code.as_str()), *code);
            assert_eq!(serde_json::from_value::<ErrorCode>(json).ok(), Some(*code));
        }
        for code in RejectionCode::ALL {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, code.as_str(), "{code:?}");
            assert_eq!(RejectionCode::parse(code.as_str()), *code);
        }
    }

    #[test]
    fn a_code_from_a_newer_server_reads_as_unknown() {
        let code: Option<RejectionCode> = serde_json::from_str("\"quota_exceeded\"").ok();
        assert_eq!(code, Some(RejectionCode::Unknown));
        assert_eq!(ErrorCode::parse("quota_exceeded"), ErrorCode::Unknown);
    }
}
