//! Splitting one received datagram into link messages, checking every length.

use crate::error::{Error, LinkWatchOperation, Origin, Result};
use crate::netlink::message::{self, Header, HEADER_LEN, NLMSG_DONE, NLMSG_ERROR};
use crate::netlink::rtm::{RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK};
use crate::netlink::Ack;

use super::link::{parse_link, Link};

/// `AF_BRIDGE`: bridge-port notifications share RTNLGRP_LINK but describe port state, and an
/// `RTM_DELLINK` of this family means "left the bridge", not "deleted".
const AF_BRIDGE: u8 = 7;

/// One message of a datagram, as far as a watcher cares: the link watcher's (the defaults)
/// or the address watcher's (`Item<Addr, its table key>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item<N = Link, D = u32> {
    /// `RTM_NEWLINK` (`AF_UNSPEC`): the full state of one link (or one address).
    New(N),
    /// `RTM_DELLINK` (`AF_UNSPEC`): the link with this ifindex is gone from the namespace (or
    /// the address with this key).
    Del(D),
    /// `NLMSG_DONE` with the errno it carries (0 for success).
    Done(i32),
    /// `NLMSG_ERROR` with its errno (0 is an ack).
    Error(i32),
    /// Anything else (other message types, `AF_BRIDGE` port messages).
    Ignored,
}

/// Splits `buf` into its messages: `NLMSG_DONE` and `NLMSG_ERROR` are read here, every other
/// message by `decode` (its header and payload). A framing error (a length running past the
/// datagram) or an error from `decode` ends the list with one `Err`; nothing here panics on
/// bad input.
pub(crate) fn split<N, D>(
    buf: &[u8],
    mut decode: impl FnMut(&Header, &[u8]) -> Result<Item<N, D>>,
) -> Vec<Result<(Header, Item<N, D>)>> {
    let mut out = Vec::new();
    for m in message::messages(buf) {
        let (h, msg) = match m {
            Ok(x) => x,
            Err(e) => {
                out.push(Err(e));
                break;
            }
        };
        let item = match h.kind {
            NLMSG_DONE => Ok(Item::Done(message::done_errno(msg))),
            NLMSG_ERROR => Ack::parse(&h, msg).map(|a| Item::Error(a.errno)),
            _ => decode(&h, &msg[HEADER_LEN..]),
        };
        match item {
            Ok(i) => out.push(Ok((h, i))),
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    out
}

/// Parses every message of `buf` for the link watcher ([`split`]); a link message the codec
/// rejects ends the list with one `Err`.
pub(crate) fn parse(buf: &[u8]) -> Vec<Result<(Header, Item)>> {
    split(buf, |h, payload| match h.kind {
        RTM_NEWLINK | RTM_DELLINK => match parse_link(payload, h.kind == RTM_NEWLINK) {
            Ok(p) if p.family == AF_BRIDGE => Ok(Item::Ignored),
            Ok(p) if h.kind == RTM_NEWLINK => Ok(Item::New(p.link)),
            Ok(p) => Ok(Item::Del(p.link.index)),
            Err(e) => Err(e.with_context(format!(
                "{} (type {}, {} bytes)",
                "undecodable link message",
                h.kind,
                HEADER_LEN + payload.len()
            ))),
        },
        _ => Ok(Item::Ignored),
    })
}

/// Encodes an `RTM_GETLINK` dump request with sequence number `seq`, asking the kernel to skip
/// statistics (`RTEXT_FILTER_SKIP_STATS`); kernels that do not know a filter bit ignore it.
pub(crate) fn dump_request(seq: u32) -> Result<Vec<u8>> {
    use netlink_packet_core::Emitable;
    use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
    let mut lm = LinkMessage::default();
    lm.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    let len = HEADER_LEN + lm.buffer_len();
    let mut buf = vec![0u8; len];
    Header {
        length: len as u32,
        kind: RTM_GETLINK,
        flags: message::NLM_F_REQUEST | message::NLM_F_DUMP,
        seq,
        pid: 0,
    }
    .write(&mut buf);
    lm.emit(&mut buf[HEADER_LEN..]);
    if len > u32::MAX as usize {
        return Err(Error::invalid(
            Origin::LinkWatch(LinkWatchOperation::Resync),
            "dump request too large",
        ));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linkwatch::link::tests::encode;
    use crate::netlink::message::tests::msg as frame;
    use netlink_packet_route::link::LinkAttribute;
    use netlink_packet_route::AddressFamily;

    #[test]
    fn splits_link_done_and_bridge_messages() {
        let name = vec![LinkAttribute::IfName("v0".into())];
        let mut d = frame(
            RTM_NEWLINK,
            2,
            5,
            &encode(4, 0, AddressFamily::Unspec, name.clone()),
        );
        d.extend(frame(
            RTM_NEWLINK,
            0,
            0,
            &encode(4, 0, AddressFamily::Bridge, name),
        ));
        d.extend(frame(
            RTM_DELLINK,
            0,
            0,
            &encode(9, 0, AddressFamily::Unspec, vec![]),
        ));
        d.extend(frame(NLMSG_DONE, 2, 5, &0i32.to_ne_bytes()));
        let items: Vec<_> = parse(&d).into_iter().map(|r| r.unwrap().1).collect();
        assert!(matches!(&items[0], Item::New(l) if l.name == "v0" && l.index == 4));
        assert_eq!(items[1], Item::Ignored);
        assert_eq!(items[2], Item::Del(9));
        assert_eq!(items[3], Item::Done(0));
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let good = encode(
            4,
            0,
            AddressFamily::Unspec,
            vec![LinkAttribute::IfName("v0".into())],
        );
        let d = frame(RTM_NEWLINK, 0, 0, &good);
        // Every truncation of the datagram and every corrupted length byte must parse to
        // an error or to items, never panic.
        for cut in 0..d.len() {
            let _ = parse(&d[..cut]);
        }
        for i in 0..d.len() {
            let mut bad = d.clone();
            bad[i] ^= 0xff;
            let _ = parse(&bad);
        }
        let mut short = d.clone();
        short[0] = 20; // header says 20 bytes: the ifinfomsg is cut
        assert!(parse(&short).iter().any(|r| r.is_err()));
        let long = {
            let mut l = d.clone();
            l[0] = 200;
            l
        };
        assert!(parse(&long)[0].is_err());
    }

    #[test]
    fn dump_request_is_well_formed() {
        let r = dump_request(42).unwrap();
        let h = Header::parse(&r).unwrap();
        assert_eq!(h.length as usize, r.len());
        assert_eq!(h.kind, RTM_GETLINK);
        assert_eq!(h.seq, 42);
        assert_eq!(h.flags & message::NLM_F_DUMP, message::NLM_F_DUMP);
    }
}
