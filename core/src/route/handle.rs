//! [`RouteHandle`]: routes and nexthop objects over one rtnetlink socket, pipelined.

use std::net::IpAddr;

use netlink_packet_core::{Emitable, Parseable};
use netlink_packet_route::link::{InfoData, InfoVrf, LinkAttribute, LinkInfo, LinkMessage};
use parking_lot::Mutex;

use super::codec::{self, KernelRoute};
use super::nexthop::{self, Nexthop};
use super::spec::Route;
use crate::error::{Error, ErrorKind, Origin, Result, RouteOperation};
use crate::netlink::message::{
    Header, HEADER_LEN, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
};
use crate::netlink::rtm::{RTM_F_CLONED, RTM_GETLINK, RTM_NEWLINK};
use crate::netlink::{Requests, Socket, SocketOptions};
use crate::netns::NetNs;

const NEXTHOP: Origin = Origin::Route(RouteOperation::Nexthop);
const LOOK_UP_LINK: Origin = Origin::Route(RouteOperation::LookUpLink);

/// One change to a routing table, for [`RouteHandle::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOp {
    /// Create; fails with `EEXIST` when a route with the same table, destination, metric (and
    /// for IPv4 TOS) exists.
    Add(Route),
    /// Create or replace the route with the same table, destination and metric.
    Replace(Route),
    /// Delete the route with this table, destination, metric and protocol (`ESRCH`, kind
    /// [`ErrorKind::NotFound`], when there is none).
    Delete(Route),
}

impl RouteOp {
    /// The error origin of this op.
    fn origin(&self) -> Origin {
        Origin::Route(match self {
            RouteOp::Add(_) => RouteOperation::Add,
            RouteOp::Replace(_) => RouteOperation::Replace,
            RouteOp::Delete(_) => RouteOperation::Delete,
        })
    }

    fn describe(&self) -> String {
        let (verb, r) = match self {
            RouteOp::Add(r) => ("add", r),
            RouteOp::Replace(r) => ("replace", r),
            RouteOp::Delete(r) => ("delete", r),
        };
        format!(
            "{verb} route {} table {} metric {} proto {}",
            r.dst, r.table, r.metric, r.protocol
        )
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            RouteOp::Add(r) => codec::encode_new(r, NLM_F_CREATE | NLM_F_EXCL, out),
            RouteOp::Replace(r) => codec::encode_new(r, NLM_F_CREATE | NLM_F_REPLACE, out),
            RouteOp::Delete(r) => codec::encode_del(r, out),
        }
    }
}

/// Which routes a dump returns. Filtering happens in the kernel (strict checking) and again
/// here, so a kernel without strict checking gives the same answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteFilter {
    /// `Some(false)` IPv4 only, `Some(true)` IPv6 only, `None` both.
    pub ipv6: Option<bool>,
    /// Only this table.
    pub table: Option<u32>,
    /// Only this protocol.
    pub protocol: Option<u8>,
}

/// Routes and nexthop objects of one network namespace over one rtnetlink socket.
///
/// Safe to share between threads (the socket is behind a mutex).
#[derive(Debug)]
pub struct RouteHandle {
    sock: Mutex<Socket>,
}

impl RouteHandle {
    /// Opens a handle on `netns`, with strict dump checking (`NETLINK_GET_STRICT_CHK`, 4.20+).
    pub fn open(netns: &NetNs) -> Result<RouteHandle> {
        RouteHandle::with_options(SocketOptions {
            netns: netns.clone(),
            strict: true,
            ..SocketOptions::default()
        })
    }

    /// Opens a handle with explicit socket options.
    pub fn with_options(opts: SocketOptions) -> Result<RouteHandle> {
        Ok(RouteHandle {
            sock: Mutex::new(Socket::open(libc::NETLINK_ROUTE as isize, &opts)?),
        })
    }

