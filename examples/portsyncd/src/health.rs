//! The daemon's health: Healthy, Degraded or Unhealthy, from the `[health]` and
//! `[performance]` thresholds of the configuration. Free of I/O and of the clock: every call
//! takes `now`, so tests drive it with their own instants.
//!
//! * **Stall**: Redis has not answered (a write, a connection attempt or a probe failed) since
//!   some instant. Any stall is Degraded; a stall of `max_stall_seconds` or more is Unhealthy.
//!   A link watcher has no "events expected" rhythm (quiet ports send nothing), so a quiet
//!   kernel is not a stall; a Redis that does not take our writes is.
//! * **Failure rate**: link events whose Redis write failed, percent of the events of the last
//!   `health_window_secs`; above `max_failure_rate_percent`: Degraded.
//! * **Success rate**: events whose write Redis acknowledged within `max_latency_us` of reading
//!   the event, percent of the same window; below `min_success_rate`: Degraded.
//! * **Port sync rate**: present ports whose STATE_DB entry Redis has acknowledged with their
//!   current state, percent of the present ports; below `min_port_sync_rate`: Degraded.
//!
//! The rates count nothing when the window holds no events (no events, no failures).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::{HealthConfig, PerformanceConfig};

/// The three states, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Every threshold met.
    Healthy,
    /// Redis stalled for less than `max_stall_seconds`, or a rate outside its threshold.
    Degraded,
    /// Redis stalled for `max_stall_seconds` or more.
    Unhealthy,
}

impl State {
    /// "Healthy", "Degraded" or "Unhealthy".
    pub fn as_str(self) -> &'static str {
        match self {
            State::Healthy => "Healthy",
            State::Degraded => "Degraded",
            State::Unhealthy => "Unhealthy",
        }
    }
}

/// Event counts of one second of the window.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    second: u64,
    ok: u64,
    late: u64,
    failed: u64,
}

/// The evaluation at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The state.
    pub state: State,
    /// Why it is not Healthy (empty when it is), e.g. "redis not answering for 1.2 s".
    pub reasons: Vec<String>,
    /// How long Redis has not answered (zero when it does).
    pub stall: Duration,
    /// Failed events, percent of the window's events (0 with no events).
    pub failure_rate: f64,
    /// Events written within `max_latency_us`, percent of the window's events (100 with none).
    pub success_rate: f64,
    /// Synced present ports, percent (100 with no present ports).
    pub sync_rate: f64,
    /// Events in the window.
    pub window_events: u64,
}

/// The health monitor.
#[derive(Debug)]
pub struct Monitor {
    health: HealthConfig,
    perf: PerformanceConfig,
    window: Duration,
    epoch: Instant,
    buckets: VecDeque<Bucket>,
    stalled_since: Option<Instant>,
}

impl Monitor {
    /// A monitor with the thresholds of `health` and `perf`, counting rates over `window`;
    /// `now` starts its clock.
    pub fn new(
        health: HealthConfig,
        perf: PerformanceConfig,
        window: Duration,
        now: Instant,
    ) -> Monitor {
        Monitor {
            health,
            perf,
            window: window.max(Duration::from_secs(1)),
            epoch: now,
            buckets: VecDeque::new(),
            stalled_since: None,
        }
    }

    fn bucket(&mut self, now: Instant) -> &mut Bucket {
        let second = now.saturating_duration_since(self.epoch).as_secs();
        if self.buckets.back().is_none_or(|b| b.second != second) {
            self.buckets.push_back(Bucket {
                second,
                ..Bucket::default()
            });
        }
        self.prune(now);
        self.buckets.back_mut().expect("just pushed")
    }

    fn prune(&mut self, now: Instant) {
        let second = now.saturating_duration_since(self.epoch).as_secs();
        let keep = self.window.as_secs().max(1);
        while self
            .buckets
            .front()
            .is_some_and(|b| b.second + keep <= second)
        {
            self.buckets.pop_front();
        }
    }

