//! portsyncd end to end: a real redis-server on a private Unix socket, veth "ports" in a
//! private network namespace, the daemon binary with a systemd notify socket.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn cold_start_flap_mtu_delete_and_port_init_done() {
    let dir = tmpdir("cold");
    let r = RedisServer::start(&dir);
    let ns = Ns::new("cold");
    configure_ports(&r, &["Ethernet0", "Ethernet4", "Ethernet8"]);
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");
    // The host interfaces are created after the start, as orchagent/syncd do.
    ns.ip("link add Ethernet0 type veth peer name p0");
    ns.ip("link add Ethernet4 type veth peer name p4");

    // CONFIG_DB copied to APPL_DB through the producer protocol (no consumer here: the entries
    // wait in the state hashes and the key set), PortConfigDone with the count.
    let e0 = r.hgetall(APPL_DB, "_PORT_TABLE:Ethernet0");
    assert_eq!(e0, r.hgetall(CONFIG_DB, "PORT|Ethernet0"));
    assert_eq!(e0["lanes"], "0,1");
    assert_eq!(
        r.hgetall(APPL_DB, "_PORT_TABLE:PortConfigDone")["count"],
        "3"
    );
    let keyset: Vec<String> = redis::cmd("SMEMBERS")
        .arg("PORT_TABLE_KEY_SET")
        .query(&mut r.conn(APPL_DB))
        .unwrap();
    assert_eq!(keyset.len(), 4, "{keyset:?}");
    wait_until(WAIT, "Ethernet0 state", || {
        r.exists(STATE_DB, "PORT_TABLE|Ethernet0")
    });
    let st = r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0");
    assert_eq!(st["state"], "ok");
    assert_eq!(st["admin_status"], "down");
    assert_eq!(st["netdev_oper_status"], "down");
    assert_eq!(st["mtu"], "1500");
    assert!(!r.exists(STATE_DB, "PORT_TABLE|Ethernet8"));
    // Ethernet8 has no netdev yet: no PortInitDone.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!r.exists(APPL_DB, "_PORT_TABLE:PortInitDone"));
    assert!(
        d.health().contains("port_init_done=false"),
        "{}",
        d.health()
    );

    ns.ip("link add Ethernet8 type veth peer name p8");
    wait_until(WAIT, "PortInitDone", || {
        r.exists(APPL_DB, "_PORT_TABLE:PortInitDone")
    });
    assert_eq!(r.hgetall(APPL_DB, "_PORT_TABLE:PortInitDone")["lanes"], "0");
    assert!(r.exists(STATE_DB, "PORT_TABLE|Ethernet8"));

    // Flap.
    ns.ip("link set p0 up");
    ns.ip("link set Ethernet0 up");
    wait_until(WAIT, "Ethernet0 up", || {
        let s = r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0");
        s["admin_status"] == "up" && s["netdev_oper_status"] == "up"
    });
    ns.ip("link set Ethernet0 down");
    wait_until(WAIT, "Ethernet0 down", || {
        let s = r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0");
        s["admin_status"] == "down" && s["netdev_oper_status"] == "down"
    });

    // MTU.
    ns.ip("link set Ethernet0 mtu 9100");
    wait_until(WAIT, "mtu 9100", || {
        r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0")["mtu"] == "9100"
    });

    // Rename (sonic-swss linksync.cpp keys every write by the message's name): Ethernet8 renamed
    // to Ethernet12 (configured later, below) is not written, and Ethernet8's entry stays.
    ns.ip("link set Ethernet8 name Ethernet12");
    ns.ip("link set Ethernet12 mtu 1400");
    // Ports added to CONFIG_DB after the start are picked up (sonic-swss portsyncd.cpp:
    // SubscriberStateTable on CONFIG_DB PORT, handlePortConfig).
    configure_ports(&r, &["Ethernet0", "Ethernet4", "Ethernet8", "Ethernet12"]);
    wait_until(WAIT, "Ethernet12 copied to APPL_DB", || {
        r.exists(APPL_DB, "_PORT_TABLE:Ethernet12")
    });
    assert!(!r.exists(STATE_DB, "PORT_TABLE|Ethernet12"));
    assert!(r.exists(STATE_DB, "PORT_TABLE|Ethernet8"));
    ns.ip("link set Ethernet12 mtu 1300");
    wait_until(WAIT, "Ethernet12 state", || {
        r.hgetall(STATE_DB, "PORT_TABLE|Ethernet12")
            .get("mtu")
            .map(String::as_str)
            == Some("1300")
    });
    assert!(r.exists(STATE_DB, "PORT_TABLE|Ethernet8"));

    // Delete: the STATE_DB entry goes; links that are not ports are never written.
    ns.ip("link add other0 type veth peer name other1");
    ns.ip("link del Ethernet4");
    wait_until(WAIT, "Ethernet4 gone", || {
        !r.exists(STATE_DB, "PORT_TABLE|Ethernet4")
    });
    assert!(!r.exists(STATE_DB, "PORT_TABLE|other0"));
    assert!(r.exists(STATE_DB, "PORT_TABLE|Ethernet0"));

    // Watchdog pings at WATCHDOG_USEC/2, health written, SIGTERM exits 0.
    std::thread::sleep(Duration::from_millis(350));
    d.pump();
    let pings = d.seen.iter().filter(|s| *s == "WATCHDOG=1").count();
    assert!(pings >= 2, "watchdog pings: {:?}", d.seen);
    assert!(d.seen.iter().any(|s| s.starts_with("STATUS=")));
    let h = d.health();
    assert!(
        h.contains("redis=connected") && h.contains("port_init_done=true"),
        "{h}"
    );
    let status = d.terminate();
    assert!(status.success(), "exit status {status:?}");
    d.wait_notify("STOPPING=1");
}

