//! C ABI for lbnet's link watcher: a table of the kernel's links (rtnetlink `RTM_NEWLINK` /
//! `RTM_DELLINK`) and its changes, converging to the kernel's view even after the kernel dropped
//! notifications (`ENOBUFS`): the watcher then dumps again and emits exactly the differences.
//!
//! ```c
//! struct lbnet_linkwatch *w;
//! struct lbnet_linkwatch_options o = { .sz = sizeof o, .netns_path = "/var/run/netns/blue" };
//! if (lbnet_linkwatch_open(&o, &w) < 0) { puts(lbnet_last_error()); return 1; }
//! struct lbnet_linkwatch_link *links; size_t n;
//! lbnet_linkwatch_snapshot(w, &links, &n);
//! lbnet_linkwatch_links_free(links, n);
//! struct lbnet_linkwatch_event ev;
//! while (lbnet_linkwatch_next_event(w, 1000, &ev) == 0) { ... }
//! lbnet_linkwatch_free(w);
//! ```
//!
//! For an event loop, poll `lbnet_linkwatch_fd(w)` for readability, then call
//! `lbnet_linkwatch_next_event(w, 0, &ev)` until it returns `-ETIMEDOUT`.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use lbnet::error::{LinkWatchOperation, Origin};
use lbnet::linkwatch::{Duplex, Event, Link, LinkWatcher, WatchOptions};
use lbnet::netns::NetNs;
use lbnet::{Error, ErrorKind};
use parking_lot::Mutex;

use crate::common::{
    arg_mut, arg_opt_path, arg_ref, free_raw_array, guard, into_raw_array, read_opts, ARG,
};

/// Size of [`lbnet_linkwatch_link::name`] (`IFNAMSIZ`, NUL included).
pub const LBNET_LINKWATCH_NAME_LEN: usize = 16;
/// Size of [`lbnet_linkwatch_link::kind`] (NUL included).
pub const LBNET_LINKWATCH_KIND_LEN: usize = 32;
/// Size of [`lbnet_linkwatch_link::alias`] (`IFALIASZ`, NUL included).
pub const LBNET_LINKWATCH_ALIAS_LEN: usize = 256;
/// Size of [`lbnet_linkwatch_link::mac`] (`MAX_ADDR_LEN`).
pub const LBNET_LINKWATCH_MAC_LEN: usize = 32;

/// [`lbnet_linkwatch_event::kind`]: a link appeared.
pub const LBNET_LINKWATCH_ADDED: u32 = 1;
/// [`lbnet_linkwatch_event::kind`]: a link changed; `changes` says which fields.
pub const LBNET_LINKWATCH_CHANGED: u32 = 2;
/// [`lbnet_linkwatch_event::kind`]: a link went away (deleted or moved to another namespace).
pub const LBNET_LINKWATCH_REMOVED: u32 = 3;

/// Change bit: name (a rename keeps the ifindex).
pub const LBNET_LINKWATCH_CHANGE_NAME: u32 = 1 << 0;
/// Change bit: kind.
pub const LBNET_LINKWATCH_CHANGE_KIND: u32 = 1 << 1;
/// Change bit: administrative state.
pub const LBNET_LINKWATCH_CHANGE_ADMIN: u32 = 1 << 2;
/// Change bit: operational state.
pub const LBNET_LINKWATCH_CHANGE_OPER: u32 = 1 << 3;
/// Change bit: carrier.
pub const LBNET_LINKWATCH_CHANGE_CARRIER: u32 = 1 << 4;
/// Change bit: lower-up.
pub const LBNET_LINKWATCH_CHANGE_LOWER_UP: u32 = 1 << 5;
/// Change bit: MTU.
pub const LBNET_LINKWATCH_CHANGE_MTU: u32 = 1 << 6;
/// Change bit: hardware address.
pub const LBNET_LINKWATCH_CHANGE_MAC: u32 = 1 << 7;
/// Change bit: master.
pub const LBNET_LINKWATCH_CHANGE_MASTER: u32 = 1 << 8;
/// Change bit: alias.
pub const LBNET_LINKWATCH_CHANGE_ALIAS: u32 = 1 << 9;
/// Change bit: speed.
pub const LBNET_LINKWATCH_CHANGE_SPEED: u32 = 1 << 10;
/// Change bit: duplex.
pub const LBNET_LINKWATCH_CHANGE_DUPLEX: u32 = 1 << 11;
/// Change bit: any `IFF_*` flag.
pub const LBNET_LINKWATCH_CHANGE_FLAGS: u32 = 1 << 12;

