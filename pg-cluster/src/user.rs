//! Which user the cluster runs as, and handing it its files.
//!
//! PostgreSQL refuses to run as root, so as root the cluster runs as the
//! `postgres` user (or `nobody` where there is none), and its directories
//! must belong to that user.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::ClusterError;

/// A uid and gid to run the cluster's processes as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// The user to run PostgreSQL as: `None` for ourselves, or when we are root,
/// the `postgres` user (else `nobody`).
pub(crate) fn cluster_user() -> Result<Option<User>, ClusterError> {
    // /proc/self belongs to our effective uid; std offers no geteuid, and
    // unsafe code (libc) is forbidden here.
    let me = std::fs::metadata("/proc/self").map_err(ClusterError::io("reading /proc/self"))?;
    if me.uid() != 0 {
        return Ok(None);
    }
    let passwd =
        std::fs::read_to_string("/etc/passwd").map_err(ClusterError::io("reading /etc/passwd"))?;
    unprivileged_user(&passwd)
        .map(Some)
        .ok_or(ClusterError::NoClusterUser)
}

/// `postgres`, else `nobody`, from the text of an /etc/passwd.
fn unprivileged_user(passwd: &str) -> Option<User> {
    ["postgres", "nobody"].into_iter().find_map(|wanted| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() > 3 && fields[0] == wanted {
                Some(User {
                    uid: fields[2].parse().ok()?,
                    gid: fields[3].parse().ok()?,
                })
            } else {
                None
            }
        })
    })
}

/// `cmd`, made to run as `user` when there is one.
pub(crate) fn run_as(mut cmd: Command, user: Option<User>) -> Command {
    if let Some(User { uid, gid }) = user {
        // std also drops root's supplementary groups when it sets the uid.
        cmd.gid(gid).uid(uid);
    }
    cmd
}

/// The first ancestor of `path` that `user` may not enter (no search
/// permission for them as owner, group or other), if any. As root we hand
/// the data directory to that user, but postgres must also walk to it.
pub(crate) fn blocked_ancestor(path: &Path, user: User) -> Option<(std::path::PathBuf, u32)> {
    use std::os::unix::fs::MetadataExt;
    for dir in path.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(dir) else {
            continue;
        };
        let mode = meta.mode();
        let may_enter = if meta.uid() == user.uid {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !may_enter {
            return Some((dir.to_path_buf(), mode & 0o7777));
        }
    }
    None
}

/// Gives `path` and everything below it to `user`, without following
/// symlinks (a link out of the data directory must not hand over its target).
pub(crate) fn chown_tree(path: &Path, user: User) -> Result<(), ClusterError> {
    let failed = || ClusterError::io(format!("handing {} to uid {}", path.display(), user.uid));
    std::os::unix::fs::lchown(path, Some(user.uid), Some(user.gid)).map_err(failed())?;
    if std::fs::symlink_metadata(path).map_err(failed())?.is_dir() {
        for entry in std::fs::read_dir(path).map_err(failed())? {
            chown_tree(&entry.map_err(failed())?.path(), user)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempDir;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
postgres:x:104:110:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash
";

    #[test]
    fn postgres_is_preferred_to_nobody() {
        assert_eq!(unprivileged_user(PASSWD), Some(User { uid: 104, gid: 110 }));
    }

    #[test]
    fn nobody_stands_in_for_a_missing_postgres() {
        let without_postgres: String = PASSWD
            .lines()
            .filter(|l| !l.starts_with("postgres:"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            unprivileged_user(&without_postgres),
            Some(User {
                uid: 65534,
                gid: 65534
            })
        );
    }

    #[test]
    fn malformed_or_missing_entries_give_none() {
        assert_eq!(unprivileged_user("root:x:0:0::/root:/bin/sh\n"), None);
        assert_eq!(unprivileged_user("postgres:x:abc:1\nnobody:x\n"), None);
        assert_eq!(unprivileged_user(""), None);
    }

    #[test]
    fn an_ancestor_closed_to_the_cluster_user_is_named() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = TempDir::new("reach");
        let closed = tmp.path().join("closed");
        std::fs::create_dir_all(closed.join("data")).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        let stranger = User {
            uid: 4_000_001,
            gid: 4_000_001,
        };
        let found = blocked_ancestor(&closed.join("data"), stranger);
        assert_eq!(found, Some((closed.clone(), 0o700)));

        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o711)).unwrap();
        assert_eq!(
            blocked_ancestor(&closed.join("data"), stranger)
                .map(|(dir, _)| dir)
                .filter(|dir| dir.starts_with(tmp.path())),
            None,
            "search permission for others is enough"
        );
    }

    #[test]
    fn chown_tree_reaches_every_entry_but_not_through_symlinks() {
        let tmp = TempDir::new("chown");
        let tree = tmp.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/file"), "x").unwrap();
        let outside = tmp.path().join("outside");
        std::fs::write(&outside, "x").unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("link")).unwrap();
        let mine = std::fs::metadata(&outside).unwrap();
        // Without root we can only give files to ourselves, which still
        // exercises the walk; as root we hand them to another user.
        let target = if mine.uid() == 0 {
            User {
                uid: 4242,
                gid: 4343,
            }
        } else {
            User {
                uid: mine.uid(),
                gid: mine.gid(),
            }
        };

        chown_tree(&tree, target).unwrap();

        for path in ["", "a", "a/b", "a/b/file", "link"] {
            let meta = std::fs::symlink_metadata(tree.join(path)).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (target.uid, target.gid), "{path}");
        }
        assert_eq!(std::fs::metadata(&outside).unwrap().uid(), mine.uid());
    }
}
