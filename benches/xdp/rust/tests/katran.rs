//! The correctness part of the Katran comparison (issue 15): lbnet's program and Katran's
//! `balancer_ingress` (built unmodified from the peer tarball) are given the same VIPs, the same
//! reals (same indices) and the same Maglev ring, and must forward the same established flow to
//! the same real. Needs root (CAP_BPF), clang and the Katran tarball (see
//! `benches/xdp/katran/build-bpf.sh`); runs in `cargo test --workspace` and `make test-xdp-katran`.
//!
//! The two programs hash flows differently (Katran: jhash of the client's address and port;
//! lbnet: MurmurHash3 of the 5-tuple), so the same ring sends a *new* flow to different slots.
//! What both must agree on is the connection-table contract: a flow whose first packet was
//! forwarded while the ring pointed everywhere at one real stays on that real for its
//! established packets after the ring is replaced (here by a 10-real Maglev ring), in both
//! programs; and a new connection (SYN) follows the current ring in both (a real of the new
//! ring, found at the slot each program's own hash selects).
//!
//! Maglev: for a few fixed backend sets and changes, lbnet's ring construction
//! (`lbnet::xdp::maglev`) moves no more slots than Katran's (`MaglevHashV2`, and the default
//! `MaglevHash` where weights are all 1), built unmodified from the tarball by
//! `benches/xdp/katran/build-maglev.sh`; lbnet's rings are Katran's `MaglevHashV2` rings.

use std::net::IpAddr;

use bench_xdp::{frame, outer_dst, pin_dir, remove_pins, test_run, Katran};
use lbnet::xdp::maglev::{build_ring, MaglevBackend};
use lbnet::xdp::{Backend, LoadOptions, Vip, XdpLb};

const XDP_TX: u32 = 3;
const GW: [u8; 6] = [0x02, 0xaa, 0, 0, 0, 1];

fn backends(base: &str, ids: impl Iterator<Item = u32>) -> Vec<Backend> {
    ids.map(|i| Backend {
        addr: format!("{base}{i}").parse().unwrap(),
        weight: 1,
    })
    .collect()
}

/// Keeps this thread on one CPU: Katran's connection table is one LRU per CPU and relies on the
/// NIC steering a flow to one CPU (RSS); a test run moved to another CPU between two packets of
/// a flow would look it up in another CPU's table.
fn pin_to_one_cpu() {
    // SAFETY: a zeroed cpu_set_t is valid; pid 0 = this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set),
            0,
            "pin the test thread to CPU 0"
        );
    }
}

#[test]
fn both_programs_keep_an_established_flow_on_the_same_real() {
    pin_to_one_cpu();
    let katran_obj = bench_xdp::katran_object().expect("build Katran's balancer.o");
    let mut lb = XdpLb::load(&LoadOptions {
        max_vips: 4,
        max_backends: 64,
        conn_table_size: 4096,
    })
    .expect("load xdplb (needs root and BPF)");
    lb.set_config(
        Some("198.18.0.1".parse().unwrap()),
        Some("2001:db8::1".parse().unwrap()),
        Some(GW),
    )
    .unwrap();
    // IPv4 VIP over IPv4 reals, IPv6 VIP over IPv6 reals, IPv4 VIP over IPv6 reals (4in6).
    let cases: [(Vip, &str, &str, Option<u8>); 3] = [
        (
            Vip::tcp("198.18.0.10".parse().unwrap(), 80),
            "10.1.0.",
            "198.51.100.7",
            Some(0x10),
        ),
        (
            Vip::udp("2001:db8::10".parse().unwrap(), 53),
            "2001:db8:1::",
            "2001:db8:ff::5",
            None,
        ),
        (
            Vip::tcp("198.18.0.11".parse().unwrap(), 443),
            "2001:db8:2::",
            "198.51.100.8",
            Some(0x10),
        ),
    ];
    let pins = pin_dir("katran-test");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // 1. Every VIP's ring points at one real (the third).
        for (vip, base, _, _) in &cases {
            lb.add_vip(*vip).unwrap();
            lb.set_backends(vip, &backends(base, 3..=3)).unwrap();
        }
        lb.pin(&pins).unwrap();
        let katran = Katran::load(&katran_obj, GW).expect("load Katran's balancer");
        katran.copy_from_lbnet(&pins).unwrap();
        let ours = bench_xdp::find_prog_using_map(
            "xdplb",
            bench_xdp::pinned_map(&pins.join("ring")).unwrap(),
        )
        .unwrap();
        // Eight flows per VIP, so that a flow staying put by chance (its slot in the new ring
        // owned by the same real, 1 in 10) cannot make the check pass.
        let packets: Vec<(usize, Vec<u8>, Vec<u8>, IpAddr)> = cases
            .iter()
            .enumerate()
            .flat_map(|(i, (vip, base, client, flags))| {
                let client: IpAddr = client.parse().unwrap();
                (0..8u16).map(move |f| {
                    let sport = 40000 + 100 * i as u16 + f;
                    let est = frame(client, vip.addr, *flags, sport, vip.port, 128);
                    let syn = frame(client, vip.addr, flags.map(|_| 0x02), sport, vip.port, 128);
                    (i, est, syn, format!("{base}3").parse().unwrap())
                })
            })
            .collect();
        // First packets: both programs send each flow to the only real and remember it.
        for (_, est, _, real) in &packets {
            for (name, fd) in [("lbnet", ours), ("katran", katran.prog)] {
                let r = test_run(fd, est, 1).unwrap();
                assert_eq!(r.action, XDP_TX, "{name}: first packet");
                assert_eq!(outer_dst(&r.packet), Some(*real), "{name}: first packet");
                assert_eq!(&r.packet[..6], &GW, "{name}: next-hop MAC");
            }
        }
        // 2. Same new ring for both: 10 reals (Maglev, lbnet's construction).
        for (vip, base, _, _) in &cases {
            lb.set_backends(vip, &backends(base, 1..=10)).unwrap();
        }
        katran.copy_from_lbnet(&pins).unwrap();
        for (i, est, syn, real) in &packets {
            let i = *i;
            for (name, fd) in [("lbnet", ours), ("katran", katran.prog)] {
                // Established: still on the remembered real, in both.
                let r = test_run(fd, est, 1).unwrap();
                assert_eq!(r.action, XDP_TX, "{name} case {i}");
                assert_eq!(
                    outer_dst(&r.packet),
                    Some(*real),
                    "{name} case {i}: established flow moved"
                );
                // A new connection follows the new ring (a real of the VIP).
                if cases[i].3.is_some() {
                    let r = test_run(fd, syn, 1).unwrap();
                    assert_eq!(r.action, XDP_TX, "{name} case {i} SYN");
                    let d = outer_dst(&r.packet).expect("encapsulated");
                    assert!(
                        d.to_string().starts_with(cases[i].1),
                        "{name} SYN went to {d}"
                    );
                }
            }
        }
        // A packet to no VIP is passed by both.
        let other = frame(
            "198.51.100.7".parse().unwrap(),
            "198.18.0.99".parse().unwrap(),
            Some(0x10),
            1,
            80,
            128,
        );
        for fd in [ours, katran.prog] {
            assert_eq!(test_run(fd, &other, 1).unwrap().action, 2);
        }
    }));
    remove_pins(&pins);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// lbnet's ring for (address, weight) pairs, as owner addresses (identity as `XdpLb` gives it:
