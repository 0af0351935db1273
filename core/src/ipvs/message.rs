//! Encoding IPVS requests: one generic netlink message per command.
//!
//! Two ways to the same bytes:
//! * the direct encoders ([`encode_change`], [`encode_service`], [`encode_dest`], ...) write a
//!   complete message straight into the caller's buffer, with no intermediate values and no heap
//!   allocation beyond the buffer's growth; [`Handle`](super::Handle) uses them, with one buffer
//!   per socket;
//! * [`IpvsMessage`] (a command and a tree of [`Attr`]) built by [`service_msg`], [`dest_msg`],
//!   ... and written by [`IpvsMessage::encode`], for callers that want to inspect or alter a
//!   message before it is sent. `IpvsMessage` also implements netlink-packet-generic's
//!   [`GenlFamily`] and netlink-packet-core's [`Emitable`].
//!
//! Both lay out `nlmsghdr` (length, family id, flags; sequence and port 0: the transport sets
//! them), `genlmsghdr` (command, version 1) and the attributes, each padded to 4 bytes with
//! zeros, nested sets flagged `NLA_F_NESTED`.

use std::net::IpAddr;

use netlink_packet_core::{Emitable, NLA_F_NESTED, NLM_F_DUMP};
use netlink_packet_generic::GenlFamily;

use super::attr::{self, cmd, cmd_attr, Attr};
use super::change::Change;
use super::config::Timeouts;
use super::daemon::{DaemonState, SyncDaemon};
use super::destination::{Destination, ForwardMethod};
use super::service::{AddressFamily, Service, ServiceFlags, ServiceKey};
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
        let start = begin(out, family_id, dump, self.cmd);
        for a in &self.attrs {
            put_attr(out, a);
        }
        finish(out, start);
    }
}

// ---- the direct writer ----------------------------------------------------------------------

/// Starts a message at the end of `out` (length filled in by [`finish`]); returns its offset.
#[inline]
fn begin(out: &mut Vec<u8>, family_id: u16, dump: bool, command: u8) -> usize {
    let start = out.len();
    out.reserve(160);
    let flags = if dump { NLM_F_DUMP } else { 0 };
    let f = family_id.to_ne_bytes();
    let g = flags.to_ne_bytes();
    #[rustfmt::skip]
    out.extend_from_slice(&[
        0, 0, 0, 0, f[0], f[1], g[0], g[1], // length (later), type, flags
        0, 0, 0, 0, 0, 0, 0, 0,             // sequence, port id (set by the transport)
        command, attr::FAMILY_VERSION, 0, 0, // genlmsghdr
    ]);
    start
}

