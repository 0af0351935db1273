//! The export engine: best paths in, kernel routes out, by rules.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::community::{Community, LargeCommunity};
use super::nht::{self, NhTrack, Resolution};
use super::rule::{Rule, Target};
use super::stats::Stats;
use super::store::{Gw, Paths, Prefixes, NO_PATH};
use crate::error::{Error, ExportOperation, Origin, Result};
use crate::netns::NetNs;
use crate::route::handle::{RouteFilter, RouteHandle, RouteOp};
use crate::route::prefix::Prefix;
use crate::route::spec::{Hop, NextHops, Route, RouteKey, RTPROT_BGP};

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// Network namespace the routes go into.
    pub netns: NetNs,
    /// Protocol of exported routes (default 186, `RTPROT_BGP`). FRR's zebra deletes routes of
    /// protocol 186 when it starts (it takes them for its own leftovers): pick another number
    /// on a machine where zebra runs.
    pub protocol: u8,
    /// Updates of one prefix closer together than this are coalesced (default 100 ms; zero
    /// turns dampening off). The first update after a quiet period is exported at once.
    pub dampening: Duration,
    /// A prefix that keeps changing is still installed at least this often (default 1 s).
    pub dampening_cap: Duration,
    /// At start, delete every route of our protocol in the rules' tables (instead of keeping
    /// them until the first End-of-RIB).
    pub delete_all_at_start: bool,
    /// Watch links, addresses and other routes to re-validate next hops (default on).
    pub watch: bool,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            netns: NetNs::Current,
            protocol: RTPROT_BGP,
            dampening: Duration::from_millis(100),
            dampening_cap: Duration::from_secs(1),
            delete_all_at_start: false,
            watch: true,
        }
    }
}

impl ExportConfig {
    /// Checks the settings: refuses a reserved route protocol.
    ///
    /// Protocols 0-4 are the kernel's own (`RTPROT_UNSPEC`, `RTPROT_REDIRECT` for ICMP
    /// redirects, `RTPROT_KERNEL` for the kernel's routes, `RTPROT_BOOT` for `ip route add` and
    /// boot scripts, `RTPROT_STATIC` for administrators) and 255 is kept back (no `rt_protos`
    /// entry assigns it). The engine takes every route of its protocol in its tables for its
    /// own: it replaces them, deletes them at End-of-RIB or, with `delete_all_at_start`, at
    /// once; with protocol 3 that deleted an administrator's `ip route add` route.
    pub fn check(&self) -> Result<()> {
        let p = self.protocol;
        let what = match p {
            0 => "RTPROT_UNSPEC",
            1 => "RTPROT_REDIRECT, routes from ICMP redirects",
            2 => "RTPROT_KERNEL, the kernel's own routes",
            3 => "RTPROT_BOOT, what `ip route add` and boot scripts use",
            4 => "RTPROT_STATIC, administrators' routes",
            255 => "reserved",
            _ => return Ok(()),
        };
        Err(Error::invalid(
            Origin::RouteExport(ExportOperation::Configure),
            format!(
                "route protocol {p} ({what}) is refused: the exporter replaces and deletes every \
             route of its protocol in its tables, so it would take other routes for its own; \
             use {RTPROT_BGP} (RTPROT_BGP, the default) or another number no other program uses"
            ),
        ))
    }
}

/// A best path for a prefix, as BGP hands it over; with BGP multipath, the prefix's set of
/// equal-cost best paths (`nexthop` and `more_nexthops`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The BGP next hop (an IPv6 next hop for an IPv4 prefix is installed with `RTA_VIA`).
    /// `0.0.0.0` and `::` are refused, as the PureLB fork refuses them.
    pub nexthop: IpAddr,
    /// Next hops of the other equal-cost best paths (BGP multipath, GoBGP's
    /// `use-multiple-paths`): with any, the kernel route is a multipath route (`RTA_MULTIPATH`,
    /// weight 1 each) over `nexthop` and these; duplicates are dropped. Empty: a single-hop
    /// route.
    pub more_nexthops: Vec<IpAddr>,
    /// Output device name for the next hops, required for an IPv6 link-local next hop (the
    /// kernel refuses a link-local gateway without `RTA_OIF`: "Egress device not specified");
    /// the BGP session's interface for an unnumbered peer. `None`: the kernel resolves the
    /// device from the gateway.
    pub device: Option<String>,
    /// Standard communities of the path.
    pub communities: Vec<Community>,
    /// Large communities of the path.
    pub large_communities: Vec<LargeCommunity>,
}

