//! [`Handle`]: one long-lived generic netlink socket to IPVS, shared safely between threads.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use parking_lot::Mutex;

use super::attr::cmd;
use super::change::Change;
use super::config::{Info, Timeouts};
use super::daemon::{DaemonState, SyncDaemon};
use super::destination::Destination;
use super::errors::{for_command, may_be_stale_family};
use super::family;
use super::message::{self, IpvsMessage};
use super::parse;
use super::service::{Service, ServiceEntry, ServiceKey};
use crate::error::{Error, Result};
use crate::netlink::{Socket, SocketOptions, DEFAULT_RCVBUF};
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

    /// One request: `encode` appends it (family id 0, filled in here) to the handle's request
    /// buffer; then it is sent with the family id, answered by an ack or by the messages of a
    /// reply or dump passed to `on_msg`. An `encode` failure (an invalid argument) is returned
    /// as it is, before anything is sent or the family resolved; a failure of the request gets
    /// the meaning its errno has for `command` and a context made by `what`, only then.
    fn call(
        &mut self,
        command: u8,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
        what: impl FnOnce() -> String,
        on_msg: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.send(command, false, encode, what, on_msg)
    }

    /// [`Inner::call`] for a `GET` answered by exactly one message (`GET_SERVICE`, `GET_INFO`,
    /// `GET_CONFIG`): sent without `NLM_F_ACK`, so one reply datagram ends it (see
    /// [`Socket::query`]).
    fn get(
        &mut self,
        command: u8,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
        what: impl FnOnce() -> String,
        on_msg: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.send(command, true, encode, what, on_msg)
    }

    /// The body of [`Inner::call`] and [`Inner::get`]: `single_reply` sends without an ack
    /// request and ends at the one reply.
    fn send(
        &mut self,
        command: u8,
        single_reply: bool,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
        what: impl FnOnce() -> String,
        mut on_msg: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.req.clear();
        if self.req.capacity() > REQ_KEEP {
            self.req = Vec::new();
        }
        encode(&mut self.req)?;
        self.with_family(|inner, id| {
            inner.req[4..6].copy_from_slice(&id.to_ne_bytes());
            inner.requests += 1;
            if single_reply {
                inner.sock.query(&mut inner.req, |_, m| on_msg(m))
            } else {
                inner.sock.request(&mut inner.req, |_, m| on_msg(m))
            }
        })
        .map_err(|e| for_command(e, command, &what()))
    }

    /// [`Inner::call`] for a prepared [`IpvsMessage`] (the rare commands).
    fn call_msg(
        &mut self,
        msg: &IpvsMessage,
        dump: bool,
        what: impl FnOnce() -> String,
        on_msg: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.call(
            msg.cmd,
            |b| {
                msg.encode(0, dump, b);
                Ok(())
            },
            what,
            on_msg,
        )
    }

    /// A command that is answered by an ack only.
    fn command(
        &mut self,
        command: u8,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
        what: impl FnOnce() -> String,
    ) -> Result<()> {
        self.call(command, encode, what, |_| Ok(()))
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
            }),
        })
    }

    /// The IPVS family id, resolving it if needed. Fails with [`ErrorKind::NotAvailable`](crate::ErrorKind::NotAvailable) when
    /// the kernel has no IPVS.
    pub fn family_id(&self) -> Result<u16> {
        self.inner.lock().family()
    }

    /// Number of round trips this handle has made to the kernel, for measuring: one per
    /// command, per dump, per controller lookup, and one per [`Handle::apply`] batch (which the
    /// transport sends in `sendmsg` chunks of at most 1,024 messages or 64 KiB).
    pub fn requests_sent(&self) -> u64 {
        self.inner.lock().requests
    }

    /// A command answered by an ack only (see [`Inner::call`]).
    fn command(
        &self,
        command: u8,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
        what: impl FnOnce() -> String,
    ) -> Result<()> {
        self.inner.lock().command(command, encode, what)
    }

    /// Adds a service. `EEXIST` if it exists ([`ErrorKind::Exists`](crate::ErrorKind::Exists)), unknown scheduler or
    /// persistence engine [`ErrorKind::UnknownScheduler`](crate::ErrorKind::UnknownScheduler).
    pub fn new_service(&self, s: &Service) -> Result<()> {
        self.command(
            cmd::NEW_SERVICE,
            |b| message::encode_service(cmd::NEW_SERVICE, s, 0, b),
            || format!("add service {}", s.key),
        )
    }

    /// Edits a service (scheduler, flags, persistence). Missing service:
    /// [`ErrorKind::NoSuchService`](crate::ErrorKind::NoSuchService).
    pub fn update_service(&self, s: &Service) -> Result<()> {
        self.command(
            cmd::SET_SERVICE,
            |b| message::encode_service(cmd::SET_SERVICE, s, 0, b),
            || format!("edit service {}", s.key),
        )
    }

    /// Deletes a service and its destinations.
    pub fn delete_service(&self, key: &ServiceKey) -> Result<()> {
        self.command(
            cmd::DEL_SERVICE,
            |b| message::encode_service_key(cmd::DEL_SERVICE, key, 0, false, b),
            || format!("delete service {key}"),
        )
    }

    /// Reads one service (`GET_SERVICE` without dump); missing: [`ErrorKind::NoSuchService`](crate::ErrorKind::NoSuchService).
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
        self.command(
            cmd::NEW_DEST,
            |b| message::encode_dest(cmd::NEW_DEST, svc, d, 0, b),
            || format!("add destination {} to {svc}", dest_name(&d.addr, d.port)),
        )
    }

    /// Edits a destination; missing: [`ErrorKind::NoSuchDestination`](crate::ErrorKind::NoSuchDestination).
    pub fn update_destination(&self, svc: &ServiceKey, d: &Destination) -> Result<()> {
        self.command(
            cmd::SET_DEST,
            |b| message::encode_dest(cmd::SET_DEST, svc, d, 0, b),
            || format!("edit destination {} of {svc}", dest_name(&d.addr, d.port)),
        )
    }

    /// Deletes the destination `addr:port` of a service.
    pub fn delete_destination(&self, svc: &ServiceKey, addr: IpAddr, port: u16) -> Result<()> {
        self.command(
            cmd::DEL_DEST,
            |b| message::encode_del_dest(svc, &addr, port, 0, b),
            || format!("delete destination {} of {svc}", dest_name(&addr, port)),
        )
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
        self.command(
            cmd::ZERO,
            |b| message::encode_service_key(cmd::ZERO, svc, 0, false, b),
            || format!("zero service {svc}"),
        )
    }

    /// Zeroes every counter.
    pub fn zero_all(&self) -> Result<()> {
        self.command(cmd::ZERO, bare(cmd::ZERO, false), || {
            "zero all counters".into()
        })
    }

    /// Deletes every service and destination.
    pub fn flush(&self) -> Result<()> {
        self.command(cmd::FLUSH, bare(cmd::FLUSH, false), || {
            "flush IPVS table".into()
        })
    }

    /// Version and connection table size.
    pub fn info(&self) -> Result<Info> {
        let mut out = None;
        self.inner.lock().get(
            cmd::GET_INFO,
            bare(cmd::GET_INFO, false),
            || "get IPVS info".into(),
            |m| {
                out = Some(parse::parse_info_msg(m)?);
                Ok(())
            },
        )?;
        out.ok_or_else(|| Error::malformed("no reply to IPVS_CMD_GET_INFO"))
    }

    /// The TCP, TCP-FIN and UDP timeouts.
    pub fn timeouts(&self) -> Result<Timeouts> {
        let mut out = None;
        self.inner.lock().get(
            cmd::GET_CONFIG,
            bare(cmd::GET_CONFIG, false),
            || "get IPVS timeouts".into(),
            |m| {
                out = Some(parse::parse_config_msg(m)?);
                Ok(())
            },
        )?;
        out.ok_or_else(|| Error::malformed("no reply to IPVS_CMD_GET_CONFIG"))
    }

    /// Sets the timeouts; a 0 field leaves that timeout unchanged. A value above
    /// [`Timeouts::MAX`] is refused with `EINVAL` before anything is sent.
    pub fn set_timeouts(&self, t: &Timeouts) -> Result<()> {
        t.check()?;
        self.inner.lock().call_msg(
            &message::timeouts_msg(t),
            false,
            || "set IPVS timeouts".into(),
            |_| Ok(()),
        )
    }

    /// Starts a sync daemon. `EEXIST` if one of that state runs; `ENODEV` for a missing
    /// interface.
    pub fn start_daemon(&self, d: &SyncDaemon) -> Result<()> {
        let m = message::new_daemon_msg(d)?;
        self.inner.lock().call_msg(
            &m,
            false,
            || {
                format!(
                    "start {:?} sync daemon on {} (syncid {})",
                    d.state, d.mcast_ifname, d.syncid
                )
            },
            |_| Ok(()),
        )
    }

    /// Stops the sync daemon of `state`. Not running: [`ErrorKind::NoSuchService`]
    /// (`ESRCH`, the kernel's errno).
    ///
    /// Linux 6.1 (seen in the kernel lab under qemu TCG, with a raw netlink client too)
    /// sometimes never acknowledges an `IPVS_CMD_DEL_DAEMON` that followed a refused
    /// `NEW_DAEMON`, although the sync thread does stop. When the ack does not come within the
    /// handle's timeout, the daemons are listed: if the daemon is gone the stop succeeded,
    /// otherwise the timeout is returned.
    ///
    /// [`ErrorKind::NoSuchService`]: crate::ErrorKind::NoSuchService
    pub fn stop_daemon(&self, state: DaemonState) -> Result<()> {
        let mut g = self.inner.lock();
        let what = || format!("stop {state:?} sync daemon");
        match g.call_msg(&message::del_daemon_msg(state), false, what, |_| Ok(())) {
            Err(e) if e.kind() == crate::ErrorKind::Timeout => {
                let mut running = false;
                g.call(
                    cmd::GET_DAEMON,
                    bare(cmd::GET_DAEMON, true),
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
            cmd::GET_DAEMON,
            bare(cmd::GET_DAEMON, true),
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
            message::check_change(c)?;
        }
        let mut g = self.inner.lock();
        // Each chunk is encoded straight into the socket's send buffer and its acks read before
        // the next is encoded: memory is one chunk plus the results, whatever the batch size.
        let send = |inner: &mut Inner, id: u16, out: &mut Vec<Result<()>>| -> Result<()> {
            out.clear();
            inner.requests += 1;
            inner.sock.execute_with(
                changes.len(),
                |i, b| message::encode_change(&changes[i], id, b),
                |i, r| {
                    let c = &changes[i];
                    out.push(r.map_err(|e| for_command(e, message::change_cmd(c), &describe(c))));
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
        command: u8,
        encode: impl Fn(&mut Vec<u8>) -> Result<()>,
        what: impl Fn() -> String,
        parse: impl Fn(&[u8]) -> Result<T>,
        key: impl Fn(&T) -> K,
    ) -> Result<Vec<T>> {
        let mut attempt = 0;
        loop {
            let mut out = Vec::new();
            let mut seen = HashSet::new();
            let mut repeated = false;
            self.call(command, &encode, &what, |m| {
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
            cmd::GET_SERVICE,
            |b| message::encode_service_key(cmd::GET_SERVICE, key, 0, false, b),
            || format!("get service {key}"),
            |msg| {
                out = Some(parse::parse_service_msg(msg)?);
                Ok(())
            },
        )?;
        out.ok_or_else(|| Error::malformed(format!("no reply for get service {key}")))
    }

    fn services(&mut self) -> Result<Vec<Service>> {
        self.unique_dump(
            cmd::GET_SERVICE,
            bare(cmd::GET_SERVICE, true),
            || "list services".into(),
            parse::parse_service_msg,
            |s| s.key,
        )
    }

    fn destinations(&mut self, svc: &ServiceKey) -> Result<Vec<Destination>> {
        let af = svc.af();
        self.unique_dump(
            cmd::GET_DEST,
            |b| message::encode_service_key(cmd::GET_DEST, svc, 0, true, b),
            || format!("list destinations of {svc}"),
            |m| parse::parse_dest_msg(m, af),
            |d| (d.addr, d.port),
        )
    }
}

/// The encoder of a command without attributes.
fn bare(command: u8, dump: bool) -> impl Fn(&mut Vec<u8>) -> Result<()> {
    move |b| {
        message::encode_bare(command, 0, dump, b);
        Ok(())
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
