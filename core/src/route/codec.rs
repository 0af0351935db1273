//! Route messages (`RTM_NEWROUTE`, `RTM_DELROUTE`, `RTM_GETROUTE`) encoded and decoded with the
//! netlink-packet-route codec; this file only maps between [`Route`] and its `RouteMessage`.

use std::net::IpAddr;

use netlink_packet_core::{Emitable, Parseable};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteNextHopFlags, RouteProtocol, RouteScope, RouteType as NlRouteType, RouteVia,
};
use netlink_packet_route::AddressFamily;

use super::prefix::Prefix;
use super::spec::{Hop, NextHops, Route, RouteType, RT_TABLE_COMPAT};
use crate::error::{Error, Origin, Result, RouteOperation};
use crate::netlink::message::{Header, HEADER_LEN, NLM_F_DUMP, NLM_F_REQUEST};

pub use crate::netlink::rtm::{RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE};

const ENCODE: Origin = Origin::Route(RouteOperation::Encode);
const PARSE: Origin = Origin::Route(RouteOperation::Parse);

const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;

fn family(v6: bool) -> AddressFamily {
    if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    }
}

fn rt_type(kind: RouteType) -> NlRouteType {
    match kind {
        RouteType::Unicast => NlRouteType::Unicast,
        RouteType::Blackhole => NlRouteType::BlackHole,
        RouteType::Unreachable => NlRouteType::Unreachable,
        RouteType::Prohibit => NlRouteType::Prohibit,
    }
}

/// The `rtm_table` byte for `table`: the id itself up to 255, else `RT_TABLE_COMPAT` with the
/// real id in `RTA_TABLE` (which we always send).
pub fn header_table(table: u32) -> u8 {
    if table > 255 {
        RT_TABLE_COMPAT
    } else {
        table as u8
    }
}

/// Gateway attribute for a hop of a route of family `v6`: `RTA_GATEWAY` when the families
/// match, `RTA_VIA` for an IPv6 gateway on an IPv4 route (kernel 5.2+). An IPv4 gateway on an
/// IPv6 route is refused (`EINVAL`), as the kernel would.
fn gateway_attr(route_v6: bool, gw: IpAddr) -> Result<RouteAttribute> {
    match (route_v6, gw) {
        (false, IpAddr::V4(a)) => Ok(RouteAttribute::Gateway(RouteAddress::Inet(a))),
        (true, IpAddr::V6(a)) => Ok(RouteAttribute::Gateway(RouteAddress::Inet6(a))),
        (false, IpAddr::V6(a)) => Ok(RouteAttribute::Via(RouteVia::Inet6(a))),
        (true, IpAddr::V4(_)) => Err(Error::invalid(
            ENCODE,
            "an IPv6 route cannot have an IPv4 gateway",
        )),
    }
}