/// One route the engine has in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedRoute {
    /// Name of the rule that exported it.
    pub rule: String,
    /// Destination.
    pub prefix: Prefix,
    /// Table.
    pub table: u32,
    /// Metric.
    pub metric: u32,
    /// Gateway (`None` while a withdrawal waits in the dampening window).
    pub gateway: Option<IpAddr>,
    /// When it was installed (second precision).
    pub exported_at: SystemTime,
}

/// What one rule has in the kernel for one prefix, while a sync works on it. The gateway is
/// the path's: when a path's gateway changes, the prefix is marked so every entry is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    table: u32,
    metric: u32,
    since: u32,
}

#[derive(Debug)]
struct Resolved {
    rule: Rule,
    table: u32,
    vrf_oif: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    first: Instant,
    last: Instant,
}

/// The rules a kernel operation is for: almost always one (no allocation then).
enum Rules {
    One(u16),
    Many(Vec<u16>),
}

impl Rules {
    fn from_iter(mut it: impl Iterator<Item = u16>) -> Rules {
        match (it.next(), it.next()) {
            (None, _) => Rules::Many(Vec::new()),
            (Some(a), None) => Rules::One(a),
            (Some(a), Some(b)) => Rules::Many([a, b].into_iter().chain(it).collect()),
        }
    }

    fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        let (one, many) = match self {
            Rules::One(r) => (Some(*r), &[][..]),
            Rules::Many(v) => (None, &v[..]),
        };
        one.into_iter().chain(many.iter().copied())
    }
}

enum OpMeta {
    Export {
        prefix: Prefix,
        rules: Rules,
        entry: Entry,
    },
    Withdraw {
        rules: Rules,
        key: RouteKey,
    },
}

/// Engine state; all of it behind one mutex in [`super::Exporter`].
#[derive(Debug)]
pub(crate) struct State {
    cfg: ExportConfig,
    rules: Vec<Resolved>,
    rule_stats: Vec<Stats>,
    stats: Stats,
    /// Every prefix's best path (kept for re-evaluation) and exports.
    prefixes: Prefixes,
    /// The distinct paths the prefixes refer to.
    paths: Paths,
    pending: HashMap<Prefix, Pending>,
    recent: HashMap<Prefix, Instant>,
    /// When the oldest entry of `recent` leaves the dampening window (the driver thread then
    /// prunes it, so a burst's prefixes are not held after their window).
    prune_at: Option<Instant>,
    stale: HashSet<RouteKey>,
    first_error: Option<Error>,
    /// Next-hop tracking: validated gateways by (gateway, context) with the length of the
    /// route resolving them (the context includes the rule's table in a VRF).
    nht: NhTrack,
    /// Interface indexes of the devices paths name ([`Path::device`]); cleared when a link
    /// changes (with `nht`).
    dev_cache: HashMap<String, u32>,
    wake_needed: bool,
    reval_at: Option<Instant>,
    last_reval: Option<Instant>,
}

/// Whether `a` is an IPv6 link-local address (fe80::/10): meaningful only on one link, so a
/// route via it needs an output device.
fn is_link_local(a: IpAddr) -> bool {
    matches!(a, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80)
}

/// Gives a map's room back when it holds under a quarter of it (after a burst).
fn shrink<K: std::hash::Hash + Eq, V>(m: &mut HashMap<K, V>) {
    if m.len() * 4 < m.capacity() {
        m.shrink_to_fit();
    }
}

fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

fn resolve(handle: &RouteHandle, rules: &[Rule]) -> Result<Vec<Resolved>> {
    Rule::check_all(rules)?;
    let mut out = Vec::with_capacity(rules.len());
    for r in rules {
        let (table, vrf_oif) = match &r.target {
            Target::Table(t) => (*t, None),
            Target::VrfTable { vrf: name, table } => match handle.link(name)? {
                (idx, Some(_)) => (*table, Some(idx)),
                (_, None) => {
                    return Err(Error::invalid(
                        Origin::RouteExport(ExportOperation::Configure),
                        format!("rule {:?}: link {name} is not a VRF", r.name),
                    ))
                }
            },
            Target::Vrf(name) => match handle.link(name)? {
                (idx, Some(t)) => (t, Some(idx)),
                (_, None) => {
                    return Err(Error::invalid(
                        Origin::RouteExport(ExportOperation::Configure),
                        format!("rule {:?}: link {name} is not a VRF", r.name),
                    ))
                }
            },
        };
        out.push(Resolved {
            rule: r.clone(),
            table,
            vrf_oif,
        });
    }
    Ok(out)
}

