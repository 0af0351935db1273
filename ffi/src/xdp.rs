//! C ABI for lbnet's XDP L4 load balancer (`lbnet::xdp`): VIPs, their backends and Maglev
//! weights, counters, and bpffs pins that let a restarted control plane take over a running data
//! plane.
//!
//! A `struct lbnet_xdp` owns one control plane: a freshly loaded program, or (with
//! `lbnet_xdp_options.pin_dir`) a pinned data plane adopted after a restart. The handle is safe
//! to use from several threads (calls are serialised). Free it with `lbnet_xdp_free`; that
//! detaches the program unless it was pinned.
//!
//! ```c
//! struct lbnet_xdp *lb;
//! struct lbnet_xdp_options o = { .sz = sizeof o, .max_vips = 8 };
//! if (lbnet_xdp_open(&o, &lb) < 0) { puts(lbnet_last_error()); return 1; }
//! lbnet_xdp_attach(lb, NULL, "eth0", 0);                 /* generic XDP on eth0 */
//! struct lbnet_xdp_vip v = { .port = 80, .proto = IPPROTO_TCP };
//! lbnet_addr_parse("198.18.0.10", &v.addr);
//! lbnet_xdp_add_vip(lb, &v);
//! struct lbnet_xdp_backend b[2] = { { .weight = 1 }, { .weight = 3 } };
//! lbnet_addr_parse("10.0.1.1", &b[0].addr); lbnet_addr_parse("10.0.1.2", &b[1].addr);
//! lbnet_xdp_set_backends(lb, &v, b, 2);
//! lbnet_xdp_pin(lb, "/sys/fs/bpf/lbnet/eth0");          /* survives this process */
//! lbnet_xdp_free(lb);
//! ```
//!
//! Addresses are `struct lbnet_addr`; ports are in host order.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int};
use std::net::IpAddr;
use std::path::Path;

use lbnet::error::{Origin, XdpOperation};
use lbnet::netns::{self, NetNs};
use lbnet::xdp::abi::RING_SIZE;
use lbnet::xdp::{AttachMode, Backend, Counter, LoadOptions, Proto, Vip, XdpLb};
use lbnet::{Error, ErrorKind};
use parking_lot::Mutex;

use crate::addr::lbnet_addr;
use crate::common::{
    arg_mut, arg_opt_path, arg_path, arg_ref, arg_slice, arg_str, guard, read_opts, ARG, OUTPUT,
};

/// One XDP load balancer control plane (opaque). Create with [`lbnet_xdp_open`], free with
/// [`lbnet_xdp_free`].
pub struct lbnet_xdp {
    inner: Mutex<XdpLb>,
}

/// Options of [`lbnet_xdp_open`]. A NULL pointer, or a zeroed struct with `sz` set, loads a
/// fresh data plane with the default capacities (32 VIPs, 4096 backend slots, 65,536 tracked
/// flows).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_xdp_options {
    /// `sizeof(struct lbnet_xdp_options)`: the library refuses a smaller value, and a larger
    /// one whose extra bytes are not all zero (libbpf's rule for growing structs).
    pub sz: usize,
    /// A bpffs directory (see [`lbnet_xdp_pin`]) whose pinned data plane to adopt instead of
    /// loading one: its maps and link are opened and the VIPs, backends and weights read back,
    /// without interrupting the forwarding. NULL loads a fresh program. The capacities must be
    /// 0 then (they are the pinned maps').
    pub pin_dir: *const c_char,
    /// VIP slots, 0 = 32; at most 65,535 (each VIP's Maglev ring takes 65,537 map entries).
    pub max_vips: u32,
    /// Backend slots over all VIPs (slot 0 is reserved), 0 = 4096; at least 2.
    pub max_backends: u32,
    /// Entries of the per-CPU LRU connection table, 0 = 65,536.
    pub conn_table_size: u32,
}

/// [`lbnet_xdp_attach`] flag: driver (native) mode instead of generic (skb) mode. Native mode
/// needs driver support (veth has it since Linux 4.19); generic works on every device.
pub const LBNET_XDP_ATTACH_NATIVE: u32 = 1 << 0;

/// A VIP: address, port and protocol.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_xdp_vip {
    /// The VIP address (`AF_INET` or `AF_INET6`).
    pub addr: lbnet_addr,
    /// Port, host order.
    pub port: u16,
    /// `IPPROTO_TCP` (6) or `IPPROTO_UDP` (17).
    pub proto: u8,
}

/// A backend: tunnel destination and Maglev weight (0 = drained).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_xdp_backend {
    /// Tunnel destination: an IPv4 backend gets IP-in-IP, an IPv6 one an IPv6 outer header,
    /// whatever the VIP's family.
    pub addr: lbnet_addr,
    /// Relative weight; 0 drains the backend (no new flows, tracked flows stay).
    pub weight: u32,
    /// Ring slots the backend owns (output only; ignored on input).
    pub slots: u32,
}

