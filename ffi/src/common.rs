//! Error reporting, panic containment and argument checking shared by every entry point.

#![allow(dead_code)] // helpers used by the per-capability modules as they land

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use lbnet::error::{CallerOperation, Origin};
use lbnet::{Error, ErrorKind};

/// Origin of the errors for a caller's argument the C ABI refuses.
pub(crate) const ARG: Origin = Origin::Caller(CallerOperation::Argument);
/// Origin of the errors for a result that does not fit the caller's buffer.
pub(crate) const OUTPUT: Origin = Origin::Caller(CallerOperation::Output);

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
    static LAST_KIND: std::cell::Cell<lbnet_error_kind> =
        const { std::cell::Cell::new(lbnet_error_kind::Ok) };
}

/// What went wrong in the calling thread's last failed call, beyond its errno, in
/// protocol-neutral words.
///
/// The errno alone is sometimes ambiguous: the kernel answers `ENOENT` both for an unknown
/// scheduler (kind `NOT_FOUND`) and, through the generic netlink controller, for a kernel
/// without IPVS at all (kind `NOT_AVAILABLE`). What a `NOT_FOUND` names follows from the call
/// and the errno: for IPVS, `ESRCH` is no such service; `ENOENT` is no such destination on
/// edit/delete destination and an unknown scheduler or persistence engine on add/edit service.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lbnet_error_kind {
    /// The last call succeeded.
    Ok = 0,
    /// The object already exists (`EEXIST`).
    Exists = 1,
    /// The object named does not exist: service, destination, scheduler, route, link, VIP
    /// (`ENOENT`, `ESRCH`, `ENODEV`).
    NotFound = 2,
    /// Missing `CAP_NET_ADMIN` (`EPERM`, `EACCES`).
    Permission = 3,
    /// The kernel facility is missing: no IPVS module, no BPF, no such netlink family.
    NotAvailable = 4,
    /// An argument was rejected (`EINVAL`).
    InvalidArgument = 5,
    /// A value is out of range (`ERANGE`).
    OutOfRange = 6,
    /// Busy or interrupted; try again (`EBUSY`, `EAGAIN`, an interrupted dump).
    Busy = 7,
    /// Netlink receive buffer overrun: notifications were lost (`ENOBUFS`).
    Overrun = 8,
    /// A kernel reply could not be parsed (`EBADMSG`).
    Malformed = 9,
    /// The kernel did not answer in time (`ETIMEDOUT`).
    Timeout = 10,
    /// Any other system error, or an internal error caught at the boundary.
    Io = 11,
}

impl From<ErrorKind> for lbnet_error_kind {
    fn from(k: ErrorKind) -> Self {
        match k {
            ErrorKind::Exists => lbnet_error_kind::Exists,
            ErrorKind::NotFound => lbnet_error_kind::NotFound,
            ErrorKind::Permission => lbnet_error_kind::Permission,
            ErrorKind::NotAvailable => lbnet_error_kind::NotAvailable,
            ErrorKind::InvalidArgument => lbnet_error_kind::InvalidArgument,
            ErrorKind::OutOfRange => lbnet_error_kind::OutOfRange,
            ErrorKind::Busy => lbnet_error_kind::Busy,
            ErrorKind::Overrun => lbnet_error_kind::Overrun,
            ErrorKind::Malformed => lbnet_error_kind::Malformed,
            ErrorKind::Timeout => lbnet_error_kind::Timeout,
            _ => lbnet_error_kind::Io,
        }
    }
}

/// Longest path the C ABI accepts (network namespace files, bpffs directories), counting the
/// terminating NUL: Linux's `PATH_MAX`.
pub const LBNET_PATH_MAX: usize = 4096;

/// Major version of the C ABI this header describes; a program compares it with
/// `lbnet_version()` at run time to see which library it got.
pub const LBNET_VERSION_MAJOR: u32 = 0;
/// Minor version of the C ABI this header describes.
pub const LBNET_VERSION_MINOR: u32 = 1;
/// Patch version of the C ABI this header describes.
pub const LBNET_VERSION_PATCH: u32 = 0;

/// Largest `sz` an options struct may declare: a caller claiming more is passing garbage.
const OPTS_SZ_MAX: usize = 4096;

