//! The plain C structs of the IPVS C ABI: service, destination, statistics, info, timeouts,
//! sync daemon, and the constants for their flag and method fields.
//!
//! Integer fields hold the kernel's own values (linux/ip_vs.h), in host byte order unless a
//! field says otherwise, so existing C code that knows IPVS can fill them directly.

use std::ffi::c_char;

use super::names::{LBNET_IPVS_IFNAME_LEN, LBNET_IPVS_PE_NAME_LEN, LBNET_IPVS_SCHED_NAME_LEN};
use crate::addr::lbnet_addr;

/// Forwarding method masquerading/NAT (`IP_VS_CONN_F_MASQ`).
pub const LBNET_IPVS_FWD_MASQ: u32 = 0;
/// Forwarding method local node (`IP_VS_CONN_F_LOCALNODE`).
pub const LBNET_IPVS_FWD_LOCAL: u32 = 1;
/// Forwarding method tunnelling (`IP_VS_CONN_F_TUNNEL`).
pub const LBNET_IPVS_FWD_TUNNEL: u32 = 2;
/// Forwarding method direct routing (`IP_VS_CONN_F_DROUTE`).
pub const LBNET_IPVS_FWD_ROUTE: u32 = 3;
/// Forwarding method bypass (`IP_VS_CONN_F_BYPASS`): reported by the kernel, refused with
/// `-EINVAL` on a destination that is added or updated (ipvsadm lists it as "(null)").
pub const LBNET_IPVS_FWD_BYPASS: u32 = 4;

/// Tunnel type IP-in-IP (`IP_VS_CONN_F_TUNNEL_TYPE_IPIP`), the default.
pub const LBNET_IPVS_TUN_IPIP: u32 = 0;
/// Tunnel type GUE (`IP_VS_CONN_F_TUNNEL_TYPE_GUE`, kernel 5.2+).
pub const LBNET_IPVS_TUN_GUE: u32 = 1;
/// Tunnel type GRE (`IP_VS_CONN_F_TUNNEL_TYPE_GRE`, kernel 5.3+).
pub const LBNET_IPVS_TUN_GRE: u32 = 2;
/// Tunnel flag: no checksum (`IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM`).
pub const LBNET_IPVS_TUN_F_NOCSUM: u32 = 0;
/// Tunnel flag: checksum (`IP_VS_TUNNEL_ENCAP_FLAG_CSUM`).
pub const LBNET_IPVS_TUN_F_CSUM: u32 = 1;
/// Tunnel flag: remote checksum offload (`IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`).
pub const LBNET_IPVS_TUN_F_REMCSUM: u32 = 2;

/// Service flag: persistent (`IP_VS_SVC_F_PERSISTENT`); set when `timeout` is non-zero.
pub const LBNET_IPVS_SVC_F_PERSISTENT: u32 = 0x0001;
/// Service flag: hashed (`IP_VS_SVC_F_HASHED`), reported by the kernel only.
pub const LBNET_IPVS_SVC_F_HASHED: u32 = 0x0002;
/// Service flag: one-packet scheduling (`IP_VS_SVC_F_ONEPACKET`).
pub const LBNET_IPVS_SVC_F_ONEPACKET: u32 = 0x0004;
/// Scheduler flag 1 (`IP_VS_SVC_F_SCHED1`: sh/mh fallback).
pub const LBNET_IPVS_SVC_F_SCHED1: u32 = 0x0008;
/// Scheduler flag 2 (`IP_VS_SVC_F_SCHED2`: sh/mh port).
pub const LBNET_IPVS_SVC_F_SCHED2: u32 = 0x0010;
/// Scheduler flag 3 (`IP_VS_SVC_F_SCHED3`).
pub const LBNET_IPVS_SVC_F_SCHED3: u32 = 0x0020;
/// Every service flag a caller may pass (`IP_VS_SVC_F_PERSISTENT` to `_SCHED3`); a service
/// with any other bit is refused with `-EINVAL`. `LBNET_IPVS_SVC_F_HASHED` is accepted (the
/// kernel reports it, so a listed service can be sent back) and never sent.
pub const LBNET_IPVS_SVC_F_MASK: u32 = 0x003f;

/// Largest persistence timeout (`lbnet_ipvs_service.timeout`, seconds), about 49.7 days: the
/// kernel keeps `timeout * HZ` in 32 bits, which wraps above `UINT32_MAX / HZ` for a `HZ` up to
/// 1000 (the largest `CONFIG_HZ`). Larger values are refused with `-EINVAL`.
pub const LBNET_IPVS_PERSISTENT_TIMEOUT_MAX: u32 = 4_294_967;

/// Largest connection timeout for `lbnet_ipvs_set_timeouts` (seconds), about 24.8 days: the
/// kernel keeps `timeout * HZ` in an `int` (`INT32_MAX / 1000`). Larger values are refused with
/// `-EINVAL`.
pub const LBNET_IPVS_TIMEOUT_MAX: u32 = 2_147_483;

/// Sync daemon state master (`IP_VS_STATE_MASTER`).
pub const LBNET_IPVS_DAEMON_MASTER: u32 = 1;
/// Sync daemon state backup (`IP_VS_STATE_BACKUP`).
pub const LBNET_IPVS_DAEMON_BACKUP: u32 = 2;

