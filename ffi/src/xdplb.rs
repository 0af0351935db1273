//! C ABI for lbnet's XDP load balancer (`lbnet::xdp`).
//!
//! A `lbnet_xdplb` handle owns one control plane: either a freshly loaded program
//! (`lbnet_xdplb_load`) or a pinned data plane taken over after a restart (`lbnet_xdplb_adopt`).
//! The handle is safe to use from several threads (calls are serialised). Free it with
//! `lbnet_xdplb_free`; that detaches the program unless it was pinned.
//!
//! Addresses are passed as `family` (4 or 6) plus 16 bytes in network order (IPv4 in the first
//! four); ports in host order.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use lbnet::error::{Origin, XdpOperation};
use lbnet::netns::NetNs;
use lbnet::xdp::{AttachMode, Backend, Counter, LoadOptions, Proto, Vip, XdpLb};
use lbnet::Error;
use parking_lot::Mutex;

use crate::common::{
    arg_mut, arg_opt_path, arg_path, arg_ref, arg_slice, arg_str, guard, guard_ptr, ARG, OUTPUT,
};

/// Opaque handle of one XDP load balancer control plane.
pub struct lbnet_xdplb {
    inner: Mutex<XdpLb>,
}

/// A VIP: address, port (host order) and protocol (`IPPROTO_TCP` 6 or `IPPROTO_UDP` 17).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_xdp_vip {
    /// 4 or 6.
    pub family: u8,
    /// 6 (TCP) or 17 (UDP).
    pub proto: u8,
    /// Port, host order.
    pub port: u16,
    /// Address in network order; IPv4 in the first four bytes.
    pub addr: [u8; 16],
}

/// A backend: tunnel destination and Maglev weight (0 = drained).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_xdp_backend {
    /// 4 or 6.
    pub family: u8,
    /// Reserved, zero.
    pub reserved: [u8; 3],
    /// Relative weight; 0 drains the backend.
    pub weight: u32,
    /// Ring slots the backend owns (output only; ignored on input).
    pub slots: u32,
    /// Address in network order; IPv4 in the first four bytes.
    pub addr: [u8; 16],
}

/// Per-VIP counters, summed over CPUs.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_xdp_vip_stats {
    /// Packets to the VIP.
    pub packets: u64,
    /// Bytes (IP length) of those packets.
    pub bytes: u64,
    /// New flows (connection-table misses).
    pub lru_misses: u64,
    /// Dropped packets to the VIP.
    pub drops: u64,
}

fn addr_of(family: u8, addr: &[u8; 16]) -> Result<IpAddr, Error> {
    match family {
        4 => Ok(IpAddr::V4(Ipv4Addr::new(
            addr[0], addr[1], addr[2], addr[3],
        ))),
        6 => Ok(IpAddr::V6(Ipv6Addr::from(*addr))),
        f => Err(Error::invalid(
            ARG,
            format!("address family {f} (want 4 or 6)"),
        )),
    }
}

fn addr_to(ip: IpAddr) -> (u8, [u8; 16]) {
    let mut a = [0u8; 16];
    match ip {
        IpAddr::V4(v) => {
            a[..4].copy_from_slice(&v.octets());
            (4, a)
        }
        IpAddr::V6(v) => (6, v.octets()),
    }
}

fn vip_of(v: &lbnet_xdp_vip) -> Result<Vip, Error> {
    let proto = match v.proto as i32 {
        libc::IPPROTO_TCP => Proto::Tcp,
        libc::IPPROTO_UDP => Proto::Udp,
        p => {
            return Err(Error::invalid(
                ARG,
                format!("VIP protocol {p} (want 6 or 17)"),
            ))
        }
    };
    Ok(Vip {
        addr: addr_of(v.family, &v.addr)?,
        port: v.port,
        proto,
    })
}

fn vip_to(v: &Vip) -> lbnet_xdp_vip {
    let (family, addr) = addr_to(v.addr);
    lbnet_xdp_vip {
        family,
        proto: v.proto.number(),
        port: v.port,
        addr,
    }
}