/// One link. Strings are NUL-terminated (empty when absent).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct lbnet_linkwatch_link {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: [c_char; LBNET_LINKWATCH_NAME_LEN],
    /// Link kind ("veth", "bridge", ...; empty for physical NICs and lo).
    pub kind: [c_char; LBNET_LINKWATCH_KIND_LEN],
    /// Alias (empty when none).
    pub alias: [c_char; LBNET_LINKWATCH_ALIAS_LEN],
    /// 1 when administratively up (`IFF_UP`).
    pub admin_up: u8,
    /// 1 when the lower layer is up (`IFF_LOWER_UP`).
    pub lower_up: u8,
    /// 1 carrier, 0 no carrier, -1 not reported.
    pub carrier: i8,
    /// Operational state, `IF_OPER_*` of linux/if.h (6 = up, 2 = down, 0 = unknown).
    pub oper_state: u8,
    /// MTU.
    pub mtu: u32,
    /// Ifindex of the master (bridge, bond, VRF); 0 when none.
    pub master: u32,
    /// Speed in Mb/s; 0 when unknown (other namespace, link down, driver does not say).
    pub speed_mbps: u32,
    /// 1 full, 0 half, -1 unknown.
    pub duplex: i8,
    /// Number of valid bytes in `mac`.
    pub mac_len: u8,
    /// Hardware address.
    pub mac: [u8; LBNET_LINKWATCH_MAC_LEN],
    /// All `IFF_*` flags.
    pub flags: u32,
}

/// One change of the link table.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct lbnet_linkwatch_event {
    /// `LBNET_LINKWATCH_ADDED`, `LBNET_LINKWATCH_CHANGED` or `LBNET_LINKWATCH_REMOVED`.
    pub kind: u32,
    /// For `LBNET_LINKWATCH_CHANGED`: the `LBNET_LINKWATCH_CHANGE_*` bits of the fields that changed.
    pub changes: u32,
    /// The link (its last known state for `LBNET_LINKWATCH_REMOVED`).
    pub link: lbnet_linkwatch_link,
    /// For `LBNET_LINKWATCH_CHANGED`: the state before; zeroed otherwise.
    pub old: lbnet_linkwatch_link,
}

/// Counters of a watcher.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct lbnet_linkwatch_counters {
    /// Link messages parsed.
    pub messages: u64,
    /// Events handed out.
    pub events: u64,
    /// Resynchronisations after lost notifications.
    pub resyncs: u64,
    /// `ENOBUFS` reports (notifications lost).
    pub overruns: u64,
    /// Dumps repeated because they were interrupted or lost notifications.
    pub dump_retries: u64,
    /// Dumps the kernel flagged `NLM_F_DUMP_INTR`.
    pub dumps_interrupted: u64,
    /// Datagrams too large for the receive buffer.
    pub truncated: u64,
    /// Messages that could not be parsed.
    pub malformed: u64,
    /// Receive buffer size the kernel reports.
    pub rcvbuf: u64,
}

/// A link watcher (opaque). Safe to use from several threads; free with
/// [`lbnet_linkwatch_free`].
pub struct lbnet_linkwatch {
    inner: Mutex<LinkWatcher>,
    fd: RawFd,
}

fn zeroed_link() -> lbnet_linkwatch_link {
    lbnet_linkwatch_link {
        ifindex: 0,
        name: [0; LBNET_LINKWATCH_NAME_LEN],
        kind: [0; LBNET_LINKWATCH_KIND_LEN],
        alias: [0; LBNET_LINKWATCH_ALIAS_LEN],
        admin_up: 0,
        lower_up: 0,
        carrier: -1,
        oper_state: 0,
        mtu: 0,
        master: 0,
        speed_mbps: 0,
        duplex: -1,
        mac_len: 0,
        mac: [0; LBNET_LINKWATCH_MAC_LEN],
        flags: 0,
    }
}

