//! One error type for the whole crate.
//!
//! Every error carries
//!
//! * an [`ErrorKind`] that names what happened in protocol-neutral words (the C ABI and the Go
//!   bindings hand it on as `lbnet_error_kind`),
//! * the errno that best describes it (the kernel's own where the kernel answered),
//! * an [`Origin`]: the subsystem and the typed operation that failed (for IPVS the IPVS
//!   command), so a protocol can give an errno its own meaning without reading any text (see
//!   [`crate::ipvs::reason`]),
//! * a chain of contexts: [`Error::with_context`] and [`Error::wrap`] add a layer whose
//!   [`source`](std::error::Error::source) is the error before, and
//! * where the kernel sent one, the extended-ack text (`NLMSGERR_ATTR_MSG`, kernel 4.12+), kept
//!   in [`Error::ext_ack`].
//!
//! `Display` shows the contexts outermost first, then the errno's text, then the extended-ack
//! text in parentheses: `add service TCP 10.0.0.1:80: netlink request: File exists (reason)`.

use std::fmt;
use std::io;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the protocol that reported it.
///
/// A protocol's own reading of an errno (for IPVS: no such service, no such destination, unknown
/// scheduler) comes from the error's [`Origin`] and errno, e.g. [`crate::ipvs::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The object already exists (kernel `EEXIST`).
    Exists,
    /// The object named does not exist: a service, destination, scheduler, route, link, map
    /// entry (kernel `ENOENT`, `ESRCH`, `ENODEV`).
    NotFound,
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
            ErrorKind::NotFound => libc::ENOENT,
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

    /// The kind that describes a bare errno. `ESRCH` (no such process, which the kernel uses
    /// for "no such IPVS service" and "no such route") and `ENOENT` are both
    /// [`ErrorKind::NotFound`].
    pub fn from_errno(errno: i32) -> ErrorKind {
        match errno {
            libc::EEXIST => ErrorKind::Exists,
            libc::ESRCH | libc::ENOENT | libc::ENODEV => ErrorKind::NotFound,
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

/// The part of the library an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Subsystem {
    /// The netlink transport ([`crate::netlink`]): sockets, requests, dumps, acks.
    Netlink,
    /// Entering another network namespace ([`crate::netns`]).
    Netns,
    /// IPVS over generic netlink ([`crate::ipvs`]).
    Ipvs,
    /// Kernel routes and nexthop objects over rtnetlink ([`crate::route`]).
    Route,
    /// The BGP route export engine ([`crate::export`]).
    RouteExport,
    /// The link watcher ([`crate::linkwatch`]).
    LinkWatch,
    /// The XDP load balancer ([`crate::xdp`]).
    Xdp,
    /// An entry point refusing its caller's input: the C ABI (crate `ipvs_ffi`) or a
    /// command-line tool.
    Caller,
}

/// What the netlink transport was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetlinkOperation {
    /// Opening, binding or configuring a socket (buffer sizes, timeouts, groups).
    Open,
    /// Sending a message.
    Send,
    /// Receiving a message.
    Receive,
    /// One request answered by an ack.
    Request,
    /// A dump (`NLM_F_DUMP`).
    Dump,
    /// One request answered by one reply and no ack.
    Query,
    /// A pipelined batch of requests.
    Batch,
    /// Encoding a message.
    Encode,
    /// Parsing a message or an extended ack.
    Parse,
    /// Resolving a generic netlink family id through the controller (`CTRL_CMD_GETFAMILY`).
    ResolveFamily,
}

/// What was being done with a network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetnsOperation {
    /// Naming or opening the namespace file (`/var/run/netns/NAME`, a path or a descriptor).
    Open,
    /// `setns(CLONE_NEWNET)` on the helper thread.
    Enter,
    /// Running the caller's closure on the helper thread.
    Run,
    /// Looking an interface up by name (`if_nametoindex`) in the namespace.
    Ifindex,
}

/// An IPVS generic netlink command (`IPVS_CMD_*` in linux/ip_vs.h): the operation of every IPVS
/// error, re-exported as [`crate::ipvs::Command`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum IpvsCommand {
    NewService = 1,
    SetService = 2,
    DelService = 3,
    GetService = 4,
    NewDest = 5,
    SetDest = 6,
    DelDest = 7,
    GetDest = 8,
    NewDaemon = 9,
    DelDaemon = 10,
    GetDaemon = 11,
    SetConfig = 12,
    GetConfig = 13,
    SetInfo = 14,
    GetInfo = 15,
    Zero = 16,
    Flush = 17,
}

