//! Netlink message framing: the typed `struct nlmsghdr` ([`Header`], read and written), the
//! generic netlink header, splitting a received datagram into messages, and `NLMSG_ERROR` acks
//! with their extended-ack text, parsed defensively (no length field is trusted).
//!
//! The payload codecs (netlink-packet-generic, netlink-packet-route, our own IPVS and nexthop
//! codecs over [`super::attr`]) encode and parse what is inside a message.

use super::attr::attrs;
use crate::error::{Error, NetlinkOperation, Origin, Result};

const PARSE: Origin = Origin::Netlink(NetlinkOperation::Parse);

pub use super::attr::align;
/// Size of `struct nlmsghdr` (16): libc's struct, as netlink-packet-core 0.9 keeps its
/// `NETLINK_HEADER_LEN` private.
pub const HEADER_LEN: usize = std::mem::size_of::<libc::nlmsghdr>();
/// `NLM_F_MULTI` (netlink-packet-core's `NLM_F_MULTIPART`).
pub use netlink_packet_core::NLM_F_MULTIPART as NLM_F_MULTI;
pub use netlink_packet_core::{
    NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_APPEND,
    NLM_F_CAPPED, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REPLACE,
    NLM_F_REQUEST,
};
/// Size of `struct genlmsghdr` (netlink-packet-generic's `GENL_HDRLEN`).
pub use netlink_packet_generic::constants::GENL_HDRLEN;

/// `NLMSGERR_ATTR_MSG`: the extended-ack text.
///
/// netlink-packet-core 0.9 does not parse extended acks: its `ErrorMessage` keeps everything
/// after the error code as raw bytes and it defines no `NLMSGERR_ATTR_*`, so the TLVs are read
/// here with the crate's attribute reader.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// A parsed `struct nlmsghdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Total length including the header.
    pub length: u32,
    /// Message type.
    pub kind: u16,
    /// Flags (`NLM_F_*`).
    pub flags: u16,
    /// Sequence number.
    pub seq: u32,
    /// Port id.
    pub pid: u32,
}

impl Header {
    /// Reads a header from the first 16 bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Header> {
        if buf.len() < HEADER_LEN {
            return Err(Error::malformed(
                PARSE,
                format!(
                    "netlink header truncated: {} of {HEADER_LEN} bytes",
                    buf.len()
                ),
            ));
        }
        let u32_at = |i: usize| u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
        let u16_at = |i: usize| u16::from_ne_bytes([buf[i], buf[i + 1]]);
        Ok(Header {
            length: u32_at(0),
            kind: u16_at(4),
            flags: u16_at(6),
            seq: u32_at(8),
            pid: u32_at(12),
        })
    }

    /// Writes this header into the first 16 bytes of `buf` (which must be long enough).
    pub fn write(&self, buf: &mut [u8]) {
        buf[0..4].copy_from_slice(&self.length.to_ne_bytes());
        buf[4..6].copy_from_slice(&self.kind.to_ne_bytes());
        buf[6..8].copy_from_slice(&self.flags.to_ne_bytes());
        buf[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        buf[12..16].copy_from_slice(&self.pid.to_ne_bytes());
    }

    /// Appends this header to `out` and returns the offset of the message it starts; the
    /// length is written by [`Header::finish`] once the payload follows.
    #[inline]
    pub fn append(&self, out: &mut Vec<u8>) -> usize {
        let at = out.len();
        let (l, k, f) = (
            self.length.to_ne_bytes(),
            self.kind.to_ne_bytes(),
            self.flags.to_ne_bytes(),
        );
        let (s, p) = (self.seq.to_ne_bytes(), self.pid.to_ne_bytes());
        #[rustfmt::skip]
        out.extend_from_slice(&[
            l[0], l[1], l[2], l[3], k[0], k[1], f[0], f[1],
            s[0], s[1], s[2], s[3], p[0], p[1], p[2], p[3],
        ]);
        at
    }

    /// Writes `nlmsg_len` of the message that starts at `start` and runs to the end of `out`.
    #[inline]
    pub fn finish(out: &mut [u8], start: usize) {
        let len = (out.len() - start) as u32;
        out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    /// Sets `nlmsg_type` of the message at the start of `msg` (for generic netlink, the family
    /// id), leaving the rest of the header as it is.
    #[inline]
    pub fn set_kind(msg: &mut [u8], kind: u16) {
        msg[4..6].copy_from_slice(&kind.to_ne_bytes());
    }
}

/// Splits a generic netlink message (header included) into its command (`genlmsghdr.cmd`) and
/// its attribute bytes.
pub fn genl_body(msg: &[u8]) -> Result<(u8, &[u8])> {
    if msg.len() < HEADER_LEN + GENL_HDRLEN {
        return Err(Error::malformed(
            PARSE,
            format!(
                "generic netlink message of {} bytes is shorter than its headers",
                msg.len()
            ),
        ));
    }
    Ok((msg[HEADER_LEN], &msg[HEADER_LEN + GENL_HDRLEN..]))
}

/// Iterates over the messages of one received datagram.
///
/// Each item is the header and the whole message (header included). A length field that is
/// shorter than a header or runs past the datagram yields one error and ends the iteration.
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { buf, done: false }
}