/// Copies `s` into `dst`, cut at a character boundary to leave room for the NUL.
fn put_str(dst: &mut [c_char], s: &str) {
    let mut n = s.len().min(dst.len() - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    for (d, b) in dst.iter_mut().zip(s.as_bytes()[..n].iter()) {
        *d = *b as c_char;
    }
    dst[n] = 0;
}

fn to_c(l: &Link) -> lbnet_linkwatch_link {
    let mut c = zeroed_link();
    c.ifindex = l.index;
    put_str(&mut c.name, &l.name);
    put_str(&mut c.kind, l.kind.as_deref().unwrap_or(""));
    put_str(&mut c.alias, l.alias.as_deref().unwrap_or(""));
    c.admin_up = l.admin_up as u8;
    c.lower_up = l.lower_up as u8;
    c.carrier = l.carrier.map_or(-1, |b| b as i8);
    c.oper_state = l.oper_state.as_u8();
    c.mtu = l.mtu;
    c.master = l.master.unwrap_or(0);
    c.speed_mbps = l.speed_mbps.unwrap_or(0);
    c.duplex = match l.duplex {
        None => -1,
        Some(Duplex::Half) => 0,
        Some(Duplex::Full) => 1,
    };
    let n = l.mac.len().min(LBNET_LINKWATCH_MAC_LEN);
    c.mac[..n].copy_from_slice(&l.mac[..n]);
    c.mac_len = n as u8;
    c.flags = l.flags;
    c
}

fn event_to_c(e: &Event) -> lbnet_linkwatch_event {
    match e {
        Event::Added(l) => lbnet_linkwatch_event {
            kind: LBNET_LINKWATCH_ADDED,
            changes: 0,
            link: to_c(l),
            old: zeroed_link(),
        },
        Event::Changed { old, new, changes } => lbnet_linkwatch_event {
            kind: LBNET_LINKWATCH_CHANGED,
            changes: changes.bits(),
            link: to_c(new),
            old: to_c(old),
        },
        Event::Removed(l) => lbnet_linkwatch_event {
            kind: LBNET_LINKWATCH_REMOVED,
            changes: 0,
            link: to_c(l),
            old: zeroed_link(),
        },
    }
}

/// `lbnet_linkwatch_options.flags`: do not read speed and duplex from sysfs (they stay
/// unknown). Reading them costs two file reads per link change; it is only done for the
/// caller's own namespace anyway, since sysfs shows the namespace of whoever mounted it.
pub const LBNET_LINKWATCH_NO_SPEED: u32 = 1 << 0;

/// Every flag this library knows; any other bit is refused with `-EINVAL`.
const KNOWN_FLAGS: u32 = LBNET_LINKWATCH_NO_SPEED;

/// Options of [`lbnet_linkwatch_open`]. A NULL pointer, or a zeroed struct with `sz` set, means
/// defaults: the caller's network namespace, an 8 MiB receive buffer, a 30 s dump timeout,
/// speed and duplex read.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_linkwatch_options {
    /// `sizeof(struct lbnet_linkwatch_options)`: the library refuses a smaller value, and a
    /// larger one whose extra bytes are not all zero (libbpf's rule for growing structs).
    pub sz: usize,
    /// Network namespace file to watch (`/var/run/netns/NAME`, `/proc/PID/ns/net`), or NULL
    /// for the caller's. Opened once, at `lbnet_linkwatch_open`; the calling thread never
    /// changes namespace.
    pub netns_path: *const c_char,
    /// Receive buffer in bytes, 0 = 8 MiB (`SO_RCVBUFFORCE` with `CAP_NET_ADMIN`, else
    /// `SO_RCVBUF` capped by `net.core.rmem_max`). A small buffer loses notifications under a
    /// burst; the watcher then resynchronises.
    pub rcvbuf: u32,
    /// Longest time one dump (initial or resync) may take in milliseconds, 0 = 30 s. A dump
    /// that takes longer fails the call with `-ETIMEDOUT`; the next call retries it.
    pub dump_timeout_ms: u32,
    /// `LBNET_LINKWATCH_*` flags (`LBNET_LINKWATCH_NO_SPEED`); unknown bits are `-EINVAL`.
    pub flags: u32,
}

/// The watcher options `opts` asks for.
///
/// # Safety
///
/// `opts` is NULL or points to `opts->sz` readable bytes whose `netns_path` is NULL or a
/// NUL-terminated string.
pub(crate) unsafe fn watch_options(
    opts: *const lbnet_linkwatch_options,
) -> Result<WatchOptions, Error> {
    let mut w = WatchOptions::default();
    // SAFETY: forwarded from the caller.
    let Some(o) = (unsafe { read_opts(opts, "opts") })? else {
        return Ok(w);
    };
    // SAFETY: forwarded from the caller.
    if let Some(p) = unsafe { arg_opt_path(o.netns_path, "netns_path") }? {
        w.netns = NetNs::Path(p.into());
    }
    if o.rcvbuf != 0 {
        w.rcvbuf = o.rcvbuf as usize;
    }
    if o.dump_timeout_ms != 0 {
        w.dump_timeout = Duration::from_millis(u64::from(o.dump_timeout_ms));
    }
    if o.flags & !KNOWN_FLAGS != 0 {
        return Err(Error::invalid(
            ARG,
            format!(
                "flags 0x{:x}: unknown bits 0x{:x}",
                o.flags,
                o.flags & !KNOWN_FLAGS
            ),
        ));
    }
    w.read_speed = o.flags & LBNET_LINKWATCH_NO_SPEED == 0;
    Ok(w)
}

