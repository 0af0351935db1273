//! # lbnet
//!
//! Fast, safe and complete control of Linux kernel networking for load balancers and routers.
//!
//! One crate; each capability over the kernel's own interfaces:
//!
//! * [`ipvs`]: the generic-netlink IPVS protocol (services, destinations, statistics, timeouts,
//!   sync daemon, zero, flush), IPv4 and IPv6, fwmark, tunnels, network namespaces, batching.
//! * [`route`]: programming routes into kernel routing tables over rtnetlink.
//! * [`export`]: the engine that turns BGP best paths into kernel routes by rules (on
//!   [`route`]).
//! * [`linkwatch`]: a loss-free, self-resynchronising view of the kernel's links.
//! * [`xdp`]: an XDP L4 load balancer (BPF program in `bpf/`, embedded) and its map control.
//!
//! Shared plumbing lives in [`netlink`] (the one netlink layer: socket, pipelined requests, ack
//! accounting, framing, the attribute reader and writer, extended-ack messages), [`netns`] (operating in another network namespace without moving the
//! calling thread) and [`error`] (one error type with an errno for the C ABI).

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod error;
pub mod export;
pub mod ipvs;
pub mod linkwatch;
pub mod netlink;
pub mod netns;
pub mod route;
pub mod xdp;

pub use error::{Error, ErrorKind, Origin, Result, Subsystem};
