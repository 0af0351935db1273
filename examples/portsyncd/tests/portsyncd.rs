//! portsyncd end to end: a real redis-server on a private Unix socket, veth "ports" in a
//! private network namespace, the daemon binary with a systemd notify socket.

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Fields = BTreeMap<String, String>;

const CONFIG_DB: i64 = 4;
const APPL_DB: i64 = 0;
const STATE_DB: i64 = 6;
const WAIT: Duration = Duration::from_secs(10);

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lbnet-psd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A redis-server of our own on a Unix socket, no persistence, killed on drop.
struct RedisServer {
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    fn start(dir: &Path) -> RedisServer {
        let mut r = RedisServer {
            dir: dir.to_path_buf(),
            child: None,
        };
        r.spawn();
        r
    }
    fn sock(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }
    fn url(&self) -> String {
        format!("unix://{}", self.sock().display())
    }
    fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.sock());
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(self.sock())
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
            ])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server)");
        self.child = Some(child);
        wait_until(WAIT, "redis-server up", || {
            redis::Client::open(self.url().as_str())
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok()
        });
    }
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    fn conn(&self, db: i64) -> redis::Connection {
        let mut c = redis::Client::open(self.url().as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        redis::cmd("SELECT").arg(db).query::<()>(&mut c).unwrap();
        c
    }
    fn hgetall(&self, db: i64, key: &str) -> Fields {
        redis::cmd("HGETALL")
            .arg(key)
            .query(&mut self.conn(db))
            .unwrap()
    }
    fn exists(&self, db: i64, key: &str) -> bool {
        redis::cmd("EXISTS")
            .arg(key)
            .query::<i64>(&mut self.conn(db))
            .unwrap()
            == 1
    }
    fn hset(&self, db: i64, key: &str, fields: &[(&str, &str)]) {
        let mut c = redis::cmd("HSET");
        c.arg(key);
        for (k, v) in fields {
            c.arg(*k).arg(*v);
        }
        c.query::<()>(&mut self.conn(db)).unwrap();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Ns(String);

impl Ns {
    fn new(tag: &str) -> Ns {
        let n = format!("lbnet-psd-{tag}-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &n])
            .stderr(Stdio::null())
            .status();
        run(&["netns", "add", &n]);
        Ns(n)
    }
    fn ip(&self, args: &str) {
        let mut v = vec!["-n", self.0.as_str()];
        v.extend(args.split_whitespace());
        run(&v);
    }
    fn path(&self) -> String {
        format!("/var/run/netns/{}", self.0)
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The daemon with a notify socket; killed on drop if still running.
struct Daemon {
    child: Child,
    notes: Arc<Mutex<Vec<String>>>,
    seen: Vec<String>,
    health: PathBuf,
}

impl Daemon {
    fn start(dir: &Path, redis_url: &str, ns: &Ns, extra: &str) -> Daemon {
        let notify_path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&notify_path);
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let health = dir.join("health");
        let cfg = dir.join("portsyncd.toml");
        std::fs::write(
            &cfg,
            format!(
                "[redis]\nurl = \"{}\"\nbackoff_initial_ms = 50\nbackoff_max_ms = 400\n\
                 [watch]\nnetns = \"{}\"\n[service]\nhealth_file = \"{}\"\n{extra}",
                redis_url,
                ns.path(),
                health.display()
            ),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_portsyncd"))
            .arg("--config")
            .arg(&cfg)
            .env("NOTIFY_SOCKET", &notify_path)
            .env("WATCHDOG_USEC", "200000")
            .spawn()
            .unwrap();
        // Read notifications continuously, as systemd does.
        let notes = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&notes);
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while Arc::strong_count(&sink) > 1 {
                if let Ok(n) = notify.recv(&mut buf) {
                    sink.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        });
        Daemon {
            child,
            notes,
            seen: Vec::new(),
            health,
        }
    }

    fn pump(&mut self) {
        self.seen = self.notes.lock().unwrap().clone();
        std::thread::sleep(Duration::from_millis(10));
    }

    fn wait_notify(&mut self, what: &str) {
        let end = Instant::now() + WAIT;
        loop {
            self.pump();
            if self.seen.iter().any(|s| s == what) {
                return;
            }
            assert!(
                Instant::now() < end,
                "no {what} from the daemon; saw {:?}",
                self.seen
            );
        }
    }

    fn health(&self) -> String {
        std::fs::read_to_string(&self.health).unwrap_or_default()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < end, "daemon ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn configure_ports(r: &RedisServer, names: &[&str]) {
    for (i, n) in names.iter().enumerate() {
        let lanes = format!("{},{}", 4 * i, 4 * i + 1);
        r.hset(
            CONFIG_DB,
            &format!("PORT|{n}"),
            &[
                ("lanes", &lanes),
                ("speed", "100000"),
                ("mtu", "9100"),
                ("admin_status", "up"),
            ],
        );
    }
}

#[test]
fn cold_start_flap_mtu_delete_and_port_init_done() {
    let dir = tmpdir("cold");
    let r = RedisServer::start(&dir);
    let ns = Ns::new("cold");
    configure_ports(&r, &["Ethernet0", "Ethernet4", "Ethernet8"]);
    ns.ip("link add Ethernet0 type veth peer name p0");
    ns.ip("link add Ethernet4 type veth peer name p4");
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");

    // CONFIG_DB copied to APPL_DB, PortConfigDone with the count.
    let e0 = r.hgetall(APPL_DB, "PORT_TABLE:Ethernet0");
    assert_eq!(e0, r.hgetall(CONFIG_DB, "PORT|Ethernet0"));
    assert_eq!(e0["lanes"], "0,1");
    assert_eq!(
        r.hgetall(APPL_DB, "PORT_TABLE:PortConfigDone")["count"],
        "3"
    );
    let st = r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0");
    assert_eq!(st["state"], "ok");
    assert_eq!(st["admin_status"], "down");
    assert_eq!(st["netdev_oper_status"], "down");
    assert_eq!(st["mtu"], "1500");
    assert!(!r.exists(STATE_DB, "PORT_TABLE|Ethernet8"));
    // Ethernet8 has no netdev yet: no PortInitDone.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!r.exists(APPL_DB, "PORT_TABLE:PortInitDone"));
    assert!(
        d.health().contains("port_init_done=false"),
        "{}",
        d.health()
    );

    ns.ip("link add Ethernet8 type veth peer name p8");
    wait_until(WAIT, "PortInitDone", || {
        r.exists(APPL_DB, "PORT_TABLE:PortInitDone")
    });
    assert_eq!(r.hgetall(APPL_DB, "PORT_TABLE:PortInitDone")["lanes"], "0");
    assert!(r.exists(STATE_DB, "PORT_TABLE|Ethernet8"));

    // Flap.
    ns.ip("link set p0 up");
    ns.ip("link set Ethernet0 up");
    wait_until(WAIT, "Ethernet0 up", || {
        let s = r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0");
        s["admin_status"] == "up" && s["netdev_oper_status"] == "up"
    });
    ns.ip("link set Ethernet0 down");
    wait_until(WAIT, "Ethernet0 down", || {
        let s = r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0");
        s["admin_status"] == "down" && s["netdev_oper_status"] == "down"
    });

    // MTU.
    ns.ip("link set Ethernet0 mtu 9100");
    wait_until(WAIT, "mtu 9100", || {
        r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0")["mtu"] == "9100"
    });

    // Delete: the STATE_DB entry goes; links that are not ports are never written.
    ns.ip("link add other0 type veth peer name other1");
    ns.ip("link del Ethernet4");
    wait_until(WAIT, "Ethernet4 gone", || {
        !r.exists(STATE_DB, "PORT_TABLE|Ethernet4")
    });
    assert!(!r.exists(STATE_DB, "PORT_TABLE|other0"));
    assert!(r.exists(STATE_DB, "PORT_TABLE|Ethernet0"));

    // Watchdog pings at WATCHDOG_USEC/2, health written, SIGTERM exits 0.
    std::thread::sleep(Duration::from_millis(350));
    d.pump();
    let pings = d.seen.iter().filter(|s| *s == "WATCHDOG=1").count();
    assert!(pings >= 2, "watchdog pings: {:?}", d.seen);
    assert!(d.seen.iter().any(|s| s.starts_with("STATUS=")));
    let h = d.health();
    assert!(
        h.contains("redis=connected") && h.contains("port_init_done=true"),
        "{h}"
    );
    let status = d.terminate();
    assert!(status.success(), "exit status {status:?}");
    d.wait_notify("STOPPING=1");
}

#[test]
fn redis_killed_and_restarted_gets_the_full_state_again() {
    let dir = tmpdir("restart");
    let mut r = RedisServer::start(&dir);
    let ns = Ns::new("restart");
    configure_ports(&r, &["Ethernet0", "Ethernet4"]);
    ns.ip("link add Ethernet0 type veth peer name p0");
    ns.ip("link add Ethernet4 type veth peer name p4");
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");
    wait_until(WAIT, "PortInitDone", || {
        r.exists(APPL_DB, "PORT_TABLE:PortInitDone")
    });

    r.kill();
    // Changes while Redis is away.
    ns.ip("link set Ethernet0 mtu 2000");
    ns.ip("link del Ethernet4");
    wait_until(WAIT, "health says disconnected", || {
        d.health().contains("redis=disconnected")
    });
    std::thread::sleep(Duration::from_millis(300)); // a few backoff rounds
    r.spawn(); // empty: no persistence

    wait_until(WAIT, "state rewritten", || {
        r.exists(APPL_DB, "PORT_TABLE:PortInitDone")
            && r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0")
                .get("mtu")
                .map(String::as_str)
                == Some("2000")
    });
    assert_eq!(r.hgetall(APPL_DB, "PORT_TABLE:Ethernet0")["lanes"], "0,1");
    assert_eq!(
        r.hgetall(APPL_DB, "PORT_TABLE:PortConfigDone")["count"],
        "2"
    );
    assert!(!r.exists(STATE_DB, "PORT_TABLE|Ethernet4"));
    wait_until(WAIT, "health says connected", || {
        d.health().contains("redis=connected")
    });
    assert!(d.health().contains("redis_connects=2"), "{}", d.health());
    // And it keeps working after the reconnect.
    ns.ip("link set Ethernet0 mtu 3000");
    wait_until(WAIT, "mtu 3000", || {
        r.hgetall(STATE_DB, "PORT_TABLE|Ethernet0")
            .get("mtu")
            .map(String::as_str)
            == Some("3000")
    });
    assert!(d.terminate().success());
}

#[test]
fn warm_start_skips_the_config_copy_and_port_config_done() {
    let dir = tmpdir("warm");
    let r = RedisServer::start(&dir);
    let ns = Ns::new("warm");
    configure_ports(&r, &["Ethernet0"]);
    r.hset(
        STATE_DB,
        "WARM_RESTART_ENABLE_TABLE|system",
        &[("enable", "true")],
    );
    ns.ip("link add Ethernet0 type veth peer name p0");
    let mut d = Daemon::start(&dir, &r.url(), &ns, "");
    d.wait_notify("READY=1");
    wait_until(WAIT, "state entry", || {
        r.exists(STATE_DB, "PORT_TABLE|Ethernet0")
    });
    wait_until(WAIT, "PortInitDone", || {
        r.exists(APPL_DB, "PORT_TABLE:PortInitDone")
    });
    assert!(!r.exists(APPL_DB, "PORT_TABLE:PortConfigDone"));
    assert!(!r.exists(APPL_DB, "PORT_TABLE:Ethernet0"));
    assert!(d.terminate().success());
}

#[test]
fn waits_for_redis_that_is_not_there_yet() {
    let dir = tmpdir("late");
    let ns = Ns::new("late");
    ns.ip("link add Ethernet0 type veth peer name p0");
    // The daemon is pointed at a socket path where nothing listens yet.
    let late = dir.join("late.sock");
    let mut d = Daemon::start(&dir, &format!("unix://{}", late.display()), &ns, "");
    d.wait_notify("WATCHDOG=1"); // pings while it waits for Redis
    std::thread::sleep(Duration::from_millis(300));
    d.pump();
    assert!(
        !d.seen.iter().any(|s| s == "READY=1"),
        "ready without redis"
    );
    // Bring Redis up with its configuration, then make it reachable at that path.
    let r = RedisServer::start(&dir);
    configure_ports(&r, &["Ethernet0"]);
    std::os::unix::fs::symlink(r.sock(), &late).unwrap();
    d.wait_notify("READY=1");
    wait_until(WAIT, "state entry", || {
        r.exists(STATE_DB, "PORT_TABLE|Ethernet0")
    });
    assert!(d.terminate().success());
}
