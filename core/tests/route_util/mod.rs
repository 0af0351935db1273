//! Test helpers: a throw-away network namespace per test, removed even when the test fails.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use lbnet::netns::NetNs;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A named network namespace (`ip netns add`), deleted on drop.
pub struct TestNs {
    pub name: String,
}

impl TestNs {
    /// A fresh namespace with `lo` up.
    pub fn new(tag: &str) -> TestNs {
        let name = format!(
            "lbrt-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        let ns = TestNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Our handle on it.
    pub fn netns(&self) -> NetNs {
        NetNs::named(&self.name).unwrap()
    }

    /// Runs `ip -n NAME ARGS...`, panicking on failure; returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut a = vec!["-n", self.name.as_str()];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    /// [`TestNs::ip`] with the arguments written as one line, split at white space.
    pub fn ip_line(&self, line: &str) -> String {
        self.ip(&line.split_whitespace().collect::<Vec<_>>())
    }

    /// Runs `ip -n NAME ARGS...` and reports success.
    pub fn ip_ok(&self, args: &[&str]) -> bool {
        Command::new("ip")
            .args(["-n", self.name.as_str()])
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// `ip -j -n NAME ARGS...` parsed (an empty answer is an empty array).
    pub fn ip_json(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut a = vec!["-j"];
        a.extend_from_slice(args);
        let out = self.ip(&a);
        if out.trim().is_empty() {
            return Vec::new();
        }
        match serde_json::from_str::<serde_json::Value>(&out).unwrap() {
            serde_json::Value::Array(v) => v,
            other => panic!("ip -j gave {other}"),
        }
    }

    /// Routes of `ip -j [-6] route show table T`, both families.
    /// A table missing in one family ("FIB table does not exist") counts as empty there.
    pub fn routes(&self, table: &str) -> Vec<serde_json::Value> {
        let mut v = Vec::new();
        for fam in ["-4", "-6"] {
            let o = Command::new("ip")
                .args(["-n", &self.name, "-j", fam, "route", "show", "table", table])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            if !o.status.success() {
                assert!(
                    err.contains("does not exist"),
                    "ip route show failed: {err}"
                );
                continue;
            }
            let out = String::from_utf8(o.stdout).unwrap();
            if out.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<serde_json::Value>(&out).unwrap() {
                serde_json::Value::Array(a) => v.extend(a),
                other => panic!("ip -j gave {other}"),
            }
        }
        v
    }

    /// A veth pair `a` (10.1.0.1/24, 2001:db8:1::1/64) - `b` (10.1.0.2/24, 2001:db8:1::2/64),
    /// both in this namespace and up; returns the index of `a`.
    pub fn veth(&self) -> u32 {
        self.ip(&[
            "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
        ]);
        self.ip(&["addr", "add", "10.1.0.1/24", "dev", "veth0"]);
        self.ip(&["addr", "add", "2001:db8:1::1/64", "dev", "veth0", "nodad"]);
        self.ip(&["link", "set", "veth0", "up"]);
        self.ip(&["link", "set", "veth1", "up"]);
        self.ifindex("veth0")
    }

    /// Index of a link.
    pub fn ifindex(&self, dev: &str) -> u32 {
        let v = self.ip_json(&["link", "show", "dev", dev]);
        v[0]["ifindex"].as_u64().unwrap() as u32
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Runs a command, panicking with its stderr on failure.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}
