//! portsyncd's job, free of I/O: from the configured ports and the kernel's links, the Redis
//! writes SONiC expects. Each rule names the sonic-swss source it follows
//! (`portsyncd/portsyncd.cpp`, `portsyncd/linksync.cpp`).
//!
//! * APPL_DB `PORT_TABLE` (through the ProducerStateTable protocol, [`Op::ApplSet`]): a copy of
//!   CONFIG_DB `PORT|<port>` and `PortConfigDone` (`count`), cold start only
//!   (`handlePortConfigFromConfigDB`); ports added to CONFIG_DB later are copied when they
//!   arrive (`handlePortConfig`), held back while the port's netdev is still pending.
//! * STATE_DB `PORT_TABLE|<port>`: `state=ok`, `netdev_oper_status` (`IFF_RUNNING`),
//!   `admin_status` (`IFF_UP`), `mtu`, on every link message of a known port
//!   (`LinkSync::onMsg`); deleted on a link deletion, unless the link has a master.
//! * APPL_DB `PortInitDone` (`lanes=0`): once, when every port configured at start has had a
//!   link message (`g_portSet` empty).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use lbnet::linkwatch::{Event, Link};

/// Fields of one hash.
pub type Fields = BTreeMap<String, String>;

/// `IFF_RUNNING` (`<net/if.h>`): the kernel's operational "running" flag (RFC 2863 up).
pub const IFF_RUNNING: u32 = 0x40;

/// Name prefixes of the links SONiC's linksync handles (`INTFS_PREFIX`, `LAG_PREFIX`).
pub const LINK_PREFIXES: [&str; 2] = ["Ethernet", "PortChannel"];

/// One Redis write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// APPL_DB `PORT_TABLE` set of `key` through the ProducerStateTable protocol.
    ApplSet(String, Fields),
    /// APPL_DB `PORT_TABLE` delete of `key` through the ProducerStateTable protocol.
    ApplDel(String),
    /// STATE_DB `HSET PORT_TABLE|<key> field value ...` (swss::Table::set).
    StateSet(String, Fields),
    /// STATE_DB `DEL PORT_TABLE|<key>` (swss::Table::del).
    StateDel(String),
}

/// The sync state.
#[derive(Debug)]
pub struct PortSync {
    /// Ports known to be in APPL_DB PORT_TABLE (CONFIG_DB at start plus later additions).
    ports: BTreeMap<String, Fields>,
    /// Ports configured at start that have had no link message yet (SONiC's `g_portSet`).
    pending: BTreeSet<String>,
    /// CONFIG_DB updates for pending ports, written once the port is no longer pending.
    held: BTreeMap<String, Fields>,
    warm: bool,
    links: HashMap<u32, Link>,
    /// Cold start: ifindexes of the front-panel links that existed before the start
    /// (`m_ifindexOldNameMap`); every message about them is ignored.
    old: HashSet<u32>,
    init_done: bool,
    /// PortConfigDone's `count`: the ports read from CONFIG_DB at start (`g_portSet.size()`).
    config_count: usize,
}

/// STATE_DB key of a port (`|` separator).
pub fn state_key(port: &str) -> String {
    format!("PORT_TABLE|{port}")
}

/// True for the link names SONiC's linksync handles at all (`Ethernet*`, `PortChannel*`).
pub fn handled_name(name: &str) -> bool {
    LINK_PREFIXES.iter().any(|p| name.starts_with(p))
}

fn state_fields(l: &Link) -> Fields {
    let updown = |b: bool| if b { "up" } else { "down" }.to_string();
    Fields::from([
        ("state".to_string(), "ok".to_string()),
        // linksync.cpp: oper = flags & IFF_RUNNING (sonic-swss #1568), admin = flags & IFF_UP.
        (
            "netdev_oper_status".to_string(),
            updown(l.flags & IFF_RUNNING != 0),
        ),
        ("admin_status".to_string(), updown(l.admin_up)),
        ("mtu".to_string(), l.mtu.to_string()),
    ])
}