/// Opens a watcher with `opts` (NULL for defaults) and stores it in `*out` (NULL on failure).
/// Subscribes to `RTNLGRP_LINK` first, then dumps the links, so no change between the two is
/// missed.
///
/// Returns 0; `-EINVAL` (NULL `out`, bad `sz`, bad path string, unknown flags); the errno of
/// opening the namespace (`-ENOENT` no such file, `-EINVAL` a file that is not a network
/// namespace, `-EPERM` without `CAP_SYS_ADMIN`) or of the socket and the first dump.
///
/// # Safety
///
/// `opts` is NULL or points to `opts->sz` readable bytes (a `struct lbnet_linkwatch_options`
/// whose `netns_path` is NULL or NUL-terminated); `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_linkwatch_open(
    opts: *const lbnet_linkwatch_options,
    out: *mut *mut lbnet_linkwatch,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: forwarded from the caller.
        let o = unsafe { watch_options(opts) }?;
        let w = LinkWatcher::new(o)?;
        let fd = w.as_raw_fd();
        *out = Box::into_raw(Box::new(lbnet_linkwatch {
            inner: Mutex::new(w),
            fd,
        }));
        Ok(())
    })
}

/// Closes the watcher and frees it. NULL is a no-op.
///
/// # Safety
///
/// `w` is NULL or a watcher from [`lbnet_linkwatch_open`] not freed yet, on which no other
/// call is running; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn lbnet_linkwatch_free(w: *mut lbnet_linkwatch) {
    if !w.is_null() {
        // SAFETY: `w` came from lbnet_linkwatch_open and is freed once.
        drop(unsafe { Box::from_raw(w) });
    }
}

/// The watcher's file descriptor for poll/epoll (readable when the kernel sent something), or
/// `-EINVAL` for a NULL watcher. Owned by the watcher: do not close it or read from it.
///
/// # Safety
///
/// `w` is NULL or a live watcher from [`lbnet_linkwatch_open`].
#[no_mangle]
pub unsafe extern "C" fn lbnet_linkwatch_fd(w: *const lbnet_linkwatch) -> c_int {
    let mut fd = -1;
    let rc = guard(|| {
        // SAFETY: forwarded from the caller.
        fd = unsafe { arg_ref(w, "w") }?.fd;
        Ok(())
    });
    if rc < 0 {
        rc
    } else {
        fd
    }
}

/// Every link known now, sorted by ifindex (the state after every event handed out so far and
/// those still queued): `*links` is an array of `*count` entries to release with
/// [`lbnet_linkwatch_links_free`] (NULL when the count is 0).
///
/// Returns 0 or `-EINVAL` (a NULL argument; `*links` and `*count` are then untouched).
///
/// # Safety
///
/// `w` is NULL or a live watcher; `links` and `count` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_linkwatch_snapshot(
    w: *mut lbnet_linkwatch,
    links: *mut *mut lbnet_linkwatch_link,
    count: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (w, links, count) = unsafe {
            (
                arg_ref(w, "w")?,
                arg_mut(links, "links")?,
                arg_mut(count, "count")?,
            )
        };
        let snap = w.inner.lock().snapshot();
        let v: Vec<lbnet_linkwatch_link> = snap.iter().map(to_c).collect();
        (*count, *links) = into_raw_array(v);
        Ok(())
    })
}

/// Releases an array from [`lbnet_linkwatch_snapshot`]. NULL is a no-op.
///
/// # Safety
///
/// `links` is NULL or an array from [`lbnet_linkwatch_snapshot`] not freed yet, and `count` is
/// the count that call returned with it (the allocation's size: any other value is undefined
/// behaviour, as for `free` of a wrong pointer).
#[no_mangle]
pub unsafe extern "C" fn lbnet_linkwatch_links_free(
    links: *mut lbnet_linkwatch_link,
    count: usize,
) {
    // SAFETY: made by into_raw_array in lbnet_linkwatch_snapshot, with this count (the caller's promise).
    unsafe { free_raw_array(count, links) };
}

