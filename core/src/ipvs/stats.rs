//! Traffic statistics of a service or destination (`IPVS_STATS_ATTR_*`).

/// Counters and rates. In the 32-bit set (`*_ATTR_STATS`) connections and packets are 32-bit
/// counters that wrap; in the 64-bit set (`*_ATTR_STATS64`, kernel 4.1+) every field is 64-bit.
/// Both are given here as `u64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in.
    pub inpkts: u64,
    /// Packets out.
    pub outpkts: u64,
    /// Bytes in.
    pub inbytes: u64,
    /// Bytes out.
    pub outbytes: u64,
    /// Connection rate (per second, estimated by the kernel).
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
