//! Rust-side checks of the C entry points' argument handling: NULL pointers, bad UTF-8, bad
//! names and enum values give `-EINVAL` with a message, never a panic or a kernel request.
//! (The C program examples/c/ffi_test.c covers the same ground from C, and the kernel paths.)

use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

use super::*;
use crate::common::lbnet_last_error;

fn last() -> String {
    let p = lbnet_last_error();
    assert!(!p.is_null(), "no error message set");
    // SAFETY: a NUL-terminated string owned by this thread.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn name<const N: usize>(s: &[u8]) -> [c_char; N] {
    let mut a = [0 as c_char; N];
    for (o, b) in a.iter_mut().zip(s) {
        *o = *b as c_char;
    }
    a
}

fn service() -> lbnet_ipvs_service {
    let mut addr = lbnet_ipvs_addr::default();
    // SAFETY: valid pointers.
    assert_eq!(
        unsafe { lbnet_ipvs_addr_parse(c"10.0.0.1".as_ptr(), &mut addr) },
        0
    );
    lbnet_ipvs_service {
        af: libc::AF_INET,
        protocol: libc::IPPROTO_TCP as u16,
        port: 80,
        addr,
        fwmark: 0,
        sched_name: name(b"rr"),
        pe_name: name(b""),
        flags: 0,
        timeout: 0,
        netmask: 0,
        stats: lbnet_ipvs_stats::default(),
    }
}

fn dest() -> lbnet_ipvs_dest {
    lbnet_ipvs_dest {
        addr: lbnet_ipvs_addr::from_ip("10.1.0.1".parse().unwrap()),
        port: 80,
        tun_port: 0,
        fwd_method: LBNET_IPVS_FWD_MASQ,
        weight: 1,
        u_threshold: 0,
        l_threshold: 0,
        tun_type: 0,
        tun_flags: 0,
        active_conns: 0,
        inactive_conns: 0,
        persist_conns: 0,
        stats: lbnet_ipvs_stats::default(),
    }
}

fn handle() -> *mut lbnet_ipvs_handle {
    let mut h = null_mut();
    // SAFETY: valid out pointer, NULL options.
    assert_eq!(unsafe { lbnet_ipvs_handle_new(null(), &mut h) }, 0);
    assert!(!h.is_null());
    h
}

#[test]
fn null_handle_and_arguments_are_einval() {
    let s = service();
    let d = dest();
    let h = handle();
    let einval = -libc::EINVAL;
    // SAFETY: every pointer is NULL or valid; the calls must check the NULL ones.
    unsafe {
        assert_eq!(lbnet_ipvs_add_service(null(), &s), einval);
        assert!(last().contains("handle is NULL"), "{}", last());
        assert_eq!(lbnet_ipvs_add_service(h, null()), einval);
        assert!(last().contains("svc is NULL"), "{}", last());
        assert_eq!(lbnet_ipvs_add_dest(h, &s, null()), einval);
        assert!(last().contains("dest is NULL"), "{}", last());
        let mut out = service();
        assert_eq!(lbnet_ipvs_get_service(h, &s, null_mut()), einval);
        assert_eq!(lbnet_ipvs_get_service(null(), &s, &mut out), einval);
        let mut list = std::ptr::dangling_mut::<lbnet_ipvs_service_list>();
        assert_eq!(lbnet_ipvs_list_services(null(), &mut list), einval);
        assert!(list.is_null(), "out pointer cleared on failure");
        assert_eq!(lbnet_ipvs_list_services(h, null_mut()), einval);
        assert_eq!(lbnet_ipvs_delete_dest(h, null(), &d), einval);
        assert_eq!(lbnet_ipvs_zero_all(null()), einval);
        assert_eq!(lbnet_ipvs_flush(null()), einval);
        assert_eq!(lbnet_ipvs_set_timeouts(h, null()), einval);
        assert_eq!(lbnet_ipvs_start_daemon(h, null()), einval);
        assert_eq!(lbnet_ipvs_batch_apply(h, null_mut()), einval);
        assert_eq!(lbnet_ipvs_handle_new(null(), null_mut()), einval);
        lbnet_ipvs_handle_free(h);
    }
}

