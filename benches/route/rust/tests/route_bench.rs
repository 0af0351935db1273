//! Route programming speed, in one run on one kernel, side by side: install, replace and
//! withdraw N routes through
//! - lbnet's core (`RouteHandle::apply`, pipelined),
//! - lbnet's export engine (`Exporter::apply`, one batch; and `Exporter::update` one by one),
//! - lbnet's Go binding (`routeexport.Exporter.Apply`),
//! - vishvananda/netlink's `RouteReplace`/`RouteDel` loop (what Go daemons and the GoBGP fork
//!   use), both Go clients from `benches/route/go`,
//! - `ip -batch`,
//! - a floor: the same messages encoded before the clock starts and sent pipelined over one
//!   socket (what the kernel itself costs; no client can do better),
//!
//! for 100,000 and 1,000,000 IPv4 routes, 100,000 IPv6 routes, and 100,000 IPv4 routes that
//! share one nexthop object (Linux 5.3+; replacing the object moves every route in one
//! message). Prints a table with ratios to lbnet's core and writes it to
//! `benches/results/route.md`. Run with `make bench-route`.

#[path = "../../../../core/tests/route_util/mod.rs"]
mod route_util;

use std::fmt::Write as _;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use lbnet::export::{ExportConfig, Exporter, Path, Rule, Target};
use lbnet::netlink::message::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use lbnet::netlink::{Requests, Socket, SocketOptions};
use lbnet::route::codec;
use lbnet::route::{
    NextHops, Nexthop, NexthopKind, Prefix, Route, RouteFilter, RouteHandle, RouteOp, RTPROT_BGP,
};
use route_util::TestNs;

/// One workload: which prefixes, which gateways, nexthop objects or not.
struct Case {
    name: String,
    prefixes: Vec<Prefix>,
    v6: bool,
    nhobj: bool,
}

/// Measurements: (case, client, op) -> time for all routes.
#[derive(Default)]
struct Table {
    rows: Vec<(String, String, String, usize, Duration)>,
}

impl Table {
    fn add(&mut self, case: &Case, client: &str, op: &str, d: Duration) {
        let n = case.prefixes.len();
        println!(
            "{:<26} {client:<34} {op:<8} {:>10.1} ms {:>8.2} us/route",
            case.name,
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() * 1e6 / n as f64
        );
        self.rows
            .push((case.name.clone(), client.into(), op.into(), n, d));
    }

    fn get(&self, case: &str, client: &str, op: &str) -> Option<Duration> {
        self.rows
            .iter()
            .find(|r| r.0 == case && r.1 == client && r.2 == op)
            .map(|r| r.4)
    }
}

const CORE: &str = "lbnet core RouteHandle::apply";
const CLIENTS: &[&str] = &[
    CORE,
    "lbnet engine Exporter::apply",
    "lbnet engine Exporter::update x N",
    "lbnet Go Exporter.Apply",
    "vishvananda/netlink RouteReplace x N",
    "ip -batch",
    FLOOR,
];
const FLOOR: &str = "floor: prebuilt messages, pipelined";
/// Where the hand-written notes of benches/results/route.md start.
const NOTES: &str = "Notes on this run";

/// The order in which every client handles the prefixes: index `i` is prefix `i * 7919 mod n`
/// (7919 is prime and divides no n used here, so this is a permutation). BGP delivers a table in
/// no particular order, and the kernel's IPv4 trie is pathologically slow at deleting /24s in
/// ascending order (measured here: 100,000 deletes took 7.97 s in ascending order, 2.83 s
/// descending, 1.75 s shuffled, through `ip -batch`), so a sorted order would measure the trie,
/// not the clients. benches/route/go uses the same permutation.
fn order(i: u32, n: u32) -> u32 {
    ((i as u64 * 7919) % n as u64) as u32
}

fn v4_prefixes(n: u32) -> Vec<Prefix> {
    // /24s from 32.0.0.0 up (1M /24s fit below 48.0.0.0).
    (0..n)
        .map(|i| {
            let k = order(i, n);
            Prefix::new(Ipv4Addr::from(0x2000_0000u32 + (k << 8)).into(), 24).unwrap()
        })
        .collect()
}

