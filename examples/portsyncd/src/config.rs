//! The TOML configuration. Every key has a default, so an empty file (or none) is valid, and
//! every key that is not listed here is an error (`deny_unknown_fields`).
//!
//! Two families of sections are accepted:
//!
//! * ours: `[redis]` (where Redis is: a URL, so a Unix socket works), `[watch]`, `[service]`;
//! * the design's (the Rust portsyncd design in 192d-Wing/sonic-swss, `crates/portsyncd`,
//!   README.md "Configuration"): `[database]`, `[performance]`, `[health]`, with that
//!   document's defaults. `tests/design.toml` is that file verbatim.
//!
//! `[database]` and `[redis]` both say where Redis is and how to reach it; a file may use one
//! of them, not both (an error says so). `[database]` becomes the same [`RedisConfig`]:
//! `redis://redis_host:redis_port`, `config_db_number`/`state_db_number`, APPL_DB 0 (the design
//! has no key for it; SONiC's APPL_DB is 0), `connection_timeout_secs` as the connect and
//! command timeout, and `retry_interval_secs` as a fixed delay between connection attempts (no
//! backoff growth). The design's `[metrics]` section (in its `portsyncd.conf.example`, not in
//! the file its README prints) is not accepted: nothing here exports metrics.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// The configuration the daemon runs with (the file's sections resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where Redis is and how to reach it (from `[redis]` or `[database]`).
    pub redis: RedisConfig,
    /// What to watch.
    pub watch: WatchConfig,
    /// Daemon behaviour.
    pub service: ServiceConfig,
    /// Batching of the writes (`[performance]`).
    pub performance: PerformanceConfig,
    /// Health thresholds and the watchdog (`[health]`).
    pub health: HealthConfig,
}

/// The file as written: every section optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
struct ConfigFile {
    redis: Option<RedisConfig>,
    database: Option<DatabaseConfig>,
    watch: WatchConfig,
    service: ServiceConfig,
    performance: PerformanceConfig,
    health: HealthConfig,
}

/// `[redis]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port` or `unix:///path/to/redis.sock`.
    pub url: String,
    /// SONiC CONFIG_DB number.
    pub config_db: i64,
    /// SONiC APPL_DB number.
    pub appl_db: i64,
    /// SONiC STATE_DB number.
    pub state_db: i64,
    /// Connect and command timeout, milliseconds.
    pub timeout_ms: u64,
    /// First reconnect delay, milliseconds; doubles up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    /// Longest reconnect delay, milliseconds.
    pub backoff_max_ms: u64,
}

/// `[database]` (the design's): where Redis is, by host and TCP port.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Redis host name or address (default "127.0.0.1").
    pub redis_host: String,
    /// Redis TCP port (default 6379).
    pub redis_port: u16,
    /// CONFIG_DB number (default 4).
    pub config_db_number: i64,
    /// STATE_DB number (default 6).
    pub state_db_number: i64,
    /// Connect and command timeout in seconds (default 5).
    pub connection_timeout_secs: u64,
    /// Delay between connection attempts in seconds (default 2).
    pub retry_interval_secs: u64,
}

/// `[performance]` (the design's): how link events are batched into Redis writes, and what
/// counts as a successful event.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PerformanceConfig {
    /// Most link events queued in one batch before it is written (default 1000).
    pub max_event_queue: usize,
    /// Coalescing window in milliseconds (default 100): while events keep arriving without a
    /// pause, they are collected (later writes of a port replace earlier ones) for at most this
    /// long after the batch's first event before the batch is written. A batch is written as
    /// soon as the kernel has nothing more queued, so an isolated event never waits for it.
    pub batch_timeout_ms: u64,
    /// An event whose write Redis acknowledged later than this many microseconds after the
    /// event was read counts as late, not successful (default 10000).
    pub max_latency_us: u64,
    /// Lowest share of successful events, percent, before the health is Degraded (default
    /// 99.0).
    pub min_success_rate: f64,
}

