//! The functions of ipvsadm 1.31's `libipvs/libipvs.h` and its data symbol `ipvs_info`, over
//! [`lbnet::ipvs::Handle`], with libipvs's semantics (those of its generic netlink path, which
//! is what it uses on every kernel with IPVS):
//!
//! * `int` functions return 0 or -1 and set `errno`: the kernel's errno when the kernel refused,
//!   `EINVAL` when there is no IPVS family or a reply could not be read (libipvs's default),
//!   `EAFNOSUPPORT` for an address family other than AF_INET/AF_INET6 (the kernel's answer).
//!   Pointer functions return NULL and set `errno` the same way; what they return is allocated
//!   with `malloc` and released by the caller with `free`, as with libipvs.
//! * Requests go to the kernel as given ([`Handle::set_kernel_judges`]), so what fails, and
//!   with which errno, is the kernel's decision, as with libipvs.
//! * `ipvs_strerror(errno)` returns libipvs's message for that errno and the last command that
//!   records itself (libipvs's `ipvs_func`, recorded by the same functions as there).
//! * The library keeps one socket (opened on first use, closed by `ipvs_close`); libipvs opens
//!   one per request. Like libipvs's netlink path, every function works without `ipvs_init`.
//!
//! Every entry point checks its pointers (NULL: `EINVAL`, -1 or NULL) and catches panics
//! (`EIO`).

use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};

use lbnet::ipvs::{
    AddressFamily, DaemonState, Destination, ForwardMethod, Handle, Protocol, Service,
    ServiceFlags, ServiceKey, Stats, SyncDaemon, Timeouts, TunnelFlags, TunnelType,
};
use lbnet::{Error, ErrorKind};
use libc::{c_char, c_int, c_uint, c_void};
use parking_lot::Mutex;

use super::types::*;

/// The data symbol of libipvs: version and connection table size, filled by `ipvs_init` and
/// `ipvs_getinfo` (`num_services` is left as it is, as by libipvs's netlink path).
#[no_mangle]
pub static mut ipvs_info: ip_vs_getinfo = ip_vs_getinfo {
    version: 0,
    size: 0,
    num_services: 0,
};

/// The one handle, opened on first use.
static HANDLE: Mutex<Option<Handle>> = Mutex::new(None);

/// libipvs's `ipvs_func`: the last function that recorded itself, for `ipvs_strerror`.
static FUNC: AtomicU8 = AtomicU8::new(Func::None as u8);

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Func {
    None,
    Init,
    AddService,
    UpdateService,
    DelService,
    ZeroService,
    AddDest,
    UpdateDest,
    DelDest,
    SetTimeout,
    StartDaemon,
    StopDaemon,
    GetDests,
    GetService,
    GetTimeout,
    GetDaemon,
}

fn record(f: Func) {
    FUNC.store(f as u8, Ordering::Relaxed);
}

fn set_errno(e: c_int) {
    // SAFETY: __errno_location returns the calling thread's errno.
    unsafe { *libc::__errno_location() = e };
}

/// The errno libipvs would leave for `e`: the kernel's where it answered; `EINVAL` (libipvs's
/// default in `ipvs_nl_send_message`) when there is no IPVS family or a reply did not parse.
fn errno_of(e: &Error) -> c_int {
    match e.kind() {
        ErrorKind::NotAvailable | ErrorKind::Malformed => libc::EINVAL,
        _ => e.errno().max(1),
    }
}

/// Runs `f` with the handle (opened now if needed). Errors become errno values.
fn with_handle<T>(f: impl FnOnce(&Handle) -> Result<T, c_int>) -> Result<T, c_int> {
    let mut g = HANDLE.lock();
    if g.is_none() {
        let h = Handle::new().map_err(|e| errno_of(&e))?;
        h.set_kernel_judges(true);
        *g = Some(h);
    }
    match g.as_ref() {
        Some(h) => f(h),
        None => Err(libc::EINVAL),
    }
}

/// Runs `f` for an `int` entry point: 0, or -1 with errno set; a panic is `EIO`.
fn int_call(f: impl FnOnce() -> Result<(), c_int>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            set_errno(e);
            -1
        }
        Err(_) => {
            set_errno(libc::EIO);
            -1
        }
    }
}

