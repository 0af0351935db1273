//! The structs, typedefs and constants of ipvsadm 1.31's `libipvs/libipvs.h` and
//! `libipvs/ip_vs.h`, laid out exactly as there (`repr(C)`, same field order, types of the same
//! size and alignment; `examples/c/libipvs_layout.c` static-asserts every size and offset against
//! ipvsadm's own header). Addresses and ports are in network byte order, as in libipvs; the
//! IPv6 persistence "netmask" is the prefix length in host order, as ipvsadm stores it.

use libc::{c_char, c_int, c_uint, in6_addr, in_addr};

/// `IP_VS_SCHEDNAME_MAXLEN`: bytes of a scheduler name field, NUL included.
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;
/// `IP_VS_PENAME_MAXLEN`: longest persistence engine name (the field has one more byte).
pub const IP_VS_PENAME_MAXLEN: usize = 16;
/// `IP_VS_IFNAME_MAXLEN`: bytes of an interface name field, NUL included.
pub const IP_VS_IFNAME_MAXLEN: usize = 16;
/// `IP_VS_PEDATA_MAXLEN`: longest persistence engine data.
pub const IP_VS_PEDATA_MAXLEN: usize = 255;
/// `IP_VS_VERSION_CODE`: the IPVS version libipvs 1.31 was written for (1.2.1).
pub const IP_VS_VERSION_CODE: u32 = 0x010201;
/// `MINIMUM_IPVS_VERSION_MAJOR`: ipvsadm warns below 1.1.4.
pub const MINIMUM_IPVS_VERSION_MAJOR: u32 = 1;
/// `MINIMUM_IPVS_VERSION_MINOR`.
pub const MINIMUM_IPVS_VERSION_MINOR: u32 = 1;
/// `MINIMUM_IPVS_VERSION_PATCH`.
pub const MINIMUM_IPVS_VERSION_PATCH: u32 = 4;
/// `IPVS_SVC_PERSISTENT_TIMEOUT`: ipvsadm's default persistence timeout, 360 s.
pub const IPVS_SVC_PERSISTENT_TIMEOUT: u32 = 6 * 60;

/// `IP_VS_SVC_F_PERSISTENT`: persistent service.
pub const IP_VS_SVC_F_PERSISTENT: u32 = 0x0001;
/// `IP_VS_SVC_F_HASHED`: set by the kernel on every listed service.
pub const IP_VS_SVC_F_HASHED: u32 = 0x0002;
/// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling.
pub const IP_VS_SVC_F_ONEPACKET: u32 = 0x0004;
/// `IP_VS_SVC_F_SCHED1`: scheduler flag 1 (sh/mh fallback).
pub const IP_VS_SVC_F_SCHED1: u32 = 0x0008;
/// `IP_VS_SVC_F_SCHED2`: scheduler flag 2 (sh/mh port).
pub const IP_VS_SVC_F_SCHED2: u32 = 0x0010;
/// `IP_VS_SVC_F_SCHED3`: scheduler flag 3.
pub const IP_VS_SVC_F_SCHED3: u32 = 0x0020;
/// `IP_VS_SVC_F_SCHED_SH_FALLBACK`.
pub const IP_VS_SVC_F_SCHED_SH_FALLBACK: u32 = IP_VS_SVC_F_SCHED1;
/// `IP_VS_SVC_F_SCHED_SH_PORT`.
pub const IP_VS_SVC_F_SCHED_SH_PORT: u32 = IP_VS_SVC_F_SCHED2;
/// `IP_VS_SVC_F_SCHED_MH_FALLBACK`.
pub const IP_VS_SVC_F_SCHED_MH_FALLBACK: u32 = IP_VS_SVC_F_SCHED1;
/// `IP_VS_SVC_F_SCHED_MH_PORT`.
pub const IP_VS_SVC_F_SCHED_MH_PORT: u32 = IP_VS_SVC_F_SCHED2;