/// Writes the message length of the message started at `start`.
#[inline]
fn finish(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

#[inline]
fn pad(out: &mut Vec<u8>) {
    let n = out.len().wrapping_neg() & 3;
    out.extend_from_slice(&[0u8; 3][..n]);
}

/// One attribute with a value of `value.len()` bytes, padded.
#[inline]
fn put(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let l = ((4 + value.len()) as u16).to_ne_bytes();
    let k = kind.to_ne_bytes();
    out.extend_from_slice(&[l[0], l[1], k[0], k[1]]);
    out.extend_from_slice(value);
    pad(out);
}

#[inline]
fn put_u16(out: &mut Vec<u8>, kind: u16, v: u16) {
    put(out, kind, &v.to_ne_bytes());
}

#[inline]
fn put_be16(out: &mut Vec<u8>, kind: u16, v: u16) {
    put(out, kind, &v.to_be_bytes());
}

#[inline]
fn put_u32(out: &mut Vec<u8>, kind: u16, v: u32) {
    put(out, kind, &v.to_ne_bytes());
}

/// A NUL-terminated string attribute.
#[inline]
fn put_str(out: &mut Vec<u8>, kind: u16, s: &str) {
    let l = ((4 + s.len() + 1) as u16).to_ne_bytes();
    let k = kind.to_ne_bytes();
    out.extend_from_slice(&[l[0], l[1], k[0], k[1]]);
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    pad(out);
}

/// Opens a nested set; returns the offset to pass to [`nest_end`].
#[inline]
fn nest_start(out: &mut Vec<u8>, kind: u16) -> usize {
    let at = out.len();
    let k = (kind | NLA_F_NESTED).to_ne_bytes();
    out.extend_from_slice(&[0, 0, k[0], k[1]]);
    at
}

#[inline]
fn nest_end(out: &mut [u8], at: usize) {
    let len = (out.len() - at) as u16;
    out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
}

/// Writes an [`Attr`] tree (the [`IpvsMessage`] path).
fn put_attr(out: &mut Vec<u8>, a: &Attr) {
    match a {
        Attr::U8(k, v) => put(out, *k, &[*v]),
        Attr::U16(k, v) => put_u16(out, *k, *v),
        Attr::Be16(k, v) => put_be16(out, *k, *v),
        Attr::U32(k, v) => put_u32(out, *k, *v),
        Attr::Bytes(k, b) => put(out, *k, b),
        Attr::Str(k, s) => put_str(out, *k, s),
        Attr::Nested(k, v) => {
            let at = nest_start(out, *k);
            for c in v {
                put_attr(out, c);
            }
            nest_end(out, at);
        }
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

/// Refuses what [`service_key_attrs`] refuses (a firewall mark of 0).
fn check_key(key: &ServiceKey) -> Result<()> {
    if let ServiceKey::Fwmark { mark: 0, .. } = key {
        return Err(Error::invalid(
            "a firewall-mark service needs a non-zero mark",
        ));
    }
    Ok(())
}

/// Refuses what [`service_attrs`] refuses; returns the `IPVS_SVC_ATTR_NETMASK` bytes.
fn check_service(s: &Service) -> Result<[u8; 4]> {
    s.check()?;
    check_name("scheduler", &s.scheduler)?;
    check_key(&s.key)?;
    if let Some(pe) = &s.pe_name {
        check_name("persistence engine", pe)?;
    }
    netmask_bytes(s)
}

fn netmask_bytes(s: &Service) -> Result<[u8; 4]> {
    match s.key.af() {
        // The kernel reads it with nla_get_be32 and keeps it as a big-endian mask.
        AddressFamily::Inet => Ok(s.netmask.to_be_bytes()),
        // For IPv6 the same field holds the prefix length as a plain integer.
        AddressFamily::Inet6 => {
            if !(1..=128).contains(&s.netmask) {
                return Err(Error::invalid(format!(
                    "IPv6 persistence prefix length {} is not in 1..=128",
                    s.netmask
                )));
            }
            Ok(s.netmask.to_ne_bytes())
        }
    }
}

/// The service key attributes (`key` already checked).
#[inline]
fn put_service_key(out: &mut Vec<u8>, key: &ServiceKey) {
    put_u16(out, attr::svc::AF, key.af().as_raw());
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            put_u16(out, attr::svc::PROTOCOL, protocol.as_raw());
            put(out, attr::svc::ADDR, &addr16(addr));
            put_be16(out, attr::svc::PORT, *port);
        }
        ServiceKey::Fwmark { mark, .. } => put_u32(out, attr::svc::FWMARK, *mark),
    }
}

/// `IPVS_CMD_ATTR_SERVICE` with only the key.
#[inline]
fn put_service_key_nest(out: &mut Vec<u8>, key: &ServiceKey) {
    let at = nest_start(out, cmd_attr::SERVICE);
    put_service_key(out, key);
    nest_end(out, at);
}

/// The destination key attributes.
#[inline]
fn put_dest_key(out: &mut Vec<u8>, addr: &IpAddr, port: u16) {
    put(out, attr::dest::ADDR, &addr16(addr));
    put_be16(out, attr::dest::PORT, port);
    put_u16(
        out,
        attr::dest::ADDR_FAMILY,
        AddressFamily::of(addr).as_raw(),
    );
}

/// Checks `s` (as [`service_msg`] does) and appends `IPVS_CMD_NEW_SERVICE` / `SET_SERVICE` for
/// it to `out`, byte for byte what `service_msg(command, s)?.encode(family_id, false, out)`
/// appends. Nothing is written when `s` is invalid.
pub fn encode_service(command: u8, s: &Service, family_id: u16, out: &mut Vec<u8>) -> Result<()> {
    let netmask = check_service(s)?;
    let start = begin(out, family_id, false, command);
    let at = nest_start(out, cmd_attr::SERVICE);
    put_service_key(out, &s.key);
    put_str(out, attr::svc::SCHED_NAME, &s.scheduler);
    if let Some(pe) = &s.pe_name {
        put_str(out, attr::svc::PE_NAME, pe);
    }
    // HASHED is the kernel's own bit (a kernel without the 2021 fix in ip_vs_add_service leaves a
    // new service that has it out of the service table): never sent.
    let f = s.flags.without(ServiceFlags::HASHED).0.to_ne_bytes();
    put(
        out,
        attr::svc::FLAGS,
        &[f[0], f[1], f[2], f[3], 0xff, 0xff, 0xff, 0xff],
    );
    put_u32(out, attr::svc::TIMEOUT, s.timeout);
    put(out, attr::svc::NETMASK, &netmask);
    nest_end(out, at);
    finish(out, start);
    Ok(())
}

/// Appends a command that names a service only (`DEL_SERVICE`, `GET_SERVICE`, `GET_DEST` with
/// `dump`, `ZERO`), as [`service_key_msg`] + [`IpvsMessage::encode`] would.
pub fn encode_service_key(
    command: u8,
    key: &ServiceKey,
    family_id: u16,
    dump: bool,
    out: &mut Vec<u8>,
) -> Result<()> {
    check_key(key)?;
    let start = begin(out, family_id, dump, command);
    put_service_key_nest(out, key);
    finish(out, start);
    Ok(())
}

/// Appends `IPVS_CMD_NEW_DEST` / `SET_DEST`, as [`dest_msg`] + [`IpvsMessage::encode`] would.
pub fn encode_dest(
    command: u8,
    key: &ServiceKey,
    d: &Destination,
    family_id: u16,
    out: &mut Vec<u8>,
) -> Result<()> {
    check_key(key)?;
    d.check()?;
    let start = begin(out, family_id, false, command);
    put_service_key_nest(out, key);
    let at = nest_start(out, cmd_attr::DEST);
    put_dest_key(out, &d.addr, d.port);
    put_u32(out, attr::dest::FWD_METHOD, d.forward.as_raw());
    put_u32(out, attr::dest::WEIGHT, d.weight as u32);
    put_u32(out, attr::dest::U_THRESH, d.upper_threshold);
    put_u32(out, attr::dest::L_THRESH, d.lower_threshold);
    if d.forward == ForwardMethod::Tunnel {
        put(out, attr::dest::TUN_TYPE, &[d.tunnel_type.as_raw()]);
        put_be16(out, attr::dest::TUN_PORT, d.tunnel_port);
        put_u16(out, attr::dest::TUN_FLAGS, d.tunnel_flags.0);
    }
    nest_end(out, at);
    finish(out, start);
    Ok(())
}

/// Appends `IPVS_CMD_DEL_DEST`, as [`del_dest_msg`] + [`IpvsMessage::encode`] would.
pub fn encode_del_dest(
    key: &ServiceKey,
    addr: &IpAddr,
    port: u16,
    family_id: u16,
    out: &mut Vec<u8>,
) -> Result<()> {
    check_key(key)?;
    let start = begin(out, family_id, false, cmd::DEL_DEST);
    put_service_key_nest(out, key);
    let at = nest_start(out, cmd_attr::DEST);
    put_dest_key(out, addr, port);
    nest_end(out, at);
    finish(out, start);
    Ok(())
}

/// Appends a command without attributes (see [`bare_msg`]).
pub fn encode_bare(command: u8, family_id: u16, dump: bool, out: &mut Vec<u8>) {
    let start = begin(out, family_id, dump, command);
    finish(out, start);
}

/// Checks a batch [`Change`] without encoding it: `Err` exactly when [`change_msg`] and
/// [`encode_change`] fail for it.
pub fn check_change(c: &Change) -> Result<()> {
    match c {
        Change::NewService(s) | Change::UpdateService(s) => check_service(s).map(|_| ()),
        Change::NewDestination(k, d) | Change::UpdateDestination(k, d) => {
            check_key(k)?;
            d.check()
        }
        Change::DeleteService(k) | Change::DeleteDestination(k, _, _) | Change::Zero(k) => {
            check_key(k)
        }
        Change::ZeroAll => Ok(()),
    }
}

/// The `IPVS_CMD_*` a [`Change`] is sent as.
pub fn change_cmd(c: &Change) -> u8 {
    match c {
        Change::NewService(_) => cmd::NEW_SERVICE,
        Change::UpdateService(_) => cmd::SET_SERVICE,
        Change::DeleteService(_) => cmd::DEL_SERVICE,
        Change::NewDestination(..) => cmd::NEW_DEST,
        Change::UpdateDestination(..) => cmd::SET_DEST,
        Change::DeleteDestination(..) => cmd::DEL_DEST,
        Change::Zero(_) | Change::ZeroAll => cmd::ZERO,
    }
}

/// Appends the message for one batch [`Change`] to `out`, byte for byte what
/// `change_msg(c)?.encode(family_id, false, out)` appends, without building it first. Nothing
/// is written when the change is invalid.
pub fn encode_change(c: &Change, family_id: u16, out: &mut Vec<u8>) -> Result<()> {
    match c {
        Change::NewService(s) => encode_service(cmd::NEW_SERVICE, s, family_id, out),
        Change::UpdateService(s) => encode_service(cmd::SET_SERVICE, s, family_id, out),
        Change::DeleteService(k) => encode_service_key(cmd::DEL_SERVICE, k, family_id, false, out),
        Change::NewDestination(k, d) => encode_dest(cmd::NEW_DEST, k, d, family_id, out),
        Change::UpdateDestination(k, d) => encode_dest(cmd::SET_DEST, k, d, family_id, out),
        Change::DeleteDestination(k, a, p) => encode_del_dest(k, a, *p, family_id, out),
        Change::Zero(k) => encode_service_key(cmd::ZERO, k, family_id, false, out),
        Change::ZeroAll => {
            encode_bare(cmd::ZERO, family_id, false, out);
            Ok(())
        }
    }
}

// ---- the IpvsMessage builders -----------------------------------------------------------------

fn addr_bytes(addr: &IpAddr) -> Vec<u8> {
    addr16(addr).to_vec()
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
    s.check()?;
    check_name("scheduler", &s.scheduler)?;
    let mut v = service_key_attrs(&s.key)?;
    v.push(Attr::Str(attr::svc::SCHED_NAME, s.scheduler.clone()));
    if let Some(pe) = &s.pe_name {
        check_name("persistence engine", pe)?;
        v.push(Attr::Str(attr::svc::PE_NAME, pe.clone()));
    }
    let mut flags = Vec::with_capacity(8);
    flags.extend_from_slice(&s.flags.without(ServiceFlags::HASHED).0.to_ne_bytes());
    flags.extend_from_slice(&u32::MAX.to_ne_bytes());
    v.push(Attr::Bytes(attr::svc::FLAGS, flags));
    v.push(Attr::U32(attr::svc::TIMEOUT, s.timeout));
    let netmask = netmask_bytes(s)?.to_vec();
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
    d.check()?;
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