impl State {
    /// Resolves the rules and takes stock of our protocol's routes in their tables.
    pub(crate) fn new(cfg: ExportConfig, handle: &RouteHandle, rules: &[Rule]) -> Result<State> {
        let resolved = resolve(handle, rules)?;
        let mut st = State {
            rule_stats: vec![Stats::default(); resolved.len()],
            rules: resolved,
            cfg,
            stats: Stats::default(),
            prefixes: Prefixes::default(),
            paths: Paths::default(),
            pending: HashMap::new(),
            recent: HashMap::new(),
            prune_at: None,
            stale: HashSet::new(),
            first_error: None,
            nht: NhTrack::default(),
            dev_cache: HashMap::new(),
            wake_needed: false,
            reval_at: None,
            last_reval: None,
        };
        st.prefixes.set_rules(st.rules.len());
        st.take_stock(handle)?;
        if st.cfg.delete_all_at_start {
            st.delete_stale(handle)?;
        }
        Ok(st)
    }

    fn take_stock(&mut self, handle: &RouteHandle) -> Result<()> {
        let ours = self.kernel_routes(handle)?;
        self.stale.extend(ours);
        Ok(())
    }

    /// The keys of the routes of our protocol the kernel holds in the rules' tables (one dump
    /// per table).
    fn kernel_routes(&self, handle: &RouteHandle) -> Result<HashSet<RouteKey>> {
        let tables: HashSet<u32> = self.rules.iter().map(|r| r.table).collect();
        let mut keys = HashSet::new();
        for t in tables {
            for k in handle.dump(&RouteFilter {
                ipv6: None,
                table: Some(t),
                protocol: Some(self.cfg.protocol),
            })? {
                keys.insert(k.route.key());
            }
        }
        Ok(keys)
    }

    fn route_for(&self, key: RouteKey, gw: Option<Gw>) -> Route {
        let mut r = Route::new(key.dst)
            .table(key.table)
            .metric(key.metric)
            .protocol(self.cfg.protocol);
        if let Some(g) = gw {
            r = r.via(g.ip());
        }
        r
    }

    /// The route for `key` over `hops` (one: a plain gateway route; more: `RTA_MULTIPATH`).
    fn route_with_hops(&self, key: RouteKey, hops: Vec<Hop>) -> Route {
        let r = self.route_for(key, None);
        match hops.len() {
            0 => r,
            1 => r.nexthops(NextHops::Single(hops.into_iter().next().expect("one hop"))),
            _ => r.nexthops(NextHops::Multipath(hops)),
        }
    }

    /// The output device of `gw` for an `onlink` hop: the device of the kernel's route to it
    /// (looked up in the rule's VRF), else the VRF device itself, else none (the kernel then
    /// refuses `onlink`: "Nexthop device required for onlink").
    fn onlink_dev(&self, handle: &RouteHandle, gw: Gw, rule: usize) -> Option<u32> {
        let oif = self.rules[rule].vrf_oif;
        if let Ok(Some(k)) = handle.lookup(gw.ip(), oif) {
            match &k.route.nexthops {
                NextHops::Single(h) if h.oif.is_some() => return h.oif,
                NextHops::Multipath(hs) if hs.first().is_some_and(|h| h.oif.is_some()) => {
                    return hs[0].oif
                }
                _ => {}
            }
        }
        oif
    }

    /// Deletes the stale routes not held by an export; returns how many went.
    fn delete_stale(&mut self, handle: &RouteHandle) -> Result<usize> {
        let keys: Vec<RouteKey> = std::mem::take(&mut self.stale)
            .into_iter()
            .filter(|k| !self.holds(k))
            .collect();
        let ops: Vec<RouteOp> = keys
            .iter()
            .map(|k| RouteOp::Delete(self.route_for(*k, None)))
            .collect();
        let metas = keys
            .into_iter()
            .map(|key| OpMeta::Withdraw {
                rules: Rules::Many(Vec::new()),
                key,
            })
            .collect();
        self.run_ops(handle, ops, metas)
    }

    /// Whether an export of ours claims the kernel route `k` (an export's table and metric
    /// are its rule's).
    fn holds(&self, k: &RouteKey) -> bool {
        self.prefixes.exports_of(&k.dst).any(|(r, _)| {
            let r = &self.rules[r as usize];
            r.table == k.table && r.rule.metric == k.metric
        })
    }

