//! C ABI for lbnet's route export engine (`lbnet_rtexport_*`): BGP best paths in, kernel routes
//! out, by rules that match communities and name a VRF or a table.
//!
//! ```c
//! struct lbnet_rtexport_rule rule = { .name = "all", .table = 100, .metric = 20,
//!                                     .validate_nexthop = 1 };
//! struct lbnet_rtexport_options o = { .sz = sizeof o, .rules = &rule, .n_rules = 1 };
//! struct lbnet_rtexport *ex;
//! if (lbnet_rtexport_open(&o, &ex) < 0) puts(lbnet_last_error());
//! struct lbnet_prefix p; struct lbnet_addr nh;
//! lbnet_prefix_parse("198.51.100.0/24", &p);
//! lbnet_addr_parse("10.1.0.2", &nh);
//! lbnet_rtexport_update(ex, &p, &nh, NULL, 0, NULL, 0);
//! lbnet_rtexport_free(ex);
//! ```
//!
//! Counts from the caller are checked against the `LBNET_RTEXPORT_*_MAX` bounds before anything
//! is read, elements are validated before anything is allocated for them, and what the library
//! allocates grows with what it has validated, so no count can make it abort.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, CString};
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lbnet::export::{Community, ExportConfig, Exporter, LargeCommunity, Path, Rule, Stats, Target};
use lbnet::netns::NetNs;
use lbnet::route::Prefix;
use lbnet::Error;

use crate::addr::{lbnet_addr, lbnet_prefix};
use crate::common::{
    arg_mut, arg_opt_path, arg_opt_str, arg_ref, arg_slice, arg_str, copy_out_str, guard,
    read_opts, ARG,
};

/// `flags` bit of [`lbnet_rtexport_options`]: at start, delete every route of our protocol in
/// the rules' tables (instead of keeping them until End-of-RIB).
pub const LBNET_RTEXPORT_DELETE_ALL_AT_START: u32 = 1;
/// `flags` bit: do not watch links, addresses and routes (next hops are validated only when a
/// path changes).
pub const LBNET_RTEXPORT_NO_WATCH: u32 = 2;
/// `flags` bit: no dampening; every update goes to the kernel at once.
pub const LBNET_RTEXPORT_NO_DAMPENING: u32 = 4;
const KNOWN_FLAGS: u32 =
    LBNET_RTEXPORT_DELETE_ALL_AT_START | LBNET_RTEXPORT_NO_WATCH | LBNET_RTEXPORT_NO_DAMPENING;

/// Route protocol used when `protocol` is 0: 186, `RTPROT_BGP` (FRR's zebra sweeps 186 at
/// start-up; pick another number where zebra runs). 0-4 and 255 are refused.
pub const LBNET_RTEXPORT_DEFAULT_PROTOCOL: u8 = 186;
/// Dampening window used when `dampening_ms` is 0.
pub const LBNET_RTEXPORT_DEFAULT_DAMPENING_MS: u32 = 100;
/// Longest a flapping prefix waits when `dampening_cap_ms` is 0.
pub const LBNET_RTEXPORT_DEFAULT_DAMPENING_CAP_MS: u32 = 1000;
/// Most rules an engine takes (rule indexes are 16 bits inside the engine).
pub const LBNET_RTEXPORT_RULES_MAX: usize = 65534;
/// Most standard communities in one list: what one BGP path can carry (a path attribute holds
/// at most 65,535 bytes, 4 per community).
pub const LBNET_RTEXPORT_COMMUNITIES_MAX: usize = 16383;
/// Most large communities in one list (12 bytes each in a 65,535-byte attribute).
pub const LBNET_RTEXPORT_LARGE_COMMUNITIES_MAX: usize = 5461;
/// Most changes one [`lbnet_rtexport_apply`] takes: far above a full Internet table (about 1.2
/// million prefixes).
pub const LBNET_RTEXPORT_CHANGES_MAX: usize = 1 << 24;

/// Longest rule name in bytes (without the NUL).
const NAME_MAX: usize = 255;
/// Most further next hops one change carries ([`lbnet_rtexport_change::more_nexthops`]).
pub const LBNET_RTEXPORT_NEXTHOPS_MAX: usize = 256;
/// Longest VRF device name (`IFNAMSIZ` - 1).
const VRF_MAX: usize = 15;
/// [`lbnet_rtexport_apply`] hands the engine this many changes at a time (each batch goes to the
/// kernel pipelined), so the library's copy of a huge array stays bounded.
const APPLY_BATCH: usize = 4096;
/// ... or fewer, once a batch's communities reach this many.
const APPLY_BATCH_COMMUNITIES: usize = 1 << 16;

/// An export engine (opaque). Create with [`lbnet_rtexport_open`], release with
/// [`lbnet_rtexport_free`]. Safe to use from several threads at once.
pub struct lbnet_rtexport {
    inner: Exporter,
}

/// A large community (RFC 8092).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_rtexport_large_community {
    /// Global administrator.
    pub global: u32,
    /// First local part.
    pub local1: u32,
    /// Second local part.
    pub local2: u32,
}

/// One export rule.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_rtexport_rule {
    /// Unique name (NUL-terminated UTF-8, 1-255 bytes).
    pub name: *const c_char,
    /// Standard communities (RFC 1997, `asn << 16 | value`), at most
    /// [`LBNET_RTEXPORT_COMMUNITIES_MAX`]; matched with OR together with the large ones; both
    /// empty: every path matches.
    pub communities: *const u32,
    /// Number of `communities`.
    pub n_communities: usize,
    /// Large communities, at most [`LBNET_RTEXPORT_LARGE_COMMUNITIES_MAX`].
    pub large_communities: *const lbnet_rtexport_large_community,
    /// Number of `large_communities`.
    pub n_large_communities: usize,
    /// VRF device name, or NULL to export into `table`. With `table` 0 the routes go into the
    /// VRF's own table (read from the link); with a table, into that table, next hops being
    /// validated in the VRF (the PureLB fork's rule with both `vrf` and `table-id`).
    pub vrf: *const c_char,
    /// Table id: required (not 0) when `vrf` is NULL; with a VRF, 0 means the VRF's table.
    pub table: u32,
    /// Metric of exported routes (20 is the usual one).
    pub metric: u32,
    /// Non-zero: export only while the next hop is reachable in the target's routing context.
    pub validate_nexthop: c_int,
}