/// Iterator returned by [`messages`].
#[derive(Debug)]
pub struct Messages<'a> {
    buf: &'a [u8],
    done: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<(Header, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.buf.is_empty() {
            return None;
        }
        let hdr = match Header::parse(self.buf) {
            Ok(h) => h,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let len = hdr.length as usize;
        if len < HEADER_LEN || len > self.buf.len() {
            self.done = true;
            return Some(Err(Error::malformed(
                PARSE,
                format!(
                    "netlink message length {len} invalid for {} bytes received",
                    self.buf.len()
                ),
            )));
        }
        let msg = &self.buf[..len];
        let next = align(len).min(self.buf.len());
        self.buf = &self.buf[next..];
        Some(Ok((hdr, msg)))
    }
}

/// The contents of an `NLMSG_ERROR` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// 0 for an ack, a positive errno for an error.
    pub errno: i32,
    /// Sequence number of the request it answers (from the echoed header).
    pub request_seq: u32,
    /// The extended-ack text, if the kernel sent one.
    pub ext_ack: Option<String>,
}

impl Ack {
    /// Parses an `NLMSG_ERROR` message (`msg` includes its header).
    pub fn parse(hdr: &Header, msg: &[u8]) -> Result<Ack> {
        let body = &msg[HEADER_LEN..];
        if body.len() < 4 + HEADER_LEN {
            return Err(Error::malformed(
                PARSE,
                format!("NLMSG_ERROR truncated: {} bytes of payload", body.len()),
            ));
        }
        let code = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
        let echoed = Header::parse(&body[4..])?;
        let errno = code.checked_neg().unwrap_or(libc::EIO);
        if errno < 0 {
            return Err(Error::malformed(
                PARSE,
                format!("NLMSG_ERROR with positive code {code}"),
            ));
        }
        let mut ext_ack = None;
        if hdr.flags & NLM_F_ACK_TLVS != 0 {
            // The original request follows unless capped; TLVs come after it.
            let echoed_len = if hdr.flags & NLM_F_CAPPED != 0 || errno == 0 {
                HEADER_LEN
            } else {
                align(echoed.length as usize)
            };
            let start = 4 + echoed_len;
            if start <= body.len() {
                ext_ack = parse_ext_ack(&body[start..]);
            }
        }
        Ok(Ack {
            errno,
            request_seq: echoed.seq,
            ext_ack,
        })
    }
}

/// Finds `NLMSGERR_ATTR_MSG` in the TLVs of an extended ack; malformed TLVs end the search.
fn parse_ext_ack(tlvs: &[u8]) -> Option<String> {
    for a in attrs(tlvs) {
        let (kind, value) = a.ok()?;
        if kind == NLMSGERR_ATTR_MSG {
            let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            return Some(String::from_utf8_lossy(&value[..end]).into_owned());
        }
    }
    None
}

