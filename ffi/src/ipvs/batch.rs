//! Batches: a list of changes sent to the kernel together (many messages per `sendmsg`), with
//! one result per change.
//!
//! Build with `lbnet_ipvs_batch_new` and the `lbnet_ipvs_batch_*` adders (each checks its
//! arguments at once, so a bad change is refused before anything is sent), send with
//! `lbnet_ipvs_batch_apply`, read each change's outcome with `lbnet_ipvs_batch_result`, free with
//! `lbnet_ipvs_batch_free`. The kernel applies the changes in order and does not stop at a
//! failed one; there is no rollback.
//!
//! For callers that pay for every call into the library (Go through cgo, other languages
//! through their FFI), the same batch can be filled and read in a constant number of calls:
//! `lbnet_ipvs_batch_add_changes` appends an array of plain-data `lbnet_ipvs_change` values
//! (all or nothing), and `lbnet_ipvs_batch_results` copies every change's result code out at
//! once.

use std::ffi::c_char;

use lbnet::ipvs::Change;
use lbnet::{Error, ErrorKind};

use super::convert::*;
use super::handle::lbnet_ipvs_handle;
use super::types::*;
use crate::common::{
    arg_mut, arg_ref, arg_slice, copy_out_str, fail_with_message, guard, ARG, OUTPUT,
};

/// `lbnet_ipvs_change.op`: add the service `svc` (as `lbnet_ipvs_batch_add_service`).
pub const LBNET_IPVS_OP_ADD_SERVICE: u32 = 1;
/// `lbnet_ipvs_change.op`: update the service `svc` (as `lbnet_ipvs_batch_update_service`).
pub const LBNET_IPVS_OP_UPDATE_SERVICE: u32 = 2;
/// `lbnet_ipvs_change.op`: delete the service `svc`, key fields only (as
/// `lbnet_ipvs_batch_delete_service`).
pub const LBNET_IPVS_OP_DELETE_SERVICE: u32 = 3;
/// `lbnet_ipvs_change.op`: add the destination `dest` to `svc` (as `lbnet_ipvs_batch_add_dest`).
pub const LBNET_IPVS_OP_ADD_DEST: u32 = 4;
/// `lbnet_ipvs_change.op`: update the destination `dest` of `svc` (as
/// `lbnet_ipvs_batch_update_dest`).
pub const LBNET_IPVS_OP_UPDATE_DEST: u32 = 5;
/// `lbnet_ipvs_change.op`: delete the destination at `dest.addr`/`dest.port` from `svc` (as
/// `lbnet_ipvs_batch_delete_dest`).
pub const LBNET_IPVS_OP_DELETE_DEST: u32 = 6;
/// `lbnet_ipvs_change.op`: zero the counters of `svc` (as `lbnet_ipvs_batch_zero` with a
/// service).
pub const LBNET_IPVS_OP_ZERO: u32 = 7;
/// `lbnet_ipvs_change.op`: zero the counters of every service (as `lbnet_ipvs_batch_zero` with
/// NULL); `svc` and `dest` are ignored.
pub const LBNET_IPVS_OP_ZERO_ALL: u32 = 8;

/// One change of a batch as plain data, for `lbnet_ipvs_batch_add_changes`: what to do (`op`,
/// one of `LBNET_IPVS_OP_*`) and to what. It holds no pointers, so an array of them can be
/// built in any language's own memory and handed over in one call.
///
/// Which fields are read depends on `op`, exactly as for the single-change adders: the whole
/// `svc` for add/update service, only its key fields (`af`, `protocol`, `addr`, `port`,
/// `fwmark`) for the other ops; the whole `dest` for add/update destination, only `dest.addr`
/// and `dest.port` for delete destination; neither for `LBNET_IPVS_OP_ZERO_ALL`. Fields not
/// read may hold anything. `op` 0 is not a valid op, so a zero-filled change is refused.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct lbnet_ipvs_change {
    /// What to do: one of `LBNET_IPVS_OP_*`.
    pub op: u32,
    /// The service the change is about (all ops but `LBNET_IPVS_OP_ZERO_ALL`).
    pub svc: lbnet_ipvs_service,
    /// The destination (destination ops only).
    pub dest: lbnet_ipvs_dest,
}