/// `IP_VS_STATE_NONE`: no sync daemon.
pub const IP_VS_STATE_NONE: u32 = 0;
/// `IP_VS_STATE_MASTER`: master sync daemon.
pub const IP_VS_STATE_MASTER: u32 = 1;
/// `IP_VS_STATE_BACKUP`: backup sync daemon.
pub const IP_VS_STATE_BACKUP: u32 = 2;

/// `IP_VS_CONN_F_FWD_MASK`: the forwarding method bits of `conn_flags`.
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
/// `IP_VS_CONN_F_MASQ`: masquerading (NAT), ipvsadm `-m`.
pub const IP_VS_CONN_F_MASQ: u32 = 0x0000;
/// `IP_VS_CONN_F_LOCALNODE`: local node.
pub const IP_VS_CONN_F_LOCALNODE: u32 = 0x0001;
/// `IP_VS_CONN_F_TUNNEL`: tunneling, ipvsadm `-i`.
pub const IP_VS_CONN_F_TUNNEL: u32 = 0x0002;
/// `IP_VS_CONN_F_DROUTE`: direct routing, ipvsadm `-g`.
pub const IP_VS_CONN_F_DROUTE: u32 = 0x0003;
/// `IP_VS_CONN_F_BYPASS`: cache bypass.
pub const IP_VS_CONN_F_BYPASS: u32 = 0x0004;
/// `IP_VS_CONN_F_TUNNEL_TYPE_IPIP`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u32 = 0;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GUE`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u32 = 1;
/// `IP_VS_CONN_F_TUNNEL_TYPE_GRE`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u32 = 2;
/// `IP_VS_CONN_F_TUNNEL_TYPE_MAX`.
pub const IP_VS_CONN_F_TUNNEL_TYPE_MAX: u32 = 3;
/// `IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM`.
pub const IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM: u32 = 0;
/// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`.
pub const IP_VS_TUNNEL_ENCAP_FLAG_CSUM: u32 = 1;
/// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`.
pub const IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM: u32 = 2;

/// `union nf_inet_addr`: an IPv4 address in its first 4 bytes or an IPv6 address, network order.
#[repr(C)]
#[derive(Clone, Copy)]
pub union nf_inet_addr {
    /// The 16 bytes as four words.
    pub all: [u32; 4],
    /// IPv4 address.
    pub ip: u32,
    /// IPv6 address as four words.
    pub ip6: [u32; 4],
    /// IPv4 address.
    pub r#in: in_addr,
    /// IPv6 address.
    pub in6: in6_addr,
}

/// `struct ip_vs_service_user` (`ipvs_service_t`): a service to add, edit, delete or zero.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ip_vs_service_user {
    /// IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP (unused with a firewall mark).
    pub protocol: u16,
    /// Internal to libipvs's setsockopt path; unused.
    pub __addr_v4: u32,
    /// Virtual port, network order.
    pub port: u16,
    /// Firewall mark; non-zero makes this a firewall-mark service.
    pub fwmark: u32,
    /// Scheduler name, NUL-terminated.
    pub sched_name: [c_char; IP_VS_SCHEDNAME_MAXLEN],
    /// `IP_VS_SVC_F_*` flags.
    pub flags: c_uint,
    /// Persistence timeout in seconds.
    pub timeout: c_uint,
    /// Persistence netmask: IPv4 mask in network order; IPv6 prefix length.
    pub netmask: u32,
    /// AF_INET or AF_INET6.
    pub af: u16,
    /// Virtual address.
    pub addr: nf_inet_addr,
    /// Persistence engine name, NUL-terminated (`IP_VS_PENAME_MAXLEN` + 1 bytes); empty for none.
    pub pe_name: [c_char; 17],
}

