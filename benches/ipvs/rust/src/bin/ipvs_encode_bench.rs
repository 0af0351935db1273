//! Host-only micro-benchmark of IPVS request encoding (no kernel needed): ns and heap
//! allocations per message for the work the library does before a request reaches the socket.
//!
//! `ipvs_encode_bench` prints a table; `ipvs_encode_bench one WORKLOAD N` runs only N
//! iterations of one workload and prints nothing, for instruction counts under callgrind
//! (`valgrind --tool=callgrind`; run with two N and divide the difference of the totals by the
//! difference of the N, which removes start-up).
//!
//! Workloads:
//! * `emit-service`, `emit-dest`: a `Request` serialized by netlink-packet-core as
//!   `NetlinkMessage<GenlMessage<Request>>` (its `Emitable` implementation: length counted, then
//!   written) into a fresh buffer, for callers that use those crates;
//! * `emit-batch`: the same for each of 10,000 changes, appended to one buffer;
//! * `direct-service`, `direct-dest`, `direct-batch`: `Request::encode`, what the handle uses
//!   (appends to one reused buffer);
//! * `parse-service`: `parse::parse_service_msg` of a `GET_SERVICE` reply laid out as Linux 6.1
//!   sends it (key, scheduler, flags, timeout, netmask, 32- and 64-bit statistics).

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use lbnet::ipvs::attr::{cmd_attr, stats, svc};
use lbnet::ipvs::message::Request;
use lbnet::ipvs::{parse, Change, Destination, ForwardMethod, Service, ServiceKey};
use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::GenlMessage;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(l.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(n as u64, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const FAMILY: u16 = 0x23;

fn changes(n: usize) -> Vec<Change> {
    let mut v = Vec::with_capacity(n);
    let mut i = 0;
    while v.len() < n {
        let key = ServiceKey::tcp(
            IpAddr::V4(Ipv4Addr::new(10, 100, (i >> 8) as u8, i as u8)),
            80,
        );
        v.push(Change::NewService(Service::new(key, "rr")));
        for j in 0..4u8 {
            if v.len() < n {
                v.push(Change::NewDestination(
                    key,
                    Destination::new(
                        IpAddr::V4(Ipv4Addr::new(172, 16, 0, j + 1)),
                        80,
                        ForwardMethod::Route,
                    ),
                ));
            }
        }
        i += 1;
    }
    v
}

fn tlv(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn stats_set(kind: u16, wide: bool) -> Vec<u8> {
    let mut v = Vec::new();
    for k in stats::CONNS..=stats::OUTBPS {
        if wide {
            tlv(&mut v, k, &(u64::from(k) * 1000).to_ne_bytes());
        } else {
            tlv(&mut v, k, &(u32::from(k) * 1000).to_ne_bytes());
        }
    }
    let mut out = Vec::new();
    tlv(&mut out, kind | 0x8000, &v);
    out
}

/// A `GET_SERVICE` reply as the kernel lays it out.
fn service_reply() -> Vec<u8> {
    let mut a = Vec::new();
    tlv(&mut a, svc::AF, &2u16.to_ne_bytes());
    tlv(&mut a, svc::PROTOCOL, &6u16.to_ne_bytes());
    tlv(
        &mut a,
        svc::ADDR,
        &[10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    tlv(&mut a, svc::PORT, &80u16.to_be_bytes());
    tlv(&mut a, svc::SCHED_NAME, b"wlc\0");
    tlv(&mut a, svc::FLAGS, &[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    tlv(&mut a, svc::TIMEOUT, &0u32.to_ne_bytes());
    tlv(&mut a, svc::NETMASK, &[255, 255, 255, 255]);
    a.extend(stats_set(svc::STATS, false));
    a.extend(stats_set(svc::STATS64, true));
    let mut body = Vec::new();
    tlv(&mut body, cmd_attr::SERVICE | 0x8000, &a);
    let mut m = ((16 + 4 + body.len()) as u32).to_ne_bytes().to_vec();
    m.extend_from_slice(&[0x23, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&[4, 1, 0, 0]);
    m.extend(body);
    m
}

/// Appends `r` serialized through netlink-packet-core / netlink-packet-generic to `out`.
fn emit(r: Request<'_>, out: &mut Vec<u8>) {
    let mut g = GenlMessage::from_payload(r);
    g.set_resolved_family_id(FAMILY);
    let mut m = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(g));
    m.finalize();
    let at = out.len();
    out.resize(at + m.buffer_len(), 0);
    m.serialize(&mut out[at..]);
}

/// Runs `n` messages of `workload`; returns the bytes encoded (so nothing is optimised away).
fn run(workload: &str, n: usize, svc: &Service, dest: &Destination, batch: &[Change]) -> usize {
    let key = svc.key;
    let mut total = 0;
    let mut reused = Vec::with_capacity(256);
    match workload {
        "emit-service" => {
            for _ in 0..n {
                let mut buf = Vec::with_capacity(128);
                emit(Request::NewService(svc), &mut buf);
                total += buf.len();
            }
        }
        "emit-dest" => {
            for _ in 0..n {
                let mut buf = Vec::with_capacity(128);
                emit(Request::NewDest(&key, dest), &mut buf);
                total += buf.len();
            }
        }
        "emit-batch" => {
            let mut buf = Vec::new();
            for c in batch.iter().cycle().take(n) {
                emit(Request::from(c), &mut buf);
            }
            total += buf.len();
        }
        "direct-service" => {
            for _ in 0..n {
                reused.clear();
                Request::NewService(svc)
                    .encode(FAMILY, &mut reused)
                    .unwrap();
                total += reused.len();
            }
        }
        "direct-dest" => {
            for _ in 0..n {
                reused.clear();
                Request::NewDest(&key, dest)
                    .encode(FAMILY, &mut reused)
                    .unwrap();
                total += reused.len();
            }
        }
        "direct-batch" => {
            let mut buf = Vec::new();
            for c in batch.iter().cycle().take(n) {
                Request::from(c).encode(FAMILY, &mut buf).unwrap();
            }
            total += buf.len();
        }
        "parse-service" => {
            let reply = service_reply();
            for _ in 0..n {
                let s = parse::parse_service_msg(&reply).unwrap();
                total += s.scheduler.len();
            }
        }
        w => panic!("unknown workload {w}"),
    }
    total
}

const WORKLOADS: [&str; 7] = [
    "emit-service",
    "emit-dest",
    "emit-batch",
    "direct-service",
    "direct-dest",
    "direct-batch",
    "parse-service",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let svc = Service::new(
        ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80),
        "wlc",
    );
    let dest = Destination::new(
        IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
        8080,
        ForwardMethod::Masquerade,
    );
    let batch = changes(10_000);
    if args.first().map(String::as_str) == Some("one") {
        let n: usize = args[2].parse().expect("N");
        let bytes = run(&args[1], n, &svc, &dest, &batch);
        assert!(bytes > 0 || n == 0);
        return;
    }
    let n = 200_000;
    println!(
        "{:<16} {:>10} {:>14} {:>14}",
        "workload", "ns/msg", "allocs/msg", "alloc B/msg"
    );
    for w in WORKLOADS {
        let mut best = f64::MAX;
        let (mut allocs, mut bytes) = (0, 0);
        for _ in 0..5 {
            let (a0, b0) = (
                ALLOCS.load(Ordering::Relaxed),
                BYTES.load(Ordering::Relaxed),
            );
            let t = Instant::now();
            std::hint::black_box(run(w, n, &svc, &dest, &batch));
            best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
            allocs = ALLOCS.load(Ordering::Relaxed) - a0;
            bytes = BYTES.load(Ordering::Relaxed) - b0;
        }
        println!(
            "{:<16} {:>10.1} {:>14.2} {:>14.1}",
            w,
            best,
            allocs as f64 / n as f64,
            bytes as f64 / n as f64
        );
    }
}
