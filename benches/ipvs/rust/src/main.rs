//! The `core-rust` client of the IPVS peer benchmark (see `benches/ipvs/README.md`): our core,
//! `lbnet::ipvs::Handle`, from Rust, one handle for the whole run.
//!
//! Usage: `ipvs_bench_core WORKLOAD N [G]`; prints one line
//! `RESULT core-rust WORKLOAD NS_PER_OP OPS CHECK DIST` for the driver (`benches/ipvs/run.sh`),
//! DIST being `median=NS,p90=NS` of the per-operation times for the single-operation workloads
//! and `n/a` for the others.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Instant;

use lbnet::ipvs::{Change, Destination, ForwardMethod, Handle, Service, ServiceKey};

const CLIENT: &str = "core-rust";

/// Service `i`: TCP 10.(1 + i/65536).(i/256 % 256).(i % 256):80.
fn key(i: usize) -> ServiceKey {
    let ip = Ipv4Addr::new(10, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8);
    ServiceKey::tcp(IpAddr::V4(ip), 80)
}

/// Destination `j` of every service: 172.16.0.(j+1):8080, masquerading (NAT).
fn dest(j: usize, weight: i32) -> Destination {
    let ip = Ipv4Addr::new(172, 16, 0, j as u8 + 1);
    Destination::new(IpAddr::V4(ip), 8080, ForwardMethod::Masquerade).weight(weight)
}

/// Per-operation times taken in groups, as the C clients' dist.h does: every `g` consecutive
/// operations (`LBNET_IPVS_BENCH_GROUP`, default 10) make one sample, the group's time divided
/// by `g`, so the clock is read twice per group, not twice per operation; an unfinished last
/// group is dropped.
struct Samples {
    ns: Vec<u128>,
    g: u32,
    k: u32,
    t0: Instant,
}

impl Samples {
    fn new(n: usize) -> Self {
        let g = std::env::var("LBNET_IPVS_BENCH_GROUP")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(10)
            .clamp(1, 1000);
        Samples {
            ns: Vec::with_capacity(n),
            g,
            k: 0,
            t0: Instant::now(),
        }
    }

    /// Before an operation: starts the clock at the first operation of a group.
    fn begin(&mut self) {
        if self.k == 0 {
            self.t0 = Instant::now();
        }
    }

    /// After an operation: a group of `g` operations done makes one sample.
    fn end(&mut self) {
        self.k += 1;
        if self.k == self.g {
            self.ns
                .push(self.t0.elapsed().as_nanos() / u128::from(self.g));
            self.k = 0;
        }
    }
}

/// Prints the RESULT line: the mean over `ops` of the time since `t`, and, when `samples` holds
/// the per-operation times (one per group, see [`Samples`]), their median and 90th percentile (nearest rank: the p-th is
/// the sorted sample at index ceil(p * n / 100) - 1, as in the C and Go clients); "n/a"
/// otherwise.
fn result(w: &str, t: Instant, ops: usize, check: &str, samples: &mut [u128]) {
    let ns = t.elapsed().as_nanos() as f64 / ops as f64;
    let dist = if samples.is_empty() {
        "n/a".to_string()
    } else {
        samples.sort_unstable();
        let at = |p: usize| samples[(p * samples.len()).div_ceil(100).saturating_sub(1)];
        format!("median={},p90={}", at(50), at(90))
    };
    println!("RESULT {CLIENT} {w} {ns:.0} {ops} {check} {dist}");
}

fn run(w: &str, n: usize, g: usize) -> lbnet::Result<bool> {
    let h = Handle::new()?;
    h.info()?; // resolves the family outside the timing
    let services: Vec<Service> = (0..n).map(|i| Service::new(key(i), "wrr")).collect();
    match w {
        "add_service" => {
            let mut samples = Samples::new(n);
            let t = Instant::now();
            for s in &services {
                samples.begin();
                h.new_service(s)?;
                samples.end();
            }
            result(w, t, n, "-", &mut samples.ns);
        }
        "add_dest" | "update_weight" => {
            let add = w == "add_dest";
            let d = dest(0, if add { 1 } else { 5 });
            let mut samples = Samples::new(n);
            let t = Instant::now();
            for s in &services {
                samples.begin();
                if add {
                    h.new_destination(&s.key, &d)?;
                } else {
                    h.update_destination(&s.key, &d)?;
                }
                samples.end();
            }
            result(w, t, n, "-", &mut samples.ns);
        }
        "get_service" => {
            let (mut dests, mut bad) = (0, 0);
            let mut samples = Samples::new(n);
            let t = Instant::now();
            for i in 0..n {
                samples.begin();
                let s = h.get_service(&services[i % g].key)?;
                let ds = h.destinations(&s.key)?;
                bad += usize::from(s.key != services[i % g].key);
                dests += ds.len();
                drop(ds);
                samples.end();
            }
            result(
                w,
                t,
                n,
                &format!("dests={dests},bad={bad}"),
                &mut samples.ns,
            );
        }
        "list" => {
            let (mut svcs, mut dests) = (0, 0);
            let t = Instant::now();
            for _ in 0..n {
                let all = h.services_with_destinations()?;
                svcs = all.len();
                dests = all.iter().map(|e| e.destinations.len()).sum();
            }
            result(w, t, n, &format!("services={svcs},dests={dests}"), &mut []);
        }
        "flush" => {
            let t = Instant::now();
            h.flush()?;
            result(w, t, 1, "-", &mut []);
        }
        "batch" => {
            // n changes: n/5 services with 4 destinations each; building the changes is timed
            // (it is part of using the API).
            let t = Instant::now();
            let mut changes = Vec::with_capacity(n);
            for s in services.iter().take(n / 5) {
                changes.push(Change::NewService(s.clone()));
                for j in 0..4 {
                    changes.push(Change::NewDestination(s.key, dest(j, 1)));
                }
            }
            let results = h.apply(&changes)?;
            let errors = results.iter().filter(|r| r.is_err()).count();
            result(w, t, changes.len(), &format!("errors={errors}"), &mut []);
            return Ok(errors == 0);
        }
        _ => {
            eprintln!("{CLIENT}: unknown workload {w}");
            return Ok(false);
        }
    }
    Ok(true)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: ipvs_bench_core WORKLOAD N [G]");
        return ExitCode::from(2);
    }
    let n: usize = args[1].parse().unwrap_or(0);
    let g: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    match run(&args[0], n, g) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{CLIENT}: {e}");
            ExitCode::FAILURE
        }
    }
}
