//! The map layout shared with the BPF program: Rust mirrors of the structs in `bpf/xdplb.h`.
//!
//! Every struct is `#[repr(C)]` with explicit padding so its bytes equal the C struct's; the
//! size assertions below fail the build if the two drift apart. Addresses and ports are stored in
//! network byte order, as the program reads them straight from packet headers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Maglev lookup ring size per VIP (a prime), `RING_SIZE` in `xdplb.h`.
pub const RING_SIZE: u32 = 65_537;
/// Default number of VIP slots (`MAX_VIPS`); the loader can change it.
pub const DEFAULT_MAX_VIPS: u32 = 32;
/// Default number of backend slots over all VIPs (`MAX_BACKENDS`); slot 0 is never used.
pub const DEFAULT_MAX_BACKENDS: u32 = 4096;
/// Default connection table size (`CONN_TABLE_SIZE`).
pub const DEFAULT_CONN_TABLE_SIZE: u32 = 65_536;
/// `FAMILY_V4` in `xdplb.h`.
pub const FAMILY_V4: u8 = 4;
/// `FAMILY_V6` in `xdplb.h`.
pub const FAMILY_V6: u8 = 6;
/// `VIP_RING_V4` in [`VipMeta::flags`]: every slot of the VIP's ring is owned by an IPv4 backend.
pub const VIP_RING_V4: u32 = 1;
/// `VIP_RING_V6` in [`VipMeta::flags`]: every slot of the VIP's ring is owned by an IPv6 backend.
pub const VIP_RING_V6: u32 = 2;
/// `BACKEND_VALID`: the backend exists (drained or not); flows tracked to it keep going there.
pub const BACKEND_VALID: u8 = 1;
/// Number of slots of the global `stats` array (`CNT_SLOTS`).
pub const COUNTER_SLOTS: u32 = 32;

/// `struct vip_key`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VipKey {
    /// Address in network order; IPv4 in `addr[0]`.
    pub addr: [u32; 4],
    /// Port in network order.
    pub port: u16,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub proto: u8,
    /// [`FAMILY_V4`] or [`FAMILY_V6`].
    pub family: u8,
}

/// `struct vip_meta`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VipMeta {
    /// The VIP's slot: its ring is `ring[vip_num * RING_SIZE ..]`, its counters `vip_stats[vip_num]`.
    pub vip_num: u32,
    /// [`VIP_RING_V4`] or [`VIP_RING_V6`] when every owned ring slot has a backend of that one
    /// family (the program then answers an oversize packet without reading the ring); 0 when
    /// the ring is empty, mixed, changing between families or not known (the program reads
    /// the flow's ring slot).
    pub flags: u32,
}

/// `struct backend`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackendEntry {
    /// Tunnel destination in network order; IPv4 in `addr[0]`.
    pub addr: [u32; 4],
    /// [`FAMILY_V4`] or [`FAMILY_V6`].
    pub family: u8,
    /// [`BACKEND_VALID`] or 0 (a free slot).
    pub flags: u8,
    /// The VIP this backend belongs to (control plane only).
    pub vip_num: u16,
    /// The Maglev weight; 0 = drained (control plane only).
    pub weight: u32,
}

/// `struct flow_key`: the connection table's key, the client's 5-tuple in network order.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    /// Client address; IPv4 in `src[0]`.
    pub src: [u32; 4],
    /// VIP address; IPv4 in `dst[0]`.
    pub dst: [u32; 4],
    /// Client port.
    pub sport: u16,
    /// VIP port.
    pub dport: u16,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub proto: u8,
    /// Padding, zero.
    pub pad: [u8; 3],
}

/// `struct vip_stats`: per-VIP counters of one CPU.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VipStatsEntry {
    /// Packets to the VIP.
    pub packets: u64,
    /// Bytes of those packets (IP length).
    pub bytes: u64,
    /// Connection-table misses (new flows).
    pub lru_misses: u64,
    /// Packets to the VIP that were dropped.
    pub drops: u64,
}

/// `struct backend_stats`: per-backend counters of one CPU.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackendStatsEntry {
    /// Packets sent to the backend.
    pub packets: u64,
    /// Bytes (inner IP length) of those packets.
    pub bytes: u64,
}

