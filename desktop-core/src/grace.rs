//! The offline grace period (issue 15): a laptop that never comes online
//! again cannot be told to wipe, so past the days its admins allow without
//! reaching the server (`AccessPolicy`, 14 by default), the app asks for
//! the user's password before it shows any data; after
//! [`MAX_WRONG_ANSWERS`] wrong answers in a row it locks, and only a
//! sign-in with the server (which checks the password itself) opens it
//! again. Nothing is deleted: unsent work stays for that sign-in.
//!
//! The password is checked offline against an argon2id hash kept inside
//! the encrypted replica (never beside it), made at sign-in. The clock is
//! the device's: a clock set back behind the latest time it showed counts
//! as past the grace period.
//!
//! On disk: `grace.json` in the data directory (no secret): the last
//! contact, the period the server gave, the latest time seen, the wrong
//! answers so far.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
use crate::store::Store;

/// Wrong answers in a row before the app locks until an online sign-in.
pub const MAX_WRONG_ANSWERS: u32 = 5;

/// How much a clock may step back (a time zone or NTP correction) before
/// it counts as set back.
const CLOCK_SLACK: TimeDelta = TimeDelta::minutes(10);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GraceFile {
    /// The last time this device reached the server.
    last_contact: Option<DateTime<Utc>>,
    /// The grace period the server last gave, in days.
    grace_days: Option<u16>,
    /// The latest time the device's clock showed.
    latest_clock: Option<DateTime<Utc>>,
    /// Wrong answers in a row.
    wrong_answers: u32,
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("grace.json")
}

fn load(data_dir: &Path) -> GraceFile {
    crate::session::read_json_or_default(&path(data_dir))
}

fn save(data_dir: &Path, file: &GraceFile) -> std::io::Result<()> {
    crate::session::write_json_private(&path(data_dir), file)
}

/// The server answered at `now` (a sign-in or a refresh), saying the
/// grace period is `grace_days`: the clock starts again, and a lock from
/// wrong answers ends (the server has checked the password or the token).
pub fn record_contact(data_dir: &Path, grace_days: u16, now: DateTime<Utc>) -> std::io::Result<()> {
    let mut file = load(data_dir);
    file.last_contact = Some(now);
    file.grace_days = Some(grace_days);
    file.latest_clock = Some(file.latest_clock.map_or(now, |seen| seen.max(now)));
    file.wrong_answers = 0;
    save(data_dir, &file)
}

/// Forgets it all (sign-out, wipe).
pub fn forget(data_dir: &Path) -> std::io::Result<()> {
    crate::session::remove_if_present(&path(data_dir))
}

/// Whether the app may show its data now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum GraceCheck {
    /// Within the grace period.
    Open,
    /// Past it (or the clock was set back): the password first.
    PasswordDue {
        /// Whole days since the server was last reached.
        days_offline: u32,
        grace_days: u16,
        /// Wrong answers left before the lock.
        answers_left: u32,
    },
    /// Too many wrong answers: only a sign-in with the server opens it.
    LockedOut,
}

/// Looks at the clock (remembering the latest time it showed).
pub fn check(data_dir: &Path, now: DateTime<Utc>) -> CoreResult<GraceCheck> {
    let mut file = load(data_dir);
    if file.wrong_answers >= MAX_WRONG_ANSWERS {
        return Ok(GraceCheck::LockedOut);
    }
    let grace_days = file
        .grace_days
        .unwrap_or(crm_domain::auth::DEFAULT_OFFLINE_GRACE_DAYS);
    // A session from before this check: the clock starts now.
    let last_contact = *file.last_contact.get_or_insert(now);
    let set_back = file
        .latest_clock
        .is_some_and(|seen| now + CLOCK_SLACK < seen);
    file.latest_clock = Some(file.latest_clock.map_or(now, |seen| seen.max(now)));
    save(data_dir, &file)?;
    let offline = now.signed_duration_since(last_contact);
    if set_back || offline > TimeDelta::days(i64::from(grace_days)) {
        return Ok(GraceCheck::PasswordDue {
            days_offline: u32::try_from(offline.num_days().max(0)).unwrap_or(u32::MAX),
            grace_days,
            answers_left: MAX_WRONG_ANSWERS - file.wrong_answers,
        });
    }
    Ok(GraceCheck::Open)
}

/// Checks the user's password against the hash in the replica. A wrong
/// one counts towards the lock (`CoreError::WrongPassword` says how many
/// answers are left; the last one locks).
pub fn confirm_password(data_dir: &Path, store: &Store, password: &str) -> CoreResult<()> {
    use argon2::{PasswordHash, PasswordVerifier};
    let mut file = load(data_dir);
    if file.wrong_answers >= MAX_WRONG_ANSWERS {
        return Err(CoreError::OfflineLockedOut);
    }
    let stored = store
        .offline_verifier()?
        .ok_or(CoreError::OfflineLockedOut)?;
    let hash = PasswordHash::new(&stored).map_err(|e| CoreError::Malformed(e.to_string()))?;
    if argon2::Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
    {
        file.wrong_answers = 0;
        save(data_dir, &file)?;
        return Ok(());
    }
    file.wrong_answers += 1;
    save(data_dir, &file)?;
    if file.wrong_answers >= MAX_WRONG_ANSWERS {
        tracing::warn!("too many wrong passwords offline: locked until an online sign-in");
        return Err(CoreError::OfflineLockedOut);
    }
    Err(CoreError::WrongPassword {
        answers_left: MAX_WRONG_ANSWERS - file.wrong_answers,
    })
}

/// Keeps the hash of the user's (new) password in the replica for the
/// offline check.
pub fn remember_password(store: &Store, password: &str) -> CoreResult<()> {
    store.set_offline_verifier(&password_verifier(password)?)
}

/// The hash of `password` kept in the replica for the offline check.
pub(crate) fn password_verifier(password: &str) -> CoreResult<String> {
    use argon2::PasswordHasher;
    use argon2::password_hash::SaltString;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| CoreError::Malformed(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| CoreError::Malformed(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + TimeDelta::days(days)
    }

    #[test]
    fn past_the_grace_period_the_password_is_due_and_a_contact_starts_the_clock_again() {
        let dir = tempfile::tempdir().unwrap();
        record_contact(dir.path(), 14, at(0)).unwrap();
        assert_eq!(check(dir.path(), at(14)).unwrap(), GraceCheck::Open);
        assert_eq!(
            check(dir.path(), at(15)).unwrap(),
            GraceCheck::PasswordDue {
                days_offline: 15,
                grace_days: 14,
                answers_left: MAX_WRONG_ANSWERS
            }
        );
        record_contact(dir.path(), 3, at(15)).unwrap();
        assert_eq!(check(dir.path(), at(18)).unwrap(), GraceCheck::Open);
        assert!(matches!(
            check(dir.path(), at(19)).unwrap(),
            GraceCheck::PasswordDue { grace_days: 3, .. }
        ));
    }

    #[test]
    fn a_clock_set_back_counts_as_past_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        record_contact(dir.path(), 14, at(0)).unwrap();
        assert_eq!(check(dir.path(), at(10)).unwrap(), GraceCheck::Open);
        // Set back to the day of the last contact, to dodge the check.
        assert!(matches!(
            check(dir.path(), at(1)).unwrap(),
            GraceCheck::PasswordDue { .. }
        ));
    }
}