#[test]
fn bad_strings_and_names_are_einval() {
    let h = handle();
    let einval = -libc::EINVAL;
    // SAFETY: valid pointers throughout.
    unsafe {
        let mut s = service();
        s.sched_name = name(b"\xc3\x28"); // invalid UTF-8 sequence
        assert_eq!(lbnet_ipvs_add_service(h, &s), einval);
        assert!(last().contains("UTF-8"), "{}", last());
        s.sched_name = name(b"");
        assert_eq!(lbnet_ipvs_add_service(h, &s), einval);
        assert!(last().contains("sched_name is empty"), "{}", last());
        s.sched_name = [b'w' as c_char; 16];
        assert_eq!(lbnet_ipvs_update_service(h, &s), einval);
        assert!(last().contains("not NUL-terminated"), "{}", last());
        let mut s = service();
        s.pe_name = name(b"\xff");
        assert_eq!(lbnet_ipvs_add_service(h, &s), einval);

        let mut o = lbnet_ipvs_handle_options {
            netns_path: c"\xff\xfe".as_ptr(),
            netns_fd: 0,
            rcvbuf: 0,
            timeout_ms: 0,
        };
        let mut out = null_mut();
        assert_eq!(lbnet_ipvs_handle_new(&o, &mut out), einval);
        assert!(out.is_null());
        let long = std::ffi::CString::new("/".repeat(5000)).unwrap();
        o.netns_path = long.as_ptr();
        assert_eq!(lbnet_ipvs_handle_new(&o, &mut out), einval);
        assert!(last().contains("at most 4095"), "{}", last());

        let mut d = lbnet_ipvs_daemon {
            state: LBNET_IPVS_DAEMON_BACKUP,
            syncid: 1,
            mcast_ifname: name(b"\xe2\x82"),
            sync_maxlen: 0,
            mcast_group: lbnet_ipvs_addr::default(),
            mcast_port: 0,
            mcast_ttl: 0,
        };
        assert_eq!(lbnet_ipvs_start_daemon(h, &d), einval);
        d.mcast_ifname = name(b"lo");
        d.state = 0;
        assert_eq!(lbnet_ipvs_stop_daemon(h, &d), einval);
        lbnet_ipvs_handle_free(h);
    }
}

#[test]
fn out_of_range_struct_values_are_einval() {
    let h = handle();
    let s = service();
    let einval = -libc::EINVAL;
    // SAFETY: valid pointers throughout.
    unsafe {
        for mutate in [
            |s: &mut lbnet_ipvs_service| s.af = -1,
            |s: &mut lbnet_ipvs_service| s.af = i32::MAX,
            |s: &mut lbnet_ipvs_service| s.protocol = 0,
            |s: &mut lbnet_ipvs_service| s.addr.af = libc::AF_INET6,
        ] {
            let mut b = s;
            mutate(&mut b);
            assert_eq!(lbnet_ipvs_add_service(h, &b), einval);
            assert_eq!(lbnet_ipvs_delete_service(h, &b), einval);
        }
        for mutate in [
            |d: &mut lbnet_ipvs_dest| d.fwd_method = 5,
            |d: &mut lbnet_ipvs_dest| d.fwd_method = u32::MAX,
            |d: &mut lbnet_ipvs_dest| d.tun_type = 256,
            |d: &mut lbnet_ipvs_dest| d.tun_flags = 1 << 16,
            |d: &mut lbnet_ipvs_dest| d.addr.af = 0,
        ] {
            let mut d = dest();
            mutate(&mut d);
            assert_eq!(lbnet_ipvs_add_dest(h, &s, &d), einval);
            assert_eq!(lbnet_ipvs_update_dest(h, &s, &d), einval);
        }
        lbnet_ipvs_handle_free(h);
    }
}

