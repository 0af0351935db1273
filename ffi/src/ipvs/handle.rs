//! The IPVS handle and every operation on it, as C functions.
//!
//! A handle owns one netlink socket (in the network namespace chosen at creation); it is safe to
//! use from several threads at once (calls are serialised inside). Kernel errors come back as
//! the kernel's negative errno: `-EEXIST` (service or destination exists), `-ESRCH` (no such
//! service), `-ENOENT` (no such destination, unknown scheduler or persistence engine), `-ERANGE`
//! (negative weight, lower threshold above upper), `-EPERM` (no `CAP_NET_ADMIN`), and the errno
//! of a missing IPVS (no `ip_vs` module: the generic netlink family "IPVS" does not resolve).

use std::ffi::{c_char, c_int};
use std::time::Duration;

use lbnet::ipvs::{Handle, HandleOptions, ServiceEntry};
use lbnet::netns::NetNs;
use lbnet::Error;

use super::convert::*;
use super::list::*;
use super::types::*;
use crate::common::{arg_mut, arg_opt_path, arg_ref, guard, read_opts, ARG};

/// An open connection to the kernel's IPVS (opaque). Create with `lbnet_ipvs_open`, free with
/// `lbnet_ipvs_free`.
pub struct lbnet_ipvs {
    inner: Handle,
}

/// Options for `lbnet_ipvs_open`. A NULL pointer, or a struct that is zero but for `sz`, means
/// defaults: the caller's network namespace, the library's receive buffer and timeout.
///
/// Set `sz` to `sizeof(struct lbnet_ipvs_options)`: a smaller `sz`, one above 4096, or a larger
/// one with a non-zero byte past the fields this library knows is refused with `-EINVAL`
/// (libbpf's rule, so fields can be added later without breaking callers).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_ipvs_options {
    /// `sizeof(struct lbnet_ipvs_options)` as the caller was compiled.
    pub sz: usize,
    /// Network namespace file to operate in (`/var/run/netns/NAME`, `/proc/PID/ns/net`), or
    /// NULL; at most `LBNET_PATH_MAX - 1` bytes. The calling thread never changes namespace.
    pub netns_path: *const c_char,
    /// Open file descriptor of a network namespace, used when greater than 0 (so a zeroed struct
    /// does not mean standard input); it must stay open while the handle is created. At most
    /// one of `netns_path` and `netns_fd` may be given.
    pub netns_fd: i32,
    /// Netlink receive buffer in bytes, 0 = library default (large, so big dumps are not
    /// quadratic).
    pub rcvbuf: u32,
    /// Timeout for one kernel reply in milliseconds, 0 = library default.
    pub timeout_ms: u32,
}

/// Borrows the core handle of `h`.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed.
pub(crate) unsafe fn handle_ref<'a>(h: *const lbnet_ipvs) -> Result<&'a Handle, Error> {
    // SAFETY: per the contract above.
    unsafe { arg_ref(h, "handle") }.map(|h| &h.inner)
}

/// # Safety
///
/// `opts` must be NULL or point to `opts->sz` readable bytes.
unsafe fn options(opts: *const lbnet_ipvs_options) -> Result<HandleOptions, Error> {
    let mut out = HandleOptions::default();
    // SAFETY: per the contract above.
    let Some(o) = (unsafe { read_opts(opts, "lbnet_ipvs_options") })? else {
        return Ok(out);
    };
    // SAFETY: netns_path is NULL or a NUL-terminated string, per the struct's contract.
    let path = unsafe { arg_opt_path(o.netns_path, "netns_path") }?;
    out.netns = match (path, o.netns_fd > 0) {
        (Some(_), true) => {
            return Err(Error::invalid(
                ARG,
                "netns_path and netns_fd are both set; give at most one",
            ))
        }
        (Some(p), false) => NetNs::Path(p.into()),
        (None, true) => NetNs::Fd(o.netns_fd),
        (None, false) => NetNs::Current,
    };
    if o.rcvbuf != 0 {
        out.rcvbuf = Some(o.rcvbuf as usize);
    }
    if o.timeout_ms != 0 {
        out.timeout = Some(Duration::from_millis(u64::from(o.timeout_ms)));
    }
    Ok(out)
}

