//! Passwords: argon2id hashes (the argon2 crate's defaults, OWASP's
//! recommended parameters), the policy (crm-domain's), and verification that takes as
//! long for an unknown account as for a known one, so response times do not
//! tell which emails have accounts.

use std::sync::OnceLock;

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use crm_domain::ValidationError;

pub use crm_domain::validation::PASSWORD_MAX_BYTES as MAX_PASSWORD_BYTES;

/// The rules a new password must meet (crm-domain's: long enough, not
/// huge, not guessable from common passwords or the person's own email and
/// name).
pub fn check_policy(
    password: &str,
    email: &str,
    full_name: Option<&str>,
) -> Result<(), ValidationError> {
    let mut inputs = vec![email];
    inputs.extend(full_name);
    crm_domain::validation::validate_new_password(password, &inputs)
}

/// Hashes and checks at once at most one per core: each costs 19 MiB and
/// a fraction of a second of a core, and a burst of sign-ins (or of
/// guesses) must wait its turn rather than exhaust memory or starve the
/// rest of the server (security review M3).
fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores.max(2))
    })
}

/// Hashes on a blocking thread: argon2 is deliberately slow.
pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = permits().acquire().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await?
}

/// Whether `password` matches `stored`. With no stored hash (unknown
/// account) the same work is done against a dummy, and the answer is no.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(_permit) = permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let target = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let Ok(parsed) = PasswordHash::new(target) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        matches && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"no account has this password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_others_do_not() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await);
        assert!(!verify("correct horse batterY".into(), Some(stored)).await);
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify("no account has this password".into(), None).await);
    }

    #[test]
    fn the_policy_refuses_short_huge_common_and_personal_passwords() {
        assert!(check_policy("short", "a@b.io", None).is_err());
        assert!(check_policy(&"x".repeat(MAX_PASSWORD_BYTES + 1), "a@b.io", None).is_err());
        assert!(check_policy("ana@field.test", "Ana@Field.test", None).is_err());
        assert!(check_policy("password1234", "a@b.io", None).is_err());
        assert!(check_policy("benjamin.agent", "ben@b.io", Some("Benjamin Agent")).is_err());
        assert!(check_policy("a long enough passphrase", "a@b.io", None).is_ok());
    }
}
