//! The export engine's per-prefix state, kept small: a full table is a million prefixes.
//!
//! * [`Paths`]: path attributes (gateway and communities) interned. A table's paths repeat
//!   (a few peers, a few community sets), so each distinct one is stored once, reference
//!   counted, and a prefix refers to it by a `u32` id.
//! * [`Prefixes`]: one [`Slot`] per prefix with the prefix's path and its export, IPv4 and
//!   IPv6 prefixes in separate tables with compact keys. A slot holds one (rule, export time)
//!   inline, the common case of one matching rule; a prefix exported by more rules keeps the
//!   others in a side table. An exported route's table and metric are its rule's (a reload
//!   re-evaluates every prefix), so they are not stored.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::community::{Community, LargeCommunity};
use crate::route::prefix::Prefix;

/// [`Slot::path`] of a prefix without a best path.
pub(super) const NO_PATH: u32 = u32::MAX;
/// No rule (rule indexes are below `u16::MAX`, see `Rule::check_all`).
const NO_RULE: u16 = u16::MAX;
/// End of a hash chain in [`Paths`].
const NIL: u32 = u32::MAX;

/// Compact address: 16 bytes plus a family flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Gw {
    b: [u8; 16],
    v6: bool,
}

impl Gw {
    pub(super) fn new(a: IpAddr) -> Gw {
        match a {
            IpAddr::V4(a) => {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&a.octets());
                Gw { b, v6: false }
            }
            IpAddr::V6(a) => Gw {
                b: a.octets(),
                v6: true,
            },
        }
    }

    pub(super) fn ip(&self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(self.b))
        } else {
            IpAddr::V4(Ipv4Addr::new(self.b[0], self.b[1], self.b[2], self.b[3]))
        }
    }
}

/// One distinct path: what the prefixes referring to it share.
#[derive(Debug)]
pub(super) struct Attrs {
    /// The BGP next hop.
    pub(super) gw: Gw,
    /// Further next hops of equal-cost paths (BGP multipath), sorted, without `gw`: the route
    /// is a multipath route over `gw` and these.
    pub(super) more: Box<[Gw]>,
    /// Output device of the next hops (a link-local IPv6 next hop's peer interface), 0: none.
    pub(super) oif: u32,
    /// Standard communities.
    pub(super) communities: Box<[Community]>,
    /// Large communities.
    pub(super) large: Box<[LargeCommunity]>,
    refs: u32,
    hash: u64,
    /// Next id with the same hash.
    next: u32,
}

/// Interned paths, by id; ids of released paths are reused.
#[derive(Debug)]
pub(super) struct Paths {
    attrs: Vec<Attrs>,
    free: Vec<u32>,
    /// Hash of (gateway, communities) -> first id of the chain of paths with that hash.
    heads: HashMap<u64, u32>,
    hasher: RandomState,
    /// The last id interned: a BGP UPDATE carries many prefixes with one path.
    last: u32,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths {
            attrs: Vec::new(),
            free: Vec::new(),
            heads: HashMap::new(),
            hasher: RandomState::new(),
            last: NIL,
        }
    }
}

impl Paths {
    /// The id of this path, with one more reference (a new id if no prefix has it yet).
    #[cfg(test)]
    pub(super) fn intern(&mut self, gw: Gw, comms: &[Community], large: &[LargeCommunity]) -> u32 {
        self.intern_hops(gw, &[], 0, comms, large)
    }

    /// [`Paths::intern`] for a path with further equal-cost next hops `more` (sorted, without
    /// `gw`) and an output device `oif` (0: none).
    pub(super) fn intern_hops(
        &mut self,
        gw: Gw,
        more: &[Gw],
        oif: u32,
        comms: &[Community],
        large: &[LargeCommunity],
    ) -> u32 {
        if let Some(a) = self.attrs.get_mut(self.last as usize) {
            if a.refs > 0
                && a.gw == gw
                && a.oif == oif
                && *a.more == *more
                && *a.communities == *comms
                && *a.large == *large
            {
                a.refs += 1;
                return self.last;
            }
        }
        let id = self.lookup(gw, more, oif, comms, large);
        self.last = id;
        id
    }