/// `struct lb_config`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LbConfig {
    /// Outer IPv4 source in network order; 0 = IPv4 tunnels disabled.
    pub src4: u32,
    /// Outer IPv6 source in network order; `::` = IPv6 tunnels disabled.
    pub src6: [u32; 4],
    /// Next-hop MAC; all zero sends the packet back to its source MAC.
    pub gw_mac: [u8; 6],
    /// Largest outer IP packet (the tunnel path's MTU), host order; 0 = [`DEFAULT_MAX_PKT`].
    pub max_pkt: u16,
    /// [`CFG_FLOW_SRC`] or 0.
    pub flags: u32,
    /// New flows recorded in the connection table per second per CPU; 0 =
    /// [`DEFAULT_MAX_CONN_RATE`], [`CONN_RATE_UNLIMITED`] = no limit.
    pub max_conn_rate: u32,
}

/// `DEFAULT_MAX_CONN_RATE`: Katran's `MAX_CONN_RATE`, new flows recorded per second per CPU when
/// `max_conn_rate` is 0.
pub const DEFAULT_MAX_CONN_RATE: u32 = 125_000;
/// `CONN_RATE_UNLIMITED`: every new flow is recorded.
pub const CONN_RATE_UNLIMITED: u32 = u32::MAX;

/// `CFG_FLOW_SRC`: the outer source is derived per flow from the client's address and port.
pub const CFG_FLOW_SRC: u32 = 1;
/// `DEFAULT_MAX_PKT`: the largest outer IP packet when none is configured (1,500).
pub const DEFAULT_MAX_PKT: u16 = 1500;
/// `ICMP4_QUOTE`: bytes of the client's IPv4 packet quoted in a "fragmentation needed".
pub const ICMP4_QUOTE: usize = 84;
/// `ICMP6_QUOTE`: bytes of the client's IPv6 packet quoted in a "packet too big".
pub const ICMP6_QUOTE: usize = 248;

// SAFETY: plain-old-data structs without padding holes (asserted below) and valid for any bytes.
unsafe impl aya::Pod for VipKey {}
// SAFETY: as above.
unsafe impl aya::Pod for VipMeta {}
// SAFETY: as above.
unsafe impl aya::Pod for BackendEntry {}
// SAFETY: as above.
unsafe impl aya::Pod for VipStatsEntry {}
// SAFETY: as above.
unsafe impl aya::Pod for LbConfig {}
// SAFETY: as above.
unsafe impl aya::Pod for FlowKey {}
// SAFETY: as above.
unsafe impl aya::Pod for BackendStatsEntry {}

const _: () = assert!(std::mem::size_of::<VipKey>() == 20);
const _: () = assert!(std::mem::size_of::<VipMeta>() == 8);
const _: () = assert!(std::mem::size_of::<FlowKey>() == 40);
const _: () = assert!(std::mem::size_of::<BackendStatsEntry>() == 16);
const _: () = assert!(std::mem::size_of::<BackendEntry>() == 24);
const _: () = assert!(std::mem::size_of::<VipStatsEntry>() == 32);
const _: () = assert!(std::mem::size_of::<LbConfig>() == 36);

/// Global counters, the indices of the `stats` array (`enum lb_counter` in `xdplb.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Counter {
    /// Packets seen.
    Rx = 0,
    /// Packets encapsulated and sent back out (`XDP_TX`).
    Tx,
    /// Bytes of the inner packets sent.
    TxBytes,
    /// TCP/UDP packets not addressed to a VIP (`XDP_PASS`).
    PassNotVip,
    /// Neither IPv4 nor IPv6 (`XDP_PASS`).
    PassNotIp,
    /// IP but not TCP or UDP: ICMP, IPv6 extension headers (`XDP_PASS`).
    PassOtherL4,
    /// IPv4 fragments (`XDP_PASS`).
    PassFragment,
    /// Truncated headers or IPv4 options (`XDP_PASS`).
    PassMalformed,
    /// Connection-table misses: new flows, or flows whose backend was removed.
    LruMiss,
    /// Dropped: the VIP's ring is empty (no backend with a weight).
    DropNoBackend,
    /// Dropped: the ring pointed at a backend slot that is not valid.
    DropBadBackend,
    /// Dropped: no outer source address configured for the backend's family.
    DropNoSource,
    /// Dropped: `bpf_xdp_adjust_head` / `bpf_xdp_adjust_tail` failed (no headroom).
    DropAdjustHead,
    /// Oversize packets (the outer packet would exceed the configured maximum) answered with
    /// ICMP "fragmentation needed" (IPv4 with DF) or ICMPv6 "packet too big" (`XDP_TX`).
    IcmpTooBig,
    /// Oversize IPv4 packets without DF, left to the kernel (`XDP_PASS`), which may fragment.
    PassTooBig,
    /// LRU-per-CPU layout: packets of a CPU that had no table of its own and used the shared
    /// fallback table (0 unless a CPU came online after load).
    LruFallback,
    /// New flows not recorded in the connection table because this CPU was above the new-flow
    /// limit ([`LbConfig::max_conn_rate`], Katran's flood protection); they follow the ring.
    FloodSkip,
}

