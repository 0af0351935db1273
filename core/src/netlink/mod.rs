//! Shared netlink plumbing: one socket per handle, requests, dumps and pipelined batches with
//! per-request ack accounting and the kernel's extended-ack messages.
//!
//! Protocol codecs (IPVS over generic netlink, routes and links over rtnetlink) encode complete
//! messages into byte buffers and parse the messages handed back; this module never interprets a
//! payload, and treats every length field it reads as untrusted.

pub mod message;
pub mod socket;

pub use message::{Ack, Header};
pub use socket::{Requests, Socket, SocketOptions, DEFAULT_RCVBUF};