/// Options for [`lbnet_rtexport_open`]. Set `sz` to `sizeof(struct lbnet_rtexport_options)`; a
/// zero-initialised struct (or a NULL pointer) means defaults: the caller's network namespace,
/// protocol 186, 100 ms dampening with a 1 s cap, routes kept at start, watching on, no rules.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_rtexport_options {
    /// `sizeof(struct lbnet_rtexport_options)`.
    pub sz: usize,
    /// Network namespace file (`/var/run/netns/NAME`), or NULL for the caller's.
    pub netns_path: *const c_char,
    /// The rules (copied; the array may be freed once the call returns).
    pub rules: *const lbnet_rtexport_rule,
    /// Number of `rules`, at most [`LBNET_RTEXPORT_RULES_MAX`].
    pub n_rules: usize,
    /// Route protocol of exported routes; 0 means [`LBNET_RTEXPORT_DEFAULT_PROTOCOL`]. 1-4
    /// (`RTPROT_REDIRECT`, `RTPROT_KERNEL`, `RTPROT_BOOT`, `RTPROT_STATIC`) and 255 are refused:
    /// the engine replaces and deletes every route of its protocol in its tables.
    pub protocol: u8,
    /// Updates of one prefix closer together than this many milliseconds are coalesced; 0 means
    /// [`LBNET_RTEXPORT_DEFAULT_DAMPENING_MS`] ([`LBNET_RTEXPORT_NO_DAMPENING`] turns it off).
    pub dampening_ms: u32,
    /// A prefix that keeps changing is still installed this often (milliseconds); 0 means
    /// [`LBNET_RTEXPORT_DEFAULT_DAMPENING_CAP_MS`].
    pub dampening_cap_ms: u32,
    /// `LBNET_RTEXPORT_DELETE_ALL_AT_START`, `LBNET_RTEXPORT_NO_WATCH`,
    /// `LBNET_RTEXPORT_NO_DAMPENING`; other bits are refused.
    pub flags: u32,
}

/// One best-path change for [`lbnet_rtexport_apply`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_rtexport_change {
    /// Destination (no host bits set).
    pub prefix: lbnet_prefix,
    /// Next hop of the new best path; family 0 (`AF_UNSPEC`) when the prefix is withdrawn. An
    /// IPv6 next hop for an IPv4 prefix is installed with `RTA_VIA`.
    pub nexthop: lbnet_addr,
    /// Standard communities of the path, at most [`LBNET_RTEXPORT_COMMUNITIES_MAX`].
    pub communities: *const u32,
    /// Number of `communities`.
    pub n_communities: usize,
    /// Large communities of the path, at most [`LBNET_RTEXPORT_LARGE_COMMUNITIES_MAX`].
    pub large_communities: *const lbnet_rtexport_large_community,
    /// Number of `large_communities`.
    pub n_large_communities: usize,
    /// Next hops of the prefix's other equal-cost best paths (BGP multipath), at most
    /// [`LBNET_RTEXPORT_NEXTHOPS_MAX`]; with any, the kernel route is a multipath route over
    /// `nexthop` and these. NULL with 0 for a single path.
    pub more_nexthops: *const lbnet_addr,
    /// Number of `more_nexthops`.
    pub n_more_nexthops: usize,
    /// Output device of the next hops (NUL-terminated interface name), required for an IPv6
    /// link-local next hop (the unnumbered peer's interface); NULL lets the kernel resolve it.
    pub device: *const c_char,
}

/// Statistics, global or of one rule. Times are nanoseconds since the Unix epoch, 0 for never.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct lbnet_rtexport_stats {
    /// Routes installed or changed.
    pub exported: u64,
    /// Routes removed.
    pub withdrawn: u64,
    /// Failed kernel operations.
    pub errors: u64,
    /// Next-hop checks.
    pub nexthop_validations: u64,
    /// Next-hop checks that failed.
    pub nexthop_failures: u64,
    /// Updates coalesced by dampening.
    pub dampened: u64,
    /// Route messages sent to the kernel.
    pub kernel_ops: u64,
    /// Last export.
    pub last_export_ns: i64,
    /// Last withdrawal.
    pub last_withdraw_ns: i64,
    /// Last error.
    pub last_error_ns: i64,
}

/// One exported route in a [`lbnet_rtexport_route_list`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_rtexport_route {
    /// Rule name (owned by the list).
    pub rule: *const c_char,
    /// Destination.
    pub prefix: lbnet_prefix,
    /// Gateway; family 0 while a withdrawal waits in the dampening window.
    pub gateway: lbnet_addr,
    /// Table.
    pub table: u32,
    /// Metric.
    pub metric: u32,
    /// Export time, seconds since the Unix epoch.
    pub exported_at: i64,
}

/// The exported routes; release with [`lbnet_rtexport_route_list_free`].
#[repr(C)]
#[derive(Debug)]
pub struct lbnet_rtexport_route_list {
    /// Array of `len` routes.
    pub routes: *const lbnet_rtexport_route,
    /// Number of routes.
    pub len: usize,
}

#[repr(C)]
struct ListBox {
    #[allow(dead_code)] // read by C through the pointer to this first field
    list: lbnet_rtexport_route_list,
    _routes: Vec<lbnet_rtexport_route>,
    _names: Vec<CString>,
}

