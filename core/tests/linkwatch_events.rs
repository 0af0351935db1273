//! Link events against the host kernel, in a private network namespace: veth links created,
//! flapped, renamed, re-MTU'd, aliased, enslaved, moved out and deleted.

mod linkwatch_util;

use std::time::Duration;

use lbnet::linkwatch::{Changes, Event, LinkWatcher, OperState, WatchOptions};
use linkwatch_util::{as_ip, Consumer, Ns};

const WAIT: Duration = Duration::from_secs(10);

fn watcher(ns: &Ns) -> LinkWatcher {
    LinkWatcher::new(WatchOptions {
        netns: ns.netns(),
        ..WatchOptions::default()
    })
    .unwrap()
}

#[test]
fn veth_lifecycle_is_reported_with_the_right_fields() {
    let ns = Ns::new("ev");
    let other = Ns::new("ev-other");
    let mut w = watcher(&ns);
    let snap = w.snapshot();
    assert_eq!(snap.len(), 1, "{snap:?}");
    assert_eq!(snap[0].name, "lo");
    assert_eq!(snap[0].index, 1);
    let mut c = Consumer::new(&w);

    // Created.
    ns.ip("link add a0 type veth peer name b0");
    c.until(&mut w, WAIT, "a0 and b0 added", |t| {
        t.values()
            .filter(|l| l.name == "a0" || l.name == "b0")
            .count()
            == 2
    });
    let a0 = c.by_name("a0").unwrap().clone();
    let k = ns.kernel_links();
    assert_eq!(a0.kind.as_deref(), Some("veth"));
    assert_eq!(a0.mtu, 1500);
    assert!(!a0.admin_up);
    assert_eq!(a0.mac_string(), k[&a0.index].mac);
    assert_eq!(a0.mac.len(), 6);
    assert!(c
        .events
        .iter()
        .any(|e| matches!(e, Event::Added(l) if l.name == "a0")));

    // Up: admin, then carrier/oper (linkwatch may batch it up to a second later).
    ns.ip("link set a0 up");
    ns.ip("link set b0 up");
    c.until(&mut w, WAIT, "a0 oper up", |t| {
        t[&a0.index].oper_state == OperState::Up && t[&a0.index].carrier == Some(true)
    });
    let up = &c.table[&a0.index];
    assert!(up.admin_up && up.lower_up);
    assert!(c.events.iter().any(|e| matches!(e,
        Event::Changed { new, changes, .. }
            if new.index == a0.index && changes.contains(Changes::ADMIN) && new.admin_up)));

    // Down on one side: the peer loses carrier.
    c.events.clear();
    ns.ip("link set a0 down");
    let b0 = c.by_name("b0").unwrap().index;
    c.until(&mut w, WAIT, "b0 loses carrier", |t| {
        !t[&a0.index].admin_up && t[&b0].carrier == Some(false) && !t[&b0].lower_up
    });
    assert!(c.events.iter().any(|e| matches!(e,
        Event::Changed { old, new, changes }
            if new.index == a0.index && old.admin_up && !new.admin_up
                && changes.contains(Changes::ADMIN))));
    assert_eq!(c.table[&a0.index].oper_state, OperState::Down);

    // Renamed: same ifindex, NAME in the change set.
    c.events.clear();
    ns.ip("link set a0 name a1");
    c.until(&mut w, WAIT, "rename", |t| t[&a0.index].name == "a1");
    let rename = c
        .events
        .iter()
        .find_map(|e| match e {
            Event::Changed { old, new, changes } if changes.contains(Changes::NAME) => {
                Some((old.clone(), new.clone(), *changes))
            }
            _ => None,
        })
        .expect("a Changed event with NAME");
    assert_eq!(rename.0.name, "a0");
    assert_eq!(rename.1.name, "a1");
    assert_eq!(rename.1.index, a0.index);
    assert!(!c.events.iter().any(|e| matches!(e, Event::Removed(_))));

    // MTU and alias.
    c.events.clear();
    ns.ip("link set a1 mtu 9000");
    c.until(&mut w, WAIT, "mtu", |t| t[&a0.index].mtu == 9000);
    assert!(c.events.iter().any(|e| matches!(e,
        Event::Changed { old, new, changes }
            if changes.contains(Changes::MTU) && !changes.contains(Changes::NAME)
                && old.mtu == 1500 && new.mtu == 9000)));
    // The kernel notifies an alias change only on a link that is up (netdev_state_change).
    ns.ip("link set a1 up");
    ns.ip("link set a1 alias uplink-1");
    c.until(&mut w, WAIT, "alias", |t| {
        t[&a0.index].alias.as_deref() == Some("uplink-1")
    });

    // Enslaved to a bridge: MASTER; leaving the bridge is not a removal (AF_BRIDGE DELLINK).
    ns.ip("link add br0 type bridge");
    c.until(&mut w, WAIT, "bridge", |t| {
        t.values().any(|l| l.name == "br0")
    });
    let br0 = c.by_name("br0").unwrap().clone();
    assert_eq!(br0.kind.as_deref(), Some("bridge"));
    c.events.clear();
    ns.ip("link set a1 master br0");
    c.until(&mut w, WAIT, "master", |t| {
        t[&a0.index].master == Some(br0.index)
    });
    ns.ip("link set a1 nomaster");
    c.until(&mut w, WAIT, "nomaster", |t| t[&a0.index].master.is_none());
    assert!(!c.events.iter().any(|e| matches!(e, Event::Removed(_))));
    assert!(c.table.contains_key(&a0.index));

    // Moved to another namespace: RTM_DELLINK here.
    ns.ip("link add m0 type veth peer name m1");
    c.until(&mut w, WAIT, "m0", |t| t.values().any(|l| l.name == "m1"));
    let m1 = c.by_name("m1").unwrap().index;
    c.events.clear();
    ns.ip(&format!("link set m1 netns {}", other.name));
    c.until(&mut w, WAIT, "m1 moved out", |t| !t.contains_key(&m1));
    assert!(c
        .events
        .iter()
        .any(|e| matches!(e, Event::Removed(l) if l.index == m1 && l.name == "m1")));

    // Deleted: both ends of the pair go.
    c.events.clear();
    ns.ip("link del a1");
    c.until(&mut w, WAIT, "a1 and b0 removed", |t| {
        !t.contains_key(&a0.index) && !t.contains_key(&b0)
    });
    let removed: Vec<&str> = c
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Removed(l) => Some(l.name.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        removed.contains(&"a1") && removed.contains(&"b0"),
        "{removed:?}"
    );

    // The consumer's view, the watcher's snapshot and the kernel agree.
    c.drain(&mut w, Duration::from_millis(1500));
    let snap: std::collections::HashMap<_, _> =
        w.snapshot().into_iter().map(|l| (l.index, l)).collect();
    assert_eq!(as_ip(&c.table), ns.kernel_links());
    assert_eq!(as_ip(&snap), ns.kernel_links());
    assert_eq!(w.stats().resyncs, 0);
    assert!(w.stats().events as usize >= 10);
}

