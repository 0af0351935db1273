//! An IP prefix (`address/length`) as routes and the export engine key it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::{Error, Origin, Result, RouteOperation};

/// An IPv4 or IPv6 prefix with no host bits set, stored compactly (18 bytes). (The export
/// engine's per-prefix tables key IPv4 prefixes by 8 bytes and IPv6 ones by 17.)
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: [u8; 16],
    v6: bool,
    len: u8,
}

impl Prefix {
    /// A prefix of `addr/len`. Host bits beyond `len` are an error (`EINVAL`), as is a length
    /// above 32 (IPv4) or 128 (IPv6): the kernel would reject both with "Invalid prefix for
    /// given prefix length".
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix> {
        let (bytes, v6, max) = match addr {
            IpAddr::V4(a) => {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&a.octets());
                (b, false, 32)
            }
            IpAddr::V6(a) => (a.octets(), true, 128),
        };
        if len > max {
            return Err(Error::invalid(
                Origin::Route(RouteOperation::Encode),
                format!("prefix length {len} above {max}"),
            ));
        }
        let p = Prefix {
            addr: bytes,
            v6,
            len,
        };
        if p.masked().addr != bytes {
            return Err(Error::invalid(
                Origin::Route(RouteOperation::Encode),
                format!("{addr}/{len} has host bits set beyond the prefix length"),
            ));
        }
        Ok(p)
    }

    /// A host prefix (`/32` or `/128`) for `addr`.
    pub fn host(addr: IpAddr) -> Prefix {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Prefix::new(addr, len).expect("a host prefix has no host bits")
    }

    fn masked(&self) -> Prefix {
        let mut out = *self;
        let total = if self.v6 { 16 } else { 4 };
        for (i, byte) in out.addr.iter_mut().enumerate() {
            let bit = i * 8;
            if i >= total || bit >= self.len as usize {
                *byte = 0;
            } else if bit + 8 > self.len as usize {
                *byte &= 0xffu8 << (8 - (self.len as usize - bit));
            }
        }
        out
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(self.addr))
        } else {
            IpAddr::V4(Ipv4Addr::new(
                self.addr[0],
                self.addr[1],
                self.addr[2],
                self.addr[3],
            ))
        }
    }

    /// The address bytes (an IPv4 address in the first four, the rest zero): with
    /// [`Prefix::is_ipv6`] and [`Prefix::len`] the parts [`Prefix::from_parts`] takes back.
    pub(crate) fn octets(&self) -> [u8; 16] {
        self.addr
    }

    /// A prefix from the parts of one that was valid ([`Prefix::octets`], [`Prefix::is_ipv6`],
    /// [`Prefix::len`]); not checked again.
    pub(crate) fn from_parts(addr: [u8; 16], v6: bool, len: u8) -> Prefix {
        debug_assert!(len <= if v6 { 128 } else { 32 });
        Prefix { addr, v6, len }
    }

    /// The prefix length.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for a zero-length (default) prefix.
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// True for IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.v6
    }

    /// The address family (`AF_INET` or `AF_INET6`).
    pub fn family(&self) -> u8 {
        if self.v6 {
            libc::AF_INET6 as u8
        } else {
            libc::AF_INET as u8
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Prefix {
    type Err = Error;

    /// Parses `ADDR/LEN`, or a bare address as a host prefix.
    fn from_str(s: &str) -> Result<Prefix> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| {
            Error::invalid(
                Origin::Route(RouteOperation::Parse),
                format!("invalid address in prefix {s:?}"),
            )
        })?;
        match l {
            None => Ok(Prefix::host(addr)),
            Some(l) => {
                let len: u8 = l.parse().map_err(|_| {
                    Error::invalid(
                        Origin::Route(RouteOperation::Parse),
                        format!("invalid prefix length in {s:?}"),
                    )
                })?;
                Prefix::new(addr, len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_host_bits() {
        let p: Prefix = "10.1.2.0/24".parse().unwrap();
        assert_eq!(p.to_string(), "10.1.2.0/24");
        assert!(!p.is_ipv6());
        assert!("10.1.2.1/24".parse::<Prefix>().is_err());
        assert!("10.1.2.0/33".parse::<Prefix>().is_err());
        let p6: Prefix = "2001:db8::/32".parse().unwrap();
        assert!(p6.is_ipv6());
        assert_eq!(p6.len(), 32);
        assert!("2001:db8::1/64".parse::<Prefix>().is_err());
        assert_eq!("0.0.0.0/0".parse::<Prefix>().unwrap().len(), 0);
        assert_eq!("192.0.2.7".parse::<Prefix>().unwrap().len(), 32);
        assert!("10.0.0.0/9x".parse::<Prefix>().is_err());
        assert_eq!(std::mem::size_of::<Prefix>(), 18);
    }
}
