//! One netlink socket: requests, dumps and pipelined batches with ack accounting.

use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use netlink_sys::Socket as SysSocket;

use super::message::{
    self, Ack, Header, HEADER_LEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK,
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use crate::error::{Error, ErrorKind, NetlinkOperation, Origin, Result};
use crate::netns::NetNs;

const OPEN: Origin = Origin::Netlink(NetlinkOperation::Open);
const RECEIVE: Origin = Origin::Netlink(NetlinkOperation::Receive);
const REQUEST: Origin = Origin::Netlink(NetlinkOperation::Request);

/// Receive buffer size for one `recvmsg`. The kernel fills a dump skb up to 32 KiB when the
/// reader offers that much (`netlink_recvmsg` records `max_recvmsg_len`), so dumps that resume by
/// re-walking a table (IPVS) take few passes.
const RECV_CHUNK: usize = 64 * 1024;

/// Default `SO_RCVBUF` asked for: big enough for the acks of a whole pipelined chunk.
pub const DEFAULT_RCVBUF: usize = 4 * 1024 * 1024;

/// Most bytes put in one `sendmsg`. The kernel refuses a datagram above `sk_sndbuf - 32`
/// (`EMSGSIZE`), and every message of a datagram is acked into our receive buffer, which must hold
/// those acks (each costs about 1 KiB of truesize) until we read them.
const SEND_CHUNK_BYTES: usize = 64 * 1024;
/// Room kept in the send buffer past [`SEND_CHUNK_BYTES`] for the message that overflows a chunk
/// (and is carried to the next one), so that the buffer does not grow by doubling.
const SEND_SLACK: usize = 4096;
/// Most messages put in one `sendmsg` (see [`SEND_CHUNK_BYTES`]).
const SEND_CHUNK_MSGS: usize = 1024;

/// Options for opening a [`Socket`].
#[derive(Debug, Clone)]
pub struct SocketOptions {
    /// Network namespace the socket lives in.
    pub netns: NetNs,
    /// Receive buffer to ask for (`SO_RCVBUFFORCE`, falling back to `SO_RCVBUF`); `None` keeps
    /// the system default.
    pub rcvbuf: Option<usize>,
    /// Receive timeout: a call waiting longer for the kernel fails with [`ErrorKind::Timeout`]
    /// instead of hanging. `None` waits forever.
    pub timeout: Option<Duration>,
    /// Ask for strict checking of dump requests (`NETLINK_GET_STRICT_CHK`, kernel 4.20+), so that
    /// rtnetlink filters dumps in the kernel. Ignored where the kernel lacks it.
    pub strict: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            netns: NetNs::Current,
            rcvbuf: Some(DEFAULT_RCVBUF),
            timeout: Some(Duration::from_secs(30)),
            strict: false,
        }
    }
}