unsafe fn handle<'a>(lb: *mut lbnet_xdplb) -> Result<&'a lbnet_xdplb, Error> {
    // SAFETY: forwarded from the caller: NULL or a handle from load/adopt.
    unsafe { arg_ref(lb as *const lbnet_xdplb, "lb") }
}

/// Loads and verifies the embedded XDP program and creates its maps. Zero capacities take the
/// defaults (32 VIPs, 4096 backends, 65,536 tracked flows). Returns NULL on failure (see
/// `lbnet_last_error`); needs CAP_BPF/CAP_SYS_ADMIN.
#[no_mangle]
pub extern "C" fn lbnet_xdplb_load(
    max_vips: u32,
    max_backends: u32,
    conn_table_size: u32,
) -> *mut lbnet_xdplb {
    guard_ptr(|| {
        let d = LoadOptions::default();
        let opts = LoadOptions {
            max_vips: if max_vips == 0 { d.max_vips } else { max_vips },
            max_backends: if max_backends == 0 {
                d.max_backends
            } else {
                max_backends
            },
            conn_table_size: if conn_table_size == 0 {
                d.conn_table_size
            } else {
                conn_table_size
            },
        };
        let lb = XdpLb::load(&opts)?;
        Ok(Box::into_raw(Box::new(lbnet_xdplb {
            inner: Mutex::new(lb),
        })))
    })
}

/// Adopts the data plane pinned under `pin_dir` (see `lbnet_xdplb_pin`), reading its VIPs and
/// backends back from the maps without interrupting it. NULL on failure (`-ENOENT` in
/// `lbnet_last_error` when nothing is pinned there).
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_adopt(pin_dir: *const c_char) -> *mut lbnet_xdplb {
    guard_ptr(|| {
        // SAFETY: forwarded from the caller.
        let dir = unsafe { arg_path(pin_dir, "pin_dir") }?;
        let lb = XdpLb::adopt(Path::new(dir))?;
        Ok(Box::into_raw(Box::new(lbnet_xdplb {
            inner: Mutex::new(lb),
        })))
    })
}

/// Frees the handle. The program is detached unless it was pinned. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_free(lb: *mut lbnet_xdplb) {
    if !lb.is_null() {
        // SAFETY: lb came from Box::into_raw in load/adopt and is freed once.
        drop(unsafe { Box::from_raw(lb) });
    }
}

/// Attaches the program to interface `ifname` in network namespace `netns_path` (a file such as
/// `/var/run/netns/NAME`; NULL = the caller's). `native` nonzero asks for driver mode, zero for
/// generic (skb) mode. `-EEXIST` if this handle is attached already.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_attach(
    lb: *mut lbnet_xdplb,
    netns_path: *const c_char,
    ifname: *const c_char,
    native: c_int,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let h = unsafe { handle(lb) }?;
        // SAFETY: forwarded from the caller.
        let ns = unsafe { arg_opt_path(netns_path, "netns_path") }?;
        // SAFETY: forwarded from the caller.
        let ifname = unsafe { arg_str(ifname, "ifname", 15) }?.to_string();
        let ns = match ns {
            Some(p) => NetNs::Path(p.into()),
            None => NetNs::Current,
        };
        let mode = if native != 0 {
            AttachMode::Native
        } else {
            AttachMode::Generic
        };
        let mut guard = h.inner.lock();
        let lb: &mut XdpLb = &mut guard;
        ns.run(|| {
            let c = std::ffi::CString::new(ifname.clone())
                .map_err(|_| Error::invalid(ARG, "ifname contains NUL"))?;
            // SAFETY: valid C string.
            let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
            if idx == 0 {
                return Err(Error::from_kernel(
                    Origin::Xdp(XdpOperation::Attach),
                    libc::ENODEV,
                    format!("no interface {ifname}"),
                    None,
                ));
            }
            lb.attach(idx, mode)
        })
    })
}

/// Pins maps and link under `dir` (created; on a bpffs, e.g. `/sys/fs/bpf/lbnet/eth0`) so the
/// data plane outlives this process and can be adopted.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_pin(lb: *mut lbnet_xdplb, dir: *const c_char) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let h = unsafe { handle(lb) }?;
        // SAFETY: forwarded from the caller.
        let dir = unsafe { arg_path(dir, "dir") }?;
        h.inner.lock().pin(Path::new(dir))
    })
}

