//! Encoding IPVS requests: [`Request`], one variant per IPVS command, and its one encoder.
//!
//! A request is laid out as `nlmsghdr` (length, family id, `NLM_F_DUMP` for dumps; sequence
//! and port 0, set by the transport), `genlmsghdr` (command, version 1) and the attributes,
//! each padded to 4 bytes with zeros, nested sets flagged `NLA_F_NESTED` (the kernel's strict
//! validation wants it). The attribute layout is written once, against the netlink layer's
//! [`Sink`]: [`Request::encode`] appends a whole message to a buffer with no intermediate
//! values and no allocation beyond the buffer's growth (what [`Handle`](super::Handle) sends),
//! and the [`Emitable`] / [`GenlFamily`] implementations let netlink-packet-generic's
//! `GenlMessage` carry a request, with the same bytes.

use std::net::IpAddr;

use netlink_packet_core::{Emitable, NLM_F_DUMP};
use netlink_packet_generic::GenlFamily;

use super::attr::{self, cmd_attr};
use super::change::Change;
use super::config::Timeouts;
use super::daemon::{DaemonState, SyncDaemon};
use super::destination::{Destination, ForwardMethod};
use super::service::{AddressFamily, Service, ServiceFlags, ServiceKey};
use crate::error::{Error, IpvsCommand, NetlinkOperation, Origin, Result};
use crate::netlink::attr::{Counter, Sink, SliceSink};
use crate::netlink::Header;

const ENCODE: Origin = Origin::Netlink(NetlinkOperation::Encode);

