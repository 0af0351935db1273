//! Side-by-side harness for lbnet's XDP load balancer and Katran's (`balancer_ingress`, built
//! unmodified from the peer tarball by `benches/xdp/katran/build-bpf.sh`).
//!
//! Katran's object uses BTF map-in-map definitions (`lru_mapping`), so it is loaded with libbpf
//! (linked through a few `extern "C"` declarations of libbpf 1.x's stable API). lbnet's program is
//! loaded and filled by its own control plane ([`lbnet::xdp::XdpLb`]); its maps are pinned so
//! this harness can read the ring, backends and VIP numbers back and write the very same ring
//! and reals into Katran's `ch_rings` and `reals` (real index = lbnet backend index, VIP number
//! = lbnet VIP number), and its program is found by name among the kernel's programs
//! (BPF_PROG_GET_NEXT_ID) as the `xdplb` program that uses the pinned `ring` map.

use std::ffi::{c_char, c_int, c_void, CString};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Katran's RING_SIZE and ours (both 65,537).
pub const RING_SIZE: u32 = 65_537;
/// Bytes of a packet the restore harness rewrites before every repetition.
pub const TMPL_BYTES: usize = 128;
/// The restore harness object (`bpf/restore.bpf.c`).
pub static RESTORE_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/restore.o"));

#[allow(non_camel_case_types)]
type bpf_object = c_void;
#[allow(non_camel_case_types)]
type bpf_map = c_void;
#[allow(non_camel_case_types)]
type bpf_program = c_void;

/// `struct bpf_test_run_opts` of libbpf 1.x (80 bytes, checked against the header).
#[repr(C)]
struct TestRunOpts {
    sz: usize,
    data_in: *const c_void,
    data_out: *mut c_void,
    data_size_in: u32,
    data_size_out: u32,
    ctx_in: *const c_void,
    ctx_out: *mut c_void,
    ctx_size_in: u32,
    ctx_size_out: u32,
    retval: u32,
    repeat: c_int,
    duration: u32,
    flags: u32,
    cpu: u32,
    batch_size: u32,
}

impl Default for TestRunOpts {
    fn default() -> Self {
        // SAFETY: all-zero is the documented "no options" value (null pointers, zero sizes).
        unsafe { std::mem::zeroed() }
    }
}

extern "C" {
    fn bpf_object__open_mem(buf: *const c_void, sz: usize, opts: *const c_void) -> *mut bpf_object;
    fn bpf_object__open_file(path: *const c_char, opts: *const c_void) -> *mut bpf_object;
    fn bpf_object__load(obj: *mut bpf_object) -> c_int;
    fn bpf_object__close(obj: *mut bpf_object);
    fn bpf_object__find_map_by_name(obj: *const bpf_object, name: *const c_char) -> *mut bpf_map;
    fn bpf_object__find_program_by_name(
        obj: *const bpf_object,
        name: *const c_char,
    ) -> *mut bpf_program;
    fn bpf_map__set_max_entries(map: *mut bpf_map, n: u32) -> c_int;
    fn bpf_map__fd(map: *const bpf_map) -> c_int;
    fn bpf_program__fd(prog: *const bpf_program) -> c_int;
    fn bpf_map_update_elem(
        fd: c_int,
        key: *const c_void,
        value: *const c_void,
        flags: u64,
    ) -> c_int;
    fn bpf_map_lookup_elem(fd: c_int, key: *const c_void, value: *mut c_void) -> c_int;
    fn bpf_map_create(
        map_type: c_int,
        name: *const c_char,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        opts: *const c_void,
    ) -> c_int;
    fn bpf_prog_test_run_opts(fd: c_int, opts: *mut TestRunOpts) -> c_int;
    fn bpf_prog_get_next_id(start: u32, next: *mut u32) -> c_int;
    fn bpf_prog_get_fd_by_id(id: u32) -> c_int;
    fn bpf_obj_get_info_by_fd(fd: c_int, info: *mut c_void, len: *mut u32) -> c_int;
    fn bpf_obj_get(path: *const c_char) -> c_int;
}

const BPF_MAP_TYPE_LRU_HASH: c_int = 9;

