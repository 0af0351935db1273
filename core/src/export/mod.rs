//! The BGP export engine: best paths in, kernel routes out, by rules.
//!
//! * Rules ([`Rule`]) match paths by standard and large communities (OR; empty lists match
//!   everything) and send them to a VRF (its table read from the VRF link), a table id, or a
//!   table id with next hops validated in a VRF ([`Target::VrfTable`]), with a metric
//!   (default 20) and optional next-hop validation (default on; off, routes go in `onlink` on
//!   the device the kernel's route to the next hop uses).
//! * A path may carry the next hops of the prefix's other equal-cost paths
//!   ([`Path::more_nexthops`], BGP multipath): the route is then one `RTA_MULTIPATH` route over
//!   all of them, replaced in place when the set changes. An IPv6 link-local next hop needs the
//!   peer's device ([`Path::device`]); `0.0.0.0` and `::` are refused.
//! * State is kept per (prefix, rule); a path matching several rules goes into each table; a
//!   withdrawal removes it from all; a change of a rule's metric or table removes the old
//!   kernel route (the metric is part of the kernel's key).
//! * Next hops are validated in the routing context the route goes into (`RTM_GETROUTE` with
//!   the VRF device as `oif`, or a plain lookup for a bare table id) and re-validated when links,
//!   addresses, nexthops or other daemons' routes change: an unreachable gateway withdraws the
//!   route, it comes back with the gateway.
//! * Exports are immediate; updates of one prefix closer together than the dampening window
//!   (100 ms) are coalesced, with a cap (1 s) so a flapping prefix still gets installed. An
//!   unchanged route costs no syscall.
//! * Restart without a black hole: routes of our protocol found in our tables at start are kept
//!   (and replaced in place) until [`Exporter::end_of_rib`], then the unclaimed ones go;
//!   [`ExportConfig::delete_all_at_start`] deletes them at start instead. [`Exporter::flush`]
//!   removes everything we exported and nothing else.
//!
//! The routes use protocol 186 (`RTPROT_BGP`) by default. **FRR's zebra deletes routes of
//! protocol 186 when it starts**; choose another protocol number on a machine that runs zebra.

mod community;
mod engine;
mod nht;
mod rule;
mod stats;
mod store;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub use community::{Community, LargeCommunity};
pub use engine::{ExportConfig, ExportedRoute, Path};
pub use rule::{Rule, Target, DEFAULT_METRIC};
pub use stats::Stats;

use crate::error::{Error, ExportOperation, Origin, Result};
use crate::netlink::message;
use crate::netlink::rtm::{
    RTM_DELADDR, RTM_DELLINK, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_NEWADDR, RTM_NEWLINK,
    RTM_NEWNEXTHOP, RTM_NEWROUTE, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_IFADDR,
    RTNLGRP_IPV6_ROUTE, RTNLGRP_LINK, RTNLGRP_NEXTHOP,
};
use crate::netlink::{Socket, SocketOptions};
use crate::route::codec;
use crate::route::handle::RouteHandle;
use crate::route::prefix::Prefix;
use engine::State;

struct Inner {
    state: Mutex<State>,
    handle: RouteHandle,
    wake: OwnedFd,
    stop: AtomicBool,
}

impl Inner {
    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: valid eventfd and an 8-byte buffer, as eventfd(2) requires.
        unsafe {
            libc::write(
                self.wake.as_raw_fd(),
                &one as *const u64 as *const libc::c_void,
                8,
            );
        }
    }
}

/// The export engine. Its methods are safe to call from several threads; a background thread
/// applies dampened updates when due and re-validates next hops on kernel changes.
pub struct Exporter {
    inner: Arc<Inner>,
    driver: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").finish_non_exhaustive()
    }
}

/// rtnetlink multicast groups watched for next-hop re-validation: links, IPv4/IPv6 addresses,
/// IPv4/IPv6 routes, nexthop objects (`RTNLGRP_NEXTHOP`, 5.3+).
const WATCH_GROUPS: [u32; 6] = [
    RTNLGRP_LINK,
    RTNLGRP_IPV4_IFADDR,
    RTNLGRP_IPV4_ROUTE,
    RTNLGRP_IPV6_IFADDR,
    RTNLGRP_IPV6_ROUTE,
    RTNLGRP_NEXTHOP,
];