/// Counters of one backend, summed over CPUs: what the program sent to it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_xdp_backend_counters {
    /// The backend (tunnel destination).
    pub addr: lbnet_addr,
    /// Packets sent to the backend.
    pub packets: u64,
    /// Bytes (inner IP length, without the tunnel header) of those packets.
    pub bytes: u64,
}

/// Per-VIP counters, summed over CPUs.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_xdp_vip_counters {
    /// Packets to the VIP.
    pub packets: u64,
    /// Bytes (IP length) of those packets.
    pub bytes: u64,
    /// New flows (connection-table misses).
    pub lru_misses: u64,
    /// Dropped packets to the VIP.
    pub drops: u64,
}

fn vip_of(v: &lbnet_xdp_vip) -> Result<Vip, Error> {
    let proto = match v.proto as i32 {
        libc::IPPROTO_TCP => Proto::Tcp,
        libc::IPPROTO_UDP => Proto::Udp,
        p => return Err(Error::invalid(ARG, format!("vip.proto {p} (want 6 or 17)"))),
    };
    Ok(Vip {
        addr: v.addr.to_ip("vip.addr")?,
        port: v.port,
        proto,
    })
}

fn vip_to(v: &Vip) -> lbnet_xdp_vip {
    lbnet_xdp_vip {
        addr: lbnet_addr::from_ip(v.addr),
        port: v.port,
        proto: v.proto.number(),
    }
}

/// Borrows the handle and the VIP, both checked.
///
/// # Safety
///
/// `lb` is NULL or a live handle; `vip` is NULL or readable.
unsafe fn handle_vip<'a>(
    lb: *const lbnet_xdp,
    vip: *const lbnet_xdp_vip,
) -> Result<(&'a lbnet_xdp, Vip), Error> {
    // SAFETY: forwarded from the caller.
    let (h, v) = unsafe { (arg_ref(lb, "lb")?, arg_ref(vip, "vip")?) };
    Ok((h, vip_of(v)?))
}

/// Loads (or, with `opts->pin_dir`, adopts) a data plane and stores its handle in `*out` (NULL
/// on failure). Loading verifies the embedded XDP program and creates its maps; nothing is
/// attached yet.
///
/// Returns 0; `-EINVAL` (NULL `out`, bad `sz`, bad path, capacities given with `pin_dir`,
/// `max_backends` 1); `-ERANGE` (`max_vips` above 65,535); `-ENOENT` when nothing is pinned
/// under `pin_dir`; `-EPERM` without `CAP_BPF`/`CAP_SYS_ADMIN`; the kernel's errno when it
/// refuses the maps (`-ENOMEM`, `-E2BIG` for capacities it cannot allocate) or the program.
///
/// # Safety
///
/// `opts` is NULL or points to `opts->sz` readable bytes (a `struct lbnet_xdp_options` whose
/// `pin_dir` is NULL or NUL-terminated); `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_open(
    opts: *const lbnet_xdp_options,
    out: *mut *mut lbnet_xdp,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: forwarded from the caller.
        let o = unsafe { read_opts(opts, "opts") }?;
        // SAFETY: forwarded from the caller.
        let pin_dir = match &o {
            Some(o) => unsafe { arg_opt_path(o.pin_dir, "pin_dir") }?,
            None => None,
        };
        let caps = o.map_or((0, 0, 0), |o| {
            (o.max_vips, o.max_backends, o.conn_table_size)
        });
        let lb = match pin_dir {
            Some(dir) if caps != (0, 0, 0) => {
                return Err(Error::invalid(
                    ARG,
                    format!(
                    "capacities given with pin_dir {dir}: an adopted data plane keeps its maps'"
                ),
                ))
            }
            Some(dir) => XdpLb::adopt(Path::new(dir))?,
            None => {
                let d = LoadOptions::default();
                let or = |v: u32, d: u32| if v == 0 { d } else { v };
                XdpLb::load(&LoadOptions {
                    max_vips: or(caps.0, d.max_vips),
                    max_backends: or(caps.1, d.max_backends),
                    conn_table_size: or(caps.2, d.conn_table_size),
                })?
            }
        };
        *out = Box::into_raw(Box::new(lbnet_xdp {
            inner: Mutex::new(lb),
        }));
        Ok(())
    })
}

/// Frees the handle. The program is detached unless it was pinned (a pinned data plane keeps
/// forwarding until some handle calls [`lbnet_xdp_detach`]). NULL is a no-op.
///
/// # Safety
///
/// `lb` is NULL or a handle from [`lbnet_xdp_open`] not freed yet, on which no other call is
/// running; it is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_free(lb: *mut lbnet_xdp) {
    if !lb.is_null() {
        // SAFETY: lb came from Box::into_raw in lbnet_xdp_open and is freed once.
        drop(unsafe { Box::from_raw(lb) });
    }
}