    fn lookup(
        &mut self,
        gw: Gw,
        more: &[Gw],
        oif: u32,
        comms: &[Community],
        large: &[LargeCommunity],
    ) -> u32 {
        let hash = self.hasher.hash_one((gw, more, oif, comms, large));
        let head = self.heads.get(&hash).copied().unwrap_or(NIL);
        let mut id = head;
        while id != NIL {
            let a = &mut self.attrs[id as usize];
            if a.gw == gw
                && a.oif == oif
                && *a.more == *more
                && *a.communities == *comms
                && *a.large == *large
            {
                a.refs += 1;
                return id;
            }
            id = a.next;
        }
        let a = Attrs {
            gw,
            more: more.into(),
            oif,
            communities: comms.into(),
            large: large.into(),
            refs: 1,
            hash,
            next: head,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.attrs[id as usize] = a;
                id
            }
            None => {
                self.attrs.push(a);
                (self.attrs.len() - 1) as u32
            }
        };
        self.heads.insert(hash, id);
        id
    }

    /// Drops one reference to `id`; the path goes with its last one.
    pub(super) fn release(&mut self, id: u32) {
        let a = &mut self.attrs[id as usize];
        debug_assert!(a.refs > 0);
        a.refs -= 1;
        if a.refs > 0 {
            return;
        }
        let (hash, next) = (a.hash, a.next);
        a.communities = Box::default();
        a.large = Box::default();
        a.more = Box::default();
        let head = self.heads[&hash];
        if head == id {
            if next == NIL {
                self.heads.remove(&hash);
            } else {
                self.heads.insert(hash, next);
            }
        } else {
            let mut prev = head;
            while self.attrs[prev as usize].next != id {
                prev = self.attrs[prev as usize].next;
            }
            self.attrs[prev as usize].next = next;
        }
        self.free.push(id);
    }

    /// The path of `id` (a live one).
    pub(super) fn get(&self, id: u32) -> &Attrs {
        &self.attrs[id as usize]
    }

    /// The ids of the live paths whose gateway satisfies `f`.
    pub(super) fn ids_with_gw(&self, mut f: impl FnMut(&Gw) -> bool) -> HashSet<u32> {
        let free: HashSet<u32> = self.free.iter().copied().collect();
        (0..self.attrs.len() as u32)
            .filter(|id| !free.contains(id) && f(&self.attrs[*id as usize].gw))
            .collect()
    }

    /// Number of distinct paths held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.attrs.len() - self.free.len()
    }

    /// Forgets every path.
    pub(super) fn clear(&mut self) {
        *self = Paths::default();
    }
}

/// What the engine holds for one prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slot {
    /// Interned path id, [`NO_PATH`] after a withdrawal (while routes remain to remove).
    pub(super) path: u32,
    /// When `rule`'s route was installed, Unix seconds.
    since: u32,
    /// A rule whose route for this prefix is in the kernel, or [`NO_RULE`].
    rule: u16,
    /// The path's gateway changed since the prefix was last synced with the kernel.
    pub(super) gw_changed: bool,
    /// Other rules have exports of this prefix too ([`Prefixes`]' side map).
    more: bool,
}

const EMPTY: Slot = Slot {
    path: NO_PATH,
    since: 0,
    rule: NO_RULE,
    gw_changed: false,
    more: false,
};

impl Slot {
    fn is_empty(&self) -> bool {
        self.path == NO_PATH && self.rule == NO_RULE
    }
}

/// Key of an IPv4 prefix (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct K4 {
    addr: u32,
    len: u8,
}

/// Key of an IPv6 prefix (17 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct K6 {
    addr: [u8; 16],
    len: u8,
}

fn k4(p: &Prefix) -> K4 {
    let o = p.octets();
    K4 {
        addr: u32::from_be_bytes([o[0], o[1], o[2], o[3]]),
        len: p.len(),
    }
}