    fn reachable(
        &mut self,
        handle: &RouteHandle,
        cache: &mut NhTrack,
        gw: Gw,
        rule: usize,
    ) -> bool {
        let oif = self.rules[rule].vrf_oif;
        self.stats.nexthop_validations += 1;
        self.rule_stats[rule].nexthop_validations += 1;
        // Two rules in one VRF with different tables (Target::VrfTable) differ in the answer.
        let ctx = (oif, oif.map_or(0, |_| self.rules[rule].table));
        let ok = match cache.get(gw, ctx) {
            Some(r) => r.ok,
            None => {
                let host = if gw.ip().is_ipv6() { 128 } else { 32 };
                // The resolving route's length, for next-hop tracking; a host-length answer
                // may be an old kernel's (no RTM_F_FIB_MATCH): then any route containing the
                // gateway re-checks it.
                let mut len = 0;
                let ok = match handle.lookup_match(gw.ip(), oif) {
                    // The kernel only accepts a gateway it reaches directly (a connected
                    // route: fib_check_nh refuses others with "Nexthop has invalid
                    // gateway"), so a gateway resolved through another gateway, or through a
                    // route of our own protocol, is not reachable for us.
                    // In a VRF the gateway must be found in the VRF's own table, not in a
                    // table the policy rules fall through to.
                    Ok(Some(k)) => {
                        if k.route.dst.len() < host {
                            len = k.route.dst.len();
                        }
                        k.route.protocol != self.cfg.protocol
                            && (oif.is_none() || k.route.table == self.rules[rule].table)
                            && match &k.route.nexthops {
                                NextHops::Single(h) => h.gateway.is_none(),
                                NextHops::None => true,
                                _ => false,
                            }
                    }
                    Ok(None) => false,
                    Err(e) => {
                        let msg = e.to_string();
                        self.stats.error(&msg);
                        self.rule_stats[rule].error(&msg);
                        false
                    }
                };
                cache.insert(gw, ctx, Resolution { ok, len });
                ok
            }
        };
        if !ok {
            self.stats.nexthop_failures += 1;
            self.rule_stats[rule].nexthop_failures += 1;
        }
        ok
    }

    /// Brings the kernel in line with the RIB and rules for `prefixes`. `installed_override`
    /// holds what is in the kernel for prefixes whose entries are not in `exported` (reload).
    fn sync(
        &mut self,
        handle: &RouteHandle,
        prefixes: &[Prefix],
        mut installed_override: Option<&mut HashMap<Prefix, Vec<Entry>>>,
    ) -> Result<usize> {
        // With the watcher on, reachability answers are kept until a link, address or route
        // change clears them; without it, only for this call.
        let mut cache = std::mem::take(&mut self.nht);
        let mut ops = Vec::new();
        let mut metas = Vec::new();
        let now = now_secs();
        // Buffers reused for every prefix: a sync of a full table allocates nothing per prefix
        // in the common case (one rule).
        let mut exports = Vec::new();
        let mut installed: Vec<Entry> = Vec::new();
        let mut desired: Vec<(u16, u32, u32)> = Vec::new();
        let mut matching: Vec<usize> = Vec::new();
        let mut done_keys: Vec<(u32, u32)> = Vec::new();
        let mut gone: Vec<(u32, u32)> = Vec::new();
        for &p in prefixes {
            let (path, gw_changed) = self.prefixes.take_for_sync_into(&p, &mut exports);
            installed.clear();
            match installed_override.as_deref_mut() {
                // The exports were taken out before (reload).
                Some(m) => installed.extend(m.remove(&p).unwrap_or_default()),
                None => installed.extend(exports.iter().map(|&(r, since)| Entry {
                    table: self.rules[r as usize].table,
                    metric: self.rules[r as usize].rule.metric,
                    since,
                })),
            }
            // (rule, table, metric) wanted now, and each one's hops.
            desired.clear();
            let mut hops_of: Vec<Vec<Hop>> = Vec::new();
            if path != NO_PATH {
                let a = self.paths.get(path);
                let dev = (a.oif != 0).then_some(a.oif);
                // No allocation for the common single next hop (an empty slice's to_vec).
                let (gw0, more) = (a.gw, a.more.to_vec());
                matching.clear();
                matching.extend(
                    (0..self.rules.len())
                        .filter(|&i| self.rules[i].rule.matches(&a.communities, &a.large)),
                );
                for &i in &matching {
                    let mut hops = Vec::with_capacity(1 + more.len());
                    for g in std::iter::once(gw0).chain(more.iter().copied()) {
                        let link_local = is_link_local(g.ip());
                        if !self.rules[i].rule.validate_nexthop {
                            // As the PureLB fork: an unvalidated next hop goes in `onlink`,
                            // so the kernel takes a gateway no connected route covers.
                            let oif = dev.or_else(|| self.onlink_dev(handle, g, i));
                            hops.push(Hop {
                                oif,
                                onlink: oif.is_some(),
                                ..Hop::via(g.ip())
                            });
                        } else if (link_local && dev.is_some())
                            || self.reachable(handle, &mut cache, g, i)
                        {
                            // A link-local next hop is only meaningful on its peer's link,
                            // which the path names: it is not looked up (as the fork).
                            hops.push(Hop {
                                oif: dev,
                                ..Hop::via(g.ip())
                            });
                        }
                    }
                    if hops.is_empty() {
                        continue;
                    }
                    desired.push((i as u16, self.rules[i].table, self.rules[i].rule.metric));
                    hops_of.push(hops);
                }
            }
            // Installs and replacements, make-before-break.
            done_keys.clear();
            for (di, &(_, table, metric)) in desired.iter().enumerate() {
                if done_keys.contains(&(table, metric)) {
                    continue;
                }
                done_keys.push((table, metric));
                let holders = Rules::from_iter(
                    desired
                        .iter()
                        .filter(|d| d.1 == table && d.2 == metric)
                        .map(|d| d.0),
                );
                let key = RouteKey {
                    table,
                    dst: p,
                    metric,
                };
                match installed
                    .iter()
                    .find(|e| e.table == table && e.metric == metric)
                {
                    Some(e)
                        if !gw_changed && (self.stale.is_empty() || !self.stale.contains(&key)) =>
                    {
                        for h in holders.iter() {
                            self.prefixes.add_export(&p, h, e.since);
                        }
                    }
                    _ => {
                        ops.push(RouteOp::Replace(
                            self.route_with_hops(key, std::mem::take(&mut hops_of[di])),
                        ));
                        metas.push(OpMeta::Export {
                            prefix: p,
                            rules: holders,
                            entry: Entry {
                                table,
                                metric,
                                since: now,
                            },
                        });
                    }
                }
            }
            // Removals of what is no longer wanted.
            gone.clear();
            for e in &installed {
                if done_keys.contains(&(e.table, e.metric)) || gone.contains(&(e.table, e.metric)) {
                    continue;
                }
                gone.push((e.table, e.metric));
                let key = RouteKey {
                    table: e.table,
                    dst: p,
                    metric: e.metric,
                };
                ops.push(RouteOp::Delete(self.route_for(key, None)));
                metas.push(OpMeta::Withdraw {
                    rules: self.rules_with_table(e.table),
                    key,
                });
            }
        }
        if self.cfg.watch {
            self.nht = cache;
        }
        self.run_ops(handle, ops, metas)
    }