/// `struct ip_vs_dest_user` (`ipvs_dest_t`): a destination to add, edit or delete.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ip_vs_dest_user {
    /// Internal to libipvs's setsockopt path; unused.
    pub __addr_v4: u32,
    /// Real server port, network order.
    pub port: u16,
    /// Forwarding method (`IP_VS_CONN_F_*` in the `IP_VS_CONN_F_FWD_MASK` bits).
    pub conn_flags: c_uint,
    /// Weight.
    pub weight: c_int,
    /// Upper connection threshold, 0 = none.
    pub u_threshold: u32,
    /// Lower connection threshold, 0 = none.
    pub l_threshold: u32,
    /// AF_INET or AF_INET6 (0: the service's).
    pub af: u16,
    /// Real server address.
    pub addr: nf_inet_addr,
    /// Tunnel type (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
    pub tun_type: u16,
    /// Tunnel port, network order.
    pub tun_port: u16,
    /// Tunnel flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
    pub tun_flags: u16,
}

/// `struct ip_vs_stats_user`: 32-bit statistics (left zero by the netlink path of libipvs, and
/// so by this library: read `stats64`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ip_vs_stats_user {
    /// Connections scheduled.
    pub conns: u32,
    /// Incoming packets.
    pub inpkts: u32,
    /// Outgoing packets.
    pub outpkts: u32,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Connection rate.
    pub cps: u32,
    /// Incoming packet rate.
    pub inpps: u32,
    /// Outgoing packet rate.
    pub outpps: u32,
    /// Incoming byte rate.
    pub inbps: u32,
    /// Outgoing byte rate.
    pub outbps: u32,
}

/// `struct ip_vs_stats64`: 64-bit statistics.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ip_vs_stats64 {
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
    /// Connection rate.
    pub cps: u64,
    /// Incoming packet rate.
    pub inpps: u64,
    /// Outgoing packet rate.
    pub outpps: u64,
    /// Incoming byte rate.
    pub inbps: u64,
    /// Outgoing byte rate.
    pub outbps: u64,
}

/// `struct ip_vs_getinfo`: what `ipvs_info` holds after `ipvs_init`/`ipvs_getinfo`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ip_vs_getinfo {
    /// IPVS version, `0x00MMmmpp`.
    pub version: c_uint,
    /// Connection hash table size.
    pub size: c_uint,
    /// Number of services (not filled by the netlink path of libipvs, nor here).
    pub num_services: c_uint,
}

/// `struct ip_vs_service_entry` (`ipvs_service_entry_t`): a listed service.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ip_vs_service_entry {
    /// Protocol (0 for a firewall-mark service).
    pub protocol: u16,
    /// Internal to libipvs's setsockopt path; 0.
    pub __addr_v4: u32,
    /// Virtual port, network order.
    pub port: u16,
    /// Firewall mark, 0 for an address service.
    pub fwmark: u32,
    /// Scheduler name.
    pub sched_name: [c_char; IP_VS_SCHEDNAME_MAXLEN],
    /// `IP_VS_SVC_F_*` flags.
    pub flags: c_uint,
    /// Persistence timeout in seconds.
    pub timeout: c_uint,
    /// Persistence netmask (IPv4 network order, IPv6 prefix length).
    pub netmask: u32,
    /// Number of destinations: 0 in listings, as with libipvs's netlink path.
    pub num_dests: c_uint,
    /// 32-bit statistics (zero; see `stats64`).
    pub stats: ip_vs_stats_user,
    /// AF_INET or AF_INET6.
    pub af: u16,
    /// Virtual address.
    pub addr: nf_inet_addr,
    /// Persistence engine name (`IP_VS_PENAME_MAXLEN` + 1 bytes).
    pub pe_name: [c_char; 17],
    /// Statistics.
    pub stats64: ip_vs_stats64,
}

/// `struct ip_vs_dest_entry` (`ipvs_dest_entry_t`): a listed destination.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ip_vs_dest_entry {
    /// Internal to libipvs's setsockopt path; 0.
    pub __addr_v4: u32,
    /// Port, network order.
    pub port: u16,
    /// Forwarding method.
    pub conn_flags: c_uint,
    /// Weight.
    pub weight: c_int,
    /// Upper threshold.
    pub u_threshold: u32,
    /// Lower threshold.
    pub l_threshold: u32,
    /// Active connections.
    pub activeconns: u32,
    /// Inactive connections.
    pub inactconns: u32,
    /// Persistence templates.
    pub persistconns: u32,
    /// 32-bit statistics (zero; see `stats64`).
    pub stats: ip_vs_stats_user,
    /// AF_INET or AF_INET6.
    pub af: u16,
    /// Address.
    pub addr: nf_inet_addr,
    /// Statistics.
    pub stats64: ip_vs_stats64,
    /// Tunnel type.
    pub tun_type: u16,
    /// Tunnel port, network order.
    pub tun_port: u16,
    /// Tunnel flags.
    pub tun_flags: u16,
}