/// Opens a handle with `opts` (NULL for defaults) and stores it in `*out` (NULL on failure).
///
/// Opening creates the netlink socket in the chosen namespace but does not talk to IPVS yet,
/// so it succeeds on a kernel without IPVS; the first operation reports that.
/// Returns 0; `-EINVAL` for NULL `out` or bad options (see `struct lbnet_ipvs_options`); the
/// errno of opening the namespace (`-ENOENT` for a missing netns file, `-EBADF`/`-EINVAL` for a
/// bad descriptor) or the socket.
///
/// # Safety
///
/// `opts` must be NULL or point to `opts->sz` readable bytes whose `netns_path` is NULL or a
/// NUL-terminated string; `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_open(
    opts: *const lbnet_ipvs_options,
    out: *mut *mut lbnet_ipvs,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let o = unsafe { options(opts) }?;
        let inner = Handle::with_options(o)?;
        *out = Box::into_raw(Box::new(lbnet_ipvs { inner }));
        Ok(())
    })
}

/// Closes a handle and frees it. NULL is a no-op.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed yet and that no other
/// thread is using; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_free(h: *mut lbnet_ipvs) {
    if !h.is_null() {
        // SAFETY: per the contract above: h came from lbnet_ipvs_open and is freed once.
        drop(unsafe { Box::from_raw(h) });
    }
}

/// Adds a service (`IPVS_CMD_NEW_SERVICE`). `sched_name` is required; `timeout` > 0 makes it
/// persistent. Returns 0, `-EINVAL` (bad argument, including `flags` outside
/// `LBNET_IPVS_SVC_F_MASK` and `timeout` above `LBNET_IPVS_PERSISTENT_TIMEOUT_MAX`: values the
/// kernel would not report back as given), `-EEXIST` (exists), `-ENOENT` (unknown scheduler or
/// persistence engine) or another kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `svc` must be NULL or
/// point to a readable `lbnet_ipvs_service`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_add_service(
    h: *const lbnet_ipvs,
    svc: *const lbnet_ipvs_service,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let s = service_from_c(unsafe { arg_ref(svc, "svc") }?)?;
        h.new_service(&s)
    })
}

/// Changes a service's scheduler, flags, persistence and pe (`IPVS_CMD_SET_SERVICE`); the
/// values are checked as by `lbnet_ipvs_add_service`. Returns 0, `-EINVAL`, `-ESRCH` (no such
/// service), `-ENOENT` (unknown scheduler) or another kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `svc` must be NULL or
/// point to a readable `lbnet_ipvs_service`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_update_service(
    h: *const lbnet_ipvs,
    svc: *const lbnet_ipvs_service,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let s = service_from_c(unsafe { arg_ref(svc, "svc") }?)?;
        h.update_service(&s)
    })
}

/// Deletes a service and its destinations; only the key fields of `svc` are read. Returns 0,
/// `-EINVAL`, `-ESRCH` (no such service) or another kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `svc` must be NULL or
/// point to a readable `lbnet_ipvs_service`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_delete_service(
    h: *const lbnet_ipvs,
    svc: *const lbnet_ipvs_service,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        h.delete_service(&k)
    })
}

/// Reads one service (named by the key fields of `key`) into `*out`. Returns 0, `-EINVAL`,
/// `-ESRCH` (no such service) or another kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `key` must be NULL or
/// point to a readable `lbnet_ipvs_service`. `out` must be NULL or valid for writing one
/// `lbnet_ipvs_service`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_get_service(
    h: *const lbnet_ipvs,
    key: *const lbnet_ipvs_service,
    out: *mut lbnet_ipvs_service,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let k = service_key(unsafe { arg_ref(key, "key") }?)?;
        let out = unsafe { arg_mut(out, "out") }?;
        *out = service_to_c(&h.get_service(&k)?)?;
        Ok(())
    })
}

/// Lists every service into a new list in `*out` (free with `lbnet_ipvs_service_list_free`).
/// Returns 0, `-EINVAL` or a kernel errno (`*out` is NULL then).
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `out` must be NULL or
/// valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_list_services(
    h: *const lbnet_ipvs,
    out: *mut *mut lbnet_ipvs_service_list,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let h = unsafe { handle_ref(h) }?;
        let items = h
            .services()?
            .iter()
            .map(service_to_c)
            .collect::<Result<Vec<_>, _>>()?;
        let (len, items) = into_raw_array(items);
        *out = Box::into_raw(Box::new(lbnet_ipvs_service_list { len, items }));
        Ok(())
    })
}