/// Runs `f` for a pointer entry point: the pointer, or NULL with errno set.
fn ptr_call<T>(f: impl FnOnce() -> Result<*mut T, c_int>) -> *mut T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            set_errno(e);
            std::ptr::null_mut()
        }
        Err(_) => {
            set_errno(libc::EIO);
            std::ptr::null_mut()
        }
    }
}

fn kerr(e: Error) -> c_int {
    errno_of(&e)
}

/// A C name field (up to `N` bytes, NUL-terminated or not) as a string; bytes that are not
/// UTF-8 are replaced, which the kernel answers the same way (no such name).
fn name_of(field: &[c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Copies `s` into a C name field, at most `max` bytes, NUL-padded (libipvs's `strncpy`).
fn put_name(field: &mut [c_char], s: &str, max: usize) {
    for (d, b) in field.iter_mut().zip(s.bytes().take(max)) {
        *d = b as c_char;
    }
}

fn family(af: u16) -> Result<AddressFamily, c_int> {
    match c_int::from(af) {
        libc::AF_INET => Ok(AddressFamily::Inet),
        libc::AF_INET6 => Ok(AddressFamily::Inet6),
        _ => Err(libc::EAFNOSUPPORT),
    }
}

fn addr_of(af: AddressFamily, a: &nf_inet_addr) -> IpAddr {
    // SAFETY: every member of the union is plain bytes; in6 covers all 16.
    let b = unsafe { a.in6.s6_addr };
    match af {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::from(b)),
    }
}

fn c_addr(a: &IpAddr) -> nf_inet_addr {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v) => b[..4].copy_from_slice(&v.octets()),
        IpAddr::V6(v) => b = v.octets(),
    }
    nf_inet_addr {
        in6: libc::in6_addr { s6_addr: b },
    }
}

/// The service key libipvs sends: the firewall mark when non-zero, else protocol, address and
/// port; always the family.
fn key_of(
    fwmark: u32,
    af: u16,
    protocol: u16,
    addr: &nf_inet_addr,
    port_be: u16,
) -> Result<ServiceKey, c_int> {
    let af = family(af)?;
    if fwmark != 0 {
        return Ok(ServiceKey::Fwmark { af, mark: fwmark });
    }
    let protocol = Protocol::from_raw(protocol).ok_or(libc::EINVAL)?;
    Ok(ServiceKey::Addr {
        protocol,
        addr: addr_of(af, addr),
        port: u16::from_be(port_be),
    })
}

fn svc_key(s: &ip_vs_service_user) -> Result<ServiceKey, c_int> {
    key_of(s.fwmark, s.af, s.protocol, &s.addr, s.port)
}

pub(crate) fn service_of(s: &ip_vs_service_user) -> Result<Service, c_int> {
    let key = svc_key(s)?;
    let pe = name_of(&s.pe_name);
    Ok(Service {
        key,
        scheduler: name_of(&s.sched_name),
        flags: ServiceFlags(s.flags),
        timeout: s.timeout,
        netmask: match key.af() {
            AddressFamily::Inet => u32::from_be(s.netmask),
            AddressFamily::Inet6 => s.netmask,
        },
        pe_name: if pe.is_empty() { None } else { Some(pe) },
        stats: None,
        stats64: None,
    })
}

fn dest_of(key: &ServiceKey, d: &ip_vs_dest_user) -> Result<Destination, c_int> {
    let af = if d.af == 0 { key.af() } else { family(d.af)? };
    let forward =
        ForwardMethod::from_raw(d.conn_flags & IP_VS_CONN_F_FWD_MASK).ok_or(libc::EINVAL)?;
    let tunnel_type = match u8::try_from(d.tun_type).ok().and_then(TunnelType::from_raw) {
        Some(t) => t,
        None if forward != ForwardMethod::Tunnel => TunnelType::Ipip,
        None => return Err(libc::EINVAL),
    };
    let mut out = Destination::new(addr_of(af, &d.addr), u16::from_be(d.port), forward);
    out.weight = d.weight;
    out.upper_threshold = d.u_threshold;
    out.lower_threshold = d.l_threshold;
    out.tunnel_type = tunnel_type;
    out.tunnel_port = u16::from_be(d.tun_port);
    out.tunnel_flags = TunnelFlags(d.tun_flags);
    Ok(out)
}

