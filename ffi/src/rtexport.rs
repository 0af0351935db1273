//! C ABI for lbnet's route export engine (`lbnet_rtexport_*`).
//!
//! ```c
//! lbnet_rtexport_config cfg;
//! lbnet_rtexport_config_default(&cfg);
//! lbnet_rtexport_rule rule = { .name = "all", .table = 100, .metric = 20, .validate_nexthop = 1 };
//! lbnet_rtexport *ex;
//! if (lbnet_rtexport_new(&cfg, &rule, 1, &ex) < 0) puts(lbnet_last_error());
//! lbnet_rtexport_update(ex, "198.51.100.0/24", "10.1.0.2", NULL, 0, NULL, 0);
//! lbnet_rtexport_free(ex);
//! ```

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, CString};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lbnet::netns::NetNs;
use lbnet::route::export::{
    Community, ExportConfig, Exporter, LargeCommunity, Path, Rule, Stats, Target,
};
use lbnet::route::Prefix;
use lbnet::Error;

use crate::common::{arg_mut, arg_opt_str, arg_ref, arg_slice, arg_str, copy_out_str, guard, ARG};

/// An export engine. Create with [`lbnet_rtexport_new`], release with [`lbnet_rtexport_free`].
/// Safe to use from several threads at once.
pub struct lbnet_rtexport {
    inner: Exporter,
}

/// A large community (RFC 8092).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_large_community {
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
    /// Unique name (NUL-terminated UTF-8, at most 255 bytes).
    pub name: *const c_char,
    /// Standard communities (RFC 1997, `asn << 16 | value`); matched with OR together with the
    /// large ones; both empty: every path matches.
    pub communities: *const u32,
    /// Number of `communities`.
    pub n_communities: usize,
    /// Large communities.
    pub large_communities: *const lbnet_large_community,
    /// Number of `large_communities`.
    pub n_large_communities: usize,
    /// VRF device name, or NULL to export into `table`.
    pub vrf: *const c_char,
    /// Table id when `vrf` is NULL.
    pub table: u32,
    /// Metric of exported routes (20 is the usual default).
    pub metric: u32,
    /// Non-zero: export only while the next hop is reachable in the target's routing context.
    pub validate_nexthop: c_int,
}

/// Engine settings; fill with [`lbnet_rtexport_config_default`] first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_rtexport_config {
    /// Network namespace file (e.g. `/var/run/netns/NAME`), or NULL for the caller's.
    pub netns_path: *const c_char,
    /// Route protocol (default 186; FRR's zebra sweeps 186 at start-up).
    pub protocol: u8,
    /// Dampening window in milliseconds (default 100; 0 turns dampening off).
    pub dampening_ms: u32,
    /// Most a flapping prefix waits, in milliseconds (default 1000).
    pub dampening_cap_ms: u32,
    /// Non-zero: delete our protocol's routes in the rules' tables at start.
    pub delete_all_at_start: c_int,
    /// Non-zero: watch links and routes to re-validate next hops (default 1).
    pub watch: c_int,
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

/// One exported route in a [`lbnet_rtexport_route_list`]. Strings are owned by the list.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_rtexport_route {
    /// Rule name.
    pub rule: *const c_char,
    /// Destination, `ADDR/LEN`.
    pub prefix: *const c_char,
    /// Gateway, or "" while a withdrawal waits in the dampening window.
    pub gateway: *const c_char,
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
    _strings: Vec<CString>,
}

const NAME_MAX: usize = 255;

/// Fills `cfg` with the defaults: caller's namespace, protocol 186, 100 ms dampening, 1 s cap,
/// keep routes at start, watch on. Returns 0, or -EINVAL for NULL.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_config_default(cfg: *mut lbnet_rtexport_config) -> c_int {
    guard(|| {
        // SAFETY: checked for NULL; the caller passes writable memory.
        let c = unsafe { arg_mut(cfg, "cfg") }?;
        let d = ExportConfig::default();
        *c = lbnet_rtexport_config {
            netns_path: std::ptr::null(),
            protocol: d.protocol,
            dampening_ms: d.dampening.as_millis() as u32,
            dampening_cap_ms: d.dampening_cap.as_millis() as u32,
            delete_all_at_start: 0,
            watch: 1,
        };
        Ok(())
    })
}