impl IpvsCommand {
    const ALL: [IpvsCommand; 17] = [
        IpvsCommand::NewService,
        IpvsCommand::SetService,
        IpvsCommand::DelService,
        IpvsCommand::GetService,
        IpvsCommand::NewDest,
        IpvsCommand::SetDest,
        IpvsCommand::DelDest,
        IpvsCommand::GetDest,
        IpvsCommand::NewDaemon,
        IpvsCommand::DelDaemon,
        IpvsCommand::GetDaemon,
        IpvsCommand::SetConfig,
        IpvsCommand::GetConfig,
        IpvsCommand::SetInfo,
        IpvsCommand::GetInfo,
        IpvsCommand::Zero,
        IpvsCommand::Flush,
    ];

    /// The command with number `cmd` (`IPVS_CMD_*`), if there is one.
    pub fn from_raw(cmd: u8) -> Option<IpvsCommand> {
        IpvsCommand::ALL
            .get(usize::from(cmd).checked_sub(1)?)
            .copied()
    }

    /// The command's number (`IPVS_CMD_*`).
    pub fn raw(self) -> u8 {
        self as u8
    }
}

/// What was being done with kernel routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteOperation {
    /// Opening the rtnetlink socket.
    Open,
    /// Adding a route (`RTM_NEWROUTE` with `NLM_F_EXCL`).
    Add,
    /// Adding or replacing a route (`NLM_F_REPLACE`).
    Replace,
    /// Deleting a route (`RTM_DELROUTE`).
    Delete,
    /// Listing routes (`RTM_GETROUTE` dump).
    List,
    /// Adding, replacing or deleting a nexthop object (`RTM_NEWNEXTHOP`/`RTM_DELNEXTHOP`).
    Nexthop,
    /// Looking up a link or VRF by name (`RTM_GETLINK`).
    LookUpLink,
    /// Building a route or prefix from the caller's values.
    Encode,
    /// Parsing a route or nexthop message or a prefix text.
    Parse,
}

/// What the BGP route export engine was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExportOperation {
    /// Checking the configuration and rules (creating an exporter or reloading rules).
    Configure,
    /// Parsing a community or large community.
    ParseCommunity,
    /// Taking a path update or withdrawal.
    Update,
    /// Programming the kernel (installing, replacing or deleting exported routes).
    Program,
}

/// What the link watcher was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkWatchOperation {
    /// Opening the socket and taking the first dump.
    Open,
    /// Waiting for and reading notifications.
    Receive,
    /// Dumping the links again (resynchronising).
    Resync,
    /// Parsing a link message.
    Parse,
}

/// What the XDP load balancer was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum XdpOperation {
    /// Loading and verifying the BPF object.
    Load,
    /// Adopting a pinned instance.
    Adopt,
    /// Attaching the program to an interface.
    Attach,
    /// Detaching or unpinning.
    Detach,
    /// Pinning maps and links in the BPF filesystem (and mounting it).
    Pin,
    /// Writing maps: configuration, VIPs, backends, rings.
    Update,
    /// Reading maps: statistics, counters, rings.
    Read,
    /// `BPF_PROG_TEST_RUN`.
    TestRun,
}

/// What an entry point (the C ABI, a command-line tool) was checking when it refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallerOperation {
    /// Checking an argument (NULL, length, text, number, enum value, option size).
    Argument,
    /// Writing a result into the caller's buffer.
    Output,
}

/// Where an error comes from: the subsystem and the operation it was doing. Every error has
/// one ([`Error::origin`]); layers added by [`Error::wrap`] name the operation the caller
/// asked for, around the transport's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// The netlink transport.
    Netlink(NetlinkOperation),
    /// Network namespaces.
    Netns(NetnsOperation),
    /// IPVS: the command being sent or whose reply was read.
    Ipvs(IpvsCommand),
    /// Kernel routes.
    Route(RouteOperation),
    /// The route export engine.
    RouteExport(ExportOperation),
    /// The link watcher.
    LinkWatch(LinkWatchOperation),
    /// The XDP load balancer.
    Xdp(XdpOperation),
    /// An entry point's checks of its caller's input.
    Caller(CallerOperation),
}