/// Waits up to `timeout_ms` milliseconds (negative: forever; 0: do not wait) for the next
/// event and writes it to `*out`.
///
/// Returns 0 with an event; `-ETIMEDOUT` when none came in time; `-EINVAL` for a NULL
/// argument; another negative errno on failure (`-EBADMSG` for an undecodable kernel message,
/// after which a resynchronisation is scheduled and calling again continues). The watcher is
/// not locked while waiting, so other threads may take snapshots meanwhile.
///
/// # Safety
///
/// `w` is NULL or a live watcher; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_linkwatch_next_event(
    w: *mut lbnet_linkwatch,
    timeout_ms: i32,
    out: *mut lbnet_linkwatch_event,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (w, out) = unsafe { (arg_ref(w, "w")?, arg_mut(out, "out")?) };
        let deadline =
            (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        loop {
            if let Some(e) = w.inner.lock().next_event(Some(Duration::ZERO))? {
                *out = event_to_c(&e);
                return Ok(());
            }
            let ms = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::new(
                            Origin::LinkWatch(LinkWatchOperation::Receive),
                            ErrorKind::Timeout,
                            "no link event in time",
                        ));
                    }
                    left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
                }
            };
            let mut pfd = libc::pollfd {
                fd: w.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINTR) {
                    return Err(Error::from_io(
                        Origin::LinkWatch(LinkWatchOperation::Receive),
                        "poll",
                        &e,
                    ));
                }
            }
        }
    })
}

