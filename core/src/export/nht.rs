//! Next-hop tracking, as zebra's nexthop tracking does it: every gateway the engine validated
//! is kept with the length of the kernel route that resolved it, so a route change by another
//! protocol re-checks only the exported routes whose gateway that change can affect, not every
//! route.
//!
//! The kernel resolves a gateway by longest prefix match. A route to `D` can change the
//! resolution of gateway `g` only if `D` contains `g` and is at least as specific as the route
//! that resolved `g` (the same route changed or deleted, or a more specific one added); a less
//! specific or a disjoint route cannot. An unresolved gateway (no route, or one the kernel
//! answered with a non-unicast route) is affected by any route that contains it. The table of
//! the change is not compared: policy routing rules may send a lookup to any table, so this
//! errs on the side of a re-check. Link, address and nexthop-object changes, and lost
//! notifications, still re-check everything (the kernel removes IPv4 routes whose device goes
//! down without telling).

use std::collections::{HashMap, HashSet};

use super::store::{Gw, Paths, Prefixes, NO_PATH};
use crate::route::prefix::Prefix;

/// What a validation of one gateway in one routing context found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Resolution {
    /// Whether the gateway is usable (reached through a connected route not of ours).
    pub(super) ok: bool,
    /// Prefix length of the kernel route that resolved it (`RTM_F_FIB_MATCH`); 0 when unresolved
    /// or unknown, so that any route containing the gateway re-checks it.
    pub(super) len: u8,
}

/// The routing context a gateway is validated in: the VRF device (None: no VRF) and the table
/// the answer must come from (0 outside a VRF; in a VRF two rules with different tables,
/// `Target::VrfTable`, differ in the answer).
pub(super) type Ctx = (Option<u32>, u32);

/// Validated gateways by (gateway, context), with their resolving route's length.
#[derive(Debug, Default)]
pub(super) struct NhTrack {
    map: HashMap<(Gw, Ctx), Resolution>,
    /// The last entry looked up: a batch of prefixes mostly shares one gateway.
    last: Option<((Gw, Ctx), Resolution)>,
}

impl NhTrack {
    /// The recorded resolution of `gw` in context `ctx`, if any.
    pub(super) fn get(&mut self, gw: Gw, ctx: Ctx) -> Option<Resolution> {
        if let Some((k, r)) = self.last {
            if k == (gw, ctx) {
                return Some(r);
            }
        }
        let r = self.map.get(&(gw, ctx)).copied()?;
        self.last = Some(((gw, ctx), r));
        Some(r)
    }

    /// Records a validation.
    pub(super) fn insert(&mut self, gw: Gw, ctx: Ctx, r: Resolution) {
        self.map.insert((gw, ctx), r);
        self.last = Some(((gw, ctx), r));
    }

    /// Forgets everything (a full re-validation follows).
    pub(super) fn clear(&mut self) {
        self.map.clear();
        self.last = None;
    }

    /// Number of tracked (gateway, context) pairs.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// The gateways whose resolution a change of a kernel route to any of `dsts` can affect;
    /// they are forgotten, so the re-check that follows asks the kernel again.
    pub(super) fn affected(&mut self, dsts: &[Prefix]) -> HashSet<Gw> {
        let mut out = HashSet::new();
        if dsts.is_empty() || self.map.is_empty() {
            return out;
        }
        self.map.retain(|(gw, _), r| {
            let hit = dsts
                .iter()
                .any(|d| d.len() >= r.len && contains(d, &gw.ip()));
            if hit {
                out.insert(*gw);
            }
            !hit
        });
        if !out.is_empty() {
            self.last = None;
        }
        out
    }
}

/// Whether prefix `d` contains address `a` (same family).
pub(super) fn contains(d: &Prefix, a: &std::net::IpAddr) -> bool {
    if d.is_ipv6() != a.is_ipv6() {
        return false;
    }
    let (o, len) = (d.octets(), d.len() as usize);
    let b = match a {
        std::net::IpAddr::V4(a) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&a.octets());
            b
        }
        std::net::IpAddr::V6(a) => a.octets(),
    };
    let full = len / 8;
    if o[..full] != b[..full] {
        return false;
    }
    let rest = len % 8;
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        o[full] & mask == b[full] & mask
    }
}