/// `[health]` (the design's): the thresholds of the Healthy / Degraded / Unhealthy state and
/// the systemd watchdog.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Redis not answering for this many seconds makes the daemon Unhealthy (default 10).
    pub max_stall_seconds: u64,
    /// Highest share of failed events (their write failed), percent, before the health is
    /// Degraded (default 5.0).
    pub max_failure_rate_percent: f64,
    /// Lowest share of present ports whose STATE_DB entry Redis has acknowledged with the
    /// port's current state, percent, before the health is Degraded (default 90.0).
    pub min_port_sync_rate: f64,
    /// Send `WATCHDOG=1` to systemd (default true). When systemd sets `$WATCHDOG_USEC` the
    /// pings are sent whatever this says, or systemd would kill the daemon.
    pub enable_watchdog: bool,
    /// The watchdog interval in seconds when systemd does not set `$WATCHDOG_USEC` (default
    /// 15, the unit's `WatchdogSec=15`); pings go at half of it.
    pub watchdog_interval_secs: u64,
}

/// `[watch]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Network namespace file to watch ("" for the daemon's own namespace).
    pub netns: String,
    /// Netlink receive buffer in bytes.
    pub rcvbuf: usize,
}

/// `[service]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Warm restart enabled, as STATE_DB `WARM_RESTART_ENABLE_TABLE|system` or `|swss` with
    /// `enable` = "true" also says. As in swss-common's `WarmStart::checkWarmStart`, the start
    /// is warm only if STATE_DB `WARM_RESTART_TABLE|portsyncd` has a `restore_count` too.
    pub warm_start: bool,
    /// File the health state is written to ("" for none).
    pub health_file: String,
    /// The failure and success rates of the health are counted over the events of this many
    /// last seconds (default 60).
    pub health_window_secs: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: "redis://127.0.0.1:6379".into(),
            config_db: 4,
            appl_db: 0,
            state_db: 6,
            timeout_ms: 2000,
            backoff_initial_ms: 100,
            backoff_max_ms: 5000,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            redis_host: "127.0.0.1".into(),
            redis_port: 6379,
            config_db_number: 4,
            state_db_number: 6,
            connection_timeout_secs: 5,
            retry_interval_secs: 2,
        }
    }
}

impl Default for PerformanceConfig {
    fn default() -> Self {
        PerformanceConfig {
            max_event_queue: 1000,
            batch_timeout_ms: 100,
            max_latency_us: 10_000,
            min_success_rate: 99.0,
        }
    }
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            max_stall_seconds: 10,
            max_failure_rate_percent: 5.0,
            min_port_sync_rate: 90.0,
            enable_watchdog: true,
            watchdog_interval_secs: 15,
        }
    }
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            netns: String::new(),
            rcvbuf: lbnet::linkwatch::DEFAULT_WATCH_RCVBUF,
        }
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            warm_start: false,
            health_file: String::new(),
            health_window_secs: 60,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::resolve(ConfigFile::default()).expect("defaults are valid")
    }
}

impl DatabaseConfig {
    /// The same settings as a [`RedisConfig`].
    pub fn to_redis(&self) -> RedisConfig {
        let retry_ms = self.retry_interval_secs * 1000;
        let host = if self.redis_host.contains(':') {
            format!("[{}]", self.redis_host) // an IPv6 address
        } else {
            self.redis_host.clone()
        };
        RedisConfig {
            url: format!("redis://{host}:{}", self.redis_port),
            config_db: self.config_db_number,
            appl_db: 0,
            state_db: self.state_db_number,
            timeout_ms: self.connection_timeout_secs * 1000,
            backoff_initial_ms: retry_ms,
            backoff_max_ms: retry_ms,
        }
    }
}

impl HealthConfig {
    /// The watchdog interval systemd expects pings within: `$WATCHDOG_USEC` (`watchdog_usec`)
    /// when systemd set it, else `watchdog_interval_secs` if the watchdog is enabled, else
    /// none. Pings go at half of it (sd_watchdog_enabled(3) recommends half).
    pub fn watchdog_interval(&self, watchdog_usec: Option<u64>) -> Option<Duration> {
        match watchdog_usec {
            Some(us) if us > 0 => Some(Duration::from_micros(us)),
            _ if self.enable_watchdog && self.watchdog_interval_secs > 0 => {
                Some(Duration::from_secs(self.watchdog_interval_secs))
            }
            _ => None,
        }
    }
}

