//! rtnetlink message types and multicast groups (include/uapi/linux/rtnetlink.h), defined once
//! for the crate.
//!
//! netlink-packet-route 0.34 keeps its `RTM_*` numbers private (it maps them to
//! `RouteNetlinkMessage` variants) and has no nexthop messages, and libc lacks the nexthop ones;
//! hence this file. The numbers are kernel ABI and never change.

/// `RTM_NEWLINK`: a link's full state (reply to `RTM_GETLINK`, or a notification).
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`: a link is gone (or, with `AF_BRIDGE`, left its bridge).
pub const RTM_DELLINK: u16 = 17;
/// `RTM_GETLINK`: link lookup or dump request.
pub const RTM_GETLINK: u16 = 18;
/// `RTM_NEWADDR`: an address was added.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`: an address was removed.
pub const RTM_DELADDR: u16 = 21;
/// `RTM_NEWROUTE`: a route (add request, dump reply or notification).
pub const RTM_NEWROUTE: u16 = 24;
/// `RTM_DELROUTE`: a route delete request or notification.
pub const RTM_DELROUTE: u16 = 25;
/// `RTM_GETROUTE`: route lookup or dump request.
pub const RTM_GETROUTE: u16 = 26;
/// `RTM_NEWNEXTHOP` (kernel 5.3+): a nexthop object.
pub const RTM_NEWNEXTHOP: u16 = 104;
/// `RTM_DELNEXTHOP` (kernel 5.3+): a nexthop object delete request or notification.
pub const RTM_DELNEXTHOP: u16 = 105;
/// `RTM_GETNEXTHOP` (kernel 5.3+): nexthop lookup or dump request.
pub const RTM_GETNEXTHOP: u16 = 106;

/// `RTM_F_CLONED` (`rtm_flags`): a cached clone, not a configured route.
pub const RTM_F_CLONED: u32 = 0x200;

/// `RTNLGRP_LINK`: link notifications.
pub const RTNLGRP_LINK: u32 = 1;
/// `RTNLGRP_IPV4_IFADDR`: IPv4 address notifications.
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
/// `RTNLGRP_IPV4_ROUTE`: IPv4 route notifications.
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
/// `RTNLGRP_IPV6_IFADDR`: IPv6 address notifications.
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;
/// `RTNLGRP_IPV6_ROUTE`: IPv6 route notifications.
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;
/// `RTNLGRP_NEXTHOP` (kernel 5.3+): nexthop object notifications.
pub const RTNLGRP_NEXTHOP: u32 = 32;
