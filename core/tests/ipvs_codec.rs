//! Codec tests for IPVS (no kernel): exact request bytes for every command, reply parsing, and
//! malformed replies, which must give `ErrorKind::Malformed` and never panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lbnet::ipvs::attr::{self, cmd, cmd_attr, Attr};
use lbnet::ipvs::message::{self, IpvsMessage};
use lbnet::ipvs::{
    parse, AddressFamily, Change, DaemonState, Destination, ForwardMethod, Protocol, Service,
    ServiceFlags, ServiceKey, Stats, SyncDaemon, Timeouts, TunnelFlags, TunnelType,
};
use lbnet::ErrorKind;

const FAMILY: u16 = 0x23;

/// A hand-written TLV, independent of the library's encoder.
fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut v = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(&kind.to_ne_bytes());
    v.extend_from_slice(value);
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
    v
}

fn nested(kind: u16, parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(kind | 0x8000, &parts.concat())
}

/// A full message as the kernel or the library lays it out.
fn genl(family: u16, flags: u16, command: u8, attrs: &[u8]) -> Vec<u8> {
    let len = 16 + 4 + attrs.len();
    let mut v = (len as u32).to_ne_bytes().to_vec();
    v.extend_from_slice(&family.to_ne_bytes());
    v.extend_from_slice(&flags.to_ne_bytes());
    v.extend_from_slice(&[0; 8]); // seq, pid
    v.extend_from_slice(&[command, 1, 0, 0]);
    v.extend_from_slice(attrs);
    v
}

fn encode(m: &IpvsMessage, dump: bool) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(FAMILY, dump, &mut out);
    out
}

/// The direct encoder (what `Handle` sends): `f` appends to a buffer that already holds other
/// bytes, as the batch send buffer does; the new message must follow them untouched.
fn direct(f: impl FnOnce(&mut Vec<u8>) -> lbnet::Result<()>) -> Vec<u8> {
    let mut out = vec![0xaa; 8];
    f(&mut out).unwrap();
    assert_eq!(out[..8], [0xaa; 8]);
    out.split_off(8)
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn addr16(a: IpAddr) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    match a {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
    }
    b
}

fn svc_key_tlvs(af: u16, proto: u16, a: IpAddr, port: u16) -> Vec<Vec<u8>> {
    vec![
        tlv(attr::svc::AF, &af.to_ne_bytes()),
        tlv(attr::svc::PROTOCOL, &proto.to_ne_bytes()),
        tlv(attr::svc::ADDR, &addr16(a)),
        tlv(attr::svc::PORT, &port.to_be_bytes()),
    ]
}

fn flags_bytes(f: u32, mask: u32) -> Vec<u8> {
    let mut v = f.to_ne_bytes().to_vec();
    v.extend_from_slice(&mask.to_ne_bytes());
    v
}

#[test]
fn new_service_ipv4_tcp_exact_bytes() {
    let key = ServiceKey::tcp(v4("10.0.0.1"), 80);
    let m = message::service_msg(cmd::NEW_SERVICE, &Service::new(key, "rr")).unwrap();
    let mut parts = svc_key_tlvs(2, 6, v4("10.0.0.1"), 80);
    parts.push(tlv(attr::svc::SCHED_NAME, b"rr\0"));
    parts.push(tlv(attr::svc::FLAGS, &flags_bytes(0, u32::MAX)));
    parts.push(tlv(attr::svc::TIMEOUT, &0u32.to_ne_bytes()));
    parts.push(tlv(attr::svc::NETMASK, &[255, 255, 255, 255]));
    let want = genl(
        FAMILY,
        0,
        cmd::NEW_SERVICE,
        &nested(cmd_attr::SERVICE, &parts),
    );
    assert_eq!(encode(&m, false), want);
    let s = Service::new(key, "rr");
    assert_eq!(
        direct(|b| message::encode_service(cmd::NEW_SERVICE, &s, FAMILY, b)),
        want
    );
    assert_eq!(
        direct(|b| message::encode_change(&Change::NewService(s.clone()), FAMILY, b)),
        want
    );
}

#[test]
fn persistent_ipv4_service_sends_netmask_in_network_order() {
    let key = ServiceKey::udp(v4("192.0.2.9"), 53);
    let mut s = Service::new(key, "sh").persistent(300, 24);
    s.flags |= ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT | ServiceFlags::ONEPACKET;
    s.pe_name = Some("sip".into());
    let got = encode(&message::service_msg(cmd::SET_SERVICE, &s).unwrap(), false);
    let mut parts = svc_key_tlvs(2, 17, v4("192.0.2.9"), 53);
    parts.push(tlv(attr::svc::SCHED_NAME, b"sh\0"));
    parts.push(tlv(attr::svc::PE_NAME, b"sip\0"));
    parts.push(tlv(
        attr::svc::FLAGS,
        &flags_bytes(0x1 | 0x4 | 0x8 | 0x10, u32::MAX),
    ));
    parts.push(tlv(attr::svc::TIMEOUT, &300u32.to_ne_bytes()));
    parts.push(tlv(attr::svc::NETMASK, &[255, 255, 255, 0]));
    let want = genl(
        FAMILY,
        0,
        cmd::SET_SERVICE,
        &nested(cmd_attr::SERVICE, &parts),
    );
    assert_eq!(got, want);
    assert_eq!(
        direct(|b| message::encode_service(cmd::SET_SERVICE, &s, FAMILY, b)),
        want
    );
}

