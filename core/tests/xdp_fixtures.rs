//! Katran-style fixtures: each input packet through the real program with BPF_PROG_TEST_RUN
//! (loaded, not attached), checking the XDP action and the exact output bytes, with every
//! checksum verified by an independent checker. Needs root (CAP_BPF) and a kernel with BPF.

mod xdp_util;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lbnet::xdp::{Backend, Counter, LoadOptions, Vip, XdpLb};
use xdp_util::*;

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;

const GW_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}
fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn small() -> LoadOptions {
    LoadOptions {
        max_vips: 5,
        max_backends: 64,
        conn_table_size: 1024,
    }
}

/// A balancer with:
/// - tcp 198.18.0.10:80 -> 198.18.1.1 (IPv4 backend)
/// - udp [2001:db8::10]:53 -> 2001:db8:1::1 (IPv6 backend)
/// - tcp 198.18.0.11:443 -> 2001:db8:1::2 (IPv4 in IPv6)
/// - udp 198.18.0.12:9 with no backends
/// - udp [2001:db8::20]:443 -> 198.18.1.2 (IPv6 in IPv4)
fn balancer() -> XdpLb {
    let mut lb = XdpLb::load(&small()).expect("load xdplb (needs root and BPF)");
    lb.set_config(
        Some(v4("198.18.0.1")),
        Some(v6("2001:db8::1")),
        Some(GW_MAC),
    )
    .unwrap();
    let w = |a: &str| Backend {
        addr: ip(a),
        weight: 1,
    };
    let a = Vip::tcp(ip("198.18.0.10"), 80);
    lb.add_vip(a).unwrap();
    lb.set_backends(&a, &[w("198.18.1.1")]).unwrap();
    let b = Vip::udp(ip("2001:db8::10"), 53);
    lb.add_vip(b).unwrap();
    lb.set_backends(&b, &[w("2001:db8:1::1")]).unwrap();
    let c = Vip::tcp(ip("198.18.0.11"), 443);
    lb.add_vip(c).unwrap();
    lb.set_backends(&c, &[w("2001:db8:1::2")]).unwrap();
    lb.add_vip(Vip::udp(ip("198.18.0.12"), 9)).unwrap();
    let d = Vip::udp(ip("2001:db8::20"), 443);
    lb.add_vip(d).unwrap();
    lb.set_backends(&d, &[w("198.18.1.2")]).unwrap();
    lb
}

/// The expected IP-in-IP frame, built here byte by byte.
fn expect_ipip(inner_frame: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    expect_v4_tunnel(inner_frame, 4, src, dst)
}

/// An IPv4 outer header (protocol `proto`: 4 = IPv4 inside, 41 = IPv6 inside) in front of the
/// inner frame's IP packet; TOS copied from the inner IPv4 TOS / IPv6 traffic class.
fn expect_v4_tunnel(inner_frame: &[u8], proto: u8, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let inner = &inner_frame[14..];
    let tos = if inner[0] >> 4 == 4 {
        inner[1]
    } else {
        (inner[0] << 4) | (inner[1] >> 4)
    };
    let mut outer = vec![0x45, tos];
    outer.extend_from_slice(&((20 + inner.len()) as u16).to_be_bytes());
    outer.extend_from_slice(&[0, 0, 0, 0, 64, proto, 0, 0]);
    outer.extend_from_slice(&src.octets());
    outer.extend_from_slice(&dst.octets());
    let ck = checksum(&outer);
    outer[10..12].copy_from_slice(&ck.to_be_bytes());
    outer.extend_from_slice(inner);
    eth(GW_MAC, LB_MAC, 0x0800, &outer)
}

fn expect_ip6tnl(inner_frame: &[u8], next: u8, tc: u8, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    eth(
        GW_MAC,
        LB_MAC,
        0x86dd,
        &ipv6(src, dst, next, tc, &inner_frame[14..]),
    )
}

