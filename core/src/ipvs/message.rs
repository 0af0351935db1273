//! Encoding IPVS requests: one generic netlink message per command, built with
//! netlink-packet-generic ([`GenlMessage`] over our [`IpvsMessage`] family payload) and
//! serialised by netlink-packet-core.

use std::net::IpAddr;

use netlink_packet_core::{Emitable, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP};
use netlink_packet_generic::{GenlFamily, GenlMessage};

use super::attr::{self, cmd, cmd_attr, Attr};
use super::change::Change;
use super::config::Timeouts;
use super::daemon::{DaemonState, SyncDaemon};
use super::destination::{Destination, ForwardMethod};
use super::service::{AddressFamily, Service, ServiceKey};
use crate::error::{Error, Result};

/// The payload of one IPVS generic netlink message: a command and its top-level attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// `IPVS_CMD_*`.
    pub cmd: u8,
    /// Top-level attributes (`IPVS_CMD_ATTR_*`).
    pub attrs: Vec<Attr>,
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        attr::FAMILY_NAME
    }
    fn command(&self) -> u8 {
        self.cmd
    }
    fn version(&self) -> u8 {
        attr::FAMILY_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl IpvsMessage {
    /// Appends this message, addressed to generic netlink family `family_id`, to `out`.
    /// `dump` sets `NLM_F_DUMP`; request/ack flags and the sequence are set by the transport.
    pub fn encode(&self, family_id: u16, dump: bool, out: &mut Vec<u8>) {
        let mut genl = GenlMessage::from_payload(self.clone());
        genl.set_resolved_family_id(family_id);
        let mut header = NetlinkHeader::default();
        if dump {
            header.flags = NLM_F_DUMP;
        }
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(genl));
        msg.finalize();
        let start = out.len();
        out.resize(start + msg.buffer_len(), 0);
        msg.serialize(&mut out[start..]);
    }
}

fn addr_bytes(addr: &IpAddr) -> Vec<u8> {
    // `union nf_inet_addr`: 16 bytes, an IPv4 address in the first 4.
    let mut b = vec![0u8; 16];
    match addr {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
    }
    b
}

const MAX_NAME: usize = 15; // IP_VS_SCHEDNAME_MAXLEN / PENAME / IFNAME (16) minus the NUL

fn check_name(what: &str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > MAX_NAME || s.as_bytes().contains(&0) {
        return Err(Error::invalid(format!(
            "{what} {s:?} must be 1 to {MAX_NAME} bytes without NUL"
        )));
    }
    Ok(())
}

/// The attributes that identify a service (`IPVS_SVC_ATTR_AF` and either protocol, address and
/// port, or the firewall mark).
pub fn service_key_attrs(key: &ServiceKey) -> Result<Vec<Attr>> {
    let mut v = vec![Attr::U16(attr::svc::AF, key.af().as_raw())];
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            v.push(Attr::U16(attr::svc::PROTOCOL, protocol.as_raw()));
            v.push(Attr::Bytes(attr::svc::ADDR, addr_bytes(addr)));
            v.push(Attr::Be16(attr::svc::PORT, *port));
        }
        ServiceKey::Fwmark { mark, .. } => {
            if *mark == 0 {
                return Err(Error::invalid(
                    "a firewall-mark service needs a non-zero mark",
                ));
            }
            v.push(Attr::U32(attr::svc::FWMARK, *mark));
        }
    }
    Ok(v)
}

