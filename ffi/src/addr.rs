//! Addresses and prefixes in C, shared by every area: `struct lbnet_addr` (an address family plus
//! 16 bytes) and `struct lbnet_prefix` (an address plus a length), with text parse/format helpers
//! for C programs. Every function of the C ABI takes and returns addresses in these binary forms;
//! text appears only in the helpers below.

use std::ffi::{c_char, c_int};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lbnet::route::Prefix;

use lbnet::Error;

use crate::common::{arg_mut, arg_ref, arg_str, copy_out_str, guard, ARG};

/// Size of a buffer that holds any address formatted by [`lbnet_addr_format`], with its NUL
/// (the same as `INET6_ADDRSTRLEN`).
pub const LBNET_ADDR_STRLEN: usize = 46;

/// Size of a buffer that holds any prefix formatted by [`lbnet_prefix_format`], with its NUL
/// (an address, "/" and up to three digits).
pub const LBNET_PREFIX_STRLEN: usize = 50;

/// An IPv4 or IPv6 address.
///
/// `af` is `AF_INET` (2) or `AF_INET6` (10). For `AF_INET` the four address bytes are `addr[0..4]`
/// in network order (as in `struct in_addr`) and the other twelve are ignored; for `AF_INET6`
/// all sixteen are used (as in `struct in6_addr`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct lbnet_addr {
    /// `AF_INET` or `AF_INET6`.
    pub af: i32,
    /// The address bytes in network order.
    pub addr: [u8; 16],
}

impl lbnet_addr {
    /// The C form of `ip`.
    pub(crate) fn from_ip(ip: IpAddr) -> Self {
        let mut addr = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => {
                addr[..4].copy_from_slice(&v4.octets());
                lbnet_addr {
                    af: libc::AF_INET,
                    addr,
                }
            }
            IpAddr::V6(v6) => lbnet_addr {
                af: libc::AF_INET6,
                addr: v6.octets(),
            },
        }
    }

    /// The address, or `EINVAL` when `af` is neither `AF_INET` nor `AF_INET6`.
    pub(crate) fn to_ip(self, name: &str) -> Result<IpAddr, Error> {
        match self.af {
            libc::AF_INET => Ok(IpAddr::V4(Ipv4Addr::new(
                self.addr[0],
                self.addr[1],
                self.addr[2],
                self.addr[3],
            ))),
            libc::AF_INET6 => Ok(IpAddr::V6(Ipv6Addr::from(self.addr))),
            af => Err(Error::invalid(
                ARG,
                format!("{name}: address family {af} is neither AF_INET nor AF_INET6"),
            )),
        }
    }
}

/// Parses a text address ("10.0.0.1", "2001:db8::1") into `*out`.
///
/// Returns 0, or `-EINVAL` when `text` or `out` is NULL, `text` is not UTF-8, longer than 63
/// bytes, or not an IPv4 or IPv6 address (`*out` is left unchanged then).
///
/// # Safety
///
/// `text` must be NULL or a NUL-terminated string; `out` must be NULL or valid for writing one
/// `struct lbnet_addr`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_addr_parse(text: *const c_char, out: *mut lbnet_addr) -> c_int {
    guard(|| {
        // SAFETY: the caller passes a NUL-terminated string and a writable struct (or NULL).
        let s = unsafe { arg_str(text, "text", 63) }?;
        let out = unsafe { arg_mut(out, "out") }?;
        let ip: IpAddr = s
            .parse()
            .map_err(|_| Error::invalid(ARG, format!("'{s}' is not an IPv4 or IPv6 address")))?;
        *out = lbnet_addr::from_ip(ip);
        Ok(())
    })
}

/// Formats `*addr` as text into `buf` of `cap` bytes (NUL-terminated; IPv6 in the RFC 5952
/// form). A buffer of [`LBNET_ADDR_STRLEN`] bytes always suffices.
///
/// Returns 0; `-EINVAL` when a pointer is NULL or `af` is unknown; `-ERANGE` when `cap` is too
/// small.
///
/// # Safety
///
/// `addr` must be NULL or point to a readable `struct lbnet_addr`; `buf` must be NULL or valid for
/// writing `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn lbnet_addr_format(
    addr: *const lbnet_addr,
    buf: *mut c_char,
    cap: usize,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes a readable struct (or NULL) and a buffer of `cap` bytes.
        let a = unsafe { arg_ref(addr, "addr") }?;
        let ip = a.to_ip("addr")?;
        unsafe { copy_out_str(&ip.to_string(), buf, cap) }
    })
}

/// An IPv4 or IPv6 prefix: an address and a prefix length (0-32 for `AF_INET`, 0-128 for
/// `AF_INET6`). The library refuses a prefix whose address has bits set past `len` (as the
/// kernel's `rtm_dst_len` check does for routes), so one prefix has one representation.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct lbnet_prefix {
    /// The network address.
    pub addr: lbnet_addr,
    /// The prefix length in bits.
    pub len: u8,
}

impl lbnet_prefix {
    /// The C form of `p`.
    pub(crate) fn from_prefix(p: &Prefix) -> Self {
        lbnet_prefix {
            addr: lbnet_addr::from_ip(p.addr()),
            len: p.len(),
        }
    }

    /// The prefix, or `EINVAL` for an unknown family, a length past the family's width or host
    /// bits set.
    pub(crate) fn to_prefix(self, name: &str) -> Result<Prefix, Error> {
        Prefix::new(self.addr.to_ip(name)?, self.len)
    }
}