#[test]
fn ipv4_tcp_to_vip_is_ipip_encapsulated() {
    let lb = balancer();
    let pkt = client_packet(ip("198.19.0.5"), ip("198.18.0.10"), 6, 40000, 80, 0x2e);
    verify_ip(&pkt[14..]);
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(out.action, XDP_TX);
    let want = expect_ipip(&pkt, v4("198.18.0.1"), v4("198.18.1.1"));
    assert_eq!(out.packet, want);
    // outer IPv4 header, inner IPv4 header, inner TCP.
    assert_eq!(verify_ip(&out.packet[14..]), 3);
    let s = lb.vip_stats(&Vip::tcp(ip("198.18.0.10"), 80)).unwrap();
    assert_eq!(
        (s.packets, s.bytes, s.lru_misses, s.drops),
        (1, (pkt.len() - 14) as u64, 1, 0)
    );
    assert_eq!(lb.counter(Counter::Tx).unwrap(), 1);
    assert_eq!(
        lb.counter(Counter::TxBytes).unwrap(),
        (pkt.len() - 14) as u64
    );
}

#[test]
fn ipv6_udp_to_vip_is_ipv6_encapsulated() {
    let lb = balancer();
    let pkt = client_packet(ip("2001:db8:ff::5"), ip("2001:db8::10"), 17, 5353, 53, 0xb8);
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(out.action, XDP_TX);
    let want = expect_ip6tnl(&pkt, 41, 0xb8, v6("2001:db8::1"), v6("2001:db8:1::1"));
    assert_eq!(out.packet, want);
    assert_eq!(verify_ip(&out.packet[14..]), 1); // the inner UDP checksum
}

#[test]
fn ipv4_vip_with_ipv6_backend_is_4in6() {
    let lb = balancer();
    let pkt = client_packet(ip("198.19.0.7"), ip("198.18.0.11"), 6, 1234, 443, 0);
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(out.action, XDP_TX);
    assert_eq!(
        out.packet,
        expect_ip6tnl(&pkt, 4, 0, v6("2001:db8::1"), v6("2001:db8:1::2"))
    );
    assert_eq!(verify_ip(&out.packet[14..]), 2);
}

/// Runs `pkt` and asserts XDP_PASS with the packet unchanged.
fn assert_pass(lb: &XdpLb, pkt: &[u8], what: &str) {
    let out = lb.test_run(pkt, 1).unwrap();
    assert_eq!(out.action, XDP_PASS, "{what}");
    assert_eq!(out.packet, pkt, "{what}: packet changed");
}