/// A netlink socket of one protocol (`NETLINK_GENERIC`, `NETLINK_ROUTE`, ...).
///
/// Not thread-safe by itself (`&mut self` everywhere); wrap it in a mutex to share it.
#[derive(Debug)]
pub struct Socket {
    sock: SysSocket,
    seq: u32,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

fn sys_err(origin: Origin, what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| {
        Error::from_kernel(
            origin,
            e.raw_os_error().unwrap_or(libc::EIO),
            what.to_string(),
            None,
        )
    }
}

impl Socket {
    /// Opens and binds a socket of `protocol` with `opts`.
    ///
    /// Turns on `NETLINK_EXT_ACK` (kernel 4.12+) for readable error texts and `NETLINK_CAP_ACK`
    /// (4.3+) so errors do not echo whole requests back; both are best effort.
    pub fn open(protocol: isize, opts: &SocketOptions) -> Result<Socket> {
        let sock = opts.netns.run(|| {
            let mut s = SysSocket::new(protocol).map_err(sys_err(OPEN, "socket(AF_NETLINK)"))?;
            s.bind_auto()
                .map_err(sys_err(OPEN, "bind netlink socket"))?;
            Ok(s)
        })?;
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        if opts.strict {
            let _ = sock.set_netlink_get_strict_chk(true);
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        let s = Socket {
            sock,
            seq: seed | 1,
            recv_buf: vec![0u8; RECV_CHUNK],
            send_buf: Vec::new(),
        };
        if let Some(size) = opts.rcvbuf {
            s.set_recv_buffer(size)?;
        }
        s.set_timeout(opts.timeout)?;
        Ok(s)
    }

    /// Sets the receive buffer: `SO_RCVBUFFORCE` (needs `CAP_NET_ADMIN`, passes
    /// `net.core.rmem_max`), falling back to `SO_RCVBUF` (capped at `rmem_max`). Returns the size
    /// the kernel reports (it doubles the request for bookkeeping).
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<usize> {
        let val: libc::c_int = bytes.min(i32::MAX as usize / 2) as libc::c_int;
        let fd = self.as_raw_fd();
        let set = |opt| {
            // SAFETY: valid fd, pointer to a live c_int of the right size.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    &val as *const _ as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            }
        };
        if set(libc::SO_RCVBUFFORCE) != 0 && set(libc::SO_RCVBUF) != 0 {
            return Err(sys_err(OPEN, "setsockopt(SO_RCVBUF)")(
                std::io::Error::last_os_error(),
            ));
        }
        self.sock
            .get_rx_buf_sz()
            .map_err(sys_err(OPEN, "getsockopt(SO_RCVBUF)"))
    }

    /// Sets the receive timeout (`SO_RCVTIMEO`); `None` waits forever.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        let tv = match timeout {
            Some(d) => libc::timeval {
                tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_usec: d.subsec_micros() as libc::suseconds_t,
            },
            None => libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
        };
        // SAFETY: valid fd and a live timeval.
        let rc = unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(sys_err(OPEN, "setsockopt(SO_RCVTIMEO)")(
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Joins multicast group `group` (an `RTNLGRP_*` number).
    pub fn add_membership(&self, group: u32) -> Result<()> {
        self.sock
            .add_membership(group)
            .map_err(sys_err(OPEN, "join netlink multicast group"))
    }

    /// The underlying netlink-sys socket, for options this type does not wrap.
    pub fn inner(&self) -> &SysSocket {
        &self.sock
    }

    /// Returns a fresh sequence number.
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
    }

    /// Sends a datagram as it is.
    pub fn send_raw(&self, buf: &[u8]) -> Result<()> {
        let n = self.sock.send(buf, 0).map_err(sys_err(
            Origin::Netlink(NetlinkOperation::Send),
            "sendmsg(netlink)",
        ))?;
        if n != buf.len() {
            return Err(Error::new(
                Origin::Netlink(NetlinkOperation::Send),
                ErrorKind::Io,
                format!("short netlink send: {n} of {}", buf.len()),
            ));
        }
        Ok(())
    }

    /// Receives one datagram into the socket's buffer and returns it.
    ///
    /// A datagram larger than the buffer is an error (`MSG_TRUNC`), never silently cut;
    /// `ENOBUFS` (lost notifications or acks) comes back as [`ErrorKind::Overrun`], a timeout as
    /// [`ErrorKind::Timeout`].
    pub fn recv_raw(&mut self) -> Result<&[u8]> {
        loop {
            // SAFETY: the buffer is valid for its length; MSG_TRUNC makes the return value the
            // real datagram length so we can detect truncation.
            let n = unsafe {
                libc::recv(
                    self.sock.as_raw_fd(),
                    self.recv_buf.as_mut_ptr() as *mut libc::c_void,
                    self.recv_buf.len(),
                    libc::MSG_TRUNC,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => {
                        return Err(Error::new(
                            RECEIVE,
                            ErrorKind::Timeout,
                            "no reply from the kernel",
                        ))
                    }
                    Some(libc::ENOBUFS) => {
                        return Err(Error::from_kernel(
                            RECEIVE,
                            libc::ENOBUFS,
                            "netlink receive buffer overrun",
                            None,
                        ))
                    }
                    _ => return Err(sys_err(RECEIVE, "recv(netlink)")(e)),
                }
            }
            let n = n as usize;
            if n > self.recv_buf.len() {
                // Grow for next time; this datagram is lost.
                self.recv_buf.resize(n.next_power_of_two(), 0);
                return Err(Error::malformed(
                    RECEIVE,
                    format!("netlink datagram of {n} bytes truncated"),
                ));
            }
            return Ok(&self.recv_buf[..n]);
        }
    }

    /// Sends one request and waits for its answer, calling `on_msg(header, message)` for every
    /// data message of the reply (the message slice includes its header).
    ///
    /// `msg` is a complete message; its sequence number is set here. A request with
    /// `NLM_F_DUMP` is read until `NLMSG_DONE`; any other request gets `NLM_F_ACK` and is read
    /// until its ack. A dump the kernel marked `NLM_F_DUMP_INTR` is read to its end and then
    /// reported as [`ErrorKind::Busy`] so the caller can retry.
    pub fn request<F>(&mut self, msg: &mut [u8], mut on_msg: F) -> Result<()>
    where
        F: FnMut(&Header, &[u8]) -> Result<()>,
    {
        let mut hdr = Header::parse(msg)?;
        let dump = hdr.flags & NLM_F_DUMP == NLM_F_DUMP;
        hdr.flags |= NLM_F_REQUEST;
        if !dump {
            hdr.flags |= NLM_F_ACK;
        }
        hdr.seq = self.next_seq();
        hdr.length = msg.len() as u32;
        hdr.write(msg);
        self.send_raw(msg)?;
        let seq = hdr.seq;
        let mut interrupted = false;
        let mut first_err: Option<Error> = None;
        loop {
            let buf = self.recv_raw()?;
            // Copy out what we need so the callback can borrow freely.
            let mut finished = false;
            for item in message::messages(buf) {
                let (h, m) = item?;
                if h.seq != seq {
                    continue; // stale reply of an earlier, abandoned request
                }
                if h.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match h.kind {
                    NLMSG_NOOP => {}
                    NLMSG_ERROR => {
                        let ack = Ack::parse(&h, m)?;
                        if ack.errno != 0 {
                            return Err(Error::from_kernel(
                                REQUEST,
                                ack.errno,
                                "netlink request",
                                ack.ext_ack,
                            ));
                        }
                        finished = true;
                    }
                    NLMSG_DONE => {
                        let errno = message::done_errno(m);
                        if errno != 0 {
                            return Err(Error::from_kernel(
                                Origin::Netlink(NetlinkOperation::Dump),
                                errno,
                                "netlink dump",
                                None,
                            ));
                        }
                        finished = true;
                    }
                    NLMSG_OVERRUN => {
                        return Err(Error::from_kernel(
                            REQUEST,
                            libc::ENOBUFS,
                            "netlink overrun",
                            None,
                        ))
                    }
                    _ => {
                        if first_err.is_none() {
                            if let Err(e) = on_msg(&h, m) {
                                first_err = Some(e);
                            }
                        }
                    }
                }
            }
            if finished {
                break;
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        if interrupted {
            return Err(Error::new(
                REQUEST,
                ErrorKind::Busy,
                "netlink dump interrupted by a concurrent change",
            ));
        }
        Ok(())
    }

    /// Sends one request that the kernel answers with exactly one message (a `GET` without
    /// `NLM_F_DUMP`, such as IPVS `GET_SERVICE`), without asking for an ack: the reply, passed to
    /// `on_msg(header, message)`, or an error ends the call. That spares the kernel the ack and
    /// the caller a `recvmsg`. A request with `NLM_F_DUMP` is handed to [`Socket::request`].
    ///
    /// Only for requests that always produce a reply on success: one that succeeds silently
    /// would wait for the timeout.
    pub fn query<F>(&mut self, msg: &mut [u8], mut on_msg: F) -> Result<()>
    where
        F: FnMut(&Header, &[u8]) -> Result<()>,
    {
        let mut hdr = Header::parse(msg)?;
        if hdr.flags & NLM_F_DUMP == NLM_F_DUMP {
            return self.request(msg, on_msg);
        }
        hdr.flags = (hdr.flags | NLM_F_REQUEST) & !NLM_F_ACK;
        hdr.seq = self.next_seq();
        hdr.length = msg.len() as u32;
        hdr.write(msg);
        self.send_raw(msg)?;
        let seq = hdr.seq;
        loop {
            let buf = self.recv_raw()?;
            for item in message::messages(buf) {
                let (h, m) = item?;
                if h.seq != seq {
                    continue; // stale reply of an earlier, abandoned request
                }
                match h.kind {
                    NLMSG_NOOP => {}
                    NLMSG_ERROR => {
                        let ack = Ack::parse(&h, m)?;
                        if ack.errno != 0 {
                            return Err(Error::from_kernel(
                                Origin::Netlink(NetlinkOperation::Query),
                                ack.errno,
                                "netlink request",
                                ack.ext_ack,
                            ));
                        }
                        return Ok(()); // an ack without a reply
                    }
                    NLMSG_DONE => return Ok(()),
                    NLMSG_OVERRUN => {
                        return Err(Error::from_kernel(
                            Origin::Netlink(NetlinkOperation::Query),
                            libc::ENOBUFS,
                            "netlink overrun",
                            None,
                        ))
                    }
                    _ => return on_msg(&h, m),
                }
            }
        }
    }

    /// Sends all `requests` pipelined (many per `sendmsg`) and returns one result per request, in
    /// order. Each request gets `NLM_F_REQUEST | NLM_F_ACK` and a fresh sequence number; the
    /// kernel processes every message of a datagram even when an earlier one fails, and acks each.
    ///
    /// The outer `Err` is for transport failures (the socket broke, acks were lost); then the
    /// outcome of the requests not yet acknowledged is unknown.
    pub fn execute(&mut self, requests: &mut Requests) -> Result<Vec<Result<()>>> {
        let mut results: Vec<Result<()>> = Vec::with_capacity(requests.len());
        let reqs: &Requests = requests;
        self.execute_with(
            reqs.len(),
            |i, out| {
                let (start, end) = reqs.range(i);
                out.extend_from_slice(&reqs.buf[start..end]);
                Ok(())
            },
            |_, r| results.push(r),
        )?;
        Ok(results)
    }

    /// Sends `count` requests pipelined without holding them all: `encode(i, buf)` appends
    /// request `i` (a complete message; flags, sequence and length are set here) to the socket's
    /// send buffer, at most [`SEND_CHUNK_MSGS`] messages or [`SEND_CHUNK_BYTES`] bytes go in one
    /// `sendmsg`, and the acks of a chunk are read before the next chunk is encoded. `result(i,
    /// r)` is called once per request, in order. Memory used is one chunk, whatever `count` is.
    ///
    /// The outer `Err` is for transport failures and for an `encode` failure; requests whose
    /// `result` was not called by then may or may not have been applied (an `encode` failure
    /// stops before its chunk is sent, so earlier chunks only were).
    pub fn execute_with<E, R>(&mut self, count: usize, mut encode: E, mut result: R) -> Result<()>
    where
        E: FnMut(usize, &mut Vec<u8>) -> Result<()>,
        R: FnMut(usize, Result<()>),
    {
        let mut send = std::mem::take(&mut self.send_buf);
        send.clear();
        // A chunk stops at the first message that passes SEND_CHUNK_BYTES: room for that one.
        send.reserve(SEND_CHUNK_BYTES + SEND_SLACK);
        let r = self.pipeline(count, &mut encode, &mut result, &mut send);
        if send.capacity() > 2 * SEND_CHUNK_BYTES {
            send = Vec::new(); // one huge message: do not keep its buffer
        }
        self.send_buf = send;
        r
    }

    fn pipeline(
        &mut self,
        count: usize,
        encode: &mut dyn FnMut(usize, &mut Vec<u8>) -> Result<()>,
        result: &mut dyn FnMut(usize, Result<()>),
        send: &mut Vec<u8>,
    ) -> Result<()> {
        // Invariant at the top of the loop: `send` holds the messages done..encoded (none, or
        // one carried over because it did not fit in the previous chunk), sequence numbers
        // base_seq.. in order.
        let mut done = 0;
        let mut encoded = 0;
        let mut base_seq = 0u32;
        let mut chunk: Vec<Option<Result<()>>> = Vec::new();
        while done < count {
            let mut boundary = send.len();
            let mut carry = false;
            while encoded < count && encoded - done < SEND_CHUNK_MSGS {
                let start = send.len();
                if let Err(e) = encode(encoded, send) {
                    send.truncate(start);
                    return Err(e);
                }
                let len = send.len() - start;
                if len < HEADER_LEN || len > u32::MAX as usize {
                    send.truncate(start);
                    return Err(Error::invalid(
                        Origin::Netlink(NetlinkOperation::Batch),
                        format!("encoded netlink message of {len} bytes"),
                    ));
                }
                let msg = &mut send[start..];
                let mut h = Header::parse(msg)?;
                h.flags |= NLM_F_REQUEST | NLM_F_ACK;
                h.seq = self.next_seq();
                h.length = len as u32;
                h.write(msg);
                if encoded == done {
                    base_seq = h.seq;
                }
                while !send.len().is_multiple_of(4) {
                    send.push(0);
                }
                encoded += 1;
                if encoded - done > 1 && send.len() > SEND_CHUNK_BYTES {
                    carry = true; // it goes first in the next chunk
                    break;
                }
                boundary = send.len();
            }
            let n = encoded - done - usize::from(carry);
            self.send_raw(&send[..boundary])?;
            // Collect the acks of this chunk.
            chunk.clear();
            chunk.resize_with(n, || None);
            let mut pending = n;
            while pending > 0 {
                let buf = self.recv_raw()?;
                for item in message::messages(buf) {
                    let (h, m) = item?;
                    if h.kind != NLMSG_ERROR {
                        continue;
                    }
                    let ack = Ack::parse(&h, m)?;
                    let idx = ack.request_seq.wrapping_sub(base_seq) as usize;
                    if idx >= n || chunk[idx].is_some() {
                        continue; // not ours (a stale ack of an abandoned request)
                    }
                    chunk[idx] = Some(if ack.errno == 0 {
                        Ok(())
                    } else {
                        Err(Error::from_kernel(
                            Origin::Netlink(NetlinkOperation::Batch),
                            ack.errno,
                            "netlink request",
                            ack.ext_ack,
                        ))
                    });
                    pending -= 1;
                }
            }
            for (k, r) in chunk.drain(..).enumerate() {
                result(done + k, r.unwrap_or(Ok(())));
            }
            done += n;
            if carry {
                // Move the carried message to the front; its sequence number starts the next
                // chunk.
                send.copy_within(boundary.., 0);
                send.truncate(send.len() - boundary);
                base_seq = Header::parse(send)?.seq;
            } else {
                send.clear();
            }
        }
        Ok(())
    }
}

/// Complete netlink messages laid end to end, to be sent pipelined by [`Socket::execute`].
#[derive(Debug, Default, Clone)]
pub struct Requests {
    buf: Vec<u8>,
    offsets: Vec<usize>,
}

impl Requests {
    /// An empty set of requests.
    pub fn new() -> Self {
        Requests::default()
    }

    /// Number of requests.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Removes all requests, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.offsets.clear();
    }

    /// Appends a message by letting `encode` write it at the end of the buffer. The header's
    /// length is fixed up from what was written; flags and sequence are set when sent.
    pub fn push_with<F>(&mut self, encode: F) -> Result<()>
    where
        F: FnOnce(&mut Vec<u8>) -> Result<()>,
    {
        let start = self.buf.len();
        if let Err(e) = encode(&mut self.buf) {
            self.buf.truncate(start);
            return Err(e);
        }
        let len = self.buf.len() - start;
        if len < HEADER_LEN || len > u32::MAX as usize {
            self.buf.truncate(start);
            return Err(Error::invalid(
                Origin::Netlink(NetlinkOperation::Encode),
                format!("encoded netlink message of {len} bytes"),
            ));
        }
        Header::finish(&mut self.buf, start);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        self.offsets.push(start);
        Ok(())
    }

    /// Appends a complete message.
    pub fn push(&mut self, msg: &[u8]) -> Result<()> {
        self.push_with(|b| {
            b.extend_from_slice(msg);
            Ok(())
        })
    }

    fn range(&self, i: usize) -> (usize, usize) {
        let start = self.offsets[i];
        let len = u32::from_ne_bytes([
            self.buf[start],
            self.buf[start + 1],
            self.buf[start + 2],
            self.buf[start + 3],
        ]) as usize;
        (start, start + len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::message::NLM_F_DUMP;

    fn getlink(flags: u16) -> Vec<u8> {
        // RTM_GETLINK with an ifinfomsg of 16 zero bytes.
        let mut m = vec![0u8; HEADER_LEN + 16];
        Header {
            length: m.len() as u32,
            kind: 18,
            flags: NLM_F_REQUEST | flags,
            seq: 0,
            pid: 0,
        }
        .write(&mut m);
        m
    }

    #[test]
    fn route_dump_against_the_running_kernel() {
        let mut s = Socket::open(libc::NETLINK_ROUTE as isize, &SocketOptions::default()).unwrap();
        let mut m = getlink(NLM_F_DUMP);
        let mut links = 0;
        s.request(&mut m, |h, _| {
            assert_eq!(h.kind, 16); // RTM_NEWLINK
            links += 1;
            Ok(())
        })
        .unwrap();
        assert!(links >= 1, "at least lo");
    }

    #[test]
    fn errors_carry_errno_per_request_in_a_batch() {
        let mut s = Socket::open(libc::NETLINK_ROUTE as isize, &SocketOptions::default()).unwrap();
        let mut reqs = Requests::new();
        // RTM_DELLINK of ifindex 0x7fffffff: ENODEV each time.
        for _ in 0..3000 {
            reqs.push_with(|b| {
                let mut m = getlink(0);
                Header {
                    length: 32,
                    kind: 17,
                    flags: 0,
                    seq: 0,
                    pid: 0,
                }
                .write(&mut m);
                m[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&0x7fff_fff0i32.to_ne_bytes());
                b.extend_from_slice(&m);
                Ok(())
            })
            .unwrap();
        }
        let res = s.execute(&mut reqs).unwrap();
        assert_eq!(res.len(), 3000);
        for r in res {
            assert_eq!(r.unwrap_err().errno(), libc::ENODEV);
        }
    }

    /// RTM_DELLINK of a missing ifindex (ENODEV) carrying an IFLA_IFALIAS of `alias` bytes so
    /// that sizes vary, or, when `short`, without its ifinfomsg (rtnetlink acks a message too
    /// short to carry a family with success and does nothing).
    fn dellink(out: &mut Vec<u8>, alias: usize, short: bool) {
        let start = out.len();
        let body = if short { 0 } else { 16 + 4 + alias + 1 };
        out.resize(start + HEADER_LEN + body, 0);
        Header {
            length: (HEADER_LEN + body) as u32,
            kind: 17,
            flags: 0,
            seq: 0,
            pid: 0,
        }
        .write(&mut out[start..]);
        if !short {
            let m = &mut out[start + HEADER_LEN..];
            m[4..8].copy_from_slice(&0x7fff_fff0i32.to_ne_bytes());
            m[16..18].copy_from_slice(&((4 + alias + 1) as u16).to_ne_bytes());
            m[18..20].copy_from_slice(&20u16.to_ne_bytes()); // IFLA_IFALIAS
            for b in &mut m[20..20 + alias] {
                *b = b'a';
            }
        }
    }

    #[test]
    fn execute_with_streams_chunks_bigger_than_the_send_buffer() {
        let mut s = Socket::open(libc::NETLINK_ROUTE as isize, &SocketOptions::default()).unwrap();
        // ~130 bytes a message: 3,000 of them are ~6 chunks by bytes; every 7th succeeds, so
        // results are checked to come back in request order.
        let n = 3000;
        let mut got = Vec::new();
        s.execute_with(
            n,
            |i, b| {
                dellink(b, 40 + (i * 37) % 150, i % 7 == 3);
                Ok(())
            },
            |i, r| got.push((i, r.map_err(|e| e.errno()))),
        )
        .unwrap();
        assert_eq!(got.len(), n);
        for (k, (i, r)) in got.iter().enumerate() {
            assert_eq!(*i, k);
            let want = if k % 7 == 3 {
                Ok(())
            } else {
                Err(libc::ENODEV)
            };
            assert_eq!(*r, want, "request {k}");
        }
        assert!(
            s.send_buf.capacity() <= SEND_CHUNK_BYTES + SEND_SLACK,
            "send buffer grew to {}",
            s.send_buf.capacity()
        );
    }

    #[test]
    fn execute_with_stops_at_an_encode_error_and_the_socket_stays_usable() {
        let mut s = Socket::open(libc::NETLINK_ROUTE as isize, &SocketOptions::default()).unwrap();
        let mut delivered = 0;
        let e = s
            .execute_with(
                2000,
                |i, b| {
                    if i == 1500 {
                        b.extend_from_slice(&[1, 2, 3]); // partial junk, then an error
                        return Err(Error::invalid(
                            Origin::Netlink(NetlinkOperation::Encode),
                            "change 1500 is bad",
                        ));
                    }
                    dellink(b, 8, false);
                    Ok(())
                },
                |_, r| {
                    assert_eq!(r.unwrap_err().errno(), libc::ENODEV);
                    delivered += 1;
                },
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        // The first chunk (1,024 messages) went out and was answered; the second never did.
        assert_eq!(delivered, SEND_CHUNK_MSGS);
        // The buffers are reused: the next batch and a single request work and see only their
        // own answers.
        let mut reqs = Requests::new();
        for _ in 0..10 {
            reqs.push_with(|b| {
                dellink(b, 3, true);
                Ok(())
            })
            .unwrap();
        }
        let res = s.execute(&mut reqs).unwrap();
        assert_eq!(res.len(), 10);
        assert!(res.iter().all(|r| r.is_ok()));
        let mut m = getlink(NLM_F_DUMP);
        let mut links = 0;
        s.request(&mut m, |_, _| {
            links += 1;
            Ok(())
        })
        .unwrap();
        assert!(links >= 1);
    }

    #[test]
    fn query_takes_the_one_reply_without_an_ack() {
        let mut s = Socket::open(libc::NETLINK_ROUTE as isize, &SocketOptions::default()).unwrap();
        // RTM_GETLINK of ifindex 1 (lo), not a dump: one RTM_NEWLINK back.
        let mut replies = 0;
        for _ in 0..3 {
            let mut m = getlink(0);
            m[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&1i32.to_ne_bytes());
            s.query(&mut m, |h, _| {
                assert_eq!(h.kind, 16);
                replies += 1;
                Ok(())
            })
            .unwrap();
            let h = Header::parse(&m).unwrap();
            assert_eq!(h.flags & NLM_F_ACK, 0, "no ack asked for");
        }
        assert_eq!(replies, 3);
        // A missing link: the error ends the call.
        let mut m = getlink(0);
        m[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&0x7fff_fff0i32.to_ne_bytes());
        let e = s.query(&mut m, |_, _| Ok(())).unwrap_err();
        assert_eq!(e.errno(), libc::ENODEV);
        // Nothing is left over for the next call: an ack-based request sees only its own answer.
        let mut reqs = Requests::new();
        reqs.push_with(|b| {
            dellink(b, 3, false);
            Ok(())
        })
        .unwrap();
        let r = s.execute(&mut reqs).unwrap();
        assert_eq!(r[0].as_ref().unwrap_err().errno(), libc::ENODEV);
    }

    #[test]
    fn push_with_rejects_short_messages() {
        let mut r = Requests::new();
        assert!(r.push(&[1, 2, 3]).is_err());
        assert!(r.is_empty());
    }
}
