//! Finding the installed PostgreSQL server binaries.
//!
//! Debian keeps them outside PATH (in /usr/lib/postgresql/VERSION/bin), so
//! PATH alone is not enough; other systems put them on PATH.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Where Debian and Ubuntu install one directory per major version.
pub(crate) const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The directory holding `initdb` and `postgres`: the first on `path` (a
/// PATH value), else the newest of `debian_root`/*/bin.
pub(crate) fn find_bin_dir(path: Option<&OsStr>, debian_root: &Path) -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(path) = path {
        for dir in std::env::split_paths(path) {
            if has_both(&dir) {
                // PATH may hold symlinks (Debian's postgresql-common links
                // /usr/local/bin/initdb): postgres finds its share files
                // relative to its real home, and the client tools we run
                // later live beside the real binaries.
                return Some(
                    std::fs::canonicalize(dir.join("initdb"))
                        .ok()
                        .and_then(|real| real.parent().map(Path::to_path_buf))
                        .unwrap_or(dir),
                );
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(debian_root)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The client tool `name` (psql, pg_isready) matching the server: beside it
/// when it is there, else whichever PATH has, since some distributions
/// package the clients apart from the server.
pub(crate) fn tool(bin_dir: &Path, name: &str) -> PathBuf {
    let beside = bin_dir.join(name);
    if beside.is_file() {
        beside
    } else {
        PathBuf::from(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempDir;
    use std::ffi::OsString;
    use std::fs;

    fn fake_bin(dir: &Path) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("initdb"), "").unwrap();
        fs::write(dir.join("postgres"), "").unwrap();
    }

    #[test]
    fn path_wins_and_symlinks_lead_to_the_real_directory() {
        let tmp = TempDir::new("bin-path");
        let real = tmp.path().join("real/bin");
        fake_bin(&real);
        let links = tmp.path().join("links");
        fs::create_dir_all(&links).unwrap();
        for name in ["initdb", "postgres"] {
            std::os::unix::fs::symlink(real.join(name), links.join(name)).unwrap();
        }
        let debian = tmp.path().join("debian");
        fake_bin(&debian.join("15/bin"));
        let path = std::env::join_paths([tmp.path().join("empty"), links]).unwrap();

        let found = find_bin_dir(Some(&path), &debian).unwrap();

        assert_eq!(found, fs::canonicalize(real).unwrap());
    }

    #[test]
    fn without_path_the_newest_debian_version_is_chosen_numerically() {
        let tmp = TempDir::new("bin-debian");
        for version in ["9", "15", "16"] {
            fake_bin(&tmp.path().join(version).join("bin"));
        }
        // A newer version whose server package is not installed.
        fs::create_dir_all(tmp.path().join("17/bin")).unwrap();
        fs::write(tmp.path().join("17/bin/initdb"), "").unwrap();
        fs::create_dir_all(tmp.path().join("common")).unwrap();

        let found = find_bin_dir(Some(&OsString::from("")), tmp.path()).unwrap();

        assert_eq!(found, tmp.path().join("16/bin"));
    }

    #[test]
    fn nothing_installed_is_none() {
        let tmp = TempDir::new("bin-none");
        assert_eq!(find_bin_dir(None, &tmp.path().join("missing")), None);
        assert_eq!(find_bin_dir(None, tmp.path()), None);
    }

    #[test]
    fn tools_beside_the_server_win_over_path() {
        let tmp = TempDir::new("bin-tool");
        fs::write(tmp.path().join("psql"), "").unwrap();
        assert_eq!(tool(tmp.path(), "psql"), tmp.path().join("psql"));
        assert_eq!(tool(tmp.path(), "pg_isready"), PathBuf::from("pg_isready"));
    }
}