    fn rules_with_table(&self, table: u32) -> Rules {
        Rules::from_iter(
            (0..self.rules.len() as u16).filter(|&i| self.rules[i as usize].table == table),
        )
    }

    /// Sends `ops` pipelined and records the outcome; returns the number that succeeded. The
    /// first failure is also kept in `self.first_error` for the caller that wants it.
    fn run_ops(
        &mut self,
        handle: &RouteHandle,
        ops: Vec<RouteOp>,
        metas: Vec<OpMeta>,
    ) -> Result<usize> {
        if ops.is_empty() {
            return Ok(0);
        }
        self.stats.kernel_ops += ops.len() as u64;
        let results = handle.apply(&ops)?;
        let mut ok = 0;
        let t = SystemTime::now();
        for (res, meta) in results.into_iter().zip(metas) {
            match (res, meta) {
                (
                    Ok(()),
                    OpMeta::Export {
                        prefix,
                        rules,
                        entry,
                    },
                ) => {
                    ok += 1;
                    self.stats.export_at(t);
                    if !self.stale.is_empty() {
                        self.stale.remove(&RouteKey {
                            table: entry.table,
                            dst: prefix,
                            metric: entry.metric,
                        });
                    }
                    for r in rules.iter() {
                        self.rule_stats[r as usize].export_at(t);
                        self.rule_stats[r as usize].kernel_ops += 1;
                        self.prefixes.add_export(&prefix, r, entry.since);
                    }
                }
                (res, OpMeta::Withdraw { rules, key }) => {
                    // ESRCH: the kernel had already removed it (its device went down).
                    match res {
                        Err(e) if e.errno() != libc::ESRCH => {
                            let msg = e.to_string();
                            self.first_error.get_or_insert(e);
                            self.stats.error(&msg);
                            for r in rules.iter() {
                                self.rule_stats[r as usize].error(&msg);
                            }
                            // Still ours in the kernel: retried at End-of-RIB or flush.
                            self.stale.insert(key);
                        }
                        _ => {
                            ok += 1;
                            if !self.stale.is_empty() {
                                self.stale.remove(&key);
                            }
                            self.stats.withdraw_at(t);
                            for r in rules.iter() {
                                self.rule_stats[r as usize].withdraw_at(t);
                                self.rule_stats[r as usize].kernel_ops += 1;
                            }
                        }
                    }
                }
                (Err(e), OpMeta::Export { rules, .. }) => {
                    let msg = e.to_string();
                    self.first_error.get_or_insert(e);
                    self.stats.error(&msg);
                    for r in rules.iter() {
                        self.rule_stats[r as usize].error(&msg);
                    }
                }
            }
        }
        Ok(ok)
    }