#[test]
fn fwmark_ipv6_service_sends_prefix_length() {
    let key = ServiceKey::fwmark(AddressFamily::Inet6, 7);
    let s = Service::new(key, "mh").persistent(60, 64);
    let got = encode(&message::service_msg(cmd::NEW_SERVICE, &s).unwrap(), false);
    let parts = vec![
        tlv(attr::svc::AF, &10u16.to_ne_bytes()),
        tlv(attr::svc::FWMARK, &7u32.to_ne_bytes()),
        tlv(attr::svc::SCHED_NAME, b"mh\0"),
        tlv(attr::svc::FLAGS, &flags_bytes(1, u32::MAX)),
        tlv(attr::svc::TIMEOUT, &60u32.to_ne_bytes()),
        tlv(attr::svc::NETMASK, &64u32.to_ne_bytes()),
    ];
    let want = genl(
        FAMILY,
        0,
        cmd::NEW_SERVICE,
        &nested(cmd_attr::SERVICE, &parts),
    );
    assert_eq!(got, want);
    assert_eq!(
        direct(|b| message::encode_service(cmd::NEW_SERVICE, &s, FAMILY, b)),
        want
    );
}

#[test]
fn sctp_ipv6_key_and_dump_flag() {
    let a: IpAddr = "2001:db8::1".parse().unwrap();
    let key = ServiceKey::sctp(a, 3868);
    let got = encode(
        &message::service_key_msg(cmd::GET_DEST, &key).unwrap(),
        true,
    );
    let parts = svc_key_tlvs(10, 132, a, 3868);
    let want = genl(
        FAMILY,
        0x300,
        cmd::GET_DEST,
        &nested(cmd_attr::SERVICE, &parts),
    );
    assert_eq!(got, want);
    assert_eq!(
        direct(|b| message::encode_service_key(cmd::GET_DEST, &key, FAMILY, true, b)),
        want
    );
}

