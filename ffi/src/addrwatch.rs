//! The address watcher (`lbnet::linkwatch::AddrWatcher`) in C: the IPv4 and IPv6 addresses of
//! a network namespace and a stream of added/removed events that stays exact after the kernel
//! dropped notifications (`ENOBUFS`): the watcher then dumps again and reports exactly the
//! differences. Same options, counters and calling pattern as the link watcher:
//!
//! ```c
//! struct lbnet_addrwatch *w;
//! if (lbnet_addrwatch_open(NULL, &w) < 0) { puts(lbnet_last_error()); return 1; }
//! struct lbnet_addrwatch_addr *addrs; size_t n;
//! lbnet_addrwatch_snapshot(w, &addrs, &n);
//! lbnet_addrwatch_addrs_free(addrs, n);
//! struct lbnet_addrwatch_event ev;
//! while (lbnet_addrwatch_next_event(w, 1000, &ev) == 0) { ... }
//! lbnet_addrwatch_free(w);
//! ```

#![allow(non_camel_case_types)]

use std::ffi::c_int;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use lbnet::error::{LinkWatchOperation, Origin};
use lbnet::linkwatch::{Addr, AddrEvent, AddrWatcher};
use lbnet::{Error, ErrorKind};
use parking_lot::Mutex;

use crate::addr::lbnet_addr;
use crate::common::{arg_mut, arg_ref, free_raw_array, guard, into_raw_array};
use crate::linkwatch::{lbnet_linkwatch_counters, lbnet_linkwatch_options, watch_options};

/// [`lbnet_addrwatch_event::kind`]: an address appeared, or its flags changed.
pub const LBNET_ADDRWATCH_ADDED: u32 = 1;
/// [`lbnet_addrwatch_event::kind`]: an address went away (removed, or its link deleted or, for
/// IPv6, taken down).
pub const LBNET_ADDRWATCH_REMOVED: u32 = 3;

/// One interface address.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_addrwatch_addr {
    /// Ifindex of the link the address is on.
    pub ifindex: u32,
    /// The interface's own address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6), host bits
    /// included.
    pub addr: lbnet_addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// `RT_SCOPE_*` (0 universe, 253 link, 254 host).
    pub scope: u8,
    /// `IFA_F_*` flags (`IFA_F_TENTATIVE` 0x40 while IPv6 duplicate address detection runs).
    pub flags: u32,
}

/// One change of the address table.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_addrwatch_event {
    /// `LBNET_ADDRWATCH_ADDED` or `LBNET_ADDRWATCH_REMOVED`.
    pub kind: u32,
    /// The address (its last known state for `LBNET_ADDRWATCH_REMOVED`).
    pub addr: lbnet_addrwatch_addr,
}

/// An address watcher (opaque). Safe to use from several threads; free with
/// [`lbnet_addrwatch_free`].
pub struct lbnet_addrwatch {
    inner: Mutex<AddrWatcher>,
    fd: RawFd,
}

fn to_c(a: &Addr) -> lbnet_addrwatch_addr {
    lbnet_addrwatch_addr {
        ifindex: a.index,
        addr: lbnet_addr::from_ip(a.address),
        prefix_len: a.prefix_len,
        scope: a.scope,
        flags: a.flags,
    }
}

/// Opens an address watcher with `opts` (NULL for defaults: the caller's namespace, an 8 MiB
/// receive buffer, a 30 s dump timeout; `LBNET_LINKWATCH_NO_SPEED` is accepted and has no
/// effect) and stores it in `*out` (NULL on failure). Subscribes to `RTNLGRP_IPV4_IFADDR` and
/// `RTNLGRP_IPV6_IFADDR` first, then dumps the addresses, so no change between the two is
/// missed.
///
/// Returns 0; `-EINVAL` (NULL `out`, bad `sz`, bad path string, unknown flags); the errno of
/// opening the namespace or of the socket and the first dump.
///
/// # Safety
///
/// `opts` is NULL or points to `opts->sz` readable bytes (a `struct lbnet_linkwatch_options`
/// whose `netns_path` is NULL or NUL-terminated); `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_addrwatch_open(
    opts: *const lbnet_linkwatch_options,
    out: *mut *mut lbnet_addrwatch,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: forwarded from the caller.
        let o = unsafe { watch_options(opts) }?;
        let w = AddrWatcher::new(o)?;
        let fd = w.as_raw_fd();
        *out = Box::into_raw(Box::new(lbnet_addrwatch {
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
/// `w` is NULL or a watcher from [`lbnet_addrwatch_open`] not freed yet, on which no other
/// call is running; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn lbnet_addrwatch_free(w: *mut lbnet_addrwatch) {
    if !w.is_null() {
        // SAFETY: `w` came from lbnet_addrwatch_open and is freed once.
        drop(unsafe { Box::from_raw(w) });
    }
}

/// The watcher's file descriptor for poll/epoll, or `-EINVAL` for a NULL watcher. Owned by the
/// watcher: do not close it or read from it.
///
/// # Safety
///
/// `w` is NULL or a live watcher from [`lbnet_addrwatch_open`].
#[no_mangle]
pub unsafe extern "C" fn lbnet_addrwatch_fd(w: *const lbnet_addrwatch) -> c_int {
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

/// Every address known now, sorted by ifindex then address (the state after every event
/// handed out so far and those still queued): `*addrs` is an array of `*count` entries to
/// release with [`lbnet_addrwatch_addrs_free`] (NULL when the count is 0).
///
/// Returns 0 or `-EINVAL` (a NULL argument; `*addrs` and `*count` are then untouched).
///
/// # Safety
///
/// `w` is NULL or a live watcher; `addrs` and `count` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_addrwatch_snapshot(
    w: *mut lbnet_addrwatch,
    addrs: *mut *mut lbnet_addrwatch_addr,
    count: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (w, addrs, count) = unsafe {
            (
                arg_ref(w, "w")?,
                arg_mut(addrs, "addrs")?,
                arg_mut(count, "count")?,
            )
        };
        let v: Vec<lbnet_addrwatch_addr> = w.inner.lock().snapshot().iter().map(to_c).collect();
        (*count, *addrs) = into_raw_array(v);
        Ok(())
    })
}