fn stats64_of(s: Option<&Stats>) -> ip_vs_stats64 {
    let s = s.copied().unwrap_or_default();
    ip_vs_stats64 {
        conns: s.conns,
        inpkts: s.inpkts,
        outpkts: s.outpkts,
        inbytes: s.inbytes,
        outbytes: s.outbytes,
        cps: s.cps,
        inpps: s.inpps,
        outpps: s.outpps,
        inbps: s.inbps,
        outbps: s.outbps,
    }
}

/// A listed service as libipvs's `ipvs_services_parse_cb` fills it.
pub(crate) fn entry_of(s: &Service) -> ip_vs_service_entry {
    // SAFETY: the struct is plain integers and bytes; all-zero is valid.
    let mut e: ip_vs_service_entry = unsafe { std::mem::zeroed() };
    let af = s.key.af();
    e.af = af.as_raw();
    match s.key {
        ServiceKey::Fwmark { mark, .. } => e.fwmark = mark,
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            e.protocol = protocol.as_raw();
            e.addr = c_addr(&addr);
            e.port = port.to_be();
        }
    }
    put_name(&mut e.sched_name, &s.scheduler, IP_VS_SCHEDNAME_MAXLEN - 1);
    if let Some(pe) = &s.pe_name {
        put_name(&mut e.pe_name, pe, IP_VS_PENAME_MAXLEN);
    }
    e.netmask = match af {
        AddressFamily::Inet => s.netmask.to_be(),
        AddressFamily::Inet6 => s.netmask,
    };
    e.timeout = s.timeout;
    e.flags = s.flags.0;
    e.stats64 = stats64_of(s.best_stats());
    e
}

fn dest_entry_of(d: &Destination) -> ip_vs_dest_entry {
    // SAFETY: plain integers and bytes; all-zero is valid.
    let mut e: ip_vs_dest_entry = unsafe { std::mem::zeroed() };
    e.addr = c_addr(&d.addr);
    e.port = d.port.to_be();
    e.conn_flags = d.forward.as_raw();
    e.weight = d.weight;
    e.tun_type = u16::from(d.tunnel_type.as_raw());
    e.tun_port = d.tunnel_port.to_be();
    e.tun_flags = d.tunnel_flags.0;
    e.u_threshold = d.upper_threshold;
    e.l_threshold = d.lower_threshold;
    e.activeconns = d.active_conns;
    e.inactconns = d.inactive_conns;
    e.persistconns = d.persistent_conns;
    e.af = d.af().as_raw();
    e.stats64 = stats64_of(d.best_stats());
    e
}

/// `calloc` of `size` bytes (at least 1), or `ENOMEM`.
fn alloc(size: usize) -> Result<*mut c_void, c_int> {
    // SAFETY: plain allocation; released by the caller with free().
    let p = unsafe { libc::calloc(1, size.max(1)) };
    if p.is_null() {
        Err(libc::ENOMEM)
    } else {
        Ok(p)
    }
}

/// Writes the version and table size into `ipvs_info`, both this library's and, when the
/// program has its own copy of the symbol (a copy relocation in a non-PIE executable), that one.
fn store_info(version: u32, size: u32) {
    let ours = std::ptr::addr_of_mut!(ipvs_info);
    // SAFETY: dlsym with RTLD_DEFAULT finds the definition the program's references use.
    let theirs =
        unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"ipvs_info".as_ptr()) } as *mut ip_vs_getinfo;
    for p in [ours, theirs] {
        if !p.is_null() {
            // SAFETY: p points at an ip_vs_getinfo (ours, or the program's copy of it).
            unsafe {
                (*p).version = version;
                (*p).size = size;
            }
        }
    }
}

/// `ipvs_init`: opens the connection to IPVS and reads `ipvs_info`. 0, or -1 with errno
/// (`ENOPROTOOPT` when the kernel has no IPVS, what libipvs's fallback to the raw socket
/// reports as root).
#[no_mangle]
pub extern "C" fn ipvs_init() -> c_int {
    record(Func::Init);
    let rc = int_call(|| {
        with_handle(|h| match h.family_id() {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotAvailable => Err(libc::ENOPROTOOPT),
            Err(e) => Err(kerr(e)),
        })
    });
    if rc != 0 {
        return rc;
    }
    ipvs_getinfo()
}

/// `ipvs_getinfo`: reads the version and connection table size into `ipvs_info`.
#[no_mangle]
pub extern "C" fn ipvs_getinfo() -> c_int {
    int_call(|| {
        let info = with_handle(|h| h.info().map_err(kerr))?;
        store_info(info.version, info.conn_tab_size);
        Ok(())
    })
}

