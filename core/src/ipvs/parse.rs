//! Parsing IPVS replies defensively: every length is checked, a malformed message is an
//! [`ErrorKind::Malformed`](crate::ErrorKind::Malformed) error and never a panic.
//!
//! Unknown attributes are skipped: newer kernels add attributes (ADDR_FAMILY in 3.18, STATS64
//! in 4.1, TUN_* in 5.2/5.3) and an older library must keep working with them. Strings are
//! accepted with or without their terminating NUL (the kernel sends one).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attr::{self, cmd_attr};
use super::config::{Info, Timeouts};
use super::daemon::{DaemonState, SyncDaemon};
use super::destination::{Destination, ForwardMethod, TunnelFlags, TunnelType};
use super::service::{AddressFamily, Protocol, Service, ServiceFlags, ServiceKey};
use super::stats::Stats;
use crate::error::{Error, NetlinkOperation, Origin, Result};
/// The crate's attribute reader, [`crate::netlink::attr::attrs`].
pub use crate::netlink::attr::attrs;
use crate::netlink::attr::find;
pub use crate::netlink::message::{genl_body, GENL_HDRLEN};

const PARSE: Origin = Origin::Netlink(NetlinkOperation::Parse);

fn bad_len(what: &str, want: &str, got: usize) -> Error {
    Error::malformed(
        PARSE,
        format!("IPVS attribute {what}: {got} bytes, expected {want}"),
    )
}

fn u8_of(what: &str, v: &[u8]) -> Result<u8> {
    match v {
        [b] => Ok(*b),
        _ => Err(bad_len(what, "1", v.len())),
    }
}

fn u16_of(what: &str, v: &[u8]) -> Result<u16> {
    let a: [u8; 2] = v.try_into().map_err(|_| bad_len(what, "2", v.len()))?;
    Ok(u16::from_ne_bytes(a))
}

fn be16_of(what: &str, v: &[u8]) -> Result<u16> {
    let a: [u8; 2] = v.try_into().map_err(|_| bad_len(what, "2", v.len()))?;
    Ok(u16::from_be_bytes(a))
}

fn u32_of(what: &str, v: &[u8]) -> Result<u32> {
    let a: [u8; 4] = v.try_into().map_err(|_| bad_len(what, "4", v.len()))?;
    Ok(u32::from_ne_bytes(a))
}

/// A counter that the kernel sends as 32 or 64 bits depending on the set.
fn counter_of(what: &str, v: &[u8]) -> Result<u64> {
    match v.len() {
        4 => Ok(u64::from(u32_of(what, v)?)),
        8 => {
            let a: [u8; 8] = v.try_into().map_err(|_| bad_len(what, "8", v.len()))?;
            Ok(u64::from_ne_bytes(a))
        }
        n => Err(bad_len(what, "4 or 8", n)),
    }
}

fn string_of(what: &str, v: &[u8]) -> Result<String> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end])
        .map(str::to_string)
        .map_err(|_| Error::malformed(PARSE, format!("IPVS attribute {what} is not UTF-8")))
}

fn addr_of(what: &str, af: AddressFamily, v: &[u8]) -> Result<IpAddr> {
    match af {
        AddressFamily::Inet if v.len() == 4 || v.len() == 16 => {
            Ok(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3])))
        }
        AddressFamily::Inet6 if v.len() == 16 => {
            let a: [u8; 16] = v.try_into().map_err(|_| bad_len(what, "16", v.len()))?;
            Ok(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => Err(bad_len(what, "4 or 16", v.len())),
    }
}

fn required<T>(v: Option<T>, what: &str) -> Result<T> {
    v.ok_or_else(|| Error::malformed(PARSE, format!("IPVS reply lacks {what}")))
}

