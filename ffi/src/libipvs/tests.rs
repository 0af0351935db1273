//! Host tests of the libipvs API that need no kernel IPVS: NULL handling, errno, the message
//! table of ipvs_strerror keyed by the last command, the comparison functions' order and
//! conversions between the C structs and the core's types. ipvsadm itself exercises the rest in
//! the kernel lab (make test-lab-libipvs).

use std::ffi::CStr;

use super::*;

fn errno() -> i32 {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

fn msg(err: i32) -> String {
    // SAFETY: ipvs_strerror returns a static or libc-owned string.
    unsafe { CStr::from_ptr(ipvs_strerror(err)) }
        .to_string_lossy()
        .into_owned()
}

fn zeroed<T>() -> T {
    // SAFETY: the libipvs structs are plain integers and bytes.
    unsafe { std::mem::zeroed() }
}

fn v4(a: [u8; 4]) -> nf_inet_addr {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&a);
    nf_inet_addr {
        in6: libc::in6_addr { s6_addr: b },
    }
}

/// One test for everything that touches the global `ipvs_func` (tests run in parallel).
#[test]
fn null_pointers_errno_and_strerror_follow_libipvs() {
    // SAFETY: NULL is accepted by every entry point.
    unsafe {
        assert_eq!(ipvs_add_service(std::ptr::null_mut()), -1);
        assert_eq!(errno(), libc::EINVAL);
        assert_eq!(
            ipvs_add_dest(std::ptr::null_mut(), std::ptr::null_mut()),
            -1
        );
        assert_eq!(ipvs_set_timeout(std::ptr::null_mut()), -1);
        assert!(ipvs_get_dests(std::ptr::null_mut()).is_null());
        ipvs_sort_services(std::ptr::null_mut(), Some(ipvs_cmp_services));
        ipvs_sort_dests(std::ptr::null_mut(), Some(ipvs_cmp_dests));
        assert_eq!(
            ipvs_cmp_services(std::ptr::null_mut(), std::ptr::null_mut()),
            0
        );
    }
    // The same errno means different things after different commands, as in libipvs.
    let mut svc: ipvs_service_t = zeroed();
    svc.af = 12345; // not AF_INET/AF_INET6: EAFNOSUPPORT, before anything is sent
                    // SAFETY: svc is a valid ipvs_service_t.
    assert_eq!(unsafe { ipvs_add_service(&mut svc) }, -1);
    assert_eq!(errno(), libc::EAFNOSUPPORT);
    assert_eq!(msg(libc::EEXIST), "Service already exists");
    assert_eq!(
        msg(libc::ENOENT),
        "Scheduler or persistence engine not found"
    );
    assert_eq!(
        msg(libc::EAFNOSUPPORT),
        "Operation not supported with specified address family"
    );
    // SAFETY: as above.
    assert_eq!(unsafe { ipvs_del_service(&mut svc) }, -1);
    assert_eq!(msg(libc::ESRCH), "No such service");
    assert_eq!(msg(libc::ENOENT), "No such file or directory"); // strerror: not in the table
    let mut dest: ipvs_dest_t = zeroed();
    // SAFETY: valid structs.
    assert_eq!(unsafe { ipvs_del_dest(&mut svc, &mut dest) }, -1);
    assert_eq!(msg(libc::ESRCH), "Service not defined");
    assert_eq!(msg(libc::ENOENT), "No such destination");
    // ipvs_flush does not record itself in libipvs: the previous command's messages stay.
    let _ = ipvs_flush();
    assert_eq!(msg(libc::ENOENT), "No such destination");
    assert_eq!(msg(libc::EPERM), "Permission denied (you must be root)");
}

#[test]
fn comparisons_use_libipvs_order() {
    let mut a: ipvs_service_entry_t = zeroed();
    let mut b: ipvs_service_entry_t = zeroed();
    a.af = libc::AF_INET as u16;
    b.af = libc::AF_INET as u16;
    a.protocol = libc::IPPROTO_TCP as u16;
    b.protocol = libc::IPPROTO_TCP as u16;
    a.addr = v4([10, 0, 0, 1]);
    b.addr = v4([10, 0, 0, 2]);
    a.port = 80u16.to_be();
    b.port = 80u16.to_be();
    // SAFETY: valid entries.
    unsafe {
        assert!(ipvs_cmp_services(&mut a, &mut b) < 0);
        assert!(ipvs_cmp_services(&mut b, &mut a) > 0);
        b.addr = v4([10, 0, 0, 1]);
        b.port = 443u16.to_be();
        assert_eq!(ipvs_cmp_services(&mut a, &mut b), 80 - 443);
        b.fwmark = 1; // the firewall mark compares first
        assert!(ipvs_cmp_services(&mut a, &mut b) != 0);
    }
    let mut d1: ipvs_dest_entry_t = zeroed();
    let mut d2: ipvs_dest_entry_t = zeroed();
    d1.af = libc::AF_INET as u16;
    d1.addr = v4([192, 168, 0, 9]);
    d2.addr = v4([192, 168, 1, 0]);
    // SAFETY: valid entries.
    assert!(unsafe { ipvs_cmp_dests(&mut d1, &mut d2) } < 0);
}

#[test]
fn service_and_entry_conversions_keep_network_order() {
    let mut s: ipvs_service_t = zeroed();
    s.af = libc::AF_INET as u16;
    s.protocol = libc::IPPROTO_UDP as u16;
    s.addr = v4([192, 0, 2, 1]);
    s.port = 53u16.to_be();
    s.netmask = u32::from_ne_bytes([255, 255, 255, 0]);
    s.flags = IP_VS_SVC_F_PERSISTENT;
    s.timeout = 360;
    for (d, c) in s.sched_name.iter_mut().zip(b"wrr") {
        *d = *c as libc::c_char;
    }
    let svc = api::tests_support::service_of(&s).expect("convert");
    assert_eq!(
        svc.key,
        lbnet::ipvs::ServiceKey::udp("192.0.2.1".parse().unwrap(), 53)
    );
    assert_eq!(svc.scheduler, "wrr");
    assert_eq!(svc.netmask, 0xffff_ff00);
    let e = api::tests_support::entry_of(&svc);
    assert_eq!(e.port, s.port);
    assert_eq!(e.netmask, s.netmask);
    assert_eq!(e.protocol, s.protocol);
    assert_eq!(e.num_dests, 0);
    // SAFETY: plain bytes.
    assert_eq!(unsafe { e.addr.in6.s6_addr }, unsafe { s.addr.in6.s6_addr });
}
