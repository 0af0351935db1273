//! Memory per exported route, measured with a counting allocator against the real kernel.

mod route_util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use lbnet::route::export::{ExportConfig, Exporter, Path, Rule, Target};
use lbnet::route::Prefix;
use route_util::TestNs;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

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
}

#[global_allocator]
static A: Counting = Counting;

fn measure(ns: &TestNs, rule: Rule, prefixes: &[Prefix], path: &Path) -> (f64, Exporter) {
    let ex = Exporter::new(
        ExportConfig {
            netns: ns.netns(),
            dampening: Duration::ZERO,
            watch: false,
            ..ExportConfig::default()
        },
        &[rule],
    )
    .unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    let t = Instant::now();
    for p in prefixes {
        ex.update(*p, path).unwrap();
    }
    let took = t.elapsed();
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

#[test]
fn memory_per_exported_route() {
    const N: u32 = 100_000;
    let ns = TestNs::new("mem");
    ns.veth();
    let path = Path {
        nexthop: "10.1.0.2".parse().unwrap(),
        communities: vec![],
        large_communities: vec![],
    };
    let prefixes: Vec<Prefix> = (0..N)
        .map(|i| {
            Prefix::new(
                std::net::Ipv4Addr::from(0x2000_0000u32 + (i << 8)).into(),
                24,
            )
            .unwrap()
        })
        .collect();
    // A rule that matches nothing: the engine only keeps the paths (its RIB).
    let mut none = Rule::new("none", Target::Table(101));
    none.communities = vec!["65000:1".parse().unwrap()];
    let (rib_only, ex_none) = measure(&ns, none, &prefixes, &path);
    assert_eq!(ex_none.exported_count(), 0);
    drop(ex_none);
    // A rule that exports everything: RIB plus export state.
    let (total, ex) = measure(&ns, Rule::new("all", Target::Table(100)), &prefixes, &path);
    assert_eq!(ex.exported_count(), N as usize);
    assert_eq!(ex.stats().errors, 0);
    println!(
        "memory per exported route: {total:.1} bytes in all = {rib_only:.1} (path kept for re-evaluation) + {:.1} (export state)",
        total - rib_only
    );
    assert!(rib_only > 0.0 && total > rib_only);
    assert!(
        total - rib_only < 100.0,
        "export state {} bytes per route",
        total - rib_only
    );
    assert_eq!(ex.flush().unwrap(), N as usize);
    assert_eq!(ns.routes("100").len(), 0);
}
