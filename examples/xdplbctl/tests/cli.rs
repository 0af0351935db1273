//! Drives the real `xdplbctl` binary against the kernel: attach to a veth in a fresh network
//! namespace, configure through separate invocations (each adopts the pinned data plane), read
//! back, detach.

use std::process::Command;

struct Ns(String, String);

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.1);
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ctl(pin: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xdplbctl"))
        .args(["-p", pin])
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn ok(pin: &str, args: &[&str]) -> String {
    let (good, text) = ctl(pin, args);
    assert!(good, "xdplbctl {args:?}: {text}");
    text
}

#[test]
fn attach_configure_list_drain_detach() {
    let name = format!("xctl{}", std::process::id());
    let pin = format!("/sys/fs/bpf/lbnet-test-{name}/v0");
    let ns = Ns(name.clone(), format!("/sys/fs/bpf/lbnet-test-{name}"));
    let ip = |a: &str| {
        let st = Command::new("ip")
            .args(a.split_whitespace())
            .status()
            .unwrap();
        assert!(st.success(), "ip {a}");
    };
    ip(&format!("netns add {}", ns.0));
    ip(&format!("-n {} link add v0 type veth peer name v1", ns.0));
    ip(&format!("-n {} link set v0 up", ns.0));
    let netns = format!("/var/run/netns/{}", ns.0);
    ok(
        &pin,
        &[
            "attach",
            "v0",
            "--netns",
            &netns,
            "--max-vips",
            "4",
            "--src4",
            "10.0.0.1",
        ],
    );
    ok(&pin, &["vip", "add", "tcp", "198.18.0.10:80"]);
    ok(&pin, &["vip", "add", "udp", "[2001:db8::10]:53"]);
    let (good, text) = ctl(&pin, &["vip", "add", "tcp", "198.18.0.10:80"]);
    assert!(!good && text.contains("exists"), "{text}");
    let t = ok(
        &pin,
        &[
            "backends",
            "tcp",
            "198.18.0.10:80",
            "10.0.1.1",
            "10.0.1.2=3",
        ],
    );
    assert!(t.contains("2 backends, 65537 ring slots written"), "{t}");
    let t = ok(&pin, &["drain", "tcp", "198.18.0.10:80", "10.0.1.2"]);
    assert!(t.contains("weight 0"), "{t}");
    let list = ok(&pin, &["list"]);
    assert!(list.contains("tcp:198.18.0.10:80"), "{list}");
    assert!(list.contains("udp:[2001:db8::10]:53"), "{list}");
    let line = |a: &str| {
        list.lines()
            .find(|l| l.trim_start().starts_with(a))
            .unwrap()
            .to_string()
    };
    assert!(line("10.0.1.1").ends_with("slots 65537"), "{list}");
    assert!(line("10.0.1.2").contains("weight 0"), "{list}");
    let stats = ok(&pin, &["stats"]);
    assert!(stats.contains("drop_no_backend"), "{stats}");
    assert!(stats.contains("icmp_too_big"), "{stats}");
    // Per-backend counters (no traffic here: zero; the xdp-lab topology checks real ones).
    assert!(
        stats.contains("  backend 10.0.1.1 packets 0 bytes 0"),
        "{stats}"
    );
    assert!(
        stats.contains("  backend 10.0.1.2 packets 0 bytes 0"),
        "{stats}"
    );
    ok(&pin, &["config", "--flow-src", "on", "--max-pkt", "1400"]);
    let (good, text) = ctl(&pin, &["config", "--max-pkt", "1000"]);
    assert!(!good && text.contains("1280"), "{text}");
    let (good, _) = ctl(&pin, &["config", "--flow-src", "maybe"]);
    assert!(!good);
    ok(&pin, &["config", "--new-flow-limit", "1000"]);
    ok(&pin, &["config", "--new-flow-limit", "off"]);
    let (good, _) = ctl(&pin, &["config", "--new-flow-limit", "many"]);
    assert!(!good);
    // The program is attached in the namespace: ip link shows it.
    let out = Command::new("ip")
        .args(["-n", &ns.0, "link", "show", "v0"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("xdpgeneric"));
    ok(&pin, &["detach"]);
    let out = Command::new("ip")
        .args(["-n", &ns.0, "link", "show", "v0"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("xdp"));
    let (good, _) = ctl(&pin, &["list"]);
    assert!(!good, "nothing pinned any more");
}
