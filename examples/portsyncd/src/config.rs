//! The TOML configuration. Every key has a default, so an empty file (or none) is valid.

use std::path::Path;

use serde::Deserialize;

/// Top-level configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where Redis is and how to reach it.
    pub redis: RedisConfig,
    /// What to watch.
    pub watch: WatchConfig,
    /// Daemon behaviour.
    pub service: ServiceConfig,
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
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Warm restart enabled, as STATE_DB `WARM_RESTART_ENABLE_TABLE|system` or `|swss` with
    /// `enable` = "true" also says. As in swss-common's `WarmStart::checkWarmStart`, the start
    /// is warm only if STATE_DB `WARM_RESTART_TABLE|portsyncd` has a `restore_count` too.
    pub warm_start: bool,
    /// File the health state is written to ("" for none).
    pub health_file: String,
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

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            netns: String::new(),
            rcvbuf: lbnet::linkwatch::DEFAULT_WATCH_RCVBUF,
        }
    }
}

impl Config {
    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
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
    }

    #[test]
    fn shipped_example_parses() {
        let text = include_str!("../portsyncd.toml");
        assert_eq!(Config::parse(text).unwrap(), Config::default());
    }
}
