//! portsyncd under a flood (run by `make bench-linkwatch`, ignored by `cargo test`): 200 veth
//! "ports" `Ethernet0..Ethernet796` (peers up) in a private network namespace, a private
//! redis-server on a Unix socket, the daemon started warm (STATE_DB `WARM_RESTART_ENABLE_TABLE|
//! system` enable=true and `WARM_RESTART_TABLE|portsyncd` restore_count, so the links already
//! there are its ports). One writer (its own rtnetlink socket) toggles `IFF_UP`, one
//! `RTM_NEWLINK` and its ack at a time, round robin over the ports: first [`PACED`] changes one
//! per 2 ms, then [`FLOOD`] as fast as it goes.
//!
//! Measured per daemon: event-to-Redis latency in the paced phase (a STATE_DB keyspace
//! subscriber stamps each `hset`/`del` of `PORT_TABLE|<port>`; latency = the first one for the
//! changed port after the change was sent, minus the writer's stamp when it read the kernel's
//! ack); in the flood: the writer's rate, the daemon's CPU time (utime+stime from
//! /proc/<pid>/stat) per link event it counted (`events=` of its health file), its netlink
//! overruns (`resyncs=`: each is an ENOBUFS and a full re-dump), and the time from the last ack
//! until STATE_DB `admin_status` of every port equals the kernel's (polled every 1 ms with one
//! pipeline of 200 `HGET`s), and the time after which every field portsyncd writes (`state`,
//! `admin_status`, `netdev_oper_status`, `mtu`) stays equal to a fresh kernel dump (polled for
//! 1.5 s: carrier follows through the kernel's linkwatch up to 1 s later, so this one includes
//! the kernel's own delay); the daemon's peak RSS (VmHWM).
//!
//! `PORTSYNCD_BENCH_BINS`: `label=path` pairs separated by `;` (make passes this branch's
//! daemon and the baseline's). `PORTSYNCD_BENCH_OUT`: the Markdown file whose portsyncd section
//! (between [`BEGIN`] and [`END`]) is replaced, or appended when absent.

mod bench_util;
#[path = "../../../../core/tests/linkwatch_util/mod.rs"]
mod linkwatch_util;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench_util::{mono_ns, set_up};
use lbnet::linkwatch::{LinkWatcher, WatchOptions};
use lbnet::netlink::{Socket, SocketOptions};
use linkwatch_util::Ns;

const PORTS: usize = 200;
const PACED: usize = 1_000;
const PACE: Duration = Duration::from_millis(2);
const FLOOD: usize = 20_000;
/// Start of the section this bench writes in the results file.
pub const BEGIN: &str =
    "<!-- portsyncd bench: begin (make bench-linkwatch rewrites this section) -->";
/// End of that section.
pub const END: &str = "<!-- portsyncd bench: end -->";

struct RedisServer {
    dir: PathBuf,
    child: Child,
}