/// Parses a nested statistics set (32- or 64-bit).
pub fn parse_stats(buf: &[u8]) -> Result<Stats> {
    let mut s = Stats::default();
    for a in attrs(buf) {
        let (k, v) = a?;
        let field = match k {
            attr::stats::CONNS => &mut s.conns,
            attr::stats::INPKTS => &mut s.inpkts,
            attr::stats::OUTPKTS => &mut s.outpkts,
            attr::stats::INBYTES => &mut s.inbytes,
            attr::stats::OUTBYTES => &mut s.outbytes,
            attr::stats::CPS => &mut s.cps,
            attr::stats::INPPS => &mut s.inpps,
            attr::stats::OUTPPS => &mut s.outpps,
            attr::stats::INBPS => &mut s.inbps,
            attr::stats::OUTBPS => &mut s.outbps,
            _ => continue, // IPVS_STATS_ATTR_PAD and future counters
        };
        *field = counter_of("stats counter", v)?;
    }
    Ok(s)
}

/// Parses the attributes nested in `IPVS_CMD_ATTR_SERVICE`.
pub fn parse_service_attrs(buf: &[u8]) -> Result<Service> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut flags, mut timeout, mut netmask) = (None, None, None, None);
    let (mut pe, mut stats, mut stats64) = (None, None, None);
    for a in attrs(buf) {
        let (k, v) = a?;
        match k {
            attr::svc::AF => af = Some(u16_of("service af", v)?),
            attr::svc::PROTOCOL => proto = Some(u16_of("service protocol", v)?),
            attr::svc::ADDR => addr = Some(v),
            attr::svc::PORT => port = Some(be16_of("service port", v)?),
            attr::svc::FWMARK => fwmark = Some(u32_of("service fwmark", v)?),
            attr::svc::SCHED_NAME => sched = Some(string_of("scheduler name", v)?),
            attr::svc::FLAGS => {
                if v.len() != 8 {
                    return Err(bad_len("service flags", "8", v.len()));
                }
                flags = Some(u32_of("service flags", &v[..4])?);
            }
            attr::svc::TIMEOUT => timeout = Some(u32_of("service timeout", v)?),
            attr::svc::NETMASK => {
                let a: [u8; 4] = v
                    .try_into()
                    .map_err(|_| bad_len("service netmask", "4", v.len()))?;
                netmask = Some(a);
            }
            attr::svc::PE_NAME => pe = Some(string_of("persistence engine", v)?),
            attr::svc::STATS => stats = Some(parse_stats(v)?),
            attr::svc::STATS64 => stats64 = Some(parse_stats(v)?),
            _ => {}
        }
    }
    let raw_af = required(af, "the service address family")?;
    let af = AddressFamily::from_raw(raw_af).ok_or_else(|| {
        Error::malformed(PARSE, format!("service address family {raw_af} unknown"))
    })?;
    let key = match fwmark {
        Some(mark) if mark != 0 => ServiceKey::Fwmark { af, mark },
        _ => {
            let raw_proto = required(proto, "the service protocol")?;
            let protocol = Protocol::from_raw(raw_proto).ok_or_else(|| {
                Error::malformed(PARSE, format!("service protocol {raw_proto} unknown"))
            })?;
            ServiceKey::Addr {
                protocol,
                addr: addr_of(
                    "service address",
                    af,
                    required(addr, "the service address")?,
                )?,
                port: required(port, "the service port")?,
            }
        }
    };
    let netmask = required(netmask, "the service netmask")?;
    Ok(Service {
        key,
        scheduler: required(sched, "the scheduler name")?,
        flags: ServiceFlags(required(flags, "the service flags")?),
        timeout: required(timeout, "the service timeout")?,
        netmask: match af {
            AddressFamily::Inet => u32::from_be_bytes(netmask),
            AddressFamily::Inet6 => u32::from_ne_bytes(netmask),
        },
        pe_name: pe,
        stats,
        stats64,
    })
}

