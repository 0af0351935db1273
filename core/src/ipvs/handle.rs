//! [`Handle`]: one long-lived generic netlink socket to IPVS, shared safely between threads.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use parking_lot::Mutex;

use super::change::Change;
use super::config::{Info, Timeouts};
use super::daemon::{DaemonState, SyncDaemon};
use super::destination::Destination;
use super::errors::{for_command, may_be_stale_family};
use super::family;
use super::message::Request;
use super::parse;
use super::service::{Service, ServiceEntry, ServiceKey};
use crate::error::{Error, IpvsCommand as Command, Origin, Result};
use crate::netlink::{Header, Socket, SocketOptions, DEFAULT_RCVBUF};
use crate::netns::NetNs;

/// Options for [`Handle::with_options`].
#[derive(Debug, Clone)]
pub struct HandleOptions {
    /// Network namespace to operate in (the socket is created there; the calling thread never
    /// moves). IPVS state is per namespace.
    pub netns: NetNs,
    /// Receive buffer (`SO_RCVBUFFORCE`); large buffers keep big dumps from being re-walked
    /// many times (the kernel resumes an IPVS dump by walking its table again).
    pub rcvbuf: Option<usize>,
    /// How long to wait for the kernel before failing with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    pub timeout: Option<Duration>,
}

impl Default for HandleOptions {
    fn default() -> Self {
        HandleOptions {
            netns: NetNs::Current,
            rcvbuf: Some(DEFAULT_RCVBUF),
            timeout: Some(Duration::from_secs(30)),
        }
    }
}

struct Inner {
    sock: Socket,
    family: Option<u16>,
    requests: u64,
    /// The request being sent, encoded in place and reused by every call.
    req: Vec<u8>,
    /// Requests are sent without [`Request::check`] ([`Handle::set_kernel_judges`]).
    unchecked: bool,
}

/// Capacity of the request buffer kept between calls (the largest IPVS request is ~150 bytes).
const REQ_KEEP: usize = 512;

/// A connection to the kernel's IPVS, `Send + Sync`.
///
/// One netlink socket serves every call, serialised by a mutex (the kernel serialises IPVS
/// writes under one global mutex anyway). The family id is resolved on first use and resolved
/// again, once, when a call fails the way a stale id fails (`ENOENT`/`EOPNOTSUPP` after the
/// `ip_vs` module was reloaded); if the id changed the call is retried once with the new id.
pub struct Handle {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.inner.lock();
        f.debug_struct("Handle").field("family", &g.family).finish()
    }
}

impl Inner {
    fn family(&mut self) -> Result<u16> {
        match self.family {
            Some(id) => Ok(id),
            None => self.resolve(),
        }
    }

    fn resolve(&mut self) -> Result<u16> {
        self.family = None;
        self.requests += 1;
        let id = family::resolve(&mut self.sock)?;
        self.family = Some(id);
        Ok(id)
    }

    /// Runs `f` with the family id; on a stale-looking error re-resolves and, if the id
    /// changed, runs `f` once more.
    fn with_family<T>(&mut self, mut f: impl FnMut(&mut Inner, u16) -> Result<T>) -> Result<T> {
        let id = self.family()?;
        match f(self, id) {
            Err(e) if may_be_stale_family(&e) => {
                let new = self.resolve()?;
                if new == id {
                    Err(e)
                } else {
                    f(self, new)
                }
            }
            r => r,
        }
    }

    /// One request: checked and encoded (family id 0) into the handle's request buffer, then
    /// sent with the family id set in its header, answered by an ack or by the messages of a
    /// reply or dump passed to `on_msg`. An invalid request is refused as it is, before
    /// anything is sent or the family resolved; a failure of the request gets the meaning its
    /// errno has for the command and a context made by `what`, only then.
    fn call(
        &mut self,
        req: &Request<'_>,
        what: impl Fn() -> String,
        on_msg: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.send(req, false, what, on_msg)
    }

    /// [`Inner::call`] for a `GET` answered by exactly one message (`GET_SERVICE`, `GET_INFO`,
    /// `GET_CONFIG`): sent without `NLM_F_ACK`, so one reply datagram ends it (see
    /// [`Socket::query`]).
    fn get(
        &mut self,
        req: &Request<'_>,
        what: impl Fn() -> String,
        on_msg: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.send(req, true, what, on_msg)
    }

