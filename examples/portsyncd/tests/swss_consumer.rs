//! portsyncd against SONiC's own readers, built from swss-common (`make test-portsyncd-swss`
//! builds `examples/portsyncd/swss/swss_consumer.cpp` against libswsscommon and runs these with
//! `SWSS_CONSUMER_BIN` set): APPL_DB PORT_TABLE read through `swss::ConsumerStateTable` (what
//! orchagent uses), STATE_DB PORT_TABLE through `swss::SubscriberStateTable`, and every write
//! portsyncd sends witnessed independently by the server's `MONITOR`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use portsyncd::config::RedisConfig;
use portsyncd::redisdb::Redis;
use portsyncd::sync::Op;

const NEEDS: &str = "needs the swss-common consumer: run `make test-portsyncd-swss`";

fn consumer_bin() -> PathBuf {
    let p = std::env::var_os("SWSS_CONSUMER_BIN").expect(NEEDS);
    PathBuf::from(p)
}

/// Lines of a child's stdout, collected by a thread; the child is killed on drop.
struct Lines {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Lines {
    fn spawn(mut cmd: Command) -> Lines {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let out = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                sink.lock().unwrap().push(l);
            }
        });
        Lines { child, lines }
    }
    fn all(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
    fn wait(&self, line: &str) {
        wait_until(WAIT, &format!("{line:?}; have {:?}", self.all()), || {
            self.all().iter().any(|l| l == line)
        });
    }
    fn stop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + WAIT;
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < end, "child ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50)); // the reader thread drains the pipe
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// swss-common's database_config.json for our private server (Unix socket, SONiC's numbers).
fn db_config(dir: &Path, r: &RedisServer) -> PathBuf {
    let p = dir.join("database_config.json");
    let db = |name: &str, id: i64, sep: &str| {
        format!(r#""{name}": {{"id": {id}, "separator": "{sep}", "instance": "redis"}}"#)
    };
    std::fs::write(
        &p,
        format!(
            r#"{{"INSTANCES": {{"redis": {{"hostname": "127.0.0.1", "port": 6379, "unix_socket_path": "{}"}}}},
"DATABASES": {{{}, {}, {}}}, "VERSION": "1.0"}}"#,
            r.sock().display(),
            db("APPL_DB", APPL_DB, ":"),
            db("CONFIG_DB", CONFIG_DB, "|"),
            db("STATE_DB", STATE_DB, "|"),
        ),
    )
    .unwrap();
    p
}

fn consumer(dir: &Path, r: &RedisServer) -> Lines {
    let mut cmd = Command::new(consumer_bin());
    cmd.arg(db_config(dir, r));
    let c = Lines::spawn(cmd);
    c.wait("READY");
    c
}

/// `APPL|STATE SET|DEL key f=v ...` as the consumer prints it (fields sorted).
fn line(db: &str, op: &str, key: &str, fields: &BTreeMap<String, String>) -> String {
    let mut s = format!("{db} {op} {key}");
    for (f, v) in fields {
        s.push_str(&format!(" {f}={v}"));
    }
    s
}

fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The producer protocol alone, driven through portsyncd's Redis layer, read by the real
/// ConsumerStateTable: sets, merged sets, deletes, delete-then-set in one call, a batch of 100
/// keys in one script call with one publish.
#[test]
#[ignore = "needs the swss-common consumer: run `make test-portsyncd-swss`"]
fn producer_protocol_read_by_consumer_state_table() {
    let dir = tmpdir("swss-proto");
    let r = RedisServer::start(&dir);
    let c = consumer(&dir, &r);
    let mut p = Redis::new(RedisConfig {
        url: r.url(),
        ..RedisConfig::default()
    })
    .unwrap();
    assert!(p.try_connect());
    let set = |k: &str, fv: &[(&str, &str)]| Op::ApplSet(k.into(), f(fv));

    p.apply(&[set("Ethernet0", &[("mtu", "9100"), ("admin_status", "up")])])
        .unwrap();
    c.wait("APPL SET Ethernet0 admin_status=up mtu=9100");
    assert_eq!(
        r.hgetall(APPL_DB, "PORT_TABLE:Ethernet0"),
        f(&[("mtu", "9100"), ("admin_status", "up")])
    );
    // Two sets of one key in one call reach the consumer as one, later fields winning.
    p.apply(&[
        set("Ethernet0", &[("mtu", "1500")]),
        set("Ethernet0", &[("mtu", "2000"), ("speed", "100000")]),
    ])
    .unwrap();
    c.wait("APPL SET Ethernet0 mtu=2000 speed=100000");
    assert_eq!(
        r.hgetall(APPL_DB, "PORT_TABLE:Ethernet0"),
        f(&[("mtu", "2000"), ("admin_status", "up"), ("speed", "100000")])
    );
    p.apply(&[Op::ApplDel("Ethernet0".into())]).unwrap();
    c.wait("APPL DEL Ethernet0");
    assert!(!r.exists(APPL_DB, "PORT_TABLE:Ethernet0"));
    // Delete then set in one call: the consumer sees the set, and the old fields are gone.
    p.apply(&[set("Ethernet4", &[("a", "1"), ("b", "2")])])
        .unwrap();
    c.wait("APPL SET Ethernet4 a=1 b=2");
    p.apply(&[
        Op::ApplDel("Ethernet4".into()),
        set("Ethernet4", &[("c", "3")]),
    ])
    .unwrap();
    c.wait("APPL SET Ethernet4 c=3");
    assert_eq!(r.hgetall(APPL_DB, "PORT_TABLE:Ethernet4"), f(&[("c", "3")]));

    // 100 keys in one call: one publish on PORT_TABLE_CHANNEL@0, 100 entries popped.
    let mut sub = redis::Client::open(r.url().as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut ps = sub.as_pubsub();
    ps.subscribe("PORT_TABLE_CHANNEL@0").unwrap();
    ps.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let ops: Vec<Op> = (0..100)
        .map(|i| {
            Op::ApplSet(
                format!("Ethernet{}", 100 + i),
                f(&[("index", &i.to_string())]),
            )
        })
        .collect();
    p.apply(&ops).unwrap();
    for i in 0..100 {
        c.wait(&format!("APPL SET Ethernet{} index={i}", 100 + i));
    }
    let mut published = 0;
    while let Ok(m) = ps.get_message() {
        assert_eq!(m.get_payload::<String>().unwrap(), "G");
        published += 1;
    }
    assert_eq!(published, 1);
    // Nothing left behind in the protocol's keys.
    let mut a = r.conn(APPL_DB);
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("_PORT_TABLE:*")
        .query(&mut a)
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    for set in ["PORT_TABLE_KEY_SET", "PORT_TABLE_DEL_SET"] {
        let n: i64 = redis::cmd("SCARD").arg(set).query(&mut a).unwrap();
        assert_eq!(n, 0, "{set}");
    }
    assert_eq!(c.all().len(), 1 + 5 + 100);
}

/// One write portsyncd sent, as MONITOR shows it.
#[derive(Debug, Clone, PartialEq)]
enum Write {
    /// An APPL_DB PORT_TABLE entry of one producer script call.
    Appl(String, Option<BTreeMap<String, String>>),
    /// STATE_DB PORT_TABLE `HSET` (fields) or `DEL` (None).
    State(String, Option<BTreeMap<String, String>>),
}

/// `1733.123 [6 unix:/path] "HSET" "PORT_TABLE|x" ...` -> (db, args); None for commands run
/// inside scripts (`[0 lua]`).
fn parse_monitor(l: &str) -> Option<(i64, Vec<String>)> {
    let a = l.find('[')?;
    let b = l[a..].find(']')? + a;
    let inside = &l[a + 1..b];
    if inside.contains("lua") {
        return None;
    }
    let db: i64 = inside.split_whitespace().next()?.parse().ok()?;
    let mut args = Vec::new();
    let mut chars = l[b + 1..].chars();
    while let Some(ch) = chars.next() {
        if ch != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => s.push('\n'),
                    Some(c) => s.push(c),
                    None => break,
                },
                c => s.push(c),
            }
        }
        args.push(s);
    }
    Some((db, args))
}

