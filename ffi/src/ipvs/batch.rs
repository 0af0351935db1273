//! Batches: a list of changes sent to the kernel together (many messages per `sendmsg`), with
//! one result per change.
//!
//! Build with `lbnet_ipvs_batch_new` and the `lbnet_ipvs_batch_*` adders (each checks its
//! arguments at once, so a bad change is refused before anything is sent; a batch holds at most
//! `LBNET_IPVS_BATCH_MAX` changes), send with
//! `lbnet_ipvs_batch_apply`, read each change's outcome with `lbnet_ipvs_batch_result`, free with
//! `lbnet_ipvs_batch_free`. The kernel applies the changes in order and does not stop at a
//! failed one; there is no rollback.
//!
//! For callers that pay for every call into the library (Go through cgo, other languages
//! through their FFI), the same batch can be filled and read in a constant number of calls:
//! `lbnet_ipvs_batch_add_changes` appends an array of plain-data `lbnet_ipvs_change` values
//! (all or nothing), and `lbnet_ipvs_batch_results` copies every change's result code out at
//! once.

use std::ffi::{c_char, c_int};

use lbnet::ipvs::Change;
use lbnet::{Error, ErrorKind};

use super::convert::*;
use super::handle::lbnet_ipvs;
use super::types::*;
use crate::common::{arg_mut, arg_ref, arg_slice, copy_out_str, fail_with_message, guard};

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
    let dest = || dest.ok_or_else(|| Error::invalid("dest is NULL"));
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
            return Err(Error::invalid(format!(
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

/// Most changes one batch holds (1,048,576). Adding more is refused with `-E2BIG` before
/// anything is read or allocated, so a wrong count cannot make the library reserve memory it
/// will never fill. The kernel applies a batch in `sendmsg` chunks, so a bigger table is sent
/// as several batches.
pub const LBNET_IPVS_BATCH_MAX: usize = 1 << 20;

/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed.
unsafe fn batch<'a>(b: *mut lbnet_ipvs_batch) -> Result<&'a mut lbnet_ipvs_batch, Error> {
    // SAFETY: per the contract above.
    unsafe { arg_mut(b, "batch") }
}

/// `E2BIG` unless `n` more changes fit in a batch of `len` within [`LBNET_IPVS_BATCH_MAX`].
fn check_room(len: usize, n: usize) -> Result<(), Error> {
    if n > LBNET_IPVS_BATCH_MAX.saturating_sub(len) {
        return Err(Error::from_kernel(
            libc::E2BIG,
            format!(
                "{n} more changes do not fit in a batch of {len}: at most \
                 LBNET_IPVS_BATCH_MAX ({LBNET_IPVS_BATCH_MAX}) changes"
            ),
            None,
        ));
    }
    Ok(())
}

fn push(b: &mut lbnet_ipvs_batch, c: Change) -> Result<(), Error> {
    check_room(b.changes.len(), 1)?;
    b.changes.push(c);
    b.results = None;
    Ok(())
}

/// Makes a new, empty batch and stores it in `*out`. A batch has no options: it is memory in
/// this process until `lbnet_ipvs_batch_apply` sends it through a handle.
///
/// Returns 0 or `-EINVAL` (NULL `out`).
///
/// # Safety
///
/// `out` must be NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_new(out: *mut *mut lbnet_ipvs_batch) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let out = unsafe { arg_mut(out, "out") }?;
        *out = Box::into_raw(Box::new(lbnet_ipvs_batch {
            changes: Vec::new(),
            results: None,
        }));
        Ok(())
    })
}

/// Frees a batch. NULL is a no-op.
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed yet; it must not
/// be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_free(b: *mut lbnet_ipvs_batch) {
    if !b.is_null() {
        // SAFETY: per the contract above: b came from lbnet_ipvs_batch_new and is freed once.
        drop(unsafe { Box::from_raw(b) });
    }
}