/// The full service attribute set for NEW/SET_SERVICE: key, scheduler, flags (with mask all
/// ones, so the kernel takes them as given), timeout, netmask and optional persistence engine.
pub fn service_attrs(s: &Service) -> Result<Vec<Attr>> {
    check_name("scheduler", &s.scheduler)?;
    let mut v = service_key_attrs(&s.key)?;
    v.push(Attr::Str(attr::svc::SCHED_NAME, s.scheduler.clone()));
    if let Some(pe) = &s.pe_name {
        check_name("persistence engine", pe)?;
        v.push(Attr::Str(attr::svc::PE_NAME, pe.clone()));
    }
    let mut flags = Vec::with_capacity(8);
    flags.extend_from_slice(&s.flags.0.to_ne_bytes());
    flags.extend_from_slice(&u32::MAX.to_ne_bytes());
    v.push(Attr::Bytes(attr::svc::FLAGS, flags));
    v.push(Attr::U32(attr::svc::TIMEOUT, s.timeout));
    let netmask = match s.key.af() {
        // The kernel reads it with nla_get_be32 and keeps it as a big-endian mask.
        AddressFamily::Inet => s.netmask.to_be_bytes().to_vec(),
        // For IPv6 the same field holds the prefix length as a plain integer.
        AddressFamily::Inet6 => {
            if !(1..=128).contains(&s.netmask) {
                return Err(Error::invalid(format!(
                    "IPv6 persistence prefix length {} is not in 1..=128",
                    s.netmask
                )));
            }
            s.netmask.to_ne_bytes().to_vec()
        }
    };
    v.push(Attr::Bytes(attr::svc::NETMASK, netmask));
    Ok(v)
}

/// The attributes identifying a destination (address, port, address family).
pub fn dest_key_attrs(addr: &IpAddr, port: u16) -> Vec<Attr> {
    vec![
        Attr::Bytes(attr::dest::ADDR, addr_bytes(addr)),
        Attr::Be16(attr::dest::PORT, port),
        Attr::U16(attr::dest::ADDR_FAMILY, AddressFamily::of(addr).as_raw()),
    ]
}

/// The full destination attribute set for NEW/SET_DEST. Tunnel type, port and flags are sent
/// for tunnel destinations only (kernels before 5.2/5.3 ignore them).
pub fn dest_attrs(d: &Destination) -> Vec<Attr> {
    let mut v = dest_key_attrs(&d.addr, d.port);
    v.push(Attr::U32(attr::dest::FWD_METHOD, d.forward.as_raw()));
    v.push(Attr::U32(attr::dest::WEIGHT, d.weight as u32));
    v.push(Attr::U32(attr::dest::U_THRESH, d.upper_threshold));
    v.push(Attr::U32(attr::dest::L_THRESH, d.lower_threshold));
    if d.forward == ForwardMethod::Tunnel {
        v.push(Attr::U8(attr::dest::TUN_TYPE, d.tunnel_type.as_raw()));
        v.push(Attr::Be16(attr::dest::TUN_PORT, d.tunnel_port));
        v.push(Attr::U16(attr::dest::TUN_FLAGS, d.tunnel_flags.0));
    }
    v
}

/// `IPVS_CMD_NEW_SERVICE` / `SET_SERVICE`.
pub fn service_msg(command: u8, s: &Service) -> Result<IpvsMessage> {
    Ok(IpvsMessage {
        cmd: command,
        attrs: vec![Attr::Nested(cmd_attr::SERVICE, service_attrs(s)?)],
    })
}

/// A command that names a service only: `DEL_SERVICE`, `GET_SERVICE`, `GET_DEST` (dump), `ZERO`.
pub fn service_key_msg(command: u8, key: &ServiceKey) -> Result<IpvsMessage> {
    Ok(IpvsMessage {
        cmd: command,
        attrs: vec![Attr::Nested(cmd_attr::SERVICE, service_key_attrs(key)?)],
    })
}

/// `IPVS_CMD_NEW_DEST` / `SET_DEST`.
pub fn dest_msg(command: u8, key: &ServiceKey, d: &Destination) -> Result<IpvsMessage> {
    Ok(IpvsMessage {
        cmd: command,
        attrs: vec![
            Attr::Nested(cmd_attr::SERVICE, service_key_attrs(key)?),
            Attr::Nested(cmd_attr::DEST, dest_attrs(d)),
        ],
    })
}