impl Config {
    fn resolve(f: ConfigFile) -> Result<Config, String> {
        let redis = match (f.redis, f.database) {
            (Some(_), Some(_)) => {
                return Err(
                    "both [redis] and [database] say where Redis is: use one of them".into(),
                )
            }
            (Some(r), None) => r,
            (None, Some(d)) => d.to_redis(),
            (None, None) => RedisConfig::default(),
        };
        let p = &f.performance;
        let h = &f.health;
        let pct = |name: &str, v: f64| {
            if (0.0..=100.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} = {v}: must be 0-100"))
            }
        };
        pct("min_success_rate", p.min_success_rate)?;
        pct("max_failure_rate_percent", h.max_failure_rate_percent)?;
        pct("min_port_sync_rate", h.min_port_sync_rate)?;
        if p.max_event_queue == 0 {
            return Err("max_event_queue must be > 0".into());
        }
        if redis.timeout_ms == 0 {
            return Err("the connection timeout must be > 0".into());
        }
        Ok(Config {
            redis,
            watch: f.watch,
            service: f.service,
            performance: f.performance,
            health: f.health,
        })
    }

    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let f: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        Config::resolve(f)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_every_default() {
        let c = Config::parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(
            (c.redis.config_db, c.redis.appl_db, c.redis.state_db),
            (4, 0, 6)
        );
        assert_eq!(c.performance.max_event_queue, 1000);
        assert_eq!(c.health.watchdog_interval_secs, 15);
    }

    #[test]
    fn partial_sections_keep_other_defaults_and_typos_fail() {
        let c =
            Config::parse("[redis]\nurl = \"unix:///tmp/r.sock\"\n[service]\nwarm_start = true\n")
                .unwrap();
        assert_eq!(c.redis.url, "unix:///tmp/r.sock");
        assert_eq!(c.redis.backoff_max_ms, 5000);
        assert!(c.service.warm_start);
        assert!(Config::parse("[redis]\nulr = \"x\"\n").is_err());
        assert!(Config::parse("[health]\nmax_stall_secs = 3\n").is_err());
        assert!(Config::parse("[metrics]\nenabled = true\n").is_err());
    }

    #[test]
    fn database_and_redis_exclude_each_other_and_ranges_are_checked() {
        let e = Config::parse("[redis]\n[database]\n").unwrap_err();
        assert!(e.contains("both [redis] and [database]"), "{e}");
        assert!(Config::parse("[performance]\nmin_success_rate = 101.0\n").is_err());
        assert!(Config::parse("[health]\nmin_port_sync_rate = -1.0\n").is_err());
        assert!(Config::parse("[performance]\nmax_event_queue = 0\n").is_err());
        assert!(Config::parse("[database]\nconnection_timeout_secs = 0\n").is_err());
        let c = Config::parse("[database]\nredis_host = \"::1\"\nredis_port = 6380\n").unwrap();
        assert_eq!(c.redis.url, "redis://[::1]:6380");
    }

    #[test]
    fn watchdog_interval_prefers_systemd() {
        let h = HealthConfig::default();
        assert_eq!(h.watchdog_interval(None), Some(Duration::from_secs(15)));
        assert_eq!(
            h.watchdog_interval(Some(4_000_000)),
            Some(Duration::from_secs(4))
        );
        let off = HealthConfig {
            enable_watchdog: false,
            ..HealthConfig::default()
        };
        assert_eq!(off.watchdog_interval(None), None);
        assert_eq!(
            off.watchdog_interval(Some(2_000_000)),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn shipped_example_parses() {
        let text = include_str!("../portsyncd.toml");
        assert_eq!(Config::parse(text).unwrap(), Config::default());
    }
}
