//! Arrays the library allocates and hands to C: each is a struct with a length and an items
//! pointer, freed with its own `*_free` function (NULL is a no-op).

use super::types::{lbnet_ipvs_daemon, lbnet_ipvs_dest, lbnet_ipvs_service};

/// A list of services returned by `lbnet_ipvs_list_services`; free with
/// `lbnet_ipvs_service_list_free`.
#[repr(C)]
#[derive(Debug)]
pub struct lbnet_ipvs_service_list {
    /// Number of services.
    pub len: usize,
    /// The services; NULL when `len` is 0.
    pub items: *mut lbnet_ipvs_service,
}

/// A list of destinations returned by `lbnet_ipvs_list_dests`; free with
/// `lbnet_ipvs_dest_list_free`.
#[repr(C)]
#[derive(Debug)]
pub struct lbnet_ipvs_dest_list {
    /// Number of destinations.
    pub len: usize,
    /// The destinations; NULL when `len` is 0.
    pub items: *mut lbnet_ipvs_dest,
}

/// One service with its destinations, an element of [`lbnet_ipvs_service_entry_list`].
#[repr(C)]
#[derive(Debug)]
pub struct lbnet_ipvs_service_entry {
    /// The service.
    pub service: lbnet_ipvs_service,
    /// Number of destinations.
    pub n_dests: usize,
    /// Its destinations; NULL when `n_dests` is 0.
    pub dests: *mut lbnet_ipvs_dest,
}

/// Services with their destinations, returned by `lbnet_ipvs_list_services_with_dests`; free
/// with `lbnet_ipvs_service_entry_list_free` (which frees the destinations too).
#[repr(C)]
#[derive(Debug)]
pub struct lbnet_ipvs_service_entry_list {
    /// Number of services.
    pub len: usize,
    /// The services and their destinations; NULL when `len` is 0.
    pub items: *mut lbnet_ipvs_service_entry,
}

/// A list of sync daemons returned by `lbnet_ipvs_list_daemons`; free with
/// `lbnet_ipvs_daemon_list_free`.
#[repr(C)]
#[derive(Debug)]
pub struct lbnet_ipvs_daemon_list {
    /// Number of daemons (0, 1 or 2: one master and one backup at most).
    pub len: usize,
    /// The daemons; NULL when `len` is 0.
    pub items: *mut lbnet_ipvs_daemon,
}

pub(crate) use crate::common::{free_raw_array, into_raw_array};

/// Frees a list from `lbnet_ipvs_list_services`. NULL is a no-op.
///
/// # Safety
///
/// `list` must be NULL or a list from `lbnet_ipvs_list_services` that is not freed yet; neither it nor its
/// items may be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_service_list_free(list: *mut lbnet_ipvs_service_list) {
    if list.is_null() {
        return;
    }
    // SAFETY: list came from Box::into_raw in this library and is freed once.
    let l = unsafe { Box::from_raw(list) };
    unsafe { free_raw_array(l.len, l.items) };
}

/// Frees a list from `lbnet_ipvs_list_dests`. NULL is a no-op.
///
/// # Safety
///
/// `list` must be NULL or a list from `lbnet_ipvs_list_dests` that is not freed yet; neither it nor its
/// items may be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_dest_list_free(list: *mut lbnet_ipvs_dest_list) {
    if list.is_null() {
        return;
    }
    // SAFETY: list came from Box::into_raw in this library and is freed once.
    let l = unsafe { Box::from_raw(list) };
    unsafe { free_raw_array(l.len, l.items) };
}

/// Frees a list from `lbnet_ipvs_list_daemons`. NULL is a no-op.
///
/// # Safety
///
/// `list` must be NULL or a list from `lbnet_ipvs_list_daemons` that is not freed yet; neither it nor its
/// items may be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_daemon_list_free(list: *mut lbnet_ipvs_daemon_list) {
    if list.is_null() {
        return;
    }
    // SAFETY: list came from Box::into_raw in this library and is freed once.
    let l = unsafe { Box::from_raw(list) };
    unsafe { free_raw_array(l.len, l.items) };
}

/// Frees a list from `lbnet_ipvs_list_services_with_dests`, destinations included. NULL is a
/// no-op.
///
/// # Safety
///
/// `list` must be NULL or a list from `lbnet_ipvs_list_services_with_dests` that is not freed yet; neither it nor its
/// items may be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_service_entry_list_free(
    list: *mut lbnet_ipvs_service_entry_list,
) {
    if list.is_null() {
        return;
    }
    // SAFETY: list came from Box::into_raw in this library and is freed once.
    let l = unsafe { Box::from_raw(list) };
    if !l.items.is_null() {
        // SAFETY: items/len came from into_raw_array.
        let entries = unsafe { std::slice::from_raw_parts(l.items, l.len) };
        for e in entries {
            unsafe { free_raw_array(e.n_dests, e.dests) };
        }
        unsafe { free_raw_array(l.len, l.items) };
    }
}
