//! Export statistics, global and per rule.

use std::time::SystemTime;

/// Counters and last-event times of the export engine (globally or for one rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Routes installed or changed in the kernel.
    pub exported: u64,
    /// Routes removed from the kernel.
    pub withdrawn: u64,
    /// Kernel operations that failed.
    pub errors: u64,
    /// Next-hop reachability checks made.
    pub nexthop_validations: u64,
    /// Checks that found the next hop unreachable.
    pub nexthop_failures: u64,
    /// Updates coalesced by the dampening window.
    pub dampened: u64,
    /// Route operations sent to the kernel (replace and delete messages).
    pub kernel_ops: u64,
    /// Time of the last successful export.
    pub last_export: Option<SystemTime>,
    /// Time of the last withdrawal.
    pub last_withdraw: Option<SystemTime>,
    /// Time of the last error.
    pub last_error: Option<SystemTime>,
    /// Text of the last error.
    pub last_error_message: Option<String>,
}

impl Stats {
    pub(crate) fn error(&mut self, msg: &str) {
        self.errors += 1;
        self.last_error = Some(SystemTime::now());
        self.last_error_message = Some(msg.to_string());
    }

    /// One export at `now` (a batch reads the clock once).
    pub(crate) fn export_at(&mut self, now: SystemTime) {
        self.exported += 1;
        self.last_export = Some(now);
    }

    /// One withdrawal at `now`.
    pub(crate) fn withdraw_at(&mut self, now: SystemTime) {
        self.withdrawn += 1;
        self.last_withdraw = Some(now);
    }
}