/// Stores the number of changes in the batch in `*out`. Returns 0 or `-EINVAL` (NULL `b` or
/// `out`).
///
/// # Safety
///
/// `b` must be NULL or a live batch; `out` must be NULL or valid for writing one `size_t`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_len(
    b: *const lbnet_ipvs_batch,
    out: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let b = unsafe { arg_ref(b, "batch") }?;
        *unsafe { arg_mut(out, "out") }? = b.changes.len();
        Ok(())
    })
}

/// Removes every change and result, keeping the batch for reuse. Returns 0 or `-EINVAL` (NULL).
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed and not used by
/// another thread at the same time.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_clear(b: *mut lbnet_ipvs_batch) -> c_int {
    guard(|| {
        // SAFETY: checked for NULL.
        let b = unsafe { batch(b) }?;
        b.changes.clear();
        b.results = None;
        Ok(())
    })
}

/// Appends "add service `svc`". Returns 0 or `-EINVAL` (NULL pointer, bad field).
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed and not used by
/// another thread at the same time. `svc` must be NULL or point to a readable `lbnet_ipvs_service`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_add_service(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        push(b, to_change(LBNET_IPVS_OP_ADD_SERVICE, s, None)?)
    })
}

/// Appends "update service `svc`". Returns 0 or `-EINVAL`.
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed and not used by
/// another thread at the same time. `svc` must be NULL or point to a readable `lbnet_ipvs_service`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_update_service(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        push(b, to_change(LBNET_IPVS_OP_UPDATE_SERVICE, s, None)?)
    })
}

/// Appends "delete service `svc`" (key fields only). Returns 0 or `-EINVAL`.
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed and not used by
/// another thread at the same time. `svc` must be NULL or point to a readable `lbnet_ipvs_service`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_delete_service(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        push(b, to_change(LBNET_IPVS_OP_DELETE_SERVICE, s, None)?)
    })
}

/// Appends "add destination `dest` to service `svc`". Returns 0 or `-EINVAL`.
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed and not used by
/// another thread at the same time. `svc` must be NULL or point to a readable `lbnet_ipvs_service`.
/// `dest` must be NULL or point to a readable `lbnet_ipvs_dest`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_add_dest(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
    dest: *const lbnet_ipvs_dest,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { batch(b) }?;
        let s = unsafe { arg_ref(svc, "svc") }?;
        let d = unsafe { arg_ref(dest, "dest") }?;
        push(b, to_change(LBNET_IPVS_OP_ADD_DEST, s, Some(d))?)
    })
}

