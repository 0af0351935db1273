//! What a route is: destination, table, protocol, metric, type and where it goes.

use std::net::IpAddr;

use super::prefix::Prefix;

/// `RTPROT_BGP`: the protocol number the export engine uses by default. FRR's zebra sweeps
/// routes of this protocol at start-up, so pick another one where zebra runs.
pub const RTPROT_BGP: u8 = 186;
/// `RTPROT_STATIC`.
pub const RTPROT_STATIC: u8 = 4;
/// `RT_TABLE_MAIN`.
pub const RT_TABLE_MAIN: u32 = 254;
/// `RT_TABLE_COMPAT`: what `rtm_table` holds when the real table id (in `RTA_TABLE`) is above
/// 255.
pub const RT_TABLE_COMPAT: u8 = 252;

/// The route type (`rtm_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteType {
    /// `RTN_UNICAST`: forward to a gateway or a device.
    #[default]
    Unicast,
    /// `RTN_BLACKHOLE`: drop silently.
    Blackhole,
    /// `RTN_UNREACHABLE`: drop and answer ICMP unreachable.
    Unreachable,
    /// `RTN_PROHIBIT`: drop and answer ICMP administratively prohibited.
    Prohibit,
}

/// One way out: a gateway and/or a device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Hop {
    /// Gateway address. An IPv6 gateway on an IPv4 route is sent as `RTA_VIA` (kernel 5.2+).
    pub gateway: Option<IpAddr>,
    /// Output device index (`RTA_OIF` / `rtnh_ifindex`).
    pub oif: Option<u32>,
    /// `RTNH_F_ONLINK`: the gateway is on the link even without a matching connected route.
    pub onlink: bool,
    /// Weight within a multipath route, 1..=256 (sent as `rtnh_hops = weight - 1`); ignored for
    /// a single hop.
    pub weight: u16,
}

impl Hop {
    /// A hop via `gateway` with weight 1.
    pub fn via(gateway: IpAddr) -> Hop {
        Hop {
            gateway: Some(gateway),
            oif: None,
            onlink: false,
            weight: 1,
        }
    }

    /// A hop out of device `oif` with weight 1.
    pub fn dev(oif: u32) -> Hop {
        Hop {
            gateway: None,
            oif: Some(oif),
            onlink: false,
            weight: 1,
        }
    }
}

/// Where a route sends its traffic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum NextHops {
    /// No next hop (blackhole, unreachable, prohibit).
    #[default]
    None,
    /// One gateway and/or device.
    Single(Hop),
    /// ECMP over several hops with weights (`RTA_MULTIPATH`).
    Multipath(Vec<Hop>),
    /// A nexthop object or group by id (`RTA_NH_ID`, kernel 5.3+).
    Object(u32),
}

/// A route, as programmed into or read back from a kernel routing table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// Destination prefix.
    pub dst: Prefix,
    /// Routing table id; any u32 (`RTA_TABLE`).
    pub table: u32,
    /// Route protocol (`rtm_protocol`), e.g. [`RTPROT_BGP`].
    pub protocol: u8,
    /// Metric (`RTA_PRIORITY`); part of the kernel's key for a route.
    pub metric: u32,
    /// Route type.
    pub kind: RouteType,
    /// Where it goes.
    pub nexthops: NextHops,
    /// Preferred source address (`RTA_PREFSRC`).
    pub prefsrc: Option<IpAddr>,
    /// Scope (`rtm_scope`); `None` picks link scope for device-only routes, universe otherwise.
    pub scope: Option<u8>,
}

impl Route {
    /// A unicast route to `dst` in the main table with protocol static, metric 0, no next hop.
    pub fn new(dst: Prefix) -> Route {
        Route {
            dst,
            table: RT_TABLE_MAIN,
            protocol: RTPROT_STATIC,
            metric: 0,
            kind: RouteType::Unicast,
            nexthops: NextHops::None,
            prefsrc: None,
            scope: None,
        }
    }

    /// Sets the table.
    pub fn table(mut self, table: u32) -> Self {
        self.table = table;
        self
    }

    /// Sets the protocol.
    pub fn protocol(mut self, protocol: u8) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets the metric.
    pub fn metric(mut self, metric: u32) -> Self {
        self.metric = metric;
        self
    }

    /// Sets the type.
    pub fn kind(mut self, kind: RouteType) -> Self {
        self.kind = kind;
        self
    }

    /// Sets a single gateway.
    pub fn via(mut self, gateway: IpAddr) -> Self {
        self.nexthops = NextHops::Single(Hop::via(gateway));
        self
    }

    /// Sets the next hops.
    pub fn nexthops(mut self, nexthops: NextHops) -> Self {
        self.nexthops = nexthops;
        self
    }

    /// Sets the preferred source.
    pub fn prefsrc(mut self, src: IpAddr) -> Self {
        self.prefsrc = Some(src);
        self
    }

    /// The kernel's identity of this route for a delete: table, destination, metric.
    pub fn key(&self) -> RouteKey {
        RouteKey {
            table: self.table,
            dst: self.dst,
            metric: self.metric,
        }
    }
}

/// What names one route for the kernel when deleting it (with our protocol): table,
/// destination and metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    /// Table id.
    pub table: u32,
    /// Destination.
    pub dst: Prefix,
    /// Metric.
    pub metric: u32,
}
