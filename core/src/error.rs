//! One error type for the whole crate.
//!
//! Every error carries an [`ErrorKind`] that names what happened, the errno that best describes it
//! (the kernel's own where the kernel answered, so the C ABI and Go bindings can hand it on), and
//! a readable message. Where the kernel sent an extended-ack text (`NLMSGERR_ATTR_MSG`, kernel
//! 4.12+), it is kept in [`Error::ext_ack`] and shown in the message.

use std::fmt;
use std::io;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the protocol that reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The object already exists (kernel `EEXIST`).
    Exists,
    /// The IPVS service does not exist (kernel `ESRCH`).
    NoSuchService,
    /// The IPVS destination does not exist (kernel `ENOENT` on a destination command).
    NoSuchDestination,
    /// A named thing (scheduler, persistence engine, route, link, map entry) does not exist.
    NotFound,
    /// The scheduler or persistence engine named is not known to the kernel (`ENOENT`).
    UnknownScheduler,
    /// The caller lacks `CAP_NET_ADMIN` (or the kernel said `EPERM`/`EACCES`).
    Permission,
    /// The kernel facility is not there: IPVS module not loaded, BPF not enabled, family missing.
    NotAvailable,
    /// An argument was rejected before or by the kernel (`EINVAL`).
    InvalidArgument,
    /// A value is out of range (`ERANGE`).
    OutOfRange,
    /// The kernel is busy or a dump was interrupted by a concurrent change; try again (`EBUSY`,
    /// `EAGAIN`, `NLM_F_DUMP_INTR`).
    Busy,
    /// The receive buffer overflowed and notifications were lost (`ENOBUFS`).
    Overrun,
    /// A reply from the kernel could not be parsed (`EBADMSG`).
    Malformed,
    /// A call did not complete in time (`ETIMEDOUT`).
    Timeout,
    /// Any other system error.
    Io,
}

impl ErrorKind {
    /// The errno used for this kind when no kernel errno is known.
    pub fn default_errno(self) -> i32 {
        match self {
            ErrorKind::Exists => libc::EEXIST,
            ErrorKind::NoSuchService => libc::ESRCH,
            ErrorKind::NoSuchDestination | ErrorKind::NotFound | ErrorKind::UnknownScheduler => {
                libc::ENOENT
            }
            ErrorKind::Permission => libc::EPERM,
            ErrorKind::NotAvailable => libc::EOPNOTSUPP,
            ErrorKind::InvalidArgument => libc::EINVAL,
            ErrorKind::OutOfRange => libc::ERANGE,
            ErrorKind::Busy => libc::EBUSY,
            ErrorKind::Overrun => libc::ENOBUFS,
            ErrorKind::Malformed => libc::EBADMSG,
            ErrorKind::Timeout => libc::ETIMEDOUT,
            ErrorKind::Io => libc::EIO,
        }
    }

    /// The kind that describes a bare errno when no context narrows it further.
    pub fn from_errno(errno: i32) -> ErrorKind {
        match errno {
            libc::EEXIST => ErrorKind::Exists,
            libc::ESRCH => ErrorKind::NoSuchService,
            libc::ENOENT => ErrorKind::NotFound,
            libc::EPERM | libc::EACCES => ErrorKind::Permission,
            libc::EINVAL => ErrorKind::InvalidArgument,
            libc::ERANGE => ErrorKind::OutOfRange,
            libc::EBUSY | libc::EAGAIN | libc::EINTR => ErrorKind::Busy,
            libc::ENOBUFS => ErrorKind::Overrun,
            libc::EBADMSG | libc::EPROTO => ErrorKind::Malformed,
            libc::ETIMEDOUT => ErrorKind::Timeout,
            libc::EOPNOTSUPP | libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT => {
                ErrorKind::NotAvailable
            }
            _ => ErrorKind::Io,
        }
    }
}

/// An error from this crate: a kind, an errno and a readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    errno: i32,
    message: String,
    ext_ack: Option<String>,
}

impl Error {
    /// A new error of `kind` with the kind's default errno.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            errno: kind.default_errno(),
            message: message.into(),
            ext_ack: None,
        }
    }

    /// An error the kernel reported with `errno` (positive) while doing `context`.
    pub fn from_kernel(errno: i32, context: impl Into<String>, ext_ack: Option<String>) -> Self {
        Error {
            kind: ErrorKind::from_errno(errno),
            errno,
            message: context.into(),
            ext_ack: ext_ack.filter(|s| !s.is_empty()),
        }
    }

    /// An argument the caller passed is invalid.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    /// A kernel reply could not be parsed.
    pub fn malformed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Malformed, message)
    }

    /// Replaces the kind, keeping errno and message (used where the command gives an errno a more
    /// precise meaning, e.g. `ENOENT` on a destination command means no such destination).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// Replaces the context part of the message.
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.message = context.into();
        self
    }

    /// What happened.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The errno (positive) that describes the error; the kernel's own where it answered.
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// The kernel's extended-ack message, if it sent one.
    pub fn ext_ack(&self) -> Option<&str> {
        self.ext_ack.as_deref()
    }

    /// The context message without errno or extended-ack text.
    pub fn context(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let os = io::Error::from_raw_os_error(self.errno);
        write!(f, "{}: {}", self.message, strip_os_suffix(&os.to_string()))?;
        if let Some(ext) = &self.ext_ack {
            write!(f, " ({ext})")?;
        }
        Ok(())
    }
}

fn strip_os_suffix(s: &str) -> &str {
    match s.find(" (os error") {
        Some(i) => &s[..i],
        None => s,
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(errno) => Error::from_kernel(errno, "system call failed", None),
            None => Error::new(ErrorKind::Io, e.to_string()),
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        io::Error::new(io::Error::from_raw_os_error(e.errno).kind(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errors_keep_errno_and_ext_ack() {
        let e = Error::from_kernel(libc::EEXIST, "add service 10.0.0.1:80", Some("x".into()));
        assert_eq!(e.kind(), ErrorKind::Exists);
        assert_eq!(e.errno(), libc::EEXIST);
        assert_eq!(e.ext_ack(), Some("x"));
        assert_eq!(e.to_string(), "add service 10.0.0.1:80: File exists (x)");
    }

    #[test]
    fn empty_ext_ack_is_dropped() {
        let e = Error::from_kernel(libc::EINVAL, "c", Some(String::new()));
        assert_eq!(e.ext_ack(), None);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn with_kind_keeps_errno() {
        let e = Error::from_kernel(libc::ENOENT, "del dest", None)
            .with_kind(ErrorKind::NoSuchDestination);
        assert_eq!(e.kind(), ErrorKind::NoSuchDestination);
        assert_eq!(e.errno(), libc::ENOENT);
    }
}
