//! IP addresses in C: an address family plus 16 bytes, and text parse/format helpers.

use std::ffi::c_char;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lbnet::Error;

use crate::common::{arg_mut, arg_ref, arg_str, copy_out_str, guard, ARG};

/// Size of a buffer that holds any address formatted by [`lbnet_ipvs_addr_format`], with its NUL
/// (the same as `INET6_ADDRSTRLEN`).
pub const LBNET_IPVS_ADDR_STRLEN: usize = 46;

/// An IPv4 or IPv6 address.
///
/// `af` is `AF_INET` (2) or `AF_INET6` (10). For `AF_INET` the four address bytes are `addr[0..4]`
/// in network order (as in `struct in_addr`) and the other twelve are ignored; for `AF_INET6`
/// all sixteen are used (as in `struct in6_addr`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct lbnet_ipvs_addr {
    /// `AF_INET` or `AF_INET6`.
    pub af: i32,
    /// The address bytes in network order.
    pub addr: [u8; 16],
}

impl lbnet_ipvs_addr {
    /// The C form of `ip`.
    pub(crate) fn from_ip(ip: IpAddr) -> Self {
        let mut addr = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => {
                addr[..4].copy_from_slice(&v4.octets());
                lbnet_ipvs_addr {
                    af: libc::AF_INET,
                    addr,
                }
            }
            IpAddr::V6(v6) => lbnet_ipvs_addr {
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
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_addr_parse(
    text: *const c_char,
    out: *mut lbnet_ipvs_addr,
) -> i32 {
    guard(|| {
        // SAFETY: the caller passes a NUL-terminated string and a writable struct (or NULL).
        let s = unsafe { arg_str(text, "text", 63) }?;
        let out = unsafe { arg_mut(out, "out") }?;
        let ip: IpAddr = s
            .parse()
            .map_err(|_| Error::invalid(ARG, format!("'{s}' is not an IPv4 or IPv6 address")))?;
        *out = lbnet_ipvs_addr::from_ip(ip);
        Ok(())
    })
}

/// Formats `*addr` as text into `buf` of `cap` bytes (NUL-terminated; IPv6 in the RFC 5952
/// form). A buffer of [`LBNET_IPVS_ADDR_STRLEN`] bytes always suffices.
///
/// Returns 0; `-EINVAL` when a pointer is NULL or `af` is unknown; `-ERANGE` when `cap` is too
/// small.
#[no_mangle]
pub unsafe extern "C" fn lbnet_ipvs_addr_format(
    addr: *const lbnet_ipvs_addr,
    buf: *mut c_char,
    cap: usize,
) -> i32 {
    guard(|| {
        // SAFETY: the caller passes a readable struct (or NULL) and a buffer of `cap` bytes.
        let a = unsafe { arg_ref(addr, "addr") }?;
        let ip = a.to_ip("addr")?;
        unsafe { copy_out_str(&ip.to_string(), buf, cap) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn parse_and_format_round_trip() {
        let mut a = lbnet_ipvs_addr::default();
        let mut buf = [0 as c_char; LBNET_IPVS_ADDR_STRLEN];
        for text in [c"10.1.2.3", c"2001:db8::1", c"::", c"255.255.255.255"] {
            unsafe {
                assert_eq!(lbnet_ipvs_addr_parse(text.as_ptr(), &mut a), 0);
                assert_eq!(lbnet_ipvs_addr_format(&a, buf.as_mut_ptr(), buf.len()), 0);
                assert_eq!(CStr::from_ptr(buf.as_ptr()), text);
            }
        }
        unsafe { lbnet_ipvs_addr_parse(c"10.1.2.3".as_ptr(), &mut a) };
        assert_eq!(a.af, libc::AF_INET);
        assert_eq!(&a.addr[..4], &[10, 1, 2, 3]);
    }

    #[test]
    fn bad_input_is_rejected() {
        let mut a = lbnet_ipvs_addr::default();
        let mut buf = [0 as c_char; 8];
        unsafe {
            for bad in [c"", c"10.0.0.256", c"host.example", c"1.2.3.4 ", c"\xff"] {
                assert_eq!(lbnet_ipvs_addr_parse(bad.as_ptr(), &mut a), -libc::EINVAL);
            }
            assert_eq!(
                lbnet_ipvs_addr_parse(std::ptr::null(), &mut a),
                -libc::EINVAL
            );
            assert_eq!(
                lbnet_ipvs_addr_parse(c"1.2.3.4".as_ptr(), std::ptr::null_mut()),
                -libc::EINVAL
            );
            let long = std::ffi::CString::new("1".repeat(64)).unwrap();
            assert_eq!(lbnet_ipvs_addr_parse(long.as_ptr(), &mut a), -libc::EINVAL);
            assert_eq!(a, lbnet_ipvs_addr::default(), "out untouched on failure");
            a.af = 7;
            assert_eq!(
                lbnet_ipvs_addr_format(&a, buf.as_mut_ptr(), buf.len()),
                -libc::EINVAL
            );
            lbnet_ipvs_addr_parse(c"2001:db8::1".as_ptr(), &mut a);
            assert_eq!(
                lbnet_ipvs_addr_format(&a, buf.as_mut_ptr(), buf.len()),
                -libc::ERANGE
            );
            assert_eq!(
                lbnet_ipvs_addr_format(std::ptr::null(), buf.as_mut_ptr(), 8),
                -libc::EINVAL
            );
            assert_eq!(
                lbnet_ipvs_addr_format(&a, std::ptr::null_mut(), 8),
                -libc::EINVAL
            );
        }
    }
}