/// Parses the attributes nested in `IPVS_CMD_ATTR_DEST`; `svc_af` is the service's family, used
/// when the kernel (before 3.18) sends no `IPVS_DEST_ATTR_ADDR_FAMILY`.
pub fn parse_dest_attrs(buf: &[u8], svc_af: AddressFamily) -> Result<Destination> {
    let (mut addr, mut port, mut fwd, mut weight, mut uth, mut lth) =
        (None, None, None, None, None, None);
    let (mut active, mut inact, mut persist, mut af) = (0, 0, 0, None);
    let (mut tun_type, mut tun_port, mut tun_flags) = (0u8, 0u16, 0u16);
    let (mut stats, mut stats64) = (None, None);
    for a in attrs(buf) {
        let (k, v) = a?;
        match k {
            attr::dest::ADDR => addr = Some(v),
            attr::dest::PORT => port = Some(be16_of("destination port", v)?),
            attr::dest::FWD_METHOD => fwd = Some(u32_of("forwarding method", v)?),
            attr::dest::WEIGHT => weight = Some(u32_of("weight", v)? as i32),
            attr::dest::U_THRESH => uth = Some(u32_of("upper threshold", v)?),
            attr::dest::L_THRESH => lth = Some(u32_of("lower threshold", v)?),
            attr::dest::ACTIVE_CONNS => active = u32_of("active connections", v)?,
            attr::dest::INACT_CONNS => inact = u32_of("inactive connections", v)?,
            attr::dest::PERSIST_CONNS => persist = u32_of("persistent connections", v)?,
            attr::dest::STATS => stats = Some(parse_stats(v)?),
            attr::dest::STATS64 => stats64 = Some(parse_stats(v)?),
            attr::dest::ADDR_FAMILY => af = Some(u16_of("destination address family", v)?),
            attr::dest::TUN_TYPE => tun_type = u8_of("tunnel type", v)?,
            attr::dest::TUN_PORT => tun_port = be16_of("tunnel port", v)?,
            attr::dest::TUN_FLAGS => tun_flags = u16_of("tunnel flags", v)?,
            _ => {}
        }
    }
    let af = match af {
        Some(raw) => AddressFamily::from_raw(raw).ok_or_else(|| {
            Error::malformed(PARSE, format!("destination address family {raw} unknown"))
        })?,
        None => svc_af,
    };
    let raw_fwd = required(fwd, "the forwarding method")?;
    Ok(Destination {
        addr: addr_of(
            "destination address",
            af,
            required(addr, "the destination address")?,
        )?,
        port: required(port, "the destination port")?,
        forward: ForwardMethod::from_raw(raw_fwd).ok_or_else(|| {
            Error::malformed(PARSE, format!("forwarding method {raw_fwd} unknown"))
        })?,
        weight: required(weight, "the destination weight")?,
        upper_threshold: required(uth, "the upper threshold")?,
        lower_threshold: required(lth, "the lower threshold")?,
        tunnel_type: TunnelType::from_raw(tun_type)
            .ok_or_else(|| Error::malformed(PARSE, format!("tunnel type {tun_type} unknown")))?,
        tunnel_port: tun_port,
        tunnel_flags: TunnelFlags(tun_flags),
        active_conns: active,
        inactive_conns: inact,
        persistent_conns: persist,
        stats,
        stats64,
    })
}

/// Parses a service reply (`GET_SERVICE` answer or one message of its dump).
pub fn parse_service_msg(msg: &[u8]) -> Result<Service> {
    let (_, body) = genl_body(msg)?;
    let nested = required(find(body, cmd_attr::SERVICE)?, "IPVS_CMD_ATTR_SERVICE")?;
    parse_service_attrs(nested)
}

/// Parses one message of a `GET_DEST` dump.
pub fn parse_dest_msg(msg: &[u8], svc_af: AddressFamily) -> Result<Destination> {
    let (_, body) = genl_body(msg)?;
    let nested = required(find(body, cmd_attr::DEST)?, "IPVS_CMD_ATTR_DEST")?;
    parse_dest_attrs(nested, svc_af)
}

