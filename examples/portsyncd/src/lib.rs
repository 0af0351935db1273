//! portsyncd's parts, shared by the daemon (`main.rs`) and its tests: the configuration, the
//! systemd notifications, swss-common's ProducerStateTable protocol, the Redis side and the
//! I/O-free sync logic.

pub mod config;
pub mod health;
pub mod notify;
pub mod producer;
pub mod redisdb;
pub mod sync;