#[test]
fn everything_not_for_a_vip_passes_unchanged() {
    let lb = balancer();
    let before = lb.counters().unwrap();
    // Not a VIP address.
    assert_pass(
        &lb,
        &client_packet(ip("198.19.0.5"), ip("198.18.0.99"), 6, 40000, 80, 0),
        "non-VIP",
    );
    // VIP address, unknown port, and the right port with the wrong protocol.
    assert_pass(
        &lb,
        &client_packet(ip("198.19.0.5"), ip("198.18.0.10"), 6, 40000, 81, 0),
        "port",
    );
    assert_pass(
        &lb,
        &client_packet(ip("198.19.0.5"), ip("198.18.0.10"), 17, 40000, 80, 0),
        "udp",
    );
    assert_pass(
        &lb,
        &client_packet(ip("2001:db8:ff::5"), ip("2001:db8::10"), 6, 1, 53, 0),
        "v6 tcp",
    );
    // ICMP echo to the VIP address.
    let icmp = [8u8, 0, 0xf7, 0xff, 0, 0, 0, 0];
    let p = eth(
        LB_MAC,
        CLIENT_MAC,
        0x0800,
        &ipv4(v4("198.19.0.5"), v4("198.18.0.10"), 1, 0, 0, &icmp),
    );
    assert_pass(&lb, &p, "icmp");
    // IPv4 fragments: first (MF) and a later one (offset).
    let seg = l4(6, ip("198.19.0.5"), ip("198.18.0.10"), 40000, 80, b"x");
    let p = eth(
        LB_MAC,
        CLIENT_MAC,
        0x0800,
        &ipv4(v4("198.19.0.5"), v4("198.18.0.10"), 6, 0, 0x2000, &seg),
    );
    assert_pass(&lb, &p, "first fragment");
    let p = eth(
        LB_MAC,
        CLIENT_MAC,
        0x0800,
        &ipv4(v4("198.19.0.5"), v4("198.18.0.10"), 6, 0, 0x0010, &seg),
    );
    assert_pass(&lb, &p, "later fragment");
    // IPv6 with a fragment header (next header 44) is left to the kernel.
    let frag6 = [6u8, 0, 0, 1, 0, 0, 0, 7];
    let p = eth(
        LB_MAC,
        CLIENT_MAC,
        0x86dd,
        &ipv6(v6("2001:db8:ff::5"), v6("2001:db8::10"), 44, 0, &frag6),
    );
    assert_pass(&lb, &p, "ipv6 fragment header");
    // ARP.
    assert_pass(&lb, &eth([0xff; 6], CLIENT_MAC, 0x0806, &[0u8; 28]), "arp");
    // Truncated: IPv4 header cut, TCP header cut, IPv6 header cut, length field beyond the frame.
    let full = client_packet(ip("198.19.0.5"), ip("198.18.0.10"), 6, 40000, 80, 0);
    assert_pass(&lb, &full[..14 + 10], "truncated ipv4");
    assert_pass(&lb, &full[..14 + 20 + 10], "truncated tcp");
    let full6 = client_packet(ip("2001:db8:ff::5"), ip("2001:db8::10"), 17, 5353, 53, 0);
    assert_pass(&lb, &full6[..14 + 30], "truncated ipv6");
    assert_pass(&lb, &full6[..14 + 40 + 6], "truncated udp");
    assert_pass(&lb, &full[..full.len() - 3], "ip length beyond frame");
    // IPv4 with options (IHL 6).
    let mut opt = ipv4(v4("198.19.0.5"), v4("198.18.0.10"), 6, 0, 0, &seg);
    opt[0] = 0x46;
    opt.splice(20..20, [1u8, 1, 1, 0]);
    assert_pass(&lb, &eth(LB_MAC, CLIENT_MAC, 0x0800, &opt), "ipv4 options");

    let after = lb.counters().unwrap();
    let delta = |c: Counter| {
        let get = |v: &Vec<(Counter, u64)>| v.iter().find(|(k, _)| *k == c).unwrap().1;
        get(&after) - get(&before)
    };
    assert_eq!(delta(Counter::Rx), 15);
    assert_eq!(delta(Counter::PassNotVip), 4);
    assert_eq!(delta(Counter::PassOtherL4), 2);
    assert_eq!(delta(Counter::PassFragment), 2);
    assert_eq!(delta(Counter::PassNotIp), 1);
    assert_eq!(delta(Counter::PassMalformed), 6);
    assert_eq!(delta(Counter::Tx), 0);
}

#[test]
fn vip_without_backends_drops_and_counts() {
    let lb = balancer();
    let vip = Vip::udp(ip("198.18.0.12"), 9);
    let pkt = client_packet(ip("198.19.0.5"), ip("198.18.0.12"), 17, 7, 9, 0);
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(out.action, XDP_DROP);
    assert_eq!(lb.counter(Counter::DropNoBackend).unwrap(), 1);
    assert_eq!(lb.vip_stats(&vip).unwrap().drops, 1);
}

#[test]
fn missing_tunnel_source_drops() {
    let mut lb = balancer();
    lb.set_config(None, Some(v6("2001:db8::1")), None).unwrap();
    let pkt = client_packet(ip("198.19.0.5"), ip("198.18.0.10"), 6, 40000, 80, 0);
    assert_eq!(lb.test_run(&pkt, 1).unwrap().action, XDP_DROP);
    assert_eq!(lb.counter(Counter::DropNoSource).unwrap(), 1);
    // Without a gateway MAC the frame goes back to the sender's MAC.
    let pkt6 = client_packet(ip("2001:db8:ff::5"), ip("2001:db8::10"), 17, 5353, 53, 0);
    let out = lb.test_run(&pkt6, 1).unwrap();
    assert_eq!(out.action, XDP_TX);
    assert_eq!(&out.packet[..12], &[CLIENT_MAC, LB_MAC].concat()[..]);
}

