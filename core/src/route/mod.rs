//! Route programming over rtnetlink: the route and nexthop codec and [`RouteHandle`]. The BGP
//! export engine built on it is [`crate::export`].
//!
//! * [`RouteHandle`] adds, replaces and deletes IPv4 and IPv6 routes in any table (u32 ids via
//!   `RTA_TABLE`), with protocol, metric, gateway (IPv6 gateways for IPv4 routes via `RTA_VIA`,
//!   kernel 5.2+), device, onlink, preferred source, weighted ECMP, blackhole / unreachable /
//!   prohibit types and nexthop objects and groups (kernel 5.3+). Many changes go pipelined in
//!   one `sendmsg` with every ack checked; dumps are filtered in the kernel by table and
//!   protocol; deletes always name the protocol so another daemon's routes are never touched.

pub mod codec;
pub mod handle;
pub mod nexthop;
pub mod prefix;
pub mod spec;

pub use codec::KernelRoute;
pub use handle::{RouteFilter, RouteHandle, RouteOp};
pub use nexthop::{Nexthop, NexthopKind};
pub use prefix::Prefix;
pub use spec::{Hop, NextHops, Route, RouteKey, RouteType, RTPROT_BGP, RT_TABLE_MAIN};
