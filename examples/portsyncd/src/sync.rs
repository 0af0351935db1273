//! portsyncd's job, free of I/O: from the configured ports and the kernel's links, the Redis
//! writes SONiC expects.
//!
//! * APPL_DB `PORT_TABLE:<port>`: a copy of CONFIG_DB `PORT|<port>` (cold start only).
//! * APPL_DB `PORT_TABLE:PortConfigDone`, `count` = number of ports (cold start only).
//! * STATE_DB `PORT_TABLE|<port>`: `state=ok`, `netdev_oper_status`, `admin_status`, `mtu`,
//!   written on every change of a configured port's netdev, deleted when the netdev goes.
//! * APPL_DB `PORT_TABLE:PortInitDone`, `lanes=0`: once, when every configured port has a netdev.

use std::collections::{BTreeMap, HashMap};

use lbnet::linkwatch::{Event, Link};

/// Fields of one hash.
pub type Fields = BTreeMap<String, String>;

/// Which SONiC database a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// APPL_DB.
    Appl,
    /// STATE_DB.
    State,
}

/// One Redis write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `HSET key field value ...`.
    HSet(Db, String, Fields),
    /// `DEL key`.
    Del(Db, String),
}

/// The sync state.
#[derive(Debug)]
pub struct PortSync {
    ports: BTreeMap<String, Fields>,
    warm: bool,
    links: HashMap<u32, Link>,
    init_done: bool,
}

/// APPL_DB key of a port (`:` separator).
pub fn appl_key(port: &str) -> String {
    format!("PORT_TABLE:{port}")
}

/// STATE_DB key of a port (`|` separator).
pub fn state_key(port: &str) -> String {
    format!("PORT_TABLE|{port}")
}

fn state_fields(l: &Link) -> Fields {
    let updown = |b: bool| if b { "up" } else { "down" }.to_string();
    Fields::from([
        ("state".to_string(), "ok".to_string()),
        // As SONiC's linksync: operational = IFF_LOWER_UP, administrative = IFF_UP.
        ("netdev_oper_status".to_string(), updown(l.lower_up)),
        ("admin_status".to_string(), updown(l.admin_up)),
        ("mtu".to_string(), l.mtu.to_string()),
    ])
}

impl PortSync {
    /// `ports` from CONFIG_DB `PORT|*`; `links` the watcher's snapshot; `warm` skips the
    /// APPL_DB copy and PortConfigDone (orchagent kept them across the warm restart).
    pub fn new(ports: BTreeMap<String, Fields>, links: Vec<Link>, warm: bool) -> PortSync {
        PortSync {
            ports,
            warm,
            links: links.into_iter().map(|l| (l.index, l)).collect(),
            init_done: false,
        }
    }

    /// True once every configured port has had a netdev (PortInitDone written).
    pub fn init_done(&self) -> bool {
        self.init_done
    }

    /// Number of configured ports.
    pub fn configured(&self) -> usize {
        self.ports.len()
    }

    /// Number of configured ports that have a netdev now.
    pub fn present(&self) -> usize {
        self.ports
            .keys()
            .filter(|p| self.links.values().any(|l| &l.name == *p))
            .count()
    }

    fn init_done_ops(&mut self, out: &mut Vec<Op>) {
        if !self.init_done && self.present() == self.ports.len() {
            self.init_done = true;
            out.push(Op::HSet(
                Db::Appl,
                appl_key("PortInitDone"),
                Fields::from([("lanes".to_string(), "0".to_string())]),
            ));
        }
    }

    /// Everything, as written at start and again after every Redis reconnect.
    pub fn full_state(&mut self) -> Vec<Op> {
        let mut out = Vec::new();
        if !self.warm {
            for (port, fields) in &self.ports {
                out.push(Op::HSet(Db::Appl, appl_key(port), fields.clone()));
            }
            out.push(Op::HSet(
                Db::Appl,
                appl_key("PortConfigDone"),
                Fields::from([("count".to_string(), self.ports.len().to_string())]),
            ));
        }
        for port in self.ports.keys() {
            match self.links.values().find(|l| &l.name == port) {
                Some(l) => out.push(Op::HSet(Db::State, state_key(port), state_fields(l))),
                None => out.push(Op::Del(Db::State, state_key(port))),
            }
        }
        if self.init_done {
            out.push(Op::HSet(
                Db::Appl,
                appl_key("PortInitDone"),
                Fields::from([("lanes".to_string(), "0".to_string())]),
            ));
        } else {
            self.init_done_ops(&mut out);
        }
        out
    }