/// CPUs the kernel may run a program on (not this thread's affinity).
pub fn possible_cpus() -> u32 {
    // SAFETY: sysconf has no memory side effects.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    n.max(1) as u32
}

/// Errors are strings: this is a benchmark and test harness.
pub type Result<T> = std::result::Result<T, String>;

fn errno(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

fn update<K, V>(fd: c_int, k: &K, v: &V, what: &str) -> Result<()> {
    // SAFETY: key and value point to live values of the map's key and value sizes.
    let r = unsafe { bpf_map_update_elem(fd, k as *const K as _, v as *const V as _, 0) };
    if r != 0 {
        return Err(format!("{what}: {}", std::io::Error::from_raw_os_error(-r)));
    }
    Ok(())
}

fn lookup<K, V: Default>(fd: c_int, k: &K, what: &str) -> Result<V> {
    let mut v = V::default();
    // SAFETY: as in update.
    let r = unsafe { bpf_map_lookup_elem(fd, k as *const K as _, &mut v as *mut V as _) };
    if r != 0 {
        return Err(format!("{what}: {}", std::io::Error::from_raw_os_error(-r)));
    }
    Ok(v)
}

/// A BPF object loaded with libbpf; closed (maps and programs released) on drop.
pub struct Object {
    obj: *mut bpf_object,
}

impl Object {
    fn open(obj: *mut bpf_object, what: &str) -> Result<Object> {
        if obj.is_null() {
            return Err(errno(&format!("open {what}")));
        }
        Ok(Object { obj })
    }

    /// Opens an object from memory; `resize` sets map sizes before loading.
    pub fn load_mem(bytes: &[u8], resize: &[(&str, u32)]) -> Result<Object> {
        // SAFETY: libbpf copies the buffer.
        let o = Self::open(
            unsafe { bpf_object__open_mem(bytes.as_ptr() as _, bytes.len(), std::ptr::null()) },
            "object in memory",
        )?;
        o.load(resize)?;
        Ok(o)
    }

    /// Opens an object file; `resize` sets map sizes before loading.
    pub fn load_file(path: &Path, resize: &[(&str, u32)]) -> Result<Object> {
        let p = cstr(&path.to_string_lossy());
        // SAFETY: p is a valid C string.
        let o = Self::open(
            unsafe { bpf_object__open_file(p.as_ptr(), std::ptr::null()) },
            &path.display().to_string(),
        )?;
        o.load(resize)?;
        Ok(o)
    }

    fn load(&self, resize: &[(&str, u32)]) -> Result<()> {
        for (name, n) in resize {
            let n_c = cstr(name);
            // SAFETY: obj is open, not loaded.
            let m = unsafe { bpf_object__find_map_by_name(self.obj, n_c.as_ptr()) };
            if m.is_null() || unsafe { bpf_map__set_max_entries(m, *n) } != 0 {
                return Err(format!("resize map {name}"));
            }
        }
        // SAFETY: obj is open.
        let r = unsafe { bpf_object__load(self.obj) };
        if r != 0 {
            return Err(format!(
                "load BPF object: {}",
                std::io::Error::from_raw_os_error(-r)
            ));
        }
        Ok(())
    }

    /// The fd of map `name`.
    pub fn map(&self, name: &str) -> Result<c_int> {
        let n = cstr(name);
        // SAFETY: obj is loaded.
        let m = unsafe { bpf_object__find_map_by_name(self.obj, n.as_ptr()) };
        if m.is_null() {
            return Err(format!("no map {name}"));
        }
        Ok(unsafe { bpf_map__fd(m) })
    }

    /// The fd of program `name`.
    pub fn prog(&self, name: &str) -> Result<c_int> {
        let n = cstr(name);
        // SAFETY: obj is loaded.
        let p = unsafe { bpf_object__find_program_by_name(self.obj, n.as_ptr()) };
        if p.is_null() {
            return Err(format!("no program {name}"));
        }
        Ok(unsafe { bpf_program__fd(p) })
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: obj came from bpf_object__open_*.
        unsafe { bpf_object__close(self.obj) }
    }
}

/// One BPF_PROG_TEST_RUN: the action, the output packet and the kernel-measured ns per repetition.
pub struct Run {
    /// XDP action (1 drop, 2 pass, 3 tx).
    pub action: u32,
    /// Output packet (of the last repetition).
    pub packet: Vec<u8>,
    /// Average ns per repetition as measured by the kernel (includes its timer reads per batch).
    pub ns: f64,
}

/// Runs program `fd` `repeat` times on `packet`.
pub fn test_run(fd: c_int, packet: &[u8], repeat: u32) -> Result<Run> {
    let mut out = vec![0u8; packet.len() + 512];
    let mut o = TestRunOpts {
        sz: std::mem::size_of::<TestRunOpts>(),
        data_in: packet.as_ptr() as _,
        data_out: out.as_mut_ptr() as _,
        data_size_in: packet.len() as u32,
        data_size_out: out.len() as u32,
        repeat: repeat as c_int,
        ..Default::default()
    };
    // SAFETY: buffers outlive the call; sizes are theirs.
    let r = unsafe { bpf_prog_test_run_opts(fd, &mut o) };
    if r != 0 {
        return Err(format!(
            "BPF_PROG_TEST_RUN: {}",
            std::io::Error::from_raw_os_error(-r)
        ));
    }
    out.truncate(o.data_size_out as usize);
    Ok(Run {
        action: o.retval,
        packet: out,
        ns: o.duration as f64,
    })
}

/// What the kernel says about a loaded program: instruction counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgInfo {
    /// Instructions after the verifier's rewrites (`bpftool prog dump xlated` length).
    pub xlated_insns: u32,
    /// Bytes of JITed machine code.
    pub jited_bytes: u32,
    /// Instructions the verifier processed (Linux 5.16+; 0 before).
    pub verified_insns: u32,
}