/// The conversions keep every field: C -> core -> C is the identity for what the kernel stores.
#[test]
fn struct_conversions_round_trip() {
    let mut s = service();
    s.flags = LBNET_IPVS_SVC_F_SCHED1 | LBNET_IPVS_SVC_F_PERSISTENT;
    s.timeout = 300;
    s.netmask = 0xffff_ff00;
    s.pe_name = name(b"sip");
    let back = convert::service_to_c(&convert::service_from_c(&s).unwrap()).unwrap();
    assert_eq!(back, s);
    // A zero netmask means the full mask; timeout implies the persistent flag.
    let mut s2 = service();
    s2.timeout = 10;
    let core = convert::service_from_c(&s2).unwrap();
    assert_eq!(core.netmask, u32::MAX);
    assert_eq!(
        core.flags.0 & LBNET_IPVS_SVC_F_PERSISTENT,
        LBNET_IPVS_SVC_F_PERSISTENT
    );
    let mut fw = service();
    fw.af = libc::AF_INET6;
    fw.fwmark = 9;
    fw.protocol = 0;
    fw.addr = lbnet_ipvs_addr::default();
    fw.port = 0;
    fw.netmask = 128;
    assert_eq!(
        convert::service_to_c(&convert::service_from_c(&fw).unwrap()).unwrap(),
        fw
    );

    let mut d = dest();
    d.addr = lbnet_ipvs_addr::from_ip("2001:db8::5".parse().unwrap());
    d.fwd_method = LBNET_IPVS_FWD_TUNNEL;
    d.tun_type = LBNET_IPVS_TUN_GUE;
    d.tun_port = 6080;
    d.tun_flags = LBNET_IPVS_TUN_F_REMCSUM;
    d.u_threshold = 9;
    d.l_threshold = 3;
    d.weight = 77;
    assert_eq!(convert::dest_to_c(&convert::dest_from_c(&d).unwrap()), d);

    let dm = lbnet_ipvs_daemon {
        state: LBNET_IPVS_DAEMON_MASTER,
        syncid: 5,
        mcast_ifname: name(b"eth0"),
        sync_maxlen: 1400,
        mcast_group: lbnet_ipvs_addr::from_ip("239.1.2.3".parse().unwrap()),
        mcast_port: 9000,
        mcast_ttl: 4,
    };
    assert_eq!(
        convert::daemon_to_c(&convert::daemon_from_c(&dm).unwrap()).unwrap(),
        dm
    );
}

/// Lists built by the library are freed by their `_free` (run under Miri or valgrind this is a
/// leak check; here it at least exercises both the empty and the non-empty shapes).
#[test]
fn lists_free_both_shapes() {
    let (len, items) = list::into_raw_array(vec![dest(), dest()]);
    let entry = lbnet_ipvs_service_entry {
        service: service(),
        n_dests: len,
        dests: items,
    };
    let (elen, eitems) = list::into_raw_array(vec![entry]);
    assert_eq!(elen, 1);
    let l = Box::into_raw(Box::new(lbnet_ipvs_service_entry_list {
        len: elen,
        items: eitems,
    }));
    // SAFETY: made just above by the same allocator.
    unsafe { lbnet_ipvs_service_entry_list_free(l) };
    let (len, items) = list::into_raw_array::<lbnet_ipvs_dest>(Vec::new());
    assert_eq!((len, items), (0, null_mut()));
    let l = Box::into_raw(Box::new(lbnet_ipvs_dest_list { len, items }));
    // SAFETY: as above.
    unsafe { lbnet_ipvs_dest_list_free(l) };
}

/// A handle is usable from several threads at once (here on the error path the host gives).
#[test]
fn handle_is_shared_across_threads() {
    struct SendPtr(*mut lbnet_ipvs_handle);
    // SAFETY: the handle is Sync (a mutex inside); the pointer is only shared for the scope.
    unsafe impl Send for SendPtr {}
    unsafe impl Sync for SendPtr {}
    let h = SendPtr(handle());
    let first = {
        let mut info = lbnet_ipvs_info::default();
        // SAFETY: valid pointers.
        unsafe { lbnet_ipvs_get_info(h.0, &mut info) }
    };
    std::thread::scope(|sc| {
        for _ in 0..4 {
            let h = &h;
            sc.spawn(move || {
                for _ in 0..20 {
                    let mut info = lbnet_ipvs_info::default();
                    // SAFETY: valid pointers; the handle outlives the scope.
                    let rc = unsafe { lbnet_ipvs_get_info(h.0, &mut info) };
                    assert_eq!(rc, first, "same answer from every thread");
                }
            });
        }
    });
    // SAFETY: made by handle() above, freed once.
    unsafe { lbnet_ipvs_handle_free(h.0) };
}
