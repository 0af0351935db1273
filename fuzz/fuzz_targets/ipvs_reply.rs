//! Fuzzes the IPVS reply parsers: any bytes must give a value or a `Malformed` error, never a
//! panic, an out-of-bounds read or a hang.
#![no_main]

use lbnet::ipvs::{family, parse, AddressFamily};
use lbnet::ErrorKind;
use libfuzzer_sys::fuzz_target;

fn check<T>(r: lbnet::Result<T>) {
    if let Err(e) = r {
        assert_eq!(e.kind(), ErrorKind::Malformed, "{e}");
    }
}

fuzz_target!(|data: &[u8]| {
    check(parse::parse_service_msg(data));
    check(parse::parse_dest_msg(data, AddressFamily::Inet));
    check(parse::parse_dest_msg(data, AddressFamily::Inet6));
    check(parse::parse_daemon_msg(data));
    check(parse::parse_info_msg(data));
    check(parse::parse_config_msg(data));
    check(family::parse_family_id(data));
    // Attribute payloads on their own, as nested sets are parsed.
    check(parse::parse_service_attrs(data));
    check(parse::parse_dest_attrs(data, AddressFamily::Inet));
    check(parse::parse_stats(data));
    // And the shared framing parser the replies go through first.
    for (h, bytes) in lbnet::netlink::message::messages(data).flatten() {
        if h.kind == lbnet::netlink::message::NLMSG_ERROR {
            let _ = lbnet::netlink::Ack::parse(&h, bytes);
        }
    }
});