impl PortSync {
    /// `ports` from CONFIG_DB `PORT|*`; `links` the watcher's snapshot; `warm` skips the
    /// APPL_DB copy and PortConfigDone (orchagent kept them across the warm restart). On a cold
    /// start every `Ethernet*` link of the snapshot is an old interface (see
    /// [`PortSync::old_links`]).
    pub fn new(ports: BTreeMap<String, Fields>, links: Vec<Link>, warm: bool) -> PortSync {
        let old = if warm {
            HashSet::new()
        } else {
            // linksync.cpp, LinkSync::LinkSync: on cold start only, every existing link named
            // Ethernet* (INTFS_PREFIX; not PortChannel*) is "old".
            links
                .iter()
                .filter(|l| l.name.starts_with(LINK_PREFIXES[0]))
                .map(|l| l.index)
                .collect()
        };
        PortSync {
            config_count: ports.len(),
            pending: ports.keys().cloned().collect(),
            ports,
            held: BTreeMap::new(),
            warm,
            links: links.into_iter().map(|l| (l.index, l)).collect(),
            old,
            init_done: false,
        }
    }

    /// Cold start: names of the links left from before the start, which the daemon brings down
    /// and whose messages it ignores (SONiC's `LinkSync` constructor runs `ip link set <name>
    /// down` on each).
    pub fn old_links(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .old
            .iter()
            .filter_map(|i| self.links.get(i).map(|l| l.name.clone()))
            .collect();
        v.sort();
        v
    }

    /// True once PortInitDone is written.
    pub fn init_done(&self) -> bool {
        self.init_done
    }

    /// Number of known ports.
    pub fn configured(&self) -> usize {
        self.ports.len()
    }