fn entry_to_c(e: &ServiceEntry) -> Result<lbnet_ipvs_service_entry, Error> {
    let service = service_to_c(&e.service)?;
    let (n_dests, dests) = into_raw_array(e.destinations.iter().map(dest_to_c).collect());
    Ok(lbnet_ipvs_service_entry {
        service,
        n_dests,
        dests,
    })
}

/// Lists every service with its destinations into `*out` (free with
/// `lbnet_ipvs_service_entry_list_free`). The dumps are pipelined: one service dump plus one
/// destination dump per service, sent together. Returns 0, `-EINVAL` or a kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `out` must be NULL or
/// valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_list_services_with_dests(
    h: *const lbnet_ipvs,
    out: *mut *mut lbnet_ipvs_service_entry_list,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let h = unsafe { handle_ref(h) }?;
        let entries = h.services_with_destinations()?;
        let mut items = Vec::with_capacity(entries.len());
        for e in &entries {
            match entry_to_c(e) {
                Ok(c) => items.push(c),
                Err(err) => {
                    for c in items {
                        // SAFETY: made by into_raw_array in entry_to_c just above.
                        unsafe { free_raw_array(c.n_dests, c.dests) };
                    }
                    return Err(err);
                }
            }
        }
        let (len, items) = into_raw_array(items);
        *out = Box::into_raw(Box::new(lbnet_ipvs_service_entry_list { len, items }));
        Ok(())
    })
}

/// Adds destination `dest` to service `svc` (key fields). Returns 0, `-EINVAL` (bad argument,
/// including `fwd_method` `LBNET_IPVS_FWD_BYPASS`, which ipvsadm lists as "(null)" and cannot
/// restore), `-ESRCH` (no such service), `-EEXIST` (destination exists), `-ERANGE` (negative weight, lower threshold
/// above upper) or another kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `svc` must be NULL or
/// point to a readable `lbnet_ipvs_service`. `dest` must be NULL or point to a readable
/// `lbnet_ipvs_dest`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_add_dest(
    h: *const lbnet_ipvs,
    svc: *const lbnet_ipvs_service,
    dest: *const lbnet_ipvs_dest,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        let d = dest_from_c(unsafe { arg_ref(dest, "dest") }?)?;
        h.new_destination(&k, &d)
    })
}

/// Changes destination `dest` (found by address and port) of service `svc`, checked as by
/// `lbnet_ipvs_add_dest`. Returns 0, `-EINVAL`, `-ESRCH` (no such service), `-ENOENT` (no such destination), `-ERANGE` or another
/// kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `svc` must be NULL or
/// point to a readable `lbnet_ipvs_service`. `dest` must be NULL or point to a readable
/// `lbnet_ipvs_dest`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_update_dest(
    h: *const lbnet_ipvs,
    svc: *const lbnet_ipvs_service,
    dest: *const lbnet_ipvs_dest,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        let d = dest_from_c(unsafe { arg_ref(dest, "dest") }?)?;
        h.update_destination(&k, &d)
    })
}

/// Deletes the destination at `dest`'s address and port from service `svc`. Returns 0,
/// `-EINVAL`, `-ESRCH` (no such service), `-ENOENT` (no such destination) or another kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `svc` must be NULL or
/// point to a readable `lbnet_ipvs_service`. `dest` must be NULL or point to a readable
/// `lbnet_ipvs_dest`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_delete_dest(
    h: *const lbnet_ipvs,
    svc: *const lbnet_ipvs_service,
    dest: *const lbnet_ipvs_dest,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        let d = unsafe { arg_ref(dest, "dest") }?;
        let addr = d.addr.to_ip("dest addr")?;
        h.delete_destination(&k, addr, d.port)
    })
}

/// Lists the destinations of service `svc` into `*out` (free with `lbnet_ipvs_dest_list_free`).
/// Returns 0 (an empty list for a service without destinations), `-EINVAL`, `-ESRCH` when the
/// service does not exist (the kernel answers an empty dump then, so the library asks for the
/// service: one more round trip when the list is empty) or another kernel errno; `*out` is NULL
/// on failure.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `svc` must be NULL or
/// point to a readable `lbnet_ipvs_service`. `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_list_dests(
    h: *const lbnet_ipvs,
    svc: *const lbnet_ipvs_service,
    out: *mut *mut lbnet_ipvs_dest_list,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let h = unsafe { handle_ref(h) }?;
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        let items: Vec<_> = h.destinations(&k)?.iter().map(dest_to_c).collect();
        let (len, items) = into_raw_array(items);
        *out = Box::into_raw(Box::new(lbnet_ipvs_dest_list { len, items }));
        Ok(())
    })
}

