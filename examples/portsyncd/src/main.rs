//! portsyncd: SONiC's port sync daemon over lbnet's link watcher.
//!
//! Reads CONFIG_DB `PORT|*` at start, copies it to APPL_DB `PORT_TABLE` through swss-common's
//! ProducerStateTable protocol and writes `PortConfigDone` (both skipped on warm start), follows
//! CONFIG_DB for ports added later, mirrors every known port's netdev into STATE_DB
//! `PORT_TABLE|<port>` and writes `PortInitDone` once every port configured at start has had a
//! link message; see `sync.rs` for the SONiC rules followed. Runs under systemd as `Type=notify` (READY=1, watchdog pings, STATUS=, STOPPING=1);
//! SIGTERM drains the events already queued and exits 0; a lost Redis connection is retried with
//! exponential backoff and the full state is rewritten after every reconnect.
//!
//! Usage: `portsyncd [--config FILE]` (without a file every default applies).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lbnet::linkwatch::{LinkWatcher, WatchOptions};
use lbnet::netns::NetNs;

use portsyncd::config::Config;
use portsyncd::notify::Notifier;
use portsyncd::redisdb::{spawn_config_watch, Redis};
use portsyncd::sync::{Op, PortSync};

static TERM: AtomicBool = AtomicBool::new(false);

extern "C" fn on_term(_: libc::c_int) {
    TERM.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction with an async-signal-safe handler that only stores an
        // atomic; no SA_RESTART, so blocking calls return EINTR and the loop sees the flag.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_term as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn log(msg: &str) {
    eprintln!("portsyncd: {msg}");
}

/// Health as written to the health file and systemd's STATUS=.
fn health(sync: &PortSync, redis: &Redis, w: &LinkWatcher) -> String {
    let s = w.stats();
    format!(
        "redis={}\nports_configured={}\nports_pending={}\nport_init_done={}\nevents={}\nresyncs={}\nredis_connects={}\nlast_error={}\n",
        if redis.connected() { "connected" } else { "disconnected" },
        sync.configured(),
        sync.pending(),
        sync.init_done(),
        s.events,
        s.resyncs,
        redis.connects,
        redis.last_error.as_deref().unwrap_or(""),
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

/// How often the health file and STATUS= are refreshed (when they changed).
const HEALTH_EVERY: Duration = Duration::from_millis(100);

/// Most link events written in one pipeline.
const MAX_BATCH: usize = 1024;

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

fn run(cfg: Config) -> Result<(), String> {
    install_signal_handlers();
    let notifier = Notifier::from_env();
    let mut last_ping = Instant::now();
    let ping = |n: &Notifier, last: &mut Instant| {
        if let Some(iv) = n.watchdog {
            if last.elapsed() >= iv {
                n.send("WATCHDOG=1");
                *last = Instant::now();
            }
        }
    };

    // Subscribe first, so nothing that happens while we wait for Redis is missed.
    let netns = if cfg.watch.netns.is_empty() {
        NetNs::Current
    } else {
        NetNs::Path(PathBuf::from(&cfg.watch.netns))
    };
    let mut watcher = LinkWatcher::new(WatchOptions {
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
        if TERM.load(Ordering::SeqCst) {
            notifier.send("STOPPING=1");
            return Ok(());
        }
        ping(&notifier, &mut last_ping);
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
    let mut sync = PortSync::new(ports, watcher.snapshot(), warm);
    // Cold start: bring the links left from before down, as SONiC's LinkSync does; their
    // messages are ignored from now on.
    for name in sync.old_links() {
        if let Err(e) = set_link_down(&cfg.watch.netns, &name) {
            log(&format!("bring down old interface {name}: {e}"));
        }
    }
    // Events queued so far are already reflected in the snapshot; applying them again would
    // only repeat the same writes, which is harmless.
    let ops = sync.full_state();
    if let Err(e) = redis.apply(&ops) {
        log(&e);
    }
    notifier.send("READY=1");
    let mut last_health = String::new();
    let mut health_at: Option<Instant> = None;

    loop {
        ping(&notifier, &mut last_ping);
        // The health text is rebuilt at most every HEALTH_EVERY, not per event.
        let due = health_at.is_none_or(|t| t.elapsed() >= HEALTH_EVERY);
        let h = if due {
            health_at = Some(Instant::now());
            Some(health(&sync, &redis, &watcher))
        } else {
            None
        };
        if let Some(h) = h.filter(|h| *h != last_health) {
            write_health(&cfg.service.health_file, &h);
            notifier.send(&format!(
                "STATUS=redis {}, {}/{} ports seen, init {}",
                if redis.connected() {
                    "connected"
                } else {
                    "disconnected"
                },
                sync.configured() - sync.pending().min(sync.configured()),
                sync.configured(),
                if sync.init_done() { "done" } else { "pending" }
            ));
            last_health = h;
        }
        if TERM.load(Ordering::SeqCst) {
            // Drain what the kernel already sent, write it, and stop.
            notifier.send("STOPPING=1");
            let mut ops = Vec::new();
            while let Ok(Some(ev)) = watcher.next_event(Some(Duration::ZERO)) {
                ops.extend(sync.on_event(&ev));
            }
            if redis.connected() {
                let _ = redis.apply(&PortSync::coalesce(ops));
            }
            write_health(&cfg.service.health_file, &health(&sync, &redis, &watcher));
            log("stopped");
            return Ok(());
        }
        if !redis.connected() && redis.try_connect() {
            log("redis reconnected: rewriting full state");
            let ops = sync.full_state();
            if let Err(e) = redis.apply(&ops) {
                log(&e);
            }
        }
        // One batch: CONFIG_DB changes, then the link events queued now (the first one waited
        // for), written in one pipeline.
        let mut ops: Vec<Op> = Vec::new();
        while let Ok((port, fields)) = config_changes.try_recv() {
            ops.extend(sync.on_config(&port, fields));
        }
        let mut wait = Some(Duration::from_millis(if ops.is_empty() { 50 } else { 0 }));
        for _ in 0..MAX_BATCH {
            match watcher.next_event(wait) {
                Ok(Some(ev)) => ops.extend(sync.on_event(&ev)),
                Ok(None) => break,
                Err(e) => {
                    log(&format!("link watcher: {e}"));
                    break;
                }
            }
            wait = Some(Duration::ZERO);
        }
        if redis.connected() && !ops.is_empty() {
            if let Err(e) = redis.apply(&PortSync::coalesce(ops)) {
                log(&e);
            }
        }
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
                println!("usage: portsyncd [--config FILE]");
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