    /// Redis acknowledged a write of events read at `read` (one instant per event) at `now`.
    /// Events acknowledged more than `max_latency_us` after they were read count as late.
    pub fn written(&mut self, read: &[Instant], now: Instant) {
        let max = Duration::from_micros(self.perf.max_latency_us);
        let late = read
            .iter()
            .filter(|t| now.saturating_duration_since(**t) > max)
            .count() as u64;
        let b = self.bucket(now);
        b.late += late;
        b.ok += read.len() as u64 - late;
        self.stalled_since = None;
    }

    /// The write of `n` events failed at `now` (or they could not be written: Redis away).
    pub fn failed(&mut self, n: usize, now: Instant) {
        self.bucket(now).failed += n as u64;
    }

    /// Redis did not answer at `now` (a failed write, connection attempt or probe).
    pub fn redis_down(&mut self, now: Instant) {
        self.stalled_since.get_or_insert(now);
    }

    /// Redis answered at `now` (a write or probe succeeded).
    pub fn redis_up(&mut self, _now: Instant) {
        self.stalled_since = None;
    }

    /// The state at `now`, with `present` ports of which `unsynced` have a state Redis has
    /// not acknowledged.
    pub fn evaluate(&mut self, now: Instant, present: usize, unsynced: usize) -> Report {
        self.prune(now);
        let (mut ok, mut late, mut failed) = (0, 0, 0);
        for b in &self.buckets {
            ok += b.ok;
            late += b.late;
            failed += b.failed;
        }
        let total = ok + late + failed;
        let pct = |n: u64| {
            if total == 0 {
                0.0
            } else {
                n as f64 * 100.0 / total as f64
            }
        };
        let failure_rate = pct(failed);
        let success_rate = if total == 0 { 100.0 } else { pct(ok) };
        let sync_rate = if present == 0 {
            100.0
        } else {
            present.saturating_sub(unsynced) as f64 * 100.0 / present as f64
        };
        let stall = self
            .stalled_since
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        let mut state = State::Healthy;
        let mut reasons = Vec::new();
        if self.stalled_since.is_some() {
            let max = Duration::from_secs(self.health.max_stall_seconds);
            state = if stall >= max {
                State::Unhealthy
            } else {
                State::Degraded
            };
            reasons.push(format!(
                "redis not answering for {:.1} s",
                stall.as_secs_f64()
            ));
        }
        let mut degrade = |why: String| {
            state = state.max(State::Degraded);
            reasons.push(why);
        };
        if failure_rate > self.health.max_failure_rate_percent {
            degrade(format!(
                "failure rate {failure_rate:.1}% > {}%",
                self.health.max_failure_rate_percent
            ));
        }
        if success_rate < self.perf.min_success_rate {
            degrade(format!(
                "success rate {success_rate:.1}% < {}% (written within {} us)",
                self.perf.min_success_rate, self.perf.max_latency_us
            ));
        }
        if sync_rate < self.health.min_port_sync_rate {
            degrade(format!(
                "port sync rate {sync_rate:.1}% < {}%",
                self.health.min_port_sync_rate
            ));
        }
        Report {
            state,
            reasons,
            stall,
            failure_rate,
            success_rate,
            sync_rate,
            window_events: total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(t0: Instant) -> Monitor {
        // The design's defaults: 10 s stall, 5% failures, 99% success within 10 ms, 90% sync.
        Monitor::new(
            HealthConfig::default(),
            PerformanceConfig::default(),
            Duration::from_secs(60),
            t0,
        )
    }

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn starts_healthy_with_no_events() {
        let t0 = Instant::now();
        let mut m = monitor(t0);
        let r = m.evaluate(t0, 0, 0);
        assert_eq!(r.state, State::Healthy);
        assert!(r.reasons.is_empty());
        assert_eq!(
            (r.failure_rate, r.success_rate, r.sync_rate),
            (0.0, 100.0, 100.0)
        );
    }

    #[test]
    fn stall_is_degraded_then_unhealthy_then_healthy_when_redis_answers() {
        let t0 = Instant::now();
        let mut m = monitor(t0);
        m.redis_down(ms(t0, 1000));
        m.redis_down(ms(t0, 3000)); // the stall counts from the first failure
        let r = m.evaluate(ms(t0, 10_999), 4, 0);
        assert_eq!(r.state, State::Degraded, "{r:?}");
        assert_eq!(r.stall, Duration::from_millis(9999));
        let r = m.evaluate(ms(t0, 11_000), 4, 0);
        assert_eq!(r.state, State::Unhealthy, "{r:?}");
        assert!(
            r.reasons[0].starts_with("redis not answering for 10.0 s"),
            "{r:?}"
        );
        m.redis_up(ms(t0, 12_000));
        assert_eq!(m.evaluate(ms(t0, 12_000), 4, 0).state, State::Healthy);
    }

    #[test]
    fn failure_rate_above_threshold_is_degraded_until_the_window_passes() {
        let t0 = Instant::now();
        let mut m = monitor(t0);
        let read = vec![ms(t0, 0); 95];
        m.written(&read, ms(t0, 1));
        m.failed(5, ms(t0, 2));
        // 5 of 100 = 5%: not above 5%; success 95% < 99%: Degraded by success only.
        let r = m.evaluate(ms(t0, 3), 10, 0);
        assert_eq!(r.failure_rate, 5.0);
        assert_eq!(r.state, State::Degraded);
        assert_eq!(r.reasons.len(), 1, "{r:?}");
        assert!(r.reasons[0].starts_with("success rate 95.0%"), "{r:?}");
        m.failed(1, ms(t0, 4));
        let r = m.evaluate(ms(t0, 5), 10, 0);
        assert!(
            r.reasons.iter().any(|s| s.starts_with("failure rate 5.9%")),
            "{r:?}"
        );
        // 60 s later the window no longer holds them.
        let r = m.evaluate(ms(t0, 60_000), 10, 0);
        assert_eq!(r.state, State::Healthy, "{r:?}");
        assert_eq!(r.window_events, 0);
    }

    #[test]
    fn late_writes_lower_the_success_rate() {
        let t0 = Instant::now();
        let mut m = monitor(t0);
        // 199 written 1 ms after being read, 1 after 20 ms (> max_latency_us 10,000).
        m.written(&vec![ms(t0, 20); 199], ms(t0, 21));
        m.written(&[ms(t0, 1)], ms(t0, 21));
        let r = m.evaluate(ms(t0, 22), 1, 0);
        assert_eq!(r.success_rate, 99.5);
        assert_eq!(r.state, State::Healthy);
        m.written(&[ms(t0, 1), ms(t0, 2)], ms(t0, 30));
        let r = m.evaluate(ms(t0, 31), 1, 0);
        assert!(r.success_rate < 99.0, "{r:?}");
        assert_eq!(r.state, State::Degraded);
    }

    #[test]
    fn port_sync_rate_below_threshold_is_degraded() {
        let t0 = Instant::now();
        let mut m = monitor(t0);
        assert_eq!(m.evaluate(t0, 10, 1).state, State::Healthy); // 90% is enough
        let r = m.evaluate(t0, 10, 2);
        assert_eq!(r.state, State::Degraded);
        assert!(r.reasons[0].starts_with("port sync rate 80.0%"), "{r:?}");
        assert_eq!(m.evaluate(t0, 10, 0).state, State::Healthy);
    }

    #[test]
    fn a_stall_with_bad_rates_stays_unhealthy() {
        let t0 = Instant::now();
        let mut m = monitor(t0);
        m.redis_down(t0);
        m.failed(10, ms(t0, 5));
        let r = m.evaluate(ms(t0, 10_000), 10, 10);
        assert_eq!(r.state, State::Unhealthy);
        assert_eq!(r.reasons.len(), 4, "{r:?}");
        // Redis back, everything rewritten and acknowledged: only the window's failures stay.
        m.written(&[ms(t0, 10_100)], ms(t0, 10_101));
        let r = m.evaluate(ms(t0, 10_102), 10, 0);
        assert_eq!(r.state, State::Degraded, "{r:?}");
    }
}