impl Exporter {
    /// Starts an engine with `rules`: resolves VRF names to tables, takes stock of our
    /// protocol's routes in the rules' tables (deleting them if `delete_all_at_start`), and
    /// starts the background thread. A reserved protocol ([`ExportConfig::check`]) is refused
    /// before the kernel is touched.
    pub fn new(config: ExportConfig, rules: &[Rule]) -> Result<Exporter> {
        config.check()?;
        let handle = RouteHandle::open(&config.netns)?;
        let watch = config.watch;
        let protocol = config.protocol;
        let netns = config.netns.clone();
        let state = State::new(config, &handle, rules)?;
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(Error::from_io(
                Origin::RouteExport(ExportOperation::Configure),
                "eventfd",
                &std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: fd is a fresh descriptor we own.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        let events = if watch {
            let s = Socket::open(
                libc::NETLINK_ROUTE as isize,
                &SocketOptions {
                    netns,
                    timeout: Some(Duration::from_millis(1)),
                    ..SocketOptions::default()
                },
            )?;
            for g in WATCH_GROUPS {
                // RTNLGRP_NEXTHOP is missing before 5.3: best effort for it.
                if let Err(e) = s.add_membership(g) {
                    if g != RTNLGRP_NEXTHOP {
                        return Err(e);
                    }
                }
            }
            // Our own installs and replacements come back as RTM_NEWROUTE notifications, one
            // per route: a burst of 100,000 would overflow the socket (ENOBUFS, then a full
            // re-validation) and wake this thread for nothing. Dropped in the kernel.
            drop_own_new_routes(&s, protocol);
            Some(s)
        } else {
            None
        };
        let inner = Arc::new(Inner {
            state: Mutex::new(state),
            handle,
            wake,
            stop: AtomicBool::new(false),
        });
        let i2 = inner.clone();
        let driver = std::thread::Builder::new()
            .name("lbnet-export".into())
            .spawn(move || drive(i2, events))
            .map_err(|e| {
                Error::from_io(
                    Origin::RouteExport(ExportOperation::Configure),
                    "spawn the export thread",
                    &e,
                )
            })?;
        Ok(Exporter {
            inner,
            driver: Some(driver),
        })
    }

    /// A new best path for `prefix` (replacing any earlier one). Exported at once unless the
    /// prefix changed within the dampening window. Returns the kernel's error if an immediate
    /// export failed (also counted in the statistics).
    pub fn update(&self, prefix: Prefix, path: &Path) -> Result<()> {
        self.apply(&[(prefix, Some(path))])
    }

    /// The prefix has no best path any more: removed from every table.
    pub fn withdraw(&self, prefix: Prefix) -> Result<()> {
        self.apply(&[(prefix, None)])
    }

    /// Many best-path changes at once (`None`: withdrawn), as BGP delivers them: the kernel
    /// operations of all of them go pipelined, many per `sendmsg`. Every change is applied;
    /// the first error is returned and all are counted in the statistics.
    pub fn apply(&self, changes: &[(Prefix, Option<&Path>)]) -> Result<()> {
        let (r, wake) = {
            let mut st = self.inner.state.lock();
            let r = st.apply(&self.inner.handle, changes);
            (r, st.take_wake())
        };
        // Only a first held-back update, or the first update after a quiet period (the
        // dampening window's bookkeeping must be pruned when it ends), gives the background
        // thread a deadline it does not know; waking it for every update would cost two
        // context switches each.
        if wake {
            self.inner.wake();
        }
        r
    }

    /// The first full update is complete (BGP End-of-RIB): exports what is held back, then
    /// deletes our routes found at start that no path claimed. Returns how many were deleted.
    pub fn end_of_rib(&self) -> Result<usize> {
        self.inner.state.lock().end_of_rib(&self.inner.handle)
    }

    /// Replaces the rules and re-evaluates every known route (routes no rule wants any more are
    /// withdrawn; a changed table or metric moves them). On error the old rules stay.
    pub fn reload(&self, rules: &[Rule]) -> Result<()> {
        self.inner.state.lock().reload(&self.inner.handle, rules)
    }

    /// Removes every route we exported (and ours found at start) and forgets all paths.
    /// Returns how many kernel routes were deleted. Other protocols' routes are never touched.
    pub fn flush(&self) -> Result<usize> {
        self.inner.state.lock().flush(&self.inner.handle)
    }

    /// Re-validates every next hop now (the background thread does this on kernel changes).
    pub fn revalidate(&self) -> Result<()> {
        self.inner.state.lock().revalidate(&self.inner.handle)
    }

    /// Applies every update the dampening window holds back, now.
    pub fn settle(&self) -> Result<()> {
        self.inner.state.lock().run_due(&self.inner.handle, true)
    }

    /// Global statistics.
    pub fn stats(&self) -> Stats {
        self.inner.state.lock().stats()
    }

    /// Statistics per rule, in rule order.
    pub fn rule_stats(&self) -> Vec<(String, Stats)> {
        self.inner.state.lock().rule_stats()
    }

    /// The routes we have in the kernel, by table, prefix and rule.
    pub fn exported(&self) -> Vec<ExportedRoute> {
        self.inner.state.lock().exported()
    }

    /// Number of (prefix, rule) exports in the kernel.
    pub fn exported_count(&self) -> usize {
        self.inner.state.lock().exported_len()
    }

    /// The route protocol in use.
    pub fn protocol(&self) -> u8 {
        self.inner.state.lock().protocol()
    }
}

impl Drop for Exporter {
    /// Stops the background thread. Exported routes stay in the kernel (a restart keeps them
    /// until End-of-RIB); call [`Exporter::flush`] first to remove them.
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        self.inner.wake();
        if let Some(t) = self.driver.take() {
            let _ = t.join();
        }
    }
}

/// Attaches a classic BPF filter to the watch socket that drops `RTM_NEWROUTE` notifications
/// of protocol `ours` (each broadcast skb carries one message: `nlmsg_type` at offset 4,
/// `rtm_protocol` at 16 + 5). The kernel runs a netlink socket's filter before queueing a
/// broadcast to it (`do_one_broadcast`). Best effort: without the filter they are read and
/// ignored. `RTM_DELROUTE` of ours still passes: the kernel deletes our routes under us.
fn drop_own_new_routes(s: &Socket, ours: u8) {
    const LD_H_ABS: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_ABS) as u16;
    const LD_B_ABS: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    // BPF loads are big-endian; nlmsg_type is in host order.
    let kind = u16::from_be_bytes(RTM_NEWROUTE.to_ne_bytes()) as u32;
    let ins = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let prog = [
        ins(LD_H_ABS, 0, 0, 4),
        ins(JEQ_K, 0, 3, kind),
        ins(LD_B_ABS, 0, 0, (message::HEADER_LEN + 5) as u32),
        ins(JEQ_K, 0, 1, ours as u32),
        ins(RET_K, 0, 0, 0),
        ins(RET_K, 0, 0, u32::MAX),
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: a valid socket and a filter program that outlives the call (the kernel copies
    // it).
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &fprog as *const libc::sock_fprog as *const libc::c_void,
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        );
    }
}