/// Traffic counters of a service or destination, 64-bit (the kernel's `STATS64` set on kernel
/// 4.1+, the 32-bit `STATS` set widened on older kernels).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct lbnet_ipvs_stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Current connection rate (per second).
    pub cps: u64,
    /// Current incoming packet rate (per second).
    pub inpps: u64,
    /// Current outgoing packet rate (per second).
    pub outpps: u64,
    /// Current incoming byte rate (per second).
    pub inbps: u64,
    /// Current outgoing byte rate (per second).
    pub outbps: u64,
}

/// A virtual service. Identified either by (`af`, `protocol`, `addr`, `port`) when `fwmark` is
/// 0, or by (`af`, `fwmark`) when `fwmark` is non-zero.
///
/// Functions that only need to name a service (delete, get, destinations...) read just those key
/// fields. `stats` is filled by the library on output and ignored on input.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct lbnet_ipvs_service {
    /// `AF_INET` or `AF_INET6`: the family of the service (and of `addr` unless fwmark).
    pub af: i32,
    /// `IPPROTO_TCP`, `IPPROTO_UDP` or `IPPROTO_SCTP`; ignored for a fwmark service.
    pub protocol: u16,
    /// Port in host byte order; ignored for a fwmark service.
    pub port: u16,
    /// The virtual address; its `af` must equal the service's `af` (ignored for fwmark).
    pub addr: lbnet_addr,
    /// Firewall mark, or 0 for an address/port/protocol service.
    pub fwmark: u32,
    /// Scheduler name ("rr", "wlc", "mh"...), NUL-terminated, at most 15 characters.
    pub sched_name: [c_char; LBNET_IPVS_SCHED_NAME_LEN],
    /// Persistence engine name ("sip"), or empty for none; NUL-terminated.
    pub pe_name: [c_char; LBNET_IPVS_PE_NAME_LEN],
    /// `LBNET_IPVS_SVC_F_*` flags (within `LBNET_IPVS_SVC_F_MASK`).
    pub flags: u32,
    /// Persistence timeout in seconds, at most `LBNET_IPVS_PERSISTENT_TIMEOUT_MAX`; 0 = not
    /// persistent.
    pub timeout: u32,
    /// Persistence granularity: for IPv4 the netmask as a host-order integer (0xffffff00 for
    /// /24); for IPv6 the prefix length (1-128; the kernel rejects others with `-EINVAL`).
    /// 0 on input means the full mask of the family (0xffffffff or 128).
    pub netmask: u32,
    /// Counters (output only).
    pub stats: lbnet_ipvs_stats,
}

/// A real server (destination) of a service. `(addr, port)` identifies it within the service;
/// the counters and `stats` are filled on output and ignored on input.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct lbnet_ipvs_dest {
    /// Address of the real server. It may differ in family from the service only with tunnel
    /// forwarding (kernel 3.18+).
    pub addr: lbnet_addr,
    /// Port in host byte order.
    pub port: u16,
    /// Tunnel port in host byte order (GUE), 0 otherwise.
    pub tun_port: u16,
    /// Forwarding method, one of `LBNET_IPVS_FWD_*` (`_BYPASS` on output only).
    pub fwd_method: u32,
    /// Weight, 0 to `INT32_MAX` (a negative weight is `-ERANGE` from the kernel).
    pub weight: i32,
    /// Upper connection threshold, 0 = none.
    pub u_threshold: u32,
    /// Lower connection threshold, 0 = none.
    pub l_threshold: u32,
    /// Tunnel type, one of `LBNET_IPVS_TUN_*` (with `LBNET_IPVS_FWD_TUNNEL`).
    pub tun_type: u32,
    /// Tunnel flags, `LBNET_IPVS_TUN_F_*` (GUE/GRE checksum options).
    pub tun_flags: u32,
    /// Active connections (output only).
    pub active_conns: u32,
    /// Inactive connections (output only).
    pub inactive_conns: u32,
    /// Persistent connections (output only).
    pub persist_conns: u32,
    /// Counters (output only).
    pub stats: lbnet_ipvs_stats,
}

/// What the kernel reports about IPVS itself.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct lbnet_ipvs_info {
    /// Version as (major << 16) | (minor << 8) | patch, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

/// Connection timeouts in seconds. On set, 0 leaves a value unchanged and each is at most
/// `LBNET_IPVS_TIMEOUT_MAX`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct lbnet_ipvs_timeouts {
    /// TCP established.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// A connection synchronisation daemon.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct lbnet_ipvs_daemon {
    /// `LBNET_IPVS_DAEMON_MASTER` or `LBNET_IPVS_DAEMON_BACKUP`.
    pub state: u32,
    /// Sync ID (0-255).
    pub syncid: u32,
    /// Multicast interface name, NUL-terminated, at most 15 characters.
    pub mcast_ifname: [c_char; LBNET_IPVS_IFNAME_LEN],
    /// Maximum sync message length, 0 = kernel default (kernel 4.3+).
    pub sync_maxlen: u32,
    /// Multicast group; `af` 0 = kernel default group (kernel 4.3+).
    pub mcast_group: lbnet_addr,
    /// Multicast port in host byte order, 0 = default (kernel 4.3+).
    pub mcast_port: u16,
    /// Multicast TTL, 0 = default (kernel 4.3+).
    pub mcast_ttl: u8,
}