/// Detaches the program and removes the pins: the data plane stops.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_detach(lb: *mut lbnet_xdplb) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        unsafe { handle(lb) }?.inner.lock().detach()
    })
}

/// Sets the tunnels' outer source addresses (`src4`: 4 bytes, `src6`: 16 bytes, network order)
/// and the next-hop MAC (6 bytes). Each may be NULL: no IPv4/IPv6 tunnels, or reply to the
/// sender's MAC.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_set_config(
    lb: *mut lbnet_xdplb,
    src4: *const u8,
    src6: *const u8,
    gw_mac: *const u8,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let h = unsafe { handle(lb) }?;
        // SAFETY: each pointer is NULL or valid for the stated length.
        let (s4, s6, mac) = unsafe {
            (
                (!src4.is_null()).then(|| std::slice::from_raw_parts(src4, 4)),
                (!src6.is_null()).then(|| std::slice::from_raw_parts(src6, 16)),
                (!gw_mac.is_null()).then(|| std::slice::from_raw_parts(gw_mac, 6)),
            )
        };
        let s4 = s4.map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]));
        let s6 = s6.map(|b| Ipv6Addr::from(<[u8; 16]>::try_from(b).expect("16 bytes")));
        let mac = mac.map(|b| <[u8; 6]>::try_from(b).expect("6 bytes"));
        h.inner.lock().set_config(s4, s6, mac)
    })
}

/// Adds a VIP without backends (its packets are dropped until backends are set). `-EEXIST`
/// if it exists, `-ENOSPC` when all VIP slots are used.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_add_vip(
    lb: *mut lbnet_xdplb,
    vip: *const lbnet_xdp_vip,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, v) = unsafe { (handle(lb)?, arg_ref(vip, "vip")?) };
        h.inner.lock().add_vip(vip_of(v)?)
    })
}

/// Removes a VIP; its packets go to the kernel again. `-ENOENT` if it does not exist.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_remove_vip(
    lb: *mut lbnet_xdplb,
    vip: *const lbnet_xdp_vip,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, v) = unsafe { (handle(lb)?, arg_ref(vip, "vip")?) };
        h.inner.lock().remove_vip(&vip_of(v)?)
    })
}

/// Replaces the backends of a VIP with `n` entries of `backends` (addresses unique; `slots`
/// ignored). Only ring slots whose owner changed are written; tracked flows to backends that
/// stay (even drained) keep going there. `-ENOENT` for an unknown VIP.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_set_backends(
    lb: *mut lbnet_xdplb,
    vip: *const lbnet_xdp_vip,
    backends: *const lbnet_xdp_backend,
    n: usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, v, bs) = unsafe {
            (
                handle(lb)?,
                arg_ref(vip, "vip")?,
                arg_slice(backends, n, "backends")?,
            )
        };
        let list = bs
            .iter()
            .map(|b| {
                Ok(Backend {
                    addr: addr_of(b.family, &b.addr)?,
                    weight: b.weight,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        h.inner.lock().set_backends(&vip_of(v)?, &list).map(|_| ())
    })
}

/// Sets one backend's weight (`backend->weight`; 0 drains it). `-ENOENT` if the VIP or the
/// backend does not exist.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_set_weight(
    lb: *mut lbnet_xdplb,
    vip: *const lbnet_xdp_vip,
    backend: *const lbnet_xdp_backend,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, v, b) = unsafe {
            (
                handle(lb)?,
                arg_ref(vip, "vip")?,
                arg_ref(backend, "backend")?,
            )
        };
        h.inner
            .lock()
            .set_weight(&vip_of(v)?, addr_of(b.family, &b.addr)?, b.weight)
            .map(|_| ())
    })
}

/// Lists the VIPs into `out` (capacity `cap`); `*n` gets the number of VIPs. `-ERANGE` (with
/// `*n` set) when `cap` is too small; `out` may be NULL with `cap` 0 to ask for the count.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_list_vips(
    lb: *mut lbnet_xdplb,
    out: *mut lbnet_xdp_vip,
    cap: usize,
    n: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, n) = unsafe { (handle(lb)?, arg_mut(n, "n")?) };
        let vips: Vec<lbnet_xdp_vip> = h
            .inner
            .lock()
            .vips()
            .iter()
            .map(|i| vip_to(&i.vip))
            .collect();
        // SAFETY: out is valid for cap elements when not NULL.
        unsafe { copy_out(&vips, out, cap, n) }
    })
}

