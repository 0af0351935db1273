//! The export engine against the running kernel, each test in its own network namespace.

mod route_util;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lbnet::export::{Community, ExportConfig, Exporter, LargeCommunity, Path, Rule, Target};
use lbnet::route::{NextHops, Prefix, RouteFilter, RouteHandle};
use route_util::TestNs;
use serde_json::Value;

fn cfg(ns: &TestNs) -> ExportConfig {
    ExportConfig {
        netns: ns.netns(),
        dampening: Duration::ZERO,
        ..ExportConfig::default()
    }
}

fn path(gw: &str, comms: &[&str], large: &[&str]) -> Path {
    Path {
        nexthop: gw.parse().unwrap(),
        communities: comms.iter().map(|c| c.parse().unwrap()).collect(),
        large_communities: large.iter().map(|c| c.parse().unwrap()).collect(),
        more_nexthops: vec![],
        device: None,
    }
}

fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn get<'a>(routes: &'a [Value], dst: &str) -> Option<&'a Value> {
    routes.iter().find(|r| r["dst"] == dst)
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(15) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

fn rule(name: &str, table: u32) -> Rule {
    Rule::new(name, Target::Table(table))
}

#[test]
fn paths_go_to_every_matching_rule_and_follow_the_best_path() {
    let ns = TestNs::new("exp");
    ns.veth();
    let mut c1 = rule("c1", 200);
    c1.communities = vec![Community::new(65000, 1), Community::new(65000, 2)];
    c1.metric = 30;
    let mut large = rule("large", 300);
    large.large_communities = vec!["4200000000:1:1".parse::<LargeCommunity>().unwrap()];
    let ex = Exporter::new(cfg(&ns), &[rule("all", 100), c1, large]).unwrap();
    let p = pfx("198.51.100.0/24");
    ex.update(p, &path("10.1.0.2", &["65000:2"], &[])).unwrap();
    ex.update(
        pfx("2001:db8:100::/48"),
        &path("2001:db8:1::2", &[], &["4200000000:1:1"]),
    )
    .unwrap();
    let t100 = ns.routes("100");
    let a = get(&t100, "198.51.100.0/24").unwrap();
    assert_eq!(a["gateway"], "10.1.0.2");
    assert_eq!(a["protocol"], "bgp");
    assert_eq!(a["metric"], 20);
    let b = get(&ns.routes("200"), "198.51.100.0/24").unwrap().clone();
    assert_eq!(b["metric"], 30);
    assert!(get(&ns.routes("300"), "198.51.100.0/24").is_none());
    assert_eq!(
        get(&ns.routes("300"), "2001:db8:100::/48").unwrap()["gateway"],
        "2001:db8:1::2"
    );
    assert!(get(&ns.routes("200"), "2001:db8:100::/48").is_none());
    // New best path: both tables follow.
    ex.update(p, &path("10.1.0.3", &["65000:1"], &[])).unwrap();
    assert_eq!(
        get(&ns.routes("100"), "198.51.100.0/24").unwrap()["gateway"],
        "10.1.0.3"
    );
    assert_eq!(
        get(&ns.routes("200"), "198.51.100.0/24").unwrap()["gateway"],
        "10.1.0.3"
    );
    // Listing: one entry per (table, prefix, rule).
    let list = ex.exported();
    assert_eq!(list.len(), 4);
    let e = list.iter().find(|e| e.rule == "c1").unwrap();
    assert_eq!((e.table, e.metric, e.prefix), (200, 30, p));
    assert_eq!(e.gateway, Some("10.1.0.3".parse::<IpAddr>().unwrap()));
    assert!(e.exported_at.elapsed().unwrap() < Duration::from_secs(60));
    // The path loses the community: gone from 200, still in 100.
    ex.update(p, &path("10.1.0.3", &[], &[])).unwrap();
    assert!(get(&ns.routes("200"), "198.51.100.0/24").is_none());
    assert!(get(&ns.routes("100"), "198.51.100.0/24").is_some());
    // Withdrawal: gone everywhere.
    ex.withdraw(p).unwrap();
    assert!(get(&ns.routes("100"), "198.51.100.0/24").is_none());
    let rs = ex.rule_stats();
    assert_eq!(rs[0].0, "all");
    assert_eq!(rs[0].1.exported, 3); // 198.51.100.0/24 twice, 2001:db8:100::/48 once
    assert_eq!(rs[1].1.exported, 2);
    assert_eq!(rs[1].1.withdrawn, 1);
    assert!(rs[1].1.last_withdraw.is_some());
    assert_eq!(rs[2].1.exported, 1);
    let s = ex.stats();
    assert_eq!(s.errors, 0, "{:?}", s.last_error_message);
    assert!(s.nexthop_validations >= 6);
    // An unchanged path causes no syscall.
    let ops = ex.stats().kernel_ops;
    ex.update(
        pfx("2001:db8:100::/48"),
        &path("2001:db8:1::2", &[], &["4200000000:1:1"]),
    )
    .unwrap();
    assert_eq!(ex.stats().kernel_ops, ops);
}

