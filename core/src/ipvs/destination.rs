//! Destinations (real servers) of a virtual service.

use std::net::IpAddr;

use super::service::AddressFamily;
use super::stats::Stats;
use crate::error::{Error, Result};

/// How packets reach a destination (`IPVS_DEST_ATTR_FWD_METHOD`, `IP_VS_CONN_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardMethod {
    /// NAT (`IP_VS_CONN_F_MASQ` = 0, ipvsadm `-m`, "Masq").
    Masquerade,
    /// Local node (`IP_VS_CONN_F_LOCALNODE` = 1, "Local").
    Local,
    /// IP-in-IP / GUE / GRE tunnel (`IP_VS_CONN_F_TUNNEL` = 2, ipvsadm `-i`, "Tunnel").
    Tunnel,
    /// Direct routing (`IP_VS_CONN_F_DROUTE` = 3, ipvsadm `-g`, "Route").
    Route,
    /// Cache bypass (`IP_VS_CONN_F_BYPASS` = 4): the kernel's own method for packets of a
    /// cache cluster that no destination takes. Parsed when the kernel reports it, refused on a
    /// destination that is sent ([`Destination::check`]).
    Bypass,
}

impl ForwardMethod {
    /// The kernel's `IP_VS_CONN_F_*` forwarding value.
    pub fn as_raw(self) -> u32 {
        match self {
            ForwardMethod::Masquerade => 0,
            ForwardMethod::Local => 1,
            ForwardMethod::Tunnel => 2,
            ForwardMethod::Route => 3,
            ForwardMethod::Bypass => 4,
        }
    }

    /// The method for a forwarding value (masked with `IP_VS_CONN_F_FWD_MASK` = 7).
    pub fn from_raw(v: u32) -> Option<Self> {
        match v & 7 {
            0 => Some(ForwardMethod::Masquerade),
            1 => Some(ForwardMethod::Local),
            2 => Some(ForwardMethod::Tunnel),
            3 => Some(ForwardMethod::Route),
            4 => Some(ForwardMethod::Bypass),
            _ => None,
        }
    }
}

/// Encapsulation of a tunnel destination (`IPVS_DEST_ATTR_TUN_TYPE`, kernel 5.2+; GRE 5.3+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelType {
    /// IP-in-IP (`IP_VS_CONN_F_TUNNEL_TYPE_IPIP` = 0), the only kind before 5.2.
    #[default]
    Ipip,
    /// Generic UDP Encapsulation (`..._GUE` = 1); needs a tunnel port.
    Gue,
    /// GRE (`..._GRE` = 2, kernel 5.3+).
    Gre,
}

impl TunnelType {
    /// The kernel's value.
    pub fn as_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
        }
    }

    /// The type for a kernel value.
    pub fn from_raw(v: u8) -> Option<Self> {
        match v {
            0 => Some(TunnelType::Ipip),
            1 => Some(TunnelType::Gue),
            2 => Some(TunnelType::Gre),
            _ => None,
        }
    }
}

/// Tunnel encapsulation flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`, kernel 5.3+), a plain bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TunnelFlags(pub u16);

impl TunnelFlags {
    /// No checksum (`IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM` = 0).
    pub const NOCSUM: TunnelFlags = TunnelFlags(0);
    /// Checksum the outer header (`..._CSUM`, GUE and GRE).
    pub const CSUM: TunnelFlags = TunnelFlags(1);
    /// Remote checksum offload (`..._REMCSUM`, GUE only).
    pub const REMCSUM: TunnelFlags = TunnelFlags(2);
}

/// A destination (real server) of a service.
///
/// The connection counters and statistics are filled in by the kernel in replies and ignored
/// when sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Real server address. Its family may differ from the service's only with
    /// [`ForwardMethod::Tunnel`] (kernel 3.18+, `IPVS_DEST_ATTR_ADDR_FAMILY`); otherwise the
    /// kernel answers `EINVAL`.
    pub addr: IpAddr,
    /// Real server port (host order).
    pub port: u16,
    /// Forwarding method.
    pub forward: ForwardMethod,
    /// Weight; 0 quiesces the server. Negative weights are refused with `ERANGE`.
    pub weight: i32,
    /// Upper connection threshold, 0 = none.
    pub upper_threshold: u32,
    /// Lower connection threshold, 0 = none; above the upper one the kernel answers `ERANGE`.
    pub lower_threshold: u32,
    /// Tunnel encapsulation (sent for [`ForwardMethod::Tunnel`] only).
    pub tunnel_type: TunnelType,
    /// Tunnel destination port for GUE (host order), 0 otherwise.
    pub tunnel_port: u16,
    /// Tunnel checksum flags.
    pub tunnel_flags: TunnelFlags,
    /// Active connections (reply only).
    pub active_conns: u32,
    /// Inactive connections (reply only).
    pub inactive_conns: u32,
    /// Persistence templates (reply only).
    pub persistent_conns: u32,
    /// 32-bit statistics set (reply only).
    pub stats: Option<Stats>,
    /// 64-bit statistics set (reply only; kernel 4.1+).
    pub stats64: Option<Stats>,
}

impl Destination {
    /// A destination at `addr:port` with `forward` and weight 1, no thresholds, IPIP tunnel.
    pub fn new(addr: IpAddr, port: u16, forward: ForwardMethod) -> Self {
        Destination {
            addr,
            port,
            forward,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel_type: TunnelType::Ipip,
            tunnel_port: 0,
            tunnel_flags: TunnelFlags::NOCSUM,
            active_conns: 0,
            inactive_conns: 0,
            persistent_conns: 0,
            stats: None,
            stats64: None,
        }
    }

    /// Sets the weight.
    pub fn weight(mut self, weight: i32) -> Self {
        self.weight = weight;
        self
    }

    /// Refuses (`EINVAL`), with the reason, a destination that cannot be listed and restored:
    /// forwarding method [`ForwardMethod::Bypass`]. ipvsadm offers `-g`, `-i` and `-m` only
    /// and lists a bypass destination's method as "(null)", so a saved table would restore it
    /// as something else.
    pub fn check(&self) -> Result<()> {
        if self.forward == ForwardMethod::Bypass {
            return Err(Error::invalid(format!(
                "destination {}: forwarding method bypass (IP_VS_CONN_F_BYPASS) cannot be set \
                 on a destination: ipvsadm offers gatewaying, ipip and masquerading only and \
                 lists bypass as \"(null)\", which does not restore",
                super::handle::dest_name(&self.addr, self.port)
            )));
        }
        Ok(())
    }

    /// The destination's address family.
    pub fn af(&self) -> AddressFamily {
        AddressFamily::of(&self.addr)
    }

    /// The best statistics available: the 64-bit set when the kernel sent it, else the 32-bit.
    pub fn best_stats(&self) -> Option<&Stats> {
        self.stats64.as_ref().or(self.stats.as_ref())
    }
}