    /// The writes one link event calls for.
    pub fn on_event(&mut self, ev: &Event) -> Vec<Op> {
        ev.apply(&mut self.links);
        let mut out = Vec::new();
        match ev {
            Event::Added(l) => {
                if self.ports.contains_key(&l.name) {
                    out.push(Op::HSet(Db::State, state_key(&l.name), state_fields(l)));
                }
            }
            Event::Changed { old, new, .. } => {
                if old.name != new.name && self.ports.contains_key(&old.name) {
                    out.push(Op::Del(Db::State, state_key(&old.name)));
                }
                if self.ports.contains_key(&new.name) {
                    out.push(Op::HSet(Db::State, state_key(&new.name), state_fields(new)));
                }
            }
            Event::Removed(l) => {
                if self.ports.contains_key(&l.name) {
                    out.push(Op::Del(Db::State, state_key(&l.name)));
                }
            }
        }
        self.init_done_ops(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lbnet::linkwatch::Changes;

    fn link(index: u32, name: &str, up: bool, mtu: u32) -> Link {
        Link {
            index,
            name: name.into(),
            admin_up: up,
            lower_up: up,
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

    #[test]
    fn cold_start_copies_config_and_waits_for_every_port() {
        let mut s = PortSync::new(
            ports(&["Ethernet0", "Ethernet4"]),
            vec![link(2, "Ethernet0", true, 9100)],
            false,
        );
        let ops = s.full_state();
        assert!(ops.contains(&Op::HSet(
            Db::Appl,
            "PORT_TABLE:Ethernet4".into(),
            ports(&["x"])["x"].clone()
        )));
        assert!(ops.contains(&Op::HSet(
            Db::Appl,
            "PORT_TABLE:PortConfigDone".into(),
            Fields::from([("count".into(), "2".into())])
        )));
        assert!(ops.contains(&Op::Del(Db::State, "PORT_TABLE|Ethernet4".into())));
        let st = ops.iter().find_map(|o| match o {
            Op::HSet(Db::State, k, f) if k == "PORT_TABLE|Ethernet0" => Some(f.clone()),
            _ => None,
        });
        let st = st.unwrap();
        assert_eq!(st["state"], "ok");
        assert_eq!(st["netdev_oper_status"], "up");
        assert_eq!(st["mtu"], "9100");
        assert!(!s.init_done());
        let ops = s.on_event(&Event::Added(link(3, "Ethernet4", false, 1500)));
        assert!(s.init_done());
        assert_eq!(ops.len(), 2);
        assert!(matches!(&ops[1], Op::HSet(Db::Appl, k, _) if k == "PORT_TABLE:PortInitDone"));
        // Only once.
        let ops = s.on_event(&Event::Removed(link(3, "Ethernet4", false, 1500)));
        assert_eq!(ops, vec![Op::Del(Db::State, "PORT_TABLE|Ethernet4".into())]);
    }

    #[test]
    fn warm_start_skips_appl_copy_and_unconfigured_links_are_ignored() {
        let mut s = PortSync::new(ports(&["Ethernet0"]), vec![], true);
        let ops = s.full_state();
        assert_eq!(ops, vec![Op::Del(Db::State, "PORT_TABLE|Ethernet0".into())]);
        assert!(s
            .on_event(&Event::Added(link(5, "veth9", true, 1500)))
            .is_empty());
    }

    #[test]
    fn rename_moves_the_state_entry() {
        let mut s = PortSync::new(
            ports(&["Ethernet0", "Ethernet8"]),
            vec![link(2, "Ethernet0", true, 1500)],
            false,
        );
        s.full_state();
        let old = link(2, "Ethernet0", true, 1500);
        let new = link(2, "Ethernet8", true, 1500);
        let ops = s.on_event(&Event::Changed {
            changes: Changes::between(&old, &new),
            old,
            new,
        });
        assert_eq!(ops[0], Op::Del(Db::State, "PORT_TABLE|Ethernet0".into()));
        assert!(matches!(&ops[1], Op::HSet(Db::State, k, _) if k == "PORT_TABLE|Ethernet8"));
    }
}
