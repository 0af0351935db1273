//! Helpers shared by the link-watch host-kernel tests: throw-away network namespaces, `ip`
//! commands, and the kernel's view of links as `ip -j -d link` prints it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lbnet::linkwatch::{Event, Link, LinkWatcher};
use lbnet::netns::NetNs;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace named uniquely for this process, deleted on drop (also on panic).
pub struct Ns {
    pub name: String,
}

/// `ip -n NS -batch -` running in the background with a thread writing its script to its stdin,
/// so that a test reads events while the kernel applies the changes (`ip` reads its stdin as
/// fast as it applies lines: a script larger than the pipe would block a single thread).
pub struct IpBatch {
    pub child: Child,
    feeder: Option<JoinHandle<std::io::Result<()>>>,
}

impl IpBatch {
    /// Waits for the feeding thread and panics if writing the script failed.
    pub fn fed(&mut self) {
        if let Some(f) = self.feeder.take() {
            f.join().unwrap().unwrap();
        }
    }

    /// Waits for the whole script and panics unless `ip` applied every line.
    pub fn finish(mut self) {
        self.fed();
        assert!(self.child.wait().unwrap().success(), "ip -batch failed");
    }
}

impl Ns {
    /// Starts `ip -batch` on `script` in this namespace (see [`IpBatch`]).
    pub fn ip_batch(&self, script: String) -> IpBatch {
        let mut child = Command::new("ip")
            .args(["-n", &self.name, "-batch", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
        IpBatch {
            child,
            feeder: Some(feeder),
        }
    }

    pub fn new(tag: &str) -> Ns {
        let name = format!(
            "lbnet-lw-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        run("ip", &["netns", "add", &name]);
        Ns { name }
    }

    pub fn netns(&self) -> NetNs {
        NetNs::named(&self.name).unwrap()
    }

    /// Runs `ip -n NS ARGS...` and panics with its stderr if it fails.
    pub fn ip(&self, args: &str) {
        let mut v = vec!["-n", self.name.as_str()];
        v.extend(args.split_whitespace());
        run("ip", &v);
    }

    /// The kernel's links as `ip -j -d link show` prints them, keyed by ifindex.
    pub fn kernel_links(&self) -> HashMap<u32, IpLink> {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-j", "-d", "link", "show"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let arr = v.as_array().unwrap();
        let names: HashMap<String, u32> = arr
            .iter()
            .map(|l| {
                (
                    l["ifname"].as_str().unwrap().to_string(),
                    l["ifindex"].as_u64().unwrap() as u32,
                )
            })
            .collect();
        arr.iter()
            .map(|l| {
                let flags: Vec<&str> = l["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap())
                    .collect();
                let link = IpLink {
                    index: l["ifindex"].as_u64().unwrap() as u32,
                    name: l["ifname"].as_str().unwrap().to_string(),
                    kind: l["linkinfo"]["info_kind"].as_str().map(str::to_string),
                    admin_up: flags.contains(&"UP"),
                    lower_up: flags.contains(&"LOWER_UP"),
                    oper_state: l["operstate"].as_str().unwrap().to_string(),
                    mtu: l["mtu"].as_u64().unwrap() as u32,
                    mac: l["address"].as_str().unwrap_or("").to_string(),
                    master: l["master"].as_str().map(|m| names[m]),
                    alias: l["ifalias"].as_str().map(str::to_string),
                };
                (link.index, link)
            })
            .collect()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

pub fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One link as iproute2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpLink {
    pub index: u32,
    pub name: String,
    pub kind: Option<String>,
    pub admin_up: bool,
    pub lower_up: bool,
    pub oper_state: String,
    pub mtu: u32,
    pub mac: String,
    pub master: Option<u32>,
    pub alias: Option<String>,
}

impl From<&Link> for IpLink {
    fn from(l: &Link) -> Self {
        IpLink {
            index: l.index,
            name: l.name.clone(),
            kind: l.kind.clone(),
            admin_up: l.admin_up,
            lower_up: l.lower_up,
            oper_state: l.oper_state.as_str().to_string(),
            mtu: l.mtu,
            mac: l.mac_string(),
            master: l.master,
            alias: l.alias.clone(),
        }
    }
}

/// Converts a table of watcher links to the iproute2 view for comparison.
pub fn as_ip(table: &HashMap<u32, Link>) -> HashMap<u32, IpLink> {
    table.iter().map(|(k, l)| (*k, IpLink::from(l))).collect()
}

/// A consumer: applies every event to its own table and keeps the events it saw.
pub struct Consumer {
    pub table: HashMap<u32, Link>,
    pub events: Vec<Event>,
}

impl Consumer {
    pub fn new(w: &LinkWatcher) -> Consumer {
        Consumer {
            table: w.snapshot().into_iter().map(|l| (l.index, l)).collect(),
            events: Vec::new(),
        }
    }

    /// Reads events until `done(table)` holds, or panics after `limit`.
    pub fn until<F>(&mut self, w: &mut LinkWatcher, limit: Duration, what: &str, done: F)
    where
        F: Fn(&HashMap<u32, Link>) -> bool,
    {
        let end = Instant::now() + limit;
        while !done(&self.table) {
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; table: {:#?}",
                self.table
            );
            if let Some(e) = w.next_event(Some(left)).unwrap() {
                e.apply(&mut self.table);
                self.events.push(e);
            }
        }
    }

    /// Reads events until none comes for `quiet`.
    pub fn drain(&mut self, w: &mut LinkWatcher, quiet: Duration) {
        while let Some(e) = w.next_event(Some(quiet)).unwrap() {
            e.apply(&mut self.table);
            self.events.push(e);
        }
    }

    pub fn by_name(&self, name: &str) -> Option<&Link> {
        self.table.values().find(|l| l.name == name)
    }
}