/// `IPVS_CMD_DEL_DEST`.
pub fn del_dest_msg(key: &ServiceKey, addr: &IpAddr, port: u16) -> Result<IpvsMessage> {
    Ok(IpvsMessage {
        cmd: cmd::DEL_DEST,
        attrs: vec![
            Attr::Nested(cmd_attr::SERVICE, service_key_attrs(key)?),
            Attr::Nested(cmd_attr::DEST, dest_key_attrs(addr, port)),
        ],
    })
}

/// A command without attributes (`FLUSH`, `ZERO` of everything, `GET_INFO`, `GET_CONFIG`,
/// `GET_SERVICE` dump, `GET_DAEMON` dump).
pub fn bare_msg(command: u8) -> IpvsMessage {
    IpvsMessage {
        cmd: command,
        attrs: Vec::new(),
    }
}

/// `IPVS_CMD_SET_CONFIG` with the three timeouts (0 = unchanged).
pub fn timeouts_msg(t: &Timeouts) -> IpvsMessage {
    IpvsMessage {
        cmd: cmd::SET_CONFIG,
        attrs: vec![
            Attr::U32(cmd_attr::TIMEOUT_TCP, t.tcp),
            Attr::U32(cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin),
            Attr::U32(cmd_attr::TIMEOUT_UDP, t.udp),
        ],
    }
}

/// `IPVS_CMD_NEW_DAEMON`.
pub fn new_daemon_msg(d: &SyncDaemon) -> Result<IpvsMessage> {
    check_name("multicast interface", &d.mcast_ifname)?;
    let mut v = vec![
        Attr::U32(attr::daemon::STATE, d.state.as_raw()),
        Attr::Str(attr::daemon::MCAST_IFN, d.mcast_ifname.clone()),
        Attr::U32(attr::daemon::SYNC_ID, d.syncid),
    ];
    if let Some(m) = d.sync_maxlen {
        v.push(Attr::U16(attr::daemon::SYNC_MAXLEN, m));
    }
    match d.mcast_group {
        Some(IpAddr::V4(a)) => v.push(Attr::Bytes(attr::daemon::MCAST_GROUP, a.octets().to_vec())),
        Some(IpAddr::V6(a)) => v.push(Attr::Bytes(attr::daemon::MCAST_GROUP6, a.octets().to_vec())),
        None => {}
    }
    if let Some(p) = d.mcast_port {
        // Host order: the kernel reads and writes it with nla_get_u16/nla_put_u16.
        v.push(Attr::U16(attr::daemon::MCAST_PORT, p));
    }
    if let Some(t) = d.mcast_ttl {
        v.push(Attr::U8(attr::daemon::MCAST_TTL, t));
    }
    Ok(IpvsMessage {
        cmd: cmd::NEW_DAEMON,
        attrs: vec![Attr::Nested(cmd_attr::DAEMON, v)],
    })
}

/// `IPVS_CMD_DEL_DAEMON` for the daemon of `state`.
pub fn del_daemon_msg(state: DaemonState) -> IpvsMessage {
    IpvsMessage {
        cmd: cmd::DEL_DAEMON,
        attrs: vec![Attr::Nested(
            cmd_attr::DAEMON,
            vec![Attr::U32(attr::daemon::STATE, state.as_raw())],
        )],
    }
}

/// The message for one batch [`Change`].
pub fn change_msg(c: &Change) -> Result<IpvsMessage> {
    match c {
        Change::NewService(s) => service_msg(cmd::NEW_SERVICE, s),
        Change::UpdateService(s) => service_msg(cmd::SET_SERVICE, s),
        Change::DeleteService(k) => service_key_msg(cmd::DEL_SERVICE, k),
        Change::NewDestination(k, d) => dest_msg(cmd::NEW_DEST, k, d),
        Change::UpdateDestination(k, d) => dest_msg(cmd::SET_DEST, k, d),
        Change::DeleteDestination(k, a, p) => del_dest_msg(k, a, *p),
        Change::Zero(k) => service_key_msg(cmd::ZERO, k),
        Change::ZeroAll => Ok(bare_msg(cmd::ZERO)),
    }
}
