//! XDP load balancer benchmarks (root; run with `cargo run --release -p bench-xdp --bin
//! xdp_bench [OUT.json]`):
//!
//! 1. Cost per packet through BPF_PROG_TEST_RUN: xdplb (IPv4 TCP and IPv6 UDP to a VIP,
//!    established flow, encapsulated and XDP_TX; a packet to no VIP, XDP_PASS) against a
//!    minimal MAC-swap XDP_TX program. The kernel reuses one buffer across repetitions, so an
//!    encapsulating program cannot be timed with `repeat` (the second run would see its own
//!    output): every program is run with repeat = 1, many times, and the kernel-measured
//!    durations (which include the same timer overhead for every program) are summarised.
//! 2. Ring maintenance for one VIP with 1,000 backends: a full rewrite of the 65,537-slot ring
//!    versus the delta written when one backend is drained, and BPF_MAP_UPDATE_BATCH versus one
//!    BPF_MAP_UPDATE_ELEM per slot for the full ring.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use lbnet::xdp::{batch, Backend, LoadOptions, LoadedProgram, Vip, XdpLb, BASELINES_OBJECT};

fn packet(v6: bool) -> Vec<u8> {
    // Ethernet + IP + UDP/TCP with a 64-byte payload; checksums do not matter to the programs.
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    if v6 {
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 8 + 64, 17, 64]);
        f.extend_from_slice(
            &"2001:db8:ff::5"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        f.extend_from_slice(
            &"2001:db8::10"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        f.extend_from_slice(&[0x14, 0xe9, 0, 53, 0, 8 + 64, 0, 0]);
    } else {
        f.extend_from_slice(&[
            0x08,
            0x00,
            0x45,
            0,
            0,
            20 + 20 + 64,
            0,
            0,
            0,
            0,
            64,
            6,
            0,
            0,
        ]);
        f.extend_from_slice(&[198, 19, 0, 5, 198, 18, 0, 10]);
        f.extend_from_slice(&[
            0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
        ]);
    }
    f.extend_from_slice(&[0xab; 64]);
    f
}

/// A named per-packet measurement: returns the kernel-measured ns of one run.
type Runner<'a> = Box<dyn Fn() -> u64 + 'a>;

fn summarise(mut ns: Vec<u64>) -> (u64, u64, f64) {
    ns.sort_unstable();
    let median = ns[ns.len() / 2];
    let p99 = ns[ns.len() * 99 / 100];
    let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64;
    (median, p99, mean)
}

fn per_packet(run: impl Fn() -> u64, n: usize) -> (u64, u64, f64) {
    for _ in 0..1000 {
        run();
    }
    summarise((0..n).map(|_| run()).collect())
}