/// `ipvs_version`: `ipvs_info.version`.
#[no_mangle]
pub extern "C" fn ipvs_version() -> c_uint {
    // SAFETY: a plain read of the library's copy (kept equal to the program's by store_info).
    unsafe { (*std::ptr::addr_of!(ipvs_info)).version }
}

/// `ipvs_flush`: deletes every service (does not record itself, as in libipvs).
#[no_mangle]
pub extern "C" fn ipvs_flush() -> c_int {
    int_call(|| with_handle(|h| h.flush().map_err(kerr)))
}

/// Reads `*p` or fails with `EINVAL` when NULL.
///
/// # Safety
/// `p` is NULL or valid for reads of `T`.
unsafe fn read<T: Copy>(p: *const T) -> Result<T, c_int> {
    if p.is_null() {
        Err(libc::EINVAL)
    } else {
        // SAFETY: non-NULL and valid per the caller.
        Ok(unsafe { std::ptr::read_unaligned(p) })
    }
}

/// `ipvs_add_service`: adds `*svc` (`EEXIST` if it exists, `ENOENT` for an unknown scheduler
/// or persistence engine).
///
/// # Safety
/// `svc` is NULL or points at an `ipvs_service_t`.
#[no_mangle]
pub unsafe extern "C" fn ipvs_add_service(svc: *mut ipvs_service_t) -> c_int {
    record(Func::AddService);
    int_call(|| {
        // SAFETY: per the contract.
        let s = service_of(&unsafe { read(svc) }?)?;
        with_handle(|h| h.new_service(&s).map_err(kerr))
    })
}

/// `ipvs_update_service`: edits the service `*svc` (`ESRCH` if missing).
///
/// # Safety
/// `svc` is NULL or points at an `ipvs_service_t`.
#[no_mangle]
pub unsafe extern "C" fn ipvs_update_service(svc: *mut ipvs_service_t) -> c_int {
    record(Func::UpdateService);
    int_call(|| {
        // SAFETY: per the contract.
        let s = service_of(&unsafe { read(svc) }?)?;
        with_handle(|h| h.update_service(&s).map_err(kerr))
    })
}

/// `ipvs_del_service`: deletes the service `*svc` (`ESRCH` if missing).
///
/// # Safety
/// `svc` is NULL or points at an `ipvs_service_t`.
#[no_mangle]
pub unsafe extern "C" fn ipvs_del_service(svc: *mut ipvs_service_t) -> c_int {
    record(Func::DelService);
    int_call(|| {
        // SAFETY: per the contract.
        let k = svc_key(&unsafe { read(svc) }?)?;
        with_handle(|h| h.delete_service(&k).map_err(kerr))
    })
}

/// `ipvs_zero_service`: zeroes the counters of `*svc`, or every counter when it has no
/// firewall mark, an all-zero address and port 0 (libipvs's test).
///
/// # Safety
/// `svc` is NULL or points at an `ipvs_service_t`.
#[no_mangle]
pub unsafe extern "C" fn ipvs_zero_service(svc: *mut ipvs_service_t) -> c_int {
    record(Func::ZeroService);
    int_call(|| {
        // SAFETY: per the contract.
        let s = unsafe { read(svc) }?;
        // SAFETY: plain bytes.
        let any = unsafe { s.addr.in6.s6_addr } == [0u8; 16];
        if s.fwmark != 0 || !any || s.port != 0 {
            let k = svc_key(&s)?;
            with_handle(|h| h.zero(&k).map_err(kerr))
        } else {
            with_handle(|h| h.zero_all().map_err(kerr))
        }
    })
}

/// The three destination commands.
#[derive(Clone, Copy)]
enum DestOp {
    Add,
    Update,
    Del,
}

/// # Safety
/// `svc` and `dest` are NULL or valid.
unsafe fn dest_call(op: DestOp, svc: *mut ipvs_service_t, dest: *mut ipvs_dest_t) -> c_int {
    int_call(|| {
        // SAFETY: per the contract.
        let s = unsafe { read(svc) }?;
        // SAFETY: per the contract.
        let d = unsafe { read(dest) }?;
        let k = svc_key(&s)?;
        let d = dest_of(&k, &d)?;
        with_handle(|h| {
            match op {
                DestOp::Add => h.new_destination(&k, &d),
                DestOp::Update => h.update_destination(&k, &d),
                DestOp::Del => h.delete_destination(&k, d.addr, d.port),
            }
            .map_err(kerr)
        })
    })
}