/// Reads an options struct that begins with `size_t sz`, libbpf's convention for structs that
/// grow: NULL means defaults (`None`); `sz` smaller than the struct this library knows, or above
/// 4096, is `EINVAL`; a larger `sz` (a caller built against a newer header) is accepted only when
/// every byte past the fields known here is zero, since a non-zero one asks for something this
/// library cannot do.
///
/// # Safety
///
/// `p` must be NULL or point to at least `sz` readable bytes, where `sz` is the struct's first
/// field.
pub(crate) unsafe fn read_opts<T: Copy>(p: *const T, name: &str) -> Result<Option<T>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    let known = std::mem::size_of::<T>();
    // SAFETY: every options struct begins with a size_t, readable per the contract above.
    let sz = unsafe { std::ptr::read_unaligned(p as *const usize) };
    if sz < known || sz > OPTS_SZ_MAX {
        return Err(Error::invalid(
            ARG,
            format!(
            "{name}->sz is {sz}; set it to sizeof the struct ({known} in this library's header)"
        ),
        ));
    }
    // SAFETY: the caller's struct is sz >= known bytes long.
    let extra = unsafe { std::slice::from_raw_parts((p as *const u8).add(known), sz - known) };
    if let Some(i) = extra.iter().position(|&b| b != 0) {
        return Err(Error::invalid(
            ARG,
            format!(
                "{name} byte {} is set, but this library knows only the first {known} bytes \
             (a newer header's option that this library lacks)",
                known + i
            ),
        ));
    }
    // SAFETY: p is non-NULL and valid for reads of T (sz >= size_of::<T>()).
    Ok(Some(unsafe { std::ptr::read_unaligned(p) }))
}

/// Records `msg` as the calling thread's last error message.
pub(crate) fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = Some(c));
    LAST_KIND.with(|k| k.set(lbnet_error_kind::Io));
}

/// Records `msg` as the last error message with `e`'s kind (so that, for example,
/// `LBNET_ERROR_KIND_NOT_AVAILABLE` survives a message that adds context) and returns `e`'s
/// negative errno.
pub(crate) fn fail_with_message(e: &Error, msg: &str) -> c_int {
    set_last_error(msg);
    LAST_KIND.with(|k| k.set(e.kind().into()));
    -e.errno().max(1)
}

/// Records `e` and returns its negative errno.
pub(crate) fn fail(e: &Error) -> c_int {
    fail_with_message(e, &e.to_string())
}

/// Runs `f`, turning its error into a negative errno plus a thread-local message and a panic
/// into `-EIO`. Every exported function that can fail goes through here.
pub(crate) fn guard<F>(f: F) -> c_int
where
    F: FnOnce() -> Result<(), Error>,
{
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            LAST_ERROR.with(|l| *l.borrow_mut() = None);
            LAST_KIND.with(|k| k.set(lbnet_error_kind::Ok));
            0
        }
        Ok(Err(e)) => fail(&e),
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!(
                "internal error (panic caught at the C boundary): {what}"
            ));
            -libc::EIO
        }
    }
}

/// Like [`guard`] for functions returning a pointer: NULL on failure.
pub(crate) fn guard_ptr<T, F>(f: F) -> *mut T
where
    F: FnOnce() -> Result<*mut T, Error>,
{
    let mut out = std::ptr::null_mut();
    let rc = guard(|| {
        out = f()?;
        Ok(())
    });
    if rc != 0 {
        std::ptr::null_mut()
    } else {
        out
    }
}

/// Checks that `p` is not NULL and borrows it.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T, Error> {
    // SAFETY: the caller passes a pointer that is NULL or valid for reads of T.
    unsafe { p.as_ref() }.ok_or_else(|| Error::invalid(ARG, format!("{name} is NULL")))
}

/// Checks that `p` is not NULL and borrows it mutably.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T, Error> {
    // SAFETY: the caller passes a pointer that is NULL or valid for writes of T.
    unsafe { p.as_mut() }.ok_or_else(|| Error::invalid(ARG, format!("{name} is NULL")))
}

/// Reads a NUL-terminated UTF-8 string argument of at most `max` bytes.
pub(crate) unsafe fn arg_str<'a>(
    p: *const c_char,
    name: &str,
    max: usize,
) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::invalid(ARG, format!("{name} is NULL")));
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let c = unsafe { CStr::from_ptr(p) };
    let bytes = c.to_bytes();
    if bytes.len() > max {
        return Err(Error::invalid(
            ARG,
            format!(
                "{name} is {} bytes long, at most {max} allowed",
                bytes.len()
            ),
        ));
    }
    std::str::from_utf8(bytes)
        .map_err(|_| Error::invalid(ARG, format!("{name} is not valid UTF-8")))
}

/// Like [`arg_str`], but NULL means `None`.
pub(crate) unsafe fn arg_opt_str<'a>(
    p: *const c_char,
    name: &str,
    max: usize,
) -> Result<Option<&'a str>, Error> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { arg_str(p, name, max) }.map(Some)
    }
}

