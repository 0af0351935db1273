//! A tiny packet builder and checksum checker for the XDP tests, written independently of the
//! BPF program (RFC 791 / 8200 / 793 / 768 / 1071), so expectations are not computed by the code
//! under test.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
pub const LB_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

/// Ones' complement sum of 16-bit big-endian words (RFC 1071), not folded.
pub fn sum16(data: &[u8]) -> u32 {
    let mut s = 0u32;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            (c[0] as u16) << 8
        };
        s += w as u32;
    }
    s
}

pub fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum16(data))
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u32 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum16(&s.octets()) + sum16(&d.octets()) + proto as u32 + len as u32
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            sum16(&s.octets())
                + sum16(&d.octets())
                + (len as u32 >> 16)
                + (len as u32 & 0xffff)
                + proto as u32
        }
        _ => panic!("mixed families"),
    }
}

/// L4 segment (header + payload) with its checksum filled in; TCP segments carry ACK.
pub fn l4(proto: u8, src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    l4_flags(proto, src, dst, sport, dport, payload, 0x10)
}

/// Like [`l4`] with the given TCP flags (0x02 SYN, 0x10 ACK, ...).
pub fn l4_flags(
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    payload: &[u8],
    tcp_flags: u8,
) -> Vec<u8> {
    let mut seg = Vec::new();
    seg.extend_from_slice(&sport.to_be_bytes());
    seg.extend_from_slice(&dport.to_be_bytes());
    let ck_at;
    if proto == 6 {
        seg.extend_from_slice(&1000u32.to_be_bytes()); // seq
        seg.extend_from_slice(&0u32.to_be_bytes()); // ack
        seg.push(5 << 4); // data offset
        seg.push(tcp_flags);
        seg.extend_from_slice(&65535u16.to_be_bytes()); // window
        ck_at = seg.len();
        seg.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent
    } else {
        let len = (8 + payload.len()) as u16;
        seg.extend_from_slice(&len.to_be_bytes());
        ck_at = seg.len();
        seg.extend_from_slice(&[0, 0]);
    }
    seg.extend_from_slice(payload);
    let mut ck = !fold(pseudo_sum(src, dst, proto, seg.len()) + sum16(&seg));
    if proto == 17 && ck == 0 {
        ck = 0xffff;
    }
    seg[ck_at..ck_at + 2].copy_from_slice(&ck.to_be_bytes());
    seg
}

/// An IPv4 header (no options) in front of `payload`, with checksum.
pub fn ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    tos: u8,
    frag: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut h = vec![0x45, tos];
    h.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&0x1234u16.to_be_bytes()); // id
    h.extend_from_slice(&frag.to_be_bytes());
    h.push(64);
    h.push(proto);
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let ck = checksum(&h);
    h[10..12].copy_from_slice(&ck.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// An IPv4 header with DF set and IP ID 0 in front of `payload`, with checksum.
pub fn ipv4_df(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = ipv4(src, dst, proto, 0, 0x4000, payload);
    h[4..6].copy_from_slice(&[0, 0]);
    h[10..12].copy_from_slice(&[0, 0]);
    let ck = checksum(&h[..20]);
    h[10..12].copy_from_slice(&ck.to_be_bytes());
    h
}

/// An IPv6 header in front of `payload`, traffic class `tc`, flow label 0.
pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, tc: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60 | (tc >> 4), (tc & 0xf) << 4, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.push(next);
    h.push(64);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h.extend_from_slice(payload);
    h
}

pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A client frame: Ethernet + IP + TCP (ACK) or UDP, every checksum valid.
pub fn client_packet(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    tos: u8,
) -> Vec<u8> {
    client_packet_flags(src, dst, proto, sport, dport, tos, 0x10)
}

/// Like [`client_packet`] with the given TCP flags.
pub fn client_packet_flags(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
    tos: u8,
    tcp_flags: u8,
) -> Vec<u8> {
    let seg = l4_flags(proto, src, dst, sport, dport, b"hello, backend", tcp_flags);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            eth(LB_MAC, CLIENT_MAC, 0x0800, &ipv4(s, d, proto, tos, 0, &seg))
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            eth(LB_MAC, CLIENT_MAC, 0x86dd, &ipv6(s, d, proto, tos, &seg))
        }
        _ => panic!("mixed families"),
    }
}

/// Verifies every checksum of an IP packet (starting at the IP header), recursing into IP-in-IP
/// and IPv6 tunnels. Returns the number of checksums verified.
pub fn verify_ip(pkt: &[u8]) -> usize {
    match pkt[0] >> 4 {
        4 => {
            let ihl = (pkt[0] & 0xf) as usize * 4;
            assert_eq!(fold(sum16(&pkt[..ihl])), 0xffff, "IPv4 header checksum");
            let total = u16::from_be_bytes([pkt[2], pkt[3]]) as usize;
            let proto = pkt[9];
            let src = IpAddr::V4(Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]));
            let dst = IpAddr::V4(Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]));
            1 + verify_payload(proto, src, dst, &pkt[ihl..total])
        }
        6 => {
            let plen = u16::from_be_bytes([pkt[4], pkt[5]]) as usize;
            let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&pkt[8..24]).unwrap()));
            let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&pkt[24..40]).unwrap()));
            verify_payload(pkt[6], src, dst, &pkt[40..40 + plen])
        }
        v => panic!("IP version {v}"),
    }
}

fn verify_payload(proto: u8, src: IpAddr, dst: IpAddr, p: &[u8]) -> usize {
    match proto {
        4 | 41 => verify_ip(p),
        1 => {
            assert_eq!(fold(sum16(p)), 0xffff, "ICMP checksum");
            1
        }
        58 => {
            assert_eq!(
                fold(pseudo_sum(src, dst, proto, p.len()) + sum16(p)),
                0xffff,
                "ICMPv6 checksum"
            );
            1
        }
        6 | 17 => {
            assert_eq!(
                fold(pseudo_sum(src, dst, proto, p.len()) + sum16(p)),
                0xffff,
                "L4 checksum (proto {proto})"
            );
            1
        }
        _ => 0,
    }
}

/// Pins the calling thread to one CPU, so per-CPU maps (the LRU) see every test run.
pub fn pin_to_cpu0() {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set),
            0
        );
    }
}

/// Pins the calling thread to CPU `cpu`.
pub fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set),
            0
        );
    }
}