#[test]
fn removed_vip_passes_again_and_vip_errors() {
    let mut lb = balancer();
    let vip = Vip::tcp(ip("198.18.0.10"), 80);
    assert_eq!(lb.add_vip(vip).unwrap_err().errno(), libc::EEXIST);
    let pkt = client_packet(ip("198.19.0.5"), ip("198.18.0.10"), 6, 40000, 80, 0);
    assert_eq!(lb.test_run(&pkt, 1).unwrap().action, XDP_TX);
    assert_eq!(lb.vip_stats(&vip).unwrap().packets, 1);
    lb.remove_vip(&vip).unwrap();
    assert_pass(&lb, &pkt, "removed VIP");
    assert_eq!(lb.remove_vip(&vip).unwrap_err().errno(), libc::ENOENT);
    // All 5 slots: 4 used + the freed one; a sixth VIP finds no slot.
    lb.add_vip(vip).unwrap();
    let e = lb.add_vip(Vip::tcp(ip("198.18.0.50"), 1)).unwrap_err();
    assert_eq!(e.errno(), libc::ENOSPC);
    // The recycled slot's counters and ring were cleared: no backends, so it drops.
    assert_eq!(lb.vip_stats(&vip).unwrap(), Default::default());
    assert_eq!(lb.test_run(&pkt, 1).unwrap().action, XDP_DROP);
}

#[test]
fn decap_program_restores_the_inner_frame() {
    let lb = balancer();
    let dec = lbnet::xdp::decap::load_decap().unwrap();
    for (src, dst, proto, sport, dport) in [
        ("198.19.0.5", "198.18.0.10", 6, 40000, 80),
        ("2001:db8:ff::5", "2001:db8::10", 17, 5353, 53),
        ("198.19.0.7", "198.18.0.11", 6, 1234, 443),
    ] {
        let pkt = client_packet(ip(src), ip(dst), proto, sport, dport, 0);
        let enc = lb.test_run(&pkt, 1).unwrap();
        assert_eq!(enc.action, XDP_TX);
        let out = dec.test_run(&enc.packet, 1).unwrap();
        assert_eq!(out.action, XDP_PASS);
        // The MACs are the tunnel's; everything from the EtherType on is the client's frame.
        assert_eq!(&out.packet[12..], &pkt[12..], "{src} -> {dst}");
    }
    // Not a tunnel: untouched.
    let plain = client_packet(ip("198.19.0.5"), ip("198.18.0.10"), 6, 1, 80, 0);
    let out = dec.test_run(&plain, 1).unwrap();
    assert_eq!((out.action, out.packet), (XDP_PASS, plain));
}

/// A client's IPv4 TCP frame of `ip_len` bytes (IP length) with DF set or not.
fn big_v4(src: &str, dst: &str, dport: u16, ip_len: usize, df: bool) -> Vec<u8> {
    let payload = vec![0xa5u8; ip_len - 40];
    let seg = l4(6, ip(src), ip(dst), 40000, dport, &payload);
    let pkt = if df {
        ipv4_df(v4(src), v4(dst), 6, &seg)
    } else {
        ipv4(v4(src), v4(dst), 6, 0, 0, &seg)
    };
    assert_eq!(pkt.len(), ip_len);
    eth(LB_MAC, CLIENT_MAC, 0x0800, &pkt)
}

/// ICMP "fragmentation needed" as RFC 792 / 1191 lay it out, built here byte by byte: from the
/// VIP to the client, IP ID 0, TTL 64, no DF, quoting the first 84 bytes of the client's packet.
fn expect_frag_needed(pkt: &[u8], mtu: u16) -> Vec<u8> {
    let orig = &pkt[14..];
    let mut icmp = vec![3u8, 4, 0, 0, 0, 0];
    icmp.extend_from_slice(&mtu.to_be_bytes());
    icmp.extend_from_slice(&orig[..84]);
    let ck = checksum(&icmp);
    icmp[2..4].copy_from_slice(&ck.to_be_bytes());
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + icmp.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0, 64, 1, 0, 0]);
    h.extend_from_slice(&orig[16..20]); // the VIP
    h.extend_from_slice(&orig[12..16]); // the client
    let ck = checksum(&h);
    h[10..12].copy_from_slice(&ck.to_be_bytes());
    h.extend_from_slice(&icmp);
    eth(CLIENT_MAC, LB_MAC, 0x0800, &h)
}