unsafe fn rules_from(rules: *const lbnet_rtexport_rule, n: usize) -> Result<Vec<Rule>, Error> {
    // SAFETY: forwarded from the caller.
    let raw = unsafe { arg_slice(rules, n, "rules") }?;
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        // SAFETY: the rule's pointers come from the caller with their lengths.
        let name = unsafe { arg_str(r.name, "rule name", NAME_MAX) }?;
        let comms = unsafe { arg_slice(r.communities, r.n_communities, "communities") }?;
        let large = unsafe {
            arg_slice(
                r.large_communities,
                r.n_large_communities,
                "large_communities",
            )
        }?;
        let vrf = unsafe { arg_opt_str(r.vrf, "vrf", 15) }?;
        let mut rule = Rule::new(
            name,
            match vrf {
                Some(v) => Target::Vrf(v.to_string()),
                None => Target::Table(r.table),
            },
        );
        rule.communities = comms.iter().map(|c| Community(*c)).collect();
        rule.large_communities = large
            .iter()
            .map(|l| LargeCommunity {
                global: l.global,
                local1: l.local1,
                local2: l.local2,
            })
            .collect();
        rule.metric = r.metric;
        rule.validate_nexthop = r.validate_nexthop != 0;
        out.push(rule);
    }
    Ok(out)
}

/// Starts an engine with `n_rules` rules. On success `*out` holds it (free it with
/// [`lbnet_rtexport_free`]). Errors: -EINVAL (bad argument or rule), -ENOENT/-ENODEV (VRF
/// missing), -EPERM, kernel errnos.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_new(
    cfg: *const lbnet_rtexport_config,
    rules: *const lbnet_rtexport_rule,
    n_rules: usize,
    out: *mut *mut lbnet_rtexport,
) -> c_int {
    guard(|| {
        // SAFETY: pointers checked by the helpers; the caller owns them.
        let c = unsafe { arg_ref(cfg, "cfg") }?;
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let rules = unsafe { rules_from(rules, n_rules) }?;
        let netns = match unsafe { arg_opt_str(c.netns_path, "netns_path", 4096) }? {
            Some(p) => NetNs::Path(p.into()),
            None => NetNs::Current,
        };
        let config = ExportConfig {
            netns,
            protocol: c.protocol,
            dampening: Duration::from_millis(c.dampening_ms as u64),
            dampening_cap: Duration::from_millis(c.dampening_cap_ms as u64),
            delete_all_at_start: c.delete_all_at_start != 0,
            watch: c.watch != 0,
        };
        let ex = Exporter::new(config, &rules)?;
        *out = Box::into_raw(Box::new(lbnet_rtexport { inner: ex }));
        Ok(())
    })
}

/// Stops the engine (exported routes stay in the kernel; call [`lbnet_rtexport_flush`] first
/// to remove them). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_free(ex: *mut lbnet_rtexport) {
    if !ex.is_null() {
        let _ = guard(|| {
            // SAFETY: allocated by lbnet_rtexport_new and not freed before (caller contract).
            drop(unsafe { Box::from_raw(ex) });
            Ok(())
        });
    }
}

fn parse_prefix(s: &str) -> Result<Prefix, Error> {
    s.parse()
}

