//! A loss-free view of the kernel's interface addresses (`RTM_NEWADDR` / `RTM_DELADDR`), with
//! the link watcher's design: subscribe first, then dump, apply notifications in queue order,
//! and after lost notifications (`ENOBUFS`, `MSG_TRUNC`) or an interrupted dump
//! (`NLM_F_DUMP_INTR`) dump again and report exactly the differences.
//!
//! Kernel behaviour relied on:
//! * One `RTM_GETADDR` dump with `AF_UNSPEC` lists the IPv4 and IPv6 addresses of every link.
//! * An address is identified by (ifindex, family, local address, prefix length): the kernel
//!   refuses a second address with the same key on one link (`EEXIST`), and an `RTM_NEWADDR`
//!   for an existing key is a change of its flags or lifetimes (reported only when the flags
//!   changed here).
//! * For IPv4, `IFA_LOCAL` is the interface's own address and `IFA_ADDRESS` the peer's on a
//!   point-to-point link; for IPv6 only `IFA_ADDRESS` is sent (`IFA_LOCAL` too on
//!   point-to-point links, then it is ours).
//! * Deleting a link, or taking it down (IPv6, unless `keep_addr_on_down`), removes its
//!   addresses with one `RTM_DELADDR` each.
//! * IPv6 addresses are notified with `IFA_F_TENTATIVE` while duplicate address detection runs,
//!   then again without it.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use netlink_packet_core::NlasIterator;

use crate::error::{Error, LinkWatchOperation, Origin, Result};
use crate::netlink::message::{Header, HEADER_LEN, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST};
use crate::netlink::rtm::{RTM_DELADDR, RTM_NEWADDR, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR};
use crate::netlink::{Socket, SocketOptions};

use super::datagram;
use super::dump;
use super::watcher::{receive, set_nonblocking, Received, Stats, WatchOptions};

const PARSE: Origin = Origin::LinkWatch(LinkWatchOperation::Parse);

/// `RTM_GETADDR`.
const RTM_GETADDR: u16 = 22;
/// `sizeof(struct ifaddrmsg)`.
const IFADDRMSG_LEN: usize = 8;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;

/// `IFA_F_TENTATIVE`: duplicate address detection has not finished (IPv6).
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// `IFA_F_DADFAILED`: duplicate address detection failed; the address is not usable (IPv6).
pub const IFA_F_DADFAILED: u32 = 0x08;

/// One interface address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Addr {
    /// Ifindex of the link the address is on.
    pub index: u32,
    /// The interface's own address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub address: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// `RT_SCOPE_*` (0 universe, 253 link, 254 host).
    pub scope: u8,
    /// `IFA_F_*` flags (`IFA_FLAGS` when present, else the 8 bits of the header).
    pub flags: u32,
}

/// The table key of an address.
type Key = (u32, IpAddr, u8);

impl Addr {
    fn key(&self) -> Key {
        (self.index, self.address, self.prefix_len)
    }

    /// The network the address is in: the address with its host bits cleared.
    pub fn network(&self) -> IpAddr {
        match self.address {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                let mask = if self.prefix_len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix_len.min(32)))
                };
                IpAddr::V4(Ipv4Addr::from(bits & mask))
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                let mask = if self.prefix_len == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix_len.min(128)))
                };
                IpAddr::V6(Ipv6Addr::from(bits & mask))
            }
        }
    }
}

/// One change of the address table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrEvent {
    /// An address appeared, or its flags changed (the new state).
    Added(Addr),
    /// An address went away (its last known state).
    Removed(Addr),
}

/// One message of a datagram, as far as the address watcher cares (the link watcher's
/// message split, with addresses in place of links).
type Item = datagram::Item<Addr, Key>;

