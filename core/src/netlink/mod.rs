//! The crate's one netlink layer: transport and the codec pieces every protocol shares.
//!
//! * [`socket`]: one socket per handle, requests, dumps and pipelined batches with per-request
//!   ack accounting and the kernel's extended-ack messages;
//! * [`message`]: framing (`struct nlmsghdr` as a typed [`Header`], splitting datagrams, the
//!   generic netlink header, `NLMSG_ERROR`/`NLMSG_DONE`); its `NLMSG_*` / `NLM_F_*` constants are
//!   netlink-packet-core's, re-exported;
//! * [`attr`]: the one attribute reader and writer (IPVS, the nlctrl family lookup, nexthops,
//!   extended acks);
//! * [`rtm`]: the rtnetlink message types and groups netlink-packet-route keeps private.
//!
//! Protocol codecs (IPVS over generic netlink in `ipvs`, routes and links over rtnetlink in
//! `route` and `linkwatch`, with netlink-packet-route's types where it has them) build on these;
//! this module never interprets a payload, and treats every length field it reads as untrusted.

pub mod attr;
pub mod message;
pub mod rtm;
pub mod socket;

pub use message::{Ack, Header};
pub use socket::{Requests, Socket, SocketOptions, DEFAULT_RCVBUF};
