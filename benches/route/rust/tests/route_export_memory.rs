//! Memory per exported route, measured with a counting allocator against the real kernel.
//!
//! Issue 5's target: under 100 bytes of engine memory per exported route, everything the
//! engine keeps included (the best path it holds for re-evaluation and the export state).
//! Hash tables grow by powers of two, so 100,000 routes (131,072 buckets at most 7/8 full)
//! and 1,000,000 routes (2,097,152 buckets, under half full) are both measured.
//!
//! Prefixes usually share few paths (a peer sends one path for many prefixes); the cost of
//! distinct paths is measured too: 100,000 prefixes over 1,000 and over 100,000 distinct paths
//! (same gateway, a community that differs). With `LBNET_ROUTE_MEM_OUT` set, every measurement
//! is also appended to that file as `MEM|label|bytes per route|prefix and path|export` for
//! `make bench-route`, which puts them into benches/results/route.md.

#[path = "../../../../core/tests/route_util/mod.rs"]
mod route_util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lbnet::export::{ExportConfig, Exporter, Path, Rule, Target};
use lbnet::route::Prefix;
use route_util::TestNs;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

/// The counter is process-wide: the tests of this file take turns.
static SERIAL: Mutex<()> = Mutex::new(());

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// How the engine runs in a measurement.
#[derive(Clone, Copy, PartialEq)]
enum Config {
    /// No dampening, no watching: only the routes' state.
    Bare,
    /// The defaults: a 100 ms dampening window and next-hop re-validation on kernel changes.
    Default,
}

/// Exports `prefixes` (prefix `i` with `paths[i % paths.len()]`) under `rules` (in batches, as
/// BGP UPDATE bursts come) and returns the engine's live heap growth per prefix, with the
/// engine.
fn measure(
    ns: &TestNs,
    cfg: Config,
    rules: &[Rule],
    prefixes: &[Prefix],
    paths: &[Path],
) -> (f64, Exporter) {
    let config = match cfg {
        Config::Bare => ExportConfig {
            netns: ns.netns(),
            dampening: Duration::ZERO,
            watch: false,
            ..ExportConfig::default()
        },
        Config::Default => ExportConfig {
            netns: ns.netns(),
            ..ExportConfig::default()
        },
    };
    let ex = Exporter::new(config, rules).unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    let t = Instant::now();
    for (c, chunk) in prefixes.chunks(1000).enumerate() {
        let changes: Vec<(Prefix, Option<&Path>)> = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, Some(&paths[(c * 1000 + i) % paths.len()])))
            .collect();
        ex.apply(&changes).unwrap();
    }
    let took = t.elapsed();
    if cfg == Config::Default {
        // The dampening window's bookkeeping of the burst is the engine's to drop when the
        // window has passed (the background thread does it), not to keep.
        std::thread::sleep(Duration::from_millis(1000));
        // A re-validation the burst asked for (lost notifications) runs now, not while the
        // heap is read.
        ex.settle().unwrap();
    }
    // The batch vectors above are freed; what is left is the engine's.
    let after = LIVE.load(Ordering::Relaxed);
    println!(
        "{} updates in {:.2?} ({:.1} us each), {} exported",
        prefixes.len(),
        took,
        took.as_secs_f64() * 1e6 / prefixes.len() as f64,
        ex.exported_count()
    );
    ((after - before) as f64 / prefixes.len() as f64, ex)
}