fn build_message(route: &Route, for_delete: bool) -> Result<RouteMessage> {
    let v6 = route.dst.is_ipv6();
    let mut msg = RouteMessage::default();
    let h = &mut msg.header;
    h.address_family = family(v6);
    h.destination_prefix_length = route.dst.len();
    h.table = header_table(route.table);
    h.protocol = RouteProtocol::from(route.protocol);
    h.kind = rt_type(route.kind);
    let device_only = matches!(&route.nexthops, NextHops::Single(hop) if hop.gateway.is_none());
    let scope = route
        .scope
        .unwrap_or(if device_only && route.kind == RouteType::Unicast {
            RT_SCOPE_LINK
        } else {
            RT_SCOPE_UNIVERSE
        });
    h.scope = if for_delete {
        // RT_SCOPE_NOWHERE on delete matches any scope (fib_table_delete ignores it for
        // deletes; ip route del sends it too).
        RouteScope::NoWhere
    } else {
        RouteScope::from(scope)
    };
    let attrs = &mut msg.attributes;
    attrs.push(RouteAttribute::Table(route.table));
    if route.dst.len() > 0 || !for_delete {
        attrs.push(RouteAttribute::Destination(RouteAddress::from(
            route.dst.addr(),
        )));
    }
    attrs.push(RouteAttribute::Priority(route.metric));
    if for_delete {
        // Table, destination, metric, protocol and type identify the route; nothing else is
        // sent so a delete never depends on next hops we may not know exactly.
        return Ok(msg);
    }
    if route.kind != RouteType::Unicast && route.nexthops != NextHops::None {
        return Err(Error::invalid(
            ENCODE,
            format!(
                "a {:?} route to {} cannot have next hops",
                route.kind, route.dst
            ),
        ));
    }
    if let Some(src) = route.prefsrc {
        if src.is_ipv6() != v6 {
            return Err(Error::invalid(
                ENCODE,
                "preferred source of another address family",
            ));
        }
        attrs.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
    }
    match &route.nexthops {
        NextHops::None => {
            if route.kind == RouteType::Unicast {
                return Err(Error::invalid(
                    ENCODE,
                    format!(
                        "unicast route to {} needs a gateway, a device or a nexthop object",
                        route.dst
                    ),
                ));
            }
        }
        NextHops::Single(hop) => {
            if hop.gateway.is_none() && hop.oif.is_none() {
                return Err(Error::invalid(ENCODE, "a hop needs a gateway or a device"));
            }
            if let Some(gw) = hop.gateway {
                attrs.push(gateway_attr(v6, gw)?);
            }
            if let Some(oif) = hop.oif {
                attrs.push(RouteAttribute::Oif(oif));
            }
            if hop.onlink {
                msg.header.flags |= RouteFlags::Onlink;
            }
        }
        NextHops::Multipath(hops) => {
            if hops.is_empty() {
                return Err(Error::invalid(ENCODE, "multipath route with no hops"));
            }
            let mut out = Vec::with_capacity(hops.len());
            for hop in hops {
                if hop.weight == 0 || hop.weight > 256 {
                    return Err(Error::new(
                        ENCODE,
                        crate::error::ErrorKind::OutOfRange,
                        format!("multipath weight {} outside 1..=256", hop.weight),
                    ));
                }
                if hop.gateway.is_none() && hop.oif.is_none() {
                    return Err(Error::invalid(ENCODE, "a hop needs a gateway or a device"));
                }
                let mut nh = RouteNextHop::default();
                nh.hops = (hop.weight - 1) as u8;
                nh.interface_index = hop.oif.unwrap_or(0);
                if hop.onlink {
                    nh.flags |= RouteNextHopFlags::Onlink;
                }
                if let Some(gw) = hop.gateway {
                    nh.attributes.push(gateway_attr(v6, gw)?);
                }
                out.push(nh);
            }
            attrs.push(RouteAttribute::MultiPath(out));
        }
        NextHops::Object(id) => {
            if *id == 0 {
                return Err(Error::invalid(ENCODE, "nexthop object id 0"));
            }
            attrs.push(RouteAttribute::NhId(*id));
        }
    }
    Ok(msg)
}

fn emit(kind: u16, flags: u16, msg: &RouteMessage, out: &mut Vec<u8>) {
    let len = HEADER_LEN + msg.buffer_len();
    let start = out.len();
    out.resize(start + len, 0);
    Header {
        length: len as u32,
        kind,
        flags,
        seq: 0,
        pid: 0,
    }
    .write(&mut out[start..]);
    msg.emit(&mut out[start + HEADER_LEN..]);
}

/// Appends an `RTM_NEWROUTE` for `route` to `out` with netlink `flags` (`NLM_F_CREATE` plus
/// `NLM_F_EXCL` to add, `NLM_F_REPLACE` to replace).
pub fn encode_new(route: &Route, flags: u16, out: &mut Vec<u8>) -> Result<()> {
    let msg = build_message(route, false)?;
    emit(RTM_NEWROUTE, flags, &msg, out);
    Ok(())
}

/// Appends an `RTM_DELROUTE` naming table, destination, metric, type and protocol of `route`.
/// The kernel deletes only a route whose protocol matches a non-zero `rtm_protocol`
/// (`fib_table_delete`, `ip6_route_del`), so a delete never removes another daemon's route.
pub fn encode_del(route: &Route, out: &mut Vec<u8>) -> Result<()> {
    let msg = build_message(route, true)?;
    emit(RTM_DELROUTE, 0, &msg, out);
    Ok(())
}

/// Appends an `RTM_GETROUTE` dump request for one family, filtered in the kernel (with
/// `NETLINK_GET_STRICT_CHK`, kernel 4.20+) by table and protocol where given.
pub fn encode_dump(v6: bool, table: Option<u32>, protocol: Option<u8>, out: &mut Vec<u8>) {
    let mut msg = RouteMessage::default();
    msg.header.address_family = family(v6);
    if let Some(t) = table {
        msg.header.table = header_table(t);
        msg.attributes.push(RouteAttribute::Table(t));
    }
    if let Some(p) = protocol {
        msg.header.protocol = RouteProtocol::from(p);
    }
    emit(RTM_GETROUTE, NLM_F_DUMP | NLM_F_REQUEST, &msg, out);
}

