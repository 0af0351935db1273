//! libipvs's API (ipvsadm 1.31's `libipvs/libipvs.h`) in libipvs_ffi.so, so C programs written
//! for libipvs (ipvsadm) link this library in its place: the same function names, struct
//! layouts and semantics, over [`lbnet::ipvs::Handle`] instead of libnl.
//!
//! The unprefixed names (`ipvs_*`, `ip_vs_*`) are libipvs's; they go to their own generated
//! header, `include/lbnet/libipvs.h` (`make header`; ffi/tests/libipvs_header.rs fails when it
//! is stale), never into `ipvs_ffi.h`.
//!
//! * [`types`]: the structs, typedefs and constants.
//! * [`api`]: the functions and `ipvs_info`.

#![allow(non_camel_case_types, non_upper_case_globals)] // the C names are the API

pub mod api;
pub mod types;

pub use api::*;
pub use types::*;

#[cfg(test)]
mod tests;