#[test]
fn invalid_arguments_are_refused_before_sending() {
    let e = message::service_key_msg(
        cmd::DEL_SERVICE,
        &ServiceKey::fwmark(AddressFamily::Inet, 0),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let mut s = Service::new(
        ServiceKey::tcp(v4("10.0.0.1"), 1),
        "a-scheduler-name-too-long",
    );
    assert_eq!(
        message::service_msg(cmd::NEW_SERVICE, &s)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    s.scheduler = "rr".into();
    s.key = ServiceKey::tcp("::1".parse().unwrap(), 1);
    s.netmask = 0; // IPv6 prefix must be 1..=128
    assert_eq!(
        message::service_msg(cmd::NEW_SERVICE, &s)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    let d = SyncDaemon::new(DaemonState::Master, "", 1);
    assert_eq!(
        message::new_daemon_msg(&d).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

fn dest_key_tlvs(a: IpAddr, port: u16) -> Vec<Vec<u8>> {
    let af: u16 = if a.is_ipv4() { 2 } else { 10 };
    vec![
        tlv(attr::dest::ADDR, &addr16(a)),
        tlv(attr::dest::PORT, &port.to_be_bytes()),
        tlv(attr::dest::ADDR_FAMILY, &af.to_ne_bytes()),
    ]
}

#[test]
fn new_dest_masq_exact_bytes_without_tunnel_attrs() {
    let key = ServiceKey::tcp(v4("10.0.0.1"), 80);
    let mut d = Destination::new(v4("10.0.1.2"), 8080, ForwardMethod::Masquerade).weight(5);
    d.upper_threshold = 100;
    d.lower_threshold = 10;
    let got = encode(&message::dest_msg(cmd::NEW_DEST, &key, &d).unwrap(), false);
    let mut dp = dest_key_tlvs(v4("10.0.1.2"), 8080);
    dp.push(tlv(attr::dest::FWD_METHOD, &0u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::WEIGHT, &5u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::U_THRESH, &100u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::L_THRESH, &10u32.to_ne_bytes()));
    let mut body = nested(cmd_attr::SERVICE, &svc_key_tlvs(2, 6, v4("10.0.0.1"), 80));
    body.extend(nested(cmd_attr::DEST, &dp));
    let want = genl(FAMILY, 0, cmd::NEW_DEST, &body);
    assert_eq!(got, want);
    assert_eq!(
        direct(|b| message::encode_dest(cmd::NEW_DEST, &key, &d, FAMILY, b)),
        want
    );
}

#[test]
fn tunnel_dest_carries_type_port_flags_and_mixed_family() {
    let key = ServiceKey::tcp(v4("10.0.0.1"), 80);
    let a: IpAddr = "2001:db8::5".parse().unwrap();
    let mut d = Destination::new(a, 80, ForwardMethod::Tunnel);
    d.tunnel_type = TunnelType::Gue;
    d.tunnel_port = 6080;
    d.tunnel_flags = TunnelFlags(TunnelFlags::CSUM.0 | TunnelFlags::REMCSUM.0);
    let got = encode(&message::dest_msg(cmd::SET_DEST, &key, &d).unwrap(), false);
    let mut dp = dest_key_tlvs(a, 80);
    dp.push(tlv(attr::dest::FWD_METHOD, &2u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::WEIGHT, &1u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::U_THRESH, &0u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::L_THRESH, &0u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::TUN_TYPE, &[1]));
    dp.push(tlv(attr::dest::TUN_PORT, &6080u16.to_be_bytes()));
    dp.push(tlv(attr::dest::TUN_FLAGS, &3u16.to_ne_bytes()));
    let mut body = nested(cmd_attr::SERVICE, &svc_key_tlvs(2, 6, v4("10.0.0.1"), 80));
    body.extend(nested(cmd_attr::DEST, &dp));
    let want = genl(FAMILY, 0, cmd::SET_DEST, &body);
    assert_eq!(got, want);
    assert_eq!(
        direct(|b| message::encode_change(&Change::UpdateDestination(key, d.clone()), FAMILY, b)),
        want
    );
}

#[test]
fn del_dest_sends_only_the_key() {
    let key = ServiceKey::fwmark(AddressFamily::Inet, 3);
    let got = encode(
        &message::del_dest_msg(&key, &v4("10.9.9.9"), 0).unwrap(),
        false,
    );
    let mut body = nested(
        cmd_attr::SERVICE,
        &[
            tlv(attr::svc::AF, &2u16.to_ne_bytes()),
            tlv(attr::svc::FWMARK, &3u32.to_ne_bytes()),
        ],
    );
    body.extend(nested(cmd_attr::DEST, &dest_key_tlvs(v4("10.9.9.9"), 0)));
    let want = genl(FAMILY, 0, cmd::DEL_DEST, &body);
    assert_eq!(got, want);
    assert_eq!(
        direct(|b| message::encode_del_dest(&key, &v4("10.9.9.9"), 0, FAMILY, b)),
        want
    );
}

#[test]
fn bare_commands_and_timeouts() {
    for c in [cmd::FLUSH, cmd::ZERO, cmd::GET_INFO, cmd::GET_CONFIG] {
        assert_eq!(
            encode(&message::bare_msg(c), false),
            genl(FAMILY, 0, c, &[])
        );
        assert_eq!(
            direct(|b| {
                message::encode_bare(c, FAMILY, false, b);
                Ok(())
            }),
            genl(FAMILY, 0, c, &[])
        );
    }
    assert_eq!(
        encode(&message::bare_msg(cmd::GET_SERVICE), true),
        genl(FAMILY, 0x300, cmd::GET_SERVICE, &[])
    );
    assert_eq!(
        direct(|b| {
            message::encode_bare(cmd::GET_SERVICE, FAMILY, true, b);
            Ok(())
        }),
        genl(FAMILY, 0x300, cmd::GET_SERVICE, &[])
    );
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 0,
        udp: 300,
    };
    let body = [
        tlv(cmd_attr::TIMEOUT_TCP, &900u32.to_ne_bytes()),
        tlv(cmd_attr::TIMEOUT_TCP_FIN, &0u32.to_ne_bytes()),
        tlv(cmd_attr::TIMEOUT_UDP, &300u32.to_ne_bytes()),
    ]
    .concat();
    assert_eq!(
        encode(&message::timeouts_msg(&t), false),
        genl(FAMILY, 0, cmd::SET_CONFIG, &body)
    );
}

#[test]
fn daemon_commands() {
    let mut d = SyncDaemon::new(DaemonState::Backup, "eth0", 9);
    d.sync_maxlen = Some(1400);
    d.mcast_group = Some("239.1.2.3".parse().unwrap());
    d.mcast_port = Some(8849);
    d.mcast_ttl = Some(3);
    let got = encode(&message::new_daemon_msg(&d).unwrap(), false);
    let body = nested(
        cmd_attr::DAEMON,
        &[
            tlv(attr::daemon::STATE, &2u32.to_ne_bytes()),
            tlv(attr::daemon::MCAST_IFN, b"eth0\0"),
            tlv(attr::daemon::SYNC_ID, &9u32.to_ne_bytes()),
            tlv(attr::daemon::SYNC_MAXLEN, &1400u16.to_ne_bytes()),
            tlv(attr::daemon::MCAST_GROUP, &[239, 1, 2, 3]),
            tlv(attr::daemon::MCAST_PORT, &8849u16.to_ne_bytes()),
            tlv(attr::daemon::MCAST_TTL, &[3]),
        ],
    );
    assert_eq!(got, genl(FAMILY, 0, cmd::NEW_DAEMON, &body));

    d.mcast_group = Some("ff02::81".parse().unwrap());
    let got = encode(&message::new_daemon_msg(&d).unwrap(), false);
    let g6: Ipv6Addr = "ff02::81".parse().unwrap();
    assert!(got
        .windows(20)
        .any(|w| w == tlv(attr::daemon::MCAST_GROUP6, &g6.octets()).as_slice()));

    let got = encode(&message::del_daemon_msg(DaemonState::Master), false);
    let body = nested(
        cmd_attr::DAEMON,
        &[tlv(attr::daemon::STATE, &1u32.to_ne_bytes())],
    );
    assert_eq!(got, genl(FAMILY, 0, cmd::DEL_DAEMON, &body));
}

#[test]
fn batch_changes_map_to_their_commands() {
    let k = ServiceKey::tcp(v4("10.0.0.1"), 80);
    let d = Destination::new(v4("10.0.0.2"), 80, ForwardMethod::Route);
    let cases = [
        (Change::NewService(Service::new(k, "rr")), cmd::NEW_SERVICE),
        (
            Change::UpdateService(Service::new(k, "wrr")),
            cmd::SET_SERVICE,
        ),
        (Change::DeleteService(k), cmd::DEL_SERVICE),
        (Change::NewDestination(k, d.clone()), cmd::NEW_DEST),
        (Change::UpdateDestination(k, d.clone()), cmd::SET_DEST),
        (Change::DeleteDestination(k, d.addr, 80), cmd::DEL_DEST),
        (Change::Zero(k), cmd::ZERO),
        (Change::ZeroAll, cmd::ZERO),
    ];
    for (c, want) in cases {
        let m = message::change_msg(&c).unwrap();
        assert_eq!(m.cmd, want, "{c:?}");
        assert_eq!(message::change_cmd(&c), want, "{c:?}");
        let bytes = encode(&m, false);
        assert_eq!(direct(|b| message::encode_change(&c, FAMILY, b)), bytes);
        assert_eq!(bytes[16], want);
        assert_eq!(
            u32::from_ne_bytes(bytes[..4].try_into().unwrap()) as usize,
            bytes.len()
        );
    }
    assert!(message::change_msg(&Change::ZeroAll)
        .unwrap()
        .attrs
        .is_empty());
}

/// Every kind of change, in every key and destination shape: the direct encoder writes exactly
/// what the `IpvsMessage` path writes, laid end to end in one buffer as a batch is.
#[test]
fn direct_encoder_matches_the_message_path_for_every_change() {
    let v6: IpAddr = "2001:db8::7".parse().unwrap();
    let keys = [
        ServiceKey::tcp(v4("10.0.0.1"), 80),
        ServiceKey::udp(v6, 53),
        ServiceKey::sctp(v4("192.0.2.1"), 3868),
        ServiceKey::fwmark(AddressFamily::Inet, 9),
        ServiceKey::fwmark(AddressFamily::Inet6, 0xffff_ffff),
    ];
    let mut dests = vec![
        Destination::new(v4("10.0.1.1"), 8080, ForwardMethod::Masquerade).weight(0),
        Destination::new(v6, 0, ForwardMethod::Route).weight(-1),
        Destination::new(v4("10.0.1.3"), 1, ForwardMethod::Tunnel),
        Destination::new(v4("10.0.1.4"), 65535, ForwardMethod::Local),
    ];
    let mut t = Destination::new(v6, 80, ForwardMethod::Tunnel);
    t.tunnel_type = TunnelType::Gre;
    t.tunnel_flags = TunnelFlags::CSUM;
    t.upper_threshold = u32::MAX;
    t.lower_threshold = 7;
    dests.push(t);
    let mut changes = vec![Change::ZeroAll];
    for k in keys {
        let mut s = Service::new(k, "wlc");
        changes.push(Change::NewService(s.clone()));
        s = s.persistent(
            3600,
            if k.af() == AddressFamily::Inet {
                16
            } else {
                48
            },
        );
        s.pe_name = Some("sip".into());
        s.flags |= ServiceFlags::ONEPACKET;
        s.scheduler = "a-fifteen-char!".into(); // the longest name allowed
        changes.push(Change::UpdateService(s));
        changes.push(Change::DeleteService(k));
        changes.push(Change::Zero(k));
        for d in &dests {
            changes.push(Change::NewDestination(k, d.clone()));
            changes.push(Change::UpdateDestination(k, d.clone()));
            changes.push(Change::DeleteDestination(k, d.addr, d.port));
        }
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for c in &changes {
        message::check_change(c).unwrap();
        let before = a.len();
        message::encode_change(c, FAMILY, &mut a).unwrap();
        assert_eq!(a.len() % 4, 0, "{c:?}");
        message::change_msg(c)
            .unwrap()
            .encode(FAMILY, false, &mut b);
        assert_eq!(a[before..], b[before..], "{c:?}");
    }
    assert_eq!(a, b);
    assert!(a.len() > 64 * 1024 / 8, "a real batch: {} bytes", a.len());
}

/// An invalid change is refused by `check_change`, `change_msg` and `encode_change` alike,
/// and `encode_change` leaves the buffer as it was.
#[test]
fn invalid_changes_write_nothing() {
    let v6: IpAddr = "::1".parse().unwrap();
    let mut v6_no_prefix = Service::new(ServiceKey::tcp(v6, 1), "rr");
    v6_no_prefix.netmask = 129;
    let mut bad_pe = Service::new(ServiceKey::tcp(v4("10.0.0.1"), 1), "rr");
    bad_pe.pe_name = Some(String::new());
    let zero_mark = ServiceKey::fwmark(AddressFamily::Inet, 0);
    let d = Destination::new(v4("10.0.0.2"), 80, ForwardMethod::Route);
    let bad = [
        Change::NewService(Service::new(ServiceKey::tcp(v4("10.0.0.1"), 1), "")),
        Change::UpdateService(Service::new(
            ServiceKey::tcp(v4("10.0.0.1"), 1),
            "sixteen-chars-xx",
        )),
        Change::NewService(Service::new(ServiceKey::tcp(v4("10.0.0.1"), 1), "r\0r")),
        Change::NewService(v6_no_prefix),
        Change::NewService(bad_pe),
        Change::DeleteService(zero_mark),
        Change::NewDestination(zero_mark, d.clone()),
        Change::UpdateDestination(zero_mark, d.clone()),
        Change::DeleteDestination(zero_mark, d.addr, 80),
        Change::Zero(zero_mark),
    ];
    let mut buf = vec![1, 2, 3, 4];
    for c in &bad {
        let via_msg = message::change_msg(c);
        let checked = message::check_change(c);
        let direct = message::encode_change(c, FAMILY, &mut buf);
        assert_eq!(via_msg.is_err(), checked.is_err(), "{c:?}");
        assert_eq!(checked.is_err(), direct.is_err(), "{c:?}");
        if let Err(e) = direct {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{c:?}");
            assert_eq!(e.to_string(), checked.unwrap_err().to_string());
        }
        assert_eq!(buf, [1, 2, 3, 4], "{c:?} wrote into the buffer");
    }
}

// ---- replies ----

fn stats_tlvs(base: u64, wide: bool) -> Vec<u8> {
    let mut parts = Vec::new();
    for (i, k) in (1u16..=10).enumerate() {
        let v = base + i as u64;
        let is64 = wide || k == attr::stats::INBYTES || k == attr::stats::OUTBYTES;
        if is64 {
            parts.push(tlv(k, &v.to_ne_bytes()));
        } else {
            parts.push(tlv(k, &(v as u32).to_ne_bytes()));
        }
    }
    parts.concat()
}

fn expected_stats(base: u64) -> Stats {
    Stats {
        conns: base,
        inpkts: base + 1,
        outpkts: base + 2,
        inbytes: base + 3,
        outbytes: base + 4,
        cps: base + 5,
        inpps: base + 6,
        outpps: base + 7,
        inbps: base + 8,
        outbps: base + 9,
    }
}

fn service_reply(extra: &[Vec<u8>]) -> Vec<u8> {
    let mut parts = svc_key_tlvs(2, 6, v4("10.0.0.1"), 80);
    parts.push(tlv(attr::svc::SCHED_NAME, b"wlc\0"));
    parts.push(tlv(attr::svc::FLAGS, &flags_bytes(0x3, u32::MAX)));
    parts.push(tlv(attr::svc::TIMEOUT, &300u32.to_ne_bytes()));
    parts.push(tlv(attr::svc::NETMASK, &[255, 255, 0, 0]));
    parts.push(nested(attr::svc::STATS, &[stats_tlvs(10, false)]));
    parts.push(nested(attr::svc::STATS64, &[stats_tlvs(1 << 40, true)]));
    parts.extend(extra.iter().cloned());
    genl(
        FAMILY,
        2,
        cmd::NEW_SERVICE,
        &nested(cmd_attr::SERVICE, &parts),
    )
}

#[test]
fn parses_a_service_with_both_stats_sets() {
    let s = parse::parse_service_msg(&service_reply(&[])).unwrap();
    assert_eq!(s.key, ServiceKey::tcp(v4("10.0.0.1"), 80));
    assert_eq!(s.scheduler, "wlc");
    assert_eq!(s.flags, ServiceFlags::PERSISTENT | ServiceFlags::HASHED);
    assert_eq!(s.timeout, 300);
    assert_eq!(s.netmask, 0xffff_0000);
    assert_eq!(s.pe_name, None);
    assert_eq!(s.stats, Some(expected_stats(10)));
    assert_eq!(s.stats64, Some(expected_stats(1 << 40)));
    assert_eq!(s.best_stats(), Some(&expected_stats(1 << 40)));
}

#[test]
fn unknown_attributes_are_skipped_and_pe_name_read() {
    let s = parse::parse_service_msg(&service_reply(&[
        tlv(99, b"future attribute"),
        tlv(attr::svc::PE_NAME, b"sip"), // no NUL: accepted
    ]))
    .unwrap();
    assert_eq!(s.pe_name.as_deref(), Some("sip"));
}

#[test]
fn parses_fwmark_ipv6_service() {
    let parts = [
        tlv(attr::svc::AF, &10u16.to_ne_bytes()),
        tlv(attr::svc::FWMARK, &42u32.to_ne_bytes()),
        tlv(attr::svc::SCHED_NAME, b"rr\0"),
        tlv(attr::svc::FLAGS, &flags_bytes(2, u32::MAX)),
        tlv(attr::svc::TIMEOUT, &0u32.to_ne_bytes()),
        tlv(attr::svc::NETMASK, &128u32.to_ne_bytes()),
    ];
    let m = genl(
        FAMILY,
        2,
        cmd::NEW_SERVICE,
        &nested(cmd_attr::SERVICE, &parts),
    );
    let s = parse::parse_service_msg(&m).unwrap();
    assert_eq!(s.key, ServiceKey::fwmark(AddressFamily::Inet6, 42));
    assert_eq!(s.netmask, 128);
    assert_eq!(s.stats, None);
}

fn dest_reply(a: IpAddr, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut dp = dest_key_tlvs(a, 443);
    dp.push(tlv(attr::dest::FWD_METHOD, &2u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::WEIGHT, &7u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::TUN_TYPE, &[2]));
    dp.push(tlv(attr::dest::TUN_PORT, &0u16.to_be_bytes()));
    dp.push(tlv(attr::dest::TUN_FLAGS, &1u16.to_ne_bytes()));
    dp.push(tlv(attr::dest::U_THRESH, &50u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::L_THRESH, &5u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::ACTIVE_CONNS, &11u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::INACT_CONNS, &12u32.to_ne_bytes()));
    dp.push(tlv(attr::dest::PERSIST_CONNS, &13u32.to_ne_bytes()));
    dp.push(nested(attr::dest::STATS, &[stats_tlvs(100, false)]));
    dp.push(nested(attr::dest::STATS64, &[stats_tlvs(200, true)]));
    dp.extend(extra.iter().cloned());
    genl(FAMILY, 2, cmd::NEW_DEST, &nested(cmd_attr::DEST, &dp))
}

#[test]
fn parses_a_mixed_family_gre_tunnel_destination() {
    let a: IpAddr = "2001:db8::9".parse().unwrap();
    let d = parse::parse_dest_msg(&dest_reply(a, &[]), AddressFamily::Inet).unwrap();
    assert_eq!(d.addr, a);
    assert_eq!(d.port, 443);
    assert_eq!(d.forward, ForwardMethod::Tunnel);
    assert_eq!(d.weight, 7);
    assert_eq!((d.upper_threshold, d.lower_threshold), (50, 5));
    assert_eq!(d.tunnel_type, TunnelType::Gre);
    assert_eq!(d.tunnel_flags, TunnelFlags::CSUM);
    assert_eq!(
        (d.active_conns, d.inactive_conns, d.persistent_conns),
        (11, 12, 13)
    );
    assert_eq!(d.stats, Some(expected_stats(100)));
    assert_eq!(d.stats64, Some(expected_stats(200)));
}

#[test]
fn dest_without_addr_family_uses_the_service_family() {
    // Kernels before 3.18 send no IPVS_DEST_ATTR_ADDR_FAMILY.
    let parts = [
        tlv(attr::dest::ADDR, &addr16(v4("10.1.1.1"))),
        tlv(attr::dest::PORT, &80u16.to_be_bytes()),
        tlv(attr::dest::FWD_METHOD, &3u32.to_ne_bytes()),
        tlv(attr::dest::WEIGHT, &1u32.to_ne_bytes()),
        tlv(attr::dest::U_THRESH, &0u32.to_ne_bytes()),
        tlv(attr::dest::L_THRESH, &0u32.to_ne_bytes()),
    ];
    let m = genl(FAMILY, 2, cmd::NEW_DEST, &nested(cmd_attr::DEST, &parts));
    let d = parse::parse_dest_msg(&m, AddressFamily::Inet).unwrap();
    assert_eq!(d.addr, v4("10.1.1.1"));
    assert_eq!(d.forward, ForwardMethod::Route);
    assert_eq!(d.stats, None);
}

#[test]
fn parses_daemon_info_and_config() {
    let body = nested(
        cmd_attr::DAEMON,
        &[
            tlv(attr::daemon::STATE, &1u32.to_ne_bytes()),
            tlv(attr::daemon::MCAST_IFN, b"lo\0"),
            tlv(attr::daemon::SYNC_ID, &5u32.to_ne_bytes()),
            tlv(attr::daemon::SYNC_MAXLEN, &1472u16.to_ne_bytes()),
            tlv(attr::daemon::MCAST_PORT, &8848u16.to_ne_bytes()),
            tlv(attr::daemon::MCAST_TTL, &[1]),
            tlv(attr::daemon::MCAST_GROUP, &[224, 0, 0, 81]),
        ],
    );
    let d = parse::parse_daemon_msg(&genl(FAMILY, 2, cmd::NEW_DAEMON, &body)).unwrap();
    assert_eq!(d.state, DaemonState::Master);
    assert_eq!(d.mcast_ifname, "lo");
    assert_eq!(d.syncid, 5);
    assert_eq!(d.sync_maxlen, Some(1472));
    assert_eq!(
        d.mcast_group,
        Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81)))
    );
    assert_eq!((d.mcast_port, d.mcast_ttl), (Some(8848), Some(1)));

    let body = [
        tlv(attr::info::VERSION, &0x010201u32.to_ne_bytes()),
        tlv(attr::info::CONN_TAB_SIZE, &4096u32.to_ne_bytes()),
    ]
    .concat();
    let i = parse::parse_info_msg(&genl(FAMILY, 0, cmd::SET_INFO, &body)).unwrap();
    assert_eq!(i.version_triple(), (1, 2, 1));
    assert_eq!(i.conn_tab_size, 4096);

    let body = [
        tlv(cmd_attr::TIMEOUT_TCP, &900u32.to_ne_bytes()),
        tlv(cmd_attr::TIMEOUT_TCP_FIN, &120u32.to_ne_bytes()),
        tlv(cmd_attr::TIMEOUT_UDP, &300u32.to_ne_bytes()),
    ]
    .concat();
    let t = parse::parse_config_msg(&genl(FAMILY, 0, cmd::SET_CONFIG, &body)).unwrap();
    assert_eq!(
        t,
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
}

fn malformed<T: std::fmt::Debug>(r: lbnet::Result<T>) {
    let e = r.expect_err("malformed input was accepted");
    assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
    assert_eq!(e.errno(), libc::EBADMSG);
}

#[test]
fn malformed_replies_are_errors() {
    // Shorter than the headers.
    malformed(parse::parse_service_msg(&[0u8; 10]));
    malformed(parse::parse_info_msg(&genl(FAMILY, 0, 1, &[])[..19]));
    // Missing the nested service.
    malformed(parse::parse_service_msg(&genl(FAMILY, 0, 1, &[])));
    // Truncated attribute: the last TLV claims more than there is.
    let mut m = service_reply(&[]);
    let n = m.len();
    m.truncate(n - 3);
    let len = m.len() as u32;
    m[..4].copy_from_slice(&len.to_ne_bytes());
    malformed(parse::parse_service_msg(&m));
    // An attribute length below the TLV header.
    let bad = [2u8, 0, 1, 0];
    malformed(parse::parse_service_msg(&genl(FAMILY, 0, 1, &bad)));
    // Missing required attributes, one at a time.
    let full = svc_key_tlvs(2, 6, v4("10.0.0.1"), 80)
        .into_iter()
        .chain([
            tlv(attr::svc::SCHED_NAME, b"rr\0"),
            tlv(attr::svc::FLAGS, &flags_bytes(0, 0)),
            tlv(attr::svc::TIMEOUT, &0u32.to_ne_bytes()),
            tlv(attr::svc::NETMASK, &[255; 4]),
        ])
        .collect::<Vec<_>>();
    let ok = genl(FAMILY, 0, 1, &nested(cmd_attr::SERVICE, &full));
    assert!(parse::parse_service_msg(&ok).is_ok());
    // Wrong lengths (or bad UTF-8), each in an otherwise valid reply.
    for (i, k, v) in [
        (3, attr::svc::PORT, vec![0u8; 4]),
        (6, attr::svc::TIMEOUT, vec![0u8; 2]),
        (5, attr::svc::FLAGS, vec![0u8; 4]),
        (7, attr::svc::NETMASK, vec![0u8; 16]),
        (4, attr::svc::SCHED_NAME, vec![0xff, 0xfe, 0]),
        (0, attr::svc::AF, vec![2]),
        (2, attr::svc::ADDR, vec![10, 0, 0]),
    ] {
        let mut parts = full.clone();
        parts[i] = tlv(k, &v);
        let m = genl(FAMILY, 0, 1, &nested(cmd_attr::SERVICE, &parts));
        malformed(parse::parse_service_msg(&m));
    }
    for skip in 0..full.len() {
        let parts: Vec<_> = full
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, p)| p.clone())
            .collect();
        let m = genl(FAMILY, 0, 1, &nested(cmd_attr::SERVICE, &parts));
        malformed(parse::parse_service_msg(&m));
    }
    // Unknown family, protocol, forwarding method, tunnel type, daemon state.
    let mut parts = full.clone();
    parts[0] = tlv(attr::svc::AF, &7u16.to_ne_bytes());
    malformed(parse::parse_service_msg(&genl(
        FAMILY,
        0,
        1,
        &nested(cmd_attr::SERVICE, &parts),
    )));
    let mut parts = full.clone();
    parts[1] = tlv(attr::svc::PROTOCOL, &50u16.to_ne_bytes());
    malformed(parse::parse_service_msg(&genl(
        FAMILY,
        0,
        1,
        &nested(cmd_attr::SERVICE, &parts),
    )));
    malformed(parse::parse_dest_msg(
        &dest_reply(
            v4("10.0.0.1"),
            &[tlv(attr::dest::FWD_METHOD, &5u32.to_ne_bytes())],
        ),
        AddressFamily::Inet,
    ));
    // (the first FWD_METHOD wins; make the only one bad)
    let mut bad_fwd = dest_reply(v4("10.0.0.1"), &[]);
    let pos = bad_fwd
        .windows(8)
        .position(|w| w == tlv(attr::dest::FWD_METHOD, &2u32.to_ne_bytes()).as_slice())
        .unwrap();
    bad_fwd[pos + 4] = 6;
    malformed(parse::parse_dest_msg(&bad_fwd, AddressFamily::Inet));
    let body = nested(
        cmd_attr::DAEMON,
        &[tlv(attr::daemon::STATE, &9u32.to_ne_bytes())],
    );
    malformed(parse::parse_daemon_msg(&genl(FAMILY, 0, 1, &body)));
    // A 16-byte-only IPv6 address given 4 bytes.
    let parts = [
        tlv(attr::dest::ADDR, &[1, 2, 3, 4]),
        tlv(attr::dest::ADDR_FAMILY, &10u16.to_ne_bytes()),
    ];
    malformed(parse::parse_dest_msg(
        &genl(FAMILY, 0, 1, &nested(cmd_attr::DEST, &parts)),
        AddressFamily::Inet,
    ));
    // Stats counters of an odd size.
    let parts = [nested(
        attr::dest::STATS,
        &[tlv(attr::stats::CONNS, &[1, 2, 3])],
    )];
    malformed(parse::parse_dest_msg(
        &genl(FAMILY, 0, 1, &nested(cmd_attr::DEST, &parts)),
        AddressFamily::Inet,
    ));
    // Info and config missing their fields.
    malformed(parse::parse_info_msg(&genl(FAMILY, 0, 1, &tlv(1, &[0; 4]))));
    malformed(parse::parse_config_msg(&genl(
        FAMILY,
        0,
        1,
        &tlv(4, &[0; 4]),
    )));
}

#[test]
fn strings_with_and_without_nul() {
    for raw in [&b"wrr\0"[..], &b"wrr"[..], &b"wrr\0junk"[..]] {
        let mut parts = svc_key_tlvs(2, 6, v4("10.0.0.1"), 80);
        parts.push(tlv(attr::svc::SCHED_NAME, raw));
        parts.push(tlv(attr::svc::FLAGS, &flags_bytes(0, 0)));
        parts.push(tlv(attr::svc::TIMEOUT, &0u32.to_ne_bytes()));
        parts.push(tlv(attr::svc::NETMASK, &[255; 4]));
        let m = genl(FAMILY, 0, 1, &nested(cmd_attr::SERVICE, &parts));
        assert_eq!(parse::parse_service_msg(&m).unwrap().scheduler, "wrr");
    }
}

#[test]
fn encoder_and_parser_agree() {
    // What we send for a full service parses back to the same settings.
    let mut s = Service::new(
        ServiceKey::tcp("2001:db8::80".parse().unwrap(), 443),
        "lblcr",
    )
    .persistent(1800, 48);
    s.pe_name = Some("sip".into());
    let m = message::service_msg(cmd::NEW_SERVICE, &s).unwrap();
    let back = parse::parse_service_msg(&encode(&m, false)).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.key.af(), AddressFamily::Inet6);
    assert_eq!(Protocol::from_raw(132), Some(Protocol::Sctp));
    // The Attr encoder pads and flags nested attributes.
    let a = Attr::Nested(2, vec![Attr::U8(1, 9)]);
    let mut buf = vec![0u8; netlink_packet_core::Emitable::buffer_len(&a)];
    netlink_packet_core::Emitable::emit(&a, &mut buf);
    assert_eq!(buf, vec![12, 0, 2, 0x80, 5, 0, 1, 0, 9, 0, 0, 0]);
}