/// Parses one message of a `GET_DAEMON` dump.
pub fn parse_daemon_msg(msg: &[u8]) -> Result<SyncDaemon> {
    let (_, body) = genl_body(msg)?;
    let nested = required(find(body, cmd_attr::DAEMON)?, "IPVS_CMD_ATTR_DAEMON")?;
    let (mut state, mut ifn, mut syncid) = (None, None, None);
    let mut d = SyncDaemon::new(DaemonState::Master, "", 0);
    for a in attrs(nested) {
        let (k, v) = a?;
        match k {
            attr::daemon::STATE => state = Some(u32_of("daemon state", v)?),
            attr::daemon::MCAST_IFN => ifn = Some(string_of("daemon interface", v)?),
            attr::daemon::SYNC_ID => syncid = Some(u32_of("daemon sync id", v)?),
            attr::daemon::SYNC_MAXLEN => d.sync_maxlen = Some(u16_of("sync maxlen", v)?),
            attr::daemon::MCAST_GROUP => {
                let a: [u8; 4] = v
                    .try_into()
                    .map_err(|_| bad_len("multicast group", "4", v.len()))?;
                d.mcast_group = Some(IpAddr::V4(Ipv4Addr::from(a)));
            }
            attr::daemon::MCAST_GROUP6 => {
                let a: [u8; 16] = v
                    .try_into()
                    .map_err(|_| bad_len("multicast group6", "16", v.len()))?;
                d.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(a)));
            }
            attr::daemon::MCAST_PORT => d.mcast_port = Some(u16_of("multicast port", v)?),
            attr::daemon::MCAST_TTL => d.mcast_ttl = Some(u8_of("multicast ttl", v)?),
            _ => {}
        }
    }
    let raw = required(state, "the daemon state")?;
    d.state = DaemonState::from_raw(raw)
        .ok_or_else(|| Error::malformed(PARSE, format!("daemon state {raw} unknown")))?;
    d.mcast_ifname = required(ifn, "the daemon interface")?;
    d.syncid = required(syncid, "the daemon sync id")?;
    Ok(d)
}

/// Parses the `GET_INFO` reply.
pub fn parse_info_msg(msg: &[u8]) -> Result<Info> {
    let (_, body) = genl_body(msg)?;
    let (mut version, mut size) = (None, None);
    for a in attrs(body) {
        let (k, v) = a?;
        match k {
            attr::info::VERSION => version = Some(u32_of("version", v)?),
            attr::info::CONN_TAB_SIZE => size = Some(u32_of("connection table size", v)?),
            _ => {}
        }
    }
    Ok(Info {
        version: required(version, "IPVS_INFO_ATTR_VERSION")?,
        conn_tab_size: required(size, "IPVS_INFO_ATTR_CONN_TAB_SIZE")?,
    })
}

/// Parses the `GET_CONFIG` reply (the three timeouts).
pub fn parse_config_msg(msg: &[u8]) -> Result<Timeouts> {
    let (_, body) = genl_body(msg)?;
    let (mut tcp, mut fin, mut udp) = (None, None, None);
    for a in attrs(body) {
        let (k, v) = a?;
        match k {
            cmd_attr::TIMEOUT_TCP => tcp = Some(u32_of("tcp timeout", v)?),
            cmd_attr::TIMEOUT_TCP_FIN => fin = Some(u32_of("tcp fin timeout", v)?),
            cmd_attr::TIMEOUT_UDP => udp = Some(u32_of("udp timeout", v)?),
            _ => {}
        }
    }
    Ok(Timeouts {
        tcp: required(tcp, "IPVS_CMD_ATTR_TIMEOUT_TCP")?,
        tcp_fin: required(fin, "IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?,
        udp: required(udp, "IPVS_CMD_ATTR_TIMEOUT_UDP")?,
    })
}
