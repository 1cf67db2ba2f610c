//! The rules a value must meet before it is stored. PostgreSQL CHECK
//! constraints enforce the same limits, so the constants here are the numbers
//! both sides must agree on; checking in Rust first lets a form report every
//! problem at once instead of failing on the first constraint.
//!
//! Conventions shared by all rules:
//! - lengths count Unicode scalar values (PostgreSQL `length()` on UTF-8 text),
//!   except file names, which count bytes (`octet_length()`);
//! - lengths are measured on the value as given, untrimmed, since that is what
//!   gets stored;
//! - "blank" and "whitespace" mean Unicode `White_Space` (`char::is_whitespace`).

use std::fmt;

use thiserror::Error;
use uuid::Uuid;

use crate::enums::IntegrationPermission;

/// Longest customer name, in characters.
pub const CUSTOMER_NAME_MAX_CHARS: usize = 200;
/// Longest email address, in characters (the SMTP path limit).
pub const EMAIL_MAX_CHARS: usize = 254;
/// Longest phone number, in characters.
pub const PHONE_MAX_CHARS: usize = 32;
/// Fewest digits a phone number may have; fewer cannot be dialled anywhere.
pub const PHONE_MIN_DIGITS: usize = 5;
/// The characters a phone number may contain besides ASCII digits.
pub const PHONE_PUNCTUATION: [char; 6] = [' ', '+', '-', '(', ')', '.'];
/// Longest interaction type, in characters.
pub const INTERACTION_TYPE_MAX_CHARS: usize = 50;
/// Longest interaction note, in characters.
pub const INTERACTION_NOTE_MAX_CHARS: usize = 10_000;
/// Longest ticket title, in characters.
pub const TICKET_TITLE_MAX_CHARS: usize = 200;
/// Longest ticket description, in characters.
pub const TICKET_DESCRIPTION_MAX_CHARS: usize = 20_000;
/// Longest note on a ticket status change, in characters.
pub const WORKFLOW_NOTE_MAX_CHARS: usize = 2_000;
/// Longest comment, in characters.
pub const COMMENT_CONTENT_MAX_CHARS: usize = 20_000;
/// Longest product name, in characters.
pub const PRODUCT_NAME_MAX_CHARS: usize = 100;
/// Longest product description, in characters.
pub const PRODUCT_DESCRIPTION_MAX_CHARS: usize = 10_000;
/// How many products may be active at the same time.
pub const MAX_ACTIVE_PRODUCTS: usize = 3;
/// Largest attachment, in bytes (50 MiB).
pub const MAX_ATTACHMENT_BYTES: i64 = 50 * 1024 * 1024;
/// Longest attachment file name, in bytes: the common file-system limit.
pub const ATTACHMENT_FILE_NAME_MAX_BYTES: usize = 255;
/// The only MIME types an attachment may have.
///
/// `image/svg+xml` is left out on purpose: an SVG can carry scripts, which would
/// run if someone opened the attachment in a browser. HTML is out for the same
/// reason.
pub const ALLOWED_ATTACHMENT_MIME_TYPES: [&str; 11] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];
/// Longest integration token name, in characters.
pub const INTEGRATION_TOKEN_NAME_MAX_CHARS: usize = 100;
/// Longest full name on a profile, in characters.
pub const FULL_NAME_MAX_CHARS: usize = 200;
/// Longest avatar URL on a profile, in characters.
pub const AVATAR_URL_MAX_CHARS: usize = 2_048;

/// One field that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field's name on the wire and in the database, e.g. `email` or `type`.
    pub field: &'static str,
    /// What is wrong, phrased to follow the field name.
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Every rule a draft breaks, so a form can mark all of its fields at once.
/// Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(Vec<ValidationError>);