/// ICMPv6 "packet too big" (RFC 4443): from the VIP to the client, hop limit 64, quoting the
/// first 248 bytes of the client's packet; checksum over the RFC 8200 pseudo-header.
fn expect_too_big6(pkt: &[u8], mtu: u32) -> Vec<u8> {
    let orig = &pkt[14..];
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&orig[24..40]).unwrap());
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&orig[8..24]).unwrap());
    let mut icmp = vec![2u8, 0, 0, 0];
    icmp.extend_from_slice(&mtu.to_be_bytes());
    icmp.extend_from_slice(&orig[..248]);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    let ck = !fold(sum16(&pseudo) + sum16(&icmp));
    icmp[2..4].copy_from_slice(&ck.to_be_bytes());
    eth(CLIENT_MAC, LB_MAC, 0x86dd, &ipv6(src, dst, 58, 0, &icmp))
}

#[test]
fn oversize_ipv4_with_df_gets_fragmentation_needed() {
    let lb = balancer();
    // 1,500 + 20 (IP-in-IP) > 1,500: answered with MTU 1,480.
    let pkt = big_v4("198.19.0.5", "198.18.0.10", 80, 1500, true);
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(out.action, XDP_TX);
    assert_eq!(out.packet, expect_frag_needed(&pkt, 1480));
    assert_eq!(verify_ip(&out.packet[14..]), 2); // IPv4 header, ICMP
    assert_eq!(out.packet.len(), 14 + 20 + 8 + 84);
    // 4in6 (IPv6 backend, 40 bytes of tunnel header): 1,461 is too big, MTU 1,460.
    let pkt = big_v4("198.19.0.7", "198.18.0.11", 443, 1461, true);
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(
        (out.action, out.packet),
        (XDP_TX, expect_frag_needed(&pkt, 1460))
    );
    // Exactly fitting: 1,480 + 20 = 1,500 is encapsulated.
    let pkt = big_v4("198.19.0.5", "198.18.0.10", 80, 1480, true);
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(out.action, XDP_TX);
    assert_eq!(out.packet.len(), 14 + 1500);
    assert_eq!(verify_ip(&out.packet[14..]), 3);
    assert_eq!(lb.counter(Counter::IcmpTooBig).unwrap(), 2);
}

/// The MTU of an oversize answer follows the family of the flow's ring backend: with one family
/// in the ring the program takes it from the VIP's entry (kept by the control plane), with both
/// it reads the flow's ring slot; draining and restoring a family switches between the two.
#[test]
fn oversize_mtu_follows_the_ring_families() {
    let mut lb = balancer();
    lb.remove_vip(&Vip::udp(ip("198.18.0.12"), 9)).unwrap(); // a free VIP slot
    let v = Vip::tcp(ip("198.18.0.30"), 80);
    lb.add_vip(v).unwrap();
    let both = [
        Backend {
            addr: ip("198.18.1.5"),
            weight: 1,
        },
        Backend {
            addr: ip("2001:db8:1::5"),
            weight: 1,
        },
    ];
    lb.set_backends(&v, &both).unwrap();
    let mtus = |lb: &XdpLb| -> Vec<u16> {
        (1..=32)
            .map(|i| {
                let pkt = big_v4(&format!("198.19.1.{i}"), "198.18.0.30", 80, 1500, true);
                let out = lb.test_run(&pkt, 1).unwrap();
                assert_eq!(out.action, XDP_TX);
                let mtu = u16::from_be_bytes([out.packet[40], out.packet[41]]);
                assert_eq!(out.packet, expect_frag_needed(&pkt, mtu));
                mtu
            })
            .collect()
    };
    // Mixed: each flow gets its own ring backend's MTU, and the same flow through a small
    // packet goes to a backend of that family.
    let m = mtus(&lb);
    assert!(m.contains(&1480) && m.contains(&1460), "{m:?}");
    for (i, mtu) in m.iter().enumerate() {
        let pkt = big_v4(&format!("198.19.1.{}", i + 1), "198.18.0.30", 80, 100, true);
        let out = lb.test_run(&pkt, 1).unwrap();
        assert_eq!(out.action, XDP_TX);
        let outer_v6 = out.packet[12..14] == [0x86, 0xdd];
        assert_eq!(
            *mtu == 1460,
            outer_v6,
            "flow {i}: MTU {mtu}, IPv6 tunnel {outer_v6}"
        );
    }
    lb.set_weight(&v, ip("2001:db8:1::5"), 0).unwrap();
    assert!(mtus(&lb).iter().all(|&m| m == 1480));
    lb.set_weight(&v, ip("2001:db8:1::5"), 1).unwrap();
    lb.set_weight(&v, ip("198.18.1.5"), 0).unwrap();
    assert!(mtus(&lb).iter().all(|&m| m == 1460));
    lb.set_backends(&v, &both).unwrap();
    let m2 = mtus(&lb);
    assert_eq!(m2, m);
}