/// The core change an op means, read from `svc` and (for destination ops) `dest`; `-EINVAL`
/// for an unknown op, a bad field, or a destination op without `dest`.
fn to_change(
    op: u32,
    svc: &lbnet_ipvs_service,
    dest: Option<&lbnet_ipvs_dest>,
) -> Result<Change, Error> {
    let dest = || dest.ok_or_else(|| Error::invalid(ARG, "dest is NULL"));
    Ok(match op {
        LBNET_IPVS_OP_ADD_SERVICE => Change::NewService(service_from_c(svc)?),
        LBNET_IPVS_OP_UPDATE_SERVICE => Change::UpdateService(service_from_c(svc)?),
        LBNET_IPVS_OP_DELETE_SERVICE => Change::DeleteService(service_key(svc)?),
        LBNET_IPVS_OP_ADD_DEST => Change::NewDestination(service_key(svc)?, dest_from_c(dest()?)?),
        LBNET_IPVS_OP_UPDATE_DEST => {
            Change::UpdateDestination(service_key(svc)?, dest_from_c(dest()?)?)
        }
        LBNET_IPVS_OP_DELETE_DEST => {
            let k = service_key(svc)?;
            let d = dest()?;
            Change::DeleteDestination(k, d.addr.to_ip("dest addr")?, d.port)
        }
        LBNET_IPVS_OP_ZERO => Change::Zero(service_key(svc)?),
        LBNET_IPVS_OP_ZERO_ALL => Change::ZeroAll,
        _ => {
            return Err(Error::invalid(ARG, format!(
                "op {op} is not one of LBNET_IPVS_OP_* ({LBNET_IPVS_OP_ADD_SERVICE}-{LBNET_IPVS_OP_ZERO_ALL})"
            )))
        }
    })
}

/// A list of IPVS changes to apply together (opaque). Not safe for concurrent use from several
/// threads.
pub struct lbnet_ipvs_batch {
    changes: Vec<Change>,
    /// One result per change after apply; `None` before the first apply and after a change is
    /// added.
    results: Option<Vec<Result<(), Error>>>,
}

#[cfg(test)]
impl lbnet_ipvs_batch {
    /// The changes as the core sees them (for the unit tests).
    pub(crate) fn changes(&self) -> &[Change] {
        &self.changes
    }
}

unsafe fn batch<'a>(b: *mut lbnet_ipvs_batch) -> Result<&'a mut lbnet_ipvs_batch, Error> {
    // SAFETY: b is NULL or a batch from lbnet_ipvs_batch_new that is not freed.
    unsafe { arg_mut(b, "batch") }
}

fn push(b: &mut lbnet_ipvs_batch, c: Change) -> Result<(), Error> {
    b.changes.push(c);
    b.results = None;
    Ok(())
}

/// A new, empty batch. Never NULL (allocation failure aborts, like Rust's allocator).
#[no_mangle]
pub extern "C" fn lbnet_ipvs_batch_new() -> *mut lbnet_ipvs_batch {
    Box::into_raw(Box::new(lbnet_ipvs_batch {
        changes: Vec::new(),
        results: None,
    }))
}

/// Frees a batch. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_free(b: *mut lbnet_ipvs_batch) {
    if !b.is_null() {
        // SAFETY: b came from lbnet_ipvs_batch_new and is freed once.
        drop(unsafe { Box::from_raw(b) });
    }
}

/// Number of changes in the batch (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_len(b: *const lbnet_ipvs_batch) -> usize {
    // SAFETY: b is NULL or a live batch.
    unsafe { b.as_ref() }.map_or(0, |b| b.changes.len())
}

/// Removes every change and result, keeping the batch for reuse. Returns 0 or `-EINVAL` (NULL).
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_clear(b: *mut lbnet_ipvs_batch) -> i32 {
    guard(|| {
        // SAFETY: checked for NULL.
        let b = unsafe { batch(b) }?;
        b.changes.clear();
        b.results = None;
        Ok(())
    })
}

/// Appends "add service `svc`". Returns 0 or `-EINVAL` (NULL pointer, bad field).
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_add_service(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        push(b, to_change(LBNET_IPVS_OP_ADD_SERVICE, s, None)?)
    })
}

/// Appends "update service `svc`". Returns 0 or `-EINVAL`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_update_service(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        push(b, to_change(LBNET_IPVS_OP_UPDATE_SERVICE, s, None)?)
    })
}

/// Appends "delete service `svc`" (key fields only). Returns 0 or `-EINVAL`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_delete_service(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        push(b, to_change(LBNET_IPVS_OP_DELETE_SERVICE, s, None)?)
    })
}

/// Appends "add destination `dest` to service `svc`". Returns 0 or `-EINVAL`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_add_dest(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
    dest: *const lbnet_ipvs_dest,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        let d = unsafe { arg_ref(dest, "dest") }?;
        push(b, to_change(LBNET_IPVS_OP_ADD_DEST, s, Some(d))?)
    })
}

/// Appends "update destination `dest` of service `svc`". Returns 0 or `-EINVAL`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_update_dest(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
    dest: *const lbnet_ipvs_dest,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        let d = unsafe { arg_ref(dest, "dest") }?;
        push(b, to_change(LBNET_IPVS_OP_UPDATE_DEST, s, Some(d))?)
    })
}

