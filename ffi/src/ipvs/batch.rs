//! Batches: a list of changes sent to the kernel together (many messages per `sendmsg`), with
//! one result per change.
//!
//! Build with `lbnet_ipvs_batch_new` and the `lbnet_ipvs_batch_*` adders (each checks its
//! arguments at once, so a bad change is refused before anything is sent), send with
//! `lbnet_ipvs_batch_apply`, read each change's outcome with `lbnet_ipvs_batch_result`, free with
//! `lbnet_ipvs_batch_free`. The kernel applies the changes in order and does not stop at a
//! failed one; there is no rollback.

use std::ffi::c_char;

use lbnet::ipvs::Change;
use lbnet::{Error, ErrorKind};

use super::convert::*;
use super::handle::lbnet_ipvs_handle;
use super::types::*;
use crate::common::{arg_mut, arg_ref, copy_out_str, guard, set_last_error};

/// A list of IPVS changes to apply together (opaque). Not safe for concurrent use from several
/// threads.
pub struct lbnet_ipvs_batch {
    changes: Vec<Change>,
    /// One result per change after apply; `None` before the first apply and after a change is
    /// added.
    results: Option<Vec<Result<(), Error>>>,
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
        let s = service_from_c(unsafe { arg_ref(svc, "svc") }?)?;
        push(b, Change::NewService(s))
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
        let s = service_from_c(unsafe { arg_ref(svc, "svc") }?)?;
        push(b, Change::UpdateService(s))
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
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        push(b, Change::DeleteService(k))
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
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        let d = dest_from_c(unsafe { arg_ref(dest, "dest") }?)?;
        push(b, Change::NewDestination(k, d))
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
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        let d = dest_from_c(unsafe { arg_ref(dest, "dest") }?)?;
        push(b, Change::UpdateDestination(k, d))
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
        let k = service_key(unsafe { arg_ref(svc, "svc") }?)?;
        let d = unsafe { arg_ref(dest, "dest") }?;
        let addr = d.addr.to_ip("dest addr")?;
        push(b, Change::DeleteDestination(k, addr, d.port))
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
            Some(s) => Change::Zero(service_key(s)?),
        };
        push(b, c)
    })
}

/// Sends every change of the batch in as few `sendmsg` calls as possible and records one result
/// per change (read them with `lbnet_ipvs_batch_result`).
///
/// Returns 0 when every change succeeded; otherwise the negative errno of the first failed
/// change (`lbnet_last_error` names it), or of the transport when nothing could be sent (every
/// result is that errno then). An empty batch returns 0 without talking to the kernel.
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
        Some((i, e)) => {
            set_last_error(&format!("batch change {i} failed: {e}"));
            -e.errno().max(1)
        }
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

fn result_at(b: &lbnet_ipvs_batch, index: usize) -> Result<&Result<(), Error>, Error> {
    if index >= b.changes.len() {
        return Err(Error::invalid(format!(
            "index {index} out of range: the batch has {} changes",
            b.changes.len()
        )));
    }
    let results = b.results.as_ref().ok_or_else(|| {
        Error::from_kernel(
            libc::ENODATA,
            "the batch has not been applied since its last change",
            None,
        )
    })?;
    results
        .get(index)
        .ok_or_else(|| Error::malformed(format!("no result for change {index}")))
}
