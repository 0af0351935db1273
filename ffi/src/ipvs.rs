//! C ABI for lbnet's ipvs capability: `lbnet_ipvs_*` functions over the core's
//! [`lbnet::ipvs::Handle`].
//!
//! Names carry the `lbnet_ipvs_` prefix so a program can link this library next to ipvsadm's or
//! keepalived's `libipvs` (whose functions are `ipvs_*`) without clashes.
//!
//! * [`names`]: fixed-size NUL-terminated name fields (scheduler, pe, interface).
//! * [`types`]: the plain C structs and their constants.
//! * [`list`]: arrays handed to C with their `*_free` functions.
//! * [`handle`]: the handle (`lbnet_ipvs_open`/`lbnet_ipvs_free`) and every operation.
//! * [`batch`]: many changes in one send, one result each.

#![allow(non_camel_case_types)] // the C names are the API
#![deny(clippy::missing_safety_doc)]

pub mod batch;
mod convert;
pub mod handle;
pub mod list;
pub mod names;
pub mod types;

pub use batch::*;
pub use handle::*;
pub use list::*;
pub use names::*;
pub use types::*;

#[cfg(test)]
mod tests;
