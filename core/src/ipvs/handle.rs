//! [`Handle`]: one long-lived generic netlink socket to IPVS, shared safely between threads.

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
use crate::netlink::{Requests, Socket, SocketOptions, DEFAULT_RCVBUF};
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
}

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

    /// One request (not a dump) answered by an ack, or by one reply passed to `on_reply`.
    fn call(
        &mut self,
        msg: &IpvsMessage,
        dump: bool,
        what: &str,
        mut on_msg: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        self.with_family(|inner, id| {
            let mut buf = Vec::with_capacity(128);
            msg.encode(id, dump, &mut buf);
            inner.requests += 1;
            inner.sock.request(&mut buf, |_, m| on_msg(m))
        })
        .map_err(|e| for_command(e, msg.cmd, what))
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

    fn call(&self, msg: &IpvsMessage, what: &str) -> Result<()> {
        self.inner.lock().call(msg, false, what, |_| Ok(()))
    }

    /// Adds a service. `EEXIST` if it exists ([`ErrorKind::Exists`](crate::ErrorKind::Exists)), unknown scheduler or
    /// persistence engine [`ErrorKind::UnknownScheduler`](crate::ErrorKind::UnknownScheduler).
    pub fn new_service(&self, s: &Service) -> Result<()> {
        let m = message::service_msg(cmd::NEW_SERVICE, s)?;
        self.call(&m, &format!("add service {}", s.key))
    }

    /// Edits a service (scheduler, flags, persistence). Missing service:
    /// [`ErrorKind::NoSuchService`](crate::ErrorKind::NoSuchService).
    pub fn update_service(&self, s: &Service) -> Result<()> {
        let m = message::service_msg(cmd::SET_SERVICE, s)?;
        self.call(&m, &format!("edit service {}", s.key))
    }

    /// Deletes a service and its destinations.
    pub fn delete_service(&self, key: &ServiceKey) -> Result<()> {
        let m = message::service_key_msg(cmd::DEL_SERVICE, key)?;
        self.call(&m, &format!("delete service {key}"))
    }

    /// Reads one service (`GET_SERVICE` without dump); missing: [`ErrorKind::NoSuchService`](crate::ErrorKind::NoSuchService).
    pub fn get_service(&self, key: &ServiceKey) -> Result<Service> {
        let m = message::service_key_msg(cmd::GET_SERVICE, key)?;
        let mut out = None;
        self.inner
            .lock()
            .call(&m, false, &format!("get service {key}"), |msg| {
                out = Some(parse::parse_service_msg(msg)?);
                Ok(())
            })?;
        out.ok_or_else(|| Error::malformed(format!("no reply for get service {key}")))
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
        let m = message::dest_msg(cmd::NEW_DEST, svc, d)?;
        self.call(
            &m,
            &format!("add destination {} to {svc}", dest_name(&d.addr, d.port)),
        )
    }

    /// Edits a destination; missing: [`ErrorKind::NoSuchDestination`](crate::ErrorKind::NoSuchDestination).
    pub fn update_destination(&self, svc: &ServiceKey, d: &Destination) -> Result<()> {
        let m = message::dest_msg(cmd::SET_DEST, svc, d)?;
        self.call(
            &m,
            &format!("edit destination {} of {svc}", dest_name(&d.addr, d.port)),
        )
    }

    /// Deletes the destination `addr:port` of a service.
    pub fn delete_destination(&self, svc: &ServiceKey, addr: IpAddr, port: u16) -> Result<()> {
        let m = message::del_dest_msg(svc, &addr, port)?;
        self.call(
            &m,
            &format!("delete destination {} of {svc}", dest_name(&addr, port)),
        )
    }

    /// Lists the destinations of a service (one `GET_DEST` dump). The kernel answers an empty
    /// dump, not an error, for a missing service.
    pub fn destinations(&self, svc: &ServiceKey) -> Result<Vec<Destination>> {
        self.inner.lock().destinations(svc)
    }

    /// Zeroes one service's counters and those of its destinations.
    pub fn zero(&self, svc: &ServiceKey) -> Result<()> {
        let m = message::service_key_msg(cmd::ZERO, svc)?;
        self.call(&m, &format!("zero service {svc}"))
    }

    /// Zeroes every counter.
    pub fn zero_all(&self) -> Result<()> {
        self.call(&message::bare_msg(cmd::ZERO), "zero all counters")
    }

    /// Deletes every service and destination.
    pub fn flush(&self) -> Result<()> {
        self.call(&message::bare_msg(cmd::FLUSH), "flush IPVS table")
    }

    /// Version and connection table size.
    pub fn info(&self) -> Result<Info> {
        let mut out = None;
        self.inner.lock().call(
            &message::bare_msg(cmd::GET_INFO),
            false,
            "get IPVS info",
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
        self.inner.lock().call(
            &message::bare_msg(cmd::GET_CONFIG),
            false,
            "get IPVS timeouts",
            |m| {
                out = Some(parse::parse_config_msg(m)?);
                Ok(())
            },
        )?;
        out.ok_or_else(|| Error::malformed("no reply to IPVS_CMD_GET_CONFIG"))
    }

    /// Sets the timeouts; a 0 field leaves that timeout unchanged.
    pub fn set_timeouts(&self, t: &Timeouts) -> Result<()> {
        self.call(&message::timeouts_msg(t), "set IPVS timeouts")
    }

    /// Starts a sync daemon. `EEXIST` if one of that state runs; `ENODEV` for a missing
    /// interface.
    pub fn start_daemon(&self, d: &SyncDaemon) -> Result<()> {
        let m = message::new_daemon_msg(d)?;
        self.call(
            &m,
            &format!(
                "start {:?} sync daemon on {} (syncid {})",
                d.state, d.mcast_ifname, d.syncid
            ),
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
        let what = format!("stop {state:?} sync daemon");
        match g.call(&message::del_daemon_msg(state), false, &what, |_| Ok(())) {
            Err(e) if e.kind() == crate::ErrorKind::Timeout => {
                let mut running = false;
                g.call(
                    &message::bare_msg(cmd::GET_DAEMON),
                    true,
                    "list sync daemons",
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
            &message::bare_msg(cmd::GET_DAEMON),
            true,
            "list sync daemons",
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
        let msgs = changes
            .iter()
            .map(message::change_msg)
            .collect::<Result<Vec<_>>>()?;
        let mut g = self.inner.lock();
        let send = |inner: &mut Inner, id: u16| -> Result<Vec<Result<()>>> {
            let mut reqs = Requests::new();
            for m in &msgs {
                reqs.push_with(|b| {
                    m.encode(id, false, b);
                    Ok(())
                })?;
            }
            inner.requests += 1;
            inner.sock.execute(&mut reqs)
        };
        let id = g.family()?;
        let mut raw = send(&mut g, id)?;
        // A stale family id fails every request with the same ENOENT/EOPNOTSUPP: then resolve
        // again and, if the id changed, send the whole batch once more (nothing was applied).
        let stale = match raw.first() {
            Some(Err(first)) if may_be_stale_family(first) => raw
                .iter()
                .all(|r| matches!(r, Err(e) if e.errno() == first.errno())),
            _ => false,
        };
        if stale {
            let new = g.resolve()?;
            if new != id {
                raw = send(&mut g, new)?;
            }
        }
        Ok(raw
            .into_iter()
            .zip(msgs.iter().zip(changes))
            .map(|(r, (m, c))| r.map_err(|e| for_command(e, m.cmd, &describe(c))))
            .collect())
    }
}

impl Inner {
    fn services(&mut self) -> Result<Vec<Service>> {
        let mut out = Vec::new();
        self.call(
            &message::bare_msg(cmd::GET_SERVICE),
            true,
            "list services",
            |m| {
                out.push(parse::parse_service_msg(m)?);
                Ok(())
            },
        )?;
        Ok(out)
    }

    fn destinations(&mut self, svc: &ServiceKey) -> Result<Vec<Destination>> {
        let m = message::service_key_msg(cmd::GET_DEST, svc)?;
        let af = svc.af();
        let mut out = Vec::new();
        self.call(&m, true, &format!("list destinations of {svc}"), |msg| {
            out.push(parse::parse_dest_msg(msg, af)?);
            Ok(())
        })?;
        Ok(out)
    }
}

fn dest_name(addr: &IpAddr, port: u16) -> String {
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
