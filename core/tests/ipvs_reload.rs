//! The IPVS family id changes when the `ip_vs` module is reloaded; one long-lived handle must
//! keep working across the reload (kube-proxy once failed with ENOENT forever after one). This
//! unloads and reloads kernel modules, so it works in the initial namespace and only in the
//! lab; it is its own test binary so no other IPVS test runs meanwhile.

mod ipvs_util;

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use ipvs_util::run;
use lbnet::ipvs::{Destination, ForwardMethod, Handle, Service, ServiceKey};
use lbnet::ErrorKind;

fn loaded_ipvs_modules() -> Vec<String> {
    std::fs::read_to_string("/proc/modules")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|m| m.starts_with("ip_vs"))
        .map(str::to_string)
        .collect()
}

/// `ipvsadm -C`, then unloads every `ip_vs_*` module and `ip_vs` itself, retrying while
/// namespaces that other tests deleted are still being torn down (they hold scheduler refs).
fn unload_ipvs() {
    run("ipvsadm", &["-C"]);
    for _ in 0..100 {
        let mods = loaded_ipvs_modules();
        if mods.is_empty() {
            return;
        }
        for m in mods.iter().filter(|m| m.as_str() != "ip_vs") {
            let _ = Command::new("rmmod").arg(m).output();
        }
        let _ = Command::new("rmmod").arg("ip_vs").output();
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("could not unload ip_vs: {:?}", loaded_ipvs_modules());
}

/// Whether the running kernel's ip_vs module has the generic netlink family alias, so that a
/// lookup of the family "IPVS" loads it (from the kernel's modules.alias, written by depmod).
fn genl_alias_of_ip_vs() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let path = format!("/lib/modules/{}/modules.alias", release.trim());
    let aliases = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    aliases
        .lines()
        .any(|l| l.starts_with("alias net-pf-16-proto-16-family-IPVS ") && l.ends_with(" ip_vs"))
}

fn exercise(h: &Handle, port: u16) {
    let key = ServiceKey::tcp("10.20.0.1".parse::<IpAddr>().unwrap(), port);
    h.new_service(&Service::new(key, "rr")).unwrap();
    h.new_destination(
        &key,
        &Destination::new("10.20.1.1".parse().unwrap(), port, ForwardMethod::Route),
    )
    .unwrap();
    assert_eq!(h.get_service(&key).unwrap().scheduler, "rr");
    assert_eq!(h.destinations(&key).unwrap().len(), 1);
    let listing = run("ipvsadm", &["-S", "-n"]);
    assert!(
        listing.contains(&format!("-A -t 10.20.0.1:{port} -s rr")),
        "{listing}"
    );
}

#[test]
fn same_handle_survives_module_reload() {
    if !ipvs_util::ipvs_available() {
        return;
    }
    let h = Handle::new().unwrap();
    let id0 = h.family_id().unwrap();
    run("ipvsadm", &["-C"]);
    exercise(&h, 80);

    // Reload with no call in between: the first call after it goes to the stale id, the kernel
    // answers ENOENT, the handle resolves the family again and retries once.
    unload_ipvs();
    run("modprobe", &["ip_vs"]);
    let before = h.requests_sent();
    assert!(
        h.services().unwrap().is_empty(),
        "the reload emptied the table"
    );
    let id1 = h.family_id().unwrap();
    eprintln!("IPVS family id before reload {id0}, after {id1}");
    if id1 != id0 {
        // stale request + controller lookup + retry
        assert_eq!(h.requests_sent() - before, 3);
    }
    exercise(&h, 81);

    // Unloaded and not reloaded by anyone. Where ip_vs carries the generic netlink family alias
    // (net-pf-16-proto-16-family-IPVS: Debian's 6.1 and 6.12, not 5.10), resolving the family
    // makes the kernel load ip_vs again and the same handle carries on. Without the alias the
    // kernel cannot load it: the call fails with NotAvailable (and nothing is loaded), and after
    // someone loads ip_vs the same handle carries on.
    unload_ipvs();
    assert!(!loaded_ipvs_modules().contains(&"ip_vs".to_string()));
    if genl_alias_of_ip_vs() {
        assert!(h.services().unwrap().is_empty());
    } else {
        eprintln!("ip_vs has no genl family alias in this kernel: no autoload, checking the error");
        let e = h.services().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotAvailable, "{e}");
        assert!(!loaded_ipvs_modules().contains(&"ip_vs".to_string()));
        run("modprobe", &["ip_vs"]);
        assert!(h.services().unwrap().is_empty());
    }
    assert!(loaded_ipvs_modules().contains(&"ip_vs".to_string()));
    assert_ne!(h.family_id().unwrap(), id1);
    exercise(&h, 82);
    eprintln!(
        "IPVS family id after second reload {}",
        h.family_id().unwrap()
    );
    run("ipvsadm", &["-C"]);
}