/// The prefixes whose best path has one of `gws` as its gateway: the routes that depend on
/// those gateways' resolution. No kernel call; a walk of the prefix table only when some
/// gateway is affected.
pub(super) fn dependents(prefixes: &Prefixes, paths: &Paths, gws: &HashSet<Gw>) -> Vec<Prefix> {
    if gws.is_empty() {
        return Vec::new();
    }
    let ids = paths.ids_with_gw(|g| gws.contains(g));
    if ids.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    prefixes.for_each_path(|p, id| {
        if id != NO_PATH && ids.contains(&id) {
            out.push(*p);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pfx(s: &str) -> Prefix {
        let (a, l) = s.split_once('/').unwrap();
        Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap()
    }

    fn gw(s: &str) -> Gw {
        Gw::new(s.parse().unwrap())
    }

    #[test]
    fn contains_by_prefix() {
        assert!(contains(&pfx("10.1.0.0/24"), &"10.1.0.9".parse().unwrap()));
        assert!(contains(&pfx("10.1.0.0/23"), &"10.1.1.9".parse().unwrap()));
        assert!(!contains(&pfx("10.1.0.0/24"), &"10.1.1.9".parse().unwrap()));
        assert!(contains(&pfx("0.0.0.0/0"), &"192.0.2.1".parse().unwrap()));
        assert!(!contains(&pfx("::/0"), &"192.0.2.1".parse().unwrap()));
        assert!(contains(
            &pfx("2001:db8:1::/64"),
            &"2001:db8:1::2".parse().unwrap()
        ));
        assert!(!contains(
            &pfx("2001:db8:2::/64"),
            &"2001:db8:1::2".parse().unwrap()
        ));
    }

    #[test]
    fn affected_by_resolving_and_more_specific_routes_only() {
        let mut t = NhTrack::default();
        // 10.1.0.2 resolved by the connected 10.1.0.0/24; 10.2.0.2 unresolved; 2001:db8:1::2 by
        // a /64; 10.1.0.3 in a VRF context by the /24.
        t.insert(gw("10.1.0.2"), (None, 0), Resolution { ok: true, len: 24 });
        t.insert(gw("10.2.0.2"), (None, 0), Resolution { ok: false, len: 0 });
        t.insert(
            gw("2001:db8:1::2"),
            (None, 0),
            Resolution { ok: true, len: 64 },
        );
        t.insert(
            gw("10.1.0.3"),
            (Some(7), 0),
            Resolution { ok: true, len: 24 },
        );
        // Disjoint routes, and a less specific one containing a resolved gateway: nothing.
        let none = t.affected(&[
            pfx("192.0.2.0/24"),
            pfx("10.1.0.0/16"),
            pfx("2001:db8:2::/64"),
        ]);
        assert!(none.is_empty(), "{none:?}");
        assert_eq!(t.len(), 4);
        // The default route: only the unresolved gateway.
        assert_eq!(
            t.affected(&[pfx("0.0.0.0/0")]),
            HashSet::from([gw("10.2.0.2")])
        );
        assert_eq!(t.len(), 3);
        assert!(t.get(gw("10.2.0.2"), (None, 0)).is_none());
        // The resolving /24 itself: both gateways it resolves, in every context.
        assert_eq!(
            t.affected(&[pfx("10.1.0.0/24")]),
            HashSet::from([gw("10.1.0.2"), gw("10.1.0.3")])
        );
        // A more specific route to one IPv6 gateway.
        assert_eq!(
            t.affected(&[pfx("2001:db8:1::2/128")]),
            HashSet::from([gw("2001:db8:1::2")])
        );
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn dependents_are_exactly_the_prefixes_of_the_gateway() {
        let (mut prefixes, mut paths) = (Prefixes::default(), Paths::default());
        prefixes.set_rules(1);
        let mut on_a = Vec::new();
        for i in 0..300u32 {
            let p = pfx(&format!("20.{}.{}.0/24", i / 256, i % 256));
            // Three gateways, two community sets each: six paths.
            let g = ["10.1.0.2", "10.1.0.3", "10.2.0.2"][(i % 3) as usize];
            let comms = if i % 2 == 0 {
                vec![]
            } else {
                vec!["65000:1".parse().unwrap()]
            };
            let id = paths.intern(gw(g), &comms, &[]);
            prefixes.set_path(&p, id, |_| false);
            if g == "10.1.0.2" {
                on_a.push(p);
            }
        }
        // A withdrawn prefix (no path) that still has a kernel route is not a dependent.
        let gone = pfx("21.0.0.0/24");
        prefixes.add_export(&gone, 0, 1);
        let mut got = dependents(&prefixes, &paths, &HashSet::from([gw("10.1.0.2")]));
        got.sort();
        on_a.sort();
        assert_eq!(got, on_a);
        assert_eq!(got.len(), 100);
        assert!(dependents(&prefixes, &paths, &HashSet::from([gw("10.9.0.9")])).is_empty());
        assert!(dependents(&prefixes, &paths, &HashSet::new()).is_empty());
    }
}