fn prog_info_raw(fd: c_int, map_ids: &mut [u32]) -> Result<([u8; 232], u32)> {
    let mut info = [0u8; 232];
    let mut len = info.len() as u32;
    info[52..56].copy_from_slice(&(map_ids.len() as u32).to_ne_bytes());
    info[56..64].copy_from_slice(&(map_ids.as_mut_ptr() as u64).to_ne_bytes());
    // SAFETY: info is a bpf_prog_info-sized buffer; map_ids has the announced room.
    if unsafe { bpf_obj_get_info_by_fd(fd, info.as_mut_ptr() as _, &mut len) } != 0 {
        return Err(errno("BPF_OBJ_GET_INFO_BY_FD"));
    }
    let nr = u32::from_ne_bytes(info[52..56].try_into().unwrap());
    Ok((info, nr))
}

/// Instruction counts of program `fd`.
pub fn prog_info(fd: c_int) -> Result<ProgInfo> {
    let (info, _) = prog_info_raw(fd, &mut [])?;
    let u = |o: usize| u32::from_ne_bytes(info[o..o + 4].try_into().unwrap());
    Ok(ProgInfo {
        xlated_insns: u(20) / 8,
        jited_bytes: u(16),
        verified_insns: u(216),
    })
}

fn map_id(fd: c_int) -> Result<u32> {
    let mut info = [0u8; 128];
    let mut len = info.len() as u32;
    // SAFETY: info is large enough for the map info prefix the kernel fills.
    if unsafe { bpf_obj_get_info_by_fd(fd, info.as_mut_ptr() as _, &mut len) } != 0 {
        return Err(errno("map info"));
    }
    Ok(u32::from_ne_bytes(info[4..8].try_into().unwrap()))
}

/// The fd of the newest program called `name` that uses the map `map_fd`.
pub fn find_prog_using_map(name: &str, map_fd: c_int) -> Result<c_int> {
    let want = map_id(map_fd)?;
    let mut id = 0u32;
    let mut found = None;
    // SAFETY: plain syscalls on ids and fds.
    while unsafe { bpf_prog_get_next_id(id, &mut id) } == 0 {
        let fd = unsafe { bpf_prog_get_fd_by_id(id) };
        if fd < 0 {
            continue;
        }
        let mut ids = [0u32; 64];
        let (info, nr) = prog_info_raw(fd, &mut ids)?;
        let pname = &info[64..80];
        let pname = &pname[..pname.iter().position(|&b| b == 0).unwrap_or(16)];
        if pname == name.as_bytes() && ids[..(nr as usize).min(64)].contains(&want) {
            if let Some(old) = found.replace(fd) {
                unsafe { libc::close(old) };
            }
        } else {
            unsafe { libc::close(fd) };
        }
    }
    found.ok_or_else(|| format!("no loaded program {name} uses that map"))
}

