//! Measures IPVS through the library (run in the kernel lab; needs root and IPVS).
//!
//! `ipvs_bench [SERVICES [DESTS]]` (default 1000 and 4):
//! * single operations (add service, add destination, update a destination's weight, get one
//!   service, get one service with its destinations) through the library and through a **raw
//!   floor**: the same requests encoded once before timing, sent as prebuilt bytes over one plain
//!   netlink socket, one per round trip, with nothing parsed. Both run alternately in the same
//!   process; the table prints the median ns/op of each and our ratio to the floor;
//! * a batch of 10,000 changes (services with DESTS destinations each): ours through
//!   [`Handle::apply`] and one change per round trip, and the raw floor batched and one per
//!   round trip, best of 3 alternating rounds, each run in a fresh network namespace (`ip netns
//!   add`; see [`Fresh`] for why);
//! * batched creation of SERVICES services with DESTS destinations each and listing them all,
//!   with the number of requests each step sent, and `ipvsadm -Ln` on the same table as a
//!   reference measured in the same run.
//!
//! `ipvs_bench batch [DESTS]` runs the batch comparison alone.
//!
//! `ipvs_bench rss-batch [CHANGES]` (default 10,000) applies one batch of that many changes and
//! prints the process's peak RSS (VmHWM) before and after `apply`, nothing else.
//!
//! Every part runs in a network namespace of its own (`ip netns add`, removed at the end), so
//! the IPVS table of the caller's namespace is left alone and no earlier run's state (see
//! [`Fresh`]) skews a later one.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use lbnet::ipvs::message::Request;
use lbnet::ipvs::{Change, Destination, ForwardMethod, Handle, HandleOptions, Service, ServiceKey};
use lbnet::netlink::message::{NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use lbnet::netns::NetNs;

fn per(d: Duration, n: usize) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6 / n as f64)
}

fn vip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        10,
        100 + (i >> 16) as u8,
        (i >> 8) as u8,
        i as u8,
    ))
}

fn real(j: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(172, 16, (j >> 8) as u8, j as u8 + 1))
}

/// Peak resident set size of this process in KiB (`VmHWM` of /proc/self/status).
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The raw floor: one plain netlink socket, prebuilt request bytes, nothing parsed beyond the
/// message type and the error code of the ack.
struct Raw {
    fd: i32,
    buf: Vec<u8>,
    seq: u32,
    /// A data message ends the round trip (a get without an ack).
    want_data: bool,
}