/// What a notification means for next-hop validation.
#[derive(Debug, PartialEq, Eq)]
enum Relevance {
    /// Nothing (one of our own routes, or a message of no interest).
    None,
    /// Another protocol's route to this prefix changed: re-check the gateways it can affect
    /// (next-hop tracking, [`nht`]).
    Route(Prefix),
    /// A link, address or nexthop-object change, or a route message that does not decode:
    /// re-validate everything (the kernel removes IPv4 routes whose device goes down without
    /// a notification, so only a full re-validation with a dump of our tables finds them).
    All,
}

fn relevance(kind: u16, msg: &[u8], ours: u8) -> Relevance {
    match kind {
        RTM_NEWLINK | RTM_DELLINK | RTM_NEWADDR | RTM_DELADDR | RTM_NEWNEXTHOP | RTM_DELNEXTHOP => {
            Relevance::All
        }
        RTM_NEWROUTE | RTM_DELROUTE => match codec::protocol(msg) {
            Some(p) if p == ours => Relevance::None,
            _ => match codec::decode(msg) {
                Ok(k) => Relevance::Route(k.route.dst),
                Err(_) => Relevance::All,
            },
        },
        _ => Relevance::None,
    }
}

fn drive(inner: Arc<Inner>, mut events: Option<Socket>) {
    let ours = inner.state.lock().protocol();
    let mut buf = [0u8; 8];
    while !inner.stop.load(Ordering::SeqCst) {
        let deadline = inner.state.lock().next_deadline();
        let timeout: libc::c_int = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                (left.as_micros().div_ceil(1000)).min(i32::MAX as u128) as libc::c_int
            }
        };
        let mut fds = [
            libc::pollfd {
                fd: inner.wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: events.as_ref().map_or(-1, |s| s.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfd structs; a negative fd is ignored by poll(2).
        unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        if fds[0].revents != 0 {
            // SAFETY: reading 8 bytes from our eventfd into an 8-byte buffer.
            unsafe { libc::read(inner.wake.as_raw_fd(), buf.as_mut_ptr() as *mut _, 8) };
        }
        let mut changed = false;
        let mut deleted = Vec::new();
        let mut routes = Vec::new();
        if fds[1].revents != 0 {
            if let Some(s) = events.as_mut() {
                loop {
                    match s.recv_raw() {
                        Ok(data) => {
                            for (h, m) in message::messages(data).flatten() {
                                match relevance(h.kind, m, ours) {
                                    Relevance::None => {}
                                    Relevance::Route(d) => routes.push(d),
                                    Relevance::All => changed = true,
                                }
                                // One of ours deleted: by us, or by the kernel under us (its
                                // device went down); the engine tells which.
                                if h.kind == RTM_DELROUTE && codec::protocol(m) == Some(ours) {
                                    if let Ok(k) = codec::decode(m) {
                                        deleted.push(k.route.key());
                                    }
                                }
                            }
                        }
                        // Lost notifications: re-validate everything anyway.
                        Err(e) if e.errno() == libc::ENOBUFS => changed = true,
                        Err(_) => break,
                    }
                }
            }
        }
        let mut st = inner.state.lock();
        if !deleted.is_empty() && st.kernel_deleted(&deleted) {
            changed = true;
        }
        if changed {
            st.request_revalidation();
        } else if !routes.is_empty() {
            // Errors are in the statistics, as below.
            let _ = st.routes_changed(&inner.handle, &routes);
        }
        // Errors are in the statistics; the thread keeps going.
        let _ = st.run_due(&inner.handle, false);
    }
}