/// Opens a pinned map.
pub fn pinned_map(path: &Path) -> Result<c_int> {
    let p = cstr(&path.to_string_lossy());
    // SAFETY: valid C string.
    let fd = unsafe { bpf_obj_get(p.as_ptr()) };
    if fd < 0 {
        return Err(errno(&format!("open pinned {}", path.display())));
    }
    Ok(fd)
}

/// lbnet's `struct backend` (bpf/xdplb.h).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct OurBackend {
    addr: [u32; 4],
    family: u8,
    flags: u8,
    vip_num: u16,
    weight: u32,
}

/// Katran's `struct vip_definition` (20 bytes with padding).
#[repr(C)]
#[derive(Default)]
struct KVipDef {
    addr: [u32; 4],
    port: u16,
    proto: u8,
    pad: u8,
}

/// Katran's `struct vip_meta`.
#[repr(C)]
#[derive(Default)]
struct KVipMeta {
    flags: u32,
    vip_num: u32,
}

/// Katran's `struct real_definition` (20 bytes with padding).
#[repr(C)]
#[derive(Default)]
struct KReal {
    addr: [u32; 4],
    flags: u8,
    pad: [u8; 3],
}

const F_IPV6: u8 = 1;

/// Katran's balancer loaded with libbpf, per-CPU LRUs installed as its userspace does.
pub struct Katran {
    obj: Object,
    _lrus: Vec<OwnedFd>,
    /// The program's fd.
    pub prog: c_int,
}

use std::os::fd::{FromRawFd, OwnedFd};