#[test]
fn redis_killed_and_restarted_gets_the_full_state_again() {
    let dir = tmpdir("restart");
    let mut r = RedisServer::start(&dir);
    let ns = Ns::new("restart");
    configure_ports(&r, &["Ethernet0", "Ethernet4"]);
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");
    ns.ip("link add Ethernet0 type veth peer name p0");
    ns.ip("link add Ethernet4 type veth peer name p4");
    wait_until(WAIT, "PortInitDone", || {
        r.exists(APPL_DB, "_PORT_TABLE:PortInitDone")
    });

    r.kill();
    // Changes while Redis is away.
    ns.ip("link set Ethernet0 mtu 2000");
    ns.ip("link del Ethernet4");
    wait_until(WAIT, "health says disconnected", || {
        d.health().contains("redis=disconnected")
    });
    std::thread::sleep(Duration::from_millis(300)); // a few backoff rounds
    r.spawn(); // empty: no persistence

    wait_until(WAIT, "state rewritten", || {
        r.exists(APPL_DB, "_PORT_TABLE:PortInitDone")
            && r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0")
                .get("mtu")
                .map(String::as_str)
                == Some("2000")
    });
    assert_eq!(r.hgetall(APPL_DB, "_PORT_TABLE:Ethernet0")["lanes"], "0,1");
    assert_eq!(
        r.hgetall(APPL_DB, "_PORT_TABLE:PortConfigDone")["count"],
        "2"
    );
    assert!(!r.exists(STATE_DB, "PORT_TABLE|Ethernet4"));
    wait_until(WAIT, "health says connected", || {
        d.health().contains("redis=connected")
    });
    assert!(d.health().contains("redis_connects=2"), "{}", d.health());
    // And it keeps working after the reconnect.
    ns.ip("link set Ethernet0 mtu 3000");
    wait_until(WAIT, "mtu 3000", || {
        r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0")
            .get("mtu")
            .map(String::as_str)
            == Some("3000")
    });
    assert!(d.terminate().success());
}