    /// Number of ports configured at start still waiting for their first link message.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn init_done_ops(&mut self, out: &mut Vec<Op>) {
        // portsyncd.cpp: on a netlink message, `if (!g_init && g_portSet.empty())`.
        if !self.init_done && self.pending.is_empty() {
            self.init_done = true;
            out.push(Op::ApplSet(
                "PortInitDone".into(),
                Fields::from([("lanes".to_string(), "0".to_string())]),
            ));
        }
    }

    /// Everything, as written at start and again after every Redis reconnect: the APPL_DB copy
    /// and PortConfigDone (cold start), the state of every known port's current link (old links
    /// excepted), PortInitDone if reached.
    pub fn full_state(&mut self) -> Vec<Op> {
        let mut out = Vec::new();
        if !self.warm {
            for (port, fields) in &self.ports {
                out.push(Op::ApplSet(port.clone(), fields.clone()));
            }
            out.push(Op::ApplSet(
                "PortConfigDone".into(),
                Fields::from([("count".to_string(), self.config_count.to_string())]),
            ));
        }
        let mut present: Vec<&Link> = self
            .links
            .values()
            .filter(|l| !self.old.contains(&l.index) && self.ports.contains_key(&l.name))
            .collect();
        present.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<String> = present.iter().map(|l| l.name.clone()).collect();
        for l in present {
            out.push(Op::StateSet(l.name.clone(), state_fields(l)));
        }
        for n in names {
            self.pending.remove(&n);
        }
        if self.init_done {
            out.push(Op::ApplSet(
                "PortInitDone".into(),
                Fields::from([("lanes".to_string(), "0".to_string())]),
            ));
        } else {
            self.init_done_ops(&mut out);
        }
        self.flush_held(&mut out);
        out
    }

    /// A CONFIG_DB `PORT|<port>` change after the start (SubscriberStateTable in
    /// portsyncd.cpp): a set is copied to APPL_DB now, or once the port is no longer pending
    /// (`handlePortConfig`); a delete is not propagated ("No support for port delete yet"), it
    /// only drops a held update.
    pub fn on_config(&mut self, port: &str, fields: Option<Fields>) -> Vec<Op> {
        let mut out = Vec::new();
        match fields {
            Some(f) => {
                // An update equal to what was already written (the subscription's initial
                // read of ports read at start, a repeated notification) writes nothing.
                if self.ports.get(port) == Some(&f) && !self.held.contains_key(port) {
                    return out;
                }
                self.held.insert(port.to_string(), f);
                self.flush_held(&mut out);
            }
            None => {
                self.held.remove(port);
            }
        }
        out
    }

    /// Keeps, for each STATE_DB key, only its last write in `ops` (the others would be
    /// overwritten within the same pipeline); APPL_DB writes are all kept (the producer
    /// protocol coalesces them itself). Order of what is kept is unchanged.
    pub fn coalesce(ops: Vec<Op>) -> Vec<Op> {
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            if let Op::StateSet(k, _) | Op::StateDel(k) = op {
                last.insert(k.as_str(), i);
            }
        }
        let keep: Vec<bool> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| match op {
                Op::StateSet(k, _) | Op::StateDel(k) => last[k.as_str()] == i,
                _ => true,
            })
            .collect();
        ops.into_iter()
            .zip(keep)
            .filter_map(|(op, k)| k.then_some(op))
            .collect()
    }

    fn flush_held(&mut self, out: &mut Vec<Op>) {
        let ready: Vec<String> = self
            .held
            .keys()
            .filter(|p| !self.pending.contains(*p))
            .cloned()
            .collect();
        for p in ready {
            if let Some(f) = self.held.remove(&p) {
                out.push(Op::ApplSet(p.clone(), f.clone()));
                self.ports.insert(p, f);
            }
        }
    }

    /// The writes one link event calls for (LinkSync::onMsg, then portsyncd.cpp's
    /// PortInitDone check and held CONFIG_DB updates).
    pub fn on_event(&mut self, ev: &Event) -> Vec<Op> {
        ev.apply(&mut self.links);
        let mut out = Vec::new();
        let l = ev.link();
        // Only Ethernet*/PortChannel*; team links are teamsyncd's; old links are ignored.
        let handled = handled_name(&l.name)
            && l.kind.as_deref() != Some("team")
            && !self.old.contains(&l.index);
        if handled {
            match ev {
                Event::Removed(l) => {
                    // linksync.cpp: "Ignore DELLINK message if port has master".
                    if l.master.is_none() {
                        out.push(Op::StateDel(l.name.clone()));
                    }
                }
                // A new or changed link, renames included: only the current name is written;
                // the old name's entry stays (linksync.cpp keys everything by the message's
                // name).
                Event::Added(l) | Event::Changed { new: l, .. } => {
                    if self.ports.contains_key(&l.name) {
                        self.pending.remove(&l.name);
                        out.push(Op::StateSet(l.name.clone(), state_fields(l)));
                    }
                }
            }
        } else if let Event::Removed(l) = ev {
            self.old.remove(&l.index);
        }
        // portsyncd.cpp runs these on every netlink message, handled or not.
        self.init_done_ops(&mut out);
        if !self.held.is_empty() {
            self.flush_held(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lbnet::linkwatch::{Changes, IFF_UP};

    fn link(index: u32, name: &str, up: bool, mtu: u32) -> Link {
        Link {
            index,
            name: name.into(),
            admin_up: up,
            lower_up: up,
            flags: if up { IFF_UP | IFF_RUNNING } else { 0 },
            mtu,
            ..Link::default()
        }
    }

    fn ports(names: &[&str]) -> BTreeMap<String, Fields> {
        names
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    Fields::from([("lanes".to_string(), "0,1".to_string())]),
                )
            })
            .collect()
    }

    fn changed(old: Link, new: Link) -> Event {
        Event::Changed {
            changes: Changes::between(&old, &new),
            old,
            new,
        }
    }

    #[test]
    fn cold_start_copies_config_and_waits_for_every_port() {
        let mut s = PortSync::new(ports(&["Ethernet0", "Ethernet4"]), vec![], false);
        let ops = s.full_state();
        assert!(ops.contains(&Op::ApplSet("Ethernet4".into(), ports(&["x"])["x"].clone())));
        assert!(ops.contains(&Op::ApplSet(
            "PortConfigDone".into(),
            Fields::from([("count".into(), "2".into())])
        )));
        assert!(!s.init_done());
        let ops = s.on_event(&Event::Added(link(2, "Ethernet0", true, 9100)));
        let st = match &ops[..] {
            [Op::StateSet(k, f)] if k == "Ethernet0" => f.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(st["state"], "ok");
        assert_eq!(st["netdev_oper_status"], "up");
        assert_eq!(st["mtu"], "9100");
        let ops = s.on_event(&Event::Added(link(3, "Ethernet4", false, 1500)));
        assert!(s.init_done());
        assert_eq!(ops.len(), 2);
        assert!(matches!(&ops[1], Op::ApplSet(k, _) if k == "PortInitDone"));
        // Only once, and a port seen once stays done even when its link goes (g_portSet).
        let ops = s.on_event(&Event::Removed(link(3, "Ethernet4", false, 1500)));
        assert_eq!(ops, vec![Op::StateDel("Ethernet4".into())]);
    }

    /// sonic-swss linksync.cpp (since sonic-swss #1568): `bool oper = flags & IFF_RUNNING;`.
    /// A dormant link has IFF_LOWER_UP without IFF_RUNNING: "down".
    #[test]
    fn oper_status_follows_iff_running_not_lower_up() {
        let mut s = PortSync::new(ports(&["Ethernet0"]), vec![], true);
        let mut l = link(2, "Ethernet0", true, 1500);
        l.flags = IFF_UP | lbnet::linkwatch::IFF_LOWER_UP; // dormant: no IFF_RUNNING
        l.lower_up = true;
        let ops = s.on_event(&Event::Added(l.clone()));
        assert!(matches!(&ops[0], Op::StateSet(_, f) if f["netdev_oper_status"] == "down"));
        let mut r = l.clone();
        r.flags |= IFF_RUNNING;
        let ops = s.on_event(&changed(l, r));
        assert!(matches!(&ops[0], Op::StateSet(_, f) if f["netdev_oper_status"] == "up"));
    }

    /// sonic-swss linksync.cpp: "Ignore DELLINK message if port has master" (a port in a VLAN
    /// bridge or LAG).
    #[test]
    fn deletion_of_a_link_with_a_master_is_ignored() {
        let mut s = PortSync::new(ports(&["Ethernet0"]), vec![], true);
        let mut l = link(2, "Ethernet0", true, 1500);
        s.on_event(&Event::Added(l.clone()));
        l.master = Some(7);
        assert!(s.on_event(&Event::Removed(l.clone())).is_empty());
        l.master = None;
        assert_eq!(
            s.on_event(&Event::Removed(l)),
            vec![Op::StateDel("Ethernet0".into())]
        );
    }

    /// sonic-swss linksync.cpp: every write is keyed by the message's (new) name; nothing
    /// deletes the old name's entry on a rename.
    #[test]
    fn rename_writes_the_new_name_and_keeps_the_old_entry() {
        let mut s = PortSync::new(ports(&["Ethernet0", "Ethernet8"]), vec![], true);
        s.on_event(&Event::Added(link(2, "Ethernet0", true, 1500)));
        let ops = s.on_event(&changed(
            link(2, "Ethernet0", true, 1500),
            link(2, "Ethernet8", true, 1500),
        ));
        assert_eq!(ops.len(), 2, "{ops:?}"); // the new name's state, then PortInitDone
        assert!(matches!(&ops[0], Op::StateSet(k, _) if k == "Ethernet8"));
        assert!(!ops.iter().any(|o| matches!(o, Op::StateDel(_))));
    }

    /// sonic-swss linksync.cpp: links not named Ethernet*/PortChannel*, and team links, are
    /// ignored; a deletion of a handled name is written even for a port not in PORT_TABLE.
    #[test]
    fn only_front_panel_and_lag_names_are_handled() {
        let mut s = PortSync::new(ports(&["Ethernet0"]), vec![], true);
        assert!(s
            .on_event(&Event::Added(link(5, "veth9", true, 1500)))
            .is_empty());
        assert!(s
            .on_event(&Event::Added(link(6, "Ethernet99", true, 1500)))
            .is_empty());
        assert_eq!(
            s.on_event(&Event::Removed(link(6, "Ethernet99", true, 1500))),
            vec![Op::StateDel("Ethernet99".into())]
        );
        let mut team = link(7, "PortChannel1", true, 1500);
        team.kind = Some("team".into());
        assert!(s.on_event(&Event::Removed(team)).is_empty());
    }

    /// sonic-swss portsyncd.cpp (SubscriberStateTable on CONFIG_DB PORT, handlePortConfig): a
    /// port added after the start is copied to APPL_DB and its links are then handled; an
    /// update of a port still waiting for its netdev is held until the port's first message;
    /// deletes are not propagated.
    #[test]
    fn ports_added_to_config_db_after_start_are_picked_up() {
        let mut s = PortSync::new(ports(&["Ethernet0"]), vec![], false);
        s.full_state();
        let f = Fields::from([("lanes".to_string(), "8".to_string())]);
        assert_eq!(
            s.on_config("Ethernet8", Some(f.clone())),
            vec![Op::ApplSet("Ethernet8".into(), f.clone())]
        );
        let ops = s.on_event(&Event::Added(link(9, "Ethernet8", true, 1500)));
        assert!(matches!(&ops[0], Op::StateSet(k, _) if k == "Ethernet8"));
        // Ethernet0 is pending: its update waits for its first link message.
        assert!(s.on_config("Ethernet0", Some(f.clone())).is_empty());
        assert!(s.on_config("Ethernet8", None).is_empty());
        let ops = s.on_event(&Event::Added(link(2, "Ethernet0", true, 1500)));
        assert_eq!(ops.len(), 3, "{ops:?}");
        assert!(matches!(&ops[1], Op::ApplSet(k, _) if k == "PortInitDone"));
        assert_eq!(ops[2], Op::ApplSet("Ethernet0".into(), f));
    }

    /// sonic-swss linksync.cpp, LinkSync::LinkSync: on cold start the Ethernet* links already
    /// there are old (brought down, every later message about their ifindex ignored); a link
    /// created again under the same name is a new ifindex and handled. A warm start keeps them.
    #[test]
    fn cold_start_ignores_links_left_from_before() {
        let before = vec![
            link(2, "Ethernet0", true, 1500),
            link(3, "PortChannel1", true, 1500),
            link(4, "eth0", true, 1500),
        ];
        let mut s = PortSync::new(ports(&["Ethernet0"]), before.clone(), false);
        assert_eq!(s.old_links(), vec!["Ethernet0".to_string()]);
        let ops = s.full_state();
        assert!(
            !ops.iter().any(|o| matches!(o, Op::StateSet(..))),
            "{ops:?}"
        );
        let old = link(2, "Ethernet0", true, 1500);
        let ops = s.on_event(&changed(old.clone(), link(2, "Ethernet0", true, 9000)));
        assert!(ops.is_empty(), "{ops:?}");
        assert!(s.on_event(&Event::Removed(old)).is_empty());
        let ops = s.on_event(&Event::Added(link(12, "Ethernet0", true, 1500)));
        assert!(matches!(&ops[0], Op::StateSet(k, _) if k == "Ethernet0"));
        assert!(s.init_done());

        let mut w = PortSync::new(ports(&["Ethernet0"]), before, true);
        assert!(w.old_links().is_empty());
        let ops = w.full_state();
        assert!(matches!(&ops[0], Op::StateSet(k, _) if k == "Ethernet0"));
    }
}