/// Zeroes the counters of service `svc` and its destinations. Returns 0, `-EINVAL`, `-ESRCH` or
/// another kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `svc` must be NULL or
/// point to a readable `lbnet_ipvs_service`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_zero_service(
    h: *const lbnet_ipvs,
    svc: *const lbnet_ipvs_service,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        h.zero(&k)
    })
}

/// Zeroes every counter of every service. Returns 0, `-EINVAL` or a kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_zero_all(h: *const lbnet_ipvs) -> c_int {
    guard(|| {
        // SAFETY: h is NULL or valid (checked).
        unsafe { handle_ref(h) }?.zero_all()
    })
}

/// Deletes every service and destination in the handle's namespace. Returns 0, `-EINVAL` or a
/// kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_flush(h: *const lbnet_ipvs) -> c_int {
    guard(|| {
        // SAFETY: h is NULL or valid (checked).
        unsafe { handle_ref(h) }?.flush()
    })
}

/// Reads the IPVS version and connection table size into `*out`. Returns 0, `-EINVAL` or a
/// kernel errno (this is the cheapest way to ask whether IPVS is there).
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `out` must be NULL or
/// valid for writing one `lbnet_ipvs_info`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_get_info(
    h: *const lbnet_ipvs,
    out: *mut lbnet_ipvs_info,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let out = unsafe { arg_mut(out, "out") }?;
        *out = info_to_c(&h.info()?);
        Ok(())
    })
}

/// Reads the TCP, TCP-FIN and UDP timeouts (seconds) into `*out`. Returns 0, `-EINVAL` or a
/// kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `out` must be NULL or
/// valid for writing one `lbnet_ipvs_timeouts`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_get_timeouts(
    h: *const lbnet_ipvs,
    out: *mut lbnet_ipvs_timeouts,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let out = unsafe { arg_mut(out, "out") }?;
        *out = timeouts_to_c(&h.timeouts()?);
        Ok(())
    })
}

/// Sets the timeouts; a 0 field leaves that timeout unchanged. Returns 0, `-EINVAL` (NULL, or a
/// value above `LBNET_IPVS_TIMEOUT_MAX`, which the kernel's `seconds * HZ` in an `int` cannot
/// hold; nothing is changed then) or a kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `t` must be NULL or point
/// to a readable `lbnet_ipvs_timeouts`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_set_timeouts(
    h: *const lbnet_ipvs,
    t: *const lbnet_ipvs_timeouts,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let t = timeouts_from_c(unsafe { arg_ref(t, "timeouts") }?)?;
        h.set_timeouts(&t)
    })
}

/// Starts a sync daemon. Returns 0, `-EINVAL`, `-EEXIST` (a daemon of that state runs),
/// `-ENODEV` (no such interface) or another kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `d` must be NULL or point
/// to a readable `lbnet_ipvs_daemon`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_start_daemon(
    h: *const lbnet_ipvs,
    d: *const lbnet_ipvs_daemon,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let d = daemon_from_c(unsafe { arg_ref(d, "daemon") }?)?;
        h.start_daemon(&d)
    })
}

/// Stops the sync daemon of `d->state` (other fields are ignored). Returns 0, `-EINVAL`,
/// `-ESRCH` (none of that state runs) or another kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `d` must be NULL or point
/// to a readable `lbnet_ipvs_daemon`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_stop_daemon(
    h: *const lbnet_ipvs,
    d: *const lbnet_ipvs_daemon,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { handle_ref(h) }?;
        let d = unsafe { arg_ref(d, "daemon") }?;
        h.stop_daemon(daemon_state(d.state)?)
    })
}

/// Lists the running sync daemons into `*out` (free with `lbnet_ipvs_daemon_list_free`).
/// Returns 0, `-EINVAL` or a kernel errno.
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `out` must be NULL or
/// valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_list_daemons(
    h: *const lbnet_ipvs,
    out: *mut *mut lbnet_ipvs_daemon_list,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let h = unsafe { handle_ref(h) }?;
        let items = h
            .daemons()?
            .iter()
            .map(daemon_to_c)
            .collect::<Result<Vec<_>, _>>()?;
        let (len, items) = into_raw_array(items);
        *out = Box::into_raw(Box::new(lbnet_ipvs_daemon_list { len, items }));
        Ok(())
    })
}