    /// Applies `ops` pipelined (many per `sendmsg`) and returns one result per op, in order;
    /// every ack is checked. An op that cannot be encoded gets its error without being sent.
    /// The outer error is a transport failure.
    pub fn apply(&self, ops: &[RouteOp]) -> Result<Vec<Result<()>>> {
        let mut reqs = Requests::new();
        let mut slots: Vec<Result<usize>> = Vec::with_capacity(ops.len());
        for op in ops {
            match reqs.push_with(|b| op.encode(b)) {
                Ok(()) => slots.push(Ok(reqs.len() - 1)),
                Err(e) => slots.push(Err(e.wrap(op.origin(), op.describe()))),
            }
        }
        let mut results = if reqs.is_empty() {
            Vec::new()
        } else {
            self.sock.lock().execute(&mut reqs)?
        };
        let mut out = Vec::with_capacity(ops.len());
        for (op, slot) in ops.iter().zip(slots) {
            out.push(match slot {
                Err(e) => Err(e),
                Ok(i) => std::mem::replace(&mut results[i], Ok(()))
                    .map_err(|e| e.wrap(op.origin(), op.describe())),
            });
        }
        Ok(out)
    }

    fn one(&self, op: RouteOp) -> Result<()> {
        self.apply(std::slice::from_ref(&op))?
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Adds a route (`NLM_F_CREATE|NLM_F_EXCL`); `EEXIST` if one with its key is there.
    pub fn add(&self, route: &Route) -> Result<()> {
        self.one(RouteOp::Add(route.clone()))
    }

    /// Adds or replaces a route (`NLM_F_CREATE|NLM_F_REPLACE`).
    pub fn replace(&self, route: &Route) -> Result<()> {
        self.one(RouteOp::Replace(route.clone()))
    }

    /// Deletes the route with the table, destination, metric and protocol of `route`; `ESRCH`
    /// (kind [`ErrorKind::NotFound`]) when there is none.
    pub fn delete(&self, route: &Route) -> Result<()> {
        self.one(RouteOp::Delete(route.clone()))
    }

    /// Dumps routes matching `filter`. A table that does not exist yields no routes, not an
    /// error (the kernel answers `ENOENT` "FIB table does not exist" to a strict dump of it).
    /// Cached clones (`RTM_F_CLONED`) are left out.
    pub fn dump(&self, filter: &RouteFilter) -> Result<Vec<KernelRoute>> {
        let mut out = Vec::new();
        let families: &[bool] = match filter.ipv6 {
            Some(false) => &[false],
            Some(true) => &[true],
            None => &[false, true],
        };
        let mut sock = self.sock.lock();
        for &v6 in families {
            let mut msg = Vec::new();
            codec::encode_dump(v6, filter.table, filter.protocol, &mut msg);
            let res = sock.request(&mut msg, |h, m| {
                if h.kind != codec::RTM_NEWROUTE {
                    return Ok(());
                }
                let kr = codec::decode(m)?;
                if kr.flags & RTM_F_CLONED != 0
                    || filter.table.is_some_and(|t| t != kr.route.table)
                    || filter.protocol.is_some_and(|p| p != kr.route.protocol)
                {
                    return Ok(());
                }
                out.push(kr);
                Ok(())
            });
            match res {
                Ok(()) => {}
                Err(e) if e.errno() == libc::ENOENT && filter.table.is_some() => {}
                Err(e) => return Err(e.wrap(Origin::Route(RouteOperation::List), "dump routes")),
            }
        }
        Ok(out)
    }

    /// Deletes every route of `protocol` in `table` (both families) and returns how many went.
    /// Routes of other protocols are never touched. A route that vanished meanwhile (`ESRCH`)
    /// is not an error. The deletes go in a scattered order, not the dump's ascending one: the
    /// kernel's IPv4 FIB trie deletes ascending /24s several times slower (100,000 through
    /// `ip -batch` here: 7.97 s ascending, 1.75 s shuffled).
    pub fn flush(&self, table: u32, protocol: u8) -> Result<usize> {
        let routes = self.dump(&RouteFilter {
            ipv6: None,
            table: Some(table),
            protocol: Some(protocol),
        })?;
        let ops: Vec<RouteOp> = scatter(routes)
            .into_iter()
            .map(|k| RouteOp::Delete(k.route))
            .collect();
        let mut n = 0;
        for r in self.apply(&ops)? {
            match r {
                Ok(()) => n += 1,
                Err(e) if e.errno() == libc::ESRCH => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Asks the kernel which route it would use for `addr` (`ip route get ADDR [oif DEV]`).
    /// `None` when there is none (`ENETUNREACH`, `EHOSTUNREACH`) or it is not unicast
    /// (blackhole, unreachable, prohibit). With `oif` a VRF device, the VRF's table is used.
    pub fn lookup(&self, addr: IpAddr, oif: Option<u32>) -> Result<Option<KernelRoute>> {
        let mut msg = Vec::new();
        codec::encode_lookup(addr, oif, &mut msg);
        self.lookup_msg(addr, msg)
    }

    /// Like [`RouteHandle::lookup`], but answered with the route that matched
    /// (`RTM_F_FIB_MATCH`, 4.13+): its destination is the resolving prefix (`10.1.0.0/24` for
    /// a gateway on a connected /24), not a host route. Older kernels ignore the flag and
    /// answer with a host-length prefix.
    pub fn lookup_match(&self, addr: IpAddr, oif: Option<u32>) -> Result<Option<KernelRoute>> {
        let mut msg = Vec::new();
        codec::encode_lookup_match(addr, oif, &mut msg);
        self.lookup_msg(addr, msg)
    }

    fn lookup_msg(&self, addr: IpAddr, mut msg: Vec<u8>) -> Result<Option<KernelRoute>> {
        let mut found = None;
        let res = self.sock.lock().request(&mut msg, |h, m| {
            if h.kind == codec::RTM_NEWROUTE {
                found = Some(codec::decode(m)?);
            }
            Ok(())
        });
        match res {
            Ok(()) => Ok(found.filter(|k| k.raw_type == 1)), // RTN_UNICAST
            Err(e) if matches!(e.errno(), libc::ENETUNREACH | libc::EHOSTUNREACH) => Ok(None),
            Err(e) => Err(e.wrap(
                Origin::Route(RouteOperation::List),
                format!("look up route to {addr}"),
            )),
        }
    }

    /// Applies nexthop changes pipelined: `(nexthop, replace)` creates (`replace` false,
    /// `EEXIST` if the id is taken) or creates-or-replaces it.
    pub fn apply_nexthops(&self, ops: &[(Nexthop, bool)]) -> Result<Vec<Result<()>>> {
        let mut reqs = Requests::new();
        for (nh, replace) in ops {
            let flags = NLM_F_CREATE | if *replace { NLM_F_REPLACE } else { NLM_F_EXCL };
            reqs.push_with(|b| nexthop::encode_new(nh, flags, b))?;
        }
        let res = self.sock.lock().execute(&mut reqs)?;
        Ok(res
            .into_iter()
            .zip(ops)
            .map(|(r, (nh, _))| r.map_err(|e| e.wrap(NEXTHOP, format!("add nexthop id {}", nh.id))))
            .collect())
    }

    /// Adds a nexthop object (`EEXIST` if the id is taken).
    pub fn add_nexthop(&self, nh: &Nexthop) -> Result<()> {
        self.apply_nexthops(&[(nh.clone(), false)])?
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Adds or replaces a nexthop object; routes using it follow.
    pub fn replace_nexthop(&self, nh: &Nexthop) -> Result<()> {
        self.apply_nexthops(&[(nh.clone(), true)])?
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Deletes nexthop `id` (`ENOENT` if there is none). The kernel removes routes using it.
    pub fn delete_nexthop(&self, id: u32) -> Result<()> {
        let mut m = Vec::new();
        nexthop::encode_del(id, &mut m);
        self.sock
            .lock()
            .request(&mut m, |_, _| Ok(()))
            .map_err(|e| e.wrap(NEXTHOP, format!("delete nexthop id {id}")))
    }

    /// Dumps every nexthop object.
    pub fn nexthops(&self) -> Result<Vec<Nexthop>> {
        let mut m = Vec::new();
        nexthop::encode_dump(&mut m);
        let mut out = Vec::new();
        self.sock
            .lock()
            .request(&mut m, |h, msg| {
                if h.kind == nexthop::RTM_NEWNEXTHOP {
                    out.push(nexthop::decode(msg)?);
                }
                Ok(())
            })
            .map_err(|e| e.wrap(NEXTHOP, "dump nexthops"))?;
        Ok(out)
    }

    /// Looks a link up by name (`RTM_GETLINK` with `IFLA_IFNAME`): its index and, for a VRF
    /// device, its table (`IFLA_VRF_TABLE`). `ENODEV` (kind [`ErrorKind::NotFound`]) if absent.
    pub fn link(&self, name: &str) -> Result<(u32, Option<u32>)> {
        if name.is_empty() || name.len() >= 16 {
            return Err(Error::invalid(
                LOOK_UP_LINK,
                format!("invalid interface name {name:?}"),
            ));
        }
        let mut lm = LinkMessage::default();
        lm.attributes.push(LinkAttribute::IfName(name.to_string()));
        let mut m = vec![0u8; HEADER_LEN + lm.buffer_len()];
        Header {
            length: m.len() as u32,
            kind: RTM_GETLINK,
            flags: NLM_F_REQUEST,
            seq: 0,
            pid: 0,
        }
        .write(&mut m);
        lm.emit(&mut m[HEADER_LEN..]);
        let mut found = None;
        self.sock
            .lock()
            .request(&mut m, |h, msg| {
                if h.kind != RTM_NEWLINK {
                    return Ok(());
                }
                let lm = LinkMessage::parse(&msg[HEADER_LEN.min(msg.len())..])
                    .map_err(|e| Error::malformed(LOOK_UP_LINK, format!("link message: {e}")))?;
                let mut table = None;
                for a in &lm.attributes {
                    if let LinkAttribute::LinkInfo(infos) = a {
                        for i in infos {
                            if let LinkInfo::Data(InfoData::Vrf(v)) = i {
                                for x in v {
                                    if let InfoVrf::TableId(t) = x {
                                        table = Some(*t);
                                    }
                                }
                            }
                        }
                    }
                }
                found = Some((lm.header.index, table));
                Ok(())
            })
            .map_err(|e| e.wrap(LOOK_UP_LINK, format!("look up link {name}")))?;
        found.ok_or_else(|| {
            Error::new(
                LOOK_UP_LINK,
                ErrorKind::NotFound,
                format!("no link named {name}"),
            )
        })
    }
}

/// `items` reordered by [`scattered`]: neighbours (such as a dump's ascending prefixes) end up
/// far apart.
pub(crate) fn scatter<T>(items: Vec<T>) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    scattered(slots.len())
        .map(|i| slots[i].take().expect("scattered is a permutation"))
        .collect()
}

/// A permutation of `0..n` that scatters neighbours: `i * p mod n` for a prime `p` that does
/// not divide `n`.
pub(crate) fn scattered(n: usize) -> impl Iterator<Item = usize> {
    let p = [7919u64, 7927, 7933]
        .into_iter()
        .find(|p| !(n as u64).is_multiple_of(*p))
        .unwrap_or(1); // n a multiple of all three (> 4.9e11 routes): keep the dump's order
    (0..n as u64).map(move |i| ((i * p) % n.max(1) as u64) as usize)
}

#[cfg(test)]
mod scatter_tests {
    use super::scattered;

    #[test]
    fn scattered_is_a_permutation() {
        for n in [0usize, 1, 2, 7919, 7920, 100_000, 7919 * 3] {
            let mut seen = vec![false; n];
            for i in scattered(n) {
                assert!(!seen[i], "{i} twice for n={n}");
                seen[i] = true;
            }
            assert!(seen.iter().all(|&s| s), "n={n}");
        }
    }
}
