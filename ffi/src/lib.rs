//! The C ABI of lbnet: `libipvs_ffi.so`, `libipvs_ffi.a` and `include/ipvs_ffi.h`.
//!
//! Conventions shared by every entry point:
//!
//! * Objects the library allocates are opaque handles or plain C structs; each has a matching
//!   `*_free` function, and passing NULL to a `*_free` function is a no-op.
//! * Functions return `0` on success and a negative errno (`-EEXIST`, `-ESRCH`, ...) on failure.
//!   The kernel's errno is passed through unchanged where the kernel answered.
//! * After a failure, [`lbnet_last_error`] returns a readable message for the calling thread
//!   (including the kernel's extended-ack text where there is one).
//! * Null pointers, bad lengths and strings that are not UTF-8 are rejected with `-EINVAL`; no
//!   Rust panic ever unwinds across the boundary (it is caught and reported as `-EIO`).
//! * Every handle is safe to use from several threads at once.

// Every exported `unsafe` function says what its pointers must be.
#![deny(clippy::missing_safety_doc)]

pub mod addr;
/// After linkwatch: its functions take linkwatch's options and counters (cbindgen emits
/// declarations in module order).
pub mod addrwatch;
pub mod common;
pub mod ipvs;
/// cbindgen:ignore
pub mod libipvs;
pub mod linkwatch;
pub mod rtexport;
pub mod xdp;

pub use addr::*;
pub use common::*;