/// `struct ip_vs_get_dests`: a service's destinations (`ipvs_get_dests`; free with `free()`).
#[repr(C)]
pub struct ip_vs_get_dests {
    /// Protocol of the service.
    pub protocol: u16,
    /// Internal to libipvs's setsockopt path; 0.
    pub __addr_v4: u32,
    /// Port of the service, network order.
    pub port: u16,
    /// Firewall mark of the service.
    pub fwmark: u32,
    /// Number of entries in `entrytable`.
    pub num_dests: c_uint,
    /// Family of the service.
    pub af: u16,
    /// Address of the service.
    pub addr: nf_inet_addr,
    /// The destinations.
    pub entrytable: [ip_vs_dest_entry; 0],
}

/// `struct ip_vs_get_services`: every service (`ipvs_get_services`; free with `free()`).
#[repr(C)]
pub struct ip_vs_get_services {
    /// Number of entries in `entrytable`.
    pub num_services: c_uint,
    /// The services.
    pub entrytable: [ip_vs_service_entry; 0],
}

/// `struct ip_vs_timeout_user` (`ipvs_timeout_t`): TCP, TCP FIN and UDP timeouts in seconds.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ip_vs_timeout_user {
    /// Established TCP.
    pub tcp_timeout: c_int,
    /// TCP after FIN.
    pub tcp_fin_timeout: c_int,
    /// UDP.
    pub udp_timeout: c_int,
}

/// `struct ip_vs_daemon_user` (`ipvs_daemon_t`): a sync daemon.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ip_vs_daemon_user {
    /// `IP_VS_STATE_MASTER` or `IP_VS_STATE_BACKUP` (0: none).
    pub state: c_int,
    /// Multicast interface name.
    pub mcast_ifn: [c_char; IP_VS_IFNAME_MAXLEN],
    /// Sync id.
    pub syncid: c_int,
    /// UDP payload size (0: the kernel's default).
    pub sync_maxlen: c_int,
    /// Multicast port (0: default).
    pub mcast_port: u16,
    /// Multicast TTL (0: default).
    pub mcast_ttl: u16,
    /// Multicast group family (0: default group).
    pub mcast_af: u16,
    /// Multicast group.
    pub mcast_group: nf_inet_addr,
}

/// `ipvs_service_t`.
pub type ipvs_service_t = ip_vs_service_user;
/// `ipvs_dest_t`.
pub type ipvs_dest_t = ip_vs_dest_user;
/// `ipvs_timeout_t`.
pub type ipvs_timeout_t = ip_vs_timeout_user;
/// `ipvs_daemon_t`.
pub type ipvs_daemon_t = ip_vs_daemon_user;
/// `ipvs_service_entry_t`.
pub type ipvs_service_entry_t = ip_vs_service_entry;
/// `ipvs_dest_entry_t`.
pub type ipvs_dest_entry_t = ip_vs_dest_entry;
/// `ipvs_service_cmp_t`: a comparison for `ipvs_sort_services`.
pub type ipvs_service_cmp_t =
    Option<unsafe extern "C" fn(*mut ipvs_service_entry_t, *mut ipvs_service_entry_t) -> c_int>;
/// `ipvs_dest_cmp_t`: a comparison for `ipvs_sort_dests`.
pub type ipvs_dest_cmp_t =
    Option<unsafe extern "C" fn(*mut ipvs_dest_entry_t, *mut ipvs_dest_entry_t) -> c_int>;