/// the IPv4-mapped IPv6 bytes).
fn lbnet_ring(set: &[(u32, u32)]) -> Vec<Option<u32>> {
    let ids: Vec<[u8; 16]> = set
        .iter()
        .map(|(a, _)| std::net::Ipv4Addr::from(*a).to_ipv6_mapped().octets())
        .collect();
    let mb: Vec<MaglevBackend<'_>> = ids
        .iter()
        .zip(set)
        .map(|(id, (_, w))| MaglevBackend { id, weight: *w })
        .collect();
    build_ring(&mb, 65_537)
        .into_iter()
        .map(|o| o.map(|i| set[i as usize].0))
        .collect()
}

/// Katran's ring for the same pairs (endpoints in address order, `Endpoint::hash` = the
/// address as a number), as owner addresses.
fn katran_ring(tool: &std::path::Path, version: &str, set: &[(u32, u32)]) -> Vec<Option<u32>> {
    let eps: Vec<(u32, u64)> = set.iter().map(|(a, w)| (*w, *a as u64)).collect();
    bench_xdp::katran_maglev(tool, version, &eps, 65_537)
        .expect("run Katran's Maglev")
        .into_iter()
        .map(|v| (v >= 0).then(|| set[v as usize].0))
        .collect()
}

fn moved(a: &[Option<u32>], b: &[Option<u32>]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

/// A Maglev change: name, (address, weight) before, after, whether weights differ.
type Change<'a> = (&'a str, &'a [(u32, u32)], &'a [(u32, u32)], bool);

#[test]
fn maglev_moves_no_more_slots_than_katrans() {
    let tool = bench_xdp::maglev_tool().expect("build Katran's Maglev tool");
    for base in [0x0a00_0000u32, 0x0a07_1c00, 0xc0a8_0100] {
        let set = |n: u32, w: &dyn Fn(u32) -> u32| -> Vec<(u32, u32)> {
            (0..n).map(|i| (base + i, w(i))).collect()
        };
        let b10 = set(10, &|_| 1);
        let mut r10 = b10.clone();
        r10.remove(5);
        let a10 = set(11, &|_| 1);
        let bw = set(10, &|i| i + 1);
        let mut rw = bw.clone();
        rw.remove(4);
        let mut dw = bw.clone();
        dw[9].1 = 5;
        let b100 = set(100, &|_| 1);
        let mut r100 = b100.clone();
        r100.remove(50);
        let cases: [Change<'_>; 5] = [
            ("10 remove one", &b10, &r10, false),
            ("10 add one", &b10, &a10, false),
            ("100 remove one", &b100, &r100, false),
            ("weights 1..10 remove weight 5", &bw, &rw, true),
            ("weights 1..10, 10 -> 5", &bw, &dw, true),
        ];
        for (name, before, after, weighted) in cases {
            let (ob, oa) = (lbnet_ring(before), lbnet_ring(after));
            let (kb, ka) = (
                katran_ring(&tool, "v2", before),
                katran_ring(&tool, "v2", after),
            );
            let (ours, v2) = (moved(&ob, &oa), moved(&kb, &ka));
            assert!(
                ob == kb && oa == ka,
                "{base:#x} {name}: rings differ from MaglevHashV2's"
            );
            assert!(
                ours <= v2,
                "{base:#x} {name}: lbnet moved {ours}, MaglevHashV2 {v2}"
            );
            if !weighted {
                // Katran's default MaglevHash; with weights it hardly weighs, not comparable.
                let v1 = moved(
                    &katran_ring(&tool, "v1", before),
                    &katran_ring(&tool, "v1", after),
                );
                assert!(
                    ours <= v1,
                    "{base:#x} {name}: lbnet moved {ours}, MaglevHash {v1}"
                );
            }
        }
    }
}