/// Measures the engine's memory per route for `prefixes` (all via `gw`, a neighbour on the
/// namespace's veth, over `distinct` distinct paths) exported by `rules` rules (each into its
/// own table) and checks the total is under `budget` bytes per exported route.
#[allow(clippy::too_many_arguments)]
fn per_route(
    label: &str,
    cfg: Config,
    prefixes: &[Prefix],
    gw: IpAddr,
    communities: bool,
    rules: usize,
    distinct: u32,
    budget: f64,
) {
    let n = prefixes.len();
    let ns = TestNs::new("mem");
    ns.veth();
    // Communities as BGP sends them: the same set on every path of a peer; distinct paths
    // differ in a third community.
    let paths: Vec<Path> = (0..distinct)
        .map(|k| {
            if communities {
                let mut c = vec!["65000:100".parse().unwrap(), "65000:200".parse().unwrap()];
                if distinct > 1 {
                    c.push(
                        format!("{}:{}", 65001 + k / 65536, k % 65536)
                            .parse()
                            .unwrap(),
                    );
                }
                Path {
                    nexthop: gw,
                    communities: c,
                    large_communities: vec!["65000:1:2".parse().unwrap()],
                    more_nexthops: vec![],
                    device: None,
                }
            } else {
                Path {
                    nexthop: gw,
                    communities: vec![],
                    large_communities: vec![],
                    more_nexthops: vec![],
                    device: None,
                }
            }
        })
        .collect();
    // A rule that matches nothing: the engine only keeps the paths (its RIB).
    let mut none = Rule::new("none", Target::Table(101));
    none.communities = vec!["65000:1".parse().unwrap()];
    let (rib_only, ex_none) = measure(&ns, cfg, &[none], prefixes, &paths);
    assert_eq!(ex_none.exported_count(), 0);
    drop(ex_none);
    // Rules that export everything: RIB plus export state.
    let all: Vec<Rule> = (0..rules)
        .map(|i| Rule::new(format!("all{i}"), Target::Table(100 + 2 * i as u32)))
        .collect();
    let (per_prefix, ex) = measure(&ns, cfg, &all, prefixes, &paths);
    assert_eq!(ex.exported_count(), n * rules);
    assert_eq!(ex.stats().errors, 0);
    let total = per_prefix / rules as f64;
    let rib_only = rib_only / rules as f64;
    println!(
        "{label}: memory per exported route: {total:.1} bytes in all = {rib_only:.1} (the prefix \
         and its path, kept for re-evaluation) + {:.1} (added by the export)",
        total - rib_only
    );
    if let Ok(out) = std::env::var("LBNET_ROUTE_MEM_OUT") {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)
            .unwrap();
        writeln!(
            f,
            "MEM|{label}|{total:.1}|{rib_only:.1}|{:.1}",
            total - rib_only
        )
        .unwrap();
    }
    assert!(rib_only > 0.0 && total > 0.0);
    assert!(
        total < budget,
        "{label}: {total:.1} bytes per exported route ({rib_only:.1} prefix and path + {:.1} \
         added by the export)",
        total - rib_only
    );
    assert_eq!(ex.flush().unwrap(), n * rules);
    for i in 0..rules {
        assert_eq!(ns.routes(&(100 + 2 * i).to_string()).len(), 0);
    }
}

fn v4(n: u32) -> Vec<Prefix> {
    // /24s from 32.0.0.0 up (1M /24s fit below 48.0.0.0).
    (0..n)
        .map(|i| Prefix::new(Ipv4Addr::from(0x2000_0000u32 + (i << 8)).into(), 24).unwrap())
        .collect()
}

#[test]
fn memory_per_exported_route() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let gw = "10.1.0.2".parse().unwrap();
    let p = v4(100_000);
    per_route(
        "IPv4 100,000, no communities",
        Config::Bare,
        &p,
        gw,
        false,
        1,
        1,
        100.0,
    );
    per_route(
        "IPv4 100,000, 3 communities",
        Config::Bare,
        &p,
        gw,
        true,
        1,
        1,
        100.0,
    );
    per_route(
        "IPv4 100,000, 3 communities, dampening and watching on",
        Config::Default,
        &p,
        gw,
        true,
        1,
        1,
        100.0,
    );
    // Every prefix into two tables: two exported routes per prefix.
    per_route(
        "IPv4 100,000, 3 communities, two rules",
        Config::Bare,
        &p,
        gw,
        true,
        2,
        1,
        100.0,
    );
}

#[test]
fn memory_per_exported_route_ipv6() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let prefixes: Vec<Prefix> = (0..100_000u128)
        .map(|i| {
            Prefix::new(
                Ipv6Addr::from((0x2001_0db8_4000_0000u128 + i) << 64).into(),
                64,
            )
            .unwrap()
        })
        .collect();
    per_route(
        "IPv6 100,000, 3 communities",
        Config::Bare,
        &prefixes,
        "2001:db8:1::2".parse().unwrap(),
        true,
        1,
        1,
        100.0,
    );
}

#[test]
fn memory_per_exported_route_1m() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    per_route(
        "IPv4 1,000,000, 3 communities, dampening and watching on",
        Config::Default,
        &v4(1_000_000),
        "10.1.0.2".parse().unwrap(),
        true,
        1,
        1,
        100.0,
    );
}

/// 100,000 prefixes over 1,000 and over 100,000 distinct paths (the shared-path cases above have
/// one). A distinct path costs its interned attributes once (gateway, boxed communities,
/// reference count, hash chain); with one per prefix that is most of the cost. The budgets
/// are ceilings that catch a regression, not the measured values (printed, and written to
/// benches/results/route.md by `make bench-route`).
#[test]
fn memory_per_exported_route_distinct_paths() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let gw = "10.1.0.2".parse().unwrap();
    let p = v4(100_000);
    per_route(
        "IPv4 100,000 over 1,000 distinct paths, 3 communities",
        Config::Bare,
        &p,
        gw,
        true,
        1,
        1000,
        100.0,
    );
    per_route(
        "IPv4 100,000 over 100,000 distinct paths, 3 communities",
        Config::Bare,
        &p,
        gw,
        true,
        1,
        100_000,
        250.0,
    );
}