    /// Whether `p` goes out now (true) or waits in the dampening window.
    fn schedule(&mut self, p: Prefix, now: Instant) -> bool {
        let window = self.cfg.dampening;
        if window.is_zero() {
            return true;
        }
        let dampened = if let Some(pd) = self.pending.get_mut(&p) {
            pd.last = now;
            true
        } else if self
            .recent
            .get(&p)
            .is_some_and(|t| now.duration_since(*t) < window)
        {
            if self.pending.is_empty() {
                // The driver thread may be sleeping without a deadline: wake it.
                self.wake_needed = true;
            }
            self.pending.insert(
                p,
                Pending {
                    first: now,
                    last: now,
                },
            );
            true
        } else {
            self.recent.insert(p, now);
            if self.prune_at.is_none() {
                // The driver thread may be sleeping without a deadline: wake it.
                self.prune_at = Some(now + window);
                self.wake_needed = true;
            }
            false
        };
        if dampened {
            self.stats.dampened += 1;
            for (r, _) in self.prefixes.exports_of(&p) {
                self.rule_stats[r as usize].dampened += 1;
            }
        }
        !dampened
    }

    fn record(&mut self, handle: &RouteHandle, p: Prefix, path: Option<&Path>) -> Result<()> {
        let Some(path) = path else {
            let old = self.prefixes.remove_path(&p);
            if old != NO_PATH {
                self.paths.release(old);
            }
            return Ok(());
        };
        let update = Origin::RouteExport(ExportOperation::Update);
        for nh in std::iter::once(&path.nexthop).chain(&path.more_nexthops) {
            if p.is_ipv6() && !nh.is_ipv6() {
                return Err(Error::invalid(
                    update,
                    format!("{p}: an IPv6 prefix cannot have IPv4 next hop {nh}"),
                ));
            }
            if nh.is_unspecified() {
                return Err(Error::invalid(
                    update,
                    format!("{p}: next hop {nh} is unspecified"),
                ));
            }
        }
        let oif = match &path.device {
            None => 0,
            Some(name) => match self.dev_cache.get(name) {
                Some(i) => *i,
                None => {
                    let (i, _) = handle.link(name)?;
                    self.dev_cache.insert(name.clone(), i);
                    i
                }
            },
        };
        if oif == 0
            && std::iter::once(&path.nexthop)
                .chain(&path.more_nexthops)
                .any(|nh| is_link_local(*nh))
        {
            return Err(Error::invalid(
                update,
                format!("{p}: a link-local next hop needs the peer's interface (no device given)"),
            ));
        }
        let gw = Gw::new(path.nexthop);
        let mut more: Vec<Gw> = path
            .more_nexthops
            .iter()
            .map(|a| Gw::new(*a))
            .filter(|g| *g != gw)
            .collect();
        more.sort_unstable();
        more.dedup();
        let id = self
            .paths
            .intern_hops(gw, &more, oif, &path.communities, &path.large_communities);
        // A new path (entries left from a withdrawal still in the dampening window carry an
        // older gateway) or new next hops: every kernel route of the prefix is replaced.
        let paths = &self.paths;
        let old = self.prefixes.set_path(&p, id, |old| {
            old == NO_PATH || {
                let o = paths.get(old);
                o.gw != gw || o.oif != oif || *o.more != *more
            }
        });
        if old != NO_PATH {
            self.paths.release(old);
        }
        Ok(())
    }