fn k6(p: &Prefix) -> K6 {
    K6 {
        addr: p.octets(),
        len: p.len(),
    }
}

fn p4(k: &K4) -> Prefix {
    let mut o = [0u8; 16];
    o[..4].copy_from_slice(&k.addr.to_be_bytes());
    Prefix::from_parts(o, false, k.len)
}

fn p6(k: &K6) -> Prefix {
    Prefix::from_parts(k.addr, true, k.len)
}

/// Hashing of the prefix tables: a folded 64x64->128-bit multiply per word with a random seed
/// per table (as foldhash does), instead of SipHash. A prefix key is one or three words; the
/// engine looks up each prefix of a batch two or three times, and SipHash was most of that.
/// The seed is random, so which prefixes collide is not predictable from outside.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seeded(u64);

impl Default for Seeded {
    fn default() -> Seeded {
        // RandomState's keys are random per instance; one hash of a constant is as good a seed.
        Seeded(RandomState::new().hash_one(0x5eed_u64) | 1)
    }
}

const FOLD: u64 = 0x9e37_79b9_7f4a_7c15;

fn folded(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

/// The hasher of [`Seeded`].
pub(super) struct FoldHasher(u64);

impl std::hash::Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, x: u8) {
        self.write_u64(x as u64 | 0x100);
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64);
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = folded(self.0 ^ x, FOLD);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    fn finish(&self) -> u64 {
        folded(self.0, FOLD ^ 0xa076_1d64_78bd_642f)
    }
}

impl BuildHasher for Seeded {
    type Hasher = FoldHasher;
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(self.0)
    }
}

/// Per-prefix state: path and exports. An export is (rule index, install time in Unix seconds).
#[derive(Debug, Default)]
pub(super) struct Prefixes {
    v4: HashMap<K4, Slot, Seeded>,
    v6: HashMap<K6, Slot, Seeded>,
    /// Exports beyond a slot's inline one (a prefix matched by several rules), by (prefix,
    /// rule); a prefix is here only while its slot has an inline export and `more` set.
    more: HashMap<(Prefix, u16), u32>,
    /// Number of rules (the side map is looked up for each).
    rules: u16,
    exports: usize,
}

impl Prefixes {
    /// Sets the number of rules; exports name rules below it (a reload takes every export out
    /// before the rules change).
    pub(super) fn set_rules(&mut self, n: usize) {
        debug_assert!(n < NO_RULE as usize);
        self.rules = n as u16;
    }

    /// The slot of `p`, if the engine holds anything for it.
    pub(super) fn get(&self, p: &Prefix) -> Option<&Slot> {
        if p.is_ipv6() {
            self.v6.get(&k6(p))
        } else {
            self.v4.get(&k4(p))
        }
    }

    fn get_mut(&mut self, p: &Prefix) -> Option<&mut Slot> {
        if p.is_ipv6() {
            self.v6.get_mut(&k6(p))
        } else {
            self.v4.get_mut(&k4(p))
        }
    }

    fn slot(&mut self, p: &Prefix) -> &mut Slot {
        if p.is_ipv6() {
            self.v6.entry(k6(p)).or_insert(EMPTY)
        } else {
            self.v4.entry(k4(p)).or_insert(EMPTY)
        }
    }

    /// Drops the slot of `p` if it holds nothing.
    fn tidy(&mut self, p: &Prefix) {
        if self.get(p).is_some_and(Slot::is_empty) {
            if p.is_ipv6() {
                self.v6.remove(&k6(p));
            } else {
                self.v4.remove(&k4(p));
            }
        }
    }

    /// Sets the path of `p` (interned id); returns the previous one ([`NO_PATH`] if none).
    /// `gw_changed(old)` says whether the prefix must be flagged (see [`Slot::gw_changed`]).
    pub(super) fn set_path(
        &mut self,
        p: &Prefix,
        id: u32,
        gw_changed: impl FnOnce(u32) -> bool,
    ) -> u32 {
        let s = self.slot(p);
        let old = std::mem::replace(&mut s.path, id);
        if gw_changed(old) {
            s.gw_changed = true;
        }
        old
    }

