//! Files derived from the code and committed beside it (the schema dumps in
//! `schema/`), so a review shows what a change did: a test compares the
//! file with what the code makes now and fails when it is stale, or, with
//! `CRM_WRITE_SCHEMA=1`, writes it.

use std::path::Path;

/// Compares `actual` with the committed file at `path`, or writes it there
/// when `CRM_WRITE_SCHEMA` is set. `how` tells the reader how to refresh it.
///
/// # Panics
/// When the file differs (naming the first differing line), or cannot be
/// written.
pub fn check_or_write(path: &Path, actual: &str, how: &str) {
    if std::env::var_os("CRM_WRITE_SCHEMA").is_some() {
        if let Err(e) = std::fs::write(path, actual) {
            panic!("cannot write {}: {e}", path.display());
        }
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != actual {
        let line = committed
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(actual.lines().count()));
        panic!(
            "{} is stale (first difference at line {}: {:?} now reads {:?}); {how} and commit it",
            path.display(),
            line + 1,
            committed.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        );
    }
}
