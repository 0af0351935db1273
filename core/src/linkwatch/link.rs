//! One link as the watcher sees it, parsed from an `RTM_NEWLINK` message.

use netlink_packet_core::{NlasIterator, ParseableParametrized};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkHeader, LinkInfo, State};

use crate::error::{Error, LinkWatchOperation, Origin, Result};

const PARSE: Origin = Origin::LinkWatch(LinkWatchOperation::Parse);

/// `IFF_UP`: the link is administratively up.
pub const IFF_UP: u32 = 1 << 0;
/// `IFF_LOWER_UP`: the driver reports the lower layer up (carrier, RFC 2863 L1 up).
pub const IFF_LOWER_UP: u32 = 1 << 16;

/// RFC 2863 operational state (`IFLA_OPERSTATE`, `IF_OPER_*` in linux/if.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OperState {
    /// `IF_OPER_UNKNOWN` (0): the driver does not report it (loopback, many virtual links).
    #[default]
    Unknown,
    /// `IF_OPER_NOTPRESENT` (1).
    NotPresent,
    /// `IF_OPER_DOWN` (2).
    Down,
    /// `IF_OPER_LOWERLAYERDOWN` (3): down because a lower link is down.
    LowerLayerDown,
    /// `IF_OPER_TESTING` (4).
    Testing,
    /// `IF_OPER_DORMANT` (5).
    Dormant,
    /// `IF_OPER_UP` (6).
    Up,
    /// A value newer than this crate.
    Other(u8),
}

impl OperState {
    /// The kernel's numeric value (`IF_OPER_*`).
    pub fn as_u8(self) -> u8 {
        match self {
            OperState::Unknown => 0,
            OperState::NotPresent => 1,
            OperState::Down => 2,
            OperState::LowerLayerDown => 3,
            OperState::Testing => 4,
            OperState::Dormant => 5,
            OperState::Up => 6,
            OperState::Other(v) => v,
        }
    }

    /// From the kernel's numeric value.
    pub fn from_u8(v: u8) -> OperState {
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            v => OperState::Other(v),
        }
    }

    /// The name iproute2 prints (`ip link`, `ip -j link` field `operstate`): "UP", "DOWN", ...
    pub fn as_str(self) -> &'static str {
        match self {
            OperState::Unknown => "UNKNOWN",
            OperState::NotPresent => "NOTPRESENT",
            OperState::Down => "DOWN",
            OperState::LowerLayerDown => "LOWERLAYERDOWN",
            OperState::Testing => "TESTING",
            OperState::Dormant => "DORMANT",
            OperState::Up => "UP",
            OperState::Other(_) => "OTHER",
        }
    }
}

impl From<State> for OperState {
    fn from(s: State) -> Self {
        OperState::from_u8(u8::from(s))
    }
}

/// Duplex mode as reported by ethtool (through sysfs `/sys/class/net/NAME/duplex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duplex {
    /// Half duplex.
    Half,
    /// Full duplex.
    Full,
}

/// A network link (interface) and the state the watcher tracks for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Link {
    /// Interface index (`ifi_index`); stable across renames, unique within the namespace.
    pub index: u32,
    /// Interface name (`IFLA_IFNAME`).
    pub name: String,
    /// Link kind (`IFLA_INFO_KIND`: "veth", "bridge", ...); `None` for physical NICs and lo.
    pub kind: Option<String>,
    /// Administratively up (`IFF_UP`).
    pub admin_up: bool,
    /// Operational state (`IFLA_OPERSTATE`).
    pub oper_state: OperState,
    /// Carrier (`IFLA_CARRIER`, kernel 3.3+); `None` when the kernel did not send it.
    pub carrier: Option<bool>,
    /// Lower layer up (`IFF_LOWER_UP`).
    pub lower_up: bool,
    /// MTU (`IFLA_MTU`).
    pub mtu: u32,
    /// Hardware address (`IFLA_ADDRESS`); empty for links without one.
    pub mac: Vec<u8>,
    /// Ifindex of the master (bridge, bond, VRF) (`IFLA_MASTER`).
    pub master: Option<u32>,
    /// Alias (`IFLA_IFALIAS`, `ip link set NAME alias TEXT`).
    pub alias: Option<String>,
    /// Speed in Mb/s from ethtool via sysfs; only read for the caller's own namespace and only
    /// when the driver reports one (see [`crate::linkwatch::WatchOptions::read_speed`]).
    pub speed_mbps: Option<u32>,
    /// Duplex from ethtool via sysfs; same conditions as [`Link::speed_mbps`].
    pub duplex: Option<Duplex>,
    /// All `IFF_*` flags (`ifi_flags`).
    pub flags: u32,
}