/// Parses an `ifaddrmsg` and its attributes; a damaged message is an error, never a panic.
fn parse_addr(payload: &[u8]) -> Result<Option<Addr>> {
    if payload.len() < IFADDRMSG_LEN {
        return Err(Error::malformed(PARSE, "ifaddrmsg shorter than 8 bytes"));
    }
    let family = payload[0];
    let prefix_len = payload[1];
    let mut flags = u32::from(payload[2]);
    let scope = payload[3];
    let index = u32::from_ne_bytes([payload[4], payload[5], payload[6], payload[7]]);
    let (mut address, mut local) = (None, None);
    for nla in NlasIterator::new(&payload[IFADDRMSG_LEN..]) {
        let nla = nla.map_err(|e| Error::malformed(PARSE, format!("address attribute: {e}")))?;
        let v = nla.value();
        let ip = match (family as i32, v.len()) {
            (libc::AF_INET, 4) => Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
            (libc::AF_INET6, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(v);
                Some(IpAddr::V6(Ipv6Addr::from(b)))
            }
            _ => None,
        };
        match nla.kind() {
            IFA_ADDRESS => address = ip,
            IFA_LOCAL => local = ip,
            IFA_FLAGS if v.len() == 4 => flags = u32::from_ne_bytes([v[0], v[1], v[2], v[3]]),
            _ => {}
        }
    }
    if family as i32 != libc::AF_INET && family as i32 != libc::AF_INET6 {
        return Ok(None);
    }
    let Some(address) = local.or(address) else {
        return Err(Error::malformed(
            PARSE,
            "address message without an address",
        ));
    };
    let max = if address.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return Err(Error::malformed(
            PARSE,
            format!("prefix length {prefix_len} > {max}"),
        ));
    }
    Ok(Some(Addr {
        index,
        address,
        prefix_len,
        scope,
        flags,
    }))
}

/// Parses every message of one datagram ([`datagram::split`]); a framing or address error
/// ends the list with one `Err`.
fn parse(buf: &[u8]) -> Vec<Result<(Header, Item)>> {
    datagram::split(buf, |h, payload| match h.kind {
        RTM_NEWADDR | RTM_DELADDR => match parse_addr(payload)? {
            Some(a) if h.kind == RTM_NEWADDR => Ok(Item::New(a)),
            Some(a) => Ok(Item::Del(a.key())),
            None => Ok(Item::Ignored),
        },
        _ => Ok(Item::Ignored),
    })
}

/// An `RTM_GETADDR` dump request (`AF_UNSPEC`: both families).
fn dump_request(seq: u32) -> Vec<u8> {
    let len = HEADER_LEN + IFADDRMSG_LEN;
    let mut buf = vec![0u8; len];
    Header {
        length: len as u32,
        kind: RTM_GETADDR,
        flags: NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        pid: 0,
    }
    .write(&mut buf);
    buf
}

/// A loss-free, self-resynchronising view of the IPv4 and IPv6 addresses of one network
/// namespace: the [`super::LinkWatcher`]'s design applied to `RTNLGRP_IPV4_IFADDR` and
/// `RTNLGRP_IPV6_IFADDR`. [`WatchOptions::read_speed`] is ignored.
///
/// Not thread-safe (`&mut self`); wrap it in a mutex to share it.
#[derive(Debug)]
pub struct AddrWatcher {
    sock: Socket,
    addrs: HashMap<Key, Addr>,
    pending: VecDeque<AddrEvent>,
    stats: Stats,
    need_resync: bool,
    dump_timeout: Duration,
}