fn pin_cpu0() {
    // SAFETY: a zeroed cpu_set_t is valid.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    pin_cpu0();
    let out_path = std::env::args().nth(1);
    let mut json = Vec::new();
    let n = 200_000;

    let mut lb = XdpLb::load(&LoadOptions {
        max_vips: 4,
        max_backends: 2048,
        conn_table_size: 65536,
    })?;
    lb.set_config(
        Some(Ipv4Addr::new(198, 18, 0, 1)),
        Some("2001:db8::1".parse().unwrap()),
        None,
    )?;
    let v4 = Vip::tcp("198.18.0.10".parse().unwrap(), 80);
    let v6 = Vip::udp("2001:db8::10".parse().unwrap(), 53);
    for (vip, base) in [(v4, "10.1.0."), (v6, "2001:db8:1::")] {
        lb.add_vip(vip)?;
        let bs: Vec<Backend> = (1..=10)
            .map(|i| Backend {
                addr: format!("{base}{i}").parse::<IpAddr>().unwrap(),
                weight: 1,
            })
            .collect();
        lb.set_backends(&vip, &bs)?;
    }
    let p4 = packet(false);
    let p6 = packet(true);
    let mut other = p4.clone();
    other[14 + 19] = 99; // 198.18.0.99: no VIP
    let macswap =
        LoadedProgram::load_object(BASELINES_OBJECT, "xdp_macswap", &LoadOptions::default())?;

    let cases: Vec<(&str, Runner)> = vec![
        (
            "macswap_xdp_tx",
            Box::new(|| macswap.test_run(&p4, 1).unwrap().duration_ns),
        ),
        (
            "xdplb_ipv4_tcp_established_tx",
            Box::new(|| lb.test_run(&p4, 1).unwrap().duration_ns),
        ),
        (
            "xdplb_ipv6_udp_established_tx",
            Box::new(|| lb.test_run(&p6, 1).unwrap().duration_ns),
        ),
        (
            "xdplb_not_vip_pass",
            Box::new(|| lb.test_run(&other, 1).unwrap().duration_ns),
        ),
    ];
    println!(
        "per packet, BPF_PROG_TEST_RUN repeat=1 x {n} (kernel-measured ns incl. timer overhead)"
    );
    for (name, run) in &cases {
        let (med, p99, mean) = per_packet(run, n);
        println!("  {name:<34} median {med:>4} ns  p99 {p99:>5} ns  mean {mean:>7.1} ns");
        json.push(format!(
            "\"{name}\": {{\"median_ns\": {med}, \"p99_ns\": {p99}, \"mean_ns\": {mean:.1}}}"
        ));
    }
    // The repeat loop is valid for programs whose output is their input's twin.
    let rep = 1_000_000;
    let ms = macswap.test_run(&p4, rep)?.duration_ns;
    let pass = lb.test_run(&other, rep)?.duration_ns;
    drop(cases);
    println!("  repeat={rep}: macswap {ms} ns/packet, xdplb not-VIP pass {pass} ns/packet");
    json.push(format!(
        "\"repeat_macswap_ns\": {ms}, \"repeat_xdplb_pass_ns\": {pass}"
    ));

    // Ring maintenance, one VIP with 1,000 backends.
    let big = Vip::tcp("198.18.0.20".parse().unwrap(), 80);
    lb.add_vip(big)?;
    let bs: Vec<Backend> = (0..1000u32)
        .map(|i| Backend {
            addr: IpAddr::V4(Ipv4Addr::from(0x0a02_0000 + i)),
            weight: 1,
        })
        .collect();
    let t = Instant::now();
    let first = lb.set_backends(&big, &bs)?;
    let initial_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut full = Vec::new();
    let mut delta = Vec::new();
    let mut delta_slots = 0;
    for i in 0..5 {
        let t = Instant::now();
        let u = lb.rewrite_ring(&big)?;
        full.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(u.written, 65537);
        let t = Instant::now();
        let u = lb.drain(&big, bs[i * 100].addr)?;
        delta.push(t.elapsed().as_secs_f64() * 1e3);
        delta_slots += u.written;
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (full_ms, delta_ms) = (med(&mut full), med(&mut delta));
    println!(
        "ring, 1,000 backends: first build {initial_ms:.1} ms ({} slots); full rewrite {full_ms:.1} ms; \
         drain one backend {delta_ms:.1} ms ({} slots written on average)",
        first.written,
        delta_slots / 5
    );
    json.push(format!(
        "\"ring_1000_initial_ms\": {initial_ms:.2}, \"ring_1000_full_rewrite_ms\": {full_ms:.2}, \
         \"ring_1000_drain_one_ms\": {delta_ms:.2}, \"ring_1000_drain_one_slots\": {}",
        delta_slots / 5
    ));

    // Batch versus per-element writes of a full ring, on a bare ring map.
    let mut ebpf = aya::EbpfLoader::new()
        .map_max_entries("ring", 65537)
        .load(lbnet::xdp::XDPLB_OBJECT)?;
    let ring = ebpf.take_map("ring").unwrap();
    let fd = match &ring {
        aya::maps::Map::Array(d) => d.fd(),
        _ => unreachable!(),
    };
    use std::os::fd::AsFd;
    let keys: Vec<u32> = (0..65537).collect();
    let vals: Vec<u32> = keys.iter().map(|k| k % 1000 + 1).collect();
    let t = Instant::now();
    batch::update_u32(fd.as_fd(), &keys, &vals)?;
    let b_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    batch::update_each_u32(fd.as_fd(), &keys, &vals)?;
    let e_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "65,537-slot ring write: BPF_MAP_UPDATE_BATCH {b_ms:.1} ms ({:.2} us/slot), one by one {e_ms:.1} ms ({:.2} us/slot); batch used: {}",
        b_ms * 1e3 / 65537.0,
        e_ms * 1e3 / 65537.0,
        batch::batch_supported()
    );
    json.push(format!(
        "\"ring_write_batch_ms\": {b_ms:.2}, \"ring_write_each_ms\": {e_ms:.2}"
    ));

    if let Some(p) = out_path {
        std::fs::write(&p, format!("{{{}}}\n", json.join(", ")))?;
        println!("wrote {p}");
    }
    Ok(())
}