impl Origin {
    /// The subsystem.
    pub fn subsystem(self) -> Subsystem {
        match self {
            Origin::Netlink(_) => Subsystem::Netlink,
            Origin::Netns(_) => Subsystem::Netns,
            Origin::Ipvs(_) => Subsystem::Ipvs,
            Origin::Route(_) => Subsystem::Route,
            Origin::RouteExport(_) => Subsystem::RouteExport,
            Origin::LinkWatch(_) => Subsystem::LinkWatch,
            Origin::Xdp(_) => Subsystem::Xdp,
            Origin::Caller(_) => Subsystem::Caller,
        }
    }
}

/// An error from this crate; see the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    origin: Origin,
    kind: ErrorKind,
    errno: i32,
    context: String,
    /// Only set on the innermost layer; outer layers read it through `source`.
    ext_ack: Option<String>,
    source: Option<Error>,
}

impl Error {
    fn leaf(origin: Origin, kind: ErrorKind, errno: i32, context: String) -> Self {
        Error {
            inner: Box::new(Inner {
                origin,
                kind,
                errno,
                context,
                ext_ack: None,
                source: None,
            }),
        }
    }

    /// A new error of `kind` with the kind's default errno.
    pub fn new(origin: Origin, kind: ErrorKind, message: impl Into<String>) -> Self {
        Error::leaf(origin, kind, kind.default_errno(), message.into())
    }

    /// An error the kernel reported with `errno` (positive) while doing `context`.
    pub fn from_kernel(
        origin: Origin,
        errno: i32,
        context: impl Into<String>,
        ext_ack: Option<String>,
    ) -> Self {
        let mut e = Error::leaf(origin, ErrorKind::from_errno(errno), errno, context.into());
        e.inner.ext_ack = ext_ack.filter(|s| !s.is_empty());
        e
    }

    /// A failed system call: its errno if it has one, else [`ErrorKind::Io`] with its text.
    pub fn from_io(origin: Origin, context: impl Into<String>, e: &io::Error) -> Self {
        match e.raw_os_error() {
            Some(errno) => Error::from_kernel(origin, errno, context, None),
            None => Error::new(origin, ErrorKind::Io, format!("{}: {e}", context.into())),
        }
    }

    /// An argument the caller passed is invalid.
    pub fn invalid(origin: Origin, message: impl Into<String>) -> Self {
        Error::new(origin, ErrorKind::InvalidArgument, message)
    }

    /// A kernel reply could not be parsed.
    pub fn malformed(origin: Origin, message: impl Into<String>) -> Self {
        Error::new(origin, ErrorKind::Malformed, message)
    }