/// Lists a VIP's backends (with their ring slot counts) into `out`; as `lbnet_xdplb_list_vips`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_list_backends(
    lb: *mut lbnet_xdplb,
    vip: *const lbnet_xdp_vip,
    out: *mut lbnet_xdp_backend,
    cap: usize,
    n: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, v, n) = unsafe { (handle(lb)?, arg_ref(vip, "vip")?, arg_mut(n, "n")?) };
        let vip = vip_of(v)?;
        let infos = h.inner.lock().vips();
        let info = infos.iter().find(|i| i.vip == vip).ok_or_else(|| {
            Error::new(
                Origin::Xdp(XdpOperation::Read),
                lbnet::ErrorKind::NotFound,
                format!("no VIP {vip}"),
            )
        })?;
        let list: Vec<lbnet_xdp_backend> = info
            .backends
            .iter()
            .map(|(b, slots)| {
                let (family, addr) = addr_to(b.addr);
                lbnet_xdp_backend {
                    family,
                    reserved: [0; 3],
                    weight: b.weight,
                    slots: *slots,
                    addr,
                }
            })
            .collect();
        // SAFETY: out is valid for cap elements when not NULL.
        unsafe { copy_out(&list, out, cap, n) }
    })
}

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
            lbnet::ErrorKind::OutOfRange,
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

/// Reads a VIP's counters (summed over CPUs) into `out`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_vip_stats(
    lb: *mut lbnet_xdplb,
    vip: *const lbnet_xdp_vip,
    out: *mut lbnet_xdp_vip_stats,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (h, v, out) = unsafe { (handle(lb)?, arg_ref(vip, "vip")?, arg_mut(out, "out")?) };
        let s = h.inner.lock().vip_stats(&vip_of(v)?)?;
        *out = lbnet_xdp_vip_stats {
            packets: s.packets,
            bytes: s.bytes,
            lru_misses: s.lru_misses,
            drops: s.drops,
        };
        Ok(())
    })
}

/// Number of global counters (see `lbnet_xdplb_counter_name`).
#[no_mangle]
pub extern "C" fn lbnet_xdplb_counter_count() -> usize {
    Counter::ALL.len()
}

/// Name of global counter `i` ("rx", "tx", "drop_no_backend", ...) as a static string, or
/// NULL when `i` is out of range. Never free it.
#[no_mangle]
pub extern "C" fn lbnet_xdplb_counter_name(i: usize) -> *const c_char {
    const NAMES: [&str; 13] = [
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
    ];
    match Counter::ALL.get(i) {
        Some(c) => {
            debug_assert_eq!(NAMES[i].trim_end_matches('\0'), c.name());
            NAMES[i].as_ptr() as *const c_char
        }
        None => std::ptr::null(),
    }
}

