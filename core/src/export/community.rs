//! BGP communities as rules match them: standard (RFC 1997, `ASN:VALUE` of 16 bits each) and
//! large (RFC 8092, `GLOBAL:LOCAL1:LOCAL2` of 32 bits each). Out-of-range parts are rejected,
//! never clamped.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, ErrorKind, ExportOperation, Origin, Result};

const PARSE_COMMUNITY: Origin = Origin::RouteExport(ExportOperation::ParseCommunity);

/// A standard community (RFC 1997): 32 bits, written `high:low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// `asn:value`.
    pub fn new(asn: u16, value: u16) -> Community {
        Community(((asn as u32) << 16) | value as u32)
    }
}

fn part<T: TryFrom<u64>>(s: &str, what: &str, whole: &str) -> Result<T> {
    let n: u64 = s.trim().parse().map_err(|_| {
        Error::invalid(
            PARSE_COMMUNITY,
            format!("{what} {s:?} in {whole:?} is not a number"),
        )
    })?;
    T::try_from(n).map_err(|_| {
        Error::new(
            PARSE_COMMUNITY,
            ErrorKind::OutOfRange,
            format!("{what} {n} in {whole:?} is out of range"),
        )
    })
}

impl FromStr for Community {
    type Err = Error;

    /// Parses `ASN:VALUE` (each 0..=65535) or a plain 32-bit number.
    fn from_str(s: &str) -> Result<Community> {
        match s.split_once(':') {
            Some((a, v)) => Ok(Community::new(
                part(a, "community ASN", s)?,
                part(v, "community value", s)?,
            )),
            None => Ok(Community(part(s, "community", s)?)),
        }
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

/// A large community (RFC 8092): three 32-bit parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global administrator (an ASN).
    pub global: u32,
    /// First local data part.
    pub local1: u32,
    /// Second local data part.
    pub local2: u32,
}

impl FromStr for LargeCommunity {
    type Err = Error;

    /// Parses `GLOBAL:LOCAL1:LOCAL2`, each 0..=4294967295.
    fn from_str(s: &str) -> Result<LargeCommunity> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 3 {
            return Err(Error::invalid(
                PARSE_COMMUNITY,
                format!("large community {s:?} is not GLOBAL:LOCAL1:LOCAL2"),
            ));
        }
        Ok(LargeCommunity {
            global: part(parts[0], "large community global part", s)?,
            local1: part(parts[1], "large community local part", s)?,
            local2: part(parts[2], "large community local part", s)?,
        })
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_reject_out_of_range() {
        assert_eq!(
            "65000:100".parse::<Community>().unwrap(),
            Community::new(65000, 100)
        );
        assert_eq!(
            "65000:100".parse::<Community>().unwrap().to_string(),
            "65000:100"
        );
        assert_eq!("4259840100".parse::<Community>().unwrap().0, 4259840100);
        let e = "65536:1".parse::<Community>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfRange);
        assert_eq!(
            "1:65536".parse::<Community>().unwrap_err().kind(),
            ErrorKind::OutOfRange
        );
        assert_eq!(
            "4294967296".parse::<Community>().unwrap_err().kind(),
            ErrorKind::OutOfRange
        );
        assert!("x:1".parse::<Community>().is_err());
        assert!("-1:1".parse::<Community>().is_err());
        let l: LargeCommunity = "4200000000:1:4294967295".parse().unwrap();
        assert_eq!(l.local2, u32::MAX);
        assert_eq!(l.to_string(), "4200000000:1:4294967295");
        assert_eq!(
            "4294967296:1:1"
                .parse::<LargeCommunity>()
                .unwrap_err()
                .kind(),
            ErrorKind::OutOfRange
        );
        assert!("1:2".parse::<LargeCommunity>().is_err());
    }
}