#[test]
fn oversize_ipv4_without_df_goes_to_the_kernel() {
    let lb = balancer();
    let pkt = big_v4("198.19.0.5", "198.18.0.10", 80, 1500, false);
    assert_pass(&lb, &pkt, "oversize without DF");
    assert_eq!(lb.counter(Counter::PassTooBig).unwrap(), 1);
    assert_eq!(lb.counter(Counter::IcmpTooBig).unwrap(), 0);
}

#[test]
fn oversize_ipv6_gets_packet_too_big() {
    let lb = balancer();
    let payload = vec![0x5au8; 1461 - 40 - 8];
    let seg = l4(
        17,
        ip("2001:db8:ff::5"),
        ip("2001:db8::10"),
        5353,
        53,
        &payload,
    );
    let pkt = eth(
        LB_MAC,
        CLIENT_MAC,
        0x86dd,
        &ipv6(v6("2001:db8:ff::5"), v6("2001:db8::10"), 17, 0, &seg),
    );
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(out.action, XDP_TX);
    assert_eq!(out.packet, expect_too_big6(&pkt, 1460));
    assert_eq!(verify_ip(&out.packet[14..]), 1); // ICMPv6
    assert_eq!(out.packet.len(), 14 + 40 + 8 + 248);
    assert_eq!(lb.counter(Counter::IcmpTooBig).unwrap(), 1);
}

#[test]
fn the_maximum_packet_size_is_configurable() {
    let mut lb = balancer();
    let e = lb.set_max_packet_size(1000).unwrap_err();
    assert_eq!(e.kind(), lbnet::ErrorKind::OutOfRange);
    lb.set_max_packet_size(9000).unwrap();
    let pkt = big_v4("198.19.0.5", "198.18.0.10", 80, 1500, true);
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(out.action, XDP_TX);
    assert_eq!(
        out.packet,
        expect_ipip(&pkt, v4("198.18.0.1"), v4("198.18.1.1"))
    );
    // A smaller path MTU: 1,400 leaves 1,380 for the inner packet.
    lb.set_max_packet_size(1400).unwrap();
    let pkt = big_v4("198.19.0.5", "198.18.0.10", 80, 1381, true);
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(
        (out.action, out.packet),
        (XDP_TX, expect_frag_needed(&pkt, 1380))
    );
    // set_config keeps the maximum.
    lb.set_config(Some(v4("198.18.0.1")), None, Some(GW_MAC))
        .unwrap();
    assert_eq!(lb.config().unwrap().max_pkt, 1400);
}

