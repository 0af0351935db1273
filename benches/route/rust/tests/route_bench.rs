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
    /// Records a measurement; of repeated ones, the best (lowest) is kept.
    fn add(&mut self, case: &Case, client: &str, op: &str, d: Duration) {
        let n = case.prefixes.len();
        if let Some(r) = self
            .rows
            .iter_mut()
            .find(|r| r.0 == case.name && r.1 == client && r.2 == op)
        {
            println!(
                "{:<26} {client:<34} {op:<8} {:>10.1} ms (again)",
                case.name,
                d.as_secs_f64() * 1e3
            );
            r.4 = r.4.min(d);
            return;
        }
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
const ENGINE: &str = "lbnet engine Exporter::apply";
const CPU_CORE: &str = "cpu: lbnet core RouteHandle::apply";
const CPU_ENGINE: &str = "cpu: lbnet engine Exporter::apply";
const CLIENTS: &[&str] = &[
    CORE,
    ENGINE,
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

/// How many times the core and the engine's batch are measured (best kept): 3 at 100,000
/// routes, 1 above (`LBNET_ROUTE_BENCH_REPS` overrides).
fn reps(case: &Case) -> usize {
    reps_for(case.prefixes.len())
}

fn reps_for(n: usize) -> usize {
    std::env::var("LBNET_ROUTE_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if n <= 100_000 { 3 } else { 1 })
}

/// User plus system CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage fills the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a rusage struct.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let d = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    d(u.ru_utime) + d(u.ru_stime)
}

/// What a table must hold after a step.
#[derive(Clone, Copy)]
enum Want {
    /// Nothing of ours.
    Empty,
    /// Every prefix of the case via this gateway.
    Via(IpAddr),
    /// Every prefix of the case through nexthop object `id` (whose gateway is the address; the
    /// kernel's compat mode may report both).
    Nh(u32, IpAddr),
}

/// Checks a table against what a step must have left, by a dump (outside the clock): the
/// count, and for every route its prefix (one of the case's, each once), protocol, metric
/// and next hop. Every measured step of every client is checked.
fn check(h: &RouteHandle, case: &Case, table: u32, want: Want, what: &str) {
    let got = h
        .dump(&RouteFilter {
            ipv6: Some(case.v6),
            table: Some(table),
            protocol: None,
        })
        .unwrap();
    let what = format!("{} {what} (table {table})", case.name);
    if let Want::Empty = want {
        assert_eq!(got.len(), 0, "{what}: routes left");
        return;
    }
    assert_eq!(got.len(), case.prefixes.len(), "{what}: route count");
    let mut left: std::collections::HashSet<Prefix> = case.prefixes.iter().copied().collect();
    for k in &got {
        let r = &k.route;
        assert!(
            left.remove(&r.dst),
            "{what}: unexpected or repeated {}",
            r.dst
        );
        assert_eq!(
            (r.protocol, r.metric),
            (RTPROT_BGP, 20),
            "{what}: {}",
            r.dst
        );
        let ok = match (want, &r.nexthops) {
            (Want::Via(gw), NextHops::Single(hop)) => hop.gateway == Some(gw),
            (Want::Nh(id, _), NextHops::Object(o)) => *o == id,
            (Want::Nh(_, gw), NextHops::Single(hop)) => hop.gateway == Some(gw),
            _ => false,
        };
        assert!(ok, "{what}: {} has next hops {:?}", r.dst, r.nexthops);
    }
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
    // What the table holds after each operation.
    let want_after = |op: &str| match (op, case.nhobj) {
        ("install", false) => Want::Via(gw2),
        ("install", true) => Want::Nh(1, gw2),
        ("replace", false) => Want::Via(gw3),
        ("replace", true) => Want::Nh(2, gw3),
        _ => Want::Empty,
    };
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
    // The export engine, table 300, created now so its batches interleave with the core's.
    let ex = (!case.nhobj).then(|| {
        Exporter::new(
            ExportConfig {
                netns: ns.netns(),
                dampening: Duration::ZERO,
                ..ExportConfig::default()
            },
            &[Rule::new("all", Target::Table(300))],
        )
        .unwrap()
    });
    let path = |gw| Path {
        nexthop: gw,
        communities: vec![],
        large_communities: vec![],
        more_nexthops: vec![],
        device: None,
    };
    let (p2, p3) = (path(gw2), path(gw3));
    let engine_thread = ex.as_ref().map(|_| engine_tid());
    // The core and the engine's batch, each measured `reps` times, alternately (the machine is
    // shared: the best of several runs is compared); wall time and CPU time (this thread's
    // user and system time: the kernel does netlink work in the sender's context; for the
    // engine plus its background thread's).
    for _ in 0..reps(case) {
        for (op, mk) in [
            (
                "install",
                &(|p: &Prefix| RouteOp::Add(route(p, gw2, 1))) as &dyn Fn(&Prefix) -> RouteOp,
            ),
            ("replace", &|p: &Prefix| RouteOp::Replace(route(p, gw3, 2))),
            ("withdraw", &|p: &Prefix| RouteOp::Delete(route(p, gw3, 2))),
        ] {
            let ops: Vec<RouteOp> = case.prefixes.iter().map(mk).collect();
            let c = thread_cpu();
            let t = Instant::now();
            let res = h.apply(&ops).unwrap();
            let d = t.elapsed();
            let c = thread_cpu() - c;
            assert!(
                res.iter().all(|r| r.is_ok()),
                "{op}: {:?}",
                res.iter().find(|r| r.is_err())
            );
            table.add(case, CORE, op, d);
            table.add(case, CPU_CORE, op, c);
            check(h, case, 100, want_after(op), &format!("core {op}"));
        }
        let Some(ex) = &ex else { continue };
        let tid = engine_thread.as_deref().unwrap();
        for (op, p) in [
            ("install", Some(&p2)),
            ("replace", Some(&p3)),
            ("withdraw", None),
        ] {
            let changes: Vec<(Prefix, Option<&Path>)> =
                case.prefixes.iter().map(|x| (*x, p)).collect();
            let (c, bg) = (thread_cpu(), thread_cpu_ns(tid));
            let t = Instant::now();
            ex.apply(&changes).unwrap();
            let d = t.elapsed();
            // The background thread's share: what it did while the batch ran and right after
            // (notifications of the batch read once it returned).
            std::thread::sleep(Duration::from_millis(50));
            let c = thread_cpu() - c + Duration::from_nanos(thread_cpu_ns(tid) - bg);
            table.add(case, ENGINE, op, d);
            table.add(case, CPU_ENGINE, op, c);
            check(h, case, 300, want_after(op), &format!("engine apply {op}"));
        }
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
        check(h, case, 100, want_after(op), &format!("floor {op}"));
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
        check(h, case, 100, Want::Nh(1, gw3), "core replace_nexthop");
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
    check(h, case, 200, want_after("install"), "ip -batch install");
    table.add(
        case,
        "ip -batch",
        "replace",
        ip_batch(ns, case, "replace", 200, &via3),
    );
    check(h, case, 200, want_after("replace"), "ip -batch replace");
    table.add(
        case,
        "ip -batch",
        "withdraw",
        ip_batch(ns, case, "del", 200, ""),
    );
    check(h, case, 200, Want::Empty, "ip -batch withdraw");
    if case.nhobj {
        // The engine and the Go clients program gateways, not nexthop objects.
        h.delete_nexthop(1).unwrap();
        h.delete_nexthop(2).unwrap();
        return;
    }
    // The export engine, one by one.
    let Some(ex) = ex else { return };
    if n <= 100_000 {
        for (op, p) in [("install", &p2), ("replace", &p3)] {
            let t = Instant::now();
            for x in &case.prefixes {
                ex.update(*x, p).unwrap();
            }
            table.add(case, "lbnet engine Exporter::update x N", op, t.elapsed());
            check(h, case, 300, want_after(op), &format!("engine update {op}"));
        }
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
        check(h, case, 300, Want::Empty, "engine update withdraw");
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
         divided by lbnet core's for the same case and operation (above 1: slower than ours). \
         The core and the engine's batch ran alternately, {} times each at 100,000 routes and \
         {} times above; the best run is shown. The other clients ran once.\n",
        reps_for(100_000),
        reps_for(1_000_000)
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
    let _ = writeln!(
        s,
        "\nCPU time per route in microseconds (the sending thread's user and system time; the \
         kernel does its netlink work in the sender's context; for the engine plus its \
         background thread's), less sensitive to the neighbours' load than wall time, same \
         runs:\n\n| case | operation | lbnet core | lbnet engine Exporter::apply |\n|---|---|---|---|"
    );
    for c in cases {
        for op in ["install", "replace", "withdraw"] {
            let (Some(b), Some(e)) = (t.get(&c.name, CPU_CORE, op), t.get(&c.name, CPU_ENGINE, op))
            else {
                continue;
            };
            let per = |d: Duration| d.as_secs_f64() * 1e6 / c.prefixes.len() as f64;
            let _ = writeln!(
                s,
                "| {} | {op} | {:.2} (1.00x) | {:.2} ({:.2}x) |",
                c.name,
                per(b),
                per(e),
                e.as_secs_f64() / b.as_secs_f64()
            );
        }
    }
    s
}

/// CPU time of one thread of this process, in nanoseconds (first field of
/// /proc/self/task/TID/schedstat: time on a CPU).
fn thread_cpu_ns(tid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}

/// The thread id of the (only) export engine thread of this process (it names itself once
/// started: waited for).
fn engine_tid() -> String {
    let t = Instant::now();
    loop {
        let mut found = Vec::new();
        for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let tid = e.file_name().to_string_lossy().to_string();
            if std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .is_ok_and(|c| c.trim() == "lbnet-export")
            {
                found.push(tid);
            }
        }
        if found.len() == 1 || t.elapsed() > Duration::from_secs(5) {
            assert_eq!(found.len(), 1, "export engine threads: {found:?}");
            return found.pop().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Issue 13 item 5: announce-to-kernel latency with a large table, quiet and while another
/// protocol changes a route every 50 ms. The engine (default configuration: 100 ms dampening,
/// watching on) holds `size` routes; `PROBES` new prefixes are announced one at a time, 5 ms
/// apart (`Exporter::update` returns once the kernel acknowledged the route, so its duration is
/// announce-to-kernel, lock waits included). Then the same with a thread adding and deleting
/// 192.0.2.0/24 (protocol static, main table, unrelated to the gateway) every 50 ms, and the
/// engine thread's CPU over that time. Returns the markdown rows.
fn churn_bench(ns: &TestNs, h: &RouteHandle, oif: u32, size: u32) -> String {
    const PROBES: u32 = 500;
    let case = Case {
        name: format!("IPv4 {size} engine"),
        prefixes: v4_prefixes(size),
        v6: false,
        nhobj: false,
    };
    let gw: IpAddr = "10.1.0.2".parse().unwrap();
    let ex = Exporter::new(
        ExportConfig {
            netns: ns.netns(),
            ..ExportConfig::default()
        },
        &[Rule::new("all", Target::Table(600))],
    )
    .unwrap();
    let path = Path {
        nexthop: gw,
        communities: vec![],
        large_communities: vec![],
        more_nexthops: vec![],
        device: None,
    };
    let t = Instant::now();
    for chunk in case.prefixes.chunks(10_000) {
        let changes: Vec<(Prefix, Option<&Path>)> =
            chunk.iter().map(|p| (*p, Some(&path))).collect();
        ex.apply(&changes).unwrap();
    }
    println!("churn: {size} routes exported in {:.2?}", t.elapsed());
    check(h, &case, 600, Want::Via(gw), "churn setup");
    std::thread::sleep(Duration::from_secs(1));
    let tid = engine_tid();
    // Probe prefixes: /24s from 50.0.0.0, a fresh set per phase (no dampening history).
    let probes = |phase: u32| -> Vec<Prefix> {
        (0..PROBES)
            .map(|i| {
                Prefix::new(
                    Ipv4Addr::from(0x3200_0000u32 + ((phase * PROBES + i) << 8)).into(),
                    24,
                )
                .unwrap()
            })
            .collect()
    };
    let run_phase = |phase: u32| -> (Vec<Duration>, Duration, u64) {
        let ps = probes(phase);
        let (c0, t0) = (thread_cpu_ns(&tid), Instant::now());
        let mut lat = Vec::with_capacity(ps.len());
        for p in &ps {
            let t = Instant::now();
            ex.update(*p, &path).unwrap();
            lat.push(t.elapsed());
            std::thread::sleep(Duration::from_millis(5));
        }
        let (cpu, wall) = (thread_cpu_ns(&tid) - c0, t0.elapsed());
        // Every probe is in the kernel (one dump of the table), then withdrawn.
        let all = Case {
            name: case.name.clone(),
            prefixes: case.prefixes.iter().chain(&ps).copied().collect(),
            v6: false,
            nhobj: false,
        };
        check(h, &all, 600, Want::Via(gw), "churn probes");
        let w: Vec<(Prefix, Option<&Path>)> = ps.iter().map(|p| (*p, None)).collect();
        ex.apply(&w).unwrap();
        lat.sort();
        (lat, wall, cpu)
    };
    let quiet = run_phase(0);
    std::thread::sleep(Duration::from_secs(1));
    // The churn: another protocol's route, added and deleted every 50 ms.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (stop2, netns) = (stop.clone(), ns.netns());
    let churner = std::thread::spawn(move || {
        let h = RouteHandle::open(&netns).unwrap();
        let r = Route::new("192.0.2.0/24".parse().unwrap())
            .protocol(4)
            .nexthops(NextHops::Single(lbnet::route::Hop::dev(oif)));
        let mut n = 0u32;
        while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
            let op = if n.is_multiple_of(2) {
                RouteOp::Add(r.clone())
            } else {
                RouteOp::Delete(r.clone())
            };
            assert!(h.apply(&[op]).unwrap().iter().all(|x| x.is_ok()));
            n += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        if !n.is_multiple_of(2) {
            h.apply(&[RouteOp::Delete(r)]).unwrap();
        }
        n
    });
    std::thread::sleep(Duration::from_millis(200));
    let churn = run_phase(1);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let changes = churner.join().unwrap();
    check(h, &case, 600, Want::Via(gw), "churn end");
    let st = ex.stats();
    assert_eq!(st.errors, 0, "{:?}", st.last_error_message);
    assert_eq!(ex.flush().unwrap(), size as usize);
    drop(ex);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let row = |label: &str, (lat, wall, cpu): &(Vec<Duration>, Duration, u64)| {
        format!(
            "| {size} | {label} | {} | {:.2} | {:.2} | {:.2} | {:.2} % ({:.1} ms in {:.2} s) |",
            lat.len(),
            ms(percentile(lat, 0.5)),
            ms(percentile(lat, 0.99)),
            ms(*lat.last().unwrap()),
            *cpu as f64 / wall.as_nanos() as f64 * 100.0,
            *cpu as f64 / 1e6,
            wall.as_secs_f64()
        )
    };
    let ratio = percentile(&churn.0, 0.99).as_secs_f64() / percentile(&quiet.0, 0.99).as_secs_f64();
    println!("churn: {changes} foreign route changes, p99 ratio {ratio:.2}");
    format!(
        "Announce-to-kernel latency with {size} exported routes (issue 13 item 5): `Exporter::update` \
         of one new prefix, {PROBES} of them 5 ms apart, default configuration (100 ms dampening, \
         watching on); engine thread CPU from /proc/self/task/TID/schedstat over the phase. \
         Churn: another protocol (static) adds or deletes 192.0.2.0/24 in the main table every \
         50 ms ({changes} changes during the run), unrelated to the routes' gateway.\n\n\
         | exported routes | phase | announcements | p50 ms | p99 ms | max ms | engine thread CPU |\n\
         |---|---|---|---|---|---|---|\n{}\n{}\n\n\
         p99 with churn / p99 quiet: **{ratio:.2}x** (target 1.2x).\n",
        row("quiet", &quiet),
        row("foreign route changing every 50 ms", &churn)
    )
}

/// The memory rows written by route_export_memory (`make bench-route` runs it first with
/// `LBNET_ROUTE_MEM_OUT`).
fn memory_rows() -> String {
    let Some(rows) = std::env::var("LBNET_ROUTE_MEM_ROWS")
        .ok()
        .and_then(|f| std::fs::read_to_string(f).ok())
    else {
        return String::new();
    };
    let mut s = String::from(
        "Engine memory per exported route (benches/route/rust/tests/route_export_memory.rs, \
         counting allocator, live heap growth per route exported into a network namespace, \
         release build, same `make bench-route` run):\n\n\
         | case | bytes per route | the prefix and its path | added by the export |\n|---|---|---|---|\n",
    );
    for l in rows.lines() {
        let f: Vec<&str> = l.split('|').collect();
        if f.len() == 5 && f[0] == "MEM" {
            let _ = writeln!(s, "| {} | {} | {} | {} |", f[1], f[2], f[3], f[4]);
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
    let churn_size: u32 = std::env::var("LBNET_ROUTE_CHURN_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150_000);
    let mut md = markdown(&table, &cases);
    if churn_size > 0 {
        md += "\n";
        md += &churn_bench(&ns, &h, oif, churn_size);
    }
    let mem = memory_rows();
    if !mem.is_empty() {
        md += "\n";
        md += &mem;
    }
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
         times. Every measured step of every client is checked by a dump of its table (count, \
         and every route's prefix, protocol, metric and next hop).\n\n",
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
