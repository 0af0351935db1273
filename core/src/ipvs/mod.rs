//! IPVS over generic netlink (family "IPVS", linux/ip_vs.h; kernel side ip_vs_ctl.c).
//!
//! [`Handle`] owns one netlink socket and offers every IPVS command: services (TCP, UDP, SCTP,
//! firewall marks; IPv4 and IPv6; every scheduler, scheduler flags, persistence, one-packet
//! scheduling, persistence engines), destinations (all forwarding methods, thresholds, mixed
//! address families with tunnels, GUE/GRE tunnels), statistics (32- and 64-bit sets), zero,
//! flush, info, timeouts and the sync daemon, plus pipelined batches ([`Handle::apply`]).
//!
//! ```no_run
//! use lbnet::ipvs::{Destination, ForwardMethod, Handle, Service, ServiceKey};
//! let h = Handle::new()?;
//! let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
//! h.new_service(&Service::new(key, "wlc"))?;
//! h.new_destination(&key, &Destination::new("10.0.1.1".parse().unwrap(), 80, ForwardMethod::Route))?;
//! for e in h.services_with_destinations()? {
//!     println!("{} {} destinations", e.service.key, e.destinations.len());
//! }
//! # Ok::<(), lbnet::Error>(())
//! ```

pub mod attr;
mod change;
mod config;
mod daemon;
mod destination;
mod errors;
pub mod family;
mod handle;
pub mod message;
pub mod parse;
mod service;
mod stats;

pub use crate::error::IpvsCommand as Command;
pub use change::Change;
pub use config::{Info, Timeouts};
pub use daemon::{DaemonState, SyncDaemon};
pub use destination::{Destination, ForwardMethod, TunnelFlags, TunnelType};
pub use errors::{reason, Reason};
pub use handle::{Handle, HandleOptions};
pub use service::{
    AddressFamily, Protocol, Service, ServiceEntry, ServiceFlags, ServiceKey, SCHEDULERS,
};
pub use stats::Stats;