/// Reads a path argument (NUL-terminated, UTF-8, at most `LBNET_PATH_MAX - 1` bytes, not empty).
pub(crate) unsafe fn arg_path<'a>(p: *const c_char, name: &str) -> Result<&'a str, Error> {
    // SAFETY: forwarded from the caller.
    let s = unsafe { arg_str(p, name, LBNET_PATH_MAX - 1) }?;
    if s.is_empty() {
        return Err(Error::invalid(ARG, format!("{name} is empty")));
    }
    Ok(s)
}

/// Like [`arg_path`], but NULL means `None`.
pub(crate) unsafe fn arg_opt_path<'a>(
    p: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Error> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { arg_path(p, name) }.map(Some)
    }
}

/// Borrows a C array of `len` elements; NULL is allowed only when `len` is 0.
pub(crate) unsafe fn arg_slice<'a, T>(
    p: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Error::invalid(
            ARG,
            format!("{name} is NULL with length {len}"),
        ));
    }
    if len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Error::invalid(
            ARG,
            format!("{name} length {len} is too large"),
        ));
    }
    // SAFETY: the caller passes an array of `len` initialised elements.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Copies `s` into a caller buffer of `cap` bytes, NUL-terminated; `-ERANGE` if it does not fit.
pub(crate) unsafe fn copy_out_str(s: &str, buf: *mut c_char, cap: usize) -> Result<(), Error> {
    if buf.is_null() {
        return Err(Error::invalid(OUTPUT, "output buffer is NULL"));
    }
    if s.len() + 1 > cap {
        return Err(Error::new(
            OUTPUT,
            ErrorKind::OutOfRange,
            format!(
                "output buffer of {cap} bytes too small for {} bytes",
                s.len() + 1
            ),
        ));
    }
    // SAFETY: buf is valid for cap bytes and s.len() + 1 <= cap.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf as *mut u8, s.len());
        *buf.add(s.len()) = 0;
    }
    Ok(())
}

/// The calling thread's message for the last failed call, or NULL if the last call succeeded.
///
/// The string stays valid until the next call into the library from the same thread; copy it to
/// keep it. Never free it.
#[no_mangle]
pub extern "C" fn lbnet_last_error() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
}

/// The kind of the calling thread's last failed call (`LBNET_ERROR_KIND_OK` if the last call succeeded),
/// for callers that must tell apart cases one errno covers, such as "no IPVS in this kernel"
/// (`LBNET_ERROR_KIND_NOT_AVAILABLE`) from "unknown scheduler" (`LBNET_ERROR_KIND_NOT_FOUND` from
/// adding or editing an IPVS service), both `-ENOENT`.
#[no_mangle]
pub extern "C" fn lbnet_last_error_kind() -> lbnet_error_kind {
    LAST_KIND.with(|k| k.get())
}

/// The library version as a static NUL-terminated string, e.g. "0.1.0". Never free it.
#[no_mangle]
pub extern "C" fn lbnet_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// Hands a vector to C as (len, pointer); NULL for an empty one.
pub(crate) fn into_raw_array<T>(v: Vec<T>) -> (usize, *mut T) {
    if v.is_empty() {
        return (0, std::ptr::null_mut());
    }
    let b = v.into_boxed_slice();
    let len = b.len();
    (len, Box::into_raw(b) as *mut T)
}

