//! Checked conversions between the C structs and the core types. Everything a C caller can get
//! wrong (unknown family, protocol, method; names without NUL; out-of-range values) becomes
//! `EINVAL` here, before anything is sent to the kernel.

use lbnet::ipvs::{
    AddressFamily, DaemonState, Destination, ForwardMethod, Info, Protocol, Service, ServiceFlags,
    ServiceKey, Stats, SyncDaemon, Timeouts, TunnelFlags, TunnelType,
};
use lbnet::Error;

use crate::common::ARG;

use super::names::{read_name, read_required_name, write_name};
use super::types::*;
use crate::addr::lbnet_addr;

fn family(af: i32, what: &str) -> Result<AddressFamily, Error> {
    u16::try_from(af)
        .ok()
        .and_then(AddressFamily::from_raw)
        .ok_or_else(|| {
            Error::invalid(
                ARG,
                format!("{what}: address family {af} is neither AF_INET nor AF_INET6"),
            )
        })
}

/// The key (protocol/address/port or fwmark) of a C service.
pub(crate) fn service_key(s: &lbnet_ipvs_service) -> Result<ServiceKey, Error> {
    let af = family(s.af, "service af")?;
    if s.fwmark != 0 {
        return Ok(ServiceKey::fwmark(af, s.fwmark));
    }
    let protocol = Protocol::from_raw(s.protocol).ok_or_else(|| {
        Error::invalid(
            ARG,
            format!(
                "service protocol {} is not TCP (6), UDP (17) or SCTP (132), and fwmark is 0",
                s.protocol
            ),
        )
    })?;
    let addr = s.addr.to_ip("service addr")?;
    if AddressFamily::of(&addr) != af {
        return Err(Error::invalid(
            ARG,
            format!(
                "service addr family {} differs from service af {}",
                s.addr.af, s.af
            ),
        ));
    }
    Ok(ServiceKey::Addr {
        protocol,
        addr,
        port: s.port,
    })
}

/// A full service (for add and update): key, scheduler (required), flags, persistence, pe;
/// refused as the core refuses it ([`Service::check`]: undefined flags, a timeout the kernel
/// cannot hold).
pub(crate) fn service_from_c(s: &lbnet_ipvs_service) -> Result<Service, Error> {
    let key = service_key(s)?;
    let scheduler = read_required_name(&s.sched_name, "sched_name")?;
    let pe = read_name(&s.pe_name, "pe_name")?;
    let mut svc = Service::new(key, &scheduler);
    svc.flags = ServiceFlags(s.flags);
    if s.timeout != 0 {
        svc.flags |= ServiceFlags::PERSISTENT;
    }
    svc.timeout = s.timeout;
    if s.netmask != 0 {
        svc.netmask = s.netmask;
    }
    svc.pe_name = (!pe.is_empty()).then_some(pe);
    // The model's check, as the C ABI's refusal of its caller's struct.
    svc.check().map_err(|e| e.wrap(ARG, "lbnet_ipvs_service"))?;
    Ok(svc)
}

pub(crate) fn stats_to_c(s: Option<&Stats>) -> lbnet_ipvs_stats {
    let s = s.copied().unwrap_or_default();
    lbnet_ipvs_stats {
        conns: s.conns,
        inpkts: s.inpkts,
        outpkts: s.outpkts,
        inbytes: s.inbytes,
        outbytes: s.outbytes,
        cps: s.cps,
        inpps: s.inpps,
        outpps: s.outpps,
        inbps: s.inbps,
        outbps: s.outbps,
    }
}

/// The C form of a service the kernel reported.
pub(crate) fn service_to_c(s: &Service) -> Result<lbnet_ipvs_service, Error> {
    let (af, protocol, addr, port, fwmark) = match s.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            AddressFamily::of(&addr),
            protocol.as_raw(),
            lbnet_addr::from_ip(addr),
            port,
            0,
        ),
        ServiceKey::Fwmark { af, mark } => (af, 0, lbnet_addr::default(), 0, mark),
    };
    Ok(lbnet_ipvs_service {
        af: i32::from(af.as_raw()),
        protocol,
        port,
        addr,
        fwmark,
        sched_name: write_name(&s.scheduler, "scheduler")?,
        pe_name: write_name(s.pe_name.as_deref().unwrap_or(""), "pe_name")?,
        flags: s.flags.0,
        timeout: s.timeout,
        netmask: s.netmask,
        stats: stats_to_c(s.best_stats()),
    })
}

