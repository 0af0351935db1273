//! Helpers shared by the IPVS kernel tests: finding IPVS (or saying loudly why the tests are
//! skipped), private network namespaces, and running commands in them.

#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

use lbnet::ipvs::{Handle, HandleOptions};
use lbnet::netns::NetNs;
use lbnet::ErrorKind;

/// True when the environment demands a kernel with IPVS (the lab sets it).
pub fn required() -> bool {
    std::env::var("LBNET_REQUIRE_KERNEL").is_ok_and(|v| v == "1")
}

static MODPROBE: Once = Once::new();

/// Checks that this kernel has IPVS. Returns false (after printing why) when the tests must be
/// skipped; panics instead when `LBNET_REQUIRE_KERNEL=1`.
pub fn ipvs_available() -> bool {
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            !required(),
            "LBNET_REQUIRE_KERNEL=1 but not running as root"
        );
        loud("*** SKIPPED: IPVS kernel tests need root (CAP_NET_ADMIN) ***");
        return false;
    }
    MODPROBE.call_once(|| {
        let _ = Command::new("modprobe").arg("ip_vs").output();
    });
    let h = Handle::new().expect("open a generic netlink socket");
    match h.family_id() {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::NotAvailable => {
            assert!(
                !required(),
                "LBNET_REQUIRE_KERNEL=1 but this kernel has no IPVS: {e}"
            );
            loud(&format!(
                "*** SKIPPED {}: this kernel has no IPVS ({e}); `make test-lab-ipvs` runs the \
                 IPVS kernel tests in the kernel lab ***",
                std::thread::current().name().unwrap_or("test")
            ));
            false
        }
        Err(e) => panic!("resolving the IPVS family failed unexpectedly: {e}"),
    }
}

/// Writes straight to stderr, past the test harness's output capture, so a skip is seen.
fn loud(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Skips the calling test (returns from it) when there is no IPVS.
#[macro_export]
macro_rules! require_ipvs {
    () => {
        if !$crate::ipvs_util::ipvs_available() {
            return;
        }
    };
}

/// Runs `cmd args...`, panicking with its output when it fails; returns stdout.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command and feeds `input` to its stdin.
pub fn run_with_input(cmd: &str, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace made with `ip netns add` for one test, with a dummy interface `d0`
/// (10.0.0.254/8, 2001:db8::fe/32, multicast on) so destinations have routes; deleted on drop,
/// also when the test fails.
pub struct TestNs {
    /// The `ip netns` name.
    pub name: String,
    /// This test's hold on the kernel's IPVS table (see [`TABLE`]); released after `drop`
    /// has flushed the namespace.
    _table: Table,
}

/// The kernel keeps one service table for all namespaces and counts a dump's position over
/// all of it, so a listing that spans several datagrams (more than about 120 services) skips
/// services when services are deleted in any other namespace meanwhile (see
/// `Inner::unique_dump` in core/src/ipvs/handle.rs). Tests that list that many and expect an
/// exact result hold this lock exclusively ([`TestNs::exclusive`]); every other test holds it
/// shared, so small tests still run in parallel with each other. Shared holds are recursive: a
/// test that makes two namespaces must not queue behind a waiting exclusive test that waits for
/// it.
static TABLE: parking_lot::RwLock<()> = parking_lot::RwLock::new(());

enum Table {
    Shared(#[allow(dead_code)] parking_lot::RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code)] parking_lot::RwLockWriteGuard<'static, ()>),
    /// Created by a test that already holds the table exclusively.
    Borrowed,
}

impl TestNs {
    /// Creates the namespace; the test shares the IPVS table with other small tests.
    pub fn new(tag: &str) -> TestNs {
        Self::create(tag, Table::Shared(TABLE.read_recursive()))
    }

    /// Creates the namespace for a test that lists more services than fit in one dump
    /// datagram and expects the exact result: no other test changes IPVS until it is dropped.
    pub fn exclusive(tag: &str) -> TestNs {
        Self::create(tag, Table::Exclusive(TABLE.write()))
    }

    /// A second namespace for a test that holds `owner` (made by [`TestNs::exclusive`]).
    pub fn alongside(owner: &TestNs, tag: &str) -> TestNs {
        assert!(matches!(owner._table, Table::Exclusive(_)));
        Self::create(tag, Table::Borrowed)
    }

    fn create(tag: &str, table: Table) -> TestNs {
        let name = format!(
            "lbnet-ipvs-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        let ns = TestNs {
            name,
            _table: table,
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns.ip(&["link", "add", "d0", "type", "dummy"]);
        ns.ip(&["link", "set", "d0", "multicast", "on"]);
        ns.ip(&["addr", "add", "10.0.0.254/8", "dev", "d0"]);
        ns.ip(&["-6", "addr", "add", "2001:db8::fe/32", "dev", "d0", "nodad"]);
        ns.ip(&["link", "set", "d0", "up"]);
        ns
    }

    /// Runs `ip ARGS` inside the namespace.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut a = vec!["-n", &self.name];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    /// Runs a command inside the namespace (`ip netns exec`).
    pub fn exec(&self, cmd: &str, args: &[&str]) -> String {
        let mut a = vec!["netns", "exec", &self.name, cmd];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    /// Runs a command inside the namespace with `input` on stdin.
    pub fn exec_with_input(&self, cmd: &str, args: &[&str], input: &str) -> String {
        let mut a = vec!["netns", "exec", &self.name, cmd];
        a.extend_from_slice(args);
        run_with_input("ip", &a, input)
    }

    /// The namespace for [`HandleOptions::netns`].
    pub fn netns(&self) -> NetNs {
        NetNs::named(&self.name).unwrap()
    }

    /// A handle operating in this namespace.
    pub fn handle(&self) -> Handle {
        Handle::with_options(HandleOptions {
            netns: self.netns(),
            ..HandleOptions::default()
        })
        .expect("open IPVS handle in test namespace")
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "exec", &self.name, "ipvsadm", "-C"])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