    /// The body of [`Inner::call`] and [`Inner::get`]: `single_reply` sends without an ack
    /// request and ends at the one reply.
    fn send(
        &mut self,
        req: &Request<'_>,
        single_reply: bool,
        what: impl Fn() -> String,
        mut on_msg: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.req.clear();
        if self.req.capacity() > REQ_KEEP {
            self.req = Vec::new();
        }
        if self.unchecked {
            req.encode_as_given(0, &mut self.req);
        } else {
            req.encode(0, &mut self.req)
                .map_err(|e| for_command(e, req.command(), &what()))?;
        }
        self.with_family(|inner, id| {
            Header::set_kind(&mut inner.req, id);
            inner.requests += 1;
            if single_reply {
                inner.sock.query(&mut inner.req, |_, m| on_msg(m))
            } else {
                inner.sock.request(&mut inner.req, |_, m| on_msg(m))
            }
        })
        .map_err(|e| for_command(e, req.command(), &what()))
    }

    /// A command that is answered by an ack only.
    fn command(&mut self, req: &Request<'_>, what: impl Fn() -> String) -> Result<()> {
        self.call(req, what, |_| Ok(()))
    }
}

impl Handle {
    /// A handle in the caller's network namespace with default options.
    pub fn new() -> Result<Handle> {
        Handle::with_options(HandleOptions::default())
    }

    /// A handle with `opts`. Opens the socket now; the IPVS family is resolved on first use,
    /// so this succeeds on a kernel without IPVS (calls then fail with
    /// [`ErrorKind::NotAvailable`](crate::ErrorKind::NotAvailable)).
    pub fn with_options(opts: HandleOptions) -> Result<Handle> {
        let sock = Socket::open(
            libc::NETLINK_GENERIC as isize,
            &SocketOptions {
                netns: opts.netns,
                rcvbuf: opts.rcvbuf,
                timeout: opts.timeout,
                strict: false,
            },
        )?;
        Ok(Handle {
            inner: Mutex::new(Inner {
                sock,
                family: None,
                requests: 0,
                req: Vec::with_capacity(256),
                unchecked: false,
            }),
        })
    }

    /// The IPVS family id, resolving it if needed. Fails with [`ErrorKind::NotAvailable`](crate::ErrorKind::NotAvailable) when
    /// the kernel has no IPVS.
    pub fn family_id(&self) -> Result<u16> {
        self.inner.lock().family()
    }

    /// With `true`, requests go to the kernel as given, without the checks this crate makes
    /// before sending ([`Request::check`]: timeouts above [`Timeouts::MAX`], empty or long names,
    /// flags no `IP_VS_SVC_F_*` defines, ...), so the kernel's own answer (its errno) decides,
    /// as with libipvs. The ffi crate's libipvs API (`ipvs_*`) needs this to fail and succeed
    /// exactly where ipvsadm's libipvs does. Off by default.
    pub fn set_kernel_judges(&self, yes: bool) {
        self.inner.lock().unchecked = yes;
    }

    /// Number of round trips this handle has made to the kernel, for measuring: one per
    /// command, per dump, per controller lookup, and one per [`Handle::apply`] batch (which the
    /// transport sends in `sendmsg` chunks of at most 1,024 messages or 64 KiB).
    pub fn requests_sent(&self) -> u64 {
        self.inner.lock().requests
    }

    /// A command answered by an ack only (see [`Inner::call`]).
    fn command(&self, req: Request<'_>, what: impl Fn() -> String) -> Result<()> {
        self.inner.lock().command(&req, what)
    }

    /// Adds a service. `EEXIST` if it exists ([`ErrorKind::Exists`](crate::ErrorKind::Exists)); an
    /// unknown scheduler or persistence engine is `ENOENT`
    /// ([`ErrorKind::NotFound`](crate::ErrorKind::NotFound), [`Reason::UnknownScheduler`](super::Reason::UnknownScheduler)).
    pub fn new_service(&self, s: &Service) -> Result<()> {
        self.command(Request::NewService(s), || format!("add service {}", s.key))
    }

    /// Edits a service (scheduler, flags, persistence). Missing service: `ESRCH`
    /// ([`ErrorKind::NotFound`](crate::ErrorKind::NotFound), [`Reason::NoSuchService`](super::Reason::NoSuchService)).
    pub fn update_service(&self, s: &Service) -> Result<()> {
        self.command(Request::SetService(s), || format!("edit service {}", s.key))
    }

