//! Loss and resynchronisation against the host kernel: a burst of 20,000 link up/down changes
//! with a deliberately small receive buffer and a deliberately slow consumer must overflow the
//! buffer (ENOBUFS), and the watcher must still converge to exactly the kernel's view.

mod linkwatch_util;

use std::time::{Duration, Instant};

use lbnet::linkwatch::{LinkWatcher, WatchOptions};
use linkwatch_util::{as_ip, Consumer, Ns};

const PAIRS: usize = 8;
const CHANGES: usize = 20_000;

#[test]
fn twenty_thousand_flaps_with_a_small_buffer_converge_after_resyncs() {
    let ns = Ns::new("flood");
    for i in 0..PAIRS {
        ns.ip(&format!("link add f{i} type veth peer name g{i}"));
    }
    let mut w = LinkWatcher::new(WatchOptions {
        netns: ns.netns(),
        rcvbuf: 16 * 1024,
        ..WatchOptions::default()
    })
    .unwrap();
    let rcvbuf = w.stats().rcvbuf;
    assert!(rcvbuf < 256 * 1024, "buffer not small: {rcvbuf}");
    let mut c = Consumer::new(&w);
    assert_eq!(c.table.len(), 1 + 2 * PAIRS);

    // 20,000 changes, pseudo-random link and direction (both ends of the pairs, so carrier
    // and operational state move too), through one `ip -batch` writer.
    let mut script = String::with_capacity(CHANGES * 24);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..CHANGES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let end = if x & 1 == 0 { 'f' } else { 'g' };
        let idx = (x >> 8) as usize % PAIRS;
        let dir = if (x >> 4) & 1 == 0 { "up" } else { "down" };
        script.push_str(&format!("link set {end}{idx} {dir}\n"));
    }
    let started = Instant::now();
    let mut writer = ns.ip_batch(script);

    // The slow consumer: 200 µs per event while the writer runs.
    let mut handled = 0u64;
    loop {
        if let Some(status) = writer.child.try_wait().unwrap() {
            assert!(status.success(), "ip -batch failed");
            break;
        }
        if let Some(e) = w.next_event(Some(Duration::from_millis(50))).unwrap() {
            e.apply(&mut c.table);
            handled += 1;
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    writer.fed();
    let write_time = started.elapsed();
    // Carrier changes reach rtnetlink through linkwatch work batched up to 1 s: drain until
    // quiet for longer than that.
    while let Some(e) = w.next_event(Some(Duration::from_millis(2500))).unwrap() {
        e.apply(&mut c.table);
        handled += 1;
    }
    let stats = w.stats();
    eprintln!(
        "{CHANGES} changes written in {write_time:?}; consumer handled {handled} events; {stats:?}"
    );
    assert!(stats.overruns > 0, "no ENOBUFS was forced: {stats:?}");
    assert!(stats.resyncs > 0, "no resync happened: {stats:?}");
    let kernel = ns.kernel_links();
    assert_eq!(
        as_ip(&c.table),
        kernel,
        "consumer view differs from ip -j link"
    );
    let snap = w.snapshot().into_iter().map(|l| (l.index, l)).collect();
    assert_eq!(as_ip(&snap), kernel, "snapshot differs from ip -j link");
}