/// Appends an `RTM_GETROUTE` lookup of `addr` (what `ip route get ADDR [oif DEV]` sends): the
/// kernel answers with the route it would use, or fails (`ENETUNREACH`, `EHOSTUNREACH`).
/// With `oif` set to a VRF device the lookup starts in that VRF's table (and, through the
/// policy rules after the l3mdev rule, may fall through to other tables when the VRF table has
/// no unreachable default). The reply's table (`RTM_F_LOOKUP_TABLE`) says where it was found.
pub fn encode_lookup(addr: IpAddr, oif: Option<u32>, out: &mut Vec<u8>) {
    lookup_msg(addr, oif, false, out)
}

/// Like [`encode_lookup`], with `RTM_F_FIB_MATCH` (4.13+): the kernel answers with the FIB
/// entry that matched (its own prefix and length, protocol, table and next hops) instead of a
/// host route to `addr`, so the caller learns which route resolves the address. A kernel
/// without the flag answers as to [`encode_lookup`] (a host-length prefix).
pub fn encode_lookup_match(addr: IpAddr, oif: Option<u32>, out: &mut Vec<u8>) {
    lookup_msg(addr, oif, true, out)
}

fn lookup_msg(addr: IpAddr, oif: Option<u32>, fib_match: bool, out: &mut Vec<u8>) {
    let mut msg = RouteMessage::default();
    msg.header.address_family = family(addr.is_ipv6());
    msg.header.destination_prefix_length = if addr.is_ipv6() { 128 } else { 32 };
    msg.attributes
        .push(RouteAttribute::Destination(RouteAddress::from(addr)));
    if let Some(oif) = oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    // IPv4: RTM_F_LOOKUP_TABLE (4.4+) makes the reply name the table the route was found in.
    // IPv6 replies always carry the route's own table, and a strict IPv6 request accepts no
    // flag but RTM_F_FIB_MATCH ("Invalid flags for get route request").
    if addr.is_ipv4() {
        msg.header.flags |= RouteFlags::LookupTable;
    }
    if fib_match {
        msg.header.flags |= RouteFlags::FibMatch;
    }
    emit(RTM_GETROUTE, NLM_F_REQUEST, &msg, out);
}

fn addr_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