/// Attaches the program (through a BPF link, Linux 5.9+) to interface `ifname` in the network
/// namespace file `netns_path` (`/var/run/netns/NAME`; NULL = the caller's). `flags` is 0
/// (generic mode) or `LBNET_XDP_ATTACH_NATIVE`.
///
/// Returns 0; `-EINVAL` (NULL handle or name, a name longer than 15 bytes, unknown flags);
/// `-ENODEV` (no such interface there); `-EEXIST` if this handle is attached already;
/// `-EOPNOTSUPP` for an adopted handle (it has no program of its own to attach); the kernel's
/// errno (`-EBUSY` when another XDP program is attached).
///
/// # Safety
///
/// `lb` is NULL or a live handle; `netns_path` and `ifname` are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_attach(
    lb: *mut lbnet_xdp,
    netns_path: *const c_char,
    ifname: *const c_char,
    flags: u32,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, ns, ifname) = unsafe {
            (
                arg_ref(lb, "lb")?,
                arg_opt_path(netns_path, "netns_path")?,
                arg_str(ifname, "ifname", 15)?,
            )
        };
        if flags & !LBNET_XDP_ATTACH_NATIVE != 0 {
            return Err(Error::invalid(
                ARG,
                format!("flags 0x{flags:x}: unknown bits"),
            ));
        }
        let mode = if flags & LBNET_XDP_ATTACH_NATIVE != 0 {
            AttachMode::Native
        } else {
            AttachMode::Generic
        };
        let ns = ns.map_or(NetNs::Current, |p| NetNs::Path(p.into()));
        let mut guard = h.inner.lock();
        // The closure may run on a helper thread inside `ns`: it gets the balancer, not the
        // guard (which must stay on this thread).
        let lb: &mut XdpLb = &mut guard;
        ns.run(|| lb.attach(netns::ifindex(ifname)?, mode))
    })
}

/// Pins the maps and the link under `dir` (created; on a bpffs, which is mounted on
/// `/sys/fs/bpf` if `dir` is under it and nothing is mounted there), so the data plane outlives
/// this process and a later [`lbnet_xdp_open`] with `pin_dir` can adopt it.
///
/// Returns 0; `-EINVAL` (NULL handle, bad path); the errno of creating the directory or the
/// pins (`-EEXIST` when something is pinned there already).
///
/// # Safety
///
/// `lb` is NULL or a live handle; `dir` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_pin(lb: *mut lbnet_xdp, dir: *const c_char) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, dir) = unsafe { (arg_ref(lb, "lb")?, arg_path(dir, "dir")?) };
        h.inner.lock().pin(Path::new(dir))
    })
}

/// Detaches the program and removes the pins: the data plane stops. Returns 0 (also when
/// nothing was attached) or `-EINVAL` (NULL handle), or the errno of removing the link pin.
///
/// # Safety
///
/// `lb` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_detach(lb: *mut lbnet_xdp) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        unsafe { arg_ref(lb, "lb") }?.inner.lock().detach()
    })
}

/// Sets the tunnels' outer source addresses and the next-hop MAC (6 bytes). Each may be NULL:
/// no IPv4 (`src4`) or IPv6 (`src6`) tunnels (packets to backends of that family are dropped,
/// counter `drop_no_source`), or reply to the MAC the packet came from (`gw_mac`).
///
/// Returns 0; `-EINVAL` (NULL handle, `src4` not `AF_INET`, `src6` not `AF_INET6`).
///
/// # Safety
///
/// `lb` is NULL or a live handle; `src4` and `src6` are NULL or readable; `gw_mac` is NULL or
/// points to 6 readable bytes.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_set_config(
    lb: *mut lbnet_xdp,
    src4: *const lbnet_addr,
    src6: *const lbnet_addr,
    gw_mac: *const u8,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller; each pointer is NULL or valid for its length.
        let (h, s4, s6, mac) = unsafe {
            (
                arg_ref(lb, "lb")?,
                src4.as_ref(),
                src6.as_ref(),
                gw_mac.cast::<[u8; 6]>().as_ref().copied(),
            )
        };
        let s4 = match s4.map(|a| a.to_ip("src4")).transpose()? {
            Some(IpAddr::V6(_)) => return Err(Error::invalid(ARG, "src4 is not AF_INET")),
            Some(IpAddr::V4(a)) => Some(a),
            None => None,
        };
        let s6 = match s6.map(|a| a.to_ip("src6")).transpose()? {
            Some(IpAddr::V4(_)) => return Err(Error::invalid(ARG, "src6 is not AF_INET6")),
            Some(IpAddr::V6(a)) => Some(a),
            None => None,
        };
        h.inner.lock().set_config(s4, s6, mac)
    })
}

/// Default new-flow limit per CPU per second (Katran's `MAX_CONN_RATE`), what 0 selects.
pub const LBNET_XDP_NEW_FLOW_LIMIT_DEFAULT: u32 = 125_000;
const _: () = assert!(LBNET_XDP_NEW_FLOW_LIMIT_DEFAULT == lbnet::xdp::abi::DEFAULT_MAX_CONN_RATE);
/// New-flow limit that records every new flow (no flood protection).
pub const LBNET_XDP_NEW_FLOW_UNLIMITED: u32 = u32::MAX;
const _: () = assert!(LBNET_XDP_NEW_FLOW_UNLIMITED == lbnet::xdp::abi::CONN_RATE_UNLIMITED);