/// Borrows a caller's array of `n` elements after checking `n` against `max`, so a huge count
/// is refused before anything is read.
unsafe fn bounded<'a, T>(p: *const T, n: usize, max: usize, name: &str) -> Result<&'a [T], Error> {
    if n > max {
        return Err(Error::invalid(
            ARG,
            format!("{name}: {n} given, at most {max}"),
        ));
    }
    // SAFETY: forwarded from the caller: `p` holds `n` elements or is NULL.
    unsafe { arg_slice(p, n, name) }
}

/// A path as the caller passed it, validated, borrowing its community arrays.
struct PathRef<'a> {
    nexthop: IpAddr,
    communities: &'a [u32],
    large: &'a [lbnet_rtexport_large_community],
    more: Vec<IpAddr>,
    device: Option<&'a str>,
}

impl PathRef<'_> {
    fn to_path(&self) -> Path {
        Path {
            nexthop: self.nexthop,
            communities: communities(self.communities),
            large_communities: large_communities(self.large),
            more_nexthops: self.more.clone(),
            device: self.device.map(str::to_string),
        }
    }
}

fn communities(c: &[u32]) -> Vec<Community> {
    c.iter().map(|c| Community(*c)).collect()
}

fn large_communities(l: &[lbnet_rtexport_large_community]) -> Vec<LargeCommunity> {
    l.iter()
        .map(|l| LargeCommunity {
            global: l.global,
            local1: l.local1,
            local2: l.local2,
        })
        .collect()
}

/// Checks a path's parts (nothing is allocated but an error message).
unsafe fn path_ref<'a>(
    nexthop: lbnet_addr,
    comms: *const u32,
    n_comms: usize,
    large: *const lbnet_rtexport_large_community,
    n_large: usize,
) -> Result<PathRef<'a>, Error> {
    Ok(PathRef {
        nexthop: nexthop.to_ip("nexthop")?,
        // SAFETY: the caller's arrays hold their counts (checked against the bounds first).
        communities: unsafe {
            bounded(
                comms,
                n_comms,
                LBNET_RTEXPORT_COMMUNITIES_MAX,
                "communities",
            )
        }?,
        large: unsafe {
            bounded(
                large,
                n_large,
                LBNET_RTEXPORT_LARGE_COMMUNITIES_MAX,
                "large_communities",
            )
        }?,
        more: Vec::new(),
        device: None,
    })
}

/// Checks change `i`: its prefix, and its path unless the next hop's family is 0.
unsafe fn change_ref<'a>(
    c: &lbnet_rtexport_change,
    i: usize,
) -> Result<(Prefix, Option<PathRef<'a>>), Error> {
    let at = |e: Error| e.wrap(ARG, format!("changes[{i}]"));
    let prefix = c.prefix.to_prefix("prefix").map_err(at)?;
    if c.nexthop.af == libc::AF_UNSPEC {
        return Ok((prefix, None));
    }
    // SAFETY: the change's arrays come from the caller with their counts.
    let mut path = unsafe {
        path_ref(
            c.nexthop,
            c.communities,
            c.n_communities,
            c.large_communities,
            c.n_large_communities,
        )
    }
    .map_err(at)?;
    // SAFETY: as above; the count is checked against the bound before anything is read.
    let more = unsafe {
        bounded(
            c.more_nexthops,
            c.n_more_nexthops,
            LBNET_RTEXPORT_NEXTHOPS_MAX,
            "more_nexthops",
        )
    }
    .map_err(at)?;
    path.more = more
        .iter()
        .map(|a| a.to_ip("more_nexthops"))
        .collect::<Result<_, _>>()
        .map_err(at)?;
    // SAFETY: NULL or NUL-terminated, from the caller.
    path.device = unsafe { arg_opt_str(c.device, "device", VRF_MAX) }.map_err(at)?;
    Ok((prefix, Some(path)))
}

/// Checks and copies the caller's rules: the count first, then each rule before it is copied.
unsafe fn rules_from(rules: *const lbnet_rtexport_rule, n: usize) -> Result<Vec<Rule>, Error> {
    // SAFETY: forwarded from the caller.
    let raw = unsafe { bounded(rules, n, LBNET_RTEXPORT_RULES_MAX, "rules") }?;
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let at = |e: Error| e.wrap(ARG, format!("rules[{i}]"));
        // SAFETY: the rule's pointers come from the caller with their counts.
        let name = unsafe { arg_str(r.name, "name", NAME_MAX) }.map_err(at)?;
        let comms = unsafe {
            bounded(
                r.communities,
                r.n_communities,
                LBNET_RTEXPORT_COMMUNITIES_MAX,
                "communities",
            )
        }
        .map_err(at)?;
        let large = unsafe {
            bounded(
                r.large_communities,
                r.n_large_communities,
                LBNET_RTEXPORT_LARGE_COMMUNITIES_MAX,
                "large_communities",
            )
        }
        .map_err(at)?;
        let vrf = unsafe { arg_opt_str(r.vrf, "vrf", VRF_MAX) }.map_err(at)?;
        let target = match vrf {
            Some(v) if r.table != 0 => Target::VrfTable {
                vrf: v.to_string(),
                table: r.table,
            },
            Some(v) => Target::Vrf(v.to_string()),
            None => Target::Table(r.table),
        };
        let mut rule = Rule::new(name, target);
        rule.communities = communities(comms);
        rule.large_communities = large_communities(large);
        rule.metric = r.metric;
        rule.validate_nexthop = r.validate_nexthop != 0;
        out.push(rule);
    }
    Ok(out)
}