#[test]
fn ipv6_vip_with_ipv4_backend_is_6in4() {
    let lb = balancer();
    let pkt = client_packet(
        ip("2001:db8:ff::9"),
        ip("2001:db8::20"),
        17,
        4444,
        443,
        0x28,
    );
    let out = lb.test_run(&pkt, 1).unwrap();
    assert_eq!(out.action, XDP_TX);
    assert_eq!(
        out.packet,
        expect_v4_tunnel(&pkt, 41, v4("198.18.0.1"), v4("198.18.1.2"))
    );
    // outer IPv4 header, inner UDP (IPv6 has no header checksum).
    assert_eq!(verify_ip(&out.packet[14..]), 2);
    // And the decap program gives the client's frame back.
    let dec = lbnet::xdp::decap::load_decap().unwrap();
    let back = dec.test_run(&out.packet, 1).unwrap();
    assert_eq!((back.action, &back.packet[12..]), (XDP_PASS, &pkt[12..]));
}

/// Katran's per-flow IPv4 source, computed here from its description: the configured
/// source's first two octets, then the client's octets 2 and 3 (of the last 32 bits of an IPv6
/// client) xor the port's low and high byte.
fn katran_src4(prefix: Ipv4Addr, client: IpAddr, port: u16) -> Ipv4Addr {
    let c = match client {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(a) => <[u8; 4]>::try_from(&a.octets()[12..]).unwrap(),
    };
    let p = prefix.octets();
    Ipv4Addr::new(
        p[0],
        p[1],
        c[2] ^ (port & 0xff) as u8,
        c[3] ^ (port >> 8) as u8,
    )
}

/// Katran's per-flow IPv6 source: the configured source's first 96 bits, then the client's
/// last 32 bits (an IPv4 client's address) with the port (network order) xored into the
/// first two bytes.
fn katran_src6(prefix: Ipv6Addr, client: IpAddr, port: u16) -> Ipv6Addr {
    let c = match client {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(a) => <[u8; 4]>::try_from(&a.octets()[12..]).unwrap(),
    };
    let mut o = prefix.octets();
    o[12] = c[0] ^ (port >> 8) as u8;
    o[13] = c[1] ^ (port & 0xff) as u8;
    o[14] = c[2];
    o[15] = c[3];
    Ipv6Addr::from(o)
}

#[test]
fn per_flow_outer_source_is_derived_from_client_address_and_port() {
    let mut lb = balancer();
    lb.set_flow_source(true).unwrap();
    let p4 = v4("198.18.0.1");
    let p6 = v6("2001:db8::1");
    // Known values (Katran's formula worked by hand): 198.19.0.5 port 40000 (0x9c40).
    assert_eq!(
        katran_src4(p4, ip("198.19.0.5"), 40000),
        v4("198.18.64.153")
    );
    assert_eq!(
        katran_src6(p6, ip("2001:db8:ff::5"), 5353),
        v6("2001:db8::14e9:5")
    );
    let mut seen4 = std::collections::HashSet::new();
    for (client, sport) in [
        ("198.19.0.5", 40000u16),
        ("198.19.0.5", 40001),
        ("198.19.7.9", 40000),
        ("198.19.200.1", 61000),
    ] {
        // 4in4
        let pkt = client_packet(ip(client), ip("198.18.0.10"), 6, sport, 80, 0);
        let out = lb.test_run(&pkt, 1).unwrap();
        assert_eq!(out.action, XDP_TX);
        let src = katran_src4(p4, ip(client), sport);
        assert_eq!(out.packet, expect_ipip(&pkt, src, v4("198.18.1.1")));
        assert_eq!(verify_ip(&out.packet[14..]), 3);
        // The same flow again: the same source.
        assert_eq!(lb.test_run(&pkt, 1).unwrap().packet, out.packet);
        seen4.insert(src);
        // 4in6
        let pkt = client_packet(ip(client), ip("198.18.0.11"), 6, sport, 443, 0);
        let out = lb.test_run(&pkt, 1).unwrap();
        assert_eq!(
            out.packet,
            expect_ip6tnl(
                &pkt,
                4,
                0,
                katran_src6(p6, ip(client), sport),
                v6("2001:db8:1::2")
            )
        );
    }
    assert_eq!(seen4.len(), 4, "{seen4:?}");
    let mut seen6 = std::collections::HashSet::new();
    for (client, sport) in [
        ("2001:db8:ff::5", 5353u16),
        ("2001:db8:ff::6", 5353),
        ("2001:db8:ff::5", 1),
    ] {
        // 6in6
        let pkt = client_packet(ip(client), ip("2001:db8::10"), 17, sport, 53, 0);
        let out = lb.test_run(&pkt, 1).unwrap();
        let src = katran_src6(p6, ip(client), sport);
        assert_eq!(
            out.packet,
            expect_ip6tnl(&pkt, 41, 0, src, v6("2001:db8:1::1"))
        );
        seen6.insert(src);
        // 6in4
        let pkt = client_packet(ip(client), ip("2001:db8::20"), 17, sport, 443, 0);
        let out = lb.test_run(&pkt, 1).unwrap();
        assert_eq!(
            out.packet,
            expect_v4_tunnel(
                &pkt,
                41,
                katran_src4(p4, ip(client), sport),
                v4("198.18.1.2")
            )
        );
        assert_eq!(verify_ip(&out.packet[14..]), 2);
    }
    assert_eq!(seen6.len(), 3);
    // Off again: the configured addresses themselves.
    lb.set_flow_source(false).unwrap();
    let pkt = client_packet(ip("198.19.0.5"), ip("198.18.0.10"), 6, 40000, 80, 0);
    assert_eq!(
        lb.test_run(&pkt, 1).unwrap().packet,
        expect_ipip(&pkt, p4, v4("198.18.1.1"))
    );
}