impl ValidationErrors {
    /// Gathers the failures among `results`; `Ok` when there are none.
    pub fn collect(
        results: impl IntoIterator<Item = Result<(), ValidationError>>,
    ) -> Result<(), Self> {
        let errors: Vec<_> = results.into_iter().filter_map(Result::err).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self(errors))
        }
    }

    /// The failures, in the order the fields were checked.
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }

    /// The failures of one field.
    pub fn for_field<'a>(
        &'a self,
        field: &'a str,
    ) -> impl Iterator<Item = &'a ValidationError> + 'a {
        self.0.iter().filter(move |error| error.field == field)
    }

    pub fn into_vec(self) -> Vec<ValidationError> {
        self.0
    }
}

impl From<ValidationError> for ValidationErrors {
    fn from(error: ValidationError) -> Self {
        Self(vec![error])
    }
}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Turns an optional text that is empty or only whitespace into `None`, since
/// forms send `""` for a field left empty and `Some("")` would fail rules such
/// as the email format.
pub fn blank_to_none(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// The message for text holding U+0000, which PostgreSQL cannot store.
pub const NUL_MESSAGE: &str = "must not contain a NUL character";

fn max_chars(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    // Every text rule starts here, so no rule lets through what the
    // database can never store.
    if value.contains('\0') {
        return Err(ValidationError::new(field, NUL_MESSAGE));
    }
    if value.chars().count() > max {
        Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ))
    } else {
        Ok(())
    }
}

fn required_text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    max_chars(field, value, max)
}

pub fn validate_customer_name(name: &str) -> Result<(), ValidationError> {
    required_text("name", name, CUSTOMER_NAME_MAX_CHARS)
}

/// Accepts exactly the strings PostgreSQL's `^[^@\s]+@[^@\s]+\.[^@\s]+$` does
/// (with `\s` read as Unicode whitespace), up to [`EMAIL_MAX_CHARS`]. Deliberately
/// loose: the only real test of an address is sending mail to it.
pub fn validate_email(email: &str) -> Result<(), ValidationError> {
    max_chars("email", email, EMAIL_MAX_CHARS)?;
    if is_plausible_email(email) {
        Ok(())
    } else {
        Err(ValidationError::new(
            "email",
            "must be an address like name@example.com",
        ))
    }
}

