//! The `core-rust` client of the IPVS peer benchmark (see `benches/ipvs/README.md`): our core,
//! `lbnet::ipvs::Handle`, from Rust, one handle for the whole run.
//!
//! Usage: `ipvs_bench_core WORKLOAD N [G]`; prints one line
//! `RESULT core-rust WORKLOAD NS_PER_OP OPS CHECK` for the driver (`benches/ipvs/run.sh`).

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

fn result(w: &str, t: Instant, ops: usize, check: &str) {
    let ns = t.elapsed().as_nanos() as f64 / ops as f64;
    println!("RESULT {CLIENT} {w} {ns:.0} {ops} {check}");
}

fn run(w: &str, n: usize, g: usize) -> lbnet::Result<bool> {
    let h = Handle::new()?;
    h.info()?; // resolves the family outside the timing
    let services: Vec<Service> = (0..n).map(|i| Service::new(key(i), "wrr")).collect();
    match w {
        "add_service" => {
            let t = Instant::now();
            for s in &services {
                h.new_service(s)?;
            }
            result(w, t, n, "-");
        }
        "add_dest" | "update_weight" => {
            let add = w == "add_dest";
            let d = dest(0, if add { 1 } else { 5 });
            let t = Instant::now();
            for s in &services {
                if add {
                    h.new_destination(&s.key, &d)?;
                } else {
                    h.update_destination(&s.key, &d)?;
                }
            }
            result(w, t, n, "-");
        }
        "get_service" => {
            let (mut dests, mut bad) = (0, 0);
            let t = Instant::now();
            for i in 0..n {
                let s = h.get_service(&services[i % g].key)?;
                let ds = h.destinations(&s.key)?;
                bad += usize::from(s.key != services[i % g].key);
                dests += ds.len();
            }
            result(w, t, n, &format!("dests={dests},bad={bad}"));
        }
        "list" => {
            let (mut svcs, mut dests) = (0, 0);
            let t = Instant::now();
            for _ in 0..n {
                let all = h.services_with_destinations()?;
                svcs = all.len();
                dests = all.iter().map(|e| e.destinations.len()).sum();
            }
            result(w, t, n, &format!("services={svcs},dests={dests}"));
        }
        "flush" => {
            let t = Instant::now();
            h.flush()?;
            result(w, t, 1, "-");
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
            result(w, t, changes.len(), &format!("errors={errors}"));
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