/// `ipvs_add_dest`: adds `*dest` to `*svc` (`ESRCH`: no such service, `EEXIST`: exists).
///
/// # Safety
/// `svc` and `dest` are NULL or point at their structs.
#[no_mangle]
pub unsafe extern "C" fn ipvs_add_dest(svc: *mut ipvs_service_t, dest: *mut ipvs_dest_t) -> c_int {
    record(Func::AddDest);
    // SAFETY: per the contract.
    unsafe { dest_call(DestOp::Add, svc, dest) }
}

/// `ipvs_update_dest`: edits `*dest` of `*svc` (`ENOENT`: no such destination).
///
/// # Safety
/// `svc` and `dest` are NULL or point at their structs.
#[no_mangle]
pub unsafe extern "C" fn ipvs_update_dest(
    svc: *mut ipvs_service_t,
    dest: *mut ipvs_dest_t,
) -> c_int {
    record(Func::UpdateDest);
    // SAFETY: per the contract.
    unsafe { dest_call(DestOp::Update, svc, dest) }
}

/// `ipvs_del_dest`: deletes `*dest` from `*svc`.
///
/// # Safety
/// `svc` and `dest` are NULL or point at their structs.
#[no_mangle]
pub unsafe extern "C" fn ipvs_del_dest(svc: *mut ipvs_service_t, dest: *mut ipvs_dest_t) -> c_int {
    record(Func::DelDest);
    // SAFETY: per the contract.
    unsafe { dest_call(DestOp::Del, svc, dest) }
}

/// `ipvs_set_timeout`: sets the TCP, TCP FIN and UDP timeouts (0 leaves one unchanged; the
/// kernel judges the values, as with libipvs).
///
/// # Safety
/// `to` is NULL or points at an `ipvs_timeout_t`.
#[no_mangle]
pub unsafe extern "C" fn ipvs_set_timeout(to: *mut ipvs_timeout_t) -> c_int {
    record(Func::SetTimeout);
    int_call(|| {
        // SAFETY: per the contract.
        let t = unsafe { read(to) }?;
        let t = Timeouts {
            tcp: t.tcp_timeout as u32,
            tcp_fin: t.tcp_fin_timeout as u32,
            udp: t.udp_timeout as u32,
        };
        with_handle(|h| h.set_timeouts(&t).map_err(kerr))
    })
}

fn daemon_state(state: c_int) -> Result<DaemonState, c_int> {
    u32::try_from(state)
        .ok()
        .and_then(DaemonState::from_raw)
        .ok_or(libc::EINVAL)
}

/// `ipvs_start_daemon`: starts the sync daemon `*dm` (`EEXIST` if it runs).
///
/// # Safety
/// `dm` is NULL or points at an `ipvs_daemon_t`.
#[no_mangle]
pub unsafe extern "C" fn ipvs_start_daemon(dm: *mut ipvs_daemon_t) -> c_int {
    record(Func::StartDaemon);
    int_call(|| {
        // SAFETY: per the contract.
        let d = unsafe { read(dm) }?;
        let mut sd = SyncDaemon::new(
            daemon_state(d.state)?,
            &name_of(&d.mcast_ifn),
            d.syncid as u32,
        );
        if d.sync_maxlen != 0 {
            sd.sync_maxlen = Some(d.sync_maxlen as u16);
        }
        if d.mcast_port != 0 {
            sd.mcast_port = Some(d.mcast_port);
        }
        if d.mcast_ttl != 0 {
            sd.mcast_ttl = Some(d.mcast_ttl as u8);
        }
        sd.mcast_group = match c_int::from(d.mcast_af) {
            libc::AF_INET6 => Some(addr_of(AddressFamily::Inet6, &d.mcast_group)),
            libc::AF_INET => Some(addr_of(AddressFamily::Inet, &d.mcast_group)),
            _ => None,
        };
        with_handle(|h| h.start_daemon(&sd).map_err(kerr))
    })
}

/// `ipvs_stop_daemon`: stops the sync daemon of `dm->state` (`ESRCH` if none runs).
///
/// # Safety
/// `dm` is NULL or points at an `ipvs_daemon_t`.
#[no_mangle]
pub unsafe extern "C" fn ipvs_stop_daemon(dm: *mut ipvs_daemon_t) -> c_int {
    record(Func::StopDaemon);
    int_call(|| {
        // SAFETY: per the contract.
        let d = unsafe { read(dm) }?;
        let st = daemon_state(d.state)?;
        with_handle(|h| h.stop_daemon(st).map_err(kerr))
    })
}