fn is_plausible_email(email: &str) -> bool {
    if email.chars().any(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    if local.is_empty() || domain.contains('@') {
        return false;
    }
    // The regex needs a dot with at least one character on each side of it;
    // other dots, even leading or doubled ones, are fine.
    domain
        .char_indices()
        .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

/// Digits plus [`PHONE_PUNCTUATION`], at least [`PHONE_MIN_DIGITS`] digits, so
/// people can write numbers the way they are used to without storing letters.
pub fn validate_phone(phone: &str) -> Result<(), ValidationError> {
    max_chars("phone", phone, PHONE_MAX_CHARS)?;
    if !phone
        .chars()
        .all(|c| c.is_ascii_digit() || PHONE_PUNCTUATION.contains(&c))
    {
        return Err(ValidationError::new(
            "phone",
            "may contain only digits, spaces and + - ( ) .",
        ));
    }
    if phone.chars().filter(char::is_ascii_digit).count() < PHONE_MIN_DIGITS {
        return Err(ValidationError::new(
            "phone",
            format!("must contain at least {PHONE_MIN_DIGITS} digits"),
        ));
    }
    Ok(())
}

pub fn validate_interaction_type(interaction_type: &str) -> Result<(), ValidationError> {
    required_text("type", interaction_type, INTERACTION_TYPE_MAX_CHARS)
}

pub fn validate_interaction_note(note: &str) -> Result<(), ValidationError> {
    max_chars("note", note, INTERACTION_NOTE_MAX_CHARS)
}

pub fn validate_ticket_title(title: &str) -> Result<(), ValidationError> {
    required_text("title", title, TICKET_TITLE_MAX_CHARS)
}

pub fn validate_ticket_description(description: &str) -> Result<(), ValidationError> {
    max_chars("description", description, TICKET_DESCRIPTION_MAX_CHARS)
}

pub fn validate_workflow_note(note: &str) -> Result<(), ValidationError> {
    max_chars("note", note, WORKFLOW_NOTE_MAX_CHARS)
}

pub fn validate_comment_content(content: &str) -> Result<(), ValidationError> {
    required_text("content", content, COMMENT_CONTENT_MAX_CHARS)
}

pub fn validate_product_name(name: &str) -> Result<(), ValidationError> {
    required_text("name", name, PRODUCT_NAME_MAX_CHARS)
}

pub fn validate_product_description(description: &str) -> Result<(), ValidationError> {
    max_chars("description", description, PRODUCT_DESCRIPTION_MAX_CHARS)
}

/// Checks how many products would be active after a change; the caller counts,
/// because only it can see the other products.
pub fn check_active_product_count(active_after_change: usize) -> Result<(), ValidationError> {
    if active_after_change > MAX_ACTIVE_PRODUCTS {
        Err(ValidationError::new(
            "is_active",
            format!("at most {MAX_ACTIVE_PRODUCTS} products can be active at once"),
        ))
    } else {
        Ok(())
    }
}

pub fn validate_attachment_size(file_size: i64) -> Result<(), ValidationError> {
    if file_size < 1 {
        Err(ValidationError::new("file_size", "must be at least 1 byte"))
    } else if file_size > MAX_ATTACHMENT_BYTES {
        Err(ValidationError::new(
            "file_size",
            format!("must be at most {MAX_ATTACHMENT_BYTES} bytes (50 MiB)"),
        ))
    } else {
        Ok(())
    }
}

/// The name becomes the last segment of a storage path, so it must not be able
/// to add segments or climb out of the ticket's folder.
pub fn validate_attachment_file_name(file_name: &str) -> Result<(), ValidationError> {
    let problem = if file_name.is_empty() {
        "must not be empty"
    } else if file_name.len() > ATTACHMENT_FILE_NAME_MAX_BYTES {
        "must be at most 255 bytes"
    } else if file_name.contains(['/', '\\']) {
        "must not contain '/' or '\\'"
    } else if file_name.contains('\0') {
        "must not contain a NUL character"
    } else if file_name == "." || file_name == ".." {
        "must not be \".\" or \"..\""
    } else {
        return Ok(());
    };
    Err(ValidationError::new("file_name", problem))
}

/// Exact, case-sensitive match against [`ALLOWED_ATTACHMENT_MIME_TYPES`], as in
/// the database; callers lower-case what a browser reports.
pub fn validate_attachment_mime_type(mime_type: &str) -> Result<(), ValidationError> {
    if ALLOWED_ATTACHMENT_MIME_TYPES.contains(&mime_type) {
        Ok(())
    } else {
        Err(ValidationError::new(
            "mime_type",
            format!("{mime_type:?} is not an allowed file type"),
        ))
    }
}

/// Where an attachment's bytes are stored: `{ticket_id}/{file_name}`, with the
/// id hyphenated and lower-case as PostgreSQL prints `uuid::text`.
pub fn attachment_path(ticket_id: Uuid, file_name: &str) -> Result<String, ValidationError> {
    validate_attachment_file_name(file_name)?;
    Ok(format!("{ticket_id}/{file_name}"))
}

pub fn validate_integration_token_name(name: &str) -> Result<(), ValidationError> {
    required_text("name", name, INTEGRATION_TOKEN_NAME_MAX_CHARS)
}

/// A token without permissions could do nothing, which is surely a mistake.
pub fn validate_integration_permissions(
    permissions: &[IntegrationPermission],
) -> Result<(), ValidationError> {
    if permissions.is_empty() {
        Err(ValidationError::new(
            "permissions",
            "must grant at least one permission",
        ))
    } else {
        Ok(())
    }
}

pub fn validate_full_name(full_name: &str) -> Result<(), ValidationError> {
    max_chars("full_name", full_name, FULL_NAME_MAX_CHARS)
}

pub fn validate_avatar_url(avatar_url: &str) -> Result<(), ValidationError> {
    max_chars("avatar_url", avatar_url, AVATAR_URL_MAX_CHARS)
}

/// Checks one field of a synced row, as sent by a client, with the rule
/// the catalogue gives it (the forms use the same rules). Fields without a
/// rule are left to the database's types and constraints.
pub fn validate_sync_field(
    table: crate::protocol::SyncTable,
    field: &'static str,
    value: &serde_json::Value,
) -> Result<(), ValidationError> {
    use crate::catalogue::Rule;
    let rule = table.def().column(field).map_or(Rule::None, |c| c.rule);
    match (rule, value) {
        (Rule::None, _) => Ok(()),
        (Rule::CreationTime, _) => validate_creation_time(field, value),
        (Rule::Text { check, .. }, serde_json::Value::String(text)) => check(text),
        (
            Rule::Text {
                required: false, ..
            },
            serde_json::Value::Null,
        ) => Ok(()),
        (Rule::Text { .. }, serde_json::Value::Null) => {
            Err(ValidationError::new(field, "is required"))
        }
        (Rule::Text { .. }, _) => Err(ValidationError::new(field, "must be text")),
    }
}

/// A row's creation time as a client sends it: a date and time with its
/// offset (RFC 3339). How far back it may reach is not limited (a visit
/// from last week is logged today); the future is PostgreSQL's to clamp.
fn validate_creation_time(
    field: &'static str,
    value: &serde_json::Value,
) -> Result<(), ValidationError> {
    match value {
        serde_json::Value::String(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok() => {
            Ok(())
        }
        serde_json::Value::Null => Err(ValidationError::new(field, "is required")),
        _ => Err(ValidationError::new(
            field,
            "must be a date and time such as 2026-12-02T15:08:00Z",
        )),
    }
}

/// A password's least length, in characters.
pub const PASSWORD_MIN_CHARS: usize = 10;
/// Its greatest, in bytes: hashing cost grows with length, and a cap keeps
/// a huge "password" from becoming a denial of service.
pub const PASSWORD_MAX_BYTES: usize = 256;

/// A new password: long enough, not huge, and not guessable. "Guessable"
/// is zxcvbn's estimate (common passwords, names, dates, keyboard walks,
/// words from `user_inputs` such as the email and name): fewer than 10^8
/// guesses (a score below 3) is refused, so the most common passwords and
/// their usual variations never get in (NIST SP 800-63B's blocklist, with
/// no rules about character classes).
pub fn validate_new_password(password: &str, user_inputs: &[&str]) -> Result<(), ValidationError> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(ValidationError::new(
            "password",
            format!("must be at least {PASSWORD_MIN_CHARS} characters"),
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(ValidationError::new(
            "password",
            format!("must be at most {PASSWORD_MAX_BYTES} bytes"),
        ));
    }
    if user_inputs
        .iter()
        .any(|input| password.trim().eq_ignore_ascii_case(input.trim()))
    {
        return Err(ValidationError::new(
            "password",
            "must not be your email or name",
        ));
    }
    // The email's and the name's parts, and each run together ("analopez"),
    // count as words the user would pick.
    let mut inputs: Vec<String> = Vec::with_capacity(user_inputs.len() * 4);
    for input in user_inputs {
        let input = input.to_lowercase();
        inputs.extend(
            input
                .split(['@', '.', ' ', '-', '_', '+'])
                .filter(|w| w.len() > 2)
                .map(str::to_owned),
        );
        let local = input.split('@').next().unwrap_or_default();
        inputs.push(local.chars().filter(|c| c.is_alphanumeric()).collect());
        inputs.push(input);
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    // Also without its punctuation: "benjamin.agent" is the name with a dot.
    let bare: String = password.chars().filter(|c| c.is_alphanumeric()).collect();
    let score = zxcvbn::zxcvbn(password, &inputs)
        .score()
        .min(zxcvbn::zxcvbn(&bare, &inputs).score());
    if score < zxcvbn::Score::Three {
        return Err(ValidationError::new(
            "password",
            "is too easy to guess: use a longer phrase of unrelated words",
        ));
    }
    Ok(())
}

/// How far ahead of this device's clock "when it happened" may be: clocks
/// of two devices differ a little, a minute is a typing slip, an hour is a
/// mistake.
pub const OCCURRED_AT_TOLERANCE_SECONDS: i64 = 300;

/// When an interaction happened, as the agent says: any time up to now.
pub fn validate_occurred_at(
    occurred_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ValidationError> {
    if occurred_at > now + chrono::Duration::seconds(OCCURRED_AT_TOLERANCE_SECONDS) {
        Err(ValidationError::new(
            "occurred_at",
            "cannot be in the future",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_new_password_is_long_enough_not_huge_and_not_guessable() {
        let me = ["ana.lopez@field.test", "Ana Lopez"];
        for common in [
            "password123",
            "qwertyuiop",
            "1234567890",
            "Password1!",
            "iloveyou2024",
            "letmein12345",
            "Summer2026!",
            "analopez2026",
        ] {
            assert!(validate_new_password(common, &me).is_err(), "{common}");
        }
        assert!(validate_new_password("short", &me).is_err());
        assert!(validate_new_password(&"x".repeat(PASSWORD_MAX_BYTES + 1), &me).is_err());
        assert!(validate_new_password("ana.lopez@field.test", &me).is_err());
        for strong in [
            "a long enough passphrase",
            "copper kettle under moonlight",
            "Tz8#qW2!vR9x",
        ] {
            assert_eq!(validate_new_password(strong, &me), Ok(()), "{strong}");
        }
    }

    #[test]
    fn no_text_rule_lets_a_nul_character_through() {
        let with_nul = "Acme\0 GmbH";
        for (rule, field) in [
            (
                validate_customer_name as fn(&str) -> Result<(), ValidationError>,
                "name",
            ),
            (validate_email, "email"),
            (validate_phone, "phone"),
            (validate_interaction_type, "type"),
            (validate_interaction_note, "note"),
            (validate_ticket_title, "title"),
            (validate_comment_content, "content"),
            (validate_full_name, "full_name"),
        ] {
            let err = rule(with_nul).unwrap_err();
            assert_eq!((err.field, err.message.as_str()), (field, NUL_MESSAGE));
        }
    }

    #[test]
    fn a_creation_time_must_be_a_date_and_time_with_an_offset() {
        use crate::protocol::SyncTable;
        use serde_json::json;
        let at = |v| validate_sync_field(SyncTable::CustomerInteractions, "created_at", &v);
        assert!(at(json!("2026-12-01T15:08:00.123456+00:00")).is_ok());
        assert!(at(json!("2026-12-01T15:08:00Z")).is_ok());
        assert_eq!(at(json!(null)).unwrap_err().message, "is required");
        assert!(at(json!("yesterday")).is_err());
        assert!(at(json!("2026-12-01 15:08")).is_err());
        assert!(at(json!(17)).is_err());
        let assigned = validate_sync_field(SyncTable::TicketAssignees, "assigned_at", &json!("x"));
        assert_eq!(assigned.unwrap_err().field, "assigned_at");
    }

    #[test]
    fn an_interaction_may_have_happened_any_time_up_to_now() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T15:00:00Z")
            .unwrap()
            .to_utc();
        assert!(validate_occurred_at(now - chrono::Duration::days(400), now).is_ok());
        assert!(validate_occurred_at(now, now).is_ok());
        assert!(validate_occurred_at(now + chrono::Duration::seconds(60), now).is_ok());
        let err = validate_occurred_at(now + chrono::Duration::hours(1), now).unwrap_err();
        assert_eq!(err.field, "occurred_at");
        assert_eq!(err.message, "cannot be in the future");
    }

    fn chars(n: usize) -> String {
        "x".repeat(n)
    }

    /// Checks a required text rule at its edges, with multi-byte characters so
    /// a byte count would be caught.
    fn assert_required_text(
        validate: fn(&str) -> Result<(), ValidationError>,
        field: &str,
        max: usize,
    ) {
        assert!(validate("a").is_ok());
        assert!(validate(&chars(max)).is_ok());
        assert!(validate(&"é".repeat(max)).is_ok());
        assert!(validate(&format!(" {} ", chars(max - 2))).is_ok());

        let too_long = validate(&"é".repeat(max + 1)).unwrap_err();
        assert_eq!(too_long.field, field);
        assert_eq!(
            too_long.message,
            format!("must be at most {max} characters")
        );
        // Surrounding spaces are stored, so they count.
        assert!(validate(&format!(" {}", chars(max))).is_err());

        for blank in ["", " ", "   ", "\t", "\n", " \u{a0} "] {
            let err = validate(blank).unwrap_err();
            assert_eq!(err.field, field);
            assert_eq!(err.message, "must not be blank");
        }
    }

    /// Checks an optional text rule: only the length matters.
    fn assert_max_chars(
        validate: fn(&str) -> Result<(), ValidationError>,
        field: &str,
        max: usize,
    ) {
        assert!(validate("").is_ok());
        assert!(validate("  ").is_ok());
        assert!(validate(&"é".repeat(max)).is_ok());
        let err = validate(&chars(max + 1)).unwrap_err();
        assert_eq!(err.field, field);
    }

    #[test]
    fn customer_name_is_required_and_at_most_200_characters() {
        assert_required_text(validate_customer_name, "name", 200);
    }

    #[test]
    fn interaction_type_is_required_and_at_most_50_characters() {
        assert_required_text(validate_interaction_type, "type", 50);
    }

    #[test]
    fn ticket_title_is_required_and_at_most_200_characters() {
        assert_required_text(validate_ticket_title, "title", 200);
    }

    #[test]
    fn comment_content_is_required_and_at_most_20000_characters() {
        assert_required_text(validate_comment_content, "content", 20_000);
    }

    #[test]
    fn product_name_is_required_and_at_most_100_characters() {
        assert_required_text(validate_product_name, "name", 100);
    }

    #[test]
    fn integration_token_name_is_required_and_at_most_100_characters() {
        assert_required_text(validate_integration_token_name, "name", 100);
    }

    #[test]
    fn optional_texts_only_have_a_length_limit() {
        assert_max_chars(validate_interaction_note, "note", 10_000);
        assert_max_chars(validate_ticket_description, "description", 20_000);
        assert_max_chars(validate_workflow_note, "note", 2_000);
        assert_max_chars(validate_product_description, "description", 10_000);
        assert_max_chars(validate_full_name, "full_name", 200);
        assert_max_chars(validate_avatar_url, "avatar_url", 2_048);
    }

    #[test]
    fn email_accepts_what_the_database_regex_accepts() {
        for ok in [
            "a@b.c",
            "ada@example.com",
            "first.last+tag@mail.example.co.uk",
            "a.@b.c",
            "a@.b.c",
            "a@b..c",
            "\"quoted\"@b.c",
            "é@ü.de",
            "a@b.c.",
            "a@...",
        ] {
            assert!(validate_email(ok).is_ok(), "{ok:?} should be accepted");
        }
    }

    #[test]
    fn email_rejects_what_the_database_regex_rejects() {
        for bad in [
            "",
            "a",
            "a@b",
            "@b.c",
            "a@",
            "a@@b.c",
            "a@b@c.d",
            "a b@c.d",
            "a@b .c",
            " a@b.c",
            "a@b.c ",
            "a@b.c\n",
            "a\t@b.c",
            "a\u{a0}@b.c",
            "a@.c",
            "a@b.",
            "a@.",
        ] {
            let err = validate_email(bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad:?}");
            assert_eq!(err.message, "must be an address like name@example.com");
        }
    }

    #[test]
    fn email_is_at_most_254_characters() {
        let at_limit = format!("{}@b.c", chars(EMAIL_MAX_CHARS - 4));
        assert_eq!(at_limit.chars().count(), 254);
        assert!(validate_email(&at_limit).is_ok());

        let past_limit = format!("{}@b.c", chars(EMAIL_MAX_CHARS - 3));
        let err = validate_email(&past_limit).unwrap_err();
        assert_eq!(err.message, "must be at most 254 characters");
    }

    #[test]
    fn phone_allows_digits_spaces_and_common_punctuation() {
        for ok in [
            "12345",
            "+1 (555) 010-0199",
            "+33 1.23.45.67.89",
            "0049-30-1234567",
            "     12345     ",
        ] {
            assert!(validate_phone(ok).is_ok(), "{ok:?} should be accepted");
        }
    }

    #[test]
    fn phone_rejects_letters_and_other_symbols() {
        for bad in [
            "555-CALL-NOW",
            "12345 ext 6",
            "12345#",
            "12345/6",
            "12345\t",
            "１２３４５",
            "12345\u{a0}",
        ] {
            let err = validate_phone(bad).unwrap_err();
            assert_eq!(
                err.message, "may contain only digits, spaces and + - ( ) .",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn phone_needs_at_least_five_digits() {
        assert!(validate_phone("1-2-3-4-5").is_ok());
        for bad in ["", "1234", "+(12) 3-4", "     "] {
            let err = validate_phone(bad).unwrap_err();
            assert_eq!(err.message, "must contain at least 5 digits", "{bad:?}");
        }
    }

    #[test]
    fn phone_is_at_most_32_characters() {
        assert!(validate_phone(&"1".repeat(32)).is_ok());
        let err = validate_phone(&"1".repeat(33)).unwrap_err();
        assert_eq!(err.field, "phone");
        assert_eq!(err.message, "must be at most 32 characters");
    }

    #[test]
    fn more_than_three_active_products_is_refused() {
        assert!(check_active_product_count(0).is_ok());
        assert!(check_active_product_count(3).is_ok());
        let err = check_active_product_count(4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "is_active: at most 3 products can be active at once"
        );
    }

    #[test]
    fn attachment_size_must_be_between_one_byte_and_50_mib() {
        assert!(validate_attachment_size(1).is_ok());
        assert!(validate_attachment_size(MAX_ATTACHMENT_BYTES).is_ok());
        for bad in [0, -1, i64::MIN] {
            assert_eq!(
                validate_attachment_size(bad).unwrap_err().message,
                "must be at least 1 byte"
            );
        }
        for bad in [MAX_ATTACHMENT_BYTES + 1, i64::MAX] {
            assert_eq!(
                validate_attachment_size(bad).unwrap_err().message,
                "must be at most 52428800 bytes (50 MiB)"
            );
        }
    }

    #[test]
    fn attachment_file_name_is_at_most_255_bytes() {
        assert!(validate_attachment_file_name(&chars(255)).is_ok());
        assert!(validate_attachment_file_name(&chars(256)).is_err());
        // 128 two-byte characters are 256 bytes, over the limit despite being
        // fewer than 255 characters.
        assert!(validate_attachment_file_name(&"é".repeat(127)).is_ok());
        let err = validate_attachment_file_name(&"é".repeat(128)).unwrap_err();
        assert_eq!(err.message, "must be at most 255 bytes");
    }

    #[test]
    fn attachment_file_name_cannot_escape_the_ticket_folder() {
        for (bad, message) in [
            ("", "must not be empty"),
            ("a/b.pdf", "must not contain '/' or '\\'"),
            ("../etc/passwd", "must not contain '/' or '\\'"),
            ("a\\b.pdf", "must not contain '/' or '\\'"),
            ("a\0.pdf", "must not contain a NUL character"),
            (".", "must not be \".\" or \"..\""),
            ("..", "must not be \".\" or \"..\""),
        ] {
            let err = validate_attachment_file_name(bad).unwrap_err();
            assert_eq!(err.field, "file_name");
            assert_eq!(err.message, message, "{bad:?}");
        }
        for ok in [
            "...",
            ".hidden",
            "report..pdf",
            "a b.pdf",
            " ",
            "résumé.docx",
        ] {
            assert!(validate_attachment_file_name(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn attachment_mime_type_must_be_on_the_list() {
        for ok in ALLOWED_ATTACHMENT_MIME_TYPES {
            assert!(validate_attachment_mime_type(ok).is_ok());
        }
        for bad in [
            "image/svg+xml",
            "text/html",
            "application/octet-stream",
            "IMAGE/PNG",
            "image/png ",
            "image/png; charset=binary",
            "",
        ] {
            let err = validate_attachment_mime_type(bad).unwrap_err();
            assert_eq!(err.field, "mime_type", "{bad:?}");
        }
        assert_eq!(
            validate_attachment_mime_type("image/svg+xml")
                .unwrap_err()
                .to_string(),
            "mime_type: \"image/svg+xml\" is not an allowed file type"
        );
    }

    #[test]
    fn svg_is_not_an_allowed_attachment_type() {
        assert!(
            !ALLOWED_ATTACHMENT_MIME_TYPES
                .iter()
                .any(|m| m.contains("svg"))
        );
    }

    #[test]
    fn attachment_path_is_ticket_id_slash_file_name() {
        let ticket_id = Uuid::from_u128(0xABCD);
        assert_eq!(
            attachment_path(ticket_id, "log.pdf").unwrap(),
            "00000000-0000-0000-0000-00000000abcd/log.pdf"
        );
        assert_eq!(
            attachment_path(ticket_id, "../x").unwrap_err().field,
            "file_name"
        );
    }

    #[test]
    fn integration_token_needs_at_least_one_permission() {
        assert!(validate_integration_permissions(&[IntegrationPermission::TicketsRead]).is_ok());
        let err = validate_integration_permissions(&[]).unwrap_err();
        assert_eq!(err.field, "permissions");
    }

    #[test]
    fn blank_optional_text_becomes_none() {
        assert_eq!(blank_to_none(None), None);
        assert_eq!(blank_to_none(Some(String::new())), None);
        assert_eq!(blank_to_none(Some(" \t".into())), None);
        assert_eq!(blank_to_none(Some(" a ".into())), Some(" a ".into()));
    }

    #[test]
    fn validation_error_displays_field_then_message() {
        let err = ValidationError::new("title", "must not be blank");
        assert_eq!(err.to_string(), "title: must not be blank");
    }

    #[test]
    fn validation_errors_collect_every_failure_in_order() {
        assert_eq!(ValidationErrors::collect([Ok(()), Ok(())]), Ok(()));

        let errors =
            ValidationErrors::collect([validate_ticket_title(""), Ok(()), validate_phone("12")])
                .unwrap_err();
        assert_eq!(errors.errors().len(), 2);
        assert_eq!(
            errors.to_string(),
            "title: must not be blank; phone: must contain at least 5 digits"
        );
        assert_eq!(errors.for_field("phone").count(), 1);
        assert_eq!(errors.for_field("email").count(), 0);
        let fields: Vec<_> = errors.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "phone"]);
    }

    #[test]
    fn validation_errors_are_a_std_error() {
        let errors: Box<dyn std::error::Error> =
            Box::new(ValidationErrors::from(ValidationError::new("name", "x")));
        assert_eq!(errors.to_string(), "name: x");
    }
}
