//! The export engine's own CPU cost per route, apart from the kernel's: user CPU time of the
//! calling thread (`getrusage(RUSAGE_THREAD)`) while `Exporter::apply` installs, replaces and
//! withdraws routes in a network namespace. The kernel handles our netlink requests in the
//! sending thread, so its work shows as system time; user time is the engine and the message
//! encoding. On a shared machine wall time moves with the neighbours' load, user time much
//! less: this is the number to compare engine changes with. Run with
//! `cargo test --release -p bench-route --test route_engine_cpu -- --ignored --nocapture`.

#[path = "../../../../core/tests/route_util/mod.rs"]
mod route_util;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lbnet::export::{ExportConfig, Exporter, Path, Rule, Target};
use lbnet::route::Prefix;
use route_util::TestNs;

/// (user, system) CPU time of this thread.
fn cpu() -> (Duration, Duration) {
    // SAFETY: getrusage fills the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a rusage struct.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let d = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (d(u.ru_utime), d(u.ru_stime))
}

fn run(n: u32, batch: usize) {
    let ns = TestNs::new("cpu");
    ns.veth();
    let prefixes: Vec<Prefix> = (0..n)
        .map(|i| {
            // The bench's scattered order: i * 7919 mod n.
            let k = ((i as u64 * 7919) % n as u64) as u32;
            Prefix::new(Ipv4Addr::from(0x2000_0000u32 + (k << 8)).into(), 24).unwrap()
        })
        .collect();
    let ex = Exporter::new(
        ExportConfig {
            netns: ns.netns(),
            dampening: Duration::ZERO,
            watch: false,
            ..ExportConfig::default()
        },
        &[Rule::new("all", Target::Table(300))],
    )
    .unwrap();
    let path = |gw: &str| Path {
        nexthop: gw.parse().unwrap(),
        communities: vec!["65000:100".parse().unwrap()],
        large_communities: vec![],
        more_nexthops: vec![],
        device: None,
    };
    let (p2, p3) = (path("10.1.0.2"), path("10.1.0.3"));
    for (op, p) in [
        ("install", Some(&p2)),
        ("replace", Some(&p3)),
        ("withdraw", None),
    ] {
        let changes: Vec<(Prefix, Option<&Path>)> = prefixes.iter().map(|x| (*x, p)).collect();
        let (u0, s0) = cpu();
        let t = Instant::now();
        for c in changes.chunks(batch) {
            ex.apply(c).unwrap();
        }
        let wall = t.elapsed();
        let (u1, s1) = cpu();
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "ENGINE n={n} batch={batch} {op:<8} user {:.2} us/route, system {:.2}, wall {:.2}",
            per(u1 - u0),
            per(s1 - s0),
            per(wall)
        );
    }
    assert_eq!(ex.stats().errors, 0);
    assert_eq!(ex.exported_count(), 0);
}

#[test]
#[ignore = "benchmark: cargo test --release -p bench-route --test route_engine_cpu -- --ignored"]
fn engine_cpu_per_route() {
    run(100_000, 100_000);
    run(100_000, 1);
    run(1_000_000, 1_000_000);
}
