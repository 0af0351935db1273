//! Nexthop objects and groups (`RTM_NEWNEXTHOP`, `RTM_DELNEXTHOP`, `RTM_GETNEXTHOP`, kernel
//! 5.3+): many routes point at one nexthop id (`RTA_NH_ID`) so a next-hop change is one message.
//!
//! netlink-packet-route 0.34 has no nexthop messages, so this file is our own small codec of
//! `struct nhmsg` and the `NHA_*` attributes (include/uapi/linux/nexthop.h).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, ErrorKind, Origin, Result, RouteOperation};
use crate::netlink::attr::{attrs, Sink};
use crate::netlink::message::{Header, HEADER_LEN, NLM_F_DUMP, NLM_F_REQUEST};

pub use crate::netlink::rtm::{RTM_DELNEXTHOP, RTM_GETNEXTHOP, RTM_NEWNEXTHOP};

const ENCODE: Origin = Origin::Route(RouteOperation::Encode);
const PARSE: Origin = Origin::Route(RouteOperation::Parse);

const NHMSG_LEN: usize = 8;
const NHA_ID: u16 = 1;
const NHA_GROUP: u16 = 2;
const NHA_GROUP_TYPE: u16 = 3;
const NHA_BLACKHOLE: u16 = 4;
const NHA_OIF: u16 = 5;
const NHA_GATEWAY: u16 = 6;
const RTNH_F_ONLINK: u32 = 4;

/// What a nexthop object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NexthopKind {
    /// A gateway (optional for a device-only nexthop) out of device `oif`. The kernel requires
    /// the device (`NHA_OIF`) for every nexthop that is not a group or a blackhole.
    Hop {
        /// Gateway; an IPv6 gateway may serve IPv4 routes.
        gateway: Option<IpAddr>,
        /// Output device index.
        oif: u32,
        /// `RTNH_F_ONLINK`.
        onlink: bool,
    },
    /// A blackhole nexthop (`NHA_BLACKHOLE`) of family IPv6 (`true`) or IPv4.
    Blackhole {
        /// IPv6 when true.
        v6: bool,
    },
    /// A multipath group (`NHA_GROUP`, type `NEXTHOP_GRP_TYPE_MPATH`): member ids with weights
    /// 1..=256.
    Group(Vec<(u32, u16)>),
}

/// A nexthop object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nexthop {
    /// Id (non-zero; routes refer to it with `RTA_NH_ID`).
    pub id: u32,
    /// Protocol (`nh_protocol`), like a route's.
    pub protocol: u8,
    /// What it is.
    pub kind: NexthopKind,
}

fn ip_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// Starts a message: `nlmsghdr` (length written by [`Header::finish`]) and `struct nhmsg`.
fn start(
    out: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    family: u8,
    protocol: u8,
    nh_flags: u32,
) -> usize {
    let at = Header {
        kind,
        flags,
        ..Header::default()
    }
    .append(out);
    out.extend_from_slice(&[family, 0, protocol, 0]);
    out.extend_from_slice(&nh_flags.to_ne_bytes());
    at
}

/// Appends an `RTM_NEWNEXTHOP` for `nh` with netlink `flags` (`NLM_F_CREATE|NLM_F_EXCL` to add,
/// `NLM_F_CREATE|NLM_F_REPLACE` to replace; the kernel moves every route using the id along).
pub fn encode_new(nh: &Nexthop, flags: u16, out: &mut Vec<u8>) -> Result<()> {
    if nh.id == 0 {
        return Err(Error::invalid(ENCODE, "nexthop id 0"));
    }
    let inet = libc::AF_INET as u8;
    let inet6 = libc::AF_INET6 as u8;
    let (family, nh_flags) = match &nh.kind {
        NexthopKind::Hop {
            gateway, onlink, ..
        } => (
            match gateway {
                Some(IpAddr::V6(_)) => inet6,
                _ => inet,
            },
            if *onlink { RTNH_F_ONLINK } else { 0 },
        ),
        NexthopKind::Blackhole { v6 } => (if *v6 { inet6 } else { inet }, 0),
        NexthopKind::Group(members) => {
            if members.is_empty() {
                return Err(Error::invalid(ENCODE, "nexthop group with no members"));
            }
            (libc::AF_UNSPEC as u8, 0)
        }
    };
    let at = start(out, RTM_NEWNEXTHOP, flags, family, nh.protocol, nh_flags);
    out.attr(NHA_ID, &nh.id.to_ne_bytes());
    match &nh.kind {
        NexthopKind::Hop { gateway, oif, .. } => {
            out.attr(NHA_OIF, &oif.to_ne_bytes());
            if let Some(gw) = gateway {
                out.attr(NHA_GATEWAY, &ip_bytes(*gw));
            }
        }
        NexthopKind::Blackhole { .. } => out.attr(NHA_BLACKHOLE, &[]),
        NexthopKind::Group(members) => {
            let mut v = Vec::with_capacity(members.len() * 8);
            for (id, weight) in members {
                if *weight == 0 || *weight > 256 {
                    out.truncate(at);
                    return Err(Error::new(
                        ENCODE,
                        ErrorKind::OutOfRange,
                        format!("nexthop group weight {weight} outside 1..=256"),
                    ));
                }
                // struct nexthop_grp { u32 id; u8 weight (weight - 1); u8 resvd1; u16 resvd2 }
                v.extend_from_slice(&id.to_ne_bytes());
                v.extend_from_slice(&[(weight - 1) as u8, 0, 0, 0]);
            }
            out.attr(NHA_GROUP, &v);
            out.attr(NHA_GROUP_TYPE, &0u16.to_ne_bytes());
        }
    }
    Header::finish(out, at);
    Ok(())
}