/// Reads the global counters (summed over CPUs) into `out[0..cap]`, in the order of
/// `lbnet_xdplb_counter_name`; `-ERANGE` if `cap < lbnet_xdplb_counter_count()`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_xdplb_counters(
    lb: *mut lbnet_xdplb,
    out: *mut u64,
    cap: usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let h = unsafe { handle(lb) }?;
        let values: Vec<u64> = h
            .inner
            .lock()
            .counters()?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let mut n = 0;
        // SAFETY: out valid for cap elements.
        unsafe { copy_out(&values, out, cap, &mut n) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn vip4(a: [u8; 4], port: u16) -> lbnet_xdp_vip {
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&a);
        lbnet_xdp_vip {
            family: 4,
            proto: 6,
            port,
            addr,
        }
    }

    fn be4(a: [u8; 4], weight: u32) -> lbnet_xdp_backend {
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&a);
        lbnet_xdp_backend {
            family: 4,
            weight,
            addr,
            ..Default::default()
        }
    }

    #[test]
    fn null_arguments_are_einval_and_free_null_is_noop() {
        unsafe {
            lbnet_xdplb_free(std::ptr::null_mut());
            assert_eq!(
                lbnet_xdplb_add_vip(std::ptr::null_mut(), std::ptr::null()),
                -libc::EINVAL
            );
            assert!(lbnet_xdplb_adopt(std::ptr::null()).is_null());
            let msg = CStr::from_ptr(crate::common::lbnet_last_error())
                .to_str()
                .unwrap();
            assert!(msg.contains("pin_dir is NULL"), "{msg}");
            assert!(lbnet_xdplb_adopt(c"/sys/fs/bpf/lbnet-none/x".as_ptr()).is_null());
            assert_eq!(lbnet_xdplb_counter_count(), 13);
            assert_eq!(
                CStr::from_ptr(lbnet_xdplb_counter_name(9))
                    .to_str()
                    .unwrap(),
                "drop_no_backend"
            );
            assert!(lbnet_xdplb_counter_name(13).is_null());
        }
    }

    #[test]
    fn vips_backends_weights_and_counters_through_the_c_abi() {
        unsafe {
            let lb = lbnet_xdplb_load(2, 16, 1024);
            assert!(!lb.is_null(), "load needs root and BPF");
            let src4 = [10u8, 0, 0, 1];
            assert_eq!(
                lbnet_xdplb_set_config(lb, src4.as_ptr(), std::ptr::null(), std::ptr::null()),
                0
            );
            let v = vip4([198, 18, 0, 10], 80);
            assert_eq!(lbnet_xdplb_add_vip(lb, &v), 0);
            assert_eq!(lbnet_xdplb_add_vip(lb, &v), -libc::EEXIST);
            let bad = lbnet_xdp_vip { family: 5, ..v };
            assert_eq!(lbnet_xdplb_add_vip(lb, &bad), -libc::EINVAL);
            let bs = [be4([10, 0, 1, 1], 1), be4([10, 0, 1, 2], 3)];
            assert_eq!(lbnet_xdplb_set_backends(lb, &v, bs.as_ptr(), 2), 0);

            let mut n = 0usize;
            assert_eq!(
                lbnet_xdplb_list_vips(lb, std::ptr::null_mut(), 0, &mut n),
                -libc::ERANGE
            );
            assert_eq!(n, 1);
            let mut vs = [lbnet_xdp_vip::default(); 4];
            assert_eq!(lbnet_xdplb_list_vips(lb, vs.as_mut_ptr(), 4, &mut n), 0);
            assert_eq!(
                (vs[0].port, vs[0].proto, &vs[0].addr[..4]),
                (80, 6, &[198u8, 18, 0, 10][..])
            );

            let mut out = [lbnet_xdp_backend::default(); 4];
            assert_eq!(
                lbnet_xdplb_list_backends(lb, &v, out.as_mut_ptr(), 4, &mut n),
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
            let drain = be4([10, 0, 1, 2], 0);
            assert_eq!(lbnet_xdplb_set_weight(lb, &v, &drain), 0);
            assert_eq!(
                lbnet_xdplb_list_backends(lb, &v, out.as_mut_ptr(), 4, &mut n),
                0
            );
            assert_eq!((out[0].slots, out[1].slots, out[1].weight), (65537, 0, 0));
            let missing = be4([10, 0, 1, 9], 1);
            assert_eq!(lbnet_xdplb_set_weight(lb, &v, &missing), -libc::ENOENT);

            let mut st = lbnet_xdp_vip_stats::default();
            assert_eq!(lbnet_xdplb_vip_stats(lb, &v, &mut st), 0);
            assert_eq!(st.packets, 0);
            let mut c = [0u64; 13];
            assert_eq!(lbnet_xdplb_counters(lb, c.as_mut_ptr(), 2), -libc::ERANGE);
            assert_eq!(lbnet_xdplb_counters(lb, c.as_mut_ptr(), 13), 0);

            assert_eq!(lbnet_xdplb_remove_vip(lb, &v), 0);
            assert_eq!(lbnet_xdplb_remove_vip(lb, &v), -libc::ENOENT);
            lbnet_xdplb_free(lb);
        }
    }
}
