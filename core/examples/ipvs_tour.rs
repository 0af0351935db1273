//! A short tour of the IPVS API: creates IPv4 and IPv6 services with destinations, then prints
//! the library's own listing (compare with `ipvsadm -Ln`). Needs root and a kernel with IPVS
//! (`make demo-ipvs` runs it in the kernel lab).
//!
//! Usage: `ipvs_tour [--keep]`; without `--keep` the services are deleted at the end.

use std::net::IpAddr;

use lbnet::ipvs::{
    AddressFamily, Change, Destination, ForwardMethod, Handle, Service, ServiceEntry, ServiceFlags,
    ServiceKey, TunnelFlags, TunnelType,
};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn print_table(h: &Handle, entries: &[ServiceEntry]) -> lbnet::Result<()> {
    let info = h.info()?;
    let (a, b, c) = info.version_triple();
    println!(
        "lbnet: IPVS {a}.{b}.{c}, connection table {} entries, {} services",
        info.conn_tab_size,
        entries.len()
    );
    for e in entries {
        let s = &e.service;
        let mut extra = String::new();
        let flag_names: Vec<&str> = [
            (ServiceFlags::SCHED1, "flag-1"),
            (ServiceFlags::SCHED2, "flag-2"),
            (ServiceFlags::SCHED3, "flag-3"),
            (ServiceFlags::ONEPACKET, "one-packet"),
        ]
        .iter()
        .filter(|(f, _)| s.flags.contains(*f))
        .map(|(_, n)| *n)
        .collect();
        if !flag_names.is_empty() {
            extra += &format!(" flags {}", flag_names.join(","));
        }
        if s.flags.contains(ServiceFlags::PERSISTENT) {
            extra += &format!(" persistent {}s", s.timeout);
            match s.key.af() {
                AddressFamily::Inet => {
                    extra += &format!(" netmask {}", std::net::Ipv4Addr::from(s.netmask))
                }
                AddressFamily::Inet6 => extra += &format!(" prefix /{}", s.netmask),
            }
        }
        println!("{:<36} {}{extra}", s.key.to_string(), s.scheduler);
        for d in &e.destinations {
            let addr = match d.addr {
                IpAddr::V4(a) => format!("{a}:{}", d.port),
                IpAddr::V6(a) => format!("[{a}]:{}", d.port),
            };
            let tun = if d.forward == ForwardMethod::Tunnel {
                format!(
                    " ({:?}{})",
                    d.tunnel_type,
                    if d.tunnel_port != 0 {
                        format!(":{}", d.tunnel_port)
                    } else {
                        String::new()
                    }
                )
            } else {
                String::new()
            };
            println!(
                "  -> {addr:<32} {:<10} weight {:<4} active {} inactive {}{tun}",
                format!("{:?}", d.forward),
                d.weight,
                d.active_conns,
                d.inactive_conns
            );
        }
    }
    Ok(())
}

fn main() -> lbnet::Result<()> {
    let keep = std::env::args().any(|a| a == "--keep");
    let h = Handle::new()?;

    let web = ServiceKey::tcp(ip("192.0.2.10"), 80);
    let dns = ServiceKey::udp(ip("192.0.2.10"), 53);
    let web6 = ServiceKey::tcp(ip("2001:db8::10"), 443);
    let mark = ServiceKey::fwmark(AddressFamily::Inet, 42);
    let mut dns_svc = Service::new(dns, "mh");
    dns_svc.flags = ServiceFlags::MH_FALLBACK | ServiceFlags::MH_PORT;
    let mut gue = Destination::new(ip("2001:db8:1::3"), 80, ForwardMethod::Tunnel);
    gue.tunnel_type = TunnelType::Gue;
    gue.tunnel_port = 6080;
    gue.tunnel_flags = TunnelFlags::CSUM;

    // One batch, one sendmsg: services and their destinations.
    let changes = vec![
        Change::NewService(Service::new(web, "wlc")),
        Change::NewDestination(
            web,
            Destination::new(ip("198.51.100.1"), 8080, ForwardMethod::Masquerade).weight(3),
        ),
        Change::NewDestination(
            web,
            Destination::new(ip("198.51.100.2"), 80, ForwardMethod::Route),
        ),
        Change::NewDestination(web, gue),
        Change::NewService(dns_svc),
        Change::NewDestination(
            dns,
            Destination::new(ip("198.51.100.1"), 53, ForwardMethod::Route),
        ),
        Change::NewDestination(
            dns,
            Destination::new(ip("198.51.100.2"), 53, ForwardMethod::Route),
        ),
        Change::NewService(Service::new(web6, "rr").persistent(300, 64)),
        Change::NewDestination(
            web6,
            Destination::new(ip("2001:db8:1::1"), 443, ForwardMethod::Route).weight(2),
        ),
        Change::NewDestination(
            web6,
            Destination::new(ip("2001:db8:1::2"), 443, ForwardMethod::Route),
        ),
        Change::NewService(Service::new(mark, "sh")),
        Change::NewDestination(
            mark,
            Destination::new(ip("198.51.100.3"), 0, ForwardMethod::Route),
        ),
    ];
    for (c, r) in changes.iter().zip(h.apply(&changes)?) {
        if let Err(e) = r {
            eprintln!("ipvs_tour: {e}");
            if !matches!(c, Change::NewService(_)) || e.kind() != lbnet::ErrorKind::Exists {
                return Err(e);
            }
        }
    }
    let mut entries = h.services_with_destinations()?;
    entries.sort_by_key(|e| e.service.key.to_string());
    for e in &mut entries {
        e.destinations.sort_by_key(|d| (d.addr, d.port));
    }
    print_table(&h, &entries)?;

    if !keep {
        for key in [web, dns, web6, mark] {
            h.delete_service(&key)?;
        }
    }
    Ok(())
}
