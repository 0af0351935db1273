//! Install, replace and withdraw 100,000 IPv4 routes: our core (pipelined), our export engine
//! (one update at a time and one batch), `ip -batch`, and (with LBNET_ROUTE_GO_BENCH)
//! vishvananda/netlink and our Go binding, measured in one run on the same kernel.
//! Run with `make bench-route` (release build, `--ignored --nocapture`).

mod route_util;

use std::io::Write;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lbnet::route::export::{ExportConfig, Exporter, Path, Rule, Target};
use lbnet::route::{Prefix, Route, RouteFilter, RouteHandle, RouteOp, RTPROT_BGP};
use route_util::TestNs;

const N: u32 = 100_000;

fn prefixes() -> Vec<Prefix> {
    (0..N)
        .map(|i| Prefix::new(Ipv4Addr::from(0x2000_0000u32 + (i << 8)).into(), 24).unwrap())
        .collect()
}

fn count(h: &RouteHandle, table: u32) -> usize {
    h.dump(&RouteFilter {
        ipv6: Some(false),
        table: Some(table),
        protocol: Some(RTPROT_BGP),
    })
    .unwrap()
    .len()
}

fn report(what: &str, d: Duration) {
    println!(
        "{what:<44} {:>9.1} ms  {:>7.2} us/route  {:>9.0} routes/s",
        d.as_secs_f64() * 1e3,
        d.as_secs_f64() * 1e6 / N as f64,
        N as f64 / d.as_secs_f64()
    );
}

fn ip_batch(ns: &TestNs, verb: &str, table: u32, gw: &str) -> Duration {
    let file =
        std::env::temp_dir().join(format!("lbnet-bench-{}-{verb}.batch", std::process::id()));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    for p in prefixes() {
        if verb == "del" {
            writeln!(f, "route del {p} table {table} proto bgp metric 20").unwrap();
        } else {
            writeln!(
                f,
                "route {verb} {p} via {gw} table {table} proto bgp metric 20"
            )
            .unwrap();
        }
    }
    drop(f);
    let t = Instant::now();
    ns.ip(&["-batch", file.to_str().unwrap()]);
    let d = t.elapsed();
    let _ = std::fs::remove_file(file);
    d
}

#[test]
#[ignore = "benchmark: make bench-route"]
fn bench_100k_routes() {
    let ns = TestNs::new("bench");
    ns.veth();
    let h = RouteHandle::open(&ns.netns()).unwrap();
    let ps = prefixes();
    let ops = |f: &dyn Fn(Route) -> RouteOp, gw: &str| -> Vec<RouteOp> {
        ps.iter()
            .map(|p| {
                f(Route::new(*p)
                    .table(100)
                    .protocol(RTPROT_BGP)
                    .metric(20)
                    .via(gw.parse().unwrap()))
            })
            .collect()
    };
    println!("100,000 IPv4 /24 routes, table 100/200/300, one network namespace on this kernel");
    // Our core: pipelined batches.
    let add = ops(&RouteOp::Add, "10.1.0.2");
    let t = Instant::now();
    assert!(h.apply(&add).unwrap().iter().all(|r| r.is_ok()));
    report("lbnet RouteHandle::apply add", t.elapsed());
    assert_eq!(count(&h, 100), N as usize);
    let rep = ops(&RouteOp::Replace, "10.1.0.3");
    let t = Instant::now();
    assert!(h.apply(&rep).unwrap().iter().all(|r| r.is_ok()));
    report("lbnet RouteHandle::apply replace", t.elapsed());
    let del = ops(&RouteOp::Delete, "10.1.0.3");
    let t = Instant::now();
    assert!(h.apply(&del).unwrap().iter().all(|r| r.is_ok()));
    report("lbnet RouteHandle::apply delete", t.elapsed());
    assert_eq!(count(&h, 100), 0);
    // ip -batch.
    report("ip -batch route add", ip_batch(&ns, "add", 200, "10.1.0.2"));
    assert_eq!(count(&h, 200), N as usize);
    report(
        "ip -batch route replace",
        ip_batch(&ns, "replace", 200, "10.1.0.3"),
    );
    report("ip -batch route del", ip_batch(&ns, "del", 200, ""));
    assert_eq!(count(&h, 200), 0);
    // The export engine, one best-path update at a time (as BGP delivers them).
    let ex = Exporter::new(
        ExportConfig {
            netns: ns.netns(),
            // Watcher on, as deployed (next-hop answers are cached until a change).
            dampening: Duration::ZERO,
            ..ExportConfig::default()
        },
        &[Rule::new("all", Target::Table(300))],
    )
    .unwrap();
    for (verb, gw) in [("install", "10.1.0.2"), ("replace", "10.1.0.3")] {
        let path = Path {
            nexthop: gw.parse().unwrap(),
            communities: vec![],
            large_communities: vec![],
        };
        let t = Instant::now();
        for p in &ps {
            ex.update(*p, &path).unwrap();
        }
        report(
            &format!("lbnet Exporter::update {verb} (one by one)"),
            t.elapsed(),
        );
    }
    assert_eq!(count(&h, 300), N as usize);
    let t = Instant::now();
    for p in &ps {
        ex.withdraw(*p).unwrap();
    }
    report("lbnet Exporter::withdraw (one by one)", t.elapsed());
    assert_eq!(count(&h, 300), 0);
    // The same through Exporter::apply, all changes in one call (as a BGP UPDATE burst).
    let p2 = Path {
        nexthop: "10.1.0.2".parse().unwrap(),
        communities: vec![],
        large_communities: vec![],
    };
    let p3 = Path {
        nexthop: "10.1.0.3".parse().unwrap(),
        ..p2.clone()
    };
    for (verb, path) in [
        ("install", Some(&p2)),
        ("replace", Some(&p3)),
        ("withdraw", None),
    ] {
        let changes: Vec<(Prefix, Option<&Path>)> = ps.iter().map(|p| (*p, path)).collect();
        let t = Instant::now();
        ex.apply(&changes).unwrap();
        report(
            &format!("lbnet Exporter::apply {verb} (one batch)"),
            t.elapsed(),
        );
    }
    assert_eq!(count(&h, 300), 0);
    assert_eq!(ex.stats().errors, 0);
    drop(ex);
    // The Go side in the same run: vishvananda/netlink's RouteReplace loop and lbnet's Go
    // binding (go/gobgp/cmd/route-bench, built by `make bench-route`).
    if let Ok(bin) = std::env::var("LBNET_ROUTE_GO_BENCH") {
        let out = std::process::Command::new(&bin)
            .args(["-netns", &ns.name, "-n", &N.to_string()])
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        assert!(
            out.status.success(),
            "{bin}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        println!("(LBNET_ROUTE_GO_BENCH not set: Go measurements skipped; use make bench-route)");
    }
}