    /// Gives the error another kind, keeping errno, origin and context (for an errno the
    /// operation gives a more precise meaning, e.g. `ENOENT` from the generic netlink
    /// controller means the family, hence the facility, is not there).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.inner.kind = kind;
        self
    }

    /// Adds a context layer with the same origin; the error before becomes the
    /// [`source`](std::error::Error::source).
    pub fn with_context(self, context: impl Into<String>) -> Self {
        let origin = self.inner.origin;
        self.wrap(origin, context)
    }

    /// Adds a context layer with origin `origin` (the operation the caller asked for, around the
    /// one that failed); kind and errno stay those of the error before, which becomes the
    /// [`source`](std::error::Error::source).
    pub fn wrap(self, origin: Origin, context: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                origin,
                kind: self.inner.kind,
                errno: self.inner.errno,
                context: context.into(),
                ext_ack: None,
                source: Some(self),
            }),
        }
    }

    /// What happened.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The errno (positive) that describes the error; the kernel's own where it answered.
    pub fn errno(&self) -> i32 {
        self.inner.errno
    }

    /// The subsystem and operation of the outermost layer.
    pub fn origin(&self) -> Origin {
        self.inner.origin
    }

    /// The kernel's extended-ack message, if it sent one.
    pub fn ext_ack(&self) -> Option<&str> {
        self.root().inner.ext_ack.as_deref()
    }

    /// The outermost context message, without the inner layers, errno or extended-ack text.
    pub fn context(&self) -> &str {
        &self.inner.context
    }

    /// This error and the errors it wraps, outermost first.
    pub fn layers(&self) -> impl Iterator<Item = &Error> {
        std::iter::successors(Some(self), |e| e.inner.source.as_ref())
    }

    /// The innermost error: where the failure was first seen.
    pub fn root(&self) -> &Error {
        self.layers().last().unwrap_or(self)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for layer in self.layers() {
            if !layer.inner.context.is_empty() {
                write!(f, "{}: ", layer.inner.context)?;
            }
        }
        let os = io::Error::from_raw_os_error(self.errno());
        f.write_str(strip_os_suffix(&os.to_string()))?;
        if let Some(ext) = self.ext_ack() {
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

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        io::Error::new(io::Error::from_raw_os_error(e.errno()).kind(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    const REQ: Origin = Origin::Netlink(NetlinkOperation::Request);

    #[test]
    fn kernel_errors_keep_errno_and_ext_ack() {
        let e = Error::from_kernel(
            REQ,
            libc::EEXIST,
            "add service 10.0.0.1:80",
            Some("x".into()),
        );
        assert_eq!(e.kind(), ErrorKind::Exists);
        assert_eq!(e.errno(), libc::EEXIST);
        assert_eq!(e.ext_ack(), Some("x"));
        assert_eq!(e.origin(), REQ);
        assert_eq!(e.origin().subsystem(), Subsystem::Netlink);
        assert!(e.source().is_none());
        assert_eq!(e.to_string(), "add service 10.0.0.1:80: File exists (x)");
    }

    #[test]
    fn empty_ext_ack_is_dropped() {
        let e = Error::from_kernel(REQ, libc::EINVAL, "c", Some(String::new()));
        assert_eq!(e.ext_ack(), None);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn esrch_and_enoent_are_not_found() {
        for errno in [libc::ESRCH, libc::ENOENT] {
            assert_eq!(ErrorKind::from_errno(errno), ErrorKind::NotFound);
        }
    }

    #[test]
    fn context_is_chained_outermost_first_with_a_source() {
        let inner = Error::from_kernel(REQ, libc::ESRCH, "netlink request", Some("gone".into()));
        let ipvs = Origin::Ipvs(IpvsCommand::DelService);
        let e = inner
            .clone()
            .wrap(ipvs, "delete service TCP 10.0.0.1:80")
            .with_context("change 3");
        assert_eq!(
            e.to_string(),
            "change 3: delete service TCP 10.0.0.1:80: netlink request: No such process (gone)"
        );
        assert_eq!(e.origin(), ipvs);
        assert_eq!(e.context(), "change 3");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.errno(), libc::ESRCH);
        assert_eq!(e.ext_ack(), Some("gone"));
        assert_eq!(e.root(), &inner);
        let origins: Vec<Origin> = e.layers().map(Error::origin).collect();
        assert_eq!(origins, [ipvs, ipvs, REQ]);
        let src = e.source().unwrap().downcast_ref::<Error>().unwrap();
        assert_eq!(src.context(), "delete service TCP 10.0.0.1:80");
        let src = src.source().unwrap().downcast_ref::<Error>().unwrap();
        assert_eq!(src, &inner);
        assert!(src.source().is_none());
    }

    #[test]
    fn with_kind_keeps_errno_and_origin() {
        let e = Error::from_kernel(REQ, libc::ENOENT, "resolve", None)
            .with_kind(ErrorKind::NotAvailable)
            .with_context("list services");
        assert_eq!(e.kind(), ErrorKind::NotAvailable);
        assert_eq!(e.errno(), libc::ENOENT);
        assert_eq!(e.origin(), REQ);
    }

    #[test]
    fn io_errors_keep_their_errno() {
        let o = Origin::Netns(NetnsOperation::Open);
        let e = Error::from_io(o, "open /x", &io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!((e.kind(), e.errno()), (ErrorKind::NotFound, libc::ENOENT));
        let e = Error::from_io(o, "open /x", &io::Error::other("odd"));
        assert_eq!((e.kind(), e.errno()), (ErrorKind::Io, libc::EIO));
        assert_eq!(e.to_string(), "open /x: odd: Input/output error");
    }

    #[test]
    fn ipvs_commands_round_trip_their_numbers() {
        for n in 0..=20u8 {
            match IpvsCommand::from_raw(n) {
                Some(c) => assert_eq!(c.raw(), n),
                None => assert!(n == 0 || n > 17, "{n}"),
            }
        }
    }
}