    /// What a sync of `p` starts from, taken in one look-up: its path ([`NO_PATH`] if none),
    /// whether its gateway changed (the mark is cleared) and its exports (removed).
    #[cfg(test)]
    pub(super) fn take_for_sync(&mut self, p: &Prefix) -> (u32, bool, Vec<(u16, u32)>) {
        let mut out = Vec::new();
        let (path, changed) = self.take_for_sync_into(p, &mut out);
        (path, changed, out)
    }

    /// [`Prefixes::take_for_sync`] into `out` (cleared first), so a sync of many prefixes
    /// reuses one buffer.
    pub(super) fn take_for_sync_into(
        &mut self,
        p: &Prefix,
        out: &mut Vec<(u16, u32)>,
    ) -> (u32, bool) {
        out.clear();
        let Some(s) = self.get_mut(p) else {
            return (NO_PATH, false);
        };
        let (path, changed) = (s.path, std::mem::take(&mut s.gw_changed));
        if s.rule == NO_RULE {
            return (path, changed);
        }
        out.push((std::mem::replace(&mut s.rule, NO_RULE), s.since));
        if std::mem::take(&mut s.more) {
            for r in 0..self.rules {
                if let Some(t) = self.more.remove(&(*p, r)) {
                    out.push((r, t));
                }
            }
        }
        self.exports -= out.len();
        if path == NO_PATH {
            self.tidy(p);
        }
        (path, changed)
    }

    /// Removes the path of `p`; returns it ([`NO_PATH`] if none). The exports stay until the
    /// prefix is synced.
    pub(super) fn remove_path(&mut self, p: &Prefix) -> u32 {
        let old = match self.get_mut(p) {
            Some(s) => std::mem::replace(&mut s.path, NO_PATH),
            None => return NO_PATH,
        };
        self.tidy(p);
        old
    }

    /// Records that `rule` has `p`'s route in the kernel since `since`.
    pub(super) fn add_export(&mut self, p: &Prefix, rule: u16, since: u32) {
        debug_assert!(rule != NO_RULE);
        let s = self.slot(p);
        if s.rule == NO_RULE || s.rule == rule {
            let new = s.rule == NO_RULE;
            s.rule = rule;
            s.since = since;
            if new {
                self.exports += 1;
            }
            return;
        }
        s.more = true;
        if self.more.insert((*p, rule), since).is_none() {
            self.exports += 1;
        }
    }

