//! portsyncd: SONiC's port sync daemon over lbnet's link watcher.
//!
//! Reads CONFIG_DB `PORT|*` at start, copies it to APPL_DB `PORT_TABLE` through swss-common's
//! ProducerStateTable protocol and writes `PortConfigDone` (both skipped on warm start), follows
//! CONFIG_DB for ports added later, mirrors every known port's netdev into STATE_DB
//! `PORT_TABLE|<port>` and writes `PortInitDone` once every port configured at start has had a
//! link message; see `sync.rs` for the SONiC rules followed. Runs under systemd as
//! `Type=notify` (READY=1, WATCHDOG=1 at half the watchdog interval, STATUS= with the health
//! state, STOPPING=1); SIGTERM/SIGINT: every link event the kernel queued before the signal is
//! written to Redis, then exit 0; a lost Redis connection is retried and the full state is
//! rewritten after every reconnect. Link events are written in batches (`[performance]`
//! `max_event_queue`, `batch_timeout_ms`); the health (`health.rs`) goes to the health file
//! and STATUS=.
//!
//! Usage: `portsyncd [--config FILE]` (without a file every default applies), `portsyncd
//! --version`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lbnet::linkwatch::{LinkWatcher, WatchOptions};
use lbnet::netns::NetNs;

use portsyncd::config::Config;
use portsyncd::health::{Monitor, Report};
use portsyncd::notify::Notifier;
use portsyncd::redisdb::{spawn_config_watch, Redis};
use portsyncd::sync::{Op, PortSync};

/// The version, and the git commit it was built from when build.rs could read it.
fn version() -> String {
    match option_env!("PORTSYNCD_GIT_COMMIT") {
        Some(c) if !c.is_empty() => format!("portsyncd {} ({c})", env!("CARGO_PKG_VERSION")),
        _ => format!("portsyncd {}", env!("CARGO_PKG_VERSION")),
    }
}

/// SIGTERM and SIGINT.
fn term_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        set
    }
}

/// Blocks SIGTERM and SIGINT in this thread and every thread started after it (the mask is
/// inherited): they stay pending until [`term_requested`] takes them, so no system call is
/// interrupted halfway (a Redis write cut by EINTR would drop the connection at the worst
/// moment, just before the drain). Called before any thread is spawned.
fn block_term_signals() {
    let set = term_set();
    // SAFETY: a valid, initialised signal set; no old mask wanted.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// True once SIGTERM or SIGINT has been sent (takes the pending signal; stays true after).
fn term_requested(seen: &mut bool) -> bool {
    if !*seen {
        let set = term_set();
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: sigtimedwait(2) with a zero timeout only polls the blocked, pending set.
        let sig = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) };
        *seen = sig > 0;
    }
    *seen
}

fn log(msg: &str) {
    eprintln!("portsyncd: {msg}");
}

/// Health as written to the health file (key=value lines).
fn health_text(
    report: &Report,
    sync: &PortSync,
    redis: &Redis,
    w: &LinkWatcher,
    present: usize,
) -> String {
    let s = w.stats();
    format!(
        "health={}\nhealth_reasons={}\nredis={}\nstall_ms={}\nfailure_rate={:.2}\nsuccess_rate={:.2}\nsync_rate={:.2}\nwindow_events={}\nports_configured={}\nports_present={}\nports_pending={}\nport_init_done={}\nevents={}\nresyncs={}\nredis_connects={}\nlast_error={}\n",
        report.state.as_str(),
        report.reasons.join("; "),
        if redis.connected() { "connected" } else { "disconnected" },
        report.stall.as_millis(),
        report.failure_rate,
        report.success_rate,
        report.sync_rate,
        report.window_events,
        sync.configured(),
        present,
        sync.pending(),
        sync.init_done(),
        s.events,
        s.resyncs,
        redis.connects,
        redis.last_error.as_deref().unwrap_or(""),
    )
}

/// systemd's STATUS= text: the state first, as `systemctl status` shows it.
fn status_text(report: &Report, sync: &PortSync, redis: &Redis) -> String {
    let mut s = report.state.as_str().to_string();
    if !report.reasons.is_empty() {
        s.push_str(" (");
        s.push_str(&report.reasons.join("; "));
        s.push(')');
    }
    format!(
        "STATUS={s}: redis {}, {}/{} ports seen, init {}",
        if redis.connected() {
            "connected"
        } else {
            "disconnected"
        },
        sync.configured() - sync.pending().min(sync.configured()),
        sync.configured(),
        if sync.init_done() { "done" } else { "pending" }
    )
}

