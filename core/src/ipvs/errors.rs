//! Giving the kernel's errno its meaning for each IPVS command (ip_vs_ctl.c):
//!
//! * `EEXIST`: NEW_SERVICE on an existing service, NEW_DEST on an existing destination.
//! * `ESRCH`: any other service or destination command on a missing service.
//! * `ENOENT`: SET_DEST/DEL_DEST on a missing destination; NEW/SET_SERVICE with an unknown
//!   scheduler or persistence engine (`ip_vs_scheduler_get`/`ip_vs_pe_getbyname` fail).
//! * `ERANGE`: negative weight, lower threshold above the upper one.
//! * `EINVAL`: bad or missing attributes; `EPERM`: no `CAP_NET_ADMIN`.
//!
//! The generic netlink controller also answers `ENOENT`, for a family it does not know (no IPVS
//! in the kernel); [`super::family::resolve`] gives that error the kind
//! [`ErrorKind::NotAvailable`], which [`for_command`] keeps and [`reason`] does not read as an
//! IPVS reason.

use crate::error::{Error, ErrorKind, IpvsCommand, Origin};

/// What an IPVS command's `ESRCH`/`ENOENT` means, from the command and the errno (see the module
/// documentation for the kernel's rules). The error's [`kind`](Error::kind) is
/// [`ErrorKind::NotFound`] in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The service does not exist (`ESRCH` on a service or destination command).
    NoSuchService,
    /// The destination does not exist (`ENOENT` on SET_DEST or DEL_DEST).
    NoSuchDestination,
    /// The scheduler or persistence engine named is not known to the kernel (`ENOENT` on
    /// NEW_SERVICE or SET_SERVICE).
    UnknownScheduler,
}

/// The IPVS reason of `e`, if it is the kernel's answer to an IPVS command that the command
/// gives a precise meaning: the outermost IPVS command in `e`'s [layers](Error::layers) and its
/// errno decide. `None` for any other error, including a kernel without IPVS
/// ([`ErrorKind::NotAvailable`]: the `ENOENT` came from the generic netlink controller, not from
/// IPVS).
pub fn reason(e: &Error) -> Option<Reason> {
    use IpvsCommand::*;
    if e.kind() != ErrorKind::NotFound {
        return None;
    }
    let command = e.layers().find_map(|l| match l.origin() {
        Origin::Ipvs(c) => Some(c),
        _ => None,
    })?;
    match (e.errno(), command) {
        (
            libc::ESRCH,
            SetService | DelService | GetService | NewDest | SetDest | DelDest | GetDest | Zero,
        ) => Some(Reason::NoSuchService),
        (libc::ENOENT, SetDest | DelDest) => Some(Reason::NoSuchDestination),
        (libc::ENOENT, NewService | SetService) => Some(Reason::UnknownScheduler),
        _ => None,
    }
}

/// Wraps `e` (from the transport) in a layer naming IPVS command `command` and what was being
/// done (`what`, e.g. "add service TCP 10.0.0.1:80"). Kind and errno stay the transport's.
pub fn for_command(e: Error, command: u8, what: &str) -> Error {
    match IpvsCommand::from_raw(command) {
        Some(c) => e.wrap(Origin::Ipvs(c), what),
        None => e.with_context(what),
    }
}

/// True for the errnos a stale family id gives: the generic netlink core answers `ENOENT` for
/// an unknown family id and `EOPNOTSUPP` for a command the family (now another one) lacks.
pub fn may_be_stale_family(e: &Error) -> bool {
    matches!(e.errno(), libc::ENOENT | libc::EOPNOTSUPP) && e.kind() != ErrorKind::Malformed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::NetlinkOperation;

    /// The transport's error for `errno` during `op`.
    fn transport(op: NetlinkOperation, errno: i32) -> Error {
        Error::from_kernel(Origin::Netlink(op), errno, "netlink request", None)
    }

    fn answer(errno: i32, command: IpvsCommand) -> Error {
        let e = transport(NetlinkOperation::Request, errno);
        for_command(e, command.raw(), "doing it")
    }

    #[test]
    fn reasons_follow_the_kernel_rules() {
        use IpvsCommand::*;
        let cases = [
            (libc::ESRCH, SetService, Some(Reason::NoSuchService)),
            (libc::ESRCH, DelDest, Some(Reason::NoSuchService)),
            (libc::ENOENT, DelDest, Some(Reason::NoSuchDestination)),
            (libc::ENOENT, SetDest, Some(Reason::NoSuchDestination)),
            (libc::ENOENT, NewService, Some(Reason::UnknownScheduler)),
            (libc::ENOENT, SetService, Some(Reason::UnknownScheduler)),
            (libc::EEXIST, NewService, None),
            (libc::ESRCH, DelDaemon, None),
            (libc::ENOENT, GetInfo, None),
        ];
        for (errno, cmd, want) in cases {
            let e = answer(errno, cmd);
            assert_eq!(reason(&e), want, "{cmd:?} {errno}");
            assert_eq!(e.origin(), Origin::Ipvs(cmd));
            assert_eq!(e.errno(), errno);
        }
    }

    #[test]
    fn a_missing_family_keeps_not_available_and_has_no_reason() {
        let e = transport(NetlinkOperation::ResolveFamily, libc::ENOENT)
            .with_kind(ErrorKind::NotAvailable);
        for cmd in [IpvsCommand::NewService, IpvsCommand::DelDest] {
            let e = for_command(e.clone(), cmd.raw(), "x");
            assert_eq!(e.kind(), ErrorKind::NotAvailable);
            assert_eq!(reason(&e), None);
        }
    }

    #[test]
    fn no_reason_without_an_ipvs_command() {
        let e = transport(NetlinkOperation::Request, libc::ESRCH);
        assert_eq!(reason(&e), None);
    }
}