impl Link {
    /// The hardware address as "aa:bb:cc:dd:ee:ff" (empty string when there is none).
    pub fn mac_string(&self) -> String {
        self.mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

/// What one link message says, after defensive parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedLink {
    /// `ifi_family`: `AF_UNSPEC` for link messages; `AF_BRIDGE` ones are bridge-port
    /// notifications (`br_ifinfo_notify`) that must not touch the link table.
    pub family: u8,
    pub link: Link,
}

/// Size of `struct ifinfomsg`.
const IFINFOMSG_LEN: usize = 16;

/// The `IFLA_*` attributes the watcher decodes (`IFLA_ADDRESS`, `IFLA_IFNAME`, `IFLA_MTU`,
/// `IFLA_MASTER`, `IFLA_OPERSTATE`, `IFLA_LINKINFO`, `IFLA_IFALIAS`, `IFLA_CARRIER`). The
/// others (statistics, `IFLA_AF_SPEC` with per-family configuration, XDP, VF info...) are
/// framing-checked but not decoded: that is most of a link message, and a kernel newer than
/// the codec may put there what the codec cannot decode.
const WANTED: [u16; 8] = [1, 3, 4, 10, 16, 18, 20, 33];

/// Parses the payload (after the netlink header) of an `RTM_NEWLINK` / `RTM_DELLINK` message.
///
/// A short header, an attribute whose length runs past the message, or a wanted attribute the
/// codec rejects is a [`crate::ErrorKind::Malformed`] error; a message without `IFLA_IFNAME`
/// is accepted only for `RTM_DELLINK` (`require_name == false`).
pub(crate) fn parse_link(payload: &[u8], require_name: bool) -> Result<ParsedLink> {
    let header = LinkHeader::parse(payload)
        .map_err(|e| Error::malformed(PARSE, format!("ifinfomsg: {e}")))?;
    let family = header.interface_family;
    let mut link = Link {
        index: header.index,
        admin_up: header.flags.contains(LinkFlags::Up),
        lower_up: header.flags.contains(LinkFlags::LowerUp),
        flags: header.flags.bits(),
        ..Link::default()
    };
    let mut have_name = false;
    let mut attrs = Vec::new();
    for nla in NlasIterator::new(&payload[IFINFOMSG_LEN.min(payload.len())..]) {
        let nla = nla.map_err(|e| Error::malformed(PARSE, format!("link attribute: {e}")))?;
        if !WANTED.contains(&nla.kind()) {
            continue;
        }
        let attr = LinkAttribute::parse_with_param(&nla, family)
            .map_err(|e| Error::malformed(PARSE, format!("link attribute {}: {e}", nla.kind())))?;
        attrs.push(attr);
    }
    for attr in attrs {
        match attr {
            LinkAttribute::IfName(n) => {
                link.name = n;
                have_name = true;
            }
            LinkAttribute::Mtu(m) => link.mtu = m,
            LinkAttribute::OperState(s) => link.oper_state = s.into(),
            LinkAttribute::Carrier(c) => link.carrier = Some(c != 0),
            LinkAttribute::Address(a) => link.mac = a,
            LinkAttribute::Controller(m) if m != 0 => link.master = Some(m),
            LinkAttribute::IfAlias(a) if !a.is_empty() => link.alias = Some(a),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(k) = info {
                        link.kind = Some(match k {
                            InfoKind::Other(s) => s,
                            k => k.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    if link.index == 0 {
        return Err(Error::malformed(PARSE, "link message with ifindex 0"));
    }
    if require_name && !have_name {
        return Err(Error::malformed(
            PARSE,
            format!("RTM_NEWLINK for ifindex {} without IFLA_IFNAME", link.index),
        ));
    }
    Ok(ParsedLink {
        family: u8::from(family),
        link,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use netlink_packet_core::Emitable;
    use netlink_packet_route::link::{LinkHeader, LinkMessage};
    use netlink_packet_route::AddressFamily;

    /// Encodes a link message payload the way the kernel lays it out.
    pub(crate) fn encode(
        index: u32,
        flags: u32,
        family: AddressFamily,
        attrs: Vec<LinkAttribute>,
    ) -> Vec<u8> {
        let mut m = LinkMessage::default();
        m.header = LinkHeader {
            interface_family: family,
            index,
            flags: LinkFlags::from_bits_retain(flags),
            ..LinkHeader::default()
        };
        m.attributes = attrs;
        let mut buf = vec![0u8; m.buffer_len()];
        m.emit(&mut buf);
        buf
    }

    #[test]
    fn parses_every_tracked_field() {
        let p = encode(
            7,
            IFF_UP | IFF_LOWER_UP | 0x1000,
            AddressFamily::Unspec,
            vec![
                LinkAttribute::IfName("veth0".into()),
                LinkAttribute::Mtu(9000),
                LinkAttribute::OperState(State::Up),
                LinkAttribute::Carrier(1),
                LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]),
                LinkAttribute::Controller(3),
                LinkAttribute::IfAlias("uplink".into()),
                LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Veth)]),
            ],
        );
        let l = parse_link(&p, true).unwrap().link;
        assert_eq!(l.index, 7);
        assert_eq!(l.name, "veth0");
        assert_eq!(l.mtu, 9000);
        assert_eq!(l.oper_state, OperState::Up);
        assert_eq!(l.carrier, Some(true));
        assert!(l.admin_up && l.lower_up);
        assert_eq!(l.mac_string(), "02:00:00:00:00:01");
        assert_eq!(l.master, Some(3));
        assert_eq!(l.alias.as_deref(), Some("uplink"));
        assert_eq!(l.kind.as_deref(), Some("veth"));
        assert_eq!(l.flags, IFF_UP | IFF_LOWER_UP | 0x1000);
    }

    #[test]
    fn truncated_and_nameless_messages_are_errors() {
        let p = encode(
            7,
            0,
            AddressFamily::Unspec,
            vec![LinkAttribute::IfName("veth0".into())],
        );
        for cut in [0, 8, 15, p.len() - 4] {
            assert!(parse_link(&p[..cut], true).is_err(), "cut at {cut}");
        }
        let nameless = encode(7, 0, AddressFamily::Unspec, vec![LinkAttribute::Mtu(1)]);
        assert!(parse_link(&nameless, true).is_err());
        assert_eq!(parse_link(&nameless, false).unwrap().link.index, 7);
        let zero = encode(0, 0, AddressFamily::Unspec, vec![]);
        assert!(parse_link(&zero, false).is_err());
    }

    /// Appends a raw attribute (type, value) with its padding.
    fn raw_nla(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
        buf.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(value);
        while !buf.len().is_multiple_of(4) {
            buf.push(0);
        }
    }

    #[test]
    fn unwanted_attributes_are_skipped_wanted_ones_checked() {
        let base = encode(
            9,
            0,
            AddressFamily::Unspec,
            vec![LinkAttribute::IfName("p9".into())],
        );
        // IFLA_AF_SPEC (26) full of junk: not decoded, so not an error.
        let mut p = base.clone();
        raw_nla(&mut p, 26, &[0xff, 0xff, 0x01]);
        assert_eq!(parse_link(&p, true).unwrap().link.name, "p9");
        // IFLA_MTU (4) with 2 bytes instead of 4: decoded, so an error.
        let mut p = base.clone();
        raw_nla(&mut p, 4, &[1, 2]);
        assert!(parse_link(&p, true).is_err());
        // An attribute claiming more bytes than the message has: a framing error.
        let mut p = base;
        p.extend_from_slice(&[40, 0, 26, 0, 0, 0, 0, 0]);
        assert!(parse_link(&p, true).is_err());
    }

    #[test]
    fn oper_state_names_match_iproute2() {
        for v in 0..=6u8 {
            assert_eq!(OperState::from_u8(v).as_u8(), v);
        }
        assert_eq!(OperState::from_u8(3).as_str(), "LOWERLAYERDOWN");
        assert_eq!(OperState::from(State::Up), OperState::Up);
    }
}