/// One IPVS request: a command and exactly the payload that command takes, so the two cannot
/// disagree.
///
/// The kernel (`ip_vs_genl_ops` in net/netfilter/ipvs/ip_vs_ctl.c) handles every `IPVS_CMD_*`
/// below; `IPVS_CMD_SET_INFO` is defined in linux/ip_vs.h but has no handler, so it has no
/// variant. Build one from a batch [`Change`] with `From`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// `IPVS_CMD_NEW_SERVICE`: adds a service (`EEXIST` if its key exists).
    NewService(&'a Service),
    /// `IPVS_CMD_SET_SERVICE`: edits the service with this key (`ESRCH` if missing).
    SetService(&'a Service),
    /// `IPVS_CMD_DEL_SERVICE`: deletes a service and its destinations.
    DelService(&'a ServiceKey),
    /// `IPVS_CMD_GET_SERVICE`: one service (`Some`, answered by one message) or the dump of
    /// every service (`None`, sent with `NLM_F_DUMP`).
    GetService(Option<&'a ServiceKey>),
    /// `IPVS_CMD_NEW_DEST`: adds a destination to a service.
    NewDest(&'a ServiceKey, &'a Destination),
    /// `IPVS_CMD_SET_DEST`: edits a destination (`ENOENT` if missing).
    SetDest(&'a ServiceKey, &'a Destination),
    /// `IPVS_CMD_DEL_DEST`: deletes the destination address:port of a service.
    DelDest(&'a ServiceKey, IpAddr, u16),
    /// `IPVS_CMD_GET_DEST`: the dump of one service's destinations (`NLM_F_DUMP`; the kernel
    /// has no single-destination get).
    GetDest(&'a ServiceKey),
    /// `IPVS_CMD_NEW_DAEMON`: starts a sync daemon.
    NewDaemon(&'a SyncDaemon),
    /// `IPVS_CMD_DEL_DAEMON`: stops the sync daemon of this state.
    DelDaemon(DaemonState),
    /// `IPVS_CMD_GET_DAEMON`: the dump of the running sync daemons (`NLM_F_DUMP`).
    GetDaemon,
    /// `IPVS_CMD_SET_CONFIG`: sets the TCP, TCP-FIN and UDP timeouts (0 = unchanged).
    SetConfig(&'a Timeouts),
    /// `IPVS_CMD_GET_CONFIG`: the three timeouts (one reply message).
    GetConfig,
    /// `IPVS_CMD_GET_INFO`: version and connection table size (one reply message).
    GetInfo,
    /// `IPVS_CMD_ZERO`: zeroes one service's counters (`Some`) or every counter (`None`).
    Zero(Option<&'a ServiceKey>),
    /// `IPVS_CMD_FLUSH`: deletes every service and destination.
    Flush,
}

impl<'a> From<&'a Change> for Request<'a> {
    fn from(c: &'a Change) -> Request<'a> {
        match c {
            Change::NewService(s) => Request::NewService(s),
            Change::UpdateService(s) => Request::SetService(s),
            Change::DeleteService(k) => Request::DelService(k),
            Change::NewDestination(k, d) => Request::NewDest(k, d),
            Change::UpdateDestination(k, d) => Request::SetDest(k, d),
            Change::DeleteDestination(k, a, p) => Request::DelDest(k, *a, *p),
            Change::Zero(k) => Request::Zero(Some(k)),
            Change::ZeroAll => Request::Zero(None),
        }
    }
}

/// Longest scheduler, persistence engine or interface name: `IP_VS_SCHEDNAME_MAXLEN`,
/// `IP_VS_PENAME_MAXLEN` and `IP_VS_IFNAME_MAXLEN` (16) minus the NUL.
const MAX_NAME: usize = 15;

fn check_name(what: &str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > MAX_NAME || s.as_bytes().contains(&0) {
        return Err(Error::invalid(
            ENCODE,
            format!("{what} {s:?} must be 1 to {MAX_NAME} bytes without NUL"),
        ));
    }
    Ok(())
}

fn check_key(key: &ServiceKey) -> Result<()> {
    if let ServiceKey::Fwmark { mark: 0, .. } = key {
        return Err(Error::invalid(
            ENCODE,
            "a firewall-mark service needs a non-zero mark",
        ));
    }
    Ok(())
}

fn check_service(s: &Service) -> Result<()> {
    s.check()?;
    check_name("scheduler", &s.scheduler)?;
    check_key(&s.key)?;
    if let Some(pe) = &s.pe_name {
        check_name("persistence engine", pe)?;
    }
    if s.key.af() == AddressFamily::Inet6 && !(1..=128).contains(&s.netmask) {
        return Err(Error::invalid(
            ENCODE,
            format!(
                "IPv6 persistence prefix length {} is not in 1..=128",
                s.netmask
            ),
        ));
    }
    Ok(())
}

/// `IPVS_SVC_ATTR_NETMASK`: the kernel reads it with `nla_get_be32`; for IPv4 it is kept as a
/// big-endian mask, for IPv6 the same field holds the prefix length as a plain integer.
#[inline]
fn netmask(s: &Service) -> [u8; 4] {
    match s.key.af() {
        AddressFamily::Inet => s.netmask.to_be_bytes(),
        AddressFamily::Inet6 => s.netmask.to_ne_bytes(),
    }
}

/// `union nf_inet_addr`: 16 bytes, an IPv4 address in the first 4.
#[inline]
fn addr16(addr: &IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            [o[0], o[1], o[2], o[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        }
        IpAddr::V6(a) => a.octets(),
    }
}

/// The attributes that identify a service: `IPVS_SVC_ATTR_AF` and either protocol, address
/// and port, or the firewall mark.
#[inline]
fn service_key<S: Sink>(s: &mut S, key: &ServiceKey) {
    s.attr_u16(attr::svc::AF, key.af().as_raw());
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            s.attr_u16(attr::svc::PROTOCOL, protocol.as_raw());
            s.attr(attr::svc::ADDR, &addr16(addr));
            s.attr_be16(attr::svc::PORT, *port);
        }
        ServiceKey::Fwmark { mark, .. } => s.attr_u32(attr::svc::FWMARK, *mark),
    }
}

/// `IPVS_CMD_ATTR_SERVICE` with only the key.
#[inline]
fn service_key_nest<S: Sink>(s: &mut S, key: &ServiceKey) {
    let at = s.nest_start(cmd_attr::SERVICE);
    service_key(s, key);
    s.nest_end(at);
}

/// `IPVS_CMD_ATTR_SERVICE` for NEW/SET_SERVICE: key, scheduler, optional persistence engine,
/// flags (with mask all ones, so the kernel takes them as given), timeout and netmask.
#[inline]
fn service<S: Sink>(s: &mut S, svc: &Service) {
    let at = s.nest_start(cmd_attr::SERVICE);
    service_key(s, &svc.key);
    s.attr_str(attr::svc::SCHED_NAME, &svc.scheduler);
    if let Some(pe) = &svc.pe_name {
        s.attr_str(attr::svc::PE_NAME, pe);
    }
    // HASHED is the kernel's own bit (a kernel without the 2021 fix in ip_vs_add_service leaves a
    // new service that has it out of the service table): never sent.
    let f = svc.flags.without(ServiceFlags::HASHED).0.to_ne_bytes();
    s.attr(
        attr::svc::FLAGS,
        &[f[0], f[1], f[2], f[3], 0xff, 0xff, 0xff, 0xff],
    );
    s.attr_u32(attr::svc::TIMEOUT, svc.timeout);
    s.attr(attr::svc::NETMASK, &netmask(svc));
    s.nest_end(at);
}

/// The attributes identifying a destination (address, port, address family).
#[inline]
fn dest_key<S: Sink>(s: &mut S, addr: &IpAddr, port: u16) {
    s.attr(attr::dest::ADDR, &addr16(addr));
    s.attr_be16(attr::dest::PORT, port);
    s.attr_u16(attr::dest::ADDR_FAMILY, AddressFamily::of(addr).as_raw());
}

/// `IPVS_CMD_ATTR_DEST` for NEW/SET_DEST. Tunnel type, port and flags are sent for tunnel
/// destinations only (kernels before 5.2/5.3 do not know them).
#[inline]
fn dest<S: Sink>(s: &mut S, d: &Destination) {
    let at = s.nest_start(cmd_attr::DEST);
    dest_key(s, &d.addr, d.port);
    s.attr_u32(attr::dest::FWD_METHOD, d.forward.as_raw());
    s.attr_u32(attr::dest::WEIGHT, d.weight as u32);
    s.attr_u32(attr::dest::U_THRESH, d.upper_threshold);
    s.attr_u32(attr::dest::L_THRESH, d.lower_threshold);
    if d.forward == ForwardMethod::Tunnel {
        s.attr_u8(attr::dest::TUN_TYPE, d.tunnel_type.as_raw());
        s.attr_be16(attr::dest::TUN_PORT, d.tunnel_port);
        s.attr_u16(attr::dest::TUN_FLAGS, d.tunnel_flags.0);
    }
    s.nest_end(at);
}

/// `IPVS_CMD_ATTR_DAEMON` for NEW_DAEMON.
fn daemon<S: Sink>(s: &mut S, d: &SyncDaemon) {
    let at = s.nest_start(cmd_attr::DAEMON);
    s.attr_u32(attr::daemon::STATE, d.state.as_raw());
    s.attr_str(attr::daemon::MCAST_IFN, &d.mcast_ifname);
    s.attr_u32(attr::daemon::SYNC_ID, d.syncid);
    if let Some(m) = d.sync_maxlen {
        s.attr_u16(attr::daemon::SYNC_MAXLEN, m);
    }
    match d.mcast_group {
        Some(IpAddr::V4(a)) => s.attr(attr::daemon::MCAST_GROUP, &a.octets()),
        Some(IpAddr::V6(a)) => s.attr(attr::daemon::MCAST_GROUP6, &a.octets()),
        None => {}
    }
    if let Some(p) = d.mcast_port {
        // Host order: the kernel reads and writes it with nla_get_u16/nla_put_u16.
        s.attr_u16(attr::daemon::MCAST_PORT, p);
    }
    if let Some(t) = d.mcast_ttl {
        s.attr_u8(attr::daemon::MCAST_TTL, t);
    }
    s.nest_end(at);
}

impl Request<'_> {
    /// The IPVS command this request is sent as (the origin of its errors).
    pub fn ipvs_command(&self) -> IpvsCommand {
        match self {
            Request::NewService(_) => IpvsCommand::NewService,
            Request::SetService(_) => IpvsCommand::SetService,
            Request::DelService(_) => IpvsCommand::DelService,
            Request::GetService(_) => IpvsCommand::GetService,
            Request::NewDest(..) => IpvsCommand::NewDest,
            Request::SetDest(..) => IpvsCommand::SetDest,
            Request::DelDest(..) => IpvsCommand::DelDest,
            Request::GetDest(_) => IpvsCommand::GetDest,
            Request::NewDaemon(_) => IpvsCommand::NewDaemon,
            Request::DelDaemon(_) => IpvsCommand::DelDaemon,
            Request::GetDaemon => IpvsCommand::GetDaemon,
            Request::SetConfig(_) => IpvsCommand::SetConfig,
            Request::GetConfig => IpvsCommand::GetConfig,
            Request::GetInfo => IpvsCommand::GetInfo,
            Request::Zero(_) => IpvsCommand::Zero,
            Request::Flush => IpvsCommand::Flush,
        }
    }

    /// The `IPVS_CMD_*` number: [`IpvsCommand::raw`] of [`Request::ipvs_command`] (one
    /// numbering of the IPVS commands, the one in [`crate::error`]).
    pub fn command(&self) -> u8 {
        self.ipvs_command().raw()
    }

    /// True for the requests sent as dumps (`NLM_F_DUMP`): the service dump, `GET_DEST` and
    /// `GET_DAEMON`.
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Request::GetService(None) | Request::GetDest(_) | Request::GetDaemon
        )
    }

    /// Refuses what the kernel would refuse or misread: a firewall mark of 0, a scheduler,
    /// persistence engine or interface name that is empty, longer than 15 bytes or holds a NUL,
    /// an IPv6 persistence prefix length outside 1..=128.
    pub fn check(&self) -> Result<()> {
        match self {
            Request::NewService(s) | Request::SetService(s) => check_service(s),
            Request::NewDest(k, d) | Request::SetDest(k, d) => {
                check_key(k)?;
                d.check()
            }
            Request::SetConfig(t) => t.check(),
            Request::DelService(k)
            | Request::GetService(Some(k))
            | Request::DelDest(k, ..)
            | Request::GetDest(k)
            | Request::Zero(Some(k)) => check_key(k),
            Request::NewDaemon(d) => check_name("multicast interface", &d.mcast_ifname),
            Request::GetService(None)
            | Request::DelDaemon(_)
            | Request::GetDaemon
            | Request::GetConfig
            | Request::GetInfo
            | Request::Zero(None)
            | Request::Flush => Ok(()),
        }
    }

    /// Writes the attributes (what follows `genlmsghdr`) into `s`: the one layout of every
    /// request.
    #[inline]
    fn write<S: Sink>(&self, s: &mut S) {
        match self {
            Request::NewService(svc) | Request::SetService(svc) => service(s, svc),
            Request::DelService(k)
            | Request::GetService(Some(k))
            | Request::GetDest(k)
            | Request::Zero(Some(k)) => service_key_nest(s, k),
            Request::NewDest(k, d) | Request::SetDest(k, d) => {
                service_key_nest(s, k);
                dest(s, d);
            }
            Request::DelDest(k, a, p) => {
                service_key_nest(s, k);
                let at = s.nest_start(cmd_attr::DEST);
                dest_key(s, a, *p);
                s.nest_end(at);
            }
            Request::NewDaemon(d) => daemon(s, d),
            Request::DelDaemon(state) => {
                let at = s.nest_start(cmd_attr::DAEMON);
                s.attr_u32(attr::daemon::STATE, state.as_raw());
                s.nest_end(at);
            }
            Request::SetConfig(t) => {
                s.attr_u32(cmd_attr::TIMEOUT_TCP, t.tcp);
                s.attr_u32(cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin);
                s.attr_u32(cmd_attr::TIMEOUT_UDP, t.udp);
            }
            Request::GetService(None)
            | Request::GetDaemon
            | Request::GetConfig
            | Request::GetInfo
            | Request::Zero(None)
            | Request::Flush => {}
        }
    }

    /// Checks the request ([`Request::check`]) and appends it, addressed to generic netlink
    /// family `family_id`, to `out` (which may hold other messages: the batch send buffer).
    /// Nothing is written when it is invalid. Request/ack flags and the sequence number are
    /// the transport's.
    #[inline]
    pub fn encode(&self, family_id: u16, out: &mut Vec<u8>) -> Result<()> {
        self.check()?;
        self.encode_as_given(family_id, out);
        Ok(())
    }

    /// [`Request::encode`] without [`Request::check`]: the kernel alone judges the request (what
    /// libipvs does; the `ipvs_*` C API of the ffi crate relies on it to return the kernel's
    /// errno for every input ipvsadm can send).
    #[inline]
    pub fn encode_as_given(&self, family_id: u16, out: &mut Vec<u8>) {
        out.reserve(160);
        let start = Header {
            kind: family_id,
            flags: if self.is_dump() { NLM_F_DUMP } else { 0 },
            ..Header::default()
        }
        .append(out);
        out.extend_from_slice(&[self.command(), attr::FAMILY_VERSION, 0, 0]);
        self.write(out);
        Header::finish(out, start);
    }
}

/// The attributes of the request (netlink-packet-generic's `GenlMessage` adds `genlmsghdr`
/// from [`GenlFamily`], netlink-packet-core's `NetlinkMessage` the `nlmsghdr`). Emitting does
/// not check the request: call [`Request::check`] first.
impl Emitable for Request<'_> {
    fn buffer_len(&self) -> usize {
        let mut c = Counter::default();
        self.write(&mut c);
        c.0
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.write(&mut SliceSink::new(buffer));
    }
}

impl GenlFamily for Request<'_> {
    fn family_name() -> &'static str {
        attr::FAMILY_NAME
    }
    fn command(&self) -> u8 {
        Request::command(self)
    }
    fn version(&self) -> u8 {
        attr::FAMILY_VERSION
    }
}