/// Appends an `RTM_DELNEXTHOP` of `id`.
pub fn encode_del(id: u32, out: &mut Vec<u8>) {
    let at = start(out, RTM_DELNEXTHOP, 0, libc::AF_UNSPEC as u8, 0, 0);
    out.attr(NHA_ID, &id.to_ne_bytes());
    Header::finish(out, at);
}

/// Appends an `RTM_GETNEXTHOP` dump request of every nexthop.
pub fn encode_dump(out: &mut Vec<u8>) {
    let at = start(
        out,
        RTM_GETNEXTHOP,
        NLM_F_DUMP | NLM_F_REQUEST,
        libc::AF_UNSPEC as u8,
        0,
        0,
    );
    Header::finish(out, at);
}

fn u32_of(v: &[u8]) -> Result<u32> {
    v.get(..4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| Error::malformed(PARSE, "nexthop attribute shorter than 4 bytes"))
}

/// Decodes one `RTM_NEWNEXTHOP` message (header included). Lengths are checked: a malformed
/// message is an error (`EBADMSG`), never a panic. Nexthop kinds we do not model (FDB,
/// resilient groups, encapsulations) are reported as what they carry of the above.
pub fn decode(msg: &[u8]) -> Result<Nexthop> {
    let hdr = Header::parse(msg)?;
    let end = (hdr.length as usize).min(msg.len());
    if end < HEADER_LEN + NHMSG_LEN {
        return Err(Error::malformed(
            PARSE,
            "nexthop message shorter than struct nhmsg",
        ));
    }
    let family = msg[HEADER_LEN];
    let protocol = msg[HEADER_LEN + 2];
    let nh_flags = u32_of(&msg[HEADER_LEN + 4..])?;
    let (mut id, mut oif, mut gw, mut blackhole, mut group) = (0u32, 0u32, None, false, None);
    for a in attrs(&msg[HEADER_LEN + NHMSG_LEN..end]) {
        let (kind, v) = a?;
        match kind {
            NHA_ID => id = u32_of(v)?,
            NHA_OIF => oif = u32_of(v)?,
            NHA_BLACKHOLE => blackhole = true,
            NHA_GATEWAY => {
                gw = Some(match v.len() {
                    4 => IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
                    16 => {
                        let mut b = [0u8; 16];
                        b.copy_from_slice(v);
                        IpAddr::V6(Ipv6Addr::from(b))
                    }
                    n => {
                        return Err(Error::malformed(
                            PARSE,
                            format!("nexthop gateway of {n} bytes"),
                        ))
                    }
                })
            }
            NHA_GROUP => {
                if !v.len().is_multiple_of(8) {
                    return Err(Error::malformed(
                        PARSE,
                        "nexthop group not a multiple of 8 bytes",
                    ));
                }
                group = Some(
                    v.chunks_exact(8)
                        .map(|c| {
                            (
                                u32::from_ne_bytes([c[0], c[1], c[2], c[3]]),
                                // weight_high (kernel 6.12+) holds bits 8.. of weight - 1.
                                ((c[4] as u16) | ((c[5] as u16) << 8)) + 1,
                            )
                        })
                        .collect(),
                );
            }
            _ => {}
        }
    }
    if id == 0 {
        return Err(Error::malformed(PARSE, "nexthop message without an id"));
    }
    let kind = if let Some(g) = group {
        NexthopKind::Group(g)
    } else if blackhole {
        NexthopKind::Blackhole {
            v6: family == libc::AF_INET6 as u8,
        }
    } else {
        NexthopKind::Hop {
            gateway: gw,
            oif,
            onlink: nh_flags & RTNH_F_ONLINK != 0,
        }
    };
    Ok(Nexthop { id, protocol, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_malformed() {
        for nh in [
            Nexthop {
                id: 7,
                protocol: 186,
                kind: NexthopKind::Hop {
                    gateway: Some("fe80::1".parse().unwrap()),
                    oif: 3,
                    onlink: true,
                },
            },
            Nexthop {
                id: 8,
                protocol: 4,
                kind: NexthopKind::Group(vec![(1, 1), (2, 256)]),
            },
            Nexthop {
                id: 9,
                protocol: 4,
                kind: NexthopKind::Blackhole { v6: true },
            },
        ] {
            let mut b = Vec::new();
            encode_new(&nh, 0, &mut b).unwrap();
            assert_eq!(decode(&b).unwrap(), nh);
            for cut in 0..b.len() {
                let _ = decode(&b[..cut]);
            }
            let mut bad = b.clone();
            bad[HEADER_LEN + NHMSG_LEN] = 0xff; // first attribute overruns
            assert!(decode(&bad).is_err());
        }
        let g = Nexthop {
            id: 1,
            protocol: 0,
            kind: NexthopKind::Group(vec![(1, 0)]),
        };
        assert_eq!(
            encode_new(&g, 0, &mut Vec::new()).unwrap_err().kind(),
            ErrorKind::OutOfRange
        );
    }
}