impl Counter {
    /// Every counter, in index order.
    pub const ALL: [Counter; 17] = [
        Counter::Rx,
        Counter::Tx,
        Counter::TxBytes,
        Counter::PassNotVip,
        Counter::PassNotIp,
        Counter::PassOtherL4,
        Counter::PassFragment,
        Counter::PassMalformed,
        Counter::LruMiss,
        Counter::DropNoBackend,
        Counter::DropBadBackend,
        Counter::DropNoSource,
        Counter::DropAdjustHead,
        Counter::IcmpTooBig,
        Counter::PassTooBig,
        Counter::LruFallback,
        Counter::FloodSkip,
    ];

    /// A stable lower-case name for display.
    pub fn name(self) -> &'static str {
        match self {
            Counter::Rx => "rx",
            Counter::Tx => "tx",
            Counter::TxBytes => "tx_bytes",
            Counter::PassNotVip => "pass_not_vip",
            Counter::PassNotIp => "pass_not_ip",
            Counter::PassOtherL4 => "pass_other_l4",
            Counter::PassFragment => "pass_fragment",
            Counter::PassMalformed => "pass_malformed",
            Counter::LruMiss => "lru_miss",
            Counter::DropNoBackend => "drop_no_backend",
            Counter::DropBadBackend => "drop_bad_backend",
            Counter::DropNoSource => "drop_no_source",
            Counter::DropAdjustHead => "drop_adjust_head",
            Counter::IcmpTooBig => "icmp_too_big",
            Counter::PassTooBig => "pass_too_big",
            Counter::LruFallback => "lru_fallback",
            Counter::FloodSkip => "flood_skip",
        }
    }
}

/// An address as the maps store it: four network-order words, IPv4 in the first, and its family.
pub fn addr_words(ip: IpAddr) -> ([u32; 4], u8) {
    match ip {
        IpAddr::V4(v4) => ([u32::from_ne_bytes(v4.octets()), 0, 0, 0], FAMILY_V4),
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let mut w = [0u32; 4];
            for (i, c) in o.chunks_exact(4).enumerate() {
                w[i] = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]);
            }
            (w, FAMILY_V6)
        }
    }
}

/// The inverse of [`addr_words`]; `None` for an unknown family.
pub fn words_addr(words: [u32; 4], family: u8) -> Option<IpAddr> {
    match family {
        FAMILY_V4 => Some(IpAddr::V4(Ipv4Addr::from(words[0].to_ne_bytes()))),
        FAMILY_V6 => {
            let mut o = [0u8; 16];
            for (i, w) in words.iter().enumerate() {
                o[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_in_network_order() {
        let v4: IpAddr = "198.18.0.1".parse().unwrap();
        let (w, f) = addr_words(v4);
        assert_eq!(f, FAMILY_V4);
        assert_eq!(w[0].to_ne_bytes(), [198, 18, 0, 1]);
        assert_eq!(words_addr(w, f), Some(v4));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let (w, f) = addr_words(v6);
        assert_eq!(w[0].to_ne_bytes(), [0x20, 0x01, 0x0d, 0xb8]);
        assert_eq!(words_addr(w, f), Some(v6));
        assert_eq!(words_addr(w, 9), None);
    }
}