    /// Deletes a service and its destinations.
    pub fn delete_service(&self, key: &ServiceKey) -> Result<()> {
        self.command(Request::DelService(key), || format!("delete service {key}"))
    }

    /// Reads one service (`GET_SERVICE` without dump); missing: `ESRCH`
    /// ([`ErrorKind::NotFound`](crate::ErrorKind::NotFound), [`Reason::NoSuchService`](super::Reason::NoSuchService)).
    pub fn get_service(&self, key: &ServiceKey) -> Result<Service> {
        self.inner.lock().get_service(key)
    }

    /// Lists all services (one `GET_SERVICE` dump).
    pub fn services(&self) -> Result<Vec<Service>> {
        self.inner.lock().services()
    }

    /// Lists all services with their destinations: one service dump, then one destination dump
    /// per service (the protocol has no other way), all on this socket under one lock so the
    /// listing is not interleaved with this handle's other calls.
    pub fn services_with_destinations(&self) -> Result<Vec<ServiceEntry>> {
        let mut g = self.inner.lock();
        let services = g.services()?;
        let mut out = Vec::with_capacity(services.len());
        for s in services {
            let destinations = g.destinations(&s.key)?;
            out.push(ServiceEntry {
                service: s,
                destinations,
            });
        }
        Ok(out)
    }

    /// Adds a destination to a service.
    pub fn new_destination(&self, svc: &ServiceKey, d: &Destination) -> Result<()> {
        self.command(Request::NewDest(svc, d), || {
            format!("add destination {} to {svc}", dest_name(&d.addr, d.port))
        })
    }

    /// Edits a destination; missing: `ENOENT`
    /// ([`ErrorKind::NotFound`](crate::ErrorKind::NotFound), [`Reason::NoSuchDestination`](super::Reason::NoSuchDestination)).
    pub fn update_destination(&self, svc: &ServiceKey, d: &Destination) -> Result<()> {
        self.command(Request::SetDest(svc, d), || {
            format!("edit destination {} of {svc}", dest_name(&d.addr, d.port))
        })
    }

    /// Deletes the destination `addr:port` of a service.
    pub fn delete_destination(&self, svc: &ServiceKey, addr: IpAddr, port: u16) -> Result<()> {
        self.command(Request::DelDest(svc, addr, port), || {
            format!("delete destination {} of {svc}", dest_name(&addr, port))
        })
    }

    /// Lists the destinations of a service (one `GET_DEST` dump). The kernel answers an empty
    /// dump, not an error, for a missing service (`ip_vs_genl_dump_dests` ends the dump when
    /// the service is not found), so an empty dump is followed by a `GET_SERVICE` of the key:
    /// a missing service fails with that command's `ESRCH`, as libipvs callers expect, and a
    /// service without destinations gives an empty list.
    pub fn destinations(&self, svc: &ServiceKey) -> Result<Vec<Destination>> {
        let mut g = self.inner.lock();
        let out = g.destinations(svc)?;
        if out.is_empty() {
            g.get_service(svc)?;
        }
        Ok(out)
    }

    /// Zeroes one service's counters and those of its destinations.
    pub fn zero(&self, svc: &ServiceKey) -> Result<()> {
        self.command(Request::Zero(Some(svc)), || format!("zero service {svc}"))
    }

    /// Zeroes every counter.
    pub fn zero_all(&self) -> Result<()> {
        self.command(Request::Zero(None), || "zero all counters".into())
    }

    /// Deletes every service and destination.
    pub fn flush(&self) -> Result<()> {
        self.command(Request::Flush, || "flush IPVS table".into())
    }

    /// Version and connection table size.
    pub fn info(&self) -> Result<Info> {
        let mut out = None;
        self.inner.lock().get(
            &Request::GetInfo,
            || "get IPVS info".into(),
            |m| {
                out = Some(parse::parse_info_msg(m)?);
                Ok(())
            },
        )?;
        out.ok_or_else(|| {
            Error::malformed(
                Origin::Ipvs(Command::GetInfo),
                "no reply to IPVS_CMD_GET_INFO",
            )
        })
    }