/// `ipvs_get_services`: every service, in the kernel's order, `num_dests` 0 (as libipvs's
/// netlink path); free with `free()`. Does not record itself, as in libipvs.
#[no_mangle]
pub extern "C" fn ipvs_get_services() -> *mut ip_vs_get_services {
    ptr_call(|| {
        let list = with_handle(|h| h.services().map_err(kerr))?;
        let size = std::mem::size_of::<ip_vs_get_services>()
            + std::mem::size_of::<ip_vs_service_entry>() * (list.len() + 1);
        let p = alloc(size)? as *mut ip_vs_get_services;
        // SAFETY: p has room for the header and list.len() + 1 entries.
        unsafe {
            (*p).num_services = list.len() as c_uint;
            let t = std::ptr::addr_of_mut!((*p).entrytable) as *mut ip_vs_service_entry;
            for (i, s) in list.iter().enumerate() {
                t.add(i).write(entry_of(s));
            }
        }
        Ok(p)
    })
}

/// `ipvs_cmp_services`: libipvs's order (firewall mark, family, protocol, address, port),
/// with its `int` arithmetic.
///
/// # Safety
/// `s1` and `s2` are NULL (compared equal) or point at service entries.
#[no_mangle]
pub unsafe extern "C" fn ipvs_cmp_services(
    s1: *mut ipvs_service_entry_t,
    s2: *mut ipvs_service_entry_t,
) -> c_int {
    if s1.is_null() || s2.is_null() {
        return 0;
    }
    // SAFETY: non-NULL, valid per the contract.
    let (a, b) = unsafe { (&*s1, &*s2) };
    let r = a.fwmark.wrapping_sub(b.fwmark) as c_int;
    if r != 0 {
        return r;
    }
    let r = c_int::from(a.af) - c_int::from(b.af);
    if r != 0 {
        return r;
    }
    let r = c_int::from(a.protocol) - c_int::from(b.protocol);
    if r != 0 {
        return r;
    }
    let r = cmp_addr(a.af, &a.addr, &b.addr);
    if r != 0 {
        return r;
    }
    c_int::from(u16::from_be(a.port)) - c_int::from(u16::from_be(b.port))
}

fn cmp_addr(af: u16, a: &nf_inet_addr, b: &nf_inet_addr) -> c_int {
    // SAFETY: plain words.
    let (x, y) = unsafe { (a.ip6, b.ip6) };
    if c_int::from(af) == libc::AF_INET6 {
        let mut r = 0;
        for i in 0..4 {
            if r != 0 {
                break;
            }
            r = u32::from_be(x[i]).wrapping_sub(u32::from_be(y[i])) as c_int;
        }
        r
    } else {
        u32::from_be(x[0]).wrapping_sub(u32::from_be(y[0])) as c_int
    }
}

type QsortCmp = unsafe extern "C" fn(*const c_void, *const c_void) -> c_int;

/// `ipvs_sort_services`: `qsort` of the entries with `f` (NULL `s` or `f`: nothing).
///
/// # Safety
/// `s` is NULL or from `ipvs_get_services`; `f` compares two entries.
#[no_mangle]
pub unsafe extern "C" fn ipvs_sort_services(s: *mut ip_vs_get_services, f: ipvs_service_cmp_t) {
    let (Some(f), false) = (f, s.is_null()) else {
        return;
    };
    // SAFETY: the same function called with pointers to entries, as libipvs's cast does.
    unsafe {
        let cmp: QsortCmp = std::mem::transmute(f);
        libc::qsort(
            std::ptr::addr_of_mut!((*s).entrytable) as *mut c_void,
            (*s).num_services as usize,
            std::mem::size_of::<ip_vs_service_entry>(),
            Some(cmp),
        );
    }
}

