//! What the link-watch benchmarks (linkwatch_bench.rs, portsyncd_bench.rs) share: the clock
//! every client stamps with and the link change the writer sends.

use lbnet::netlink::message::{Header, HEADER_LEN};
use netlink_packet_core::Emitable;
use netlink_packet_route::link::{LinkFlags, LinkHeader, LinkMessage};

/// CLOCK_MONOTONIC in nanoseconds (the clock every client stamps with).
pub fn mono_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write into.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// `RTM_NEWLINK` setting or clearing `IFF_UP` on `index`.
pub fn set_up(index: u32, up: bool) -> Vec<u8> {
    let mut m = LinkMessage::default();
    m.header = LinkHeader {
        index,
        flags: if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        },
        change_mask: LinkFlags::Up,
        ..LinkHeader::default()
    };
    let mut buf = vec![0u8; HEADER_LEN + m.buffer_len()];
    Header {
        length: buf.len() as u32,
        kind: 16,
        flags: 0,
        seq: 0,
        pid: 0,
    }
    .write(&mut buf);
    m.emit(&mut buf[HEADER_LEN..]);
    buf
}