impl AddrWatcher {
    /// Opens the watcher: socket in `opts.netns`, receive buffer, subscription to both address
    /// groups, initial dump.
    pub fn new(opts: WatchOptions) -> Result<AddrWatcher> {
        let sock = Socket::open(
            libc::NETLINK_ROUTE as isize,
            &SocketOptions {
                netns: opts.netns.clone(),
                rcvbuf: None,
                timeout: None,
                strict: false,
            },
        )?;
        let rcvbuf = sock.set_recv_buffer(opts.rcvbuf)?;
        set_nonblocking(sock.as_raw_fd())?;
        sock.add_membership(RTNLGRP_IPV4_IFADDR)?;
        sock.add_membership(RTNLGRP_IPV6_IFADDR)?;
        let mut w = AddrWatcher {
            sock,
            addrs: HashMap::new(),
            pending: VecDeque::new(),
            stats: Stats {
                rcvbuf: rcvbuf as u64,
                ..Stats::default()
            },
            need_resync: false,
            dump_timeout: opts.dump_timeout,
        };
        w.addrs = w.dump()?;
        Ok(w)
    }

    /// Every address known now, sorted by ifindex, then address: the state after every event
    /// returned so far and those still queued.
    pub fn snapshot(&self) -> Vec<Addr> {
        let mut v: Vec<Addr> = self.addrs.values().cloned().collect();
        v.sort_by_key(|a| a.key());
        v
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Returns the next event, waiting at most `timeout` (`None`: forever); `Ok(None)` when
    /// none came in time. As [`super::LinkWatcher::next_event`]: one datagram read at a time,
    /// a resynchronisation after loss, an undecodable notification returned as an error after
    /// scheduling a resynchronisation.
    pub fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<AddrEvent>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(e) = self.pending.pop_front() {
                self.stats.events += 1;
                return Ok(Some(e));
            }
            if self.need_resync {
                self.resync()?;
                continue;
            }
            let items = match receive(
                &mut self.sock,
                &mut self.stats,
                &mut self.need_resync,
                deadline,
                parse,
            )? {
                Received::Items(items) => items,
                Received::Again => continue,
                Received::TimedOut => return Ok(None),
            };
            for item in items {
                let (h, item) = match item {
                    Ok(x) => x,
                    Err(e) => {
                        self.stats.malformed += 1;
                        self.need_resync = true;
                        return Err(e);
                    }
                };
                if h.flags & NLM_F_MULTI != 0 {
                    continue; // the tail of an abandoned dump
                }
                match item {
                    Item::New(a) => {
                        self.stats.messages += 1;
                        if self.addrs.insert(a.key(), a.clone()).as_ref() != Some(&a) {
                            self.pending.push_back(AddrEvent::Added(a));
                        }
                    }
                    Item::Del(k) => {
                        self.stats.messages += 1;
                        if let Some(old) = self.addrs.remove(&k) {
                            self.pending.push_back(AddrEvent::Removed(old));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Resynchronises now, as after a loss (counted in [`Stats::resyncs`]).
    pub fn resync_now(&mut self) -> Result<()> {
        self.resync()
    }

    fn resync(&mut self) -> Result<()> {
        let fresh = self.dump()?;
        self.need_resync = false;
        self.stats.resyncs += 1;
        let mut gone: Vec<&Addr> = self
            .addrs
            .values()
            .filter(|a| !fresh.contains_key(&a.key()))
            .collect();
        gone.sort_by_key(|a| a.key());
        for a in gone {
            self.pending.push_back(AddrEvent::Removed(a.clone()));
        }
        let mut now: Vec<&Addr> = fresh.values().collect();
        now.sort_by_key(|a| a.key());
        for a in now {
            if self.addrs.get(&a.key()) != Some(a) {
                self.pending.push_back(AddrEvent::Added(a.clone()));
            }
        }
        self.addrs = fresh;
        Ok(())
    }

    /// A complete table ([`dump::dump`]); any error leaves a resync pending.
    fn dump(&mut self) -> Result<HashMap<Key, Addr>> {
        let fresh = dump::dump(
            &mut self.sock,
            &mut self.stats,
            self.dump_timeout,
            "address",
            |seq| Ok(dump_request(seq)),
            parse,
            |table, a: Addr| {
                table.insert(a.key(), a);
            },
        );
        if fresh.is_err() {
            self.need_resync = true;
        }
        fresh
    }
}

impl AsRawFd for AddrWatcher {
    /// The netlink socket, for `poll`/`epoll` loops (as [`super::LinkWatcher`]'s).
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::message::tests::msg as frame;
    use crate::netlink::message::NLMSG_DONE;

    fn ifaddr(family: u8, plen: u8, index: u32, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut v = vec![family, plen, 0x80, 0];
        v.extend(index.to_ne_bytes());
        for (kind, val) in attrs {
            let len = 4 + val.len();
            v.extend((len as u16).to_ne_bytes());
            v.extend(kind.to_ne_bytes());
            v.extend_from_slice(val);
            while v.len() % 4 != 0 {
                v.push(0);
            }
        }
        v
    }

    #[test]
    fn parses_ipv4_local_ipv6_address_and_flags() {
        let v4 = ifaddr(
            libc::AF_INET as u8,
            24,
            3,
            &[(IFA_ADDRESS, &[10, 0, 0, 9]), (IFA_LOCAL, &[10, 0, 0, 1])],
        );
        let a = parse_addr(&v4).unwrap().unwrap();
        assert_eq!(a.address, "10.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!((a.index, a.prefix_len, a.flags), (3, 24, 0x80));
        assert_eq!(a.network(), "10.0.0.0".parse::<IpAddr>().unwrap());
        let ip6: Ipv6Addr = "2001:db8::5".parse().unwrap();
        let v6 = ifaddr(
            libc::AF_INET6 as u8,
            64,
            4,
            &[
                (IFA_ADDRESS, &ip6.octets()),
                (IFA_FLAGS, &IFA_F_TENTATIVE.to_ne_bytes()),
            ],
        );
        let a = parse_addr(&v6).unwrap().unwrap();
        assert_eq!(a.address, IpAddr::V6(ip6));
        assert_eq!(a.flags, IFA_F_TENTATIVE);
        assert_eq!(a.network(), "2001:db8::".parse::<IpAddr>().unwrap());
        let mut d = frame(RTM_NEWADDR, 2, 5, &v4);
        d.extend(frame(RTM_DELADDR, 0, 0, &v6));
        d.extend(frame(NLMSG_DONE, 2, 5, &0i32.to_ne_bytes()));
        let items: Vec<_> = parse(&d).into_iter().map(|r| r.unwrap().1).collect();
        assert!(matches!(&items[0], Item::New(a) if a.index == 3));
        assert_eq!(items[1], Item::Del((4, IpAddr::V6(ip6), 64)));
        assert_eq!(items[2], Item::Done(0));
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let good = ifaddr(libc::AF_INET as u8, 24, 3, &[(IFA_LOCAL, &[10, 0, 0, 1])]);
        let d = frame(RTM_NEWADDR, 0, 0, &good);
        for cut in 0..d.len() {
            let _ = parse(&d[..cut]);
        }
        for i in 0..d.len() {
            let mut bad = d.clone();
            bad[i] ^= 0xff;
            let _ = parse(&bad);
        }
        assert!(parse_addr(&good[..4]).is_err());
        let no_addr = ifaddr(libc::AF_INET as u8, 24, 3, &[]);
        assert!(parse_addr(&no_addr).is_err());
        let too_long = ifaddr(libc::AF_INET as u8, 33, 3, &[(IFA_LOCAL, &[10, 0, 0, 1])]);
        assert!(parse_addr(&too_long).is_err());
        let other = ifaddr(libc::AF_PACKET as u8, 0, 3, &[]);
        assert_eq!(parse_addr(&other).unwrap(), None);
    }

    #[test]
    fn dump_request_is_well_formed() {
        let r = dump_request(7);
        let h = Header::parse(&r).unwrap();
        assert_eq!(
            (h.length as usize, h.kind, h.seq),
            (r.len(), RTM_GETADDR, 7)
        );
        assert_eq!(h.flags & NLM_F_DUMP, NLM_F_DUMP);
    }
}