/// Sets the new-flow limit: at most `per_cpu_per_sec` new flows per second on one CPU are
/// recorded in the connection table (a one-second window per CPU, `bpf_ktime_get_ns`). Above
/// it, as Katran's flood protection (`MAX_CONN_RATE`) does, new flows are not recorded
/// (counter `flood_skip`) and their packets follow the Maglev ring, which keeps them on their
/// backend unless the ring changes meanwhile. 0 restores `LBNET_XDP_NEW_FLOW_LIMIT_DEFAULT`;
/// `LBNET_XDP_NEW_FLOW_UNLIMITED` records every flow. Takes effect for the next packet (one
/// write of the program's configuration map entry).
///
/// Returns 0; `-EINVAL` (NULL handle); the errno of the map update.
///
/// # Safety
///
/// `lb` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_set_new_flow_limit(
    lb: *mut lbnet_xdp,
    per_cpu_per_sec: u32,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        unsafe { arg_ref(lb, "lb") }?
            .inner
            .lock()
            .set_new_flow_limit(per_cpu_per_sec)
    })
}

/// Adds a VIP without backends (its packets are dropped until backends are set).
///
/// Returns 0; `-EINVAL` (NULL argument, bad family or protocol); `-EEXIST` if it exists;
/// `-ENOSPC` when every VIP slot is used.
///
/// # Safety
///
/// `lb` is NULL or a live handle; `vip` is NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_add_vip(lb: *mut lbnet_xdp, vip: *const lbnet_xdp_vip) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, v) = unsafe { handle_vip(lb, vip) }?;
        h.inner.lock().add_vip(v)
    })
}

/// Removes a VIP: its packets go to the kernel again, its backends and ring are cleared.
///
/// Returns 0; `-EINVAL` (NULL argument, bad VIP); `-ENOENT` if it does not exist.
///
/// # Safety
///
/// `lb` is NULL or a live handle; `vip` is NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_remove_vip(
    lb: *mut lbnet_xdp,
    vip: *const lbnet_xdp_vip,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, v) = unsafe { handle_vip(lb, vip) }?;
        h.inner.lock().remove_vip(&v)
    })
}

/// Most backends one VIP can have: one per slot of its Maglev ring (a prime, 65,537).
pub const LBNET_XDP_MAX_BACKENDS_PER_VIP: usize = 65_537;
const _: () = assert!(LBNET_XDP_MAX_BACKENDS_PER_VIP == RING_SIZE as usize);

/// Replaces the backends of a VIP with the `n` entries of `backends` (addresses unique;
/// `slots` ignored). Only ring slots whose owner changed are written; tracked flows to backends
/// that stay (even drained) keep going there.
///
/// Returns 0; `-EINVAL` (NULL argument, `backends` NULL with `n` > 0, `n` above
/// `LBNET_XDP_MAX_BACKENDS_PER_VIP`, checked before any entry is read, a bad address, an
/// address listed twice); `-ENOENT` for an unknown VIP; `-ENOSPC` when the backend slots
/// (`max_backends`) run out.
///
/// # Safety
///
/// `lb` is NULL or a live handle; `vip` is NULL or readable; `backends` is NULL or points to
/// `n` readable entries.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_set_backends(
    lb: *mut lbnet_xdp,
    vip: *const lbnet_xdp_vip,
    backends: *const lbnet_xdp_backend,
    n: usize,
) -> c_int {
    guard(|| {
        if n > LBNET_XDP_MAX_BACKENDS_PER_VIP {
            return Err(Error::invalid(
                ARG,
                format!("n is {n}: a VIP has at most {LBNET_XDP_MAX_BACKENDS_PER_VIP} backends"),
            ));
        }
        // SAFETY: forwarded from the caller.
        let (h, v) = unsafe { handle_vip(lb, vip) }?;
        // SAFETY: forwarded from the caller.
        let bs = unsafe { arg_slice(backends, n, "backends") }?;
        // Grows as entries are checked: a bad entry stops it early.
        let mut list = Vec::new();
        for (i, b) in bs.iter().enumerate() {
            list.push(Backend {
                addr: b.addr.to_ip(&format!("backends[{i}].addr"))?,
                weight: b.weight,
            });
        }
        h.inner.lock().set_backends(&v, &list).map(|_| ())
    })
}

/// Sets the weight of the backend `backend` of a VIP (0 drains it: no new flows, tracked flows
/// stay).
///
/// Returns 0; `-EINVAL` (NULL argument, bad address); `-ENOENT` if the VIP or the backend does
/// not exist.
///
/// # Safety
///
/// `lb` is NULL or a live handle; `vip` and `backend` are NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_set_weight(
    lb: *mut lbnet_xdp,
    vip: *const lbnet_xdp_vip,
    backend: *const lbnet_addr,
    weight: u32,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, v, b) = unsafe {
            let (h, v) = handle_vip(lb, vip)?;
            (h, v, arg_ref(backend, "backend")?)
        };
        let addr = b.to_ip("backend")?;
        h.inner.lock().set_weight(&v, addr, weight).map(|_| ())
    })
}