/// Takes back an array made by [`into_raw_array`].
///
/// # Safety
/// `(len, p)` must come from `into_raw_array` and not have been freed.
pub(crate) unsafe fn free_raw_array<T>(len: usize, p: *mut T) {
    if !p.is_null() && len != 0 {
        // SAFETY: p and len came from Box<[T]>::into_raw in into_raw_array.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lbnet::error::NetlinkOperation;

    #[test]
    fn guard_maps_errors_and_panics() {
        assert_eq!(guard(|| Ok(())), 0);
        assert!(lbnet_last_error().is_null());
        assert_eq!(lbnet_last_error_kind(), lbnet_error_kind::Ok);
        let rc = guard(|| Err(Error::from_kernel(ARG, libc::EEXIST, "add", None)));
        assert_eq!(rc, -libc::EEXIST);
        let msg = unsafe { CStr::from_ptr(lbnet_last_error()) }
            .to_str()
            .unwrap();
        assert!(msg.contains("File exists"), "{msg}");
        assert_eq!(lbnet_last_error_kind(), lbnet_error_kind::Exists);
        // The controller's ENOENT for a missing IPVS family stays NOT_AVAILABLE through the
        // command's context layer (it once became UNKNOWN_SCHEDULER or NO_SUCH_DESTINATION).
        let rc = guard(|| {
            let missing = Error::from_kernel(
                Origin::Netlink(NetlinkOperation::ResolveFamily),
                libc::ENOENT,
                "generic netlink family IPVS not found",
                None,
            )
            .with_kind(ErrorKind::NotAvailable);
            Err(missing.wrap(
                Origin::Ipvs(lbnet::ipvs::Command::NewService),
                "add service",
            ))
        });
        assert_eq!(lbnet_last_error_kind(), lbnet_error_kind::NotAvailable);
        assert_eq!(rc, -libc::ENOENT);
        let msg = unsafe { CStr::from_ptr(lbnet_last_error()) }
            .to_str()
            .unwrap();
        assert_eq!(
            msg,
            "add service: generic netlink family IPVS not found: No such file or directory"
        );
        let rc = guard(|| panic!("boom"));
        assert_eq!(lbnet_last_error_kind(), lbnet_error_kind::Io);
        assert_eq!(rc, -libc::EIO);
        let msg = unsafe { CStr::from_ptr(lbnet_last_error()) }
            .to_str()
            .unwrap();
        assert!(msg.contains("boom"), "{msg}");
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Opts {
        sz: usize,
        a: u32,
    }

    #[test]
    fn options_size_follows_libbpf() {
        let known = std::mem::size_of::<Opts>();
        // A caller built against a newer header: the known struct plus 8 more bytes.
        let mut buf = [0u8; 32];
        let put = |buf: &mut [u8; 32], sz: usize| buf[..8].copy_from_slice(&sz.to_ne_bytes());
        unsafe {
            assert!(read_opts::<Opts>(std::ptr::null(), "o").unwrap().is_none());
            put(&mut buf, known);
            buf[8] = 7;
            let o = read_opts(buf.as_ptr() as *const Opts, "o")
                .unwrap()
                .unwrap();
            assert_eq!((o.sz, o.a), (known, 7));
            put(&mut buf, known - 1);
            assert!(read_opts(buf.as_ptr() as *const Opts, "o").is_err());
            put(&mut buf, 0);
            assert!(read_opts(buf.as_ptr() as *const Opts, "o").is_err());
            put(&mut buf, known + 8);
            assert!(read_opts(buf.as_ptr() as *const Opts, "o")
                .unwrap()
                .is_some());
            buf[known + 3] = 1;
            let e = read_opts(buf.as_ptr() as *const Opts, "o").err().unwrap();
            assert!(
                e.to_string().contains(&format!("byte {}", known + 3)),
                "{e}"
            );
            put(&mut buf, OPTS_SZ_MAX + 1);
            assert!(read_opts(buf.as_ptr() as *const Opts, "o").is_err());
        }
    }

    #[test]
    fn version_macros_match_the_crate() {
        assert_eq!(
            format!("{LBNET_VERSION_MAJOR}.{LBNET_VERSION_MINOR}.{LBNET_VERSION_PATCH}"),
            env!("CARGO_PKG_VERSION")
        );
        let v = unsafe { CStr::from_ptr(lbnet_version()) }.to_str().unwrap();
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn kinds_are_numbered_densely() {
        use lbnet_error_kind as K;
        let all = [
            K::Ok,
            K::Exists,
            K::NotFound,
            K::Permission,
            K::NotAvailable,
            K::InvalidArgument,
            K::OutOfRange,
            K::Busy,
            K::Overrun,
            K::Malformed,
            K::Timeout,
            K::Io,
        ];
        for (i, k) in all.into_iter().enumerate() {
            assert_eq!(k as usize, i, "{k:?}");
        }
        for errno in [libc::ENOENT, libc::ESRCH] {
            assert_eq!(K::from(ErrorKind::from_errno(errno)), K::NotFound);
        }
    }

    #[test]
    fn strings_are_checked() {
        unsafe {
            assert!(arg_str(std::ptr::null(), "s", 10).is_err());
            assert!(arg_str(c"abc".as_ptr(), "s", 2).is_err());
            assert!(arg_str(c"\xff".as_ptr(), "s", 10).is_err());
            assert_eq!(arg_str(c"rr".as_ptr(), "s", 15).unwrap(), "rr");
            let mut buf = [0 as c_char; 4];
            assert!(copy_out_str("abcd", buf.as_mut_ptr(), 4).is_err());
            copy_out_str("abc", buf.as_mut_ptr(), 4).unwrap();
            assert!(arg_slice::<u8>(std::ptr::null(), 1, "a").is_err());
            assert!(arg_slice::<u8>(std::ptr::null(), 0, "a")
                .unwrap()
                .is_empty());
        }
    }
}
