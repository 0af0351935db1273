//! Shared by the portsyncd end-to-end tests: a real redis-server on a private Unix socket,
//! veth "ports" in a private network namespace, the daemon binary with a systemd notify
//! socket.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub type Fields = BTreeMap<String, String>;

pub const CONFIG_DB: i64 = 4;
pub const APPL_DB: i64 = 0;
pub const STATE_DB: i64 = 6;
pub const WAIT: Duration = Duration::from_secs(10);

pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lbnet-psd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A redis-server of our own on a Unix socket, no persistence, killed on drop.
pub struct RedisServer {
    pub dir: PathBuf,
    pub child: Option<Child>,
}

impl RedisServer {
    pub fn start(dir: &Path) -> RedisServer {
        let mut r = RedisServer {
            dir: dir.to_path_buf(),
            child: None,
        };
        r.spawn();
        r
    }
    pub fn sock(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }
    pub fn url(&self) -> String {
        format!("unix://{}", self.sock().display())
    }
    pub fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.sock());
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(self.sock())
            // Keyspace notifications, as SONiC's redis.conf sets them: portsyncd follows
            // CONFIG_DB through them, and swss::SubscriberStateTable reads STATE_DB with them.
            .args(["--notify-keyspace-events", "AKE"])
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
    /// Sends `sig` to the server (SIGSTOP: it stops answering, connections stay open).
    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    pub fn conn(&self, db: i64) -> redis::Connection {
        let mut c = redis::Client::open(self.url().as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        redis::cmd("SELECT").arg(db).query::<()>(&mut c).unwrap();
        c
    }
    pub fn hgetall(&self, db: i64, key: &str) -> Fields {
        redis::cmd("HGETALL")
            .arg(key)
            .query(&mut self.conn(db))
            .unwrap()
    }
    pub fn exists(&self, db: i64, key: &str) -> bool {
        redis::cmd("EXISTS")
            .arg(key)
            .query::<i64>(&mut self.conn(db))
            .unwrap()
            == 1
    }
    pub fn hset(&self, db: i64, key: &str, fields: &[(&str, &str)]) {
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

pub struct Ns(pub String);

impl Ns {
    pub fn new(tag: &str) -> Ns {
        let n = format!("lbnet-psd-{tag}-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &n])
            .stderr(Stdio::null())
            .status();
        run(&["netns", "add", &n]);
        Ns(n)
    }
    pub fn ip(&self, args: &str) {
        let mut v = vec!["-n", self.0.as_str()];
        v.extend(args.split_whitespace());
        run(&v);
    }
    /// The link's `IFF_*` flags as `ip -o link show` prints them (`<BROADCAST,UP,...>`).
    pub fn flags(&self, name: &str) -> Vec<String> {
        let out = Command::new("ip")
            .args(["-n", &self.0, "-o", "link", "show", "dev", name])
            .output()
            .unwrap();
        assert!(out.status.success(), "ip link show {name}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let a = text.find('<').unwrap() + 1;
        let b = text.find('>').unwrap();
        text[a..b].split(',').map(str::to_string).collect()
    }
    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.0)
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

pub fn run(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The daemon with a notify socket; killed on drop if still running.
pub struct Daemon {
    pub child: Child,
    pub notes: Arc<Mutex<Vec<String>>>,
    /// Every notification with the instant it arrived.
    pub timed: Arc<Mutex<Vec<(Instant, String)>>>,
    pub seen: Vec<String>,
    pub health: PathBuf,
}

impl Daemon {
    pub fn start(dir: &Path, redis_url: &str, ns: &Ns, extra: &str) -> Daemon {
        let health = dir.join("health");
        let cfg = format!(
            "[redis]\nurl = \"{}\"\nbackoff_initial_ms = 50\nbackoff_max_ms = 400\n\
             [watch]\nnetns = \"{}\"\n[service]\nhealth_file = \"{}\"\n{extra}",
            redis_url,
            ns.path(),
            health.display()
        );
        Daemon::start_cfg(dir, &cfg, Some("200000"))
    }

    /// The daemon with the configuration `cfg_text` (its health file, if any, is expected at
    /// `dir/health`) and `WATCHDOG_USEC` set to `watchdog_usec` (unset with `None`).
    pub fn start_cfg(dir: &Path, cfg_text: &str, watchdog_usec: Option<&str>) -> Daemon {
        let notify_path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&notify_path);
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let health = dir.join("health");
        let cfg = dir.join("portsyncd.toml");
        std::fs::write(&cfg, cfg_text).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portsyncd"));
        cmd.arg("--config")
            .arg(&cfg)
            .env("NOTIFY_SOCKET", &notify_path)
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID");
        if let Some(us) = watchdog_usec {
            cmd.env("WATCHDOG_USEC", us);
        }
        let child = cmd.spawn().unwrap();
        // Read notifications continuously, as systemd does.
        let notes = Arc::new(Mutex::new(Vec::new()));
        let timed = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&notes);
        let tsink = Arc::clone(&timed);
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while Arc::strong_count(&sink) > 1 {
                if let Ok(n) = notify.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    tsink.lock().unwrap().push((Instant::now(), text.clone()));
                    sink.lock().unwrap().push(text);
                }
            }
        });
        Daemon {
            child,
            notes,
            timed,
            seen: Vec::new(),
            health,
        }
    }

    pub fn pump(&mut self) {
        self.seen = self.notes.lock().unwrap().clone();
        std::thread::sleep(Duration::from_millis(10));
    }

    pub fn wait_notify(&mut self, what: &str) {
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

    pub fn health(&self) -> String {
        std::fs::read_to_string(&self.health).unwrap_or_default()
    }

    /// One `key=value` line of the health file.
    pub fn health_field(&self, key: &str) -> Option<String> {
        self.health()
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
    }

    /// The notifications so far, with their arrival instants.
    pub fn timed_notes(&self) -> Vec<(Instant, String)> {
        self.timed.lock().unwrap().clone()
    }

    /// Sends `sig` to the daemon.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Waits for the daemon to exit.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let end = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < end, "daemon did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
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

pub fn configure_ports(r: &RedisServer, names: &[&str]) {
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
