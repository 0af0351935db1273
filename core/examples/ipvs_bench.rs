//! Measures IPVS through the library (run in the kernel lab; needs root and IPVS):
//! one add-service round trip, batched creation of N services with D destinations each, and
//! listing them all with their destinations, with the number of requests each step sent.
//! `ipvsadm -Ln` on the same table is timed too, as a reference measured in the same run.
//!
//! Usage: `ipvs_bench [SERVICES [DESTS]]` (default 1000 and 4). Flushes the IPVS table of the
//! current network namespace first and at the end.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use lbnet::ipvs::{Change, Destination, ForwardMethod, Handle, Service, ServiceKey};

fn per(d: Duration, n: usize) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6 / n as f64)
}

fn main() -> lbnet::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let n = args.first().copied().unwrap_or(1000);
    let dests = args.get(1).copied().unwrap_or(4);
    let h = Handle::new()?;
    h.flush()?;
    let vip = |i: usize| {
        IpAddr::V4(Ipv4Addr::new(
            10,
            100 + (i >> 16) as u8,
            (i >> 8) as u8,
            i as u8,
        ))
    };

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

    // N individual adds vs one batch of N, alternated three times (best of each), since timings
    // in the lab are noisy.
    let services_only: Vec<Change> = (0..n)
        .map(|i| Change::NewService(Service::new(ServiceKey::tcp(vip(i), 80), "rr")))
        .collect();
    let (mut one_by_one, mut batch_services) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        let t = Instant::now();
        for c in &services_only {
            if let Change::NewService(s) = c {
                h.new_service(s)?;
            }
        }
        one_by_one = one_by_one.min(t.elapsed());
        h.flush()?;
        let t = Instant::now();
        let results = h.apply(&services_only)?;
        batch_services = batch_services.min(t.elapsed());
        assert!(results.iter().all(|r| r.is_ok()));
        h.flush()?;
    }
    let mut changes = Vec::with_capacity(n * (dests + 1));
    for i in 0..n {
        let key = ServiceKey::tcp(vip(i), 80);
        changes.push(Change::NewService(Service::new(key, "rr")));
        for j in 0..dests {
            let real = IpAddr::V4(Ipv4Addr::new(172, 16, (j >> 8) as u8, j as u8 + 1));
            changes.push(Change::NewDestination(
                key,
                Destination::new(real, 80, ForwardMethod::Route),
            ));
        }
    }
    let sent0 = h.requests_sent();
    let t = Instant::now();
    let results = h.apply(&changes)?;
    let batch = t.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(failed, 0, "batch had {failed} failures");
    println!(
        "add {n} services one by one: best of 3 {:?} ({} each)",
        one_by_one,
        per(one_by_one, n)
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
    let out = std::process::Command::new("ipvsadm").arg("-Ln").output();
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
    Ok(())
}