impl Raw {
    fn open() -> Raw {
        // SAFETY: plain socket calls on a fresh descriptor with valid, sized arguments.
        unsafe {
            let fd = libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            );
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let mut sa: libc::sockaddr_nl = std::mem::zeroed();
            sa.nl_family = libc::AF_NETLINK as u16;
            let rc = libc::bind(
                fd,
                &sa as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            );
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            // The same receive buffer the library asks for, so a batch's acks fit.
            let size: libc::c_int = 4 << 20;
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                &size as *const _ as *const libc::c_void,
                4,
            );
            Raw {
                fd,
                buf: vec![0u8; 64 * 1024],
                seq: 1,
                want_data: false,
            }
        }
    }

    /// A prebuilt request: encoded once with the request/ack (or dump) flags set. A get
    /// (`dump` false, `ack` false) asks for no ack: its reply is the answer.
    fn prebuild(r: Request<'_>, family: u16, ack: bool) -> Vec<u8> {
        let mut b = Vec::new();
        r.encode(family, &mut b).unwrap();
        let dump = r.is_dump();
        let flags =
            NLM_F_REQUEST | if dump { NLM_F_DUMP } else { 0 } | if ack { NLM_F_ACK } else { 0 };
        b[6..8].copy_from_slice(&flags.to_ne_bytes());
        b
    }

    /// One prebuilt, acked NEW_DEST (`update` false) or SET_DEST per destination of `svc`.
    fn dest_requests(
        update: bool,
        svc: &ServiceKey,
        dests: &[Destination],
        family: u16,
    ) -> Vec<Vec<u8>> {
        dests
            .iter()
            .map(|d| {
                let r = if update {
                    Request::SetDest(svc, d)
                } else {
                    Request::NewDest(svc, d)
                };
                Raw::prebuild(r, family, true)
            })
            .collect()
    }

    fn send(&self, buf: &[u8]) {
        // SAFETY: valid descriptor and buffer.
        let n = unsafe { libc::send(self.fd, buf.as_ptr() as *const libc::c_void, buf.len(), 0) };
        assert_eq!(n as usize, buf.len(), "{}", std::io::Error::last_os_error());
    }

    /// Receives one datagram; returns (acks/errors seen, first nonzero errno, end seen: a
    /// `NLMSG_DONE` or a data message).
    fn recv(&mut self) -> (usize, i32, bool) {
        // SAFETY: valid descriptor and buffer.
        let n = unsafe {
            libc::recv(
                self.fd,
                self.buf.as_mut_ptr() as *mut libc::c_void,
                self.buf.len(),
                0,
            )
        };
        assert!(n > 0, "recv: {}", std::io::Error::last_os_error());
        let b = &self.buf[..n as usize];
        let (mut acks, mut err, mut done) = (0, 0, false);
        let mut off = 0;
        while off + 16 <= b.len() {
            let len = u32::from_ne_bytes(b[off..off + 4].try_into().unwrap()) as usize;
            let kind = u16::from_ne_bytes([b[off + 4], b[off + 5]]);
            if kind == NLMSG_ERROR {
                acks += 1;
                let code = i32::from_ne_bytes(b[off + 16..off + 20].try_into().unwrap());
                if code != 0 && err == 0 {
                    err = -code;
                }
            } else if kind == NLMSG_DONE || kind > NLMSG_DONE + 1 {
                // The end of a dump, or the one reply of a get sent without an ack (a dump's
                // data messages are followed by NLMSG_DONE in a later datagram or this one).
                done |= kind == NLMSG_DONE || self.want_data;
            }
            off += (len + 3) & !3;
        }
        (acks, err, done)
    }

    /// One request per round trip: waits for its ack (or the end of a dump).
    fn roundtrip(&mut self, msg: &mut [u8]) -> i32 {
        self.want_data = u16::from_ne_bytes([msg[6], msg[7]]) & (NLM_F_ACK | NLM_F_DUMP) == 0;
        self.seq = self.seq.wrapping_add(1);
        msg[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        self.send(msg);
        loop {
            let (acks, err, done) = self.recv();
            if acks > 0 || done {
                return err;
            }
        }
    }

    /// All `msgs` pipelined: up to 1,024 messages or 64 KiB per send (the library's limits),
    /// the acks of each chunk read before the next is sent. Returns the number of failures.
    fn batch(&mut self, msgs: &mut [Vec<u8>], chunk: &mut Vec<u8>) -> usize {
        let mut failed = 0;
        let mut i = 0;
        while i < msgs.len() {
            chunk.clear();
            let first = i;
            while i < msgs.len()
                && i - first < 1024
                && (i == first || chunk.len() + msgs[i].len() <= 64 * 1024)
            {
                self.seq = self.seq.wrapping_add(1);
                msgs[i][8..12].copy_from_slice(&self.seq.to_ne_bytes());
                chunk.extend_from_slice(&msgs[i]);
                i += 1;
            }
            self.send(chunk);
            let mut pending = i - first;
            while pending > 0 {
                let (acks, err, _) = self.recv();
                pending = pending.saturating_sub(acks);
                if err != 0 {
                    failed += 1;
                }
            }
        }
        failed
    }
}

/// Times `ours` and `raw` (each runs `k` operations when called with a round number) in
/// alternating rounds, calling `reset` after each, and returns the median ns/op of each.
fn alternate(
    rounds: usize,
    k: usize,
    mut ours: impl FnMut(usize),
    mut raw: impl FnMut(usize),
    mut reset: impl FnMut(),
) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        for side in 0..2 {
            // Alternate which side goes first.
            let t = Instant::now();
            if (side + r) % 2 == 0 {
                ours(r);
                a.push(t.elapsed().as_nanos() as f64 / k as f64);
            } else {
                raw(r);
                b.push(t.elapsed().as_nanos() as f64 / k as f64);
            }
            reset();
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.partial_cmp(y).unwrap());
        v[v.len() / 2]
    };
    (median(&mut a), median(&mut b))
}