/// A small deterministic generator (xorshift), enough to drive the parser with many inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn parse_all(m: &[u8]) {
    let _ = parse::parse_service_msg(m);
    let _ = parse::parse_dest_msg(m, AddressFamily::Inet);
    let _ = parse::parse_dest_msg(m, AddressFamily::Inet6);
    let _ = parse::parse_daemon_msg(m);
    let _ = parse::parse_info_msg(m);
    let _ = parse::parse_config_msg(m);
    let _ = lbnet::ipvs::family::parse_family_id(m);
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Pure noise of every length up to 300 bytes.
    for _ in 0..20_000 {
        let len = (rng.next() % 300) as usize;
        let m: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        parse_all(&m);
    }
    // Valid replies with bytes flipped, truncated or extended: errors are Malformed.
    let seeds = [
        service_reply(&[]),
        dest_reply("2001:db8::1".parse().unwrap(), &[]),
        dest_reply(v4("10.0.0.3"), &[]),
    ];
    let mut accepted = 0;
    for i in 0..30_000 {
        let mut m = seeds[i % seeds.len()].clone();
        for _ in 0..(1 + rng.next() % 4) {
            let p = (rng.next() as usize) % m.len();
            m[p] = rng.next() as u8;
        }
        if rng.next().is_multiple_of(3) {
            let keep = (rng.next() as usize) % m.len();
            m.truncate(keep);
        }
        for r in [
            parse::parse_service_msg(&m).map(|_| ()),
            parse::parse_dest_msg(&m, AddressFamily::Inet).map(|_| ()),
        ] {
            match r {
                Ok(()) => accepted += 1,
                Err(e) => assert_eq!(e.kind(), ErrorKind::Malformed, "{e}"),
            }
        }
        parse_all(&m);
    }
    assert!(
        accepted > 0,
        "mutation never kept a message valid: the seeds are wrong"
    );
}
