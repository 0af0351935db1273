//! Route programming against the running kernel, each test in its own network namespace.

mod route_util;

use lbnet::error::RouteOperation;
use lbnet::route::{
    Hop, NextHops, Nexthop, NexthopKind, Route, RouteFilter, RouteHandle, RouteOp, RouteType,
    RTPROT_BGP,
};
use lbnet::{ErrorKind, Origin, Subsystem};
use route_util::TestNs;
use serde_json::Value;

fn find<'a>(routes: &'a [Value], dst: &str) -> &'a Value {
    routes
        .iter()
        .find(|r| r["dst"] == dst)
        .unwrap_or_else(|| panic!("{dst} not in {routes:?}"))
}

fn r(dst: &str) -> Route {
    Route::new(dst.parse().unwrap())
        .table(100)
        .protocol(RTPROT_BGP)
        .metric(20)
}

#[test]
fn every_route_kind_lands_with_its_attributes() {
    let ns = TestNs::new("kinds");
    let dev = ns.veth();
    let h = RouteHandle::open(&ns.netns()).unwrap();
    let ops = vec![
        RouteOp::Add(r("198.51.100.0/24").via("10.1.0.2".parse().unwrap())),
        RouteOp::Add(
            r("198.51.101.0/24")
                .table(100_000)
                .via("10.1.0.2".parse().unwrap()),
        ),
        RouteOp::Add(r("2001:db8:100::/48").via("2001:db8:1::2".parse().unwrap())),
        RouteOp::Add(r("198.51.102.0/24").nexthops(NextHops::Single(Hop {
            oif: Some(dev),
            ..Hop::via("2001:db8:1::2".parse().unwrap())
        }))),
        RouteOp::Add(
            r("198.51.103.0/24")
                .nexthops(NextHops::Single(Hop::dev(dev)))
                .prefsrc("10.1.0.1".parse().unwrap()),
        ),
        RouteOp::Add(r("198.51.104.0/24").nexthops(NextHops::Single(Hop {
            oif: Some(dev),
            onlink: true,
            ..Hop::via("192.0.2.1".parse().unwrap())
        }))),
        RouteOp::Add(r("198.51.105.0/24").nexthops(NextHops::Multipath(vec![
            Hop {
                weight: 1,
                ..Hop::via("10.1.0.2".parse().unwrap())
            },
            Hop {
                weight: 5,
                ..Hop::via("10.1.0.3".parse().unwrap())
            },
        ]))),
        RouteOp::Add(r("198.51.106.0/24").kind(RouteType::Blackhole)),
        RouteOp::Add(r("198.51.107.0/24").kind(RouteType::Unreachable)),
        RouteOp::Add(r("2001:db8:200::/48").kind(RouteType::Blackhole).metric(7)),
    ];
    for (i, res) in h.apply(&ops).unwrap().into_iter().enumerate() {
        res.unwrap_or_else(|e| panic!("op {i}: {e}"));
    }
    let t100 = ns.routes("100");
    let a = find(&t100, "198.51.100.0/24");
    assert_eq!(a["gateway"], "10.1.0.2");
    assert_eq!(a["protocol"], "bgp");
    assert_eq!(a["metric"], 20);
    let big = ns.routes("100000");
    assert_eq!(find(&big, "198.51.101.0/24")["gateway"], "10.1.0.2");
    assert_eq!(find(&t100, "2001:db8:100::/48")["gateway"], "2001:db8:1::2");
    let via = find(&t100, "198.51.102.0/24");
    assert_eq!(via["via"]["family"], "inet6");
    assert_eq!(via["via"]["host"], "2001:db8:1::2");
    let src = find(&t100, "198.51.103.0/24");
    assert_eq!(src["prefsrc"], "10.1.0.1");
    assert_eq!(src["dev"], "veth0");
    assert_eq!(src["scope"], "link");
    let onlink = find(&t100, "198.51.104.0/24");
    assert!(onlink["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "onlink"));
    let mp = find(&t100, "198.51.105.0/24");
    let hops = mp["nexthops"].as_array().unwrap();
    assert_eq!(hops.len(), 2);
    assert_eq!(hops[0]["gateway"], "10.1.0.2");
    assert_eq!(hops[0]["weight"], 1);
    assert_eq!(hops[1]["gateway"], "10.1.0.3");
    assert_eq!(hops[1]["weight"], 5);
    assert_eq!(find(&t100, "198.51.106.0/24")["type"], "blackhole");
    assert_eq!(find(&t100, "198.51.107.0/24")["type"], "unreachable");
    let bh6 = find(&t100, "2001:db8:200::/48");
    assert_eq!(bh6["type"], "blackhole");
    assert_eq!(bh6["metric"], 7);

    // Our dump reads the same back.
    let ours = h
        .dump(&RouteFilter {
            table: Some(100),
            ..Default::default()
        })
        .unwrap();
    let mp = ours
        .iter()
        .find(|k| k.route.dst.to_string() == "198.51.105.0/24")
        .unwrap();
    // The kernel fills in the device it resolved for each gateway.
    let NextHops::Multipath(back) = &mp.route.nexthops else {
        panic!("not multipath: {mp:?}")
    };
    let NextHops::Multipath(sent) = &ops[6].route().nexthops else {
        unreachable!()
    };
    assert_eq!(back.len(), 2);
    for (b, s) in back.iter().zip(sent) {
        assert_eq!(
            (b.gateway, b.weight, b.oif),
            (s.gateway, s.weight, Some(dev))
        );
    }
    assert_eq!(ours.len(), 9);

    // Replace moves the route to another gateway; still one route for the key.
    h.replace(&r("198.51.100.0/24").via("10.1.0.9".parse().unwrap()))
        .unwrap();
    let t100 = ns.routes("100");
    let n = t100
        .iter()
        .filter(|r| r["dst"] == "198.51.100.0/24")
        .count();
    assert_eq!(n, 1);
    assert_eq!(find(&t100, "198.51.100.0/24")["gateway"], "10.1.0.9");
    // Add of an existing key: EEXIST.
    let e = h
        .add(&r("198.51.100.0/24").via("10.1.0.2".parse().unwrap()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Exists);
    assert!(e.to_string().contains("198.51.100.0/24"), "{e}");
    // Delete removes exactly it; deleting it again is NotFound.
    h.delete(&r("198.51.100.0/24")).unwrap();
    assert!(!ns
        .routes("100")
        .iter()
        .any(|r| r["dst"] == "198.51.100.0/24"));
    assert_eq!(
        h.delete(&r("198.51.100.0/24")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// A delete of a missing route through `apply` is the kernel's `ESRCH`, kind NotFound (it once
/// read as IPVS's "no such service"), with the route operation as its origin and the batch
/// transport's error as its source.
#[test]
fn a_failed_delete_through_apply_is_not_found() {
    let ns = TestNs::new("delmiss");
    ns.veth();
    let h = RouteHandle::open(&ns.netns()).unwrap();
    let ops = [
        RouteOp::Add(r("198.51.110.0/24").via("10.1.0.2".parse().unwrap())),
        RouteOp::Delete(r("198.51.111.0/24")),
        RouteOp::Delete(r("198.51.110.0/24")),
    ];
    let res = h.apply(&ops).unwrap();
    assert!(res[0].is_ok() && res[2].is_ok(), "{res:?}");
    let e = res[1].as_ref().unwrap_err();
    assert_eq!(
        (e.kind(), e.errno()),
        (ErrorKind::NotFound, libc::ESRCH),
        "{e}"
    );
    assert_eq!(e.origin(), Origin::Route(RouteOperation::Delete));
    assert_eq!(e.origin().subsystem(), Subsystem::Route);
    assert!(
        e.to_string().starts_with("delete route 198.51.111.0/24"),
        "{e}"
    );
    let inner = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<lbnet::Error>())
        .expect("the transport error is the source");
    assert_eq!(inner.origin().subsystem(), Subsystem::Netlink);
    assert_eq!(inner.errno(), libc::ESRCH);
}

trait OpRoute {
    fn route(&self) -> &Route;
}
impl OpRoute for RouteOp {
    fn route(&self) -> &Route {
        match self {
            RouteOp::Add(r) | RouteOp::Replace(r) | RouteOp::Delete(r) => r,
        }
    }
}

#[test]
fn nexthop_objects_and_groups_are_shared_by_many_routes() {
    let ns = TestNs::new("nh");
    let dev = ns.veth();
    let h = RouteHandle::open(&ns.netns()).unwrap();
    let hop = |id, gw: &str| Nexthop {
        id,
        protocol: RTPROT_BGP,
        kind: NexthopKind::Hop {
            gateway: Some(gw.parse().unwrap()),
            oif: dev,
            onlink: false,
        },
    };
    let res = h
        .apply_nexthops(&[
            (hop(10, "10.1.0.2"), false),
            (hop(11, "10.1.0.3"), false),
            (
                Nexthop {
                    id: 20,
                    protocol: RTPROT_BGP,
                    kind: NexthopKind::Group(vec![(10, 1), (11, 3)]),
                },
                false,
            ),
        ])
        .unwrap();
    for x in res {
        x.unwrap();
    }
    let ops: Vec<RouteOp> = (0..50)
        .map(|i| RouteOp::Add(r(&format!("203.0.{i}.0/24")).nexthops(NextHops::Object(20))))
        .collect();
    for x in h.apply(&ops).unwrap() {
        x.unwrap();
    }
    let t = ns.routes("100");
    assert_eq!(t.len(), 50);
    assert!(t.iter().all(|r| r["nhid"] == 20), "{t:?}");
    let nhs = ns.ip_json(&["nexthop", "show"]);
    let g = nhs.iter().find(|n| n["id"] == 20).unwrap();
    let grp = g["group"].as_array().unwrap();
    assert_eq!(grp.len(), 2);
    assert_eq!(grp[1]["id"], 11);
    assert_eq!(grp[1]["weight"], 3);
    let ours = h.nexthops().unwrap();
    assert_eq!(ours.len(), 3);
    assert!(ours.contains(&hop(10, "10.1.0.2")));
    // Replacing nexthop 10 moves every route that uses the group.
    h.replace_nexthop(&hop(10, "10.1.0.7")).unwrap();
    let nh10 = ns.ip_json(&["nexthop", "show", "id", "10"]);
    assert_eq!(nh10[0]["gateway"], "10.1.0.7");
    // A nexthop on a device that does not exist: the kernel's own message comes back.
    let e = h
        .add_nexthop(&Nexthop {
            id: 30,
            protocol: RTPROT_BGP,
            kind: NexthopKind::Hop {
                gateway: Some("10.1.0.2".parse().unwrap()),
                oif: 99_999,
                onlink: false,
            },
        })
        .unwrap_err();
    let ext = e.ext_ack().expect("kernel ext-ack text").to_lowercase();
    assert!(ext.contains("device"), "{e}");
    // Deleting the group removes the routes using it.
    h.delete_nexthop(20).unwrap();
    assert!(ns.routes("100").is_empty());
    assert_eq!(h.delete_nexthop(20).unwrap_err().errno(), libc::ENOENT);
}

#[test]
fn dumps_filter_by_table_and_protocol_and_flush_spares_other_daemons() {
    let ns = TestNs::new("flt");
    ns.veth();
    let h = RouteHandle::open(&ns.netns()).unwrap();
    // Another daemon's routes: same table, one with the very key of ours but another metric,
    // one in another table, one IPv6.
    ns.ip_line("route add 198.51.100.0/24 via 10.1.0.2 table 100 proto static metric 5");
    ns.ip_line("route add 198.51.110.0/24 via 10.1.0.2 table 100 proto zebra");
    ns.ip_line("route add 198.51.100.0/24 via 10.1.0.2 table 101 proto bgp metric 20");
    ns.ip_line("-6 route add 2001:db8:300::/48 via 2001:db8:1::2 table 100 proto static");
    let ops: Vec<RouteOp> = vec![
        RouteOp::Add(r("198.51.100.0/24").via("10.1.0.2".parse().unwrap())),
        RouteOp::Add(r("198.51.120.0/24").via("10.1.0.2".parse().unwrap())),
        RouteOp::Add(r("2001:db8:400::/48").via("2001:db8:1::2".parse().unwrap())),
    ];
    for x in h.apply(&ops).unwrap() {
        x.unwrap();
    }
    let ours = h
        .dump(&RouteFilter {
            ipv6: None,
            table: Some(100),
            protocol: Some(RTPROT_BGP),
        })
        .unwrap();
    let mut dsts: Vec<String> = ours.iter().map(|k| k.route.dst.to_string()).collect();
    dsts.sort();
    assert_eq!(
        dsts,
        ["198.51.100.0/24", "198.51.120.0/24", "2001:db8:400::/48"]
    );
    assert!(ours
        .iter()
        .all(|k| k.route.table == 100 && k.route.metric == 20));
    // A table that does not exist: empty, not an error.
    assert!(h
        .dump(&RouteFilter {
            table: Some(4242),
            ..Default::default()
        })
        .unwrap()
        .is_empty());
    // Deleting "our" key of the static route's prefix with metric 5 names our protocol: the
    // kernel finds no such route and the static one stays.
    assert!(h.delete(&r("198.51.100.0/24").metric(5)).is_err());
    // Flush removes ours only.
    assert_eq!(h.flush(100, RTPROT_BGP).unwrap(), 3);
    let left = ns.routes("100");
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.iter().all(|r| r["protocol"] != "bgp"));
    assert_eq!(ns.routes("101").len(), 1);
    assert_eq!(h.flush(100, RTPROT_BGP).unwrap(), 0);
}

#[test]
fn many_routes_pipelined_with_every_ack_checked() {
    let ns = TestNs::new("pipe");
    ns.veth();
    let h = RouteHandle::open(&ns.netns()).unwrap();
    let mut ops: Vec<RouteOp> = (0..5000u32)
        .map(|i| {
            RouteOp::Add(
                r(&format!("10.{}.{}.0/24", 100 + i / 256, i % 256))
                    .via("10.1.0.2".parse().unwrap()),
            )
        })
        .collect();
    // One bad route in the middle: a gateway not on any link.
    ops[2500] = RouteOp::Add(r("10.200.0.0/24").via("192.0.2.99".parse().unwrap()));
    let res = h.apply(&ops).unwrap();
    assert_eq!(res.len(), 5000);
    for (i, x) in res.iter().enumerate() {
        if i == 2500 {
            let e = x.as_ref().unwrap_err();
            assert_eq!(e.errno(), libc::ENETUNREACH, "{e}");
        } else {
            x.as_ref().unwrap();
        }
    }
    let n = h
        .dump(&RouteFilter {
            ipv6: Some(false),
            table: Some(100),
            protocol: Some(RTPROT_BGP),
        })
        .unwrap()
        .len();
    assert_eq!(n, 4999);
    assert_eq!(ns.routes("100").len(), 4999);
}