/// The engine's settings and rules from the caller's options (NULL: defaults, no rules).
unsafe fn options(opts: *const lbnet_rtexport_options) -> Result<(ExportConfig, Vec<Rule>), Error> {
    let mut config = ExportConfig {
        protocol: LBNET_RTEXPORT_DEFAULT_PROTOCOL,
        dampening: Duration::from_millis(LBNET_RTEXPORT_DEFAULT_DAMPENING_MS.into()),
        dampening_cap: Duration::from_millis(LBNET_RTEXPORT_DEFAULT_DAMPENING_CAP_MS.into()),
        ..ExportConfig::default()
    };
    // SAFETY: opts is NULL or points to `sz` readable bytes.
    let Some(o) = (unsafe { read_opts(opts, "opts") })? else {
        return Ok((config, Vec::new()));
    };
    if o.flags & !KNOWN_FLAGS != 0 {
        return Err(Error::invalid(
            ARG,
            format!("opts->flags has unknown bits {:#x}", o.flags & !KNOWN_FLAGS),
        ));
    }
    // SAFETY: the caller's path and rules (checked by the helpers).
    if let Some(p) = unsafe { arg_opt_path(o.netns_path, "netns_path") }? {
        config.netns = NetNs::Path(p.into());
    }
    let rules = unsafe { rules_from(o.rules, o.n_rules) }?;
    if o.protocol != 0 {
        config.protocol = o.protocol;
    }
    if o.dampening_ms != 0 {
        config.dampening = Duration::from_millis(o.dampening_ms.into());
    }
    if o.flags & LBNET_RTEXPORT_NO_DAMPENING != 0 {
        config.dampening = Duration::ZERO;
    }
    if o.dampening_cap_ms != 0 {
        config.dampening_cap = Duration::from_millis(o.dampening_cap_ms.into());
    }
    config.delete_all_at_start = o.flags & LBNET_RTEXPORT_DELETE_ALL_AT_START != 0;
    config.watch = o.flags & LBNET_RTEXPORT_NO_WATCH == 0;
    Ok((config, rules))
}

/// Starts an engine with `opts` (NULL: defaults and no rules) and stores it in `*out`: resolves
/// VRF names to tables, takes stock of the routes of its protocol in the rules' tables (deleting
/// them with `LBNET_RTEXPORT_DELETE_ALL_AT_START`) and starts its background thread.
///
/// Returns 0; `-EINVAL` for NULL `out`, a bad `sz` (smaller than the struct, above 4096, or
/// larger with a non-zero byte past the fields this library knows), unknown flags, a reserved
/// protocol, too many rules or a bad rule (the message names it); `-ENOENT`/`-ENODEV` for a missing namespace file or VRF; `-EPERM`; kernel errnos.
/// `*out` is NULL on failure.
///
/// # Safety
///
/// `opts` must be NULL or point to `opts->sz` readable bytes whose pointers are NULL or valid
/// (strings NUL-terminated, arrays holding their counts); `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_open(
    opts: *const lbnet_rtexport_options,
    out: *mut *mut lbnet_rtexport,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let (config, rules) = unsafe { options(opts) }?;
        let ex = Exporter::new(config, &rules)?;
        *out = Box::into_raw(Box::new(lbnet_rtexport { inner: ex }));
        Ok(())
    })
}

/// Stops the engine and frees it. Exported routes stay in the kernel (a restarted engine keeps
/// them until End-of-RIB); call [`lbnet_rtexport_flush`] first to remove them. NULL is a no-op.
///
/// # Safety
///
/// `ex` must be NULL or an engine from [`lbnet_rtexport_open`] not freed before, and no other
/// thread may use it during or after the call.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_free(ex: *mut lbnet_rtexport) {
    if !ex.is_null() {
        let _ = guard(|| {
            // SAFETY: allocated by lbnet_rtexport_open and not freed before (caller contract).
            drop(unsafe { Box::from_raw(ex) });
            Ok(())
        });
    }
}

/// A new best path for `*prefix` via `*nexthop` with its communities (replacing any earlier
/// one). Exported at once unless the prefix changed within the dampening window.
///
/// Returns 0; `-EINVAL` for a NULL pointer, a bad prefix (host bits set, bad length or family),
/// a next hop of family other than `AF_INET`/`AF_INET6`, or a count above its bound; the
/// kernel's errno if the immediate export failed (also in the statistics).
///
/// # Safety
///
/// `ex` must be NULL or a live engine; `prefix` and `nexthop` NULL or readable; `communities`
/// and `large_communities` NULL or holding `n_communities` and `n_large_communities` elements.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_update(
    ex: *const lbnet_rtexport,
    prefix: *const lbnet_prefix,
    nexthop: *const lbnet_addr,
    communities: *const u32,
    n_communities: usize,
    large_communities: *const lbnet_rtexport_large_community,
    n_large_communities: usize,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above; pointers checked by the helpers.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let p = unsafe { arg_ref(prefix, "prefix") }?.to_prefix("prefix")?;
        let nh = *unsafe { arg_ref(nexthop, "nexthop") }?;
        let path = unsafe {
            path_ref(
                nh,
                communities,
                n_communities,
                large_communities,
                n_large_communities,
            )
        }?;
        ex.inner.update(p, &path.to_path())
    })
}

/// Applies `n` best-path changes at once (withdrawals have a next hop of family 0): their
/// kernel operations go pipelined, many per `sendmsg`.
///
/// Every change is checked before any is applied (`-EINVAL` naming the first bad one, and
/// nothing applied); then every change is applied, in batches of a few thousand, and the first
/// error is returned (all are counted in the statistics).
///
/// # Safety
///
/// `ex` must be NULL or a live engine; `changes` NULL (with `n` 0) or holding `n` elements whose
/// arrays hold their counts.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_apply(
    ex: *const lbnet_rtexport,
    changes: *const lbnet_rtexport_change,
    n: usize,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above; `n` is bounded before anything is read.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let raw = unsafe { bounded(changes, n, LBNET_RTEXPORT_CHANGES_MAX, "changes") }?;
        for (i, c) in raw.iter().enumerate() {
            unsafe { change_ref(c, i) }?;
        }
        let mut first = None;
        let mut batch: Vec<(Prefix, Option<Path>)> = Vec::new();
        let mut comms = 0;
        for (i, c) in raw.iter().enumerate() {
            let (p, path) = unsafe { change_ref(c, i) }?;
            comms += path
                .as_ref()
                .map_or(0, |p| p.communities.len() + p.large.len());
            batch.push((p, path.map(|p| p.to_path())));
            if batch.len() == APPLY_BATCH || comms >= APPLY_BATCH_COMMUNITIES || i + 1 == n {
                let refs: Vec<(Prefix, Option<&Path>)> =
                    batch.iter().map(|(p, path)| (*p, path.as_ref())).collect();
                if let Err(e) = ex.inner.apply(&refs) {
                    first.get_or_insert(e);
                }
                batch.clear();
                comms = 0;
            }
        }
        first.map_or(Ok(()), Err)
    })
}

