//! Raw `BPF_MAP_UPDATE_BATCH` / `BPF_MAP_LOOKUP_BATCH` for `u32 -> u32` array maps (the Maglev
//! rings), which aya 0.14 does not wrap.
//!
//! Batch operations exist since Linux 5.6 (array and hash maps). Older kernels answer `EINVAL`
//! for an unknown command; [`update_u32`] then falls back to one `BPF_MAP_UPDATE_ELEM` per entry
//! and remembers that for the process. Why batch: on a 2-vCPU VM running Linux 6.18, writing a
//! `u32 -> u32` array map one `BPF_MAP_UPDATE_ELEM` per entry cost about 1.2 µs per entry and one
//! `BPF_MAP_UPDATE_BATCH` about 0.3 µs per entry, so a full 65,537-slot ring took ~77 ms one by
//! one against ~20 ms batched (`xdp_bench` in benches/xdp measures both again).

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Origin, Result, XdpOperation};

const UPDATE: Origin = Origin::Xdp(XdpOperation::Update);
const READ: Origin = Origin::Xdp(XdpOperation::Read);

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;
const BPF_MAP_UPDATE_BATCH: libc::c_long = 26;
/// The kernel-internal `ENOTSUPP`, which leaks to user space from some BPF paths.
const ENOTSUPP: i32 = 524;

static NO_BATCH: AtomicBool = AtomicBool::new(false);

#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct ElemAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::result::Result<(), i32> {
    // SAFETY: `attr` is a valid bpf_attr prefix for `cmd`, the pointers in it point to live
    // buffers of the sizes the kernel derives from the map and `count`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    } else {
        Ok(())
    }
}

/// Whether the batch syscall is used (false after a kernel refused it).
pub fn batch_supported() -> bool {
    !NO_BATCH.load(Ordering::Relaxed)
}