fn v6_prefixes(n: u32) -> Vec<Prefix> {
    // 2001:db8:4000::/64 upwards, one /64 each.
    (0..n)
        .map(|i| {
            let a = (0x2001_0db8_4000_0000u128 + order(i, n) as u128) << 64;
            Prefix::new(Ipv6Addr::from(a).into(), 64).unwrap()
        })
        .collect()
}

fn gateways(v6: bool) -> (IpAddr, IpAddr) {
    if v6 {
        (
            "2001:db8:1::2".parse().unwrap(),
            "2001:db8:1::3".parse().unwrap(),
        )
    } else {
        ("10.1.0.2".parse().unwrap(), "10.1.0.3".parse().unwrap())
    }
}

fn count(h: &RouteHandle, v6: bool, table: u32) -> usize {
    h.dump(&RouteFilter {
        ipv6: Some(v6),
        table: Some(table),
        protocol: Some(RTPROT_BGP),
    })
    .unwrap()
    .len()
}

/// `ip -batch` of one verb over every prefix; returns the time of the `ip` process.
fn ip_batch(ns: &TestNs, case: &Case, verb: &str, table: u32, via: &str) -> Duration {
    let file =
        std::env::temp_dir().join(format!("lbnet-bench-{}-{verb}.batch", std::process::id()));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    // The family comes from the prefix (a batch line takes no -6).
    for p in &case.prefixes {
        if verb == "del" {
            writeln!(f, "route del {p} table {table} proto bgp metric 20").unwrap();
        } else {
            writeln!(
                f,
                "route {verb} {p} {via} table {table} proto bgp metric 20"
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

fn run_case(ns: &TestNs, h: &RouteHandle, oif: u32, case: &Case, table: &mut Table) {
    let n = case.prefixes.len();
    let (gw2, gw3) = gateways(case.v6);
    // Our core, table 100.
    let route = |p: &Prefix, gw: IpAddr, nh: u32| {
        let r = Route::new(*p).table(100).protocol(RTPROT_BGP).metric(20);
        if case.nhobj {
            r.nexthops(NextHops::Object(nh))
        } else {
            r.via(gw)
        }
    };
    if case.nhobj {
        for (id, gw) in [(1, gw2), (2, gw3)] {
            h.add_nexthop(&Nexthop {
                id,
                protocol: RTPROT_BGP,
                kind: NexthopKind::Hop {
                    gateway: Some(gw),
                    oif,
                    onlink: false,
                },
            })
            .unwrap();
        }
    }
    for (op, mk) in [
        (
            "install",
            &(|p: &Prefix| RouteOp::Add(route(p, gw2, 1))) as &dyn Fn(&Prefix) -> RouteOp,
        ),
        ("replace", &|p: &Prefix| RouteOp::Replace(route(p, gw3, 2))),
        ("withdraw", &|p: &Prefix| RouteOp::Delete(route(p, gw3, 2))),
    ] {
        let ops: Vec<RouteOp> = case.prefixes.iter().map(mk).collect();
        let t = Instant::now();
        let res = h.apply(&ops).unwrap();
        let d = t.elapsed();
        assert!(
            res.iter().all(|r| r.is_ok()),
            "{op}: {:?}",
            res.iter().find(|r| r.is_err())
        );
        table.add(case, CORE, op, d);
        let want = if op == "withdraw" { 0 } else { n };
        assert_eq!(count(h, case.v6, 100), want, "{} {op}", case.name);
    }
    // The floor, table 100 again (empty now): the same messages, encoded before the clock
    // starts, sent with one pipelined execute on a socket of its own.
    let mut sock = Socket::open(
        libc::NETLINK_ROUTE as isize,
        &SocketOptions {
            netns: ns.netns(),
            ..SocketOptions::default()
        },
    )
    .unwrap();
    for (op, flags) in [
        ("install", NLM_F_CREATE | NLM_F_EXCL),
        ("replace", NLM_F_CREATE | NLM_F_REPLACE),
        ("withdraw", 0),
    ] {
        let mut reqs = Requests::new();
        for p in &case.prefixes {
            let (gw, nh) = if op == "install" { (gw2, 1) } else { (gw3, 2) };
            let r = route(p, gw, nh);
            reqs.push_with(|b| {
                if op == "withdraw" {
                    codec::encode_del(&r, b)
                } else {
                    codec::encode_new(&r, flags, b)
                }
            })
            .unwrap();
        }
        let t = Instant::now();
        let res = sock.execute(&mut reqs).unwrap();
        let d = t.elapsed();
        assert!(res.iter().all(|r| r.is_ok()), "floor {op}");
        table.add(case, FLOOR, op, d);
        let want = if op == "withdraw" { 0 } else { n };
        assert_eq!(count(h, case.v6, 100), want, "floor {} {op}", case.name);
    }
    if case.nhobj {
        // With nexthop objects a next-hop change of every route is one message.
        let ops: Vec<RouteOp> = case
            .prefixes
            .iter()
            .map(|p| RouteOp::Add(route(p, gw2, 1)))
            .collect();
        assert!(h.apply(&ops).unwrap().iter().all(|r| r.is_ok()));
        let t = Instant::now();
        h.replace_nexthop(&Nexthop {
            id: 1,
            protocol: RTPROT_BGP,
            kind: NexthopKind::Hop {
                gateway: Some(gw3),
                oif,
                onlink: false,
            },
        })
        .unwrap();
        table.add(
            case,
            "lbnet core replace_nexthop (1 msg)",
            "replace",
            t.elapsed(),
        );
        assert_eq!(h.flush(100, RTPROT_BGP).unwrap(), n);
    }
    // ip -batch, table 200.
    let (via2, via3) = if case.nhobj {
        ("nhid 1".to_string(), "nhid 2".to_string())
    } else {
        (format!("via {gw2}"), format!("via {gw3}"))
    };
    table.add(
        case,
        "ip -batch",
        "install",
        ip_batch(ns, case, "add", 200, &via2),
    );
    assert_eq!(count(h, case.v6, 200), n);
    table.add(
        case,
        "ip -batch",
        "replace",
        ip_batch(ns, case, "replace", 200, &via3),
    );
    table.add(
        case,
        "ip -batch",
        "withdraw",
        ip_batch(ns, case, "del", 200, ""),
    );
    assert_eq!(count(h, case.v6, 200), 0);
    if case.nhobj {
        // The engine and the Go clients program gateways, not nexthop objects.
        h.delete_nexthop(1).unwrap();
        h.delete_nexthop(2).unwrap();
        return;
    }
    // The export engine, table 300: one batch (a BGP UPDATE burst), then one by one.
    let ex = Exporter::new(
        ExportConfig {
            netns: ns.netns(),
            dampening: Duration::ZERO,
            ..ExportConfig::default()
        },
        &[Rule::new("all", Target::Table(300))],
    )
    .unwrap();
    let path = |gw| Path {
        nexthop: gw,
        communities: vec![],
        large_communities: vec![],
        more_nexthops: vec![],
        device: None,
    };
    let (p2, p3) = (path(gw2), path(gw3));
    for (op, p) in [
        ("install", Some(&p2)),
        ("replace", Some(&p3)),
        ("withdraw", None),
    ] {
        let changes: Vec<(Prefix, Option<&Path>)> = case.prefixes.iter().map(|x| (*x, p)).collect();
        let t = Instant::now();
        ex.apply(&changes).unwrap();
        table.add(case, "lbnet engine Exporter::apply", op, t.elapsed());
    }
    assert_eq!(count(h, case.v6, 300), 0);
    if n <= 100_000 {
        for (op, p) in [("install", &p2), ("replace", &p3)] {
            let t = Instant::now();
            for x in &case.prefixes {
                ex.update(*x, p).unwrap();
            }
            table.add(case, "lbnet engine Exporter::update x N", op, t.elapsed());
        }
        assert_eq!(count(h, case.v6, 300), n);
        let t = Instant::now();
        for x in &case.prefixes {
            ex.withdraw(*x).unwrap();
        }
        table.add(
            case,
            "lbnet engine Exporter::update x N",
            "withdraw",
            t.elapsed(),
        );
        assert_eq!(count(h, case.v6, 300), 0);
    }
    assert_eq!(ex.stats().errors, 0);
    drop(ex);
    // The Go clients (tables 400 and 500), same namespace, same prefixes.
    let Ok(bin) = std::env::var("LBNET_ROUTE_GO_BENCH") else {
        println!("(LBNET_ROUTE_GO_BENCH not set: Go measurements skipped; use make bench-route)");
        return;
    };
    let fam = if case.v6 { "6" } else { "4" };
    let out = std::process::Command::new(&bin)
        .args(["-netns", &ns.name, "-n", &n.to_string(), "-family", fam])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{bin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Lines: ROW <client>|<op>|<nanoseconds>
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(rest) = line.strip_prefix("ROW ") else {
            continue;
        };
        let f: Vec<&str> = rest.split('|').collect();
        assert_eq!(f.len(), 3, "{line}");
        table.add(
            case,
            f[0],
            f[1],
            Duration::from_nanos(f[2].parse().unwrap()),
        );
    }
}

fn markdown(t: &Table, cases: &[Case]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Time per route in microseconds (lower is better) and, in brackets, each client's time \
         divided by lbnet core's for the same case and operation (above 1: slower than ours).\n"
    );
    let _ = writeln!(s, "| case | operation | {} |", CLIENTS.join(" | "));
    let _ = writeln!(s, "|---|---|{}", "---|".repeat(CLIENTS.len()));
    for c in cases {
        for op in ["install", "replace", "withdraw"] {
            let base = t.get(&c.name, CORE, op);
            let cells: Vec<String> = CLIENTS
                .iter()
                .map(|cl| match (t.get(&c.name, cl, op), base) {
                    (Some(d), Some(b)) => format!(
                        "{:.2} ({:.2}x)",
                        d.as_secs_f64() * 1e6 / c.prefixes.len() as f64,
                        d.as_secs_f64() / b.as_secs_f64()
                    ),
                    _ => "n/a".into(),
                })
                .collect();
            let _ = writeln!(s, "| {} | {op} | {} |", c.name, cells.join(" | "));
        }
        if let Some(d) = t.get(&c.name, "lbnet core replace_nexthop (1 msg)", "replace") {
            let _ = writeln!(
                s,
                "| {} | replace by changing the shared nexthop object (1 message) | {:.1} ms in all | | | | | |",
                c.name,
                d.as_secs_f64() * 1e3
            );
        }
    }
    s
}

#[test]
#[ignore = "benchmark: make bench-route"]
fn bench_routes() {
    let ns = TestNs::new("bench");
    let oif = ns.veth();
    let h = RouteHandle::open(&ns.netns()).unwrap();
    let big: u32 = std::env::var("LBNET_ROUTE_BENCH_BIG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut cases = vec![
        Case {
            name: "IPv4 100,000".into(),
            prefixes: v4_prefixes(100_000),
            v6: false,
            nhobj: false,
        },
        Case {
            name: "IPv6 100,000".into(),
            prefixes: v6_prefixes(100_000),
            v6: true,
            nhobj: false,
        },
        Case {
            name: "IPv4 100,000 nexthop object".into(),
            prefixes: v4_prefixes(100_000),
            v6: false,
            nhobj: true,
        },
    ];
    if big > 0 {
        cases.push(Case {
            name: format!("IPv4 {big}"),
            prefixes: v4_prefixes(big),
            v6: false,
            nhobj: false,
        });
    }
    let mut table = Table::default();
    for c in &cases {
        run_case(&ns, &h, oif, c, &mut table);
    }
    let md = markdown(&table, &cases);
    println!("\n{md}");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let date = std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let header = format!(
        "# Route programming: lbnet against vishvananda/netlink and ip -batch\n\n\
         Measured by `make bench-route` (benches/route/rust/tests/route_bench.rs) on {date}, \
         kernel {}, {} CPUs ({cpu}), one network namespace, routes via a veth neighbour, table \
         ids above 255, protocol 186, metric 20. All clients ran in the same process run one \
         after the other; the machine is a shared 2-core VM, so compare ratios, not absolute \
         times.\n\n",
        kernel.trim(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    let path = std::env::var("LBNET_BENCH_RESULTS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../results/route.md").into());
    if let Some(dir) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    // Hand-written notes (from the line starting with NOTES on) survive a new run, below the
    // new table, so whoever commits the table sees them and can bring them up to date.
    let notes = std::fs::read_to_string(&path)
        .ok()
        .and_then(|old| old.find(NOTES).map(|i| old[i..].to_string()))
        .map(|n| format!("\n{n}"))
        .unwrap_or_default();
    std::fs::write(&path, header + &md + &notes).unwrap();
    println!("written to {path}");
}