#[test]
fn unreachable_next_hops_are_withheld_and_come_back_with_the_gateway() {
    let ns = TestNs::new("nhv");
    ns.veth();
    let mut noval = rule("noval", 101);
    noval.validate_nexthop = false;
    let ex = Exporter::new(cfg(&ns), &[rule("val", 100), noval]).unwrap();
    let p = pfx("198.51.100.0/24");
    // The unvalidated rule's export fails in the kernel: the caller gets the kernel's error.
    let e = ex.update(p, &path("10.9.9.9", &[], &[])).unwrap_err();
    assert_eq!(e.errno(), libc::ENETUNREACH, "{e}");
    assert!(ns.routes("100").is_empty());
    let st = ex.rule_stats();
    // At least once: the watcher may re-validate already (asynchronous link and address
    // notifications of the veth set-up arrive late under the kernel lab's TCG).
    assert!(st[0].1.nexthop_failures >= 1, "{:?}", st[0].1);
    // Validation off: the kernel itself refuses the unreachable gateway (no route covers it,
    // so there is no device to put it onlink on); its error is kept (at least once, as above).
    assert!(st[1].1.errors >= 1, "{:?}", st[1].1);
    assert!(
        st[1]
            .1
            .last_error_message
            .as_deref()
            .unwrap()
            .contains("198.51.100.0/24"),
        "{:?}",
        st[1].1.last_error_message
    );
    // The gateway becomes directly reachable: the watcher re-validates, the route lands.
    // A gateway reached only through another gateway does not count (the kernel refuses it).
    ns.ip_line("route add 10.9.9.0/24 via 10.1.0.2 proto static");
    ex.revalidate().unwrap();
    assert!(ns.routes("100").is_empty());
    ns.ip(&["route", "del", "10.9.9.0/24"]);
    ns.ip(&["addr", "add", "10.9.9.1/24", "dev", "veth0"]);
    wait_until("route after gateway became reachable", || {
        get(&ns.routes("100"), "198.51.100.0/24").is_some()
    });
    assert_eq!(
        get(&ns.routes("100"), "198.51.100.0/24").unwrap()["gateway"],
        "10.9.9.9"
    );
    // And leaves when the gateway goes.
    ns.ip(&["addr", "del", "10.9.9.1/24", "dev", "veth0"]);
    wait_until("withdrawal after gateway became unreachable", || {
        ns.routes("100").is_empty()
    });
    // Link down / up with a directly connected gateway.
    let q = pfx("198.51.101.0/24");
    let _ = ex.update(q, &path("10.1.0.2", &[], &[])); // the 10.9.9.9 retry may fail
    assert!(get(&ns.routes("100"), "198.51.101.0/24").is_some());
    ns.ip(&["link", "set", "veth0", "down"]);
    wait_until("withdrawal on link down", || {
        ex.exported()
            .iter()
            .all(|e| e.prefix != q || e.rule != "val")
    });
    assert!(get(&ns.routes("100"), "198.51.101.0/24").is_none());
    ns.ip(&["link", "set", "veth0", "up"]);
    wait_until("route back on link up", || {
        get(&ns.routes("100"), "198.51.101.0/24").is_some()
    });
    // The kernel removed it on link down (without a notification); we noticed, and the
    // withdrawal of the first prefix is ours.
    assert!(ex.rule_stats()[0].1.withdrawn >= 1);
    // The rule without validation lost its route to the kernel on link down; it is put back.
    wait_until("unvalidated route back after link up", || {
        get(&ns.routes("101"), "198.51.101.0/24").is_some()
    });
}

