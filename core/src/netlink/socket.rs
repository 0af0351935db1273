//! One netlink socket: requests, dumps and pipelined batches with ack accounting.

use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use netlink_sys::Socket as SysSocket;

use super::message::{
    self, Ack, Header, HEADER_LEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK,
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use crate::error::{Error, ErrorKind, Result};
use crate::netns::NetNs;

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

fn sys_err(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| {
        Error::from_kernel(
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
            let mut s = SysSocket::new(protocol).map_err(sys_err("socket(AF_NETLINK)"))?;
            s.bind_auto().map_err(sys_err("bind netlink socket"))?;
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
            return Err(sys_err("setsockopt(SO_RCVBUF)")(
                std::io::Error::last_os_error(),
            ));
        }
        self.sock
            .get_rx_buf_sz()
            .map_err(sys_err("getsockopt(SO_RCVBUF)"))
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
            return Err(sys_err("setsockopt(SO_RCVTIMEO)")(
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Joins multicast group `group` (an `RTNLGRP_*` number).
    pub fn add_membership(&self, group: u32) -> Result<()> {
        self.sock
            .add_membership(group)
            .map_err(sys_err("join netlink multicast group"))
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
        let n = self
            .sock
            .send(buf, 0)
            .map_err(sys_err("sendmsg(netlink)"))?;
        if n != buf.len() {
            return Err(Error::new(
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
                        return Err(Error::new(ErrorKind::Timeout, "no reply from the kernel"))
                    }
                    Some(libc::ENOBUFS) => {
                        return Err(Error::from_kernel(
                            libc::ENOBUFS,
                            "netlink receive buffer overrun",
                            None,
                        ))
                    }
                    _ => return Err(sys_err("recv(netlink)")(e)),
                }
            }
            let n = n as usize;
            if n > self.recv_buf.len() {
                // Grow for next time; this datagram is lost.
                self.recv_buf.resize(n.next_power_of_two(), 0);
                return Err(Error::malformed(format!(
                    "netlink datagram of {n} bytes truncated"
                )));
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
                            return Err(Error::from_kernel(errno, "netlink dump", None));
                        }
                        finished = true;
                    }
                    NLMSG_OVERRUN => {
                        return Err(Error::from_kernel(libc::ENOBUFS, "netlink overrun", None))
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
                ErrorKind::Busy,
                "netlink dump interrupted by a concurrent change",
            ));
        }
        Ok(())
    }

    /// Sends all `requests` pipelined (many per `sendmsg`) and returns one result per request, in
    /// order. Each request gets `NLM_F_REQUEST | NLM_F_ACK` and a fresh sequence number; the
    /// kernel processes every message of a datagram even when an earlier one fails, and acks each.
    ///
    /// The outer `Err` is for transport failures (the socket broke, acks were lost); then the
    /// outcome of the requests not yet acknowledged is unknown.
    pub fn execute(&mut self, requests: &mut Requests) -> Result<Vec<Result<()>>> {
        let mut results: Vec<Result<()>> = Vec::with_capacity(requests.len());
        let count = requests.offsets.len();
        let mut i = 0;
        while i < count {
            // Build one chunk.
            let first = i;
            let mut bytes = 0;
            while i < count && i - first < SEND_CHUNK_MSGS {
                let (start, end) = requests.range(i);
                if i > first && bytes + (end - start) > SEND_CHUNK_BYTES {
                    break;
                }
                bytes += end - start;
                i += 1;
            }
            let base_seq = self.seq.wrapping_add(1);
            self.send_buf.clear();
            for k in first..i {
                let (start, end) = requests.range(k);
                let msg = &mut requests.buf[start..end];
                let mut h = Header::parse(msg)?;
                h.flags |= NLM_F_REQUEST | NLM_F_ACK;
                h.seq = self.next_seq();
                h.length = (end - start) as u32;
                h.write(msg);
                self.send_buf.extend_from_slice(msg);
                while !self.send_buf.len().is_multiple_of(4) {
                    self.send_buf.push(0);
                }
            }
            let send = std::mem::take(&mut self.send_buf);
            let sent = self.send_raw(&send);
            self.send_buf = send;
            sent?;
            // Collect acks for this chunk.
            let n = i - first;
            let mut chunk: Vec<Option<Result<()>>> = vec![None; n];
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
                        continue;
                    }
                    chunk[idx] = Some(if ack.errno == 0 {
                        Ok(())
                    } else {
                        Err(Error::from_kernel(
                            ack.errno,
                            "netlink request",
                            ack.ext_ack,
                        ))
                    });
                    pending -= 1;
                }
            }
            results.extend(chunk.into_iter().map(|r| r.unwrap_or(Ok(()))));
        }
        Ok(results)
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
            return Err(Error::invalid(format!(
                "encoded netlink message of {len} bytes"
            )));
        }
        self.buf[start..start + 4].copy_from_slice(&(len as u32).to_ne_bytes());
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

    #[test]
    fn push_with_rejects_short_messages() {
        let mut r = Requests::new();
        assert!(r.push(&[1, 2, 3]).is_err());
        assert!(r.is_empty());
    }
}