/// Copies the watcher's counters to `*out`. Returns 0 or `-EINVAL` (a NULL argument).
///
/// # Safety
///
/// `w` is NULL or a live watcher; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_linkwatch_stats(
    w: *mut lbnet_linkwatch,
    out: *mut lbnet_linkwatch_counters,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (w, out) = unsafe { (arg_ref(w, "w")?, arg_mut(out, "out")?) };
        let s = w.inner.lock().stats();
        *out = lbnet_linkwatch_counters {
            messages: s.messages,
            events: s.events,
            resyncs: s.resyncs,
            overruns: s.overruns,
            dump_retries: s.dump_retries,
            dumps_interrupted: s.dumps_interrupted,
            truncated: s.truncated,
            malformed: s.malformed,
            rcvbuf: s.rcvbuf,
        };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{CStr, CString};
    use std::process::Command;

    struct Ns(String);
    impl Ns {
        fn new() -> Ns {
            let n = format!("lbnet-lwffi-{}", std::process::id());
            assert!(Command::new("ip")
                .args(["netns", "add", &n])
                .status()
                .unwrap()
                .success());
            Ns(n)
        }
        fn ip(&self, args: &str) {
            let mut v = vec!["-n", self.0.as_str()];
            v.extend(args.split_whitespace());
            assert!(Command::new("ip").args(&v).status().unwrap().success());
        }
    }
    impl Drop for Ns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }

    fn name(l: &lbnet_linkwatch_link) -> String {
        // SAFETY: put_str always NUL-terminates.
        unsafe { CStr::from_ptr(l.name.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn watch_a_namespace_through_the_c_abi() {
        let ns = Ns::new();
        let path = CString::new(format!("/var/run/netns/{}", ns.0)).unwrap();
        let o = lbnet_linkwatch_options {
            netns_path: path.as_ptr(),
            ..opts()
        };
        let mut w: *mut lbnet_linkwatch = std::ptr::null_mut();
        unsafe {
            assert_eq!(lbnet_linkwatch_open(&o, &mut w), 0);
            assert!(lbnet_linkwatch_fd(w) >= 0);
            let mut links = std::ptr::null_mut();
            let mut n = 0usize;
            assert_eq!(lbnet_linkwatch_snapshot(w, &mut links, &mut n), 0);
            assert_eq!(n, 1);
            assert_eq!(name(&*links), "lo");
            assert_eq!((*links).ifindex, 1);
            lbnet_linkwatch_links_free(links, n);

            let mut ev = std::mem::zeroed::<lbnet_linkwatch_event>();
            assert_eq!(lbnet_linkwatch_next_event(w, 0, &mut ev), -libc::ETIMEDOUT);

            ns.ip("link add c0 type veth peer name c1");
            let mut added = Vec::new();
            while added.len() < 2 {
                assert_eq!(lbnet_linkwatch_next_event(w, 5000, &mut ev), 0);
                if ev.kind == LBNET_LINKWATCH_ADDED {
                    added.push(name(&ev.link));
                    assert_eq!(ev.link.mtu, 1500);
                    assert_eq!(ev.link.mac_len, 6);
                }
            }
            added.sort();
            assert_eq!(added, ["c0", "c1"]);

            ns.ip("link set c0 mtu 2000");
            loop {
                assert_eq!(lbnet_linkwatch_next_event(w, 5000, &mut ev), 0);
                if ev.kind == LBNET_LINKWATCH_CHANGED
                    && ev.changes & LBNET_LINKWATCH_CHANGE_MTU != 0
                {
                    break;
                }
            }
            assert_eq!(name(&ev.link), "c0");
            assert_eq!((ev.old.mtu, ev.link.mtu), (1500, 2000));

            ns.ip("link del c0");
            let mut removed = 0;
            while removed < 2 {
                assert_eq!(lbnet_linkwatch_next_event(w, 5000, &mut ev), 0);
                if ev.kind == LBNET_LINKWATCH_REMOVED {
                    removed += 1;
                }
            }
            let mut st = lbnet_linkwatch_counters::default();
            assert_eq!(lbnet_linkwatch_stats(w, &mut st), 0);
            assert!(st.events >= 5);
            lbnet_linkwatch_free(w);
            lbnet_linkwatch_free(std::ptr::null_mut());
            lbnet_linkwatch_links_free(std::ptr::null_mut(), 0);
        }
    }

    fn opts() -> lbnet_linkwatch_options {
        lbnet_linkwatch_options {
            sz: std::mem::size_of::<lbnet_linkwatch_options>(),
            netns_path: std::ptr::null(),
            rcvbuf: 0,
            dump_timeout_ms: 0,
            flags: 0,
        }
    }

    #[test]
    fn bad_arguments_are_rejected() {
        unsafe {
            assert_eq!(
                lbnet_linkwatch_open(std::ptr::null(), std::ptr::null_mut()),
                -libc::EINVAL
            );
            let mut w = std::ptr::dangling_mut::<lbnet_linkwatch>();
            let mut o = lbnet_linkwatch_options {
                netns_path: c"/nonexistent/ns".as_ptr(),
                ..opts()
            };
            assert_eq!(lbnet_linkwatch_open(&o, &mut w), -libc::ENOENT);
            assert!(w.is_null());
            o.netns_path = c"".as_ptr();
            assert_eq!(lbnet_linkwatch_open(&o, &mut w), -libc::EINVAL);
            o.netns_path = std::ptr::null();
            o.flags = 1 << 7;
            assert_eq!(lbnet_linkwatch_open(&o, &mut w), -libc::EINVAL);
            o.flags = LBNET_LINKWATCH_NO_SPEED;
            o.sz -= 1;
            assert_eq!(lbnet_linkwatch_open(&o, &mut w), -libc::EINVAL);
            o.sz += 1;
            o.rcvbuf = 1 << 16;
            o.dump_timeout_ms = 5000;
            assert_eq!(lbnet_linkwatch_open(&o, &mut w), 0);
            let mut st = lbnet_linkwatch_counters::default();
            assert_eq!(lbnet_linkwatch_stats(w, &mut st), 0);
            assert!(st.rcvbuf >= 1 << 16, "{}", st.rcvbuf);
            lbnet_linkwatch_free(w);
            assert_eq!(lbnet_linkwatch_fd(std::ptr::null()), -libc::EINVAL);
            let mut ev = std::mem::zeroed::<lbnet_linkwatch_event>();
            assert_eq!(
                lbnet_linkwatch_next_event(std::ptr::null_mut(), 0, &mut ev),
                -libc::EINVAL
            );
        }
    }

    #[test]
    fn strings_are_cut_at_char_boundaries() {
        let mut buf = [1 as c_char; 4];
        put_str(&mut buf, "ab\u{e9}"); // 'é' is 2 bytes and does not fit with the NUL
        assert_eq!(buf[..3], [b'a' as c_char, b'b' as c_char, 0]);
        let l = Link {
            index: 5,
            name: "x".into(),
            carrier: Some(true),
            mac: vec![1, 2, 3, 4, 5, 6],
            ..Link::default()
        };
        let c = to_c(&l);
        assert_eq!((c.ifindex, c.carrier, c.duplex, c.mac_len), (5, 1, -1, 6));
    }
}