/// `ipvs_get_dests`: the destinations of the service `*svc` (none if it does not exist, as
/// the kernel's dump answers); free with `free()`.
///
/// # Safety
/// `svc` is NULL or points at a service entry.
#[no_mangle]
pub unsafe extern "C" fn ipvs_get_dests(svc: *mut ipvs_service_entry_t) -> *mut ip_vs_get_dests {
    record(Func::GetDests);
    ptr_call(|| {
        // SAFETY: per the contract.
        let s = unsafe { read(svc) }?;
        let k = key_of(s.fwmark, s.af, s.protocol, &s.addr, s.port)?;
        let list = with_handle(|h| h.destinations(&k).map_err(kerr))?;
        let size = std::mem::size_of::<ip_vs_get_dests>()
            + std::mem::size_of::<ip_vs_dest_entry>() * (list.len() + 1);
        let p = alloc(size)? as *mut ip_vs_get_dests;
        // SAFETY: p has room for the header and list.len() + 1 entries.
        unsafe {
            (*p).fwmark = s.fwmark;
            (*p).protocol = s.protocol;
            (*p).addr = s.addr;
            (*p).port = s.port;
            (*p).af = s.af;
            (*p).num_dests = list.len() as c_uint;
            let t = std::ptr::addr_of_mut!((*p).entrytable) as *mut ip_vs_dest_entry;
            for (i, d) in list.iter().enumerate() {
                t.add(i).write(dest_entry_of(d));
            }
        }
        Ok(p)
    })
}

/// `ipvs_cmp_dests`: libipvs's order (address, then port).
///
/// # Safety
/// `d1` and `d2` are NULL (compared equal) or point at destination entries.
#[no_mangle]
pub unsafe extern "C" fn ipvs_cmp_dests(
    d1: *mut ipvs_dest_entry_t,
    d2: *mut ipvs_dest_entry_t,
) -> c_int {
    if d1.is_null() || d2.is_null() {
        return 0;
    }
    // SAFETY: non-NULL, valid per the contract.
    let (a, b) = unsafe { (&*d1, &*d2) };
    let r = cmp_addr(a.af, &a.addr, &b.addr);
    if r != 0 {
        return r;
    }
    c_int::from(u16::from_be(a.port)) - c_int::from(u16::from_be(b.port))
}

/// `ipvs_sort_dests`: `qsort` of the entries with `f` (NULL `d` or `f`: nothing).
///
/// # Safety
/// `d` is NULL or from `ipvs_get_dests`; `f` compares two entries.
#[no_mangle]
pub unsafe extern "C" fn ipvs_sort_dests(d: *mut ip_vs_get_dests, f: ipvs_dest_cmp_t) {
    let (Some(f), false) = (f, d.is_null()) else {
        return;
    };
    // SAFETY: the same function called with pointers to entries, as libipvs's cast does.
    unsafe {
        let cmp: QsortCmp = std::mem::transmute(f);
        libc::qsort(
            std::ptr::addr_of_mut!((*d).entrytable) as *mut c_void,
            (*d).num_dests as usize,
            std::mem::size_of::<ip_vs_dest_entry>(),
            Some(cmp),
        );
    }
}

/// `ipvs_get_service`: one service (`ESRCH` if missing); free with `free()`.
#[no_mangle]
pub extern "C" fn ipvs_get_service(
    fwmark: u32,
    af: u16,
    protocol: u16,
    addr: nf_inet_addr,
    port: u16,
) -> *mut ipvs_service_entry_t {
    record(Func::GetService);
    ptr_call(|| {
        let k = key_of(fwmark, af, protocol, &addr, port)?;
        let s = with_handle(|h| h.get_service(&k).map_err(kerr))?;
        let p = alloc(std::mem::size_of::<ip_vs_service_entry>())? as *mut ip_vs_service_entry;
        // SAFETY: p has room for one entry.
        unsafe { p.write(entry_of(&s)) };
        Ok(p)
    })
}

/// `ipvs_get_timeout`: the three timeouts; free with `free()`.
#[no_mangle]
pub extern "C" fn ipvs_get_timeout() -> *mut ipvs_timeout_t {
    record(Func::GetTimeout);
    ptr_call(|| {
        let t = with_handle(|h| h.timeouts().map_err(kerr))?;
        let p = alloc(std::mem::size_of::<ipvs_timeout_t>())? as *mut ipvs_timeout_t;
        // SAFETY: p has room for one struct.
        unsafe {
            p.write(ipvs_timeout_t {
                tcp_timeout: t.tcp as c_int,
                tcp_fin_timeout: t.tcp_fin as c_int,
                udp_timeout: t.udp as c_int,
            })
        };
        Ok(p)
    })
}