/// `*prefix` has no best path any more: removed from every table.
///
/// Returns 0; `-EINVAL` for a NULL pointer or a bad prefix; the kernel's errno if the removal
/// failed.
///
/// # Safety
///
/// `ex` must be NULL or a live engine; `prefix` NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_withdraw(
    ex: *const lbnet_rtexport,
    prefix: *const lbnet_prefix,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let p = unsafe { arg_ref(prefix, "prefix") }?.to_prefix("prefix")?;
        ex.inner.withdraw(p)
    })
}

/// End-of-RIB (the first full update is complete): exports what dampening holds back, then
/// removes our routes found at start that no path claimed; `*deleted` (may be NULL) gets how
/// many.
///
/// Returns 0, `-EINVAL` for NULL `ex`, or the kernel's errno.
///
/// # Safety
///
/// `ex` must be NULL or a live engine; `deleted` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_end_of_rib(
    ex: *const lbnet_rtexport,
    deleted: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let n = ex.inner.end_of_rib()?;
        if let Some(d) = unsafe { deleted.as_mut() } {
            *d = n;
        }
        Ok(())
    })
}

/// Replaces the rules with `n_rules` new ones and re-evaluates every route (routes no rule
/// wants any more are withdrawn; a changed table or metric moves them). On error the old rules
/// stay.
///
/// Returns 0; `-EINVAL` for NULL `ex`, more than [`LBNET_RTEXPORT_RULES_MAX`] rules or a bad
/// rule; `-ENOENT`/`-ENODEV` for a missing VRF; the kernel's errno.
///
/// # Safety
///
/// `ex` must be NULL or a live engine; `rules` NULL (with `n_rules` 0) or holding `n_rules`
/// rules whose pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_reload(
    ex: *const lbnet_rtexport,
    rules: *const lbnet_rtexport_rule,
    n_rules: usize,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above; the count is bounded before anything is read.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let rules = unsafe { rules_from(rules, n_rules) }?;
        ex.inner.reload(&rules)
    })
}

/// Removes every route we exported (and ours found at start) and nothing else; `*deleted` (may
/// be NULL) gets how many.
///
/// Returns 0, `-EINVAL` for NULL `ex`, or the kernel's errno.
///
/// # Safety
///
/// `ex` must be NULL or a live engine; `deleted` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_flush(
    ex: *const lbnet_rtexport,
    deleted: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let n = ex.inner.flush()?;
        if let Some(d) = unsafe { deleted.as_mut() } {
            *d = n;
        }
        Ok(())
    })
}

fn ns_of(t: Option<SystemTime>) -> i64 {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}

fn find_stats(ex: &lbnet_rtexport, rule: Option<&str>) -> Result<Stats, Error> {
    match rule {
        None => Ok(ex.inner.stats()),
        Some(name) => ex
            .inner
            .rule_stats()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .ok_or_else(|| {
                Error::new(ARG, lbnet::ErrorKind::NotFound, format!("no rule {name:?}"))
            }),
    }
}

/// Statistics of rule `rule` (NULL: global) into `*out`.
///
/// Returns 0; `-EINVAL` for a NULL `ex` or `out`; `-ENOENT` for an unknown rule.
///
/// # Safety
///
/// `ex` must be NULL or a live engine; `rule` NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_get_stats(
    ex: *const lbnet_rtexport,
    rule: *const c_char,
    out: *mut lbnet_rtexport_stats,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let out = unsafe { arg_mut(out, "out") }?;
        let s = find_stats(ex, unsafe { arg_opt_str(rule, "rule", NAME_MAX) }?)?;
        *out = lbnet_rtexport_stats {
            exported: s.exported,
            withdrawn: s.withdrawn,
            errors: s.errors,
            nexthop_validations: s.nexthop_validations,
            nexthop_failures: s.nexthop_failures,
            dampened: s.dampened,
            kernel_ops: s.kernel_ops,
            last_export_ns: ns_of(s.last_export),
            last_withdraw_ns: ns_of(s.last_withdraw),
            last_error_ns: ns_of(s.last_error),
        };
        Ok(())
    })
}

/// Copies the engine's last error message of rule `rule` (NULL: global) into `buf` of `cap`
/// bytes, NUL-terminated ("" if there was none).
///
/// Returns 0; `-EINVAL` for a NULL `ex` or `buf`; `-ENOENT` for an unknown rule; `-ERANGE` if
/// the message does not fit.
///
/// # Safety
///
/// `ex` must be NULL or a live engine; `rule` NULL or NUL-terminated; `buf` NULL or writable
/// for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_last_error(
    ex: *const lbnet_rtexport,
    rule: *const c_char,
    buf: *mut c_char,
    cap: usize,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let s = find_stats(ex, unsafe { arg_opt_str(rule, "rule", NAME_MAX) }?)?;
        unsafe { copy_out_str(s.last_error_message.as_deref().unwrap_or(""), buf, cap) }
    })
}