impl Katran {
    /// Loads Katran's object at `path` with room for 4 VIPs' rings (Katran's loader also sizes
    /// its maps from its configuration) and one LRU per CPU in `lru_mapping`, and sets the
    /// next-hop MAC (`ctl_array[0]`).
    pub fn load(path: &Path, gw_mac: [u8; 6]) -> Result<Katran> {
        let obj = Object::load_file(
            path,
            &[("ch_rings", 4 * RING_SIZE), ("server_id_map", 1024)],
        )?;
        let prog = obj.prog("balancer_ingress")?;
        let lru_mapping = obj.map("lru_mapping")?;
        let ncpu = possible_cpus();
        let mut lrus = Vec::new();
        for cpu in 0..ncpu {
            let n = cstr("katran_lru");
            // SAFETY: plain map creation: flow_key (40 bytes) -> real_pos_lru (16 bytes), the
            // inner map template's sizes (DEFAULT_LRU_SIZE = 1,000 entries).
            let fd = unsafe {
                bpf_map_create(
                    BPF_MAP_TYPE_LRU_HASH,
                    n.as_ptr(),
                    40,
                    16,
                    1000,
                    std::ptr::null(),
                )
            };
            if fd < 0 {
                return Err(errno("create per-CPU LRU"));
            }
            update(lru_mapping, &cpu, &(fd as u32), "lru_mapping")?;
            // SAFETY: fd is ours.
            lrus.push(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let mut mac = [0u8; 8];
        mac[..6].copy_from_slice(&gw_mac);
        update(obj.map("ctl_array")?, &0u32, &mac, "ctl_array")?;
        Ok(Katran {
            obj,
            _lrus: lrus,
            prog,
        })
    }

    /// Copies lbnet's state from its pinned maps in `pin_dir`: every VIP (same number, flags 0:
    /// Katran hashes the client's address and port), every valid backend as the real of the same
    /// index, and every VIP's ring slot by slot.
    pub fn copy_from_lbnet(&self, pin_dir: &Path) -> Result<()> {
        let vips = pinned_map(&pin_dir.join("vips"))?;
        let ring = pinned_map(&pin_dir.join("ring"))?;
        let backends = pinned_map(&pin_dir.join("backends"))?;
        let (k_vips, k_reals, k_rings) = (
            self.obj.map("vip_map")?,
            self.obj.map("reals")?,
            self.obj.map("ch_rings")?,
        );
        // Our vips map: 20-byte key (addr, port, proto, family) -> (vip_num, flags).
        let mut key = [0u8; 20];
        let mut first = true;
        loop {
            let mut next = [0u8; 20];
            // SAFETY: keys of 20 bytes.
            let r = unsafe {
                libbpf_next_key(
                    vips,
                    if first {
                        std::ptr::null()
                    } else {
                        key.as_ptr() as _
                    },
                    next.as_mut_ptr() as _,
                )
            };
            if r != 0 {
                break;
            }
            first = false;
            key = next;
            let meta: [u32; 2] = lookup(vips, &key, "read vips")?;
            let mut addr = [0u32; 4];
            for (i, a) in addr.iter_mut().enumerate() {
                *a = u32::from_ne_bytes(key[i * 4..i * 4 + 4].try_into().unwrap());
            }
            let kd = KVipDef {
                addr,
                port: u16::from_ne_bytes([key[16], key[17]]),
                proto: key[18],
                pad: 0,
            };
            update(
                k_vips,
                &kd,
                &KVipMeta {
                    flags: 0,
                    vip_num: meta[0],
                },
                "vip_map",
            )?;
            for slot in 0..RING_SIZE {
                let k = meta[0] * RING_SIZE + slot;
                let v: u32 = lookup(ring, &k, "read ring")?;
                update(k_rings, &k, &v, "ch_rings")?;
            }
        }
        for i in 1..4096u32 {
            let b: OurBackend = match lookup(backends, &i, "read backends") {
                Ok(b) => b,
                Err(_) => break,
            };
            if b.flags & 1 == 0 {
                continue;
            }
            let real = KReal {
                addr: b.addr,
                flags: if b.family == 6 { F_IPV6 } else { 0 },
                pad: [0; 3],
            };
            update(k_reals, &i, &real, "reals")?;
        }
        for fd in [vips, ring, backends] {
            // SAFETY: fds opened above.
            unsafe { libc::close(fd) };
        }
        Ok(())
    }
}

extern "C" {
    #[link_name = "bpf_map_get_next_key"]
    fn libbpf_next_key(fd: c_int, key: *const c_void, next: *mut c_void) -> c_int;
}

/// The restore harness (see `bpf/restore.bpf.c`): runs a program under test `repeat` times on
/// the same fresh packet.
pub struct Restore {
    obj: Object,
    prog: c_int,
}

#[repr(C)]
struct Tmpl {
    len: u32,
    headroom: u32,
    bytes: [u8; TMPL_BYTES],
}

impl Restore {
    /// Loads the harness.
    pub fn load() -> Result<Restore> {
        let obj = Object::load_mem(RESTORE_OBJECT, &[])?;
        let prog = obj.prog("restore")?;
        Ok(Restore { obj, prog })
    }

    /// Runs `target` on `packet` (at least TMPL_BYTES long, zero after them) `repeat` times,
    /// restored before every repetition.
    pub fn run(&self, target: c_int, packet: &[u8], repeat: u32) -> Result<Run> {
        if packet.len() < TMPL_BYTES || packet[TMPL_BYTES..].iter().any(|&b| b != 0) {
            return Err("restore: packets must be >= 128 bytes with a zero tail".into());
        }
        let mut t = Tmpl {
            len: packet.len() as u32,
            headroom: 0,
            bytes: [0; TMPL_BYTES],
        };
        t.bytes.copy_from_slice(&packet[..TMPL_BYTES]);
        update(self.obj.map("tmpl")?, &0u32, &t, "tmpl")?;
        update(self.obj.map("progs")?, &0u32, &(target as u32), "progs")?;
        test_run(self.prog, packet, repeat)
    }
}

/// Builds an Ethernet frame: IPv4 or IPv6 (by `src`'s family), TCP (flags) or UDP, zero payload
/// up to `frame_len` bytes. IPv4 has DF set. Checksums are left zero (neither program checks).
pub fn frame(
    src: IpAddr,
    dst: IpAddr,
    tcp_flags: Option<u8>,
    sport: u16,
    dport: u16,
    frame_len: usize,
) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    let l4_len = if tcp_flags.is_some() { 20 } else { 8 };
    let proto = if tcp_flags.is_some() { 6 } else { 17 };
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let ip_len = (frame_len - 14) as u16;
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
            f.extend_from_slice(&ip_len.to_be_bytes());
            f.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let pl = (frame_len - 14 - 40) as u16;
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&pl.to_be_bytes());
            f.extend_from_slice(&[proto, 64]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        _ => panic!("mixed families"),
    }
    let l4_start = f.len();
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    match tcp_flags {
        Some(fl) => {
            f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, fl, 0xff, 0xff, 0, 0, 0, 0])
        }
        None => {
            let ul = (frame_len - l4_start) as u16;
            f.extend_from_slice(&ul.to_be_bytes());
            f.extend_from_slice(&[0, 0]);
        }
    }
    assert_eq!(f.len(), l4_start + l4_len);
    f.resize(frame_len, 0);
    f
}