    /// The exports of `p`: (rule, since).
    pub(super) fn exports_of(&self, p: &Prefix) -> impl Iterator<Item = (u16, u32)> + '_ {
        let p = *p;
        let s = self.get(&p).filter(|s| s.rule != NO_RULE);
        let inline = s.map(|s| (s.rule, s.since));
        let others = if s.is_some_and(|s| s.more) {
            self.rules
        } else {
            0
        };
        inline
            .into_iter()
            .chain((0..others).filter_map(move |r| self.more.get(&(p, r)).map(|t| (r, *t))))
    }

    /// Keeps the exports for which `keep(prefix, rule, since)` holds.
    pub(super) fn retain_exports(&mut self, mut keep: impl FnMut(&Prefix, u16, u32) -> bool) {
        let mut removed = 0;
        let mut inline = |p: &Prefix, s: &mut Slot| {
            if s.rule != NO_RULE && !keep(p, s.rule, s.since) {
                s.rule = NO_RULE;
                removed += 1;
            }
        };
        for (k, s) in self.v4.iter_mut() {
            inline(&p4(k), s);
        }
        for (k, s) in self.v6.iter_mut() {
            inline(&p6(k), s);
        }
        if !self.more.is_empty() {
            self.more.retain(|(p, r), t| {
                let k = keep(p, *r, *t);
                if !k {
                    removed += 1;
                }
                k
            });
            // A slot that lost its inline export takes its lowest other rule's inline.
            let mut promote: HashMap<Prefix, (u16, u32)> = HashMap::new();
            for (&(p, r), &t) in &self.more {
                if self.get(&p).is_some_and(|s| s.rule == NO_RULE) {
                    let e = promote.entry(p).or_insert((r, t));
                    if r < e.0 {
                        *e = (r, t);
                    }
                }
            }
            for (p, (r, t)) in promote {
                self.more.remove(&(p, r));
                let s = self.slot(&p);
                s.rule = r;
                s.since = t;
            }
            // `more` marks exactly the slots with side entries left.
            self.v4.values_mut().for_each(|s| s.more = false);
            self.v6.values_mut().for_each(|s| s.more = false);
            let keys: Vec<Prefix> = self.more.keys().map(|(p, _)| *p).collect();
            for p in keys {
                self.slot(&p).more = true;
            }
        } else {
            self.v4.values_mut().for_each(|s| s.more = false);
            self.v6.values_mut().for_each(|s| s.more = false);
        }
        self.v4.retain(|_, s| !s.is_empty());
        self.v6.retain(|_, s| !s.is_empty());
        self.exports -= removed;
    }

    /// Calls `f(prefix, rule, since)` for every export.
    pub(super) fn for_each_export(&self, mut f: impl FnMut(&Prefix, u16, u32)) {
        for (k, s) in &self.v4 {
            if s.rule != NO_RULE {
                f(&p4(k), s.rule, s.since);
            }
        }
        for (k, s) in &self.v6 {
            if s.rule != NO_RULE {
                f(&p6(k), s.rule, s.since);
            }
        }
        for (&(p, r), &t) in &self.more {
            f(&p, r, t);
        }
    }

    /// Calls `f(prefix, path id)` for every prefix held ([`NO_PATH`] for one without a path).
    pub(super) fn for_each_path(&self, mut f: impl FnMut(&Prefix, u32)) {
        for (k, s) in &self.v4 {
            f(&p4(k), s.path);
        }
        for (k, s) in &self.v6 {
            f(&p6(k), s.path);
        }
    }

    /// Removes every export, calling `f(prefix, rule, since)` for each.
    pub(super) fn drain_exports(&mut self, mut f: impl FnMut(&Prefix, u16, u32)) {
        self.retain_exports(|p, r, t| {
            f(p, r, t);
            false
        });
    }

    /// Every prefix with a path or an export.
    pub(super) fn prefixes(&self) -> Vec<Prefix> {
        self.v4
            .keys()
            .map(p4)
            .chain(self.v6.keys().map(p6))
            .collect()
    }

    /// Number of exports.
    pub(super) fn exports_len(&self) -> usize {
        self.exports
    }

    /// Forgets everything (the number of rules stays).
    pub(super) fn clear(&mut self) {
        *self = Prefixes {
            rules: self.rules,
            ..Prefixes::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gw(s: &str) -> Gw {
        Gw::new(s.parse().unwrap())
    }

    #[test]
    fn paths_are_shared_and_released() {
        let mut ps = Paths::default();
        let c = [Community::new(65000, 1)];
        let a = ps.intern(gw("10.0.0.1"), &c, &[]);
        let b = ps.intern(gw("10.0.0.1"), &c, &[]);
        assert_eq!(a, b);
        let d = ps.intern(gw("10.0.0.1"), &[], &[]);
        let e = ps.intern(gw("2001:db8::1"), &c, &[]);
        assert!(d != a && e != a && e != d);
        assert_eq!(ps.len(), 3);
        assert_eq!(&*ps.get(a).communities, &c);
        assert_eq!(ps.get(e).gw.ip(), "2001:db8::1".parse::<IpAddr>().unwrap());
        ps.release(a);
        assert_eq!(ps.len(), 3);
        ps.release(a);
        assert_eq!(ps.len(), 2);
        // The freed id is reused, the others still found.
        let f = ps.intern(gw("10.0.0.9"), &[], &[]);
        assert_eq!(f, a);
        assert_eq!(ps.intern(gw("10.0.0.1"), &[], &[]), d);
        assert_eq!(ps.intern(gw("2001:db8::1"), &c, &[]), e);
    }

    #[test]
    fn multipath_sets_and_devices_are_distinct_paths() {
        let mut ps = Paths::default();
        let (a, b) = (gw("10.0.0.1"), gw("10.0.0.2"));
        let single = ps.intern_hops(a, &[], 0, &[], &[]);
        let two = ps.intern_hops(a, &[b], 0, &[], &[]);
        let dev = ps.intern_hops(a, &[], 3, &[], &[]);
        assert!(single != two && two != dev && single != dev);
        assert_eq!(ps.intern_hops(a, &[b], 0, &[], &[]), two);
        assert_eq!(&*ps.get(two).more, &[b]);
        assert_eq!(ps.get(dev).oif, 3);
        ps.release(two);
        ps.release(two);
        assert_eq!(ps.len(), 2);
    }

    #[test]
    fn chains_of_equal_hashes() {
        // Force collisions: every path in one chain, removed from its head, middle and tail.
        let mut ps = Paths::default();
        let ids: Vec<u32> = (1..=4u8)
            .map(|i| {
                let g = gw(&format!("10.0.0.{i}"));
                let id = ps.attrs.len() as u32;
                ps.attrs.push(Attrs {
                    gw: g,
                    more: Box::default(),
                    oif: 0,
                    communities: Box::default(),
                    large: Box::default(),
                    refs: 1,
                    hash: 7,
                    next: ps.heads.get(&7).copied().unwrap_or(NIL),
                });
                ps.heads.insert(7, id);
                id
            })
            .collect();
        ps.release(ids[2]);
        ps.release(ids[3]);
        ps.release(ids[0]);
        assert_eq!(ps.heads[&7], ids[1]);
        assert_eq!(ps.attrs[ids[1] as usize].next, NIL);
        ps.release(ids[1]);
        assert!(ps.heads.is_empty());
        assert_eq!(ps.len(), 0);
    }

    #[test]
    fn slots_hold_paths_and_exports() {
        let mut s = Prefixes::default();
        s.set_rules(6);
        let p: Prefix = "10.1.0.0/16".parse().unwrap();
        let q: Prefix = "2001:db8::/32".parse().unwrap();
        let r: Prefix = "10.1.0.0/24".parse().unwrap();
        assert_eq!(s.set_path(&p, 3, |_| false), NO_PATH);
        assert_eq!(s.set_path(&p, 4, |old| old == 3), 3);
        s.add_export(&p, 0, 100);
        s.add_export(&p, 2, 101);
        s.add_export(&p, 1, 102);
        s.add_export(&p, 2, 103);
        s.add_export(&q, 5, 104);
        assert_eq!(s.exports_len(), 4);
        let has = |s: &Prefixes, p: &Prefix, rule: u16| s.exports_of(p).any(|(r, _)| r == rule);
        assert!(has(&s, &p, 2) && !has(&s, &r, 0) && has(&s, &q, 5));
        let mut all = Vec::new();
        s.for_each_export(|p, r, t| all.push((*p, r, t)));
        all.sort();
        assert_eq!(
            all,
            vec![(p, 0, 100), (p, 1, 102), (p, 2, 103), (q, 5, 104)]
        );
        // Dropping the inline export moves another inline.
        s.retain_exports(|_, r, _| r != 0);
        assert_eq!(s.exports_len(), 3);
        let mut e: Vec<_> = s.exports_of(&p).collect();
        e.sort();
        assert_eq!(e, vec![(1, 102), (2, 103)]);
        // A prefix without a path keeps its slot while it has exports.
        assert_eq!(s.remove_path(&q), NO_PATH);
        assert!(s.get(&q).is_some());
        assert_eq!(s.take_for_sync(&q), (NO_PATH, false, vec![(5, 104)]));
        assert!(s.get(&q).is_none());
        // The gateway mark is read once.
        let mut e = s.take_for_sync(&p);
        e.2.sort();
        assert_eq!(e, (4, true, vec![(1, 102), (2, 103)]));
        assert_eq!(s.exports_len(), 0);
        s.add_export(&p, 1, 102);
        s.add_export(&p, 2, 103);
        assert_eq!(s.remove_path(&p), 4);
        let mut n = 0;
        s.drain_exports(|_, _, _| n += 1);
        assert_eq!((n, s.exports_len()), (2, 0));
        assert!(s.prefixes().is_empty());
    }

    /// Random operations against a plain model: (prefix, rule) -> since, prefix -> path.
    /// The model's exports of `p`, as (rule, time) in order.
    fn exports_of(
        exports: &std::collections::BTreeMap<(Prefix, u16), u32>,
        p: &Prefix,
    ) -> Vec<(u16, u32)> {
        exports
            .iter()
            .filter(|((q, _), _)| q == p)
            .map(|((_, r), t)| (*r, *t))
            .collect()
    }

    #[test]
    fn slots_match_a_plain_model() {
        use std::collections::{BTreeMap, BTreeSet};
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let prefixes: Vec<Prefix> = (0..6u8)
            .map(|i| format!("10.{i}.0.0/16").parse().unwrap())
            .chain((0..6u8).map(|i| format!("2001:db8:{i}::/48").parse().unwrap()))
            .collect();
        const RULES: u16 = 4;
        let mut s = Prefixes::default();
        s.set_rules(RULES as usize);
        let mut exports: BTreeMap<(Prefix, u16), u32> = BTreeMap::new();
        let mut paths: BTreeMap<Prefix, u32> = BTreeMap::new();
        for step in 0..20_000u32 {
            let p = prefixes[rnd(prefixes.len() as u64) as usize];
            let r = rnd(RULES as u64) as u16;
            match rnd(7) {
                0 | 1 => {
                    s.add_export(&p, r, step);
                    exports.insert((p, r), step);
                }
                2 => {
                    let (path, _, mut got) = s.take_for_sync(&p);
                    assert_eq!(path, paths.get(&p).copied().unwrap_or(NO_PATH));
                    got.sort();
                    let want = exports_of(&exports, &p);
                    exports.retain(|(q, _), _| *q != p);
                    assert_eq!(got, want, "step {step}");
                }
                3 => {
                    let id = rnd(100) as u32;
                    let old = s.set_path(&p, id, |_| false);
                    assert_eq!(old, paths.insert(p, id).unwrap_or(NO_PATH));
                }
                4 => {
                    let old = s.remove_path(&p);
                    assert_eq!(old, paths.remove(&p).unwrap_or(NO_PATH));
                }
                5 => {
                    // Drop the exports of one rule, or those of one prefix.
                    let by_rule = rnd(2) == 0;
                    let keep = |q: &Prefix, x: u16| if by_rule { x != r } else { *q != p };
                    s.retain_exports(|q, x, _| keep(q, x));
                    exports.retain(|(q, x), _| keep(q, *x));
                }
                _ => {
                    let mut got: Vec<(u16, u32)> = s.exports_of(&p).collect();
                    got.sort();
                    assert_eq!(got, exports_of(&exports, &p), "step {step}");
                }
            }
            assert_eq!(s.exports_len(), exports.len(), "step {step}");
            if step % 97 == 0 {
                let mut all = BTreeMap::new();
                s.for_each_export(|q, x, t| {
                    assert!(all.insert((*q, x), t).is_none());
                });
                assert_eq!(all, exports, "step {step}");
                let held: BTreeSet<Prefix> = s.prefixes().into_iter().collect();
                let want: BTreeSet<Prefix> = paths
                    .keys()
                    .copied()
                    .chain(exports.keys().map(|(q, _)| *q))
                    .collect();
                assert_eq!(held, want, "step {step}");
            }
        }
    }
}