#[test]
fn per_backend_counters_count_what_each_backend_was_sent() {
    let mut lb = balancer();
    let vip = Vip::tcp(ip("198.18.0.10"), 80);
    let w = |a: &str| Backend {
        addr: ip(a),
        weight: 1,
    };
    lb.set_backends(&vip, &[w("198.18.1.1"), w("198.18.1.3")])
        .unwrap();
    let mut want: std::collections::HashMap<Ipv4Addr, (u64, u64)> = Default::default();
    for f in 0..60u16 {
        let pkt = client_packet(ip("198.19.0.5"), ip("198.18.0.10"), 6, 20000 + f, 80, 0);
        for _ in 0..2 {
            let out = lb.test_run(&pkt, 1).unwrap();
            assert_eq!(out.action, XDP_TX);
            let d = &out.packet[14 + 16..14 + 20];
            let e = want
                .entry(Ipv4Addr::new(d[0], d[1], d[2], d[3]))
                .or_default();
            e.0 += 1;
            e.1 += (pkt.len() - 14) as u64;
        }
    }
    // Not sent to a backend: an ICMP answer and a drop for lack of a tunnel source.
    let big = big_v4("198.19.0.5", "198.18.0.10", 80, 1500, true);
    assert_eq!(lb.test_run(&big, 1).unwrap().action, XDP_TX);
    assert_eq!(want.len(), 2, "{want:?}");
    let got = lb.backend_stats(&vip).unwrap();
    assert_eq!(got.len(), 2);
    for (b, s) in &got {
        let IpAddr::V4(a) = b.addr else { panic!() };
        assert_eq!((s.packets, s.bytes), want[&a], "{a}");
    }
    let total: u64 = got.iter().map(|(_, s)| s.packets).sum();
    assert_eq!(total, 120);
    assert_eq!(lb.vip_stats(&vip).unwrap().packets, 121);
    // A drain keeps the counters; removal and re-adding starts again at zero.
    lb.drain(&vip, ip("198.18.1.3")).unwrap();
    let drained = lb.backend_stats(&vip).unwrap();
    assert_eq!((drained[1].0.weight, drained[1].1), (0, got[1].1));
    assert_eq!(drained[0], got[0]);
    lb.set_backends(&vip, &[w("198.18.1.1")]).unwrap();
    lb.set_backends(&vip, &[w("198.18.1.1"), w("198.18.1.3")])
        .unwrap();
    let again = lb.backend_stats(&vip).unwrap();
    assert_eq!(again[0], got[0]);
    assert_eq!(again[1].1, Default::default());
    assert_eq!(
        lb.backend_stats(&Vip::tcp(ip("198.18.0.99"), 1))
            .unwrap_err()
            .errno(),
        libc::ENOENT
    );
}