/// A new best path for `prefix` ("ADDR/LEN") via `nexthop` with its communities.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_update(
    ex: *const lbnet_rtexport,
    prefix: *const c_char,
    nexthop: *const c_char,
    communities: *const u32,
    n_communities: usize,
    large_communities: *const lbnet_large_community,
    n_large_communities: usize,
) -> c_int {
    guard(|| {
        // SAFETY: checked by the helpers.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let p = parse_prefix(unsafe { arg_str(prefix, "prefix", 64) }?)?;
        let nh = unsafe { arg_str(nexthop, "nexthop", 64) }?;
        let nh = nh
            .parse()
            .map_err(|_| Error::invalid(ARG, format!("invalid next hop {nh:?}")))?;
        let comms = unsafe { arg_slice(communities, n_communities, "communities") }?;
        let large =
            unsafe { arg_slice(large_communities, n_large_communities, "large_communities") }?;
        ex.inner.update(
            p,
            &Path {
                nexthop: nh,
                communities: comms.iter().map(|c| Community(*c)).collect(),
                large_communities: large
                    .iter()
                    .map(|l| LargeCommunity {
                        global: l.global,
                        local1: l.local1,
                        local2: l.local2,
                    })
                    .collect(),
            },
        )
    })
}

/// One best-path change for [`lbnet_rtexport_apply`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lbnet_rtexport_change {
    /// Destination, `ADDR/LEN`.
    pub prefix: *const c_char,
    /// Next hop of the new best path, or NULL when the prefix is withdrawn.
    pub nexthop: *const c_char,
    /// Standard communities of the path.
    pub communities: *const u32,
    /// Number of `communities`.
    pub n_communities: usize,
    /// Large communities of the path.
    pub large_communities: *const lbnet_large_community,
    /// Number of `large_communities`.
    pub n_large_communities: usize,
}

/// Applies `n` best-path changes at once: their kernel operations go pipelined, many per
/// `sendmsg`. Every change is applied; the first error is returned (and all are counted in
/// the statistics).
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_apply(
    ex: *const lbnet_rtexport,
    changes: *const lbnet_rtexport_change,
    n: usize,
) -> c_int {
    guard(|| {
        // SAFETY: checked by the helpers; the caller passes `n` changes.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let raw = unsafe { arg_slice(changes, n, "changes") }?;
        let mut parsed: Vec<(Prefix, Option<Path>)> = Vec::with_capacity(raw.len());
        for c in raw {
            let p = parse_prefix(unsafe { arg_str(c.prefix, "prefix", 64) }?)?;
            let path = match unsafe { arg_opt_str(c.nexthop, "nexthop", 64) }? {
                None => None,
                Some(nh) => Some(Path {
                    nexthop: nh
                        .parse()
                        .map_err(|_| Error::invalid(ARG, format!("invalid next hop {nh:?}")))?,
                    communities: unsafe {
                        arg_slice(c.communities, c.n_communities, "communities")
                    }?
                    .iter()
                    .map(|v| Community(*v))
                    .collect(),
                    large_communities: unsafe {
                        arg_slice(
                            c.large_communities,
                            c.n_large_communities,
                            "large_communities",
                        )
                    }?
                    .iter()
                    .map(|l| LargeCommunity {
                        global: l.global,
                        local1: l.local1,
                        local2: l.local2,
                    })
                    .collect(),
                }),
            };
            parsed.push((p, path));
        }
        let refs: Vec<(Prefix, Option<&Path>)> =
            parsed.iter().map(|(p, path)| (*p, path.as_ref())).collect();
        ex.inner.apply(&refs)
    })
}

/// `prefix` has no best path any more: removed from every table.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_withdraw(
    ex: *const lbnet_rtexport,
    prefix: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: checked by the helpers.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let p = parse_prefix(unsafe { arg_str(prefix, "prefix", 64) }?)?;
        ex.inner.withdraw(p)
    })
}

/// End-of-RIB: removes our routes found at start that no path claimed; `*deleted` (may be NULL)
/// gets how many.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_end_of_rib(
    ex: *const lbnet_rtexport,
    deleted: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: checked by the helper; `deleted` is NULL or writable.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let n = ex.inner.end_of_rib()?;
        if let Some(d) = unsafe { deleted.as_mut() } {
            *d = n;
        }
        Ok(())
    })
}

