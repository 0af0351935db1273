//! The set of fields that differ between two states of one link.

use std::fmt;

use super::link::Link;

/// A set of changed link fields (a bit set; combine with `|`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Changes(u32);

impl Changes {
    /// Nothing changed.
    pub const NONE: Changes = Changes(0);
    /// [`Link::name`] (a rename keeps the ifindex).
    pub const NAME: Changes = Changes(1 << 0);
    /// [`Link::kind`].
    pub const KIND: Changes = Changes(1 << 1);
    /// [`Link::admin_up`].
    pub const ADMIN: Changes = Changes(1 << 2);
    /// [`Link::oper_state`].
    pub const OPER: Changes = Changes(1 << 3);
    /// [`Link::carrier`].
    pub const CARRIER: Changes = Changes(1 << 4);
    /// [`Link::lower_up`].
    pub const LOWER_UP: Changes = Changes(1 << 5);
    /// [`Link::mtu`].
    pub const MTU: Changes = Changes(1 << 6);
    /// [`Link::mac`].
    pub const MAC: Changes = Changes(1 << 7);
    /// [`Link::master`].
    pub const MASTER: Changes = Changes(1 << 8);
    /// [`Link::alias`].
    pub const ALIAS: Changes = Changes(1 << 9);
    /// [`Link::speed_mbps`].
    pub const SPEED: Changes = Changes(1 << 10);
    /// [`Link::duplex`].
    pub const DUPLEX: Changes = Changes(1 << 11);
    /// Any `IFF_*` bit in [`Link::flags`] (also set with ADMIN and LOWER_UP).
    pub const FLAGS: Changes = Changes(1 << 12);

    const NAMES: [(Changes, &'static str); 13] = [
        (Changes::NAME, "name"),
        (Changes::KIND, "kind"),
        (Changes::ADMIN, "admin"),
        (Changes::OPER, "oper"),
        (Changes::CARRIER, "carrier"),
        (Changes::LOWER_UP, "lower_up"),
        (Changes::MTU, "mtu"),
        (Changes::MAC, "mac"),
        (Changes::MASTER, "master"),
        (Changes::ALIAS, "alias"),
        (Changes::SPEED, "speed"),
        (Changes::DUPLEX, "duplex"),
        (Changes::FLAGS, "flags"),
    ];

    /// The raw bits (stable values, used by the C ABI).
    pub fn bits(self) -> u32 {
        self.0
    }

    /// From raw bits; unknown bits are kept.
    pub fn from_bits(bits: u32) -> Changes {
        Changes(bits)
    }

    /// True when no field changed.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every field of `other` is in `self`.
    pub fn contains(self, other: Changes) -> bool {
        self.0 & other.0 == other.0
    }

    /// The fields that differ between `old` and `new` (the ifindex is the identity and is not
    /// compared).
    pub fn between(old: &Link, new: &Link) -> Changes {
        let mut c = Changes::NONE;
        let mut set = |cond: bool, f: Changes| {
            if cond {
                c = c | f;
            }
        };
        set(old.name != new.name, Changes::NAME);
        set(old.kind != new.kind, Changes::KIND);
        set(old.admin_up != new.admin_up, Changes::ADMIN);
        set(old.oper_state != new.oper_state, Changes::OPER);
        set(old.carrier != new.carrier, Changes::CARRIER);
        set(old.lower_up != new.lower_up, Changes::LOWER_UP);
        set(old.mtu != new.mtu, Changes::MTU);
        set(old.mac != new.mac, Changes::MAC);
        set(old.master != new.master, Changes::MASTER);
        set(old.alias != new.alias, Changes::ALIAS);
        set(old.speed_mbps != new.speed_mbps, Changes::SPEED);
        set(old.duplex != new.duplex, Changes::DUPLEX);
        set(old.flags != new.flags, Changes::FLAGS);
        c
    }
}

impl std::ops::BitOr for Changes {
    type Output = Changes;
    fn bitor(self, rhs: Changes) -> Changes {
        Changes(self.0 | rhs.0)
    }
}

impl fmt::Display for Changes {
    /// Comma-separated field names, e.g. "admin,oper,flags".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (c, name) in Changes::NAMES {
            if self.contains(c) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linkwatch::link::IFF_UP;

    #[test]
    fn reports_exactly_the_fields_that_differ() {
        let old = Link {
            index: 3,
            name: "a".into(),
            mtu: 1500,
            ..Link::default()
        };
        assert!(Changes::between(&old, &old).is_empty());
        let mut new = old.clone();
        new.name = "b".into();
        new.mtu = 9000;
        let c = Changes::between(&old, &new);
        assert_eq!(c, Changes::NAME | Changes::MTU);
        assert_eq!(c.to_string(), "name,mtu");
        let mut up = old.clone();
        up.admin_up = true;
        up.flags = IFF_UP;
        assert_eq!(Changes::between(&old, &up), Changes::ADMIN | Changes::FLAGS);
        assert!(Changes::between(&old, &up).contains(Changes::ADMIN));
        assert!(!Changes::between(&old, &up).contains(Changes::MTU));
    }
}
