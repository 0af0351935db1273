//! The design's configuration file (tests/design.toml: the file printed in the Rust portsyncd
//! design, 192d-Wing/sonic-swss crates/portsyncd/README.md "Configuration", verbatim) is
//! accepted, with the values it states, which are also its defaults.

use std::time::Duration;

use portsyncd::config::{Config, DatabaseConfig, HealthConfig, PerformanceConfig};

const DESIGN: &str = include_str!("design.toml");

#[test]
fn design_file_parses_with_its_values() {
    let c = Config::parse(DESIGN).unwrap();
    // [database]
    assert_eq!(c.redis.url, "redis://127.0.0.1:6379");
    assert_eq!((c.redis.config_db, c.redis.state_db), (4, 6));
    assert_eq!(c.redis.appl_db, 0);
    assert_eq!(c.redis.timeout_ms, 5000);
    assert_eq!(
        (c.redis.backoff_initial_ms, c.redis.backoff_max_ms),
        (2000, 2000)
    );
    // [performance]
    assert_eq!(c.performance.max_event_queue, 1000);
    assert_eq!(c.performance.batch_timeout_ms, 100);
    assert_eq!(c.performance.max_latency_us, 10_000);
    assert_eq!(c.performance.min_success_rate, 99.0);
    // [health]
    assert_eq!(c.health.max_stall_seconds, 10);
    assert_eq!(c.health.max_failure_rate_percent, 5.0);
    assert_eq!(c.health.min_port_sync_rate, 90.0);
    assert!(c.health.enable_watchdog);
    assert_eq!(c.health.watchdog_interval_secs, 15);
    assert_eq!(
        c.health.watchdog_interval(None),
        Some(Duration::from_secs(15))
    );
}

#[test]
fn design_values_are_the_defaults() {
    let c = Config::parse(DESIGN).unwrap();
    assert_eq!(c.performance, PerformanceConfig::default());
    assert_eq!(c.health, HealthConfig::default());
    // Empty sections take the same values.
    let e = Config::parse("[database]\n[performance]\n[health]\n").unwrap();
    assert_eq!(e, c);
    assert_eq!(e.redis, DatabaseConfig::default().to_redis());
    // Without [database], ours ([redis]) applies with its own defaults; the other two
    // sections have the design's defaults either way.
    let none = Config::parse("").unwrap();
    assert_eq!(none.performance, c.performance);
    assert_eq!(none.health, c.health);
}

#[test]
fn unknown_keys_in_the_design_sections_are_errors() {
    for (section, key) in [
        ("database", "redis_password = \"x\""),
        ("performance", "max_event_queue_len = 5"),
        ("health", "watchdog_secs = 5"),
    ] {
        let text = DESIGN.replace(&format!("[{section}]\n"), &format!("[{section}]\n{key}\n"));
        let e = Config::parse(&text).unwrap_err();
        assert!(e.contains("unknown field"), "{section}: {e}");
    }
}

#[test]
fn the_daemon_binary_accepts_the_design_file() {
    // --version after --config: the file is read and checked first, so a refused file exits 2.
    let dir = std::env::temp_dir().join(format!("lbnet-psd-design-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("design.toml");
    std::fs::write(&path, DESIGN).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portsyncd"))
        .arg("--config")
        .arg(&path)
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, format!("{DESIGN}\n[metrics]\nenabled = true\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portsyncd"))
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field `metrics`"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn version_prints_the_package_version() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portsyncd"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("portsyncd {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    // Built in a git work tree: the commit follows in parentheses.
    if std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.git")).exists() {
        assert!(text.trim_end().ends_with(')'), "{text}");
    }
}

/// The unit file: `Type=notify`, the design's `WatchdogSec=15` (the same as the
/// configuration's default `watchdog_interval_secs`), a memory limit.
#[test]
fn unit_file_has_the_watchdog_and_a_memory_limit() {
    let unit = include_str!("../portsyncd.service");
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key}= in portsyncd.service"))
            .trim()
            .to_string()
    };
    assert_eq!(value("Type"), "notify");
    assert_eq!(
        value("WatchdogSec"),
        HealthConfig::default().watchdog_interval_secs.to_string()
    );
    assert_eq!(value("MemoryMax"), "64M");
    assert_eq!(value("KillSignal"), "SIGTERM");
}