fn row(name: &str, ours: f64, raw: f64) {
    println!(
        "  {:<36} {:>10.0} {:>10.0} {:>7.2}x",
        name,
        ours,
        raw,
        ours / raw
    );
}

fn single_ops(h: &Handle, raw: &mut Raw, family: u16) -> lbnet::Result<()> {
    let k = 200;
    let rounds = 21;
    let key = ServiceKey::tcp(vip(60000), 80);
    let svc = Service::new(key, "rr");
    let ok = |e: i32| assert_eq!(e, 0, "raw floor request failed: errno {e}");
    println!(
        "single operations: {k} per round, {rounds} rounds alternating ours/raw, median ns/op (raw floor = prebuilt bytes, one socket, one per round trip)"
    );
    println!(
        "  {:<36} {:>10} {:>10} {:>8}",
        "workload", "ours", "raw", "ratio"
    );

    // Add service: k distinct services, flushed after each round.
    let svcs: Vec<Service> = (0..k)
        .map(|i| Service::new(ServiceKey::tcp(vip(i), 81), "rr"))
        .collect();
    let mut pre: Vec<Vec<u8>> = svcs
        .iter()
        .map(|s| Raw::prebuild(Request::NewService(s), family, true))
        .collect();
    let (o, r) = alternate(
        rounds,
        k,
        |_| svcs.iter().for_each(|s| h.new_service(s).unwrap()),
        |_| pre.iter_mut().for_each(|m| ok(raw.roundtrip(m))),
        || h.flush().unwrap(),
    );
    row("add service", o, r);

    // Add destination: k distinct destinations to one service, recreated after each round.
    h.new_service(&svc)?;
    let dests: Vec<Destination> = (0..k)
        .map(|j| Destination::new(real(j), 80, ForwardMethod::Route))
        .collect();
    let mut pre = Raw::dest_requests(false, &key, &dests, family);
    let (o, r) = alternate(
        rounds,
        k,
        |_| {
            dests
                .iter()
                .for_each(|d| h.new_destination(&key, d).unwrap())
        },
        |_| pre.iter_mut().for_each(|m| ok(raw.roundtrip(m))),
        || {
            h.delete_service(&key).unwrap();
            h.new_service(&svc).unwrap();
        },
    );
    row("add destination", o, r);

    // Update one destination's weight, k times with changing weights.
    h.flush()?;
    h.new_service(&svc)?;
    for d in dests.iter().take(5) {
        h.new_destination(&key, d)?;
    }
    let updates: Vec<Destination> = (0..k)
        .map(|i| dests[0].clone().weight(1 + (i % 100) as i32))
        .collect();
    let mut pre = Raw::dest_requests(true, &key, &updates, family);
    let (o, r) = alternate(
        rounds,
        k,
        |_| {
            updates
                .iter()
                .for_each(|d| h.update_destination(&key, d).unwrap())
        },
        |_| pre.iter_mut().for_each(|m| ok(raw.roundtrip(m))),
        || {},
    );
    row("update destination weight", o, r);

    // Get one service (GET_SERVICE, not a dump), and with its 5 destinations (+ GET_DEST dump).
    let mut get = Raw::prebuild(Request::GetService(Some(&key)), family, false);
    let mut get_dests = Raw::prebuild(Request::GetDest(&key), family, false);
    let (o, r) = alternate(
        rounds,
        k,
        |_| {
            for _ in 0..k {
                assert_eq!(h.get_service(&key).unwrap().scheduler, "rr");
            }
        },
        |_| (0..k).for_each(|_| ok(raw.roundtrip(&mut get))),
        || {},
    );
    row("get service", o, r);
    let (o, r) = alternate(
        rounds,
        k,
        |_| {
            for _ in 0..k {
                let s = h.get_service(&key).unwrap();
                let d = h.destinations(&s.key).unwrap();
                assert_eq!(d.len(), 5);
            }
        },
        |_| {
            for _ in 0..k {
                ok(raw.roundtrip(&mut get));
                ok(raw.roundtrip(&mut get_dests));
            }
        },
        || {},
    );
    row("get service with 5 destinations", o, r);
    h.flush()?;
    Ok(())
}

