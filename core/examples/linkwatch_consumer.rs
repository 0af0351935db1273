//! The Rust consumer of the link-watch bench (benches/linkwatch/rust/tests/linkwatch_bench.rs),
//! a process of its own like the Go consumers in benches/linkwatch: it watches a network
//! namespace with [`LinkWatcher`] at its default receive buffer and stamps each event with
//! `CLOCK_MONOTONIC` when `next_event` returns it.
//!
//! `linkwatch_consumer --netns /var/run/netns/NAME --sentinel IFINDEX`
//!
//! Output (stdout), times in `CLOCK_MONOTONIC` nanoseconds:
//! `S <ns> <ifindex> <up>` for the sentinel link, written and flushed at once;
//! `E <ns> <ifindex> <up>` for every other added or changed link, written when stdin closes;
//! `X <key> <value>` counters, written last.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lbnet::linkwatch::{Event, LinkWatcher, WatchOptions};
use lbnet::netns::NetNs;

fn mono_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write into.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

fn main() {
    let mut netns = None;
    let mut sentinel = 0u32;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--netns" => netns = args.next(),
            "--sentinel" => sentinel = args.next().and_then(|v| v.parse().ok()).unwrap_or(0),
            _ => {
                eprintln!("usage: linkwatch_consumer [--netns PATH] --sentinel IFINDEX");
                std::process::exit(2);
            }
        }
    }
    let mut opts = WatchOptions::default();
    if let Some(path) = netns {
        opts.netns = NetNs::Path(path.into());
    }
    let mut w = LinkWatcher::new(opts).unwrap_or_else(|e| {
        eprintln!("linkwatch_consumer: {e}");
        std::process::exit(1);
    });
    // The coordinator closes stdin to stop us.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            stop.store(true, Ordering::Relaxed);
        });
    }
    let stdout = std::io::stdout();
    let mut recs: Vec<(i64, u32, bool)> = Vec::with_capacity(1 << 18);
    while !stop.load(Ordering::Relaxed) {
        let e = match w.next_event(Some(Duration::from_millis(50))) {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("linkwatch_consumer: {e}");
                continue;
            }
        };
        let t = mono_ns();
        let l = match &e {
            Event::Added(l) | Event::Changed { new: l, .. } => l,
            Event::Removed(_) => continue,
        };
        if l.index == sentinel {
            let mut o = stdout.lock();
            let _ = writeln!(o, "S {t} {} {}", l.index, u8::from(l.admin_up));
            let _ = o.flush();
        } else {
            recs.push((t, l.index, l.admin_up));
        }
    }
    let mut o = std::io::BufWriter::new(stdout.lock());
    for (t, i, up) in recs {
        let _ = writeln!(o, "E {t} {i} {}", u8::from(up));
    }
    let st = w.stats();
    let _ = writeln!(o, "X messages {}", st.messages);
    let _ = writeln!(o, "X overruns {}", st.overruns);
    let _ = writeln!(o, "X resyncs {}", st.resyncs);
    let _ = writeln!(o, "X rcvbuf {}", st.rcvbuf);
    let _ = o.flush();
}
