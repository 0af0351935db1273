//! Giving the kernel's errno its meaning for each IPVS command (ip_vs_ctl.c):
//!
//! * `EEXIST`: NEW_SERVICE on an existing service, NEW_DEST on an existing destination.
//! * `ESRCH`: any other service or destination command on a missing service.
//! * `ENOENT`: SET_DEST/DEL_DEST on a missing destination; NEW/SET_SERVICE with an unknown
//!   scheduler or persistence engine (`ip_vs_scheduler_get`/`ip_vs_pe_getbyname` fail).
//! * `ERANGE`: negative weight, lower threshold above the upper one.
//! * `EINVAL`: bad or missing attributes; `EPERM`: no `CAP_NET_ADMIN`.

use super::attr::cmd;
use crate::error::{Error, ErrorKind};

/// Gives `e` (from the transport) the kind its errno means for IPVS command `command`, and a
/// context naming what was being done (`what`, e.g. "add service TCP 10.0.0.1:80").
pub fn for_command(e: Error, command: u8, what: &str) -> Error {
    let kind = match (e.errno(), command) {
        (libc::ENOENT, cmd::NEW_SERVICE | cmd::SET_SERVICE) => ErrorKind::UnknownScheduler,
        (libc::ENOENT, cmd::NEW_DEST | cmd::SET_DEST | cmd::DEL_DEST) => {
            ErrorKind::NoSuchDestination
        }
        _ => e.kind(),
    };
    let ctx = match e.context() {
        "netlink request" | "netlink dump" => what.to_string(),
        other => format!("{what}: {other}"),
    };
    e.with_kind(kind).with_context(ctx)
}

/// True for the errnos a stale family id gives: the generic netlink core answers `ENOENT` for
/// an unknown family id and `EOPNOTSUPP` for a command the family (now another one) lacks.
pub fn may_be_stale_family(e: &Error) -> bool {
    matches!(e.errno(), libc::ENOENT | libc::EOPNOTSUPP) && e.kind() != ErrorKind::Malformed
}
