//! portsyncd: SONiC's port sync daemon over lbnet's link watcher.
//!
//! Reads CONFIG_DB `PORT|*` once at start, copies it to APPL_DB `PORT_TABLE` and writes
//! `PortConfigDone` (both skipped on warm start), then mirrors every configured port's netdev
//! into STATE_DB `PORT_TABLE|<port>` and writes `PortInitDone` once every configured port has a
//! netdev. Runs under systemd as `Type=notify` (READY=1, watchdog pings, STATUS=, STOPPING=1);
//! SIGTERM drains the events already queued and exits 0; a lost Redis connection is retried with
//! exponential backoff and the full state is rewritten after every reconnect.
//!
//! Usage: `portsyncd [--config FILE]` (without a file every default applies).

mod config;
mod notify;
mod redisdb;
mod sync;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lbnet::linkwatch::{LinkWatcher, WatchOptions};
use lbnet::netns::NetNs;

use config::Config;
use notify::Notifier;
use redisdb::Redis;
use sync::PortSync;

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
        "redis={}\nports_configured={}\nports_present={}\nport_init_done={}\nevents={}\nresyncs={}\nredis_connects={}\nlast_error={}\n",
        if redis.connected() { "connected" } else { "disconnected" },
        sync.configured(),
        sync.present(),
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

    // CONFIG_DB is read once, as SONiC's portsyncd does; wait for Redis as long as it takes.
    let mut redis = Redis::new(cfg.redis.clone())?;
    let (ports, warm) = loop {
        if TERM.load(Ordering::SeqCst) {
            notifier.send("STOPPING=1");
            return Ok(());
        }
        ping(&notifier, &mut last_ping);
        if redis.connected() || redis.try_connect() {
            let read = redis.read_ports().and_then(|p| {
                let warm = cfg.service.warm_start || redis.warm_restart_enabled()?;
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
    // Events queued so far are already reflected in the snapshot; applying them again would
    // only repeat the same writes, which is harmless.
    let ops = sync.full_state();
    if let Err(e) = redis.apply(&ops) {
        log(&e);
    }
    notifier.send("READY=1");
    let mut last_health = String::new();

    loop {
        ping(&notifier, &mut last_ping);
        let h = health(&sync, &redis, &watcher);
        if h != last_health {
            write_health(&cfg.service.health_file, &h);
            notifier.send(&format!(
                "STATUS=redis {}, {}/{} ports present, init {}",
                if redis.connected() {
                    "connected"
                } else {
                    "disconnected"
                },
                sync.present(),
                sync.configured(),
                if sync.init_done() { "done" } else { "pending" }
            ));
            last_health = h;
        }
        if TERM.load(Ordering::SeqCst) {
            // Drain what the kernel already sent, write it, and stop.
            notifier.send("STOPPING=1");
            while let Ok(Some(ev)) = watcher.next_event(Some(Duration::ZERO)) {
                let ops = sync.on_event(&ev);
                if redis.connected() {
                    let _ = redis.apply(&ops);
                }
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
        match watcher.next_event(Some(Duration::from_millis(100))) {
            Ok(Some(ev)) => {
                let ops = sync.on_event(&ev);
                if redis.connected() {
                    if let Err(e) = redis.apply(&ops) {
                        log(&e);
                    }
                }
            }
            Ok(None) => {}
            Err(e) => log(&format!("link watcher: {e}")),
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