fn pairs(args: &[String]) -> BTreeMap<String, String> {
    args.chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

fn writes(monitor: &[String]) -> Vec<Write> {
    let mut out = Vec::new();
    for l in monitor {
        let Some((db, args)) = parse_monitor(l) else {
            continue;
        };
        let cmd = args.first().map(|s| s.to_ascii_uppercase());
        match (db, cmd.as_deref()) {
            (STATE_DB, Some("HSET")) if args[1].starts_with("PORT_TABLE|") => {
                out.push(Write::State(
                    args[1]["PORT_TABLE|".len()..].into(),
                    Some(pairs(&args[2..])),
                ))
            }
            (STATE_DB, Some("DEL")) if args[1].starts_with("PORT_TABLE|") => {
                out.push(Write::State(args[1]["PORT_TABLE|".len()..].into(), None))
            }
            (APPL_DB, Some("EVALSHA"))
                if args.get(3).map(String::as_str) == Some("PORT_TABLE_CHANNEL@0") =>
            {
                // KEYS: channel, key set, del set, prefix; ARGV: "G", then op key n pairs...
                let mut i = 8;
                while i < args.len() {
                    let n: usize = args[i + 2].parse().unwrap();
                    let key = args[i + 1].clone();
                    let fields = (args[i] == "S").then(|| pairs(&args[i + 3..i + 3 + 2 * n]));
                    out.push(Write::Appl(key, fields));
                    i += 3 + 2 * n;
                }
            }
            _ => {}
        }
    }
    out
}

/// portsyncd's whole life against the real readers: every write it sent (per MONITOR) arrives,
/// per key in order, with the right fields and operation.
#[test]
#[ignore = "needs the swss-common consumer: run `make test-portsyncd-swss`"]
fn every_portsyncd_write_reaches_the_swss_readers_in_order() {
    let dir = tmpdir("swss-daemon");
    let r = RedisServer::start(&dir);
    let ns = Ns::new("swss");
    configure_ports(&r, &["Ethernet0", "Ethernet4"]);
    let mut mon = {
        let mut cmd = Command::new("redis-cli");
        cmd.arg("-s").arg(r.sock()).arg("monitor");
        Lines::spawn(cmd)
    };
    wait_until(WAIT, "MONITOR", || mon.all().iter().any(|l| l == "OK"));
    let mut c = consumer(&dir, &r);
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");
    let cfg0 = r.hgetall(CONFIG_DB, "PORT|Ethernet0");
    c.wait(&line("APPL", "SET", "Ethernet0", &cfg0));
    c.wait("APPL SET PortConfigDone count=2");
    let state = |admin: &str, mtu: &str, oper: &str| {
        format!("admin_status={admin} mtu={mtu} netdev_oper_status={oper} state=ok")
    };
    ns.ip("link add Ethernet0 type veth peer name p0");
    c.wait(&format!(
        "STATE SET Ethernet0 {}",
        state("down", "1500", "down")
    ));
    ns.ip("link add Ethernet4 type veth peer name p4");
    c.wait(&format!(
        "STATE SET Ethernet4 {}",
        state("down", "1500", "down")
    ));
    c.wait("APPL SET PortInitDone lanes=0");
    ns.ip("link set p0 up");
    ns.ip("link set Ethernet0 up");
    c.wait(&format!(
        "STATE SET Ethernet0 {}",
        state("up", "1500", "up")
    ));
    ns.ip("link set Ethernet0 mtu 9100");
    c.wait(&format!(
        "STATE SET Ethernet0 {}",
        state("up", "9100", "up")
    ));
    configure_ports(&r, &["Ethernet0", "Ethernet4", "Ethernet8"]);
    let cfg8 = r.hgetall(CONFIG_DB, "PORT|Ethernet8");
    c.wait(&line("APPL", "SET", "Ethernet8", &cfg8));
    ns.ip("link add Ethernet8 type veth peer name p8");
    c.wait(&format!(
        "STATE SET Ethernet8 {}",
        state("down", "1500", "down")
    ));
    ns.ip("link del Ethernet4");
    c.wait("STATE DEL Ethernet4");
    std::thread::sleep(Duration::from_millis(300));
    assert!(d.terminate().success());
    std::thread::sleep(Duration::from_millis(300));
    c.stop();
    mon.stop();

    let sent = writes(&mon.all());
    let got = c.all();
    assert!(sent.len() >= 11, "{sent:?}");
    // Per key: line i is write i, or (a reader reads the hash when it gets to it) the state of
    // a later write of that key; as many lines as writes; the last line is the last write.
    let mut keys: Vec<(&str, String)> = Vec::new();
    for w in &sent {
        let k = match w {
            Write::Appl(k, _) => ("APPL", k.clone()),
            Write::State(k, _) => ("STATE", k.clone()),
        };
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (db, key) in &keys {
        let want: Vec<String> = sent
            .iter()
            .filter_map(|w| match w {
                Write::Appl(k, fv) | Write::State(k, fv)
                    if k == key && matches!(w, Write::Appl(..)) == (*db == "APPL") =>
                {
                    Some(match fv {
                        Some(fv) => line(db, "SET", k, fv),
                        None => format!("{db} DEL {k}"),
                    })
                }
                _ => None,
            })
            .collect();
        let have: Vec<String> = got
            .iter()
            .filter(|l| {
                let mut it = l.split(' ');
                it.next() == Some(*db) && it.nth(1) == Some(key.as_str())
            })
            .cloned()
            .collect();
        assert_eq!(
            have.len(),
            want.len(),
            "{db} {key}: sent {want:?}, read {have:?}"
        );
        for (i, h) in have.iter().enumerate() {
            assert!(
                want[i..].contains(h),
                "{db} {key}: line {i} {h:?} not in {want:?}"
            );
        }
        assert_eq!(have.last(), want.last(), "{db} {key}");
    }
    // And nothing read that was not sent.
    let mut n = 0;
    for (db, key) in &keys {
        n += got
            .iter()
            .filter(|l| {
                let mut it = l.split(' ');
                it.next() == Some(*db) && it.nth(1) == Some(key.as_str())
            })
            .count();
    }
    assert_eq!(n + 1, got.len(), "lines not matching any write: {got:?}"); // + READY
    eprintln!(
        "swss readers: {} writes sent, {} entries read",
        sent.len(),
        n
    );
}