/// Reads the error code carried by an `NLMSG_DONE` (0 if absent).
pub fn done_errno(msg: &[u8]) -> i32 {
    let body = &msg[HEADER_LEN..];
    if body.len() >= 4 {
        let code = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
        code.checked_neg().unwrap_or(libc::EIO).max(0)
    } else {
        0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One message of `kind` with `payload`, padded to 4 bytes (for the framing tests here and
    /// in other modules).
    pub(crate) fn msg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; HEADER_LEN];
        Header {
            length: (HEADER_LEN + payload.len()) as u32,
            kind,
            flags,
            seq,
            pid: 0,
        }
        .write(&mut v);
        v.extend_from_slice(payload);
        while !v.len().is_multiple_of(4) {
            v.push(0);
        }
        v
    }

    fn error_payload(code: i32, seq: u32, tlv_msg: Option<&str>) -> Vec<u8> {
        let mut p = code.to_ne_bytes().to_vec();
        let mut echoed = vec![0u8; HEADER_LEN];
        Header {
            length: 32,
            kind: 0x20,
            flags: 5,
            seq,
            pid: 0,
        }
        .write(&mut echoed);
        p.extend_from_slice(&echoed);
        if let Some(m) = tlv_msg {
            let mut value = m.as_bytes().to_vec();
            value.push(0);
            p.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
            p.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
            p.extend_from_slice(&value);
        }
        p
    }

    #[test]
    fn splits_datagrams() {
        let mut d = msg(16, 0, 1, &[1, 2, 3]);
        d.extend(msg(NLMSG_DONE, 0, 1, &0i32.to_ne_bytes()));
        let all: Vec<_> = messages(&d).collect::<Result<_>>().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].0.kind, 16);
        assert_eq!(all[0].1.len(), 19);
        assert_eq!(all[1].0.kind, NLMSG_DONE);
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut d = msg(16, 0, 1, &[1, 2, 3, 4]);
        d[0] = 200; // claims more than received
        let r: Vec<_> = messages(&d).collect();
        assert_eq!(r.len(), 1);
        assert!(r[0].is_err());
        let mut d = msg(16, 0, 1, &[]);
        d[0] = 4; // shorter than a header
        assert!(messages(&d).next().unwrap().is_err());
        assert!(messages(&d[..10]).next().unwrap().is_err());
    }

    #[test]
    fn parses_acks_and_ext_ack() {
        let p = error_payload(-libc::EEXIST, 7, Some("Service already exists"));
        let m = msg(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 7, &p);
        let h = Header::parse(&m).unwrap();
        let a = Ack::parse(&h, &m).unwrap();
        assert_eq!(a.errno, libc::EEXIST);
        assert_eq!(a.request_seq, 7);
        assert_eq!(a.ext_ack.as_deref(), Some("Service already exists"));

        let p = error_payload(0, 9, None);
        let m = msg(NLMSG_ERROR, NLM_F_CAPPED, 9, &p);
        let a = Ack::parse(&Header::parse(&m).unwrap(), &m).unwrap();
        assert_eq!((a.errno, a.request_seq, a.ext_ack), (0, 9, None));
    }

    #[test]
    fn truncated_error_is_malformed() {
        let m = msg(NLMSG_ERROR, 0, 1, &[0, 0, 0, 0, 1]);
        assert!(Ack::parse(&Header::parse(&m).unwrap(), &m).is_err());
        let m = msg(NLMSG_ERROR, 0, 1, &5i32.to_ne_bytes());
        assert!(Ack::parse(&Header::parse(&m).unwrap(), &m).is_err());
    }

    #[test]
    fn bad_tlvs_are_ignored_not_fatal() {
        let mut p = error_payload(-libc::EINVAL, 3, None);
        p.extend_from_slice(&[200, 0, 1, 0, b'x']); // TLV claims 200 bytes
        let m = msg(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 3, &p);
        let a = Ack::parse(&Header::parse(&m).unwrap(), &m).unwrap();
        assert_eq!(a.errno, libc::EINVAL);
        assert_eq!(a.ext_ack, None);
    }

    #[test]
    fn done_carries_errno() {
        let m = msg(NLMSG_DONE, 0, 1, &(-libc::EINTR).to_ne_bytes());
        assert_eq!(done_errno(&m), libc::EINTR);
        let m = msg(NLMSG_DONE, 0, 1, &[]);
        assert_eq!(done_errno(&m), 0);
    }
}