    /// The TCP, TCP-FIN and UDP timeouts.
    pub fn timeouts(&self) -> Result<Timeouts> {
        let mut out = None;
        self.inner.lock().get(
            &Request::GetConfig,
            || "get IPVS timeouts".into(),
            |m| {
                out = Some(parse::parse_config_msg(m)?);
                Ok(())
            },
        )?;
        out.ok_or_else(|| {
            Error::malformed(
                Origin::Ipvs(Command::GetConfig),
                "no reply to IPVS_CMD_GET_CONFIG",
            )
        })
    }

    /// Sets the timeouts; a 0 field leaves that timeout unchanged. A value above
    /// [`Timeouts::MAX`] is refused with `EINVAL` before anything is sent.
    pub fn set_timeouts(&self, t: &Timeouts) -> Result<()> {
        self.command(Request::SetConfig(t), || "set IPVS timeouts".into())
    }

    /// Starts a sync daemon. `EEXIST` if one of that state runs; `ENODEV` for a missing
    /// interface.
    pub fn start_daemon(&self, d: &SyncDaemon) -> Result<()> {
        self.command(Request::NewDaemon(d), || {
            format!(
                "start {:?} sync daemon on {} (syncid {})",
                d.state, d.mcast_ifname, d.syncid
            )
        })
    }

    /// Stops the sync daemon of `state`. Not running: [`ErrorKind::NotFound`]
    /// (`ESRCH`, the kernel's errno).
    ///
    /// Linux 6.1 (seen in the kernel lab under qemu TCG, with a raw netlink client too)
    /// sometimes never acknowledges an `IPVS_CMD_DEL_DAEMON` that followed a refused
    /// `NEW_DAEMON`, although the sync thread does stop. When the ack does not come within the
    /// handle's timeout, the daemons are listed: if the daemon is gone the stop succeeded,
    /// otherwise the timeout is returned.
    ///
    /// [`ErrorKind::NotFound`]: crate::ErrorKind::NotFound
    pub fn stop_daemon(&self, state: DaemonState) -> Result<()> {
        let mut g = self.inner.lock();
        let what = || format!("stop {state:?} sync daemon");
        match g.command(&Request::DelDaemon(state), what) {
            Err(e) if e.kind() == crate::ErrorKind::Timeout => {
                let mut running = false;
                g.call(
                    &Request::GetDaemon,
                    || "list sync daemons".into(),
                    |m| {
                        running |= parse::parse_daemon_msg(m)?.state == state;
                        Ok(())
                    },
                )?;
                if running {
                    Err(e)
                } else {
                    Ok(())
                }
            }
            r => r,
        }
    }

    /// The running sync daemons (one `GET_DAEMON` dump).
    pub fn daemons(&self) -> Result<Vec<SyncDaemon>> {
        let mut g = self.inner.lock();
        let mut out = Vec::new();
        g.call(
            &Request::GetDaemon,
            || "list sync daemons".into(),
            |m| {
                out.push(parse::parse_daemon_msg(m)?);
                Ok(())
            },
        )
        .map(|_| out)
    }

    /// Applies `changes` in order, sent pipelined (many per `sendmsg`), and returns one result
    /// per change. The kernel processes every change even when an earlier one failed. The
    /// outer `Err` is for failures of the transport, or an invalid change (nothing is sent then).
    pub fn apply(&self, changes: &[Change]) -> Result<Vec<Result<()>>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        for c in changes {
            let req = Request::from(c);
            req.check()
                .map_err(|e| for_command(e, req.command(), &describe(c)))?;
        }
        let mut g = self.inner.lock();
        // Each chunk is encoded straight into the socket's send buffer and its acks read before
        // the next is encoded: memory is one chunk plus the results, whatever the batch size.
        let send = |inner: &mut Inner, id: u16, out: &mut Vec<Result<()>>| -> Result<()> {
            out.clear();
            inner.requests += 1;
            inner.sock.execute_with(
                changes.len(),
                |i, b| Request::from(&changes[i]).encode(id, b),
                |i, r| {
                    let c = &changes[i];
                    out.push(
                        r.map_err(|e| for_command(e, Request::from(c).command(), &describe(c))),
                    );
                },
            )
        };
        let id = g.family()?;
        let mut results = Vec::with_capacity(changes.len());
        send(&mut g, id, &mut results)?;
        // A stale family id fails every request with the same ENOENT/EOPNOTSUPP: then resolve
        // again and, if the id changed, send the whole batch once more (nothing was applied).
        let stale = match results.first() {
            Some(Err(first)) if may_be_stale_family(first) => results
                .iter()
                .all(|r| matches!(r, Err(e) if e.errno() == first.errno())),
            _ => false,
        };
        if stale {
            let new = g.resolve()?;
            if new != id {
                send(&mut g, new, &mut results)?;
            }
        }
        Ok(results)
    }
}