/// Lists the VIPs into `out` (room for `cap` entries); `*n` gets the number of VIPs.
///
/// Returns 0; `-ERANGE` (with `*n` set) when `cap` is too small, so `out` NULL with `cap` 0
/// asks for the count; `-EINVAL` (NULL handle or `n`, NULL `out` with `cap` large enough).
///
/// # Safety
///
/// `lb` is NULL or a live handle; `out` is NULL or writable for `cap` entries; `n` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_list_vips(
    lb: *mut lbnet_xdp,
    out: *mut lbnet_xdp_vip,
    cap: usize,
    n: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, n) = unsafe { (arg_ref(lb, "lb")?, arg_mut(n, "n")?) };
        let vips: Vec<lbnet_xdp_vip> = h
            .inner
            .lock()
            .vips()
            .iter()
            .map(|i| vip_to(&i.vip))
            .collect();
        // SAFETY: out is NULL or valid for cap elements.
        unsafe { copy_out(&vips, out, cap, n) }
    })
}

/// Lists a VIP's backends, sorted by address, with their ring slot counts into `out`; the
/// counts and return codes are those of [`lbnet_xdp_list_vips`], plus `-ENOENT` for an unknown
/// VIP.
///
/// # Safety
///
/// `lb` is NULL or a live handle; `vip` is NULL or readable; `out` is NULL or writable for
/// `cap` entries; `n` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_list_backends(
    lb: *mut lbnet_xdp,
    vip: *const lbnet_xdp_vip,
    out: *mut lbnet_xdp_backend,
    cap: usize,
    n: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let ((h, vip), n) = unsafe { (handle_vip(lb, vip)?, arg_mut(n, "n")?) };
        let infos = h.inner.lock().vips();
        let info = infos.iter().find(|i| i.vip == vip).ok_or_else(|| {
            Error::new(
                Origin::Xdp(XdpOperation::Read),
                ErrorKind::NotFound,
                format!("no VIP {vip}"),
            )
        })?;
        let list: Vec<lbnet_xdp_backend> = info
            .backends
            .iter()
            .map(|(b, slots)| lbnet_xdp_backend {
                addr: lbnet_addr::from_ip(b.addr),
                weight: b.weight,
                slots: *slots,
            })
            .collect();
        // SAFETY: out is NULL or valid for cap elements.
        unsafe { copy_out(&list, out, cap, n) }
    })
}

/// Reads the counters of every backend of `vip` (packets and bytes the program sent to it,
/// summed over CPUs; Katran's per-real counters), sorted by address as
/// [`lbnet_xdp_list_backends`] lists them. `*n` is set to the number of backends; they are
/// copied to `out` when `cap` holds them all. A backend's counters start at zero when it is
/// added and survive weight changes and drains.
///
/// Returns 0; `-ERANGE` when `cap` is too small (`*n` says how many are needed); `-EINVAL`
/// (NULL handle, VIP or `n`; NULL `out` with backends to copy; bad VIP); `-ENOENT` for an
/// unknown VIP.
///
/// # Safety
///
/// `lb` is NULL or a live handle; `vip` is NULL or readable; `out` is NULL or writable for
/// `cap` entries; `n` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_backend_stats(
    lb: *mut lbnet_xdp,
    vip: *const lbnet_xdp_vip,
    out: *mut lbnet_xdp_backend_counters,
    cap: usize,
    n: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let ((h, vip), n) = unsafe { (handle_vip(lb, vip)?, arg_mut(n, "n")?) };
        let list: Vec<lbnet_xdp_backend_counters> = h
            .inner
            .lock()
            .backend_stats(&vip)?
            .into_iter()
            .map(|(b, s)| lbnet_xdp_backend_counters {
                addr: lbnet_addr::from_ip(b.addr),
                packets: s.packets,
                bytes: s.bytes,
            })
            .collect();
        // SAFETY: out is NULL or valid for cap elements.
        unsafe { copy_out(&list, out, cap, n) }
    })
}

/// Sets `*n` to the number of items and copies them to `out` if `cap` holds them.
///
/// # Safety
///
/// `out` is NULL or writable for `cap` elements.
unsafe fn copy_out<T: Copy>(
    items: &[T],
    out: *mut T,
    cap: usize,
    n: &mut usize,
) -> Result<(), Error> {
    *n = items.len();
    if items.len() > cap {
        return Err(Error::new(
            OUTPUT,
            ErrorKind::OutOfRange,
            format!("{} entries, room for {cap}", items.len()),
        ));
    }
    if items.is_empty() {
        return Ok(());
    }
    if out.is_null() {
        return Err(Error::invalid(OUTPUT, "out is NULL"));
    }
    // SAFETY: out is valid for cap >= items.len() elements.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, items.len()) };
    Ok(())
}

