//! Operating in another network namespace without moving the calling thread.
//!
//! A socket belongs to the network namespace it was created in for its whole life, whatever
//! namespace the thread that uses it is in later. So to talk to another namespace we create the
//! socket on a short-lived helper thread that has joined that namespace with `setns(2)`
//! (`CLONE_NEWNET`, Linux 3.0+; needs `CAP_SYS_ADMIN` over the target namespace), and hand the
//! socket back. The caller's thread never changes namespace, so this is safe to use from any
//! thread of a multi-threaded program, including Go programs calling through cgo.

use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, NetnsOperation, Origin, Result};

const OPEN: Origin = Origin::Netns(NetnsOperation::Open);
const IFINDEX: Origin = Origin::Netns(NetnsOperation::Ifindex);

/// A network namespace to operate in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NetNs {
    /// The namespace of the calling thread (no `setns` at all).
    #[default]
    Current,
    /// A namespace file such as `/var/run/netns/NAME` or `/proc/PID/ns/net`.
    Path(PathBuf),
    /// An open file descriptor of a namespace file. The descriptor stays owned by the caller
    /// and must stay open while it is in use.
    Fd(RawFd),
}

impl NetNs {
    /// The namespace named `name` by `ip netns add` (`/var/run/netns/NAME`).
    pub fn named(name: &str) -> Result<Self> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::invalid(
                OPEN,
                format!("invalid network namespace name {name:?}"),
            ));
        }
        Ok(NetNs::Path(Path::new("/var/run/netns").join(name)))
    }

    /// True for the caller's own namespace.
    pub fn is_current(&self) -> bool {
        matches!(self, NetNs::Current)
    }

    /// Runs `f` on a helper thread that has joined this namespace and returns its result.
    ///
    /// Use it to create sockets (netlink, BPF links by ifindex) that must live in the namespace.
    /// For [`NetNs::Current`], `f` runs on the calling thread.
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: FnOnce() -> Result<T> + Send,
    {
        let fd: OwnedFd = match self {
            NetNs::Current => return f(),
            NetNs::Path(p) => File::open(p)
                .map_err(|e| {
                    let errno = e.raw_os_error().unwrap_or(libc::EIO);
                    Error::from_kernel(
                        OPEN,
                        errno,
                        format!("open network namespace {}", p.display()),
                        None,
                    )
                })?
                .into(),
            NetNs::Fd(raw) => {
                if *raw < 0 {
                    return Err(Error::invalid(
                        OPEN,
                        "negative network namespace descriptor",
                    ));
                }
                // SAFETY: the caller promises the descriptor is open for the duration of the
                // call; we duplicate it so the helper thread owns its own copy.
                let borrowed = unsafe { BorrowedFd::borrow_raw(*raw) };
                borrowed.try_clone_to_owned().map_err(|e| {
                    Error::from_io(OPEN, "duplicate network namespace descriptor", &e)
                })?
            }
        };
        std::thread::scope(|s| {
            s.spawn(move || {
                // SAFETY: setns on this helper thread only; the fd is valid and owned here.
                let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
                if rc != 0 {
                    let errno = std::io::Error::last_os_error()
                        .raw_os_error()
                        .unwrap_or(libc::EIO);
                    return Err(Error::from_kernel(
                        Origin::Netns(NetnsOperation::Enter),
                        errno,
                        "setns(CLONE_NEWNET)",
                        None,
                    ));
                }
                f()
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Error::new(
                    Origin::Netns(NetnsOperation::Run),
                    ErrorKind::Io,
                    "network namespace helper panicked",
                ))
            })
        })
    }
}

/// The index of interface `name` in the calling thread's network namespace (inside
/// [`NetNs::run`] for another one), by `if_nametoindex(3)`: `ENODEV` when there is none, `EINVAL`
/// for a name with a NUL byte.
pub fn ifindex(name: &str) -> Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| Error::invalid(IFINDEX, format!("interface name {name:?} contains NUL")))?;
    // SAFETY: c is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(Error::from_kernel(
            IFINDEX,
            libc::ENODEV,
            format!("no interface {name}"),
            None,
        ));
    }
    Ok(idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_are_looked_up() {
        assert_eq!(ifindex("lo").unwrap(), 1);
        assert_eq!(ifindex("lbnet-none0").unwrap_err().errno(), libc::ENODEV);
        assert_eq!(ifindex("l\0o").unwrap_err().errno(), libc::EINVAL);
    }

    #[test]
    fn names_are_checked() {
        assert!(NetNs::named("").is_err());
        assert!(NetNs::named("../x").is_err());
        assert_eq!(
            NetNs::named("blue").unwrap(),
            NetNs::Path("/var/run/netns/blue".into())
        );
    }

    #[test]
    fn missing_namespace_is_a_clear_error() {
        let err = NetNs::Path("/nonexistent/ns".into())
            .run(|| Ok(()))
            .unwrap_err();
        assert_eq!(err.errno(), libc::ENOENT);
        assert!(err.to_string().contains("/nonexistent/ns"), "{err}");
    }

    #[test]
    fn current_runs_inline() {
        let tid = std::thread::current().id();
        let same = NetNs::Current
            .run(|| Ok(std::thread::current().id() == tid))
            .unwrap();
        assert!(same);
    }
}