/// Appends "update destination `dest` of service `svc`". Returns 0 or `-EINVAL`.
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed and not used by
/// another thread at the same time. `svc` must be NULL or point to a readable `lbnet_ipvs_service`.
/// `dest` must be NULL or point to a readable `lbnet_ipvs_dest`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_update_dest(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
    dest: *const lbnet_ipvs_dest,
) -> c_int {
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
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed and not used by
/// another thread at the same time. `svc` must be NULL or point to a readable `lbnet_ipvs_service`.
/// `dest` must be NULL or point to a readable `lbnet_ipvs_dest`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_delete_dest(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
    dest: *const lbnet_ipvs_dest,
) -> c_int {
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
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed and not used by
/// another thread at the same time. `svc` must be NULL or point to a readable `lbnet_ipvs_service`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_zero(
    b: *mut lbnet_ipvs_batch,
    svc: *const lbnet_ipvs_service,
) -> c_int {
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
/// one change (NULL `b`, NULL `changes` with `n` > 0, a count beyond `LBNET_IPVS_BATCH_MAX`),
/// `*bad_index` receives `SIZE_MAX`; on success it is left unchanged.
///
/// The count is checked first: when the batch length plus `n` exceeds `LBNET_IPVS_BATCH_MAX`,
/// `-E2BIG` is returned before any element is read or any memory reserved (so `n` = `INT_MAX`
/// or 2^40 costs nothing). Otherwise the changes are converted one by one into memory that
/// grows with them, so a bad element stops the call having allocated only for those before it.
///
/// `changes` may be NULL when `n` is 0 (a no-op that keeps any results of the last apply);
/// appending at least one change discards the results of the last apply, like every adder.
/// The library copies what it needs: the array can be freed or reused as soon as this returns.
///
/// Returns 0; `-EINVAL` (NULL pointer, bad change); `-E2BIG` (too many changes).
///
/// # Safety
///
/// `b` must be NULL or a live batch not used by another thread; `changes` must be NULL or
/// point to `n` readable `lbnet_ipvs_change` values; `bad_index` must be NULL or valid for
/// writing one `size_t`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_add_changes(
    b: *mut lbnet_ipvs_batch,
    changes: *const lbnet_ipvs_change,
    n: usize,
    bad_index: *mut usize,
) -> c_int {
    let mut bad: Option<usize> = None;
    let rc = guard(|| {
        bad = Some(usize::MAX);
        // SAFETY: per the contract above.
        let b = unsafe { batch(b) }?;
        check_room(b.changes.len(), n)?;
        // SAFETY: n is bounded above; changes points to n readable elements.
        let cs = unsafe { arg_slice(changes, n, "changes") }?;
        let mut add = Vec::new();
        for (i, c) in cs.iter().enumerate() {
            match to_change(c.op, &c.svc, Some(&c.dest)) {
                Ok(ch) => add.push(ch),
                Err(e) => {
                    bad = Some(i);
                    let ctx = format!("change {i}: {}", e.context());
                    return Err(e.with_context(ctx));
                }
            }
        }
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
///
/// # Safety
///
/// `h` must be NULL or a handle from `lbnet_ipvs_open` that is not freed. `b` must be NULL or a
/// batch from `lbnet_ipvs_batch_new` that is not freed and not used by another thread at the same
/// time.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_apply(
    h: *const lbnet_ipvs,
    b: *mut lbnet_ipvs_batch,
) -> c_int {
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
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed. `result` must be NULL
/// or valid for writing one `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_result(
    b: *const lbnet_ipvs_batch,
    index: usize,
    result: *mut i32,
) -> c_int {
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
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed. `buf` must be NULL or
/// valid for writing `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_result_message(
    b: *const lbnet_ipvs_batch,
    index: usize,
    buf: *mut c_char,
    cap: usize,
) -> c_int {
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
///
/// # Safety
///
/// `b` must be NULL or a batch from `lbnet_ipvs_batch_new` that is not freed. `results` must be
/// NULL or valid for writing `cap` `int32_t` values.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_batch_results(
    b: *const lbnet_ipvs_batch,
    results: *mut i32,
    cap: usize,
) -> c_int {
    guard(|| {
        // SAFETY: pointers are NULL or valid (checked).
        let b = unsafe { arg_ref(b, "batch") }?;
        if results.is_null() && cap > 0 {
            return Err(Error::invalid(format!("results is NULL with cap {cap}")));
        }
        if cap > isize::MAX as usize / std::mem::size_of::<i32>() {
            return Err(Error::invalid(format!("results cap {cap} is too large")));
        }
        let rs = b.results.as_ref().ok_or_else(not_applied)?;
        if rs.len() != b.changes.len() {
            return Err(Error::malformed(format!(
                "{} results for {} changes",
                rs.len(),
                b.changes.len()
            )));
        }
        if cap < rs.len() {
            return Err(Error::new(
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

fn not_applied() -> Error {
    Error::from_kernel(
        libc::ENODATA,
        "the batch has not been applied since its last change",
        None,
    )
}

fn result_at(b: &lbnet_ipvs_batch, index: usize) -> Result<&Result<(), Error>, Error> {
    if index >= b.changes.len() {
        return Err(Error::invalid(format!(
            "index {index} out of range: the batch has {} changes",
            b.changes.len()
        )));
    }
    let results = b.results.as_ref().ok_or_else(not_applied)?;
    results
        .get(index)
        .ok_or_else(|| Error::malformed(format!("no result for change {index}")))
}