/// swss-common warm_restart.cpp, WarmStart::checkWarmStart (called by sonic-swss
/// portsyncd.cpp as `checkWarmStart("portsyncd", "swss")`): the enable flag alone is not a warm
/// start; without `WARM_RESTART_TABLE|portsyncd` `restore_count` it falls back to a cold start
/// and writes `restore_count` = 0; with it, it is a warm start and the count is incremented.
#[test]
fn warm_start_needs_restore_count_and_writes_it() {
    let dir = tmpdir("warm");
    let r = RedisServer::start(&dir);
    let ns = Ns::new("warm");
    configure_ports(&r, &["Ethernet0"]);
    r.hset(
        STATE_DB,
        "WARM_RESTART_ENABLE_TABLE|system",
        &[("enable", "true")],
    );
    // Enabled, no restore_count: cold start (the copy and PortConfigDone are written).
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");
    assert!(r.exists(APPL_DB, "_PORT_TABLE:PortConfigDone"));
    assert!(r.exists(APPL_DB, "_PORT_TABLE:Ethernet0"));
    assert_eq!(
        r.hgetall(STATE_DB, "WARM_RESTART_TABLE|portsyncd")["restore_count"],
        "0"
    );
    assert!(d.terminate().success());
    drop(d);

    // Enabled, restore_count present: warm start; the links already there are reported.
    let mut c = r.conn(APPL_DB);
    redis::cmd("FLUSHDB").query::<()>(&mut c).unwrap();
    r.hset(
        STATE_DB,
        "WARM_RESTART_TABLE|portsyncd",
        &[("restore_count", "3")],
    );
    ns.ip("link add Ethernet0 type veth peer name p0");
    ns.ip("link set Ethernet0 up");
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");
    wait_until(WAIT, "state entry", || {
        r.exists(STATE_DB, "PORT_TABLE|Ethernet0")
    });
    wait_until(WAIT, "PortInitDone", || {
        r.exists(APPL_DB, "_PORT_TABLE:PortInitDone")
    });
    assert!(!r.exists(APPL_DB, "_PORT_TABLE:PortConfigDone"));
    assert!(!r.exists(APPL_DB, "_PORT_TABLE:Ethernet0"));
    assert_eq!(
        r.hgetall(STATE_DB, "WARM_RESTART_TABLE|portsyncd")["restore_count"],
        "4"
    );
    // A warm start leaves the interfaces as they are.
    assert!(ns.flags("Ethernet0").contains(&"UP".to_string()));
    assert!(d.terminate().success());

    // Not enabled: cold start, restore_count back to 0.
    r.hset(
        STATE_DB,
        "WARM_RESTART_ENABLE_TABLE|system",
        &[("enable", "false")],
    );
    drop(d);
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");
    assert!(r.exists(APPL_DB, "_PORT_TABLE:PortConfigDone"));
    assert_eq!(
        r.hgetall(STATE_DB, "WARM_RESTART_TABLE|portsyncd")["restore_count"],
        "0"
    );
    assert!(d.terminate().success());
}

/// sonic-swss linksync.cpp, LinkSync::LinkSync: on a cold start the Ethernet* interfaces left
/// from before are brought down (`ip link set <name> down`) and every later message about
/// their ifindex is ignored; the interface created again (a new ifindex) is handled.
#[test]
fn cold_start_brings_down_and_ignores_interfaces_left_from_before() {
    let dir = tmpdir("old");
    let r = RedisServer::start(&dir);
    let ns = Ns::new("old");
    configure_ports(&r, &["Ethernet0"]);
    ns.ip("link add Ethernet0 type veth peer name p0");
    ns.ip("link set p0 up");
    ns.ip("link set Ethernet0 up");
    ns.ip("link add other0 type veth peer name other1");
    ns.ip("link set other0 up");
    assert!(ns.flags("Ethernet0").contains(&"UP".to_string()));
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");
    assert!(
        !ns.flags("Ethernet0").contains(&"UP".to_string()),
        "{:?}",
        ns.flags("Ethernet0")
    );
    assert!(ns.flags("other0").contains(&"UP".to_string()));
    ns.ip("link set Ethernet0 mtu 2000");
    ns.ip("link set Ethernet0 up");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!r.exists(STATE_DB, "PORT_TABLE|Ethernet0"));
    assert!(!r.exists(APPL_DB, "_PORT_TABLE:PortInitDone"));
    // Created again by its owner: handled.
    ns.ip("link del Ethernet0");
    ns.ip("link add Ethernet0 type veth peer name p0");
    wait_until(WAIT, "state entry", || {
        r.exists(STATE_DB, "PORT_TABLE|Ethernet0")
    });
    assert_eq!(r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0")["mtu"], "1500");
    wait_until(WAIT, "PortInitDone", || {
        r.exists(APPL_DB, "_PORT_TABLE:PortInitDone")
    });
    assert!(d.terminate().success());
}

#[test]
fn waits_for_redis_that_is_not_there_yet() {
    let dir = tmpdir("late");
    let ns = Ns::new("late");
    // The daemon is pointed at a socket path where nothing listens yet.
    let late = dir.join("late.sock");
    let mut d = Daemon::start(&dir, &format!("unix://{}", late.display()), &ns, "");
    d.wait_notify("WATCHDOG=1"); // pings while it waits for Redis
    std::thread::sleep(Duration::from_millis(300));
    d.pump();
    assert!(
        !d.seen.iter().any(|s| s == "READY=1"),
        "ready without redis"
    );
    // Bring Redis up with its configuration, then make it reachable at that path.
    let r = RedisServer::start(&dir);
    configure_ports(&r, &["Ethernet0"]);
    std::os::unix::fs::symlink(r.sock(), &late).unwrap();
    d.wait_notify("READY=1");
    ns.ip("link add Ethernet0 type veth peer name p0");
    wait_until(WAIT, "state entry", || {
        r.exists(STATE_DB, "PORT_TABLE|Ethernet0")
    });
    assert!(d.terminate().success());
}