/// Replaces the rules and re-evaluates every route; on error the old rules stay.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_reload(
    ex: *const lbnet_rtexport,
    rules: *const lbnet_rtexport_rule,
    n_rules: usize,
) -> c_int {
    guard(|| {
        // SAFETY: checked by the helpers.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let rules = unsafe { rules_from(rules, n_rules) }?;
        ex.inner.reload(&rules)
    })
}

/// Removes every route we exported and nothing else; `*deleted` (may be NULL) gets how many.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_flush(
    ex: *const lbnet_rtexport,
    deleted: *mut usize,
) -> c_int {
    guard(|| {
        // SAFETY: checked by the helper; `deleted` is NULL or writable.
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

/// Statistics of rule `rule` (NULL: global) into `*out`. -ENOENT for an unknown rule.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_get_stats(
    ex: *const lbnet_rtexport,
    rule: *const c_char,
    out: *mut lbnet_rtexport_stats,
) -> c_int {
    guard(|| {
        // SAFETY: checked by the helpers.
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

/// Copies the last error message of rule `rule` (NULL: global) into `buf` of `cap` bytes ("" if
/// there was none). -ERANGE if it does not fit.
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_last_error(
    ex: *const lbnet_rtexport,
    rule: *const c_char,
    buf: *mut c_char,
    cap: usize,
) -> c_int {
    guard(|| {
        // SAFETY: checked by the helpers.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let s = find_stats(ex, unsafe { arg_opt_str(rule, "rule", NAME_MAX) }?)?;
        unsafe { copy_out_str(s.last_error_message.as_deref().unwrap_or(""), buf, cap) }
    })
}

/// The exported routes into `*out` (free with [`lbnet_rtexport_route_list_free`]).
#[no_mangle]
pub unsafe extern "C" fn lbnet_rtexport_routes(
    ex: *const lbnet_rtexport,
    out: *mut *mut lbnet_rtexport_route_list,
) -> c_int {
    guard(|| {
        // SAFETY: checked by the helpers.
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let out = unsafe { arg_mut(out, "out") }?;
        *out = std::ptr::null_mut();
        let list = ex.inner.exported();
        let mut strings = Vec::with_capacity(list.len() * 3);
        let mut routes = Vec::with_capacity(list.len());
        for r in &list {
            let mut cs = |s: String| {
                let c = CString::new(s).unwrap_or_default();
                let p = c.as_ptr();
                strings.push(c);
                p
            };
            routes.push(lbnet_rtexport_route {
                rule: cs(r.rule.clone()),
                prefix: cs(r.prefix.to_string()),
                gateway: cs(r.gateway.map(|g| g.to_string()).unwrap_or_default()),
                table: r.table,
                metric: r.metric,
                exported_at: r
                    .exported_at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
            });
        }
        let b = Box::new(ListBox {
            list: lbnet_rtexport_route_list {
                routes: routes.as_ptr(),
                len: routes.len(),
            },
            _routes: routes,
            _strings: strings,
        });
        // The list is the first field of ListBox: the pointer to one is the pointer to the other.
        *out = Box::into_raw(b) as *mut lbnet_rtexport_route_list;
        Ok(())
    })
}

/// Frees a list from [`lbnet_rtexport_routes`]. NULL is a no-op.
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
            let mut cfg: lbnet_rtexport_config = std::mem::zeroed();
            assert_eq!(lbnet_rtexport_config_default(&mut cfg), 0);
            assert_eq!(cfg.protocol, 186);
            let path = CString::new(format!("/var/run/netns/{name}")).unwrap();
            cfg.netns_path = path.as_ptr();
            cfg.dampening_ms = 0;
            let comms = [(65000u32 << 16) | 1];
            let rules = [
                lbnet_rtexport_rule {
                    name: c"all".as_ptr(),
                    communities: std::ptr::null(),
                    n_communities: 0,
                    large_communities: std::ptr::null(),
                    n_large_communities: 0,
                    vrf: std::ptr::null(),
                    table: 100,
                    metric: 20,
                    validate_nexthop: 1,
                },
                lbnet_rtexport_rule {
                    name: c"c1".as_ptr(),
                    communities: comms.as_ptr(),
                    n_communities: 1,
                    large_communities: std::ptr::null(),
                    n_large_communities: 0,
                    vrf: std::ptr::null(),
                    table: 200,
                    metric: 30,
                    validate_nexthop: 1,
                },
            ];
            let mut ex = std::ptr::null_mut();
            // Bad arguments: NULL rules with a count, NULL out.
            assert_eq!(
                lbnet_rtexport_new(&cfg, std::ptr::null(), 1, &mut ex),
                -libc::EINVAL
            );
            assert_eq!(
                lbnet_rtexport_new(&cfg, rules.as_ptr(), 2, std::ptr::null_mut()),
                -libc::EINVAL
            );
            assert_eq!(lbnet_rtexport_new(&cfg, rules.as_ptr(), 2, &mut ex), 0);
            assert!(!ex.is_null());
            let rc = lbnet_rtexport_update(
                ex,
                c"198.51.100.0/24".as_ptr(),
                c"10.1.0.2".as_ptr(),
                comms.as_ptr(),
                1,
                std::ptr::null(),
                0,
            );
            assert_eq!(rc, 0);
            let t100 = ip(&name, &["route", "show", "table", "100"]);
            assert!(t100.contains("198.51.100.0/24 via 10.1.0.2"), "{t100}");
            let t200 = ip(&name, &["route", "show", "table", "200"]);
            assert!(t200.contains("metric 30"), "{t200}");
            // Host bits set: -EINVAL with a message.
            let rc = lbnet_rtexport_update(
                ex,
                c"198.51.100.1/24".as_ptr(),
                c"10.1.0.2".as_ptr(),
                std::ptr::null(),
                0,
                std::ptr::null(),
                0,
            );
            assert_eq!(rc, -libc::EINVAL);
            let msg = CStr::from_ptr(crate::common::lbnet_last_error())
                .to_str()
                .unwrap();
            assert!(msg.contains("host bits"), "{msg}");
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
            assert_eq!(
                CStr::from_ptr(routes[0].gateway).to_str().unwrap(),
                "10.1.0.2"
            );
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
                lbnet_rtexport_change {
                    prefix: c"198.51.102.0/24".as_ptr(),
                    nexthop: c"10.1.0.2".as_ptr(),
                    communities: std::ptr::null(),
                    n_communities: 0,
                    large_communities: std::ptr::null(),
                    n_large_communities: 0,
                },
                lbnet_rtexport_change {
                    prefix: c"198.51.100.0/24".as_ptr(),
                    nexthop: std::ptr::null(),
                    communities: std::ptr::null(),
                    n_communities: 0,
                    large_communities: std::ptr::null(),
                    n_large_communities: 0,
                },
            ];
            assert_eq!(lbnet_rtexport_apply(ex, changes.as_ptr(), 2), 0);
            let t100 = ip(&name, &["route", "show", "table", "100"]);
            assert!(t100.contains("198.51.102.0/24") && !t100.contains("198.51.100.0/24"));
            assert!(ip(&name, &["route", "show", "table", "200"]).is_empty());
            assert_eq!(lbnet_rtexport_apply(ex, std::ptr::null(), 1), -libc::EINVAL);
            let mut n = 0usize;
            assert_eq!(lbnet_rtexport_flush(ex, &mut n), 0);
            assert_eq!(n, 1);
            assert!(ip(&name, &["route", "show", "table", "100"]).is_empty());
            lbnet_rtexport_free(ex);
            lbnet_rtexport_free(std::ptr::null_mut());
        }
    }
}