    /// Applies best-path changes (`None`: withdrawn): those not held back by dampening go to
    /// the kernel pipelined in one batch. Returns the first error (an invalid path, or a
    /// kernel error of an immediate export); the other changes are applied regardless, and
    /// every failure is counted in the statistics.
    pub(crate) fn apply(
        &mut self,
        handle: &RouteHandle,
        changes: &[(Prefix, Option<&Path>)],
    ) -> Result<()> {
        let now = Instant::now();
        let mut first = None;
        let mut now_list = Vec::new();
        for (p, path) in changes {
            if let Err(e) = self.record(handle, *p, *path) {
                self.stats.error(&e.to_string());
                first.get_or_insert(e);
                continue;
            }
            if self.schedule(*p, now) {
                now_list.push(*p);
            }
        }
        self.first_error = None;
        if !now_list.is_empty() {
            now_list.sort_unstable();
            now_list.dedup();
            // Not in ascending order: the kernel's IPv4 trie deletes ascending prefixes
            // pathologically slowly (1,000,000 withdrawals: 269 us each ascending here).
            let now_list = crate::route::handle::scatter(now_list);
            self.sync(handle, &now_list, None)?;
        }
        match first.or(self.first_error.take()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Exports what the dampening window held back and is now due (all of it with `force`),
    /// and re-validates when a watched change asked for it.
    pub(crate) fn run_due(&mut self, handle: &RouteHandle, force: bool) -> Result<()> {
        let now = Instant::now();
        let (window, cap) = (self.cfg.dampening, self.cfg.dampening_cap);
        let due: Vec<Prefix> = self
            .pending
            .iter()
            .filter(|(_, pd)| force || now >= pd.last + window || now >= pd.first + cap)
            .map(|(p, _)| *p)
            .collect();
        for p in &due {
            self.pending.remove(p);
            self.recent.insert(*p, now);
        }
        if !due.is_empty() {
            shrink(&mut self.pending);
            self.prune_at.get_or_insert(now + window);
        }
        // Entries older than the window mean nothing to `schedule`; they are dropped (and the
        // map's room with them) when the oldest is due.
        if self.prune_at.is_some_and(|t| force || now >= t) {
            let mut oldest: Option<Instant> = None;
            self.recent.retain(|_, t| {
                let keep = now.duration_since(*t) < window;
                if keep {
                    oldest = Some(oldest.map_or(*t, |o| o.min(*t)));
                }
                keep
            });
            shrink(&mut self.recent);
            self.prune_at = oldest.map(|t| t + window);
        }
        if !due.is_empty() {
            self.sync(handle, &due, None)?;
        }
        if self.reval_at.is_some_and(|t| force || now >= t) {
            self.revalidate(handle)?;
        }
        Ok(())
    }

    /// When [`State::run_due`] next has something to do.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let (window, cap) = (self.cfg.dampening, self.cfg.dampening_cap);
        self.pending
            .values()
            .map(|pd| (pd.last + window).min(pd.first + cap))
            .chain(self.reval_at)
            .chain(self.prune_at)
            .min()
    }

    /// Asks for a re-validation of every next hop, at most once per dampening window.
    pub(crate) fn request_revalidation(&mut self) {
        self.nht.clear();
        self.dev_cache.clear();
        let now = Instant::now();
        // At most once per dampening window, and at most every 100 ms: a re-validation dumps
        // our routes.
        let gap = self.cfg.dampening.max(Duration::from_millis(100));
        let at = match self.last_reval {
            Some(t) if now.duration_since(t) < gap => t + gap,
            _ => now,
        };
        self.reval_at = Some(self.reval_at.map_or(at, |x| x.min(at)));
    }

    /// The kernel reports these routes of ours deleted. If an entry still claims one, it may
    /// have been removed under us (the kernel drops routes whose device goes down), or the
    /// notification may be late news of our own delete before a re-add: returns true so a
    /// re-validation compares with a dump of the kernel's tables, which is authoritative.
    pub(crate) fn kernel_deleted(&self, keys: &[RouteKey]) -> bool {
        keys.iter().any(|k| self.holds(k))
    }

    /// Other protocols changed the kernel routes to `dsts`: re-checks now the prefixes whose
    /// gateway's resolution such a change can affect ([`NhTrack::affected`]), and nothing else
    /// (no dump, no walk of the table when no tracked gateway is affected). Returns how many
    /// prefixes were re-checked.
    pub(crate) fn routes_changed(
        &mut self,
        handle: &RouteHandle,
        dsts: &[Prefix],
    ) -> Result<usize> {
        let gws = self.nht.affected(dsts);
        let deps = nht::dependents(&self.prefixes, &self.paths, &gws);
        if !deps.is_empty() {
            self.sync(handle, &deps, None)?;
        }
        Ok(deps.len())
    }

    /// Re-evaluates every known prefix (next hops, rules) now.
    pub(crate) fn revalidate(&mut self, handle: &RouteHandle) -> Result<()> {
        self.reval_at = None;
        self.last_reval = Some(Instant::now());
        self.nht.clear();
        // The kernel removes IPv4 routes whose device goes down without a notification
        // (fib_flush): compare what we think we have with what the kernel has, and forget
        // the missing ones so the sync below puts them back where it can.
        if self.prefixes.exports_len() > 0 {
            let present = self.kernel_routes(handle)?;
            let rules = &self.rules;
            self.prefixes.retain_exports(|p, r, _| {
                present.contains(&RouteKey {
                    table: rules[r as usize].table,
                    dst: *p,
                    metric: rules[r as usize].rule.metric,
                })
            });
        }
        // Every prefix with a path or an export (each once).
        let all = self.prefixes.prefixes();
        self.sync(handle, &all, None)?;
        Ok(())
    }

    /// Applies what is held back, then deletes our routes found at start that the RIB did not
    /// claim. Returns how many stale routes were deleted.
    pub(crate) fn end_of_rib(&mut self, handle: &RouteHandle) -> Result<usize> {
        self.run_due(handle, true)?;
        self.delete_stale(handle)
    }

    /// Swaps in new rules and re-evaluates every known route.
    pub(crate) fn reload(&mut self, handle: &RouteHandle, rules: &[Rule]) -> Result<()> {
        let resolved = resolve(handle, rules)?;
        // What is in the kernel, by the old rules' tables and metrics.
        let mut installed: HashMap<Prefix, Vec<Entry>> = HashMap::new();
        let old_rules = &self.rules;
        self.prefixes.drain_exports(|p, r, since| {
            let (table, metric) = (
                old_rules[r as usize].table,
                old_rules[r as usize].rule.metric,
            );
            let v = installed.entry(*p).or_default();
            if !v.iter().any(|x| x.table == table && x.metric == metric) {
                v.push(Entry {
                    table,
                    metric,
                    since,
                });
            }
        });
        let mut old_stats: HashMap<String, Stats> = self
            .rules
            .iter()
            .zip(std::mem::take(&mut self.rule_stats))
            .map(|(r, s)| (r.rule.name.clone(), s))
            .collect();
        self.rule_stats = resolved
            .iter()
            .map(|r| old_stats.remove(&r.rule.name).unwrap_or_default())
            .collect();
        self.rules = resolved;
        self.prefixes.set_rules(self.rules.len());
        // The prefixes with a path, and those without one that still have kernel routes.
        let mut all = self.prefixes.prefixes();
        all.extend(
            installed
                .keys()
                .filter(|p| self.prefixes.get(p).is_none())
                .copied(),
        );
        self.sync(handle, &all, Some(&mut installed))?;
        Ok(())
    }

    /// Deletes everything we exported (and stale routes of ours found at start) and forgets
    /// the RIB. Returns how many kernel routes went.
    pub(crate) fn flush(&mut self, handle: &RouteHandle) -> Result<usize> {
        let (rules, stale) = (&self.rules, &mut self.stale);
        self.prefixes.drain_exports(|p, r, _| {
            stale.insert(RouteKey {
                table: rules[r as usize].table,
                dst: *p,
                metric: rules[r as usize].rule.metric,
            });
        });
        self.prefixes.clear();
        self.paths.clear();
        self.pending = HashMap::new();
        self.recent = HashMap::new();
        self.prune_at = None;
        self.delete_stale(handle)
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats.clone()
    }

    pub(crate) fn rule_stats(&self) -> Vec<(String, Stats)> {
        self.rules
            .iter()
            .zip(&self.rule_stats)
            .map(|(r, s)| (r.rule.name.clone(), s.clone()))
            .collect()
    }

    pub(crate) fn exported(&self) -> Vec<ExportedRoute> {
        let mut v: Vec<ExportedRoute> = Vec::with_capacity(self.prefixes.exports_len());
        self.prefixes.for_each_export(|p, r, since| {
            let rule = &self.rules[r as usize];
            let path = self.prefixes.get(p).map_or(NO_PATH, |s| s.path);
            v.push(ExportedRoute {
                rule: rule.rule.name.clone(),
                prefix: *p,
                table: rule.table,
                metric: rule.rule.metric,
                gateway: (path != NO_PATH).then(|| self.paths.get(path).gw.ip()),
                exported_at: UNIX_EPOCH + Duration::from_secs(since as u64),
            });
        });
        v.sort_by(|a, b| (a.table, a.prefix, &a.rule).cmp(&(b.table, b.prefix, &b.rule)));
        v
    }

    /// Whether the background thread must be woken to see a new deadline (cleared on read).
    pub(crate) fn take_wake(&mut self) -> bool {
        std::mem::take(&mut self.wake_needed)
    }

    pub(crate) fn exported_len(&self) -> usize {
        self.prefixes.exports_len()
    }

    pub(crate) fn protocol(&self) -> u8 {
        self.cfg.protocol
    }
}