/// `services` services with `dests` destinations each, as one list of changes.
fn changes_for(services: usize, dests: usize) -> Vec<Change> {
    let mut changes = Vec::with_capacity(services * (dests + 1));
    for i in 0..services {
        let key = ServiceKey::tcp(vip(i), 80);
        changes.push(Change::NewService(Service::new(key, "rr")));
        for j in 0..dests {
            changes.push(Change::NewDestination(
                key,
                Destination::new(real(j), 80, ForwardMethod::Route),
            ));
        }
    }
    changes
}

fn one_by_one(h: &Handle, changes: &[Change]) -> lbnet::Result<()> {
    for c in changes {
        match c {
            Change::NewService(s) => h.new_service(s)?,
            Change::NewDestination(k, d) => h.new_destination(k, d)?,
            _ => unreachable!("only additions here"),
        }
    }
    Ok(())
}

/// A fresh network namespace for one measured batch run, with a handle and a raw socket in it.
///
/// IPVS keeps deleted destinations in a per-namespace trash list for about a minute and every
/// new destination first searches that list linearly, so after a flush of thousands of
/// destinations re-adding them costs the kernel O(n) each, whoever sends them. Each batch run
/// gets an empty namespace so that it measures the client and not the trash.
struct Fresh {
    name: String,
    h: Handle,
    raw: Raw,
}