/// Reads a VIP's counters (summed over CPUs) into `*out`.
///
/// Returns 0; `-EINVAL` (NULL argument, bad VIP); `-ENOENT` for an unknown VIP.
///
/// # Safety
///
/// `lb` is NULL or a live handle; `vip` is NULL or readable; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_vip_stats(
    lb: *mut lbnet_xdp,
    vip: *const lbnet_xdp_vip,
    out: *mut lbnet_xdp_vip_counters,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let ((h, v), out) = unsafe { (handle_vip(lb, vip)?, arg_mut(out, "out")?) };
        let s = h.inner.lock().vip_stats(&v)?;
        *out = lbnet_xdp_vip_counters {
            packets: s.packets,
            bytes: s.bytes,
            lru_misses: s.lru_misses,
            drops: s.drops,
        };
        Ok(())
    })
}

/// Number of global counters (see [`lbnet_xdp_counter_name`]). Cannot fail.
#[no_mangle]
pub extern "C" fn lbnet_xdp_counter_count() -> usize {
    Counter::ALL.len()
}

/// The global counters' names, NUL-terminated, in `Counter::ALL` order.
const COUNTER_NAMES: [&str; 17] = [
    "rx\0",
    "tx\0",
    "tx_bytes\0",
    "pass_not_vip\0",
    "pass_not_ip\0",
    "pass_other_l4\0",
    "pass_fragment\0",
    "pass_malformed\0",
    "lru_miss\0",
    "drop_no_backend\0",
    "drop_bad_backend\0",
    "drop_no_source\0",
    "drop_adjust_head\0",
    "icmp_too_big\0",
    "pass_too_big\0",
    "lru_fallback\0",
    "flood_skip\0",
];

/// Stores in `*name` the name of global counter `i` ("rx", "tx", "drop_no_backend", ...), a
/// static string never to be freed.
///
/// Returns 0; `-ERANGE` when `i` is not below [`lbnet_xdp_counter_count`]; `-EINVAL` for NULL
/// `name`.
///
/// # Safety
///
/// `name` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_counter_name(i: usize, name: *mut *const c_char) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let name = unsafe { arg_mut(name, "name") }?;
        let n = COUNTER_NAMES.get(i).ok_or_else(|| {
            Error::new(
                ARG,
                ErrorKind::OutOfRange,
                format!("counter {i}: there are {}", COUNTER_NAMES.len()),
            )
        })?;
        *name = n.as_ptr() as *const c_char;
        Ok(())
    })
}