#[test]
fn dampening_coalesces_and_the_cap_still_installs_a_flapping_prefix() {
    let ns = TestNs::new("damp");
    ns.veth();
    let ex = Exporter::new(
        ExportConfig {
            // Long enough that the updates below fall inside the window even on a slow
            // (emulated) machine.
            dampening: Duration::from_millis(1000),
            dampening_cap: Duration::from_millis(2000),
            ..cfg(&ns)
        },
        &[rule("all", 100)],
    )
    .unwrap();
    let p = pfx("198.51.100.0/24");
    // Kernel state read with our own dump: spawning `ip` is slow on emulated machines.
    let h = RouteHandle::open(&ns.netns()).unwrap();
    ex.update(p, &path("10.1.0.2", &[], &[])).unwrap();
    // The first update is immediate.
    let first = h
        .dump(&RouteFilter {
            table: Some(100),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(first.len(), 1);
    for gw in ["10.1.0.3", "10.1.0.4", "10.1.0.5"] {
        ex.update(p, &path(gw, &[], &[])).unwrap();
    }
    // Held back for now.
    let st = ex.stats();
    let now = h
        .dump(&RouteFilter {
            table: Some(100),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(st.dampened, 3);
    assert_eq!(st.exported, 1);
    assert_eq!(now.len(), 1);
    assert!(
        matches!(&now[0].route.nexthops, NextHops::Single(h) if h.gateway == Some("10.1.0.2".parse().unwrap())),
        "{now:?}"
    );
    // ...then only the last one goes out, once.
    wait_until("dampened update", || {
        get(&ns.routes("100"), "198.51.100.0/24").unwrap()["gateway"] == "10.1.0.5"
    });
    assert_eq!(ex.stats().exported, 2);
    // A prefix flapping every 50 ms for 5 s: the cap still installs it repeatedly.
    let q = pfx("198.51.101.0/24");
    let start = Instant::now();
    let mut i = 0;
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(5) {
        last = format!("10.1.0.{}", 10 + i % 3);
        ex.update(q, &path(&last, &[], &[])).unwrap();
        i += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let exported = ex.stats().exported - 2;
    assert!(exported >= 2, "only {exported} installs while flapping");
    assert!(exported < i / 2, "{exported} installs for {i} updates");
    // Once it settles, the last update is what the kernel has.
    wait_until("last flapping update", || {
        get(&ns.routes("100"), "198.51.101.0/24").is_some_and(|r| r["gateway"] == last.as_str())
    });
}

#[test]
fn restart_keeps_routes_until_end_of_rib_and_flush_spares_others() {
    let ns = TestNs::new("rst");
    ns.veth();
    ns.ip_line("route add 203.0.113.0/24 via 10.1.0.2 table 100 proto static");
    {
        let ex = Exporter::new(cfg(&ns), &[rule("all", 100)]).unwrap();
        for p in ["198.51.100.0/24", "198.51.101.0/24", "198.51.102.0/24"] {
            ex.update(pfx(p), &path("10.1.0.2", &[], &[])).unwrap();
        }
        assert_eq!(ns.routes("100").len(), 4);
    } // dropped without flush: a crash or restart
    assert_eq!(ns.routes("100").len(), 4);
    let ex = Exporter::new(cfg(&ns), &[rule("all", 100)]).unwrap();
    // Nothing removed at start: no black hole while BGP re-learns.
    assert_eq!(ns.routes("100").len(), 4);
    ex.update(pfx("198.51.100.0/24"), &path("10.1.0.3", &[], &[]))
        .unwrap();
    ex.update(pfx("198.51.101.0/24"), &path("10.1.0.2", &[], &[]))
        .unwrap();
    assert_eq!(ex.end_of_rib().unwrap(), 1);
    let t = ns.routes("100");
    assert_eq!(t.len(), 3, "{t:?}");
    assert!(get(&t, "198.51.102.0/24").is_none());
    assert_eq!(get(&t, "198.51.100.0/24").unwrap()["gateway"], "10.1.0.3");
    assert!(get(&t, "203.0.113.0/24").is_some());
    drop(ex);
    // Delete-all-at-start: ours go at once, the static route stays.
    let ex = Exporter::new(
        ExportConfig {
            delete_all_at_start: true,
            ..cfg(&ns)
        },
        &[rule("all", 100)],
    )
    .unwrap();
    let t = ns.routes("100");
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["protocol"], "static");
    // Flush: everything we exported goes, nothing else.
    ex.update(pfx("198.51.100.0/24"), &path("10.1.0.2", &[], &[]))
        .unwrap();
    ex.update(pfx("2001:db8:5::/48"), &path("2001:db8:1::2", &[], &[]))
        .unwrap();
    assert_eq!(ns.routes("100").len(), 3);
    assert_eq!(ex.flush().unwrap(), 2);
    let t = ns.routes("100");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["dst"], "203.0.113.0/24");
    assert!(ex.exported().is_empty());
}

#[test]
fn reload_moves_routes_on_metric_table_and_match_changes() {
    let ns = TestNs::new("rld");
    ns.veth();
    let mut c = rule("comm", 200);
    c.communities = vec![Community::new(65000, 7)];
    let ex = Exporter::new(cfg(&ns), &[rule("all", 100), c.clone()]).unwrap();
    ex.update(pfx("198.51.100.0/24"), &path("10.1.0.2", &["65000:7"], &[]))
        .unwrap();
    ex.update(pfx("198.51.101.0/24"), &path("10.1.0.2", &[], &[]))
        .unwrap();
    assert_eq!(ns.routes("100").len(), 2);
    assert_eq!(ns.routes("200").len(), 1);
    let ops = ex.stats().kernel_ops;
    // Same rules: nothing to do, no syscall.
    ex.reload(&[rule("all", 100), c.clone()]).unwrap();
    assert_eq!(ex.stats().kernel_ops, ops);
    // Metric 20 -> 50: the metric-20 routes are removed, not left behind.
    let mut all = rule("all", 100);
    all.metric = 50;
    ex.reload(&[all.clone(), c.clone()]).unwrap();
    let t = ns.routes("100");
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t.iter().all(|r| r["metric"] == 50));
    // Table 200 -> 250 and a community the path lacks: moved / withdrawn.
    let mut c2 = c.clone();
    c2.target = Target::Table(250);
    ex.reload(&[all.clone(), c2]).unwrap();
    assert!(ns.routes("200").is_empty());
    assert_eq!(ns.routes("250").len(), 1);
    let mut c3 = c.clone();
    c3.target = Target::Table(250);
    c3.communities = vec![Community::new(65000, 8)];
    ex.reload(&[all, c3]).unwrap();
    assert!(ns.routes("250").is_empty());
    assert_eq!(ns.routes("100").len(), 2);
    // A bad rule set is refused and the old one stays.
    assert!(ex.reload(&[rule("x", 0)]).is_err());
    assert_eq!(ex.exported().len(), 2);
    // Dropping every rule withdraws everything.
    ex.reload(&[]).unwrap();
    assert!(ns.routes("100").is_empty());
}

/// VRF targets need the VRF module: not on the host kernel. Run in the kernel lab with
/// `LBNET_LAB=1 cargo test -p lbnet --test route_export -- --ignored vrf`.
#[test]
#[ignore = "needs a kernel with VRF (kernel lab)"]
fn vrf_target_resolves_its_table_and_validates_in_the_vrf() {
    let ns = TestNs::new("vrf");
    ns.ip(&["link", "add", "vrf-blue", "type", "vrf", "table", "1042"]);
    ns.ip(&["link", "set", "vrf-blue", "up"]);
    ns.ip(&[
        "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    ns.ip(&["link", "set", "veth0", "master", "vrf-blue"]);
    ns.ip(&["addr", "add", "10.1.0.1/24", "dev", "veth0"]);
    ns.ip(&["link", "set", "veth0", "up"]);
    ns.ip(&["link", "set", "veth1", "up"]);
    let ex = Exporter::new(
        cfg(&ns),
        &[Rule::new("blue", Target::Vrf("vrf-blue".into()))],
    )
    .unwrap();
    // Reachable in the VRF (connected there), though not in main.
    ex.update(pfx("198.51.100.0/24"), &path("10.1.0.2", &[], &[]))
        .unwrap();
    let t = ns.routes("1042");
    assert_eq!(get(&t, "198.51.100.0/24").unwrap()["gateway"], "10.1.0.2");
    // Not reachable in the VRF: withheld.
    ns.ip(&[
        "link", "add", "veth2", "type", "veth", "peer", "name", "veth3",
    ]);
    ns.ip(&["addr", "add", "10.50.0.1/24", "dev", "veth2"]);
    ns.ip(&["link", "set", "veth2", "up"]);
    ns.ip(&["link", "set", "veth3", "up"]);
    // 10.50.0.9 is connected in main, not in the VRF.
    ex.update(pfx("198.51.101.0/24"), &path("10.50.0.9", &[], &[]))
        .unwrap();
    assert!(get(&ns.routes("1042"), "198.51.101.0/24").is_none());
    assert!(ex.rule_stats()[0].1.nexthop_failures >= 1);
    // Not a VRF: refused.
    assert!(Exporter::new(cfg(&ns), &[Rule::new("x", Target::Vrf("veth0".into()))]).is_err());
    let vt = |name: &str, table: u32| {
        Rule::new(
            name,
            Target::VrfTable {
                vrf: "vrf-blue".into(),
                table,
            },
        )
    };
    assert!(Exporter::new(
        cfg(&ns),
        &[Rule::new(
            "x",
            Target::VrfTable {
                vrf: "veth0".into(),
                table: 7
            }
        )]
    )
    .is_err());
    // VRF and table (the fork's rule with both keys): the routes go into the table, the next
    // hop is validated in the VRF and must resolve in that table; without validation it goes
    // in onlink on the device the VRF reaches it through.
    drop(ex);
    let mut noval = vt("noval", 1044);
    noval.validate_nexthop = false;
    let ex = Exporter::new(cfg(&ns), &[vt("same", 1042), vt("other", 1043), noval]).unwrap();
    ex.update(pfx("198.51.104.0/24"), &path("10.1.0.2", &[], &[]))
        .unwrap();
    assert_eq!(
        get(&ns.routes("1042"), "198.51.104.0/24").unwrap()["gateway"],
        "10.1.0.2"
    );
    assert!(get(&ns.routes("1043"), "198.51.104.0/24").is_none());
    let t = ns.routes("1044");
    let r = get(&t, "198.51.104.0/24").unwrap();
    assert_eq!(r["dev"], "veth0", "{r}");
    assert!(
        r["flags"].as_array().unwrap().iter().any(|f| f == "onlink"),
        "{r}"
    );
}

#[test]
fn a_batch_of_changes_goes_pipelined() {
    let ns = TestNs::new("batch");
    ns.veth();
    let ex = Exporter::new(cfg(&ns), &[rule("all", 100)]).unwrap();
    let good = path("10.1.0.2", &[], &[]);
    let v4_via_v6 = path("2001:db8:1::2", &[], &[]);
    let bad = path("10.1.0.2", &[], &[]);
    let ps: Vec<Prefix> = (0..2000u32)
        .map(|i| {
            Prefix::new(
                std::net::Ipv4Addr::from(0x2000_0000u32 + (i << 8)).into(),
                24,
            )
            .unwrap()
        })
        .collect();
    let mut changes: Vec<(Prefix, Option<&Path>)> = ps.iter().map(|p| (*p, Some(&good))).collect();
    // An IPv6 prefix with an IPv4 next hop is refused; the rest still goes in.
    changes.push((pfx("2001:db8:9::/48"), Some(&bad)));
    let e = ex.apply(&changes).unwrap_err();
    assert_eq!(e.errno(), libc::EINVAL);
    assert_eq!(ns.routes("100").len(), 2000);
    let ops = ex.stats().kernel_ops;
    assert_eq!(ops, 2000);
    // Half withdrawn, half moved to an IPv6 gateway (RTA_VIA), in one call.
    let changes: Vec<(Prefix, Option<&Path>)> = ps
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, if i % 2 == 0 { None } else { Some(&v4_via_v6) }))
        .collect();
    ex.apply(&changes).unwrap();
    let t = ns.routes("100");
    assert_eq!(t.len(), 1000);
    assert!(
        t.iter().all(|r| r["via"]["host"] == "2001:db8:1::2"),
        "{:?}",
        t[0]
    );
    assert_eq!(ex.stats().kernel_ops, 4000);
    assert_eq!(ex.stats().withdrawn, 1000);
}

#[test]
fn reserved_protocols_are_refused_and_an_administrators_route_survives() {
    let ns = TestNs::new("prot");
    ns.veth();
    // What `ip route add` gives a route: protocol 3 (boot), here in the main table.
    ns.ip(&["route", "add", "203.0.113.0/24", "via", "10.1.0.2"]);
    let admin = |ns: &TestNs| {
        ns.ip_json(&["route", "show", "table", "254", "203.0.113.0/24"])
            .len()
    };
    assert_eq!(admin(&ns), 1);
    let open = |protocol| {
        Exporter::new(
            ExportConfig {
                protocol,
                delete_all_at_start: true,
                ..cfg(&ns)
            },
            &[rule("main", 254)],
        )
    };
    for protocol in [0u8, 1, 2, 3, 4, 255] {
        let e = open(protocol).unwrap_err();
        assert_eq!(e.kind(), lbnet::ErrorKind::InvalidArgument, "{e}");
        assert!(
            e.to_string()
                .contains(&format!("route protocol {protocol} ")),
            "{e}"
        );
        assert_eq!(admin(&ns), 1, "protocol {protocol} deleted the route");
    }
    // The first unreserved number and the default are accepted; the route stays.
    for protocol in [5u8, 186] {
        let ex = open(protocol).unwrap();
        assert_eq!(ex.protocol(), protocol);
        drop(ex);
        assert_eq!(admin(&ns), 1);
    }
}

/// Next-hop tracking with real kernel routes: a change by another protocol re-checks exactly
/// the routes whose gateway it can resolve (each re-check counts one next-hop validation), an
/// unrelated change (disjoint, or less specific than the resolving route) re-checks none, and
/// the re-checked routes follow their gateway (withdrawn when it goes, back when it returns).
#[test]
fn a_foreign_route_change_rechecks_only_the_routes_it_resolves() {
    let ns = TestNs::new("nht");
    ns.veth();
    // Gateway A (10.1.0.2) on the connected 10.1.0.0/24; gateway B (10.6.0.2) resolved by a
    // device route of another protocol.
    ns.ip_line("route add 10.6.0.0/24 dev veth0 proto static");
    let ex = Exporter::new(cfg(&ns), &[rule("val", 100)]).unwrap();
    let on = |gw: &str, base: u32, n: u32| -> Vec<Prefix> {
        (0..n)
            .map(|i| pfx(&format!("20.{base}.{i}.0/24")))
            .inspect(|p| ex.update(*p, &path(gw, &[], &[])).unwrap())
            .collect()
    };
    let a = on("10.1.0.2", 1, 50);
    let b = on("10.6.0.2", 2, 30);
    assert_eq!(ns.routes("100").len(), 80);
    let validations = || ex.stats().nexthop_validations;
    let settle = || std::thread::sleep(Duration::from_millis(400));
    // Address events (IPv6 link-local addresses leaving duplicate address detection) still
    // re-validate everything: let them pass first.
    wait_until("no tentative IPv6 address", || {
        ns.ip(&["-6", "addr", "show", "tentative"])
            .trim()
            .is_empty()
    });
    settle();
    let (v0, ops0) = (validations(), ex.stats().kernel_ops);
    // Unrelated changes: disjoint prefixes, and routes less specific than the resolving ones.
    for _ in 0..5 {
        for r in [
            "192.0.2.0/24",
            "10.1.0.0/16",
            "10.6.0.0/16",
            "2001:db8:9::/64",
        ] {
            ns.ip(&["route", "add", r, "dev", "veth0", "proto", "static"]);
            ns.ip(&["route", "del", r, "dev", "veth0", "proto", "static"]);
        }
    }
    settle();
    assert_eq!(validations(), v0, "unrelated changes re-checked routes");
    // A more specific route to B: B's 30 routes are re-checked, A's are not; nothing changes
    // in the kernel.
    ns.ip_line("route add 10.6.0.2/32 dev veth0 proto static");
    wait_until("B's routes re-checked", || validations() >= v0 + 30);
    settle();
    assert_eq!(validations(), v0 + 30);
    assert_eq!(ex.stats().kernel_ops, ops0);
    // B loses every route that resolves it: its routes are withdrawn, A's stay.
    ns.ip(&["route", "del", "10.6.0.2/32", "dev", "veth0"]);
    ns.ip(&["route", "del", "10.6.0.0/24", "dev", "veth0"]);
    wait_until("B's routes withdrawn", || ns.routes("100").len() == 50);
    let left = ns.routes("100");
    for p in &a {
        assert!(get(&left, &p.to_string()).is_some(), "{p} gone");
    }
    assert!(ex.stats().kernel_ops >= ops0 + 30);
    // B comes back (an unresolved gateway is affected by any route containing it).
    let v1 = validations();
    ns.ip_line("route add 10.6.0.0/24 dev veth0 proto static");
    wait_until("B's routes back", || ns.routes("100").len() == 80);
    for p in &b {
        assert_eq!(
            get(&ns.routes("100"), &p.to_string()).unwrap()["gateway"],
            "10.6.0.2"
        );
    }
    settle();
    assert_eq!(validations(), v1 + 30, "only B's routes were re-checked");
    assert_eq!(ex.stats().errors, 0, "{:?}", ex.stats().last_error_message);
}

fn gateways(r: &Value) -> Vec<String> {
    match r["nexthops"].as_array() {
        Some(hs) => hs
            .iter()
            .map(|h| h["gateway"].as_str().unwrap().to_string())
            .collect(),
        None => vec![r["gateway"].as_str().unwrap().to_string()],
    }
}

/// BGP multipath: the kernel route is a multipath route over exactly the path set's next
/// hops (duplicates dropped, unreachable ones left out under validation), and shrinks or
/// grows in place.
#[test]
fn multipath_routes_follow_the_set_of_next_hops() {
    let ns = TestNs::new("ecmp");
    ns.veth();
    let ex = Exporter::new(cfg(&ns), &[rule("all", 100)]).unwrap();
    let p = pfx("198.51.100.0/24");
    let mut two = path("10.1.0.2", &[], &[]);
    two.more_nexthops = vec![
        "10.1.0.3".parse().unwrap(),
        "10.1.0.2".parse().unwrap(),
        "10.9.9.9".parse().unwrap(), // unreachable: left out
    ];
    ex.update(p, &two).unwrap();
    let t = ns.routes("100");
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(gateways(&t[0]), ["10.1.0.2", "10.1.0.3"], "{t:?}");
    // One path withdrawn: the route changes, it is never removed.
    ex.update(p, &path("10.1.0.3", &[], &[])).unwrap();
    let t = ns.routes("100");
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(gateways(&t[0]), ["10.1.0.3"], "{t:?}");
    assert_eq!(ex.exported()[0].gateway, Some("10.1.0.3".parse().unwrap()));
    // Back to two, then the last path goes.
    ex.update(p, &two).unwrap();
    assert_eq!(gateways(&ns.routes("100")[0]), ["10.1.0.2", "10.1.0.3"]);
    ex.withdraw(p).unwrap();
    assert!(ns.routes("100").is_empty());
    // IPv6 too.
    let mut six = path("2001:db8:1::2", &[], &[]);
    six.more_nexthops = vec!["2001:db8:1::3".parse().unwrap()];
    ex.update(pfx("2001:db8:100::/48"), &six).unwrap();
    let t = ns.routes("100");
    assert_eq!(gateways(&t[0]), ["2001:db8:1::2", "2001:db8:1::3"], "{t:?}");
}

/// Next hops as the PureLB fork handles them: unvalidated ones go in `onlink` on the device
/// the kernel would use for them; a link-local one goes on the device the path names (and is
/// refused without one); `0.0.0.0` and `::` are refused.
#[test]
fn onlink_link_local_and_unspecified_next_hops() {
    let ns = TestNs::new("nhflags");
    let veth0 = ns.veth();
    let mut noval = rule("noval", 101);
    noval.validate_nexthop = false;
    let ex = Exporter::new(cfg(&ns), &[rule("val", 100), noval]).unwrap();
    // 10.9.9.9 is covered by a route through a gateway on veth0, not by a connected one: the
    // validated rule withholds it, the other installs it onlink on veth0.
    ns.ip(&["route", "add", "10.9.0.0/16", "via", "10.1.0.2"]);
    let p = pfx("198.51.100.0/24");
    ex.update(p, &path("10.9.9.9", &[], &[])).unwrap();
    assert!(ns.routes("100").is_empty());
    let t = ns.routes("101");
    let r = get(&t, "198.51.100.0/24").expect("onlink route");
    assert_eq!(r["gateway"], "10.9.9.9");
    assert_eq!(r["dev"], "veth0");
    assert!(
        r["flags"].as_array().unwrap().iter().any(|f| f == "onlink"),
        "{r}"
    );
    // Link-local next hop on the peer's interface (both rules).
    let q = pfx("2001:db8:200::/48");
    let mut ll = path("fe80::2", &[], &[]);
    let e = ex.update(q, &ll).unwrap_err();
    assert!(e.to_string().contains("link-local"), "{e}");
    ll.device = Some("veth0".into());
    ex.update(q, &ll).unwrap();
    for table in ["100", "101"] {
        let t = ns.routes(table);
        let r = get(&t, "2001:db8:200::/48").unwrap_or_else(|| panic!("table {table}: {t:?}"));
        assert_eq!(r["gateway"], "fe80::2");
        assert_eq!(r["dev"], "veth0");
    }
    assert_eq!(ns.ifindex("veth0"), veth0);
    ll.device = Some("no-such-dev".into());
    assert!(ex.update(q, &ll).is_err());
    // Unspecified next hops are refused before the kernel sees them.
    for nh in ["0.0.0.0", "::"] {
        let e = ex
            .update(pfx("203.0.113.0/24"), &path(nh, &[], &[]))
            .unwrap_err();
        assert!(e.to_string().contains("unspecified"), "{e}");
    }
    let mut more = path("10.1.0.2", &[], &[]);
    more.more_nexthops = vec!["0.0.0.0".parse().unwrap()];
    assert!(ex.update(pfx("203.0.113.0/24"), &more).is_err());
    assert!(get(&ns.routes("100"), "203.0.113.0/24").is_none());
}