#[test]
fn links_present_before_the_watcher_are_in_the_first_snapshot() {
    let ns = Ns::new("pre");
    ns.ip("link add p0 type veth peer name p1");
    ns.ip("link set p0 up");
    ns.ip("link set p0 mtu 4000");
    let w = watcher(&ns);
    let snap: std::collections::HashMap<_, _> =
        w.snapshot().into_iter().map(|l| (l.index, l)).collect();
    assert_eq!(snap.len(), 3);
    assert_eq!(as_ip(&snap), ns.kernel_links());
    assert!(w.stats().rcvbuf >= 2 * lbnet::linkwatch::DEFAULT_WATCH_RCVBUF as u64);
}

#[test]
fn missing_namespace_is_an_error() {
    let err = LinkWatcher::new(WatchOptions {
        netns: lbnet::netns::NetNs::Path("/nonexistent/netns".into()),
        ..WatchOptions::default()
    })
    .unwrap_err();
    assert_eq!(err.errno(), libc::ENOENT);
}

#[test]
fn host_namespace_speed_matches_sysfs() {
    // Reads only: the host's own links are never changed.
    let w = LinkWatcher::new(WatchOptions::default()).unwrap();
    let snap = w.snapshot();
    assert!(snap.iter().any(|l| l.name == "lo" && l.index == 1));
    for l in &snap {
        let sysfs = std::fs::read_to_string(format!("/sys/class/net/{}/speed", l.name))
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|&v| v > 0)
            .map(|v| v as u32);
        assert_eq!(l.speed_mbps, sysfs, "{}", l.name);
    }
}