impl RedisServer {
    fn start(dir: &Path) -> RedisServer {
        let sock = dir.join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&sock)
            .args([
                "--notify-keyspace-events",
                "AKE",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        let r = RedisServer {
            dir: dir.to_path_buf(),
            child,
        };
        let end = Instant::now() + Duration::from_secs(10);
        while r.conn(0).is_err() {
            assert!(Instant::now() < end, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }
    fn url(&self) -> String {
        format!("unix://{}", self.dir.join("redis.sock").display())
    }
    fn conn(&self, db: i64) -> redis::RedisResult<redis::Connection> {
        let mut c = redis::Client::open(self.url().as_str())?.get_connection()?;
        redis::cmd("SELECT").arg(db).query::<()>(&mut c)?;
        Ok(c)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port(i: usize) -> String {
    format!("Ethernet{}", 4 * i)
}

fn health(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are 12 and 13 after the state field.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn pct(v: &mut [i64], p: f64) -> i64 {
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct Row {
    label: String,
    p50_us: f64,
    p99_us: f64,
    matched: usize,
    rate: f64,
    events: u64,
    cpu_us_per_event: f64,
    overruns: String,
    agree_ms: f64,
    all_ms: f64,
    poll_ms: f64,
    rss_kib: u64,
}

fn run_one(label: &str, bin: &str) -> Row {
    let dir = std::env::temp_dir().join(format!("lbnet-psd-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let r = RedisServer::start(&dir);
    let ns = Ns::new("psd");
    let mut script = String::new();
    for i in 0..PORTS {
        writeln!(script, "link add {} type veth peer name p{i}", port(i)).unwrap();
        writeln!(script, "link set p{i} up").unwrap();
    }
    let mut child = Command::new("ip")
        .args(["-n", &ns.name, "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let mut cfg = r.conn(4).unwrap();
    let mut pipe = redis::pipe();
    for i in 0..PORTS {
        pipe.cmd("HSET")
            .arg(format!("PORT|{}", port(i)))
            .arg("lanes")
            .arg(i.to_string())
            .arg("mtu")
            .arg("9100")
            .ignore();
    }
    pipe.query::<()>(&mut cfg).unwrap();
    let mut st = r.conn(6).unwrap();
    redis::cmd("HSET")
        .arg("WARM_RESTART_ENABLE_TABLE|system")
        .arg("enable")
        .arg("true")
        .query::<()>(&mut st)
        .unwrap();
    redis::cmd("HSET")
        .arg("WARM_RESTART_TABLE|portsyncd")
        .arg("restore_count")
        .arg("0")
        .query::<()>(&mut st)
        .unwrap();
    let hpath = dir.join("health");
    let cfgp = dir.join("portsyncd.toml");
    std::fs::write(
        &cfgp,
        format!(
            "[redis]\nurl = \"{}\"\n[watch]\nnetns = \"/var/run/netns/{}\"\n[service]\nhealth_file = \"{}\"\n",
            r.url(),
            ns.name,
            hpath.display()
        ),
    )
    .unwrap();
    let mut d = Command::new(bin)
        .arg("--config")
        .arg(&cfgp)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let n: i64 = redis::cmd("DBSIZE").query(&mut st).unwrap();
        if n as usize >= PORTS + 2
            && health(&hpath).get("port_init_done").map(String::as_str) == Some("true")
        {
            break;
        }
        assert!(Instant::now() < end, "{label}: no start ({n} keys)");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Keyspace subscriber: (port, stamp) of every STATE_DB PORT_TABLE write.
    let seen: Arc<Mutex<Vec<(String, i64)>>> = Arc::new(Mutex::new(Vec::new()));
    {
        let seen = Arc::clone(&seen);
        let url = r.url();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut c = redis::Client::open(url.as_str())
                .unwrap()
                .get_connection()
                .unwrap();
            let mut ps = c.as_pubsub();
            ps.psubscribe("__keyspace@6__:PORT_TABLE|*").unwrap();
            tx.send(()).unwrap();
            while let Ok(m) = ps.get_message() {
                let t = mono_ns();
                let ch = m.get_channel_name();
                if let Some(k) = ch.strip_prefix("__keyspace@6__:PORT_TABLE|") {
                    seen.lock().unwrap().push((k.to_string(), t));
                }
            }
        });
        rx.recv().unwrap();
    }

    let mut sock = Socket::open(
        libc::NETLINK_ROUTE as isize,
        &SocketOptions {
            netns: ns.netns(),
            ..SocketOptions::default()
        },
    )
    .unwrap();
    let index: Vec<u32> = {
        let links = ns.kernel_links();
        let by_name: HashMap<&str, u32> =
            links.iter().map(|(i, l)| (l.name.as_str(), *i)).collect();
        (0..PORTS).map(|i| by_name[port(i).as_str()]).collect()
    };
    let mut up = [false; PORTS];
    let mut toggle = |i: usize| -> (i64, i64) {
        up[i] = !up[i];
        let mut m = set_up(index[i], up[i]);
        let sent = mono_ns();
        sock.request(&mut m, |_, _| Ok(())).unwrap();
        (sent, mono_ns())
    };

    // Paced phase.
    let mut changes = Vec::with_capacity(PACED);
    for k in 0..PACED {
        let i = k % PORTS;
        let (sent, acked) = toggle(i);
        changes.push((i, sent, acked));
        std::thread::sleep(PACE);
    }
    std::thread::sleep(Duration::from_millis(500));
    let notes = seen.lock().unwrap().clone();
    let mut lat = Vec::new();
    for (i, sent, acked) in &changes {
        let name = port(*i);
        if let Some((_, t)) = notes.iter().find(|(k, t)| *k == name && *t > *sent) {
            lat.push(t - acked);
        }
    }
    let matched = lat.len();
    let (p50, p99) = if lat.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        (
            pct(&mut lat, 0.5) as f64 / 1e3,
            pct(&mut lat, 0.99) as f64 / 1e3,
        )
    };

    // Flood phase.
    let h0 = health(&hpath);
    let ev0: u64 = h0.get("events").and_then(|v| v.parse().ok()).unwrap_or(0);
    let cpu0 = cpu_ticks(d.id());
    let t0 = Instant::now();
    let mut last_ack = 0;
    for k in 0..FLOOD {
        last_ack = toggle(k % PORTS).1;
    }
    let flood_s = t0.elapsed().as_secs_f64();
    let want: Vec<&str> = up.iter().map(|u| if *u { "up" } else { "down" }).collect();
    let mut agree_ms = f64::NAN;
    let limit = Instant::now() + Duration::from_secs(30);
    while Instant::now() < limit {
        let mut pipe = redis::pipe();
        for i in 0..PORTS {
            pipe.cmd("HGET")
                .arg(format!("PORT_TABLE|{}", port(i)))
                .arg("admin_status");
        }
        let got: Vec<Option<String>> = pipe.query(&mut st).unwrap();
        let now = mono_ns();
        if got.iter().zip(&want).all(|(g, w)| g.as_deref() == Some(*w)) {
            agree_ms = (now - last_ack) as f64 / 1e6;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // Every field portsyncd writes (state, admin_status, netdev_oper_status, mtu) against a
    // fresh dump of the kernel's links, for 1.5 s after the last ack: carrier (IFF_RUNNING)
    // follows IFF_UP through the kernel's linkwatch, up to 1 s later, so the kernel itself
    // keeps changing for a while. "All fields" = the first poll that saw no difference after
    // the last one that did (the time from which Redis and the kernel stay equal).
    let settle_end = Instant::now() + Duration::from_millis(1500);
    let mut agree_since: Option<i64> = None;
    let mut diff_example = String::new();
    let mut polls = 0;
    while Instant::now() < settle_end {
        let kernel = kernel_ports(&ns);
        let mut pipe = redis::pipe();
        for i in 0..PORTS {
            pipe.cmd("HGETALL").arg(format!("PORT_TABLE|{}", port(i)));
        }
        let got: Vec<HashMap<String, String>> = pipe.query(&mut st).unwrap();
        let now = mono_ns();
        polls += 1;
        let diff = (0..PORTS).find(|&i| {
            let want = kernel.get(&port(i));
            let g = &got[i];
            let have = (
                g.get("state").map(String::as_str),
                g.get("admin_status").map(String::as_str),
                g.get("netdev_oper_status").map(String::as_str),
                g.get("mtu").cloned(),
            );
            want.is_none_or(|(a, o, m)| {
                have != (Some("ok"), Some(*a), Some(*o), Some(m.to_string()))
            })
        });
        if diff.is_none() && agree_since.is_none() {
            agree_since = Some(now);
        }
        if let Some(i) = diff {
            agree_since = None;
            diff_example = format!(
                "{}: redis {:?}, kernel {:?}",
                port(i),
                got[i],
                kernel.get(&port(i))
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    // Not clean at the end: never settled (NaN in the table).
    let all_ms = match agree_since {
        Some(t) => (t - last_ack) as f64 / 1e6,
        None => {
            eprintln!("{label}: Redis still differs from the kernel 1.5 s after the flood ({polls} polls): {diff_example}");
            f64::NAN
        }
    };
    let poll_ms = (mono_ns() - last_ack) as f64 / 1e6 / polls.max(1) as f64;
    eprintln!(
        "{label}: {polls} polls of every field after the flood; last difference: {diff_example}"
    );
    // Where the time after the flood went: the daemon's STATE_DB writes after the last ack
    // (keyspace notifications, stamped as they arrive).
    {
        let notes = seen.lock().unwrap();
        let after: Vec<i64> = notes
            .iter()
            .map(|(_, t)| *t)
            .filter(|t| *t > last_ack)
            .collect();
        let ms = |t: i64| (t - last_ack) as f64 / 1e6;
        eprintln!(
            "{label}: {} STATE_DB writes after the last ack; first {:.1} ms, last {:.1} ms after it; admin_status equal at {agree_ms:.1} ms",
            after.len(),
            after.first().map_or(f64::NAN, |t| ms(*t)),
            after.last().map_or(f64::NAN, |t| ms(*t)),
        );
    }
    let cpu1 = cpu_ticks(d.id());
    let h1 = health(&hpath);
    let ev1: u64 = h1.get("events").and_then(|v| v.parse().ok()).unwrap_or(0);
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let events = ev1.saturating_sub(ev0);
    let cpu_us = (cpu1 - cpu0) as f64 / hz * 1e6;
    let overruns = h1.get("resyncs").cloned().unwrap_or_else(|| "n/a".into());
    let rss_kib = peak_rss_kib(d.id());
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(d.id() as i32, libc::SIGTERM) };
    let _ = d.wait();
    drop(ns);
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
    Row {
        label: label.to_string(),
        p50_us: p50,
        p99_us: p99,
        matched,
        rate: FLOOD as f64 / flood_s,
        events,
        cpu_us_per_event: if events > 0 {
            cpu_us / events as f64
        } else {
            f64::NAN
        },
        overruns,
        agree_ms,
        all_ms,
        poll_ms,
        rss_kib,
    }
}

/// VmHWM (peak resident set) of `pid`, KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// (admin_status, netdev_oper_status, mtu) per port name, from a fresh dump of the kernel's
/// links (a new watcher's snapshot is one RTM_GETLINK dump): IFF_UP, IFF_RUNNING, IFLA_MTU, as
/// SONiC's linksync reads them.
fn kernel_ports(ns: &Ns) -> HashMap<String, (&'static str, &'static str, u32)> {
    let w = LinkWatcher::new(WatchOptions {
        netns: ns.netns(),
        ..WatchOptions::default()
    })
    .unwrap();
    let ud = |b: bool| if b { "up" } else { "down" };
    w.snapshot()
        .into_iter()
        .map(|l| {
            (
                l.name.clone(),
                (
                    ud(l.flags & libc::IFF_UP as u32 != 0),
                    ud(l.flags & libc::IFF_RUNNING as u32 != 0),
                    l.mtu,
                ),
            )
        })
        .collect()
}

#[test]
#[ignore = "benchmark: make bench-linkwatch"]
fn portsyncd_flood() {
    let bins = std::env::var("PORTSYNCD_BENCH_BINS").expect("PORTSYNCD_BENCH_BINS=label=path;...");
    let mut rows = Vec::new();
    for pair in bins.split(';').filter(|s| !s.is_empty()) {
        let (label, bin) = pair.split_once('=').expect("label=path");
        let row = run_one(label, bin);
        eprintln!(
            "{}: paced p50 {:.1} us p99 {:.1} us ({} of {PACED}); flood {:.0} changes/s, {} events, {:.1} us CPU/event, overruns {}, Redis = kernel {:.1} ms after the last ack (admin_status), {:.1} ms (every field), peak RSS {} KiB",
            row.label, row.p50_us, row.p99_us, row.matched, row.rate, row.events, row.cpu_us_per_event, row.overruns, row.agree_ms, row.all_ms, row.rss_kib
        );
        rows.push(row);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut md = String::new();
    writeln!(md, "{BEGIN}").unwrap();
    writeln!(md, "\n## portsyncd under a flood\n").unwrap();
    writeln!(
        md,
        "Generated by `make bench-linkwatch` (benches/linkwatch/rust/tests/portsyncd_bench.rs) from one run; kernel {}; load average {} at the end; the machine is shared (2 vCPU). {PORTS} veth ports (peers up) in a private netns, a private redis-server (Unix socket), the daemon started warm. Writer: one `RTM_NEWLINK` toggling `IFF_UP` and its ack at a time, round robin over the ports: {PACED} changes one per 2 ms, then {FLOOD} as fast as it goes. Latency = first STATE_DB keyspace notification of the changed port after the change was sent, minus the writer's ack stamp. CPU per event = the daemon's utime+stime during the flood and the 1.5 s after it / link events it counted. Overruns = the watcher's resyncs (`resyncs=` in the health file; each is an ENOBUFS). \"Redis = kernel\" = time from the last ack until every port's STATE_DB `admin_status` equals the kernel's (1 ms polling); \"every field\" = from the last ack to the first poll (a kernel dump and 200 `HGETALL`s, every 1 ms plus their own time, for 1.5 s after the admin_status agreement) that found all of `state`, `admin_status`, `netdev_oper_status`, `mtu` equal to the kernel's and after which none differed again; its resolution is one poll ({}): it includes the kernel's own delay in setting IFF_RUNNING after IFF_UP (linkwatch, up to 1 s). Peak RSS = the daemon's VmHWM at the end. sonic-swss's C++ portsyncd is not in this table: it needs sonic-swss's tree (not among the peers here) and links libsairedis/libsaimeta besides swss-common, which are not built here.\n",
        kernel.trim(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        rows.iter()
            .map(|r| format!("{}: {:.0} ms a poll", r.label, r.poll_ms))
            .collect::<Vec<_>>()
            .join(", ")
    )
    .unwrap();
    writeln!(md, "| portsyncd | paced: p50 µs | p99 µs | changes matched | flood: writer changes/s | link events | CPU µs/event | overruns | Redis = kernel after (ms): admin_status | every field | peak RSS (MiB) |").unwrap();
    writeln!(md, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|").unwrap();
    for r in &rows {
        writeln!(
            md,
            "| {} | {:.1} | {:.1} | {} of {PACED} | {:.0} | {} | {:.1} | {} | {:.1} | {:.1} | {:.1} |",
            r.label,
            r.p50_us,
            r.p99_us,
            r.matched,
            r.rate,
            r.events,
            r.cpu_us_per_event,
            r.overruns,
            r.agree_ms,
            r.all_ms,
            r.rss_kib as f64 / 1024.0
        )
        .unwrap();
    }
    writeln!(md, "\n{END}").unwrap();
    if let Some(out) = std::env::var_os("PORTSYNCD_BENCH_OUT") {
        let old = std::fs::read_to_string(&out).unwrap_or_default();
        let new = match (old.find(BEGIN), old.find(END)) {
            (Some(a), Some(b)) if b > a => {
                format!("{}{}{}", &old[..a], md.trim_end(), &old[b + END.len()..])
            }
            _ => format!("{}\n{}", old.trim_end(), md),
        };
        std::fs::write(&out, new).unwrap();
    }
    print!("{md}");
}