/// The exported routes, by table, prefix and rule, into `*out` (free it with
/// [`lbnet_rtexport_route_list_free`]).
///
/// Returns 0, or `-EINVAL` for a NULL `ex` or `out` (`*out` is NULL on failure).
///
/// # Safety
///
/// `ex` must be NULL or a live engine; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_routes(
    ex: *const lbnet_rtexport,
    out: *mut *mut lbnet_rtexport_route_list,
) -> c_int {
    guard(|| {
        // SAFETY: per the contract above.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let list = ex.inner.exported();
        let mut names = Vec::with_capacity(list.len());
        let mut routes = Vec::with_capacity(list.len());
        for r in &list {
            // Rule names were checked for NULs when they came in.
            let name = CString::new(r.rule.as_str()).unwrap_or_default();
            routes.push(lbnet_rtexport_route {
                rule: name.as_ptr(),
                prefix: lbnet_prefix::from_prefix(&r.prefix),
                gateway: r.gateway.map(lbnet_addr::from_ip).unwrap_or_default(),
                table: r.table,
                metric: r.metric,
                exported_at: r
                    .exported_at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
            });
            names.push(name);
        }
        let b = Box::new(ListBox {
            list: lbnet_rtexport_route_list {
                routes: routes.as_ptr(),
                len: routes.len(),
            },
            _routes: routes,
            _names: names,
        });
        // The list is the first field of ListBox: the pointer to one is the pointer to the other.
        *out = Box::into_raw(b) as *mut lbnet_rtexport_route_list;
        Ok(())
    })
}

