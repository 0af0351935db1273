//! The address watcher against the host kernel, in a test namespace: addresses added and
//! removed (IPv4 and IPv6, by `ip addr` and by deleting the link) are reported, and a burst of
//! 3,000 address changes with a deliberately small receive buffer overflows it (ENOBUFS) and
//! still converges to exactly the kernel's addresses.

mod linkwatch_util;

use std::collections::HashSet;
use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use lbnet::linkwatch::{Addr, AddrEvent, AddrWatcher, WatchOptions};
use linkwatch_util::Ns;

/// The kernel's view: "ifindex address/len" of every address of the namespace.
fn kernel_addrs(ns: &Ns) -> HashSet<String> {
    let out = Command::new("ip")
        .args(["-n", &ns.name, "-o", "addr", "show"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let idx = f[0].trim_end_matches(':');
            format!("{idx} {}", f[3])
        })
        .collect()
}

fn key(a: &Addr) -> String {
    format!("{} {}/{}", a.index, a.address, a.prefix_len)
}

fn next(w: &mut AddrWatcher) -> AddrEvent {
    w.next_event(Some(Duration::from_secs(5)))
        .unwrap()
        .expect("no address event within 5 s")
}

#[test]
fn addresses_added_and_removed_are_reported() {
    let ns = Ns::new("addr");
    ns.ip("link add a0 type veth peer name a1");
    ns.ip("addr add 10.5.0.1/24 dev a0");
    let mut w = AddrWatcher::new(WatchOptions {
        netns: ns.netns(),
        ..WatchOptions::default()
    })
    .unwrap();
    let snap: HashSet<String> = w.snapshot().iter().map(key).collect();
    assert_eq!(snap, kernel_addrs(&ns), "first snapshot");
    assert!(w.next_event(Some(Duration::ZERO)).unwrap().is_none());

    ns.ip("addr add 10.6.0.7/16 dev a0");
    match next(&mut w) {
        AddrEvent::Added(a) => {
            assert_eq!(a.address, "10.6.0.7".parse::<IpAddr>().unwrap());
            assert_eq!(a.prefix_len, 16);
            assert_eq!(a.network(), "10.6.0.0".parse::<IpAddr>().unwrap());
        }
        e => panic!("want Added, got {e:?}"),
    }
    ns.ip("addr add 2001:db8:5::1/64 dev a0 nodad");
    match next(&mut w) {
        AddrEvent::Added(a) => assert_eq!(a.address, "2001:db8:5::1".parse::<IpAddr>().unwrap()),
        e => panic!("want Added, got {e:?}"),
    }
    ns.ip("addr del 10.6.0.7/16 dev a0");
    match next(&mut w) {
        AddrEvent::Removed(a) => assert_eq!(a.address, "10.6.0.7".parse::<IpAddr>().unwrap()),
        e => panic!("want Removed, got {e:?}"),
    }
    // Deleting the link removes its addresses, each with an RTM_DELADDR.
    ns.ip("link del a0");
    let mut gone = HashSet::new();
    while gone.len() < 2 {
        if let AddrEvent::Removed(a) = next(&mut w) {
            gone.insert(a.address.to_string());
        }
    }
    assert!(
        gone.contains("10.5.0.1") && gone.contains("2001:db8:5::1"),
        "{gone:?}"
    );
    let snap: HashSet<String> = w.snapshot().iter().map(key).collect();
    assert_eq!(snap, kernel_addrs(&ns));
}

#[test]
fn a_burst_with_a_small_buffer_converges_after_resyncs() {
    let ns = Ns::new("addrflood");
    ns.ip("link add b0 type veth peer name b1");
    let mut w = AddrWatcher::new(WatchOptions {
        netns: ns.netns(),
        rcvbuf: 8 * 1024,
        ..WatchOptions::default()
    })
    .unwrap();
    let mut mine: HashSet<String> = w.snapshot().iter().map(key).collect();
    // 2,000 addresses added, then every other one deleted: 3,000 changes through one writer.
    let mut script = String::new();
    for i in 0..2000u32 {
        script.push_str(&format!(
            "addr add 10.{}.{}.1/24 dev b0\n",
            100 + i / 250,
            i % 250
        ));
    }
    for i in (0..2000u32).step_by(2) {
        script.push_str(&format!(
            "addr del 10.{}.{}.1/24 dev b0\n",
            100 + i / 250,
            i % 250
        ));
    }
    let mut writer = ns.ip_batch(script);
    let started = Instant::now();
    loop {
        let done = writer.child.try_wait().unwrap().is_some();
        match w.next_event(Some(Duration::from_millis(200))).unwrap() {
            Some(AddrEvent::Added(a)) => {
                mine.insert(key(&a));
                std::thread::sleep(Duration::from_micros(200));
            }
            Some(AddrEvent::Removed(a)) => {
                mine.remove(&key(&a));
            }
            None if done => break,
            None => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "did not settle"
        );
    }
    writer.fed();
    let st = w.stats();
    assert!(
        st.overruns > 0,
        "the burst did not overflow the buffer: {st:?}"
    );
    assert!(st.resyncs > 0, "no resync: {st:?}");
    let kernel = kernel_addrs(&ns);
    assert_eq!(
        kernel.len(),
        1000,
        "1,000 addresses left (lo is down: none)"
    );
    assert_eq!(
        mine, kernel,
        "the consumer's view differs from the kernel's"
    );
    eprintln!(
        "address burst: {} overruns, {} resyncs, {} events",
        st.overruns, st.resyncs, st.events
    );
}