/// `ipvs_get_daemon`: an array of two daemons (the running ones first, state 0 for none);
/// free with `free()`.
#[no_mangle]
pub extern "C" fn ipvs_get_daemon() -> *mut ipvs_daemon_t {
    record(Func::GetDaemon);
    ptr_call(|| {
        let list = with_handle(|h| h.daemons().map_err(kerr))?;
        let p = alloc(2 * std::mem::size_of::<ipvs_daemon_t>())? as *mut ipvs_daemon_t;
        for (i, d) in list.iter().take(2).enumerate() {
            // SAFETY: the array has two zeroed entries.
            let u = unsafe { &mut *p.add(i) };
            u.state = d.state.as_raw() as c_int;
            put_name(&mut u.mcast_ifn, &d.mcast_ifname, IP_VS_IFNAME_MAXLEN - 1);
            u.syncid = d.syncid as c_int;
            if let Some(m) = d.sync_maxlen {
                u.sync_maxlen = c_int::from(m);
            }
            if let Some(port) = d.mcast_port {
                u.mcast_port = port;
            }
            if let Some(t) = d.mcast_ttl {
                u.mcast_ttl = u16::from(t);
            }
            if let Some(g) = d.mcast_group {
                u.mcast_af = match g {
                    IpAddr::V4(_) => libc::AF_INET as u16,
                    IpAddr::V6(_) => libc::AF_INET6 as u16,
                };
                u.mcast_group = c_addr(&g);
            }
        }
        Ok(p)
    })
}

/// `ipvs_close`: closes the socket (the next call opens a new one).
#[no_mangle]
pub extern "C" fn ipvs_close() {
    let _ = catch_unwind(|| {
        HANDLE.lock().take();
    });
}

/// `ipvs_strerror`: libipvs's message for `err` after the last recorded command, else
/// `strerror(err)`.
#[no_mangle]
pub extern "C" fn ipvs_strerror(err: c_int) -> *const c_char {
    use Func as F;
    let func = FUNC.load(Ordering::Relaxed);
    let table: &[(Option<Func>, c_int, &'static CStr)] = &[
        (Some(F::AddService), libc::EEXIST, c"Service already exists"),
        (
            Some(F::AddService),
            libc::ENOENT,
            c"Scheduler or persistence engine not found",
        ),
        (Some(F::UpdateService), libc::ESRCH, c"No such service"),
        (
            Some(F::UpdateService),
            libc::ENOENT,
            c"Scheduler or persistence engine not found",
        ),
        (Some(F::DelService), libc::ESRCH, c"No such service"),
        (Some(F::ZeroService), libc::ESRCH, c"No such service"),
        (Some(F::AddDest), libc::ESRCH, c"Service not defined"),
        (
            Some(F::AddDest),
            libc::EEXIST,
            c"Destination already exists",
        ),
        (Some(F::UpdateDest), libc::ESRCH, c"Service not defined"),
        (Some(F::UpdateDest), libc::ENOENT, c"No such destination"),
        (Some(F::DelDest), libc::ESRCH, c"Service not defined"),
        (Some(F::DelDest), libc::ENOENT, c"No such destination"),
        (
            Some(F::StartDaemon),
            libc::EEXIST,
            c"Daemon has already run",
        ),
        (Some(F::StopDaemon), libc::ESRCH, c"No daemon is running"),
        (Some(F::GetDests), libc::ESRCH, c"No such service"),
        (Some(F::GetService), libc::ESRCH, c"No such service"),
        (None, libc::EPERM, c"Permission denied (you must be root)"),
        (
            None,
            libc::EINVAL,
            c"Invalid operation.  Possibly wrong module version, address not unicast, ...",
        ),
        (None, libc::ENOPROTOOPT, c"Protocol not available"),
        (None, libc::ENOMEM, c"Memory allocation problem"),
        (None, libc::EOPNOTSUPP, c"Operation not supported with IPv6"),
        (
            None,
            libc::EAFNOSUPPORT,
            c"Operation not supported with specified address family",
        ),
        (None, libc::EMSGSIZE, c"Module is wrong version"),
    ];
    for (f, e, msg) in table {
        if f.is_none_or(|f| f as u8 == func) && *e == err {
            return msg.as_ptr();
        }
    }
    // SAFETY: strerror returns a string owned by libc.
    unsafe { libc::strerror(err) }
}

/// The private conversions, for the unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::{entry_of, service_of};
}