/// Frees a list from [`lbnet_rtexport_routes`]. NULL is a no-op.
///
/// # Safety
///
/// `list` must be NULL or a list from [`lbnet_rtexport_routes`] not freed before.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_route_list_free(list: *mut lbnet_rtexport_route_list) {
    if !list.is_null() {
        // SAFETY: allocated as a ListBox by lbnet_rtexport_routes (caller contract).
        drop(unsafe { Box::from_raw(list as *mut ListBox) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::process::Command;

    struct Ns(String);
    impl Drop for Ns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
        }
    }
    fn ip(ns: &str, args: &[&str]) -> String {
        let o = Command::new("ip")
            .arg("-n")
            .arg(ns)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }
    fn last_error() -> String {
        unsafe { CStr::from_ptr(crate::common::lbnet_last_error()) }
            .to_str()
            .unwrap()
            .to_string()
    }
    fn pfx(s: &str) -> lbnet_prefix {
        lbnet_prefix::from_prefix(&s.parse().unwrap())
    }
    fn addr(s: &str) -> lbnet_addr {
        lbnet_addr::from_ip(s.parse().unwrap())
    }
    fn rule(name: &'static CStr, table: u32) -> lbnet_rtexport_rule {
        lbnet_rtexport_rule {
            name: name.as_ptr(),
            communities: std::ptr::null(),
            n_communities: 0,
            large_communities: std::ptr::null(),
            n_large_communities: 0,
            vrf: std::ptr::null(),
            table,
            metric: 20,
            validate_nexthop: 1,
        }
    }
    fn change(p: &str, nh: Option<&str>) -> lbnet_rtexport_change {
        lbnet_rtexport_change {
            prefix: pfx(p),
            nexthop: nh.map(addr).unwrap_or_default(),
            communities: std::ptr::null(),
            n_communities: 0,
            large_communities: std::ptr::null(),
            n_large_communities: 0,
            more_nexthops: std::ptr::null(),
            n_more_nexthops: 0,
            device: std::ptr::null(),
        }
    }
    fn opts() -> lbnet_rtexport_options {
        lbnet_rtexport_options {
            sz: std::mem::size_of::<lbnet_rtexport_options>(),
            netns_path: std::ptr::null(),
            rules: std::ptr::null(),
            n_rules: 0,
            protocol: 0,
            dampening_ms: 0,
            dampening_cap_ms: 0,
            flags: LBNET_RTEXPORT_NO_WATCH,
        }
    }
    /// Opens an engine with `n` rules from `rules` (refused in these tests: nothing to free).
    unsafe fn open_with(rules: &[lbnet_rtexport_rule], n: usize) -> c_int {
        let mut o = opts();
        o.rules = rules.as_ptr();
        o.n_rules = n;
        let mut out = std::ptr::null_mut();
        let rc = unsafe { lbnet_rtexport_open(&o, &mut out) };
        assert!(out.is_null());
        rc
    }
    /// An engine without rules in the caller's namespace: it touches no table.
    fn idle() -> *mut lbnet_rtexport {
        let mut ex = std::ptr::null_mut();
        assert_eq!(unsafe { lbnet_rtexport_open(&opts(), &mut ex) }, 0);
        ex
    }

    #[test]
    fn defaults_are_the_engines() {
        let d = ExportConfig::default();
        assert_eq!(LBNET_RTEXPORT_DEFAULT_PROTOCOL, d.protocol);
        assert_eq!(
            Duration::from_millis(LBNET_RTEXPORT_DEFAULT_DAMPENING_MS.into()),
            d.dampening
        );
        assert_eq!(
            Duration::from_millis(LBNET_RTEXPORT_DEFAULT_DAMPENING_CAP_MS.into()),
            d.dampening_cap
        );
        let (c, rules) = unsafe { options(std::ptr::null()) }.unwrap();
        assert!(rules.is_empty() && c.watch && !c.delete_all_at_start);
        assert_eq!(c.protocol, 186);
        let mut o = opts();
        o.flags = LBNET_RTEXPORT_NO_DAMPENING | LBNET_RTEXPORT_DELETE_ALL_AT_START;
        o.protocol = 200;
        o.dampening_cap_ms = 7;
        let (c, _) = unsafe { options(&o) }.unwrap();
        assert_eq!(c.dampening, Duration::ZERO);
        assert_eq!(c.dampening_cap, Duration::from_millis(7));
        assert!(c.watch && c.delete_all_at_start);
        assert_eq!(c.protocol, 200);
    }

    #[test]
    fn options_are_checked() {
        let mut ex = std::ptr::null_mut();
        unsafe {
            assert_eq!(
                lbnet_rtexport_open(std::ptr::null(), std::ptr::null_mut()),
                -libc::EINVAL
            );
            // sz per libbpf: too small, larger with a set byte, larger with zeros.
            let size = std::mem::size_of::<lbnet_rtexport_options>();
            let mut buf = vec![0u8; size + 8];
            let mut o = opts();
            o.sz = size - 1;
            assert_eq!(lbnet_rtexport_open(&o, &mut ex), -libc::EINVAL);
            assert!(ex.is_null());
            o.sz = size + 8;
            std::ptr::copy_nonoverlapping(&o as *const _ as *const u8, buf.as_mut_ptr(), size);
            buf[size + 3] = 1;
            let big = buf.as_ptr() as *const lbnet_rtexport_options;
            assert_eq!(lbnet_rtexport_open(big, &mut ex), -libc::EINVAL);
            buf[size + 3] = 0;
            assert_eq!(lbnet_rtexport_open(big, &mut ex), 0);
            lbnet_rtexport_free(ex);
            let mut o = opts();
            o.flags = 1 << 9;
            assert_eq!(lbnet_rtexport_open(&o, &mut ex), -libc::EINVAL);
            assert!(last_error().contains("0x200"), "{}", last_error());
            // Reserved protocols: refused by the engine before it touches the kernel.
            for p in [1u8, 2, 3, 4, 255] {
                let mut o = opts();
                o.protocol = p;
                assert_eq!(lbnet_rtexport_open(&o, &mut ex), -libc::EINVAL);
                assert!(
                    last_error().contains(&format!("route protocol {p} ")),
                    "{}",
                    last_error()
                );
            }
            let mut o = opts();
            o.netns_path = c"".as_ptr();
            assert_eq!(lbnet_rtexport_open(&o, &mut ex), -libc::EINVAL);
            o.netns_path = c"/nonexistent/netns".as_ptr();
            assert_eq!(lbnet_rtexport_open(&o, &mut ex), -libc::ENOENT);
        }
    }

    #[test]
    fn huge_counts_are_refused_before_anything_is_read() {
        let one = [rule(c"r", 100)];
        let mut bad = one;
        bad[0].name = std::ptr::null();
        let ch = [change("198.51.100.0/24", Some("10.1.0.2"))];
        let mut bad_ch = ch;
        bad_ch[0].nexthop.af = 7;
        let ex = idle();
        for n in [i32::MAX as usize, 1 << 40, usize::MAX] {
            unsafe {
                assert_eq!(open_with(&one, n), -libc::EINVAL);
                assert!(last_error().contains("at most 65534"), "{}", last_error());
                assert_eq!(lbnet_rtexport_reload(ex, one.as_ptr(), n), -libc::EINVAL);
                assert_eq!(lbnet_rtexport_apply(ex, ch.as_ptr(), n), -libc::EINVAL);
                assert!(
                    last_error().contains("at most 16777216"),
                    "{}",
                    last_error()
                );
                let mut c = ch;
                c[0].n_communities = n;
                c[0].communities = [1u32].as_ptr();
                assert_eq!(lbnet_rtexport_apply(ex, c.as_ptr(), 1), -libc::EINVAL);
                let mut c = ch;
                c[0].n_large_communities = n;
                c[0].large_communities = [lbnet_rtexport_large_community {
                    global: 1,
                    local1: 2,
                    local2: 3,
                }]
                .as_ptr();
                assert_eq!(
                    lbnet_rtexport_update(
                        ex,
                        &ch[0].prefix,
                        &ch[0].nexthop,
                        std::ptr::null(),
                        0,
                        c[0].large_communities,
                        n
                    ),
                    -libc::EINVAL
                );
                let mut r = one;
                r[0].n_communities = n;
                r[0].communities = [1u32].as_ptr();
                assert_eq!(lbnet_rtexport_reload(ex, r.as_ptr(), 1), -libc::EINVAL);
                assert!(last_error().contains("rules[0]"), "{}", last_error());
            }
        }
        // The largest counts allowed, with element 0 invalid: refused at element 0 (reading on
        // would run off the one-element arrays under the sanitizers and valgrind).
        unsafe {
            assert_eq!(open_with(&bad, LBNET_RTEXPORT_RULES_MAX), -libc::EINVAL);
            assert!(
                last_error().contains("rules[0]: name is NULL"),
                "{}",
                last_error()
            );
            assert_eq!(
                lbnet_rtexport_reload(ex, bad.as_ptr(), LBNET_RTEXPORT_RULES_MAX),
                -libc::EINVAL
            );
            assert_eq!(
                lbnet_rtexport_apply(ex, bad_ch.as_ptr(), LBNET_RTEXPORT_CHANGES_MAX),
                -libc::EINVAL
            );
            assert!(last_error().contains("changes[0]"), "{}", last_error());
            lbnet_rtexport_free(ex);
        }
    }

    #[test]
    fn export_through_the_c_abi() {
        let name = format!("lbrt-ffi-{}", std::process::id());
        assert!(Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap()
            .success());
        let _g = Ns(name.clone());
        ip(
            &name,
            &[
                "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
            ],
        );
        ip(&name, &["addr", "add", "10.1.0.1/24", "dev", "veth0"]);
        ip(&name, &["link", "set", "veth0", "up"]);
        ip(&name, &["link", "set", "veth1", "up"]);
        unsafe {
            let path = CString::new(format!("/var/run/netns/{name}")).unwrap();
            let comms = [(65000u32 << 16) | 1];
            let mut c1 = rule(c"c1", 200);
            c1.communities = comms.as_ptr();
            c1.n_communities = 1;
            c1.metric = 30;
            let rules = [rule(c"all", 100), c1];
            let mut o = opts();
            o.netns_path = path.as_ptr();
            o.flags = LBNET_RTEXPORT_NO_DAMPENING;
            o.rules = rules.as_ptr();
            o.n_rules = 2;
            let mut ex = std::ptr::null_mut();
            // Bad arguments: NULL rules with a count.
            o.rules = std::ptr::null();
            assert_eq!(lbnet_rtexport_open(&o, &mut ex), -libc::EINVAL);
            o.rules = rules.as_ptr();
            assert_eq!(lbnet_rtexport_open(&o, &mut ex), 0);
            assert!(!ex.is_null());
            let (p, nh) = (pfx("198.51.100.0/24"), addr("10.1.0.2"));
            let rc = lbnet_rtexport_update(ex, &p, &nh, comms.as_ptr(), 1, std::ptr::null(), 0);
            assert_eq!(rc, 0);
            let t100 = ip(&name, &["route", "show", "table", "100"]);
            assert!(t100.contains("198.51.100.0/24 via 10.1.0.2"), "{t100}");
            let t200 = ip(&name, &["route", "show", "table", "200"]);
            assert!(t200.contains("metric 30"), "{t200}");
            // Host bits set, a next hop without a family: -EINVAL with a message.
            let mut hb = p;
            hb.addr.addr[3] = 1;
            let rc = lbnet_rtexport_update(ex, &hb, &nh, std::ptr::null(), 0, std::ptr::null(), 0);
            assert_eq!(rc, -libc::EINVAL);
            assert!(last_error().contains("host bits"), "{}", last_error());
            let none = lbnet_addr::default();
            let rc = lbnet_rtexport_update(ex, &p, &none, std::ptr::null(), 0, std::ptr::null(), 0);
            assert_eq!(rc, -libc::EINVAL);
            assert_eq!(
                lbnet_rtexport_update(
                    ex,
                    std::ptr::null(),
                    &nh,
                    std::ptr::null(),
                    0,
                    std::ptr::null(),
                    0
                ),
                -libc::EINVAL
            );
            let mut st = lbnet_rtexport_stats::default();
            assert_eq!(lbnet_rtexport_get_stats(ex, c"c1".as_ptr(), &mut st), 0);
            assert_eq!(st.exported, 1);
            assert!(st.last_export_ns > 0);
            assert_eq!(
                lbnet_rtexport_get_stats(ex, c"nope".as_ptr(), &mut st),
                -libc::ENOENT
            );
            let mut list = std::ptr::null_mut();
            assert_eq!(lbnet_rtexport_routes(ex, &mut list), 0);
            let l = &*list;
            assert_eq!(l.len, 2);
            let routes = std::slice::from_raw_parts(l.routes, l.len);
            assert_eq!(CStr::from_ptr(routes[0].rule).to_str().unwrap(), "all");
            assert_eq!(routes[0].prefix, p);
            assert_eq!(routes[0].gateway, nh);
            assert_eq!(routes[1].table, 200);
            lbnet_rtexport_route_list_free(list);
            lbnet_rtexport_route_list_free(std::ptr::null_mut());
            let mut buf = [0 as c_char; 4];
            assert_eq!(
                lbnet_rtexport_last_error(ex, std::ptr::null(), buf.as_mut_ptr(), 4),
                0
            );
            // A batch: one new prefix, the first one withdrawn.
            let changes = [
                change("198.51.102.0/24", Some("10.1.0.2")),
                change("198.51.100.0/24", None),
            ];
            assert_eq!(lbnet_rtexport_apply(ex, changes.as_ptr(), 2), 0);
            let t100 = ip(&name, &["route", "show", "table", "100"]);
            assert!(t100.contains("198.51.102.0/24") && !t100.contains("198.51.100.0/24"));
            assert!(ip(&name, &["route", "show", "table", "200"]).is_empty());
            assert_eq!(lbnet_rtexport_apply(ex, std::ptr::null(), 1), -libc::EINVAL);
            // One bad change: nothing of the call is applied.
            let mut two = [change("198.51.103.0/24", Some("10.1.0.2")), changes[0]];
            two[1].prefix.len = 33;
            assert_eq!(lbnet_rtexport_apply(ex, two.as_ptr(), 2), -libc::EINVAL);
            assert!(last_error().contains("changes[1]"), "{}", last_error());
            assert!(!ip(&name, &["route", "show", "table", "100"]).contains("198.51.103.0"));
            // More changes than one internal batch: all of them go in.
            let many: Vec<lbnet_rtexport_change> = (0..APPLY_BATCH + 10)
                .map(|i| {
                    change(
                        &format!("10.{}.{}.0/24", 100 + i / 256, i % 256),
                        Some("10.1.0.2"),
                    )
                })
                .collect();
            assert_eq!(lbnet_rtexport_apply(ex, many.as_ptr(), many.len()), 0);
            let mut st = lbnet_rtexport_stats::default();
            assert_eq!(lbnet_rtexport_get_stats(ex, c"all".as_ptr(), &mut st), 0);
            // Rule "all": 198.51.100.0 (later withdrawn), 198.51.102.0 and the batch.
            assert_eq!(st.exported as usize, 2 + many.len());
            assert_eq!(lbnet_rtexport_withdraw(ex, &pfx("198.51.102.0/24")), 0);
            assert_eq!(lbnet_rtexport_withdraw(ex, std::ptr::null()), -libc::EINVAL);
            // Reload: the community rule goes; end of RIB finds nothing left from start.
            assert_eq!(lbnet_rtexport_reload(ex, rules.as_ptr(), 1), 0);
            let mut n = 7usize;
            assert_eq!(lbnet_rtexport_end_of_rib(ex, &mut n), 0);
            assert_eq!(n, 0);
            assert_eq!(lbnet_rtexport_flush(ex, &mut n), 0);
            assert_eq!(n, many.len());
            assert!(ip(&name, &["route", "show", "table", "100"]).is_empty());
            lbnet_rtexport_free(ex);
            lbnet_rtexport_free(std::ptr::null_mut());
        }
    }
}