/// Appends "delete the destination at `dest`'s address and port from service `svc`". Returns 0
/// or `-EINVAL`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_delete_dest(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
    dest: *const lbnet_ipvs_dest,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        let d = unsafe { arg_ref(dest, "dest") }?;
        push(b, to_change(LBNET_IPVS_OP_DELETE_DEST, s, Some(d))?)
    })
}

/// Appends "zero the counters of service `svc`", or of every service when `svc` is NULL.
/// Returns 0 or `-EINVAL`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_zero(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        // SAFETY: svc is NULL or readable.
        let c = match unsafe { svc.as_ref() } {
            None => Change::ZeroAll,
            Some(s) => to_change(LBNET_IPVS_OP_ZERO, s, None)?,
        };
        push(b, c)
    })
}

/// Appends the `n` changes of the array `changes` to the batch, in order, all or nothing.
///
/// Every change is checked as the single-change adders check theirs (unknown `op`, bad family,
/// protocol, address, name, forwarding method...). If one is refused, nothing is appended (the
/// batch is exactly as before, results included), the function returns its negative errno
/// (`-EINVAL`), `lbnet_last_error` names it ("change 3: ..."), and `*bad_index`, when
/// `bad_index` is not NULL, receives its index in `changes`. For failures that are not about
/// one change (NULL `b`, NULL `changes` with `n` > 0, a count too large for memory), `*bad_index`
/// receives `SIZE_MAX`; on success it is left unchanged.
///
/// `changes` may be NULL when `n` is 0 (a no-op that keeps any results of the last apply);
/// appending at least one change discards the results of the last apply, like every adder.
/// The library copies what it needs: the array can be freed or reused as soon as this returns.
///
/// Returns 0; `-EINVAL` (NULL pointer, bad change, `n` above what an array can hold); `-ENOMEM`
/// when the batch cannot grow by `n`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_add_changes(
    b: *mut lbnet_ipvs_batch,
    changes: *const lbnet_ipvs_change,
    n: usize,
    bad_index: *mut usize,
) -> i32 {
    let mut bad: Option<usize> = None;
    let rc = guard(|| {
        bad = Some(usize::MAX);
        // SAFETY: pointers are NULL or valid (checked); changes points to n readable elements.
        let b = unsafe { batch(b) }?;
        let cs = unsafe { arg_slice(changes, n, "changes") }?;
        b.changes.len().checked_add(n).ok_or_else(|| {
            Error::invalid(
                ARG,
                format!(
                    "{n} changes on top of {} overflow the batch length",
                    b.changes.len()
                ),
            )
        })?;
        let mut add = Vec::new();
        add.try_reserve_exact(n).map_err(|_| no_memory(n))?;
        for (i, c) in cs.iter().enumerate() {
            match to_change(c.op, &c.svc, Some(&c.dest)) {
                Ok(ch) => add.push(ch),
                Err(e) => {
                    bad = Some(i);
                    return Err(e.with_context(format!("change {i}")));
                }
            }
        }
        b.changes.try_reserve(n).map_err(|_| no_memory(n))?;
        if n > 0 {
            b.changes.append(&mut add);
            b.results = None;
        }
        bad = None;
        Ok(())
    });
    if rc != 0 && !bad_index.is_null() {
        // SAFETY: bad_index is non-NULL and, per the contract, valid for a write.
        unsafe { *bad_index = bad.unwrap_or(usize::MAX) };
    }
    rc
}

/// Sends every change of the batch in as few `sendmsg` calls as possible and records one result
/// per change (read them with `lbnet_ipvs_batch_result`).
///
/// Returns 0 when every change succeeded; otherwise the negative errno of the first failed
/// change (`lbnet_last_error` names it, `lbnet_last_error_kind` gives its kind), or of the
/// transport when nothing could be sent (every result is that errno then; a kernel without
/// IPVS gives `LBNET_ERROR_KIND_NOT_AVAILABLE`). An empty batch returns 0 without talking to
/// the kernel.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_apply(
    h: *const lbnet_ipvs_handle,
    b: *mut lbnet_ipvs_batch,
) -> i32 {
    let mut first_failure: Option<(usize, Error)> = None;
    let rc = guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let h = unsafe { super::handle::handle_ref(h) }?;
        let b = unsafe { batch(b) }?;
        b.results = None;
        if b.changes.is_empty() {
            b.results = Some(Vec::new());
            return Ok(());
        }
        let results = match h.apply(&b.changes) {
            Ok(r) => r,
            Err(e) => vec![Err(e.clone()); b.changes.len()],
        };
        if results.len() != b.changes.len() {
            return Err(Error::new(
                ARG,
                ErrorKind::Malformed,
                format!(
                    "batch of {} changes came back with {} results",
                    b.changes.len(),
                    results.len()
                ),
            ));
        }
        first_failure = results
            .iter()
            .enumerate()
            .find_map(|(i, r)| r.as_ref().err().map(|e| (i, e.clone())));
        b.results = Some(results);
        Ok(())
    });
    if rc != 0 {
        return rc;
    }
    match first_failure {
        None => 0,
        // The kind is the failure's own: a batch that found no IPVS reports NOT_AVAILABLE.
        Some((i, e)) => fail_with_message(&e, &format!("batch change {i} failed: {e}")),
    }
}