fn write_health(path: &str, text: &str) {
    if path.is_empty() {
        return;
    }
    let tmp = format!("{path}.tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

/// How often the health is evaluated and, when changed, written to the file and STATUS=.
const HEALTH_EVERY: Duration = Duration::from_millis(100);

/// With no Redis round trip for this long, a `PING` checks that Redis still answers.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// How long the shutdown drain reads link events at most (a flood that never pauses would
/// otherwise keep it reading).
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The STATE_DB keys present (written with a state) and those whose last write Redis has not
/// acknowledged, for the port sync rate.
#[derive(Default)]
struct Ledger {
    present: HashSet<String>,
    owed: HashSet<String>,
}

impl Ledger {
    /// Notes the ports `ops` write; `ok`: Redis acknowledged them.
    fn note(&mut self, ops: &[Op], ok: bool) {
        for op in ops {
            let (key, set) = match op {
                Op::StateSet(k, _) => (k, true),
                Op::StateDel(k) => (k, false),
                _ => continue,
            };
            if set {
                if !self.present.contains(key) {
                    self.present.insert(key.clone());
                }
            } else {
                self.present.remove(key);
            }
            if ok {
                if !self.owed.is_empty() {
                    self.owed.remove(key);
                }
            } else if !self.owed.contains(key) {
                self.owed.insert(key.clone());
            }
        }
    }

    fn unsynced(&self) -> usize {
        self.owed
            .iter()
            .filter(|k| self.present.contains(*k))
            .count()
    }

    /// After a reconnect: the full state, plus a delete of every owed key the full state no
    /// longer has (a port deleted while Redis was away).
    fn rewrite(&self, mut full: Vec<Op>) -> Vec<Op> {
        let set: HashSet<&str> = full
            .iter()
            .filter_map(|o| match o {
                Op::StateSet(k, _) => Some(k.as_str()),
                _ => None,
            })
            .collect();
        let mut gone: Vec<&String> = self
            .owed
            .iter()
            .filter(|k| !set.contains(k.as_str()))
            .collect();
        gone.sort();
        full.extend(gone.into_iter().map(|k| Op::StateDel(k.clone())));
        full
    }
}

/// The daemon's state between loop iterations.
struct Daemon {
    cfg: Config,
    notifier: Notifier,
    watcher: LinkWatcher,
    redis: Redis,
    sync: PortSync,
    monitor: Monitor,
    ledger: Ledger,
    watchdog: Watchdog,
    last_redis_ok: Instant,
}

/// WATCHDOG=1 on a fixed cadence: each ping is due one period after the previous one was
/// due (not after it was sent), so a late loop iteration does not push every later ping back.
struct Watchdog {
    every: Option<Duration>,
    next: Instant,
}

impl Watchdog {
    fn tick(&mut self, n: &Notifier) {
        let Some(iv) = self.every else {
            return;
        };
        let now = Instant::now();
        if now >= self.next {
            n.send("WATCHDOG=1");
            self.next += iv;
            if self.next <= now {
                // More than a period late: start the cadence again from now.
                self.next = now + iv;
            }
        }
    }
}

impl Daemon {
    fn ping_watchdog(&mut self) {
        self.watchdog.tick(&self.notifier);
    }

    /// Writes `ops` (whose events were read at `reads`) and books the outcome.
    fn write(&mut self, ops: Vec<Op>, reads: &[Instant]) {
        if !self.redis.connected() {
            self.monitor.failed(reads.len(), Instant::now());
            self.ledger.note(&ops, false);
            return;
        }
        if ops.is_empty() {
            self.monitor.written(reads, Instant::now());
            return;
        }
        let ops = PortSync::coalesce(ops);
        match self.redis.apply(&ops) {
            Ok(()) => {
                let now = Instant::now();
                self.last_redis_ok = now;
                self.monitor.written(reads, now);
                self.ledger.note(&ops, true);
            }
            Err(e) => {
                log(&e);
                let now = Instant::now();
                self.monitor.failed(reads.len(), now);
                self.monitor.redis_down(now);
                self.ledger.note(&ops, false);
            }
        }
    }

    /// After a new connection: everything again (a restarted Redis may be empty).
    fn rewrite_all(&mut self) -> bool {
        let ops = self.ledger.rewrite(self.sync.full_state());
        match self.redis.apply(&ops) {
            Ok(()) => {
                let now = Instant::now();
                self.last_redis_ok = now;
                self.monitor.redis_up(now);
                self.ledger.owed.clear();
                self.ledger.note(&ops, true);
                true
            }
            Err(e) => {
                log(&e);
                self.monitor.redis_down(Instant::now());
                false
            }
        }
    }

    fn refresh_health(&mut self, last: &mut String) {
        let report = self.monitor.evaluate(
            Instant::now(),
            self.ledger.present.len(),
            self.ledger.unsynced(),
        );
        let h = health_text(
            &report,
            &self.sync,
            &self.redis,
            &self.watcher,
            self.ledger.present.len(),
        );
        if h != *last {
            write_health(&self.cfg.service.health_file, &h);
            self.notifier
                .send(&status_text(&report, &self.sync, &self.redis));
            *last = h;
        }
    }

    /// SIGTERM: every link event queued before it is read and written, then stop.
    fn shutdown(&mut self) {
        self.notifier.send("STOPPING=1");
        let mut ops = Vec::new();
        let mut reads = Vec::new();
        let end = Instant::now() + DRAIN_LIMIT;
        while Instant::now() < end {
            match self.watcher.next_event(Some(Duration::ZERO)) {
                Ok(Some(ev)) => {
                    ops.extend(self.sync.on_event(&ev));
                    reads.push(Instant::now());
                }
                Ok(None) => break,
                Err(e) => log(&format!("link watcher: {e}")),
            }
        }
        self.write(ops, &reads);
        // Not written (Redis away, or the write failed): one more connection, and the full
        // state, which includes the drained events.
        if !self.redis.connected() || !self.ledger.owed.is_empty() {
            if !self.redis.connected() {
                self.redis.connect_now();
            }
            if !self.redis.connected() || !self.rewrite_all() {
                log("redis unreachable at shutdown: the last link events are not written");
            }
        }
        let mut last = String::new();
        self.refresh_health(&mut last);
        log("stopped");
    }
}

fn run(cfg: Config) -> Result<(), String> {
    block_term_signals();
    let mut term = false;
    let mut notifier = Notifier::from_env();
    notifier.watchdog = cfg
        .health
        .watchdog_interval(notifier.watchdog_usec)
        .map(|iv| iv / 2);
    if notifier.watchdog_usec.is_some() && !cfg.health.enable_watchdog {
        log("systemd set WATCHDOG_USEC: sending watchdog pings although enable_watchdog = false");
    }
    let mut watchdog = Watchdog {
        every: notifier.watchdog,
        next: Instant::now() + notifier.watchdog.unwrap_or_default(),
    };

    // Subscribe first, so nothing that happens while we wait for Redis is missed.
    let netns = if cfg.watch.netns.is_empty() {
        NetNs::Current
    } else {
        NetNs::Path(PathBuf::from(&cfg.watch.netns))
    };
    let watcher = LinkWatcher::new(WatchOptions {
        netns,
        rcvbuf: cfg.watch.rcvbuf,
        ..WatchOptions::default()
    })
    .map_err(|e| format!("link watcher: {e}"))?;

    // Follow CONFIG_DB PORT from before the first read, so no port added meanwhile is missed.
    let config_changes = spawn_config_watch(cfg.redis.clone());
    // Wait for Redis as long as it takes.
    let mut redis = Redis::new(cfg.redis.clone())?;
    let (ports, warm) = loop {
        if term_requested(&mut term) {
            notifier.send("STOPPING=1");
            return Ok(());
        }
        watchdog.tick(&notifier);
        if redis.connected() || redis.try_connect() {
            let read = redis.read_ports().and_then(|p| {
                let warm = redis.check_warm_start(cfg.service.warm_start)?;
                Ok((p, warm))
            });
            match read {
                Ok(x) => break x,
                Err(e) => log(&e),
            }
        } else {
            std::thread::sleep(redis.retry_in().min(Duration::from_millis(100)));
        }
    };
    log(&format!(
        "{} ports configured, {} start",
        ports.len(),
        if warm { "warm" } else { "cold" }
    ));
    let sync = PortSync::new(ports, watcher.snapshot(), warm);
    // Cold start: bring the links left from before down, as SONiC's LinkSync does; their
    // messages are ignored from now on.
    for name in sync.old_links() {
        if let Err(e) = set_link_down(&cfg.watch.netns, &name) {
            log(&format!("bring down old interface {name}: {e}"));
        }
    }
    let now = Instant::now();
    let monitor = Monitor::new(
        cfg.health.clone(),
        cfg.performance.clone(),
        Duration::from_secs(cfg.service.health_window_secs),
        now,
    );
    let mut d = Daemon {
        cfg,
        notifier,
        watcher,
        redis,
        sync,
        monitor,
        ledger: Ledger::default(),
        watchdog,
        last_redis_ok: now,
    };
    // Events queued so far are already reflected in the snapshot; applying them again would
    // only repeat the same writes, which is harmless.
    d.rewrite_all();
    d.notifier.send("READY=1");
    let mut last_health = String::new();
    let mut health_at: Option<Instant> = None;
    let max_queue = d.cfg.performance.max_event_queue.max(1);
    let window = Duration::from_millis(d.cfg.performance.batch_timeout_ms);

    loop {
        d.ping_watchdog();
        // The health is evaluated at most every HEALTH_EVERY, not per event.
        if health_at.is_none_or(|t| t.elapsed() >= HEALTH_EVERY) {
            health_at = Some(Instant::now());
            d.refresh_health(&mut last_health);
        }
        if term_requested(&mut term) {
            d.shutdown();
            return Ok(());
        }
        if !d.redis.connected() {
            if d.redis.try_connect() {
                log("redis reconnected: rewriting full state");
                d.rewrite_all();
            } else if d.redis.last_error.is_some() && !d.redis.connected() {
                d.monitor.redis_down(Instant::now());
            }
        } else if d.last_redis_ok.elapsed() >= PROBE_EVERY {
            // Idle: make sure Redis still answers (a stopped server accepts nothing).
            if d.redis.ping() {
                d.last_redis_ok = Instant::now();
                d.monitor.redis_up(d.last_redis_ok);
            } else {
                d.monitor.redis_down(Instant::now());
            }
        }
        // One batch: CONFIG_DB changes, then the link events queued now (the first one waited
        // for), until the kernel has nothing more queued, `max_event_queue` events or the
        // coalescing window since the batch's first event; written in one pipeline.
        let mut ops: Vec<Op> = Vec::new();
        while let Ok((port, fields)) = config_changes.try_recv() {
            ops.extend(d.sync.on_config(&port, fields));
        }
        let mut reads: Vec<Instant> = Vec::new();
        let idle_wait = if d.redis.connected() { 50 } else { 20 };
        let mut wait = Some(Duration::from_millis(if ops.is_empty() {
            idle_wait
        } else {
            0
        }));
        while reads.len() < max_queue {
            if reads.first().is_some_and(|t| t.elapsed() >= window) {
                break;
            }
            match d.watcher.next_event(wait) {
                Ok(Some(ev)) => {
                    ops.extend(d.sync.on_event(&ev));
                    reads.push(Instant::now());
                }
                Ok(None) => break,
                Err(e) => {
                    log(&format!("link watcher: {e}"));
                    break;
                }
            }
            wait = Some(Duration::ZERO);
        }
        if !ops.is_empty() || !reads.is_empty() {
            d.write(ops, &reads);
        }
    }
}

/// `ip link set dev NAME down` in the watched namespace (`netns` a namespace file, "" for
/// ours), as SONiC's LinkSync runs it for old interfaces.
fn set_link_down(netns: &str, name: &str) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["link", "set", "dev", name, "down"]);
    let ns = if netns.is_empty() {
        None
    } else {
        Some(std::fs::File::open(netns).map_err(|e| format!("{netns}: {e}"))?)
    };
    if let Some(f) = &ns {
        let fd = f.as_raw_fd();
        // SAFETY: between fork and exec the child only calls setns(2), which is
        // async-signal-safe; `fd` stays open in the parent until the child has run.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let st = cmd.status().map_err(|e| format!("ip: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("ip exited with {st}"))
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut cfg = Config::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-c" | "--config" => {
                let Some(p) = args.next() else {
                    log("--config needs a file");
                    std::process::exit(2);
                };
                cfg = match Config::load(&PathBuf::from(p)) {
                    Ok(c) => c,
                    Err(e) => {
                        log(&e);
                        std::process::exit(2);
                    }
                };
            }
            "-h" | "--help" => {
                println!("usage: portsyncd [--config FILE] | --version");
                return;
            }
            "-V" | "--version" => {
                println!("{}", version());
                return;
            }
            other => {
                log(&format!("unknown argument {other:?}"));
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = run(cfg) {
        log(&e);
        std::process::exit(1);
    }
}