/// A destination from C (for add and update; counters are ignored); refused as the core
/// refuses it ([`Destination::check`]: bypass forwarding).
pub(crate) fn dest_from_c(d: &lbnet_ipvs_dest) -> Result<Destination, Error> {
    let addr = d.addr.to_ip("dest addr")?;
    let forward = match d.fwd_method {
        0..=4 => ForwardMethod::from_raw(d.fwd_method),
        _ => None,
    }
    .ok_or_else(|| {
        Error::invalid(
            ARG,
            format!(
                "dest fwd_method {} is not one of LBNET_IPVS_FWD_* (0-4)",
                d.fwd_method
            ),
        )
    })?;
    let tunnel_type = u8::try_from(d.tun_type)
        .ok()
        .and_then(TunnelType::from_raw)
        .ok_or_else(|| {
            Error::invalid(
                ARG,
                format!(
                    "dest tun_type {} is not one of LBNET_IPVS_TUN_* (0-2)",
                    d.tun_type
                ),
            )
        })?;
    let tunnel_flags = u16::try_from(d.tun_flags)
        .map_err(|_| Error::invalid(ARG, format!("dest tun_flags {:#x} too large", d.tun_flags)))?;
    let mut dest = Destination::new(addr, d.port, forward).weight(d.weight);
    dest.upper_threshold = d.u_threshold;
    dest.lower_threshold = d.l_threshold;
    dest.tunnel_type = tunnel_type;
    dest.tunnel_port = d.tun_port;
    dest.tunnel_flags = TunnelFlags(tunnel_flags);
    // The model's check, as the C ABI's refusal of its caller's struct.
    dest.check().map_err(|e| e.wrap(ARG, "lbnet_ipvs_dest"))?;
    Ok(dest)
}

/// The C form of a destination the kernel reported.
pub(crate) fn dest_to_c(d: &Destination) -> lbnet_ipvs_dest {
    lbnet_ipvs_dest {
        addr: lbnet_addr::from_ip(d.addr),
        port: d.port,
        tun_port: d.tunnel_port,
        fwd_method: d.forward.as_raw(),
        weight: d.weight,
        u_threshold: d.upper_threshold,
        l_threshold: d.lower_threshold,
        tun_type: u32::from(d.tunnel_type.as_raw()),
        tun_flags: u32::from(d.tunnel_flags.0),
        active_conns: d.active_conns,
        inactive_conns: d.inactive_conns,
        persist_conns: d.persistent_conns,
        stats: stats_to_c(d.best_stats()),
    }
}

pub(crate) fn info_to_c(i: &Info) -> lbnet_ipvs_info {
    lbnet_ipvs_info {
        version: i.version,
        conn_tab_size: i.conn_tab_size,
    }
}

/// Timeouts from C, each at most `LBNET_IPVS_TIMEOUT_MAX` ([`Timeouts::check`]).
pub(crate) fn timeouts_from_c(t: &lbnet_ipvs_timeouts) -> Result<Timeouts, Error> {
    let t = Timeouts {
        tcp: t.tcp,
        tcp_fin: t.tcp_fin,
        udp: t.udp,
    };
    // The model's check, as the C ABI's refusal of its caller's struct.
    t.check().map_err(|e| e.wrap(ARG, "lbnet_ipvs_timeouts"))?;
    Ok(t)
}

pub(crate) fn timeouts_to_c(t: &Timeouts) -> lbnet_ipvs_timeouts {
    lbnet_ipvs_timeouts {
        tcp: t.tcp,
        tcp_fin: t.tcp_fin,
        udp: t.udp,
    }
}

/// A sync daemon's state from C: `LBNET_IPVS_DAEMON_MASTER` or `_BACKUP`, else `EINVAL`.
pub(crate) fn daemon_state(raw: u32) -> Result<DaemonState, Error> {
    DaemonState::from_raw(raw).ok_or_else(|| {
        Error::invalid(
            ARG,
            format!("daemon state {raw} is neither LBNET_IPVS_DAEMON_MASTER (1) nor _BACKUP (2)"),
        )
    })
}

/// A sync daemon from C. Zero optional fields mean "kernel default".
pub(crate) fn daemon_from_c(d: &lbnet_ipvs_daemon) -> Result<SyncDaemon, Error> {
    let state = daemon_state(d.state)?;
    let ifname = read_required_name(&d.mcast_ifname, "mcast_ifname")?;
    let mut sd = SyncDaemon::new(state, &ifname, d.syncid);
    if d.sync_maxlen != 0 {
        sd.sync_maxlen = Some(u16::try_from(d.sync_maxlen).map_err(|_| {
            Error::invalid(
                ARG,
                format!("daemon sync_maxlen {} above 65535", d.sync_maxlen),
            )
        })?);
    }
    if d.mcast_group.af != 0 {
        sd.mcast_group = Some(d.mcast_group.to_ip("daemon mcast_group")?);
    }
    sd.mcast_port = (d.mcast_port != 0).then_some(d.mcast_port);
    sd.mcast_ttl = (d.mcast_ttl != 0).then_some(d.mcast_ttl);
    Ok(sd)
}

pub(crate) fn daemon_to_c(d: &SyncDaemon) -> Result<lbnet_ipvs_daemon, Error> {
    Ok(lbnet_ipvs_daemon {
        state: d.state.as_raw(),
        syncid: d.syncid,
        mcast_ifname: write_name(&d.mcast_ifname, "mcast_ifname")?,
        sync_maxlen: u32::from(d.sync_maxlen.unwrap_or(0)),
        mcast_group: d.mcast_group.map(lbnet_addr::from_ip).unwrap_or_default(),
        mcast_port: d.mcast_port.unwrap_or(0),
        mcast_ttl: d.mcast_ttl.unwrap_or(0),
    })
}