impl Fresh {
    fn new(k: usize) -> lbnet::Result<Fresh> {
        let name = format!("ipvsbench{}-{k}", std::process::id());
        // `lo` up creates the local routing table; without one the kernel's address-type
        // check refuses every IPv4 destination with EINVAL.
        for args in [
            &["netns", "add", &name][..],
            &["-n", &name, "link", "set", "lo", "up"][..],
        ] {
            let ok = std::process::Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?} failed");
        }
        let ns = NetNs::named(&name)?;
        let h = Handle::with_options(HandleOptions {
            netns: ns.clone(),
            ..HandleOptions::default()
        })?;
        let raw = ns.run(|| Ok(Raw::open()))?;
        Ok(Fresh { name, h, raw })
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn batch_vs_floor(family: u16, dests: usize) -> lbnet::Result<()> {
    let total = 10_000;
    let services = total / (dests + 1);
    let changes = changes_for(services, dests);
    let mut pre: Vec<Vec<u8>> = changes
        .iter()
        .map(|c| Raw::prebuild(Request::from(c), family, true))
        .collect();
    let mut chunk = Vec::new();
    let (mut ours_b, mut raw_b, mut ours_1, mut raw_1) =
        (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
    let mut k = 0;
    let mut fresh = || {
        k += 1;
        let f = Fresh::new(k)?;
        // Load the scheduler module and resolve the family outside the timing.
        f.h.new_service(&Service::new(ServiceKey::tcp(vip(0), 1), "rr"))?;
        f.h.flush()?;
        Ok::<Fresh, lbnet::Error>(f)
    };
    for round in 0..3 {
        // Alternate which goes first, ours or the floor.
        for side in 0..2 {
            if (side + round) % 2 == 0 {
                let f = fresh()?;
                let t = Instant::now();
                let res = f.h.apply(&changes)?;
                ours_b = ours_b.min(t.elapsed());
                if let Some((i, Err(e))) = res.iter().enumerate().find(|(_, r)| r.is_err()) {
                    panic!("change {i} of the batch failed: {e}");
                }
                let f = fresh()?;
                let t = Instant::now();
                one_by_one(&f.h, &changes)?;
                ours_1 = ours_1.min(t.elapsed());
            } else {
                let mut f = fresh()?;
                let t = Instant::now();
                assert_eq!(f.raw.batch(&mut pre, &mut chunk), 0);
                raw_b = raw_b.min(t.elapsed());
                assert_eq!(f.h.services()?.len(), services);
                let mut f = fresh()?;
                let t = Instant::now();
                for m in pre.iter_mut() {
                    assert_eq!(f.raw.roundtrip(m), 0);
                }
                raw_1 = raw_1.min(t.elapsed());
                assert_eq!(f.h.services()?.len(), services);
            }
        }
    }
    let ns = |d: Duration| d.as_nanos() as f64 / changes.len() as f64;
    println!(
        "batch of {} changes ({services} services + {} destinations), best of 3 alternating, ns/change:",
        changes.len(),
        services * dests
    );
    println!(
        "  {:<36} {:>10} {:>10} {:>8}",
        "mode", "ours", "raw", "ratio"
    );
    row("batched", ns(ours_b), ns(raw_b));
    row("one per round trip", ns(ours_1), ns(raw_1));
    println!(
        "  batching speed-up: ours {:.2}x, raw {:.2}x",
        ns(ours_1) / ns(ours_b),
        ns(raw_1) / ns(raw_b)
    );
    Ok(())
}

/// One batch of `n` changes in a fresh namespace, through `ours` (apply), `ours1` (one call
/// per change), `raw` (the floor, batched) or `raw1` (the floor, one per round trip), or `n`
/// gets of one service (`get`: ours, `rawget`: the floor), and nothing else: for instruction
/// counts under callgrind.
fn profile(what: &str, n: usize) -> lbnet::Result<()> {
    let gets = what.ends_with("get");
    let changes = changes_for(if gets { 1 } else { n / 5 }, 4);
    let mut f = Fresh::new(0)?;
    let family = f.h.family_id()?;
    let mut pre: Vec<Vec<u8>> = if what.starts_with("raw") && !gets {
        changes
            .iter()
            .map(|c| Raw::prebuild(Request::from(c), family, true))
            .collect()
    } else {
        Vec::new()
    };
    f.h.new_service(&Service::new(ServiceKey::tcp(vip(0), 1), "rr"))?;
    f.h.flush()?;
    match what {
        "ours" => assert!(f.h.apply(&changes)?.iter().all(|r| r.is_ok())),
        "ours1" => one_by_one(&f.h, &changes)?,
        "raw" => assert_eq!(f.raw.batch(&mut pre, &mut Vec::new()), 0),
        "raw1" => pre
            .iter_mut()
            .for_each(|m| assert_eq!(f.raw.roundtrip(m), 0)),
        "get" | "rawget" => {
            // n gets of one service with 4 destinations.
            let key = ServiceKey::tcp(vip(0), 80);
            assert!(f.h.apply(&changes[..5])?.iter().all(|r| r.is_ok()));
            let mut get = Raw::prebuild(Request::GetService(Some(&key)), family, false);
            for _ in 0..n {
                if what == "get" {
                    assert_eq!(f.h.get_service(&key)?.scheduler, "rr");
                } else {
                    assert_eq!(f.raw.roundtrip(&mut get), 0);
                }
            }
        }
        w => panic!("unknown {w}"),
    }
    Ok(())
}

fn rss_batch(total: usize) -> lbnet::Result<()> {
    let f = Fresh::new(0)?;
    let h = &f.h;
    h.flush()?;
    let changes = changes_for(total / 5, 4);
    h.new_service(&Service::new(ServiceKey::tcp(vip(0), 1), "rr"))?; // loads ip_vs_rr
    h.flush()?;
    let before = vm_hwm_kib();
    let t = Instant::now();
    let res = h.apply(&changes)?;
    let took = t.elapsed();
    let after = vm_hwm_kib();
    assert!(res.iter().all(|r| r.is_ok()));
    println!(
        "rss-batch: {} changes in one apply: {:?}; VmHWM before apply {} KiB, after {} KiB (+{} KiB); the changes themselves take {} KiB",
        changes.len(),
        took,
        before,
        after,
        after - before,
        changes.len() * std::mem::size_of::<Change>() / 1024
    );
    h.flush()?;
    Ok(())
}

fn main() -> lbnet::Result<()> {
    let raw_args: Vec<String> = std::env::args().skip(1).collect();
    if raw_args.first().map(String::as_str) == Some("rss-batch") {
        let n = raw_args
            .get(1)
            .map_or(10_000, |a| a.parse().expect("number"));
        return rss_batch(n);
    }
    if raw_args.first().map(String::as_str) == Some("profile") {
        return profile(&raw_args[1], raw_args[2].parse().expect("number"));
    }
    if raw_args.first().map(String::as_str) == Some("batch") {
        let h = Handle::new()?;
        let dests = raw_args.get(1).map_or(4, |a| a.parse().expect("number"));
        return batch_vs_floor(h.family_id()?, dests);
    }
    let args: Vec<usize> = raw_args
        .iter()
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let n = args.first().copied().unwrap_or(1000);
    let dests = args.get(1).copied().unwrap_or(4);
    // Everything in a namespace of its own (see [`Fresh`]): earlier runs in this kernel leave
    // no trash behind to slow this one down.
    let mut f = Fresh::new(0)?;
    let h = &f.h;
    let family = h.family_id()?;

    // One add-service round trip: 200 adds of distinct services, each timed.
    h.new_service(&Service::new(ServiceKey::tcp(vip(0), 1), "rr"))?; // loads ip_vs_rr
    h.flush()?;
    let mut adds = Vec::with_capacity(200);
    for i in 0..200 {
        let svc = Service::new(ServiceKey::tcp(vip(i), 81), "rr");
        let t = Instant::now();
        h.new_service(&svc)?;
        adds.push(t.elapsed());
    }
    h.flush()?;
    adds.sort();
    println!(
        "add service, one round trip: median {} (min {}, max {}) over 200",
        per(adds[100], 1),
        per(adds[0], 1),
        per(adds[199], 1)
    );

    single_ops(&f.h, &mut f.raw, family)?;
    let h = &f.h;
    batch_vs_floor(family, dests)?;

    // N individual adds vs one batch of N, alternated three times (best of each), since timings
    // in the lab are noisy.
    let services_only: Vec<Change> = changes_for(n, 0);
    let (mut one_by_one_t, mut batch_services) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        let t = Instant::now();
        one_by_one(h, &services_only)?;
        one_by_one_t = one_by_one_t.min(t.elapsed());
        h.flush()?;
        let t = Instant::now();
        let results = h.apply(&services_only)?;
        batch_services = batch_services.min(t.elapsed());
        assert!(results.iter().all(|r| r.is_ok()));
        h.flush()?;
    }
    let changes = changes_for(n, dests);
    let sent0 = h.requests_sent();
    let t = Instant::now();
    let results = h.apply(&changes)?;
    let batch = t.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(failed, 0, "batch had {failed} failures");
    println!(
        "add {n} services one by one: best of 3 {:?} ({} each)",
        one_by_one_t,
        per(one_by_one_t, n)
    );
    println!(
        "add {n} services in one batch: best of 3 {:?} ({} each)",
        batch_services,
        per(batch_services, n)
    );
    println!(
        "batch of {} changes ({n} services + {} destinations): {:?} ({} each), {} apply call(s)",
        changes.len(),
        n * dests,
        batch,
        per(batch, changes.len()),
        h.requests_sent() - sent0
    );

    // Listing.
    let sent0 = h.requests_sent();
    let t = Instant::now();
    let services = h.services()?;
    let list_svc = t.elapsed();
    assert_eq!(services.len(), n);
    println!(
        "list {n} services: {:?}, {} request(s)",
        list_svc,
        h.requests_sent() - sent0
    );
    let mut best = Duration::MAX;
    let mut reqs = 0;
    for _ in 0..3 {
        let sent0 = h.requests_sent();
        let t = Instant::now();
        let all = h.services_with_destinations()?;
        best = best.min(t.elapsed());
        reqs = h.requests_sent() - sent0;
        assert_eq!(all.len(), n);
        assert!(all.iter().all(|e| e.destinations.len() == dests));
    }
    println!(
        "list {n} services with {dests} destinations each: best of 3 {:?}, {} requests (1 service dump + {n} destination dumps)",
        best, reqs
    );
    let t = Instant::now();
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &f.name, "ipvsadm", "-Ln"])
        .output();
    let adm = t.elapsed();
    if let Ok(o) = out {
        if o.status.success() {
            println!(
                "reference: ipvsadm -Ln on the same table: {:?} ({} lines)",
                adm,
                String::from_utf8_lossy(&o.stdout).lines().count()
            );
        }
    }
    h.flush()?;
    println!("peak RSS (VmHWM) of this process: {} KiB", vm_hwm_kib());
    Ok(())
}