/// The outer destination of an encapsulated frame (IPv4 or IPv6 outer header), if any.
pub fn outer_dst(frame: &[u8]) -> Option<IpAddr> {
    match frame.get(12..14)? {
        [0x08, 0x00] => {
            let b: [u8; 4] = frame.get(30..34)?.try_into().ok()?;
            Some(IpAddr::from(b))
        }
        [0x86, 0xdd] => {
            let b: [u8; 16] = frame.get(38..54)?.try_into().ok()?;
            Some(IpAddr::from(b))
        }
        _ => None,
    }
}

/// A fresh bpffs pin directory for this process.
pub fn pin_dir(tag: &str) -> PathBuf {
    PathBuf::from(format!("/sys/fs/bpf/lbnet-{tag}-{}", std::process::id()))
}

/// Removes a pin directory made by [`lbnet::xdp::XdpLb::pin`].
pub fn remove_pins(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Path of Katran's object: `$KATRAN_BPF_OBJ`, else built (or found in the cache) by
/// `benches/xdp/katran/build-bpf.sh`.
pub fn katran_object() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("KATRAN_BPF_OBJ") {
        return Ok(p.into());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../katran/build-bpf.sh");
    let out = std::process::Command::new(&script)
        .output()
        .map_err(|e| format!("run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().into())
}

/// The Maglev tool built against Katran's construction (`benches/xdp/katran/build-maglev.sh`,
/// cached), or `$KATRAN_MAGLEV_TOOL`.
pub fn maglev_tool() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("KATRAN_MAGLEV_TOOL") {
        return Ok(p.into());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../katran/build-maglev.sh");
    let out = std::process::Command::new(&script)
        .output()
        .map_err(|e| format!("run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().into())
}

/// Katran's Maglev ring of `size` slots for `endpoints` (weight, `Endpoint::hash`), numbered by
/// position: `version` "v1" (`MaglevHash`) or "v2" (`MaglevHashV2`). Each slot holds the owner's
/// position, or -1.
pub fn katran_maglev(
    tool: &Path,
    version: &str,
    endpoints: &[(u32, u64)],
    size: u32,
) -> Result<Vec<i64>> {
    use std::io::Write as _;
    let mut input = String::new();
    for (i, (w, h)) in endpoints.iter().enumerate() {
        input.push_str(&format!("{i} {w} {h}\n"));
    }
    let mut child = std::process::Command::new(tool)
        .arg(version)
        .arg(size.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("run {}: {e}", tool.display()))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .map_err(|e| format!("write to {}: {e}", tool.display()))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("wait for {}: {e}", tool.display()))?;
    if !out.status.success() {
        return Err(format!("{} {version} failed", tool.display()));
    }
    let ring = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse::<i64>().map_err(|e| format!("maglev_tool: {e}")))
        .collect::<Result<Vec<i64>>>()?;
    if ring.len() != size as usize {
        return Err(format!("maglev_tool: {} slots, not {size}", ring.len()));
    }
    Ok(ring)
}