fn via_of(v: &RouteVia) -> Option<IpAddr> {
    match v {
        RouteVia::Inet(a) => Some(IpAddr::V4(*a)),
        RouteVia::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

/// A route read back from the kernel, with what [`Route`] does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    /// The route.
    pub route: Route,
    /// `rtm_type` as the kernel sent it (routes of types other than unicast, blackhole,
    /// unreachable and prohibit are reported with [`RouteType::Unicast`] in `route.kind`, and
    /// their raw type here).
    pub raw_type: u8,
    /// `rtm_flags`.
    pub flags: u32,
}

/// The `rtm_protocol` of a route message (header included), read through
/// netlink-packet-route's `RouteHeader`; `None` when the message is shorter than its headers.
pub fn protocol(msg: &[u8]) -> Option<u8> {
    let h = RouteHeader::parse(msg.get(HEADER_LEN..)?).ok()?;
    Some(u8::from(h.protocol))
}

/// Decodes one `RTM_NEWROUTE` message (header included). A message that does not parse is an
/// error (`EBADMSG`), never a panic; so is an address family other than IPv4 and IPv6.
pub fn decode(msg: &[u8]) -> Result<KernelRoute> {
    let payload = msg
        .get(HEADER_LEN..)
        .ok_or_else(|| Error::malformed(PARSE, "route message shorter than its header"))?;
    let rm = RouteMessage::parse(payload)
        .map_err(|e| Error::malformed(PARSE, format!("route message: {e}")))?;
    let v6 = match rm.header.address_family {
        AddressFamily::Inet => false,
        AddressFamily::Inet6 => true,
        other => {
            return Err(Error::malformed(
                PARSE,
                format!("route message of family {other:?}"),
            ))
        }
    };
    let mut dst_addr: Option<IpAddr> = None;
    let mut table = rm.header.table as u32;
    let mut metric = 0;
    let mut gateway = None;
    let mut oif = None;
    let mut prefsrc = None;
    let mut nexthops = NextHops::None;
    for a in &rm.attributes {
        match a {
            RouteAttribute::Destination(d) => dst_addr = addr_of(d),
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Gateway(g) => gateway = addr_of(g),
            RouteAttribute::Via(v) => gateway = via_of(v),
            RouteAttribute::Oif(o) => oif = Some(*o),
            RouteAttribute::PrefSource(s) => prefsrc = addr_of(s),
            RouteAttribute::NhId(id) => nexthops = NextHops::Object(*id),
            RouteAttribute::MultiPath(hops) => {
                let mut out = Vec::with_capacity(hops.len());
                for nh in hops {
                    let mut hop = Hop {
                        gateway: None,
                        oif: (nh.interface_index != 0).then_some(nh.interface_index),
                        onlink: nh.flags.contains(RouteNextHopFlags::Onlink),
                        weight: nh.hops as u16 + 1,
                    };
                    for na in &nh.attributes {
                        match na {
                            RouteAttribute::Gateway(g) => hop.gateway = addr_of(g),
                            RouteAttribute::Via(v) => hop.gateway = via_of(v),
                            _ => {}
                        }
                    }
                    out.push(hop);
                }
                nexthops = NextHops::Multipath(out);
            }
            _ => {}
        }
    }
    let zero: IpAddr = if v6 {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    };
    let dst = Prefix::new(
        dst_addr.unwrap_or(zero),
        rm.header.destination_prefix_length,
    )
    .map_err(|e| Error::malformed(PARSE, format!("route destination: {}", e.context())))?;
    if nexthops == NextHops::None && (gateway.is_some() || oif.is_some()) {
        nexthops = NextHops::Single(Hop {
            gateway,
            oif,
            onlink: rm.header.flags.contains(RouteFlags::Onlink),
            weight: 1,
        });
    }
    let raw_type: u8 = rm.header.kind.into();
    let kind = match rm.header.kind {
        NlRouteType::BlackHole => RouteType::Blackhole,
        NlRouteType::Unreachable => RouteType::Unreachable,
        NlRouteType::Prohibit => RouteType::Prohibit,
        _ => RouteType::Unicast,
    };
    Ok(KernelRoute {
        route: Route {
            dst,
            table,
            protocol: rm.header.protocol.into(),
            metric,
            kind,
            nexthops,
            prefsrc,
            scope: Some(rm.header.scope.into()),
        },
        raw_type,
        flags: rm.header.flags.bits(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::spec::RTPROT_BGP;

    #[test]
    fn round_trips_a_multipath_route_with_a_large_table() {
        let r = Route::new("10.9.0.0/16".parse().unwrap())
            .table(100_000)
            .protocol(RTPROT_BGP)
            .metric(20)
            .nexthops(NextHops::Multipath(vec![
                Hop {
                    weight: 3,
                    ..Hop::via("192.0.2.1".parse().unwrap())
                },
                Hop {
                    oif: Some(7),
                    onlink: true,
                    ..Hop::via("fe80::1".parse().unwrap())
                },
            ]));
        let mut buf = Vec::new();
        encode_new(&r, 0, &mut buf).unwrap();
        assert_eq!(buf[HEADER_LEN + 4], RT_TABLE_COMPAT);
        let back = decode(&buf).unwrap();
        assert_eq!(back.route.table, 100_000);
        assert_eq!(back.route.metric, 20);
        assert_eq!(back.route.protocol, RTPROT_BGP);
        assert_eq!(back.route.nexthops, r.nexthops);
    }

    #[test]
    fn rejects_bad_input_and_malformed_replies() {
        let r = Route::new("2001:db8::/32".parse().unwrap()).via("192.0.2.1".parse().unwrap());
        assert!(encode_new(&r, 0, &mut Vec::new()).is_err());
        let r = Route::new("10.0.0.0/8".parse().unwrap());
        assert!(encode_new(&r, 0, &mut Vec::new()).is_err());
        let r =
            Route::new("10.0.0.0/8".parse().unwrap()).nexthops(NextHops::Multipath(vec![Hop {
                weight: 0,
                ..Hop::via("192.0.2.1".parse().unwrap())
            }]));
        assert!(encode_new(&r, 0, &mut Vec::new()).is_err());
        // Truncated and garbage messages are errors, not panics.
        let mut buf = Vec::new();
        encode_new(
            &Route::new("10.0.0.0/8".parse().unwrap()).via("192.0.2.1".parse().unwrap()),
            0,
            &mut buf,
        )
        .unwrap();
        for cut in 0..buf.len() {
            let _ = decode(&buf[..cut]);
        }
        let mut bad = buf.clone();
        bad[HEADER_LEN + 12] = 200; // attribute length beyond the message
        assert!(decode(&bad).is_err());
        assert!(decode(&[0u8; 10]).is_err());
    }
}