/// Parses a text prefix ("10.0.0.0/8", "2001:db8::/32"; a bare address means a host prefix)
/// into `*out`.
///
/// Returns 0, or `-EINVAL` when a pointer is NULL, `text` is not UTF-8, longer than 63 bytes,
/// not a prefix, or has host bits set (`*out` is left unchanged then).
///
/// # Safety
///
/// `text` must be NULL or a NUL-terminated string; `out` must be NULL or valid for writing one
/// `struct lbnet_prefix`.
#[no_mangle]
pub unsafe extern "C" fn lbnet_prefix_parse(text: *const c_char, out: *mut lbnet_prefix) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller's contract above.
        let s = unsafe { arg_str(text, "text", 63) }?;
        let out = unsafe { arg_mut(out, "out") }?;
        let p: Prefix = s.parse()?;
        *out = lbnet_prefix::from_prefix(&p);
        Ok(())
    })
}

/// Formats `*prefix` as text ("10.0.0.0/8") into `buf` of `cap` bytes, NUL-terminated. A buffer
/// of [`LBNET_PREFIX_STRLEN`] bytes always suffices.
///
/// Returns 0; `-EINVAL` when a pointer is NULL or the prefix is invalid; `-ERANGE` when `cap` is
/// too small.
///
/// # Safety
///
/// `prefix` must be NULL or point to a readable `struct lbnet_prefix`; `buf` must be NULL or
/// valid for writing `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn lbnet_prefix_format(
    prefix: *const lbnet_prefix,
    buf: *mut c_char,
    cap: usize,
) -> c_int {
    guard(|| {
        // SAFETY: forwarded from the caller's contract above.
        let p = unsafe { arg_ref(prefix, "prefix") }?.to_prefix("prefix")?;
        unsafe { copy_out_str(&p.to_string(), buf, cap) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn parse_and_format_round_trip() {
        let mut a = lbnet_addr::default();
        let mut buf = [0 as c_char; LBNET_ADDR_STRLEN];
        for text in [c"10.1.2.3", c"2001:db8::1", c"::", c"255.255.255.255"] {
            unsafe {
                assert_eq!(lbnet_addr_parse(text.as_ptr(), &mut a), 0);
                assert_eq!(lbnet_addr_format(&a, buf.as_mut_ptr(), buf.len()), 0);
                assert_eq!(CStr::from_ptr(buf.as_ptr()), text);
            }
        }
        unsafe { lbnet_addr_parse(c"10.1.2.3".as_ptr(), &mut a) };
        assert_eq!(a.af, libc::AF_INET);
        assert_eq!(&a.addr[..4], &[10, 1, 2, 3]);
    }

    #[test]
    fn prefixes_round_trip_and_refuse_host_bits() {
        let mut p = lbnet_prefix::default();
        let mut buf = [0 as c_char; LBNET_PREFIX_STRLEN];
        for text in [
            c"10.0.0.0/8",
            c"2001:db8::/32",
            c"0.0.0.0/0",
            c"192.0.2.1/32",
        ] {
            unsafe {
                assert_eq!(lbnet_prefix_parse(text.as_ptr(), &mut p), 0);
                assert_eq!(lbnet_prefix_format(&p, buf.as_mut_ptr(), buf.len()), 0);
                assert_eq!(CStr::from_ptr(buf.as_ptr()), text);
            }
        }
        let before = p;
        unsafe {
            for bad in [c"10.0.0.1/8", c"10.0.0.0/33", c"::/129", c"10/8", c""] {
                assert_eq!(lbnet_prefix_parse(bad.as_ptr(), &mut p), -libc::EINVAL);
            }
            assert_eq!(p, before, "out untouched on failure");
            p.len = 33;
            p.addr.af = libc::AF_INET;
            assert_eq!(
                lbnet_prefix_format(&p, buf.as_mut_ptr(), buf.len()),
                -libc::EINVAL
            );
        }
    }

    #[test]
    fn bad_input_is_rejected() {
        let mut a = lbnet_addr::default();
        let mut buf = [0 as c_char; 8];
        unsafe {
            for bad in [c"", c"10.0.0.256", c"host.example", c"1.2.3.4 ", c"\xff"] {
                assert_eq!(lbnet_addr_parse(bad.as_ptr(), &mut a), -libc::EINVAL);
            }
            assert_eq!(lbnet_addr_parse(std::ptr::null(), &mut a), -libc::EINVAL);
            assert_eq!(
                lbnet_addr_parse(c"1.2.3.4".as_ptr(), std::ptr::null_mut()),
                -libc::EINVAL
            );
            let long = std::ffi::CString::new("1".repeat(64)).unwrap();
            assert_eq!(lbnet_addr_parse(long.as_ptr(), &mut a), -libc::EINVAL);
            assert_eq!(a, lbnet_addr::default(), "out untouched on failure");
            a.af = 7;
            assert_eq!(
                lbnet_addr_format(&a, buf.as_mut_ptr(), buf.len()),
                -libc::EINVAL
            );
            lbnet_addr_parse(c"2001:db8::1".as_ptr(), &mut a);
            assert_eq!(
                lbnet_addr_format(&a, buf.as_mut_ptr(), buf.len()),
                -libc::ERANGE
            );
            assert_eq!(
                lbnet_addr_format(std::ptr::null(), buf.as_mut_ptr(), 8),
                -libc::EINVAL
            );
            assert_eq!(
                lbnet_addr_format(&a, std::ptr::null_mut(), 8),
                -libc::EINVAL
            );
        }
    }
}
