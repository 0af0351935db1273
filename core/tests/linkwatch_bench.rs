//! Link-watch measurements on the host kernel (run by `make bench`, ignored by `cargo test`):
//! sustained events/s, kernel-change-to-consumer latency, resynchronisation of 1,000 links.
//!
//! `cargo test --release -p lbnet --test linkwatch_bench -- --ignored --nocapture --test-threads=1`

mod linkwatch_support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lbnet::linkwatch::{Changes, Event, LinkWatcher, WatchOptions};
use lbnet::netlink::message::{Header, HEADER_LEN};
use lbnet::netlink::{Socket, SocketOptions};
use linkwatch_support::{as_ip, Consumer, Ns};
use netlink_packet_core::Emitable;
use netlink_packet_route::link::{LinkFlags, LinkHeader, LinkMessage};

fn batch(ns: &Ns, script: &str) {
    let mut child = Command::new("ip")
        .args(["-n", &ns.name, "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn flap_script(pairs: usize, changes: usize) -> String {
    let mut s = String::new();
    for i in 0..changes {
        let dir = if (i / pairs).is_multiple_of(2) {
            "up"
        } else {
            "down"
        };
        s.push_str(&format!("link set f{} {dir}\n", i % pairs));
    }
    s
}

#[test]
#[ignore = "benchmark: make bench"]
fn bench_sustained_events_per_second() {
    const PAIRS: usize = 8;
    const CHANGES: usize = 20_000;
    let ns = Ns::new("bench-rate");
    for i in 0..PAIRS {
        ns.ip(&format!("link add f{i} type veth peer name g{i}"));
    }
    // 1. Live: consumer keeps up with one writer (default 8 MiB buffer).
    let mut w = LinkWatcher::new(WatchOptions {
        netns: ns.netns(),
        ..WatchOptions::default()
    })
    .unwrap();
    let script = flap_script(PAIRS, CHANGES);
    let writer = {
        let name = ns.name.clone();
        let script = script.clone();
        std::thread::spawn(move || {
            let mut child = Command::new("ip")
                .args(["-n", &name, "-batch", "-"])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            let t = Instant::now();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(script.as_bytes())
                .unwrap();
            assert!(child.wait().unwrap().success());
            t.elapsed()
        })
    };
    let mut first = None;
    let mut last = Instant::now();
    let mut n = 0u64;
    while let Some(_e) = w.next_event(Some(Duration::from_millis(1500))).unwrap() {
        first.get_or_insert_with(Instant::now);
        last = Instant::now();
        n += 1;
    }
    let wt = writer.join().unwrap();
    let span = last - first.unwrap();
    let st = w.stats();
    println!(
        "BENCH linkwatch live: {CHANGES} changes written in {:.3} s ({:.0}/s); consumer got {n} events in {:.3} s = {:.0} events/s; overruns {} resyncs {}",
        wt.as_secs_f64(),
        CHANGES as f64 / wt.as_secs_f64(),
        span.as_secs_f64(),
        n as f64 / span.as_secs_f64(),
        st.overruns,
        st.resyncs
    );
    drop(w);

    // 2. Backlog: the kernel queues every notification first (128 MiB buffer), then the
    //    consumer drains as fast as it can: the consumer's own ceiling.
    let mut w = LinkWatcher::new(WatchOptions {
        netns: ns.netns(),
        rcvbuf: 128 * 1024 * 1024,
        ..WatchOptions::default()
    })
    .unwrap();
    batch(&ns, &script);
    std::thread::sleep(Duration::from_millis(1200)); // linkwatch carrier batches land too
    let t = Instant::now();
    let mut n = 0u64;
    while let Some(_e) = w.next_event(Some(Duration::ZERO)).unwrap() {
        n += 1;
    }
    let el = t.elapsed();
    let st = w.stats();
    println!(
        "BENCH linkwatch drain: {} messages parsed, {n} events in {:.3} s = {:.0} messages/s, {:.0} events/s; overruns {}",
        st.messages,
        el.as_secs_f64(),
        st.messages as f64 / el.as_secs_f64(),
        n as f64 / el.as_secs_f64(),
        st.overruns
    );
    assert!(n > 0);
}

/// `RTM_NEWLINK` setting or clearing `IFF_UP` on `index`.
fn set_up(index: u32, up: bool) -> Vec<u8> {
    let mut m = LinkMessage::default();
    m.header = LinkHeader {
        index,
        flags: if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        },
        change_mask: LinkFlags::Up,
        ..LinkHeader::default()
    };
    let mut buf = vec![0u8; HEADER_LEN + m.buffer_len()];
    Header {
        length: buf.len() as u32,
        kind: 16,
        flags: 0,
        seq: 0,
        pid: 0,
    }
    .write(&mut buf);
    m.emit(&mut buf[HEADER_LEN..]);
    buf
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
#[ignore = "benchmark: make bench"]
fn bench_change_to_consumer_latency() {
    const N: usize = 2_000;
    let ns = Ns::new("bench-lat");
    ns.ip("link add l0 type veth peer name l1");
    let mut w = LinkWatcher::new(WatchOptions {
        netns: ns.netns(),
        ..WatchOptions::default()
    })
    .unwrap();
    let index = w.snapshot().iter().find(|l| l.name == "l0").unwrap().index;
    let netns = ns.netns();
    let (tx, rx) = std::sync::mpsc::channel::<Instant>();
    // The changer: one RTM_NEWLINK every 2 ms from its own socket, timestamped just before
    // the send.
    let changer = std::thread::spawn(move || {
        let mut s = Socket::open(
            libc::NETLINK_ROUTE as isize,
            &SocketOptions {
                netns,
                ..SocketOptions::default()
            },
        )
        .unwrap();
        for i in 0..N {
            let mut m = set_up(index, i.is_multiple_of(2));
            let t = Instant::now();
            tx.send(t).unwrap();
            s.request(&mut m, |_, _| Ok(())).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    // The consumer blocks in next_event (poll) and stamps each ADMIN change of l0.
    let mut lat = Vec::with_capacity(N);
    while lat.len() < N {
        let e = w
            .next_event(Some(Duration::from_secs(5)))
            .unwrap()
            .expect("event");
        let now = Instant::now();
        if let Event::Changed { new, changes, .. } = &e {
            if new.index == index && changes.contains(Changes::ADMIN) {
                let sent = rx.recv().unwrap();
                lat.push(now - sent);
            }
        }
    }
    changer.join().unwrap();
    let p50 = pct(&mut lat, 0.50);
    let p99 = pct(&mut lat, 0.99);
    let max = *lat.last().unwrap();
    println!(
        "BENCH linkwatch latency ({N} admin changes, send of RTM_NEWLINK to event returned): p50 {:.1} us, p99 {:.1} us, max {:.1} us",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        max.as_secs_f64() * 1e6
    );
    assert_eq!(w.stats().overruns, 0);
}

#[test]
#[ignore = "benchmark: make bench"]
fn bench_resync_of_1000_links() {
    let ns = Ns::new("bench-resync");
    let mut script = String::new();
    for i in 0..500 {
        script.push_str(&format!("link add r{i} type veth peer name s{i}\n"));
    }
    batch(&ns, &script);
    let t = Instant::now();
    let mut w = LinkWatcher::new(WatchOptions {
        netns: ns.netns(),
        ..WatchOptions::default()
    })
    .unwrap();
    let open = t.elapsed();
    assert_eq!(w.snapshot().len(), 1001);
    // Resync with nothing missed: dump + compare, no events.
    let mut quiet = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        w.resync_now().unwrap();
        quiet.push(t.elapsed());
        assert_eq!(w.pending(), 0);
    }
    // Resync after every link changed unseen: the watcher is not read while all 1,000 links
    // change MTU, then a resync must emit exactly 1,000 Changed events.
    let mut c = Consumer::new(&w);
    let mut script = String::new();
    for i in 0..500 {
        script.push_str(&format!("link set r{i} mtu 1400\nlink set s{i} mtu 1400\n"));
    }
    batch(&ns, &script);
    let t = Instant::now();
    w.resync_now().unwrap();
    let changed = t.elapsed();
    let pending = w.pending();
    c.drain(&mut w, Duration::ZERO);
    assert_eq!(pending, 1000);
    assert_eq!(as_ip(&c.table), ns.kernel_links());
    println!(
        "BENCH linkwatch resync of 1,001 links: open (subscribe + dump) {:.2} ms; resync with no change p50 {:.2} ms (20 runs, min {:.2}, max {:.2}); resync with 1,000 changed links {:.2} ms",
        open.as_secs_f64() * 1e3,
        pct(&mut quiet, 0.5).as_secs_f64() * 1e3,
        quiet[0].as_secs_f64() * 1e3,
        quiet[quiet.len() - 1].as_secs_f64() * 1e3,
        changed.as_secs_f64() * 1e3
    );
}