/// Writes `values[i]` at index `keys[i]` of a `u32 -> u32` array map, in batches where the
/// kernel supports it. Returns how many entries were written.
pub fn update_u32(map: BorrowedFd<'_>, keys: &[u32], values: &[u32]) -> Result<usize> {
    if keys.len() != values.len() {
        return Err(Error::invalid(
            UPDATE,
            "batch update: keys and values differ in length",
        ));
    }
    if keys.is_empty() {
        return Ok(0);
    }
    let fd = map.as_raw_fd() as u32;
    if batch_supported() {
        let mut done = 0usize;
        while done < keys.len() {
            let n = (keys.len() - done).min(1 << 16);
            let mut attr = BatchAttr {
                keys: keys[done..].as_ptr() as u64,
                values: values[done..].as_ptr() as u64,
                count: n as u32,
                map_fd: fd,
                ..Default::default()
            };
            match bpf(BPF_MAP_UPDATE_BATCH, &mut attr) {
                Ok(()) => done += attr.count as usize,
                Err(e) if done == 0 && (e == libc::EINVAL || e == ENOTSUPP) => {
                    NO_BATCH.store(true, Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    return Err(Error::from_kernel(
                        UPDATE,
                        e,
                        "BPF_MAP_UPDATE_BATCH on the ring",
                        None,
                    ))
                }
            }
        }
        if batch_supported() {
            return Ok(done);
        }
    }
    update_each_u32(map, keys, values)
}

/// Writes the entries one `BPF_MAP_UPDATE_ELEM` at a time (the fallback, and the baseline the
/// benchmark compares the batch with).
pub fn update_each_u32(map: BorrowedFd<'_>, keys: &[u32], values: &[u32]) -> Result<usize> {
    if keys.len() != values.len() {
        return Err(Error::invalid(
            UPDATE,
            "update: keys and values differ in length",
        ));
    }
    for (k, v) in keys.iter().zip(values) {
        let mut attr = ElemAttr {
            map_fd: map.as_raw_fd() as u32,
            key: k as *const u32 as u64,
            value: v as *const u32 as u64,
            ..Default::default()
        };
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map_err(|e| {
            Error::from_kernel(UPDATE, e, format!("BPF_MAP_UPDATE_ELEM index {k}"), None)
        })?;
    }
    Ok(keys.len())
}

/// Reads `out.len()` consecutive entries starting at index `start` of a `u32 -> u32` array map.
pub fn read_range_u32(map: BorrowedFd<'_>, start: u32, out: &mut [u32]) -> Result<()> {
    let fd = map.as_raw_fd() as u32;
    if batch_supported() && !out.is_empty() {
        // The batch token of an array is the previous index (the kernel walks on with
        // map_get_next_key), so starting at `start` means a token of `start - 1`.
        let mut keys = vec![0u32; out.len().min(1 << 16)];
        let mut vals = vec![0u32; keys.len()];
        let mut token = start.wrapping_sub(1);
        let mut got = 0usize;
        let mut first = true;
        while got < out.len() {
            let n = (out.len() - got).min(keys.len());
            let mut attr = BatchAttr {
                in_batch: if first && start == 0 {
                    0
                } else {
                    &token as *const u32 as u64
                },
                out_batch: &mut token as *mut u32 as u64,
                keys: keys.as_mut_ptr() as u64,
                values: vals.as_mut_ptr() as u64,
                count: n as u32,
                map_fd: fd,
                ..Default::default()
            };
            let r = bpf(BPF_MAP_LOOKUP_BATCH, &mut attr);
            match r {
                Ok(()) | Err(libc::ENOENT) => {}
                Err(e) if first && (e == libc::EINVAL || e == ENOTSUPP) => {
                    NO_BATCH.store(true, Ordering::Relaxed);
                    return read_range_u32(map, start, out);
                }
                Err(e) => return Err(Error::from_kernel(READ, e, "BPF_MAP_LOOKUP_BATCH", None)),
            }
            first = false;
            let c = (attr.count as usize).min(n);
            for i in 0..c {
                let k = keys[i].wrapping_sub(start) as usize;
                if k < out.len() {
                    out[k] = vals[i];
                }
            }
            got += c;
            if r.is_err() || c == 0 {
                break;
            }
        }
        if got < out.len() {
            return Err(Error::malformed(
                READ,
                format!(
                    "BPF_MAP_LOOKUP_BATCH returned {got} of {} entries",
                    out.len()
                ),
            ));
        }
        return Ok(());
    }
    for (i, slot) in out.iter_mut().enumerate() {
        let key = start + i as u32;
        let mut attr = ElemAttr {
            map_fd: fd,
            key: &key as *const u32 as u64,
            value: slot as *mut u32 as u64,
            ..Default::default()
        };
        bpf(BPF_MAP_LOOKUP_ELEM, &mut attr).map_err(|e| {
            Error::from_kernel(READ, e, format!("BPF_MAP_LOOKUP_ELEM index {key}"), None)
        })?;
    }
    Ok(())
}

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_TYPE_LRU_HASH: u32 = 9;

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

/// Creates a `BPF_MAP_TYPE_LRU_HASH` map (Linux 4.10+) named `name` (at most 15 bytes, Linux
/// 4.15+) and returns its file descriptor: the per-CPU connection tables that the control
/// plane puts into the program's array of maps (`LAYOUT_LRU_PER_CPU` in `bpf/xdplb.c`).
pub fn create_lru_hash(
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    name: &str,
) -> Result<std::os::fd::OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type: BPF_MAP_TYPE_LRU_HASH,
        key_size,
        value_size,
        max_entries,
        ..Default::default()
    };
    let n = name.len().min(15);
    attr.map_name[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: attr is a valid bpf_attr prefix for BPF_MAP_CREATE.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_MAP_CREATE,
            &mut attr as *mut MapCreateAttr as *mut libc::c_void,
            std::mem::size_of::<MapCreateAttr>() as libc::c_uint,
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::from_io(UPDATE, "create LRU hash map", &e));
    }
    // SAFETY: the kernel returned a new file descriptor that nothing else owns.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(r as i32) })
}

const BPF_MAP_DELETE_ELEM: libc::c_long = 3;

/// Deletes index `key` of a map keyed by `u32` (`BPF_MAP_DELETE_ELEM`): for an array of maps,
/// empties the slot.
pub fn delete_u32(map: BorrowedFd<'_>, key: u32) -> Result<()> {
    let mut attr = ElemAttr {
        map_fd: map.as_raw_fd() as u32,
        key: &key as *const u32 as u64,
        ..Default::default()
    };
    bpf(BPF_MAP_DELETE_ELEM, &mut attr).map_err(|e| {
        Error::from_kernel(UPDATE, e, format!("BPF_MAP_DELETE_ELEM index {key}"), None)
    })
}