/// How many times a dump is repeated after it returned one entry twice (see [`Inner::unique_dump`]).
const DUMP_REPEATS: usize = 3;

impl Inner {
    /// One IPVS dump, with every entry keyed by `key` reported once.
    ///
    /// The kernel continues a dump that does not fit in one datagram (about 32 KiB, some 120
    /// services) from a position counted over its global service table: the services of every
    /// network namespace (`++idx <= start || svc->ipvs != ipvs` in `ip_vs_genl_dump_services`,
    /// all kernels), and it releases `__ip_vs_mutex` between datagrams without ever setting
    /// `NLM_F_DUMP_INTR`. A service added or deleted meanwhile, in any namespace, shifts the
    /// position: the dump then repeats entries (additions) or skips them (deletions). A repeat
    /// proves the dump was disturbed, so it is dropped and the dump run again, up to
    /// [`DUMP_REPEATS`] times; after that the entries are returned without repeats. A skip
    /// cannot be seen in the dump: ipvsadm, libnl and the Go libraries share that limit.
    fn unique_dump<T, K: std::hash::Hash + Eq>(
        &mut self,
        req: &Request<'_>,
        what: impl Fn() -> String,
        parse: impl Fn(&[u8]) -> Result<T>,
        key: impl Fn(&T) -> K,
    ) -> Result<Vec<T>> {
        let mut attempt = 0;
        loop {
            let mut out = Vec::new();
            let mut seen = HashSet::new();
            let mut repeated = false;
            self.call(req, &what, |m| {
                let item = parse(m)?;
                if seen.insert(key(&item)) {
                    out.push(item);
                } else {
                    repeated = true;
                }
                Ok(())
            })?;
            attempt += 1;
            if !repeated || attempt > DUMP_REPEATS {
                return Ok(out);
            }
        }
    }

    /// One service (`GET_SERVICE` without dump, answered by one message or `ESRCH`).
    fn get_service(&mut self, key: &ServiceKey) -> Result<Service> {
        let mut out = None;
        self.get(
            &Request::GetService(Some(key)),
            || format!("get service {key}"),
            |msg| {
                out = Some(parse::parse_service_msg(msg)?);
                Ok(())
            },
        )?;
        out.ok_or_else(|| {
            Error::malformed(
                Origin::Ipvs(Command::GetService),
                format!("no reply for get service {key}"),
            )
        })
    }

    fn services(&mut self) -> Result<Vec<Service>> {
        self.unique_dump(
            &Request::GetService(None),
            || "list services".into(),
            parse::parse_service_msg,
            |s| s.key,
        )
    }

    fn destinations(&mut self, svc: &ServiceKey) -> Result<Vec<Destination>> {
        let af = svc.af();
        self.unique_dump(
            &Request::GetDest(svc),
            || format!("list destinations of {svc}"),
            |m| parse::parse_dest_msg(m, af),
            |d| (d.addr, d.port),
        )
    }
}

/// `addr:port` (`[addr]:port` for IPv6), as ipvsadm writes a destination.
pub(super) fn dest_name(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn describe(c: &Change) -> String {
    match c {
        Change::NewService(s) => format!("add service {}", s.key),
        Change::UpdateService(s) => format!("edit service {}", s.key),
        Change::DeleteService(k) => format!("delete service {k}"),
        Change::NewDestination(k, d) => {
            format!("add destination {} to {k}", dest_name(&d.addr, d.port))
        }
        Change::UpdateDestination(k, d) => {
            format!("edit destination {} of {k}", dest_name(&d.addr, d.port))
        }
        Change::DeleteDestination(k, a, p) => {
            format!("delete destination {} of {k}", dest_name(a, *p))
        }
        Change::Zero(k) => format!("zero service {k}"),
        Change::ZeroAll => "zero all counters".to_string(),
    }
}