/// Releases an array from [`lbnet_addrwatch_snapshot`]. NULL is a no-op.
///
/// # Safety
///
/// `addrs` is NULL or an array from [`lbnet_addrwatch_snapshot`] not freed yet, and `count` is
/// the count that call returned with it.
#[no_mangle]
pub unsafe extern "C" fn lbnet_addrwatch_addrs_free(
    addrs: *mut lbnet_addrwatch_addr,
    count: usize,
) {
    // SAFETY: made by into_raw_array in lbnet_addrwatch_snapshot, with this count (the caller's promise).
    unsafe { free_raw_array(count, addrs) };
}

/// Waits up to `timeout_ms` milliseconds (negative: forever; 0: do not wait) for the next
/// event and writes it to `*out`.
///
/// Returns 0 with an event; `-ETIMEDOUT` when none came in time; `-EINVAL` for a NULL
/// argument; another negative errno on failure (`-EBADMSG` for an undecodable kernel message,
/// after which a resynchronisation is scheduled and calling again continues). The watcher is
/// not locked while waiting.
///
/// # Safety
///
/// `w` is NULL or a live watcher; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_addrwatch_next_event(
    w: *mut lbnet_addrwatch,
    timeout_ms: i32,
    out: *mut lbnet_addrwatch_event,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (w, out) = unsafe { (arg_ref(w, "w")?, arg_mut(out, "out")?) };
        let deadline =
            (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        loop {
            if let Some(e) = w.inner.lock().next_event(Some(Duration::ZERO))? {
                *out = match &e {
                    AddrEvent::Added(a) => lbnet_addrwatch_event {
                        kind: LBNET_ADDRWATCH_ADDED,
                        addr: to_c(a),
                    },
                    AddrEvent::Removed(a) => lbnet_addrwatch_event {
                        kind: LBNET_ADDRWATCH_REMOVED,
                        addr: to_c(a),
                    },
                };
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
                            "no address event in time",
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

/// Copies the watcher's counters to `*out` (`messages` counts address messages). Returns 0 or
/// `-EINVAL` (a NULL argument).
///
/// # Safety
///
/// `w` is NULL or a live watcher; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_addrwatch_stats(
    w: *mut lbnet_addrwatch,
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
    use std::ffi::CString;
    use std::process::Command;

    #[test]
    fn watch_addresses_of_a_namespace_through_the_c_abi() {
        struct Ns(String);
        impl Drop for Ns {
            fn drop(&mut self) {
                let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
            }
        }
        let owner = Ns(format!("lbnet-awffi-{}", std::process::id()));
        let ns = owner.0.clone();
        assert!(Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .unwrap()
            .success());
        let ip = |args: &str| {
            let mut v = vec!["-n", ns.as_str()];
            v.extend(args.split_whitespace());
            assert!(Command::new("ip").args(&v).status().unwrap().success());
        };
        let path = CString::new(format!("/var/run/netns/{ns}")).unwrap();
        let o = lbnet_linkwatch_options {
            sz: std::mem::size_of::<lbnet_linkwatch_options>(),
            netns_path: path.as_ptr(),
            rcvbuf: 0,
            dump_timeout_ms: 0,
            flags: 0,
        };
        let mut w: *mut lbnet_addrwatch = std::ptr::null_mut();
        unsafe {
            assert_eq!(lbnet_addrwatch_open(&o, &mut w), 0);
            assert!(lbnet_addrwatch_fd(w) >= 0);
            let mut ev = lbnet_addrwatch_event::default();
            assert_eq!(lbnet_addrwatch_next_event(w, 0, &mut ev), -libc::ETIMEDOUT);
            ip("link add d0 type veth peer name d1");
            ip("addr add 192.0.2.9/24 dev d0");
            assert_eq!(lbnet_addrwatch_next_event(w, 5000, &mut ev), 0);
            assert_eq!(ev.kind, LBNET_ADDRWATCH_ADDED);
            assert_eq!((ev.addr.addr.af, ev.addr.prefix_len), (libc::AF_INET, 24));
            assert_eq!(ev.addr.addr.addr[..4], [192, 0, 2, 9]);
            let mut addrs = std::ptr::null_mut();
            let mut n = 0usize;
            assert_eq!(lbnet_addrwatch_snapshot(w, &mut addrs, &mut n), 0);
            assert_eq!(n, 1);
            assert_eq!((*addrs).ifindex, ev.addr.ifindex);
            lbnet_addrwatch_addrs_free(addrs, n);
            ip("addr del 192.0.2.9/24 dev d0");
            assert_eq!(lbnet_addrwatch_next_event(w, 5000, &mut ev), 0);
            assert_eq!(ev.kind, LBNET_ADDRWATCH_REMOVED);
            let mut st = lbnet_linkwatch_counters::default();
            assert_eq!(lbnet_addrwatch_stats(w, &mut st), 0);
            assert_eq!(st.events, 2);
            lbnet_addrwatch_free(w);
            assert_eq!(
                lbnet_addrwatch_next_event(std::ptr::null_mut(), 0, &mut ev),
                -libc::EINVAL
            );
            assert_eq!(lbnet_addrwatch_fd(std::ptr::null()), -libc::EINVAL);
        }
        drop(owner);
    }
}