/// Stores in `*result` the outcome of change `index` of the last apply: 0 or its negative
/// errno. Returns 0; `-EINVAL` for NULL pointers or `index` out of range; `-ENODATA` when the
/// batch was not applied since its last change was added.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_result(
    b: *const lbnet_ipvs_batch,
    index: usize,
    result: *mut i32,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { arg_ref(b, "batch") }?;
        let out = unsafe { arg_mut(result, "result") }?;
        *out = match result_at(b, index)? {
            Ok(()) => 0,
            Err(e) => -e.errno().max(1),
        };
        Ok(())
    })
}

/// Copies the error message of change `index` of the last apply into `buf` (`cap` bytes, NUL
/// included); an empty string when the change succeeded. Returns 0; `-EINVAL` (NULL, bad
/// index), `-ENODATA` (not applied) or `-ERANGE` (buffer too small).
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_result_message(
    b: *const lbnet_ipvs_batch,
    index: usize,
    buf: *mut c_char,
    cap: usize,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { arg_ref(b, "batch") }?;
        let msg = match result_at(b, index)? {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        };
        unsafe { copy_out_str(&msg, buf, cap) }
    })
}

/// Copies the outcome of every change of the last apply into `results[0..len]`, where `len` is
/// `lbnet_ipvs_batch_len(b)`: 0 for a change that succeeded, its negative errno for one that
/// failed (the same values `lbnet_ipvs_batch_result` gives one at a time). `cap` is the number
/// of `int32_t` the array holds; `results` may be NULL only when `cap` is 0.
///
/// Returns 0; `-EINVAL` (NULL pointer, `cap` above what an array can hold); `-ERANGE` when `cap`
/// is below the batch length (nothing is written); `-ENODATA` when the batch was not applied
/// since its last change was added (nothing is written). Read the message of a failed change
/// with `lbnet_ipvs_batch_result_message`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_results(
    b: *const lbnet_ipvs_batch,
    results: *mut i32,
    cap: usize,
) -> i32 {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { arg_ref(b, "batch") }?;
        if results.is_null() && cap > 0 {
            return Err(Error::invalid(
                ARG,
                format!("results is NULL with cap {cap}"),
            ));
        }
        if cap > isize::MAX as usize / std::mem::size_of::<i32>() {
            return Err(Error::invalid(
                ARG,
                format!("results cap {cap} is too large"),
            ));
        }
        let rs = b.results.as_ref().ok_or_else(not_applied)?;
        if rs.len() != b.changes.len() {
            return Err(Error::malformed(
                ARG,
                format!("{} results for {} changes", rs.len(), b.changes.len()),
            ));
        }
        if cap < rs.len() {
            return Err(Error::new(
                OUTPUT,
                ErrorKind::OutOfRange,
                format!("results holds {cap} codes, the batch has {}", rs.len()),
            ));
        }
        if rs.is_empty() {
            return Ok(());
        }
        // SAFETY: results is non-NULL (rs is not empty so cap > 0) and valid for cap >= rs.len()
        // writes of i32, per the contract.
        let out = unsafe { std::slice::from_raw_parts_mut(results, rs.len()) };
        for (o, r) in out.iter_mut().zip(rs) {
            *o = match r {
                Ok(()) => 0,
                Err(e) => -e.errno().max(1),
            };
        }
        Ok(())
    })
}

fn no_memory(n: usize) -> Error {
    Error::from_kernel(
        ARG,
        libc::ENOMEM,
        format!("no memory for {n} more changes"),
        None,
    )
}

fn not_applied() -> Error {
    Error::from_kernel(
        ARG,
        libc::ENODATA,
        "the batch has not been applied since its last change",
        None,
    )
}

fn result_at(b: &lbnet_ipvs_batch, index: usize) -> Result<&Result<(), Error>, Error> {
    if index >= b.changes.len() {
        return Err(Error::invalid(
            ARG,
            format!(
                "index {index} out of range: the batch has {} changes",
                b.changes.len()
            ),
        ));
    }
    let results = b.results.as_ref().ok_or_else(not_applied)?;
    results
        .get(index)
        .ok_or_else(|| Error::malformed(ARG, format!("no result for change {index}")))
}