#[cfg(test)]
mod tests {
    use super::super::attr::cmd;
    use super::super::errors::{for_command, reason};
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn commands_are_the_kernel_numbers_and_name_the_origin() {
        let key = ServiceKey::Fwmark {
            af: AddressFamily::Inet,
            mark: 7,
        };
        let t = Timeouts::default();
        let cases = [
            (Request::DelService(&key), cmd::DEL_SERVICE),
            (Request::GetService(Some(&key)), cmd::GET_SERVICE),
            (Request::GetService(None), cmd::GET_SERVICE),
            (Request::GetDest(&key), cmd::GET_DEST),
            (Request::DelDaemon(DaemonState::Backup), cmd::DEL_DAEMON),
            (Request::GetDaemon, cmd::GET_DAEMON),
            (Request::SetConfig(&t), cmd::SET_CONFIG),
            (Request::GetConfig, cmd::GET_CONFIG),
            (Request::GetInfo, cmd::GET_INFO),
            (Request::Zero(Some(&key)), cmd::ZERO),
            (Request::Zero(None), cmd::ZERO),
            (Request::Flush, cmd::FLUSH),
        ];
        for (req, raw) in cases {
            assert_eq!(req.command(), raw, "{req:?}");
            assert_eq!(IpvsCommand::from_raw(raw), Some(req.ipvs_command()));
        }
    }

    #[test]
    fn a_refused_request_wrapped_by_its_command_is_an_ipvs_invalid_argument() {
        let key = ServiceKey::Fwmark {
            af: AddressFamily::Inet,
            mark: 0,
        };
        let req = Request::DelService(&key);
        let e = req.check().unwrap_err();
        assert_eq!(e.origin(), ENCODE);
        let e = for_command(e, req.command(), "delete service");
        assert_eq!(e.origin(), Origin::Ipvs(IpvsCommand::DelService));
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(reason(&e), None);
    }
}