/// Reads the global counters (summed over CPUs) into `out[0 .. lbnet_xdp_counter_count())`, in
/// the order of [`lbnet_xdp_counter_name`].
///
/// Returns 0; `-ERANGE` if `cap` is below [`lbnet_xdp_counter_count`]; `-EINVAL` (NULL handle
/// or `out`).
///
/// # Safety
///
/// `lb` is NULL or a live handle; `out` is NULL or writable for `cap` values.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdp_counters(
    lb: *mut lbnet_xdp,
    out: *mut u64,
    cap: usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let h = unsafe { arg_ref(lb, "lb") }?;
        let values: Vec<u64> = h
            .inner
            .lock()
            .counters()?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let mut n = 0;
        // SAFETY: out is NULL or valid for cap elements.
        unsafe { copy_out(&values, out, cap, &mut n) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn a(text: &str) -> lbnet_addr {
        lbnet_addr::from_ip(text.parse().unwrap())
    }

    fn vip4(text: &str, port: u16) -> lbnet_xdp_vip {
        lbnet_xdp_vip {
            addr: a(text),
            port,
            proto: 6,
        }
    }

    fn be(text: &str, weight: u32) -> lbnet_xdp_backend {
        lbnet_xdp_backend {
            addr: a(text),
            weight,
            slots: 0,
        }
    }

    fn opts() -> lbnet_xdp_options {
        lbnet_xdp_options {
            sz: std::mem::size_of::<lbnet_xdp_options>(),
            pin_dir: std::ptr::null(),
            max_vips: 0,
            max_backends: 0,
            conn_table_size: 0,
        }
    }

    fn last() -> String {
        // SAFETY: set by the failed call just before, in this thread.
        unsafe { CStr::from_ptr(crate::common::lbnet_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn bad_arguments_are_refused_before_anything_is_done() {
        unsafe {
            lbnet_xdp_free(std::ptr::null_mut());
            assert_eq!(
                lbnet_xdp_add_vip(std::ptr::null_mut(), std::ptr::null()),
                -libc::EINVAL
            );
            let mut lb = std::ptr::dangling_mut::<lbnet_xdp>();
            assert_eq!(
                lbnet_xdp_open(std::ptr::null(), std::ptr::null_mut()),
                -libc::EINVAL
            );
            let mut o = lbnet_xdp_options {
                pin_dir: c"/sys/fs/bpf/lbnet-none/x".as_ptr(),
                ..opts()
            };
            assert_eq!(lbnet_xdp_open(&o, &mut lb), -libc::ENOENT);
            assert!(lb.is_null());
            o.max_vips = 1;
            assert_eq!(lbnet_xdp_open(&o, &mut lb), -libc::EINVAL);
            assert!(last().contains("pin_dir"), "{}", last());
            o.pin_dir = c"".as_ptr();
            assert_eq!(lbnet_xdp_open(&o, &mut lb), -libc::EINVAL);
            o = opts();
            o.sz = 8;
            assert_eq!(lbnet_xdp_open(&o, &mut lb), -libc::EINVAL);
            // Refused before the kernel is asked: too many VIPs for the 16-bit VIP number.
            o = lbnet_xdp_options {
                max_vips: 70_000,
                ..opts()
            };
            assert_eq!(lbnet_xdp_open(&o, &mut lb), -libc::ERANGE);
            // A huge count with a one-entry array: refused before the array is read.
            let one = be("10.0.0.1", 1);
            for n in [i32::MAX as usize, 1 << 40, usize::MAX] {
                assert_eq!(
                    lbnet_xdp_set_backends(
                        std::ptr::dangling_mut::<lbnet_xdp>(),
                        &vip4("10.0.0.9", 80),
                        &one,
                        n
                    ),
                    -libc::EINVAL
                );
                assert!(last().contains("at most 65537"), "{}", last());
            }
            assert_eq!(lbnet_xdp_counter_count(), 17);
            let mut name = std::ptr::null();
            assert_eq!(lbnet_xdp_counter_name(9, &mut name), 0);
            assert_eq!(CStr::from_ptr(name).to_str().unwrap(), "drop_no_backend");
            assert_eq!(lbnet_xdp_counter_name(16, &mut name), 0);
            assert_eq!(CStr::from_ptr(name).to_str().unwrap(), "flood_skip");
            assert_eq!(lbnet_xdp_counter_name(17, &mut name), -libc::ERANGE);
            assert_eq!(
                lbnet_xdp_counter_name(0, std::ptr::null_mut()),
                -libc::EINVAL
            );
        }
    }

    #[test]
    fn counter_names_follow_the_core() {
        assert_eq!(COUNTER_NAMES.len(), Counter::ALL.len());
        for (n, c) in COUNTER_NAMES.iter().zip(Counter::ALL) {
            assert_eq!(n.trim_end_matches('\0'), c.name());
        }
    }

    #[test]
    fn vips_backends_weights_and_counters_through_the_c_abi() {
        unsafe {
            let o = lbnet_xdp_options {
                max_vips: 2,
                max_backends: 16,
                conn_table_size: 1024,
                ..opts()
            };
            let mut lb = std::ptr::null_mut();
            assert_eq!(
                lbnet_xdp_open(&o, &mut lb),
                0,
                "needs root and BPF: {}",
                last()
            );
            let src4 = a("10.0.0.1");
            let src6 = a("2001:db8::1");
            assert_eq!(
                lbnet_xdp_set_config(lb, &src4, &src6, [2u8, 0, 0, 0, 0, 1].as_ptr()),
                0
            );
            assert_eq!(
                lbnet_xdp_set_config(lb, &src6, std::ptr::null(), std::ptr::null()),
                -libc::EINVAL
            );
            assert_eq!(
                lbnet_xdp_set_config(lb, &src4, std::ptr::null(), std::ptr::null()),
                0
            );
            assert_eq!(
                lbnet_xdp_set_new_flow_limit(std::ptr::null_mut(), 5),
                -libc::EINVAL
            );
            let limit = |lb: *mut lbnet_xdp| (*lb).inner.lock().config().unwrap().max_conn_rate;
            assert_eq!(lbnet_xdp_set_new_flow_limit(lb, 5), 0);
            assert_eq!(limit(lb), 5);
            assert_eq!(
                lbnet_xdp_set_new_flow_limit(lb, LBNET_XDP_NEW_FLOW_UNLIMITED),
                0
            );
            assert_eq!(limit(lb), u32::MAX);
            assert_eq!(lbnet_xdp_set_new_flow_limit(lb, 0), 0);
            assert_eq!(limit(lb), 0);
            let v = vip4("198.18.0.10", 80);
            assert_eq!(lbnet_xdp_add_vip(lb, &v), 0);
            assert_eq!(lbnet_xdp_add_vip(lb, &v), -libc::EEXIST);
            let mut bad = v;
            bad.addr.af = 5;
            assert_eq!(lbnet_xdp_add_vip(lb, &bad), -libc::EINVAL);
            bad = v;
            bad.proto = 1;
            assert_eq!(lbnet_xdp_add_vip(lb, &bad), -libc::EINVAL);
            let bs = [be("10.0.1.1", 1), be("10.0.1.2", 3)];
            assert_eq!(lbnet_xdp_set_backends(lb, &v, bs.as_ptr(), 2), 0);
            let twice = [be("10.0.1.1", 1), be("10.0.1.1", 3)];
            assert_eq!(
                lbnet_xdp_set_backends(lb, &v, twice.as_ptr(), 2),
                -libc::EINVAL
            );

            let mut n = 0usize;
            assert_eq!(
                lbnet_xdp_list_vips(lb, std::ptr::null_mut(), 0, &mut n),
                -libc::ERANGE
            );
            assert_eq!(n, 1);
            let mut vs = [lbnet_xdp_vip::default(); 4];
            assert_eq!(lbnet_xdp_list_vips(lb, vs.as_mut_ptr(), 4, &mut n), 0);
            assert_eq!(
                (vs[0].port, vs[0].proto, vs[0].addr),
                (80, 6, a("198.18.0.10"))
            );

            let mut out = [lbnet_xdp_backend::default(); 4];
            assert_eq!(
                lbnet_xdp_list_backends(lb, &v, out.as_mut_ptr(), 4, &mut n),
                0
            );
            assert_eq!(n, 2);
            assert_eq!(out[0].slots + out[1].slots, 65537);
            assert!(
                out[1].slots > 2 * out[0].slots,
                "weights 1:3 -> {} {}",
                out[0].slots,
                out[1].slots
            );

            // Drain the second backend: all slots go to the first.
            assert_eq!(lbnet_xdp_set_weight(lb, &v, &a("10.0.1.2"), 0), 0);
            assert_eq!(
                lbnet_xdp_list_backends(lb, &v, out.as_mut_ptr(), 4, &mut n),
                0
            );
            assert_eq!((out[0].slots, out[1].slots, out[1].weight), (65537, 0, 0));
            assert_eq!(
                lbnet_xdp_set_weight(lb, &v, &a("10.0.1.9"), 1),
                -libc::ENOENT
            );

            let mut st = lbnet_xdp_vip_counters::default();
            assert_eq!(lbnet_xdp_vip_stats(lb, &v, &mut st), 0);
            assert_eq!(st.packets, 0);

            // Per-backend counters: three packets through the program (BPF_PROG_TEST_RUN), all
            // to 10.0.1.1 (10.0.1.2 is drained).
            let mut bc = [lbnet_xdp_backend_counters::default(); 2];
            assert_eq!(
                lbnet_xdp_backend_stats(lb, &v, bc.as_mut_ptr(), 2, &mut n),
                0
            );
            assert_eq!((n, bc[0].packets, bc[1].packets), (2, 0, 0));
            let mut pkt = vec![0u8; 54];
            pkt[12..14].copy_from_slice(&[0x08, 0x00]);
            pkt[14] = 0x45;
            pkt[16..18].copy_from_slice(&40u16.to_be_bytes());
            pkt[22] = 64;
            pkt[23] = 6;
            pkt[26..30].copy_from_slice(&[198, 19, 0, 1]);
            pkt[30..34].copy_from_slice(&[198, 18, 0, 10]);
            pkt[34..36].copy_from_slice(&40000u16.to_be_bytes());
            pkt[36..38].copy_from_slice(&80u16.to_be_bytes());
            pkt[46] = 0x50;
            pkt[47] = 0x10;
            for _ in 0..3 {
                assert_eq!((*lb).inner.lock().test_run(&pkt, 1).unwrap().action, 3);
            }
            assert_eq!(
                lbnet_xdp_backend_stats(lb, &v, bc.as_mut_ptr(), 2, &mut n),
                0
            );
            assert_eq!(
                (bc[0].addr, bc[0].packets, bc[0].bytes),
                (a("10.0.1.1"), 3, 120)
            );
            assert_eq!(
                (bc[1].addr, bc[1].packets, bc[1].bytes),
                (a("10.0.1.2"), 0, 0)
            );
            assert_eq!(
                lbnet_xdp_backend_stats(lb, &v, bc.as_mut_ptr(), 1, &mut n),
                -libc::ERANGE
            );
            assert_eq!(n, 2);
            assert_eq!(
                lbnet_xdp_backend_stats(lb, &v, bc.as_mut_ptr(), 2, std::ptr::null_mut()),
                -libc::EINVAL
            );
            assert_eq!(
                lbnet_xdp_backend_stats(lb, &v, std::ptr::null_mut(), 2, &mut n),
                -libc::EINVAL
            );
            assert_eq!(
                lbnet_xdp_backend_stats(lb, std::ptr::null(), bc.as_mut_ptr(), 2, &mut n),
                -libc::EINVAL
            );
            assert_eq!(
                lbnet_xdp_backend_stats(lb, &vip4("10.9.9.9", 1), bc.as_mut_ptr(), 2, &mut n),
                -libc::ENOENT
            );
            let mut c = [0u64; 17];
            assert_eq!(lbnet_xdp_counters(lb, c.as_mut_ptr(), 2), -libc::ERANGE);
            assert_eq!(lbnet_xdp_counters(lb, c.as_mut_ptr(), 17), 0);

            assert_eq!(lbnet_xdp_remove_vip(lb, &v), 0);
            assert_eq!(lbnet_xdp_remove_vip(lb, &v), -libc::ENOENT);
            assert_eq!(
                lbnet_xdp_list_backends(lb, &v, out.as_mut_ptr(), 4, &mut n),
                -libc::ENOENT
            );
            lbnet_xdp_free(lb);
        }
    }
}
