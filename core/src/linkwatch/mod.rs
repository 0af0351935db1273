//! A loss-free view of the kernel's links (`RTM_NEWLINK` / `RTM_DELLINK`).
//!
//! [`LinkWatcher`] subscribes to `RTNLGRP_LINK` first, then dumps the links, keeps a table of
//! them (ifindex, name, kind, admin and operational state, carrier, lower-up, MTU, MAC, master,
//! alias, and speed/duplex where they are cheap to get) and reports [`Event::Added`],
//! [`Event::Changed`] (with the exact [`Changes`]) and [`Event::Removed`]. After the kernel
//! drops notifications (`ENOBUFS`) it dumps again and reports exactly the differences, counting
//! the resynchronisation in [`Stats::resyncs`].
//!
//! Kernel behaviour relied on:
//! * A rename is an `RTM_NEWLINK` with the same ifindex; a link moved to another namespace
//!   arrives as `RTM_DELLINK` in the old one and `RTM_NEWLINK` in the new one.
//! * Bridge-port notifications (`ifi_family == AF_BRIDGE`) share the group and are ignored;
//!   an `AF_BRIDGE` `RTM_DELLINK` only means a port left its bridge.
//! * An alias change (`IFLA_IFALIAS`) is notified only while the link is up
//!   (`netdev_state_change` sends nothing for a down link); the next notification or resync of
//!   that link carries it.
//! * Carrier changes reach rtnetlink through the kernel's linkwatch work, which batches
//!   non-urgent changes for up to one second: operational state can lag `IFF_UP` by that much.
//!
//! [`AddrWatcher`] applies the same design to interface addresses (`RTM_NEWADDR` /
//! `RTM_DELADDR`): [`AddrEvent::Added`] and [`AddrEvent::Removed`], resynchronised by a dump
//! after loss.

mod addr;
mod changes;
mod datagram;
mod dump;
mod event;
mod link;
mod speed;
mod watcher;

pub use addr::{Addr, AddrEvent, AddrWatcher, IFA_F_DADFAILED, IFA_F_TENTATIVE};
pub use changes::Changes;
pub use event::Event;
pub use link::{Duplex, Link, OperState, IFF_LOWER_UP, IFF_UP};
pub use watcher::{LinkWatcher, Stats, WatchOptions, DEFAULT_WATCH_RCVBUF};
