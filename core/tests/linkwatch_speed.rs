//! Speed and duplex (ethtool, read through sysfs) for a veth in a private network namespace.
//!
//! sysfs shows the namespace of whoever mounted it, so the test re-runs itself under
//! `unshare --net --mount` with a fresh sysfs mount: there the watcher's own namespace is the
//! private one and `/sys/class/net` lists its links. The host's interfaces are never touched.

mod linkwatch_util;

use std::process::Command;
use std::time::Duration;

use lbnet::linkwatch::{Changes, Duplex, Event, LinkWatcher, OperState, WatchOptions};
use linkwatch_util::{run, Consumer};

const CHILD_ENV: &str = "LBNET_LINKWATCH_SPEED_CHILD";

#[test]
fn veth_speed_and_duplex_come_from_ethtool_via_sysfs() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--net", "--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t sysfs sysfs /sys && exec "$0" --exact speed_child --ignored --nocapture"#)
        .arg(&exe)
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("1 passed"), "child did not run:\n{text}");
}

#[test]
#[ignore = "run by veth_speed_and_duplex_come_from_ethtool_via_sysfs in a private namespace"]
fn speed_child() {
    assert_eq!(
        std::env::var(CHILD_ENV).as_deref(),
        Ok("1"),
        "run only as a child"
    );
    let mut w = LinkWatcher::new(WatchOptions::default()).unwrap();
    let mut c = Consumer::new(&w);
    run(
        "ip",
        &["link", "add", "s0", "type", "veth", "peer", "name", "s1"],
    );
    c.until(&mut w, Duration::from_secs(10), "s0", |t| {
        t.values().any(|l| l.name == "s0")
    });
    // Down: the kernel answers EINVAL for the speed of a link that is not running.
    assert_eq!(c.by_name("s0").unwrap().speed_mbps, None);
    run("ip", &["link", "set", "s0", "up"]);
    run("ip", &["link", "set", "s1", "up"]);
    c.until(&mut w, Duration::from_secs(10), "s0 up", |t| {
        t.values()
            .any(|l| l.name == "s0" && l.oper_state == OperState::Up)
    });
    let s0 = c.by_name("s0").unwrap();
    // veth_get_link_ksettings: SPEED_10000, DUPLEX_FULL.
    assert_eq!(s0.speed_mbps, Some(10_000));
    assert_eq!(s0.duplex, Some(Duplex::Full));
    assert!(c.events.iter().any(|e| matches!(e,
        Event::Changed { new, changes, .. }
            if new.name == "s0" && changes.contains(Changes::SPEED))));
}
