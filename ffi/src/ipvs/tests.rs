//! Rust-side checks of the C entry points' argument handling: NULL pointers, bad UTF-8, bad
//! names and enum values give `-EINVAL` with a message, never a panic or a kernel request.
//! (The C program examples/c/ffi_test.c covers the same ground from C, and the kernel paths.)

use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

use super::*;
use crate::addr::{lbnet_addr, lbnet_addr_parse};
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
    let mut addr = lbnet_addr::default();
    // SAFETY: valid pointers.
    assert_eq!(
        unsafe { lbnet_addr_parse(c"10.0.0.1".as_ptr(), &mut addr) },
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
        addr: lbnet_addr::from_ip("10.1.0.1".parse().unwrap()),
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

fn new_batch() -> *mut lbnet_ipvs_batch {
    let mut b = null_mut();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { lbnet_ipvs_batch_new(&mut b) }, 0);
    assert!(!b.is_null());
    b
}

fn batch_len(b: *const lbnet_ipvs_batch) -> usize {
    let mut n = usize::MAX;
    // SAFETY: b is a live batch; valid out pointer.
    assert_eq!(unsafe { lbnet_ipvs_batch_len(b, &mut n) }, 0);
    n
}

fn handle() -> *mut lbnet_ipvs {
    let mut h = null_mut();
    // SAFETY: valid out pointer, NULL options.
    assert_eq!(unsafe { lbnet_ipvs_open(null(), &mut h) }, 0);
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
        assert_eq!(lbnet_ipvs_open(null(), null_mut()), einval);
        assert_eq!(lbnet_ipvs_batch_new(null_mut()), einval);
        let mut n = 7usize;
        assert_eq!(lbnet_ipvs_batch_len(null(), &mut n), einval);
        assert_eq!(n, 7);
        let b = new_batch();
        assert_eq!(lbnet_ipvs_batch_len(b, null_mut()), einval);
        lbnet_ipvs_batch_free(b);
        lbnet_ipvs_free(h);
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

        let mut o = lbnet_ipvs_options {
            sz: std::mem::size_of::<lbnet_ipvs_options>(),
            netns_path: c"\xff\xfe".as_ptr(),
            netns_fd: 0,
            rcvbuf: 0,
            timeout_ms: 0,
        };
        let mut out = null_mut();
        assert_eq!(lbnet_ipvs_open(&o, &mut out), einval);
        assert!(out.is_null());
        let long = std::ffi::CString::new("/".repeat(5000)).unwrap();
        o.netns_path = long.as_ptr();
        assert_eq!(lbnet_ipvs_open(&o, &mut out), einval);
        assert!(last().contains("at most 4095"), "{}", last());

        let mut d = lbnet_ipvs_daemon {
            state: LBNET_IPVS_DAEMON_BACKUP,
            syncid: 1,
            mcast_ifname: name(b"\xe2\x82"),
            sync_maxlen: 0,
            mcast_group: lbnet_addr::default(),
            mcast_port: 0,
            mcast_ttl: 0,
        };
        assert_eq!(lbnet_ipvs_start_daemon(h, &d), einval);
        d.mcast_ifname = name(b"lo");
        d.state = 0;
        assert_eq!(lbnet_ipvs_stop_daemon(h, &d), einval);
        lbnet_ipvs_free(h);
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
        // Values the kernel would store but not report back as given: refused by add and
        // update (the key is fine, so delete would go to the kernel).
        for mutate in [
            |s: &mut lbnet_ipvs_service| s.flags = u32::MAX,
            |s: &mut lbnet_ipvs_service| s.flags = LBNET_IPVS_SVC_F_MASK + 1,
            |s: &mut lbnet_ipvs_service| s.timeout = LBNET_IPVS_PERSISTENT_TIMEOUT_MAX + 1,
            |s: &mut lbnet_ipvs_service| s.timeout = u32::MAX,
        ] {
            let mut b = s;
            mutate(&mut b);
            assert_eq!(lbnet_ipvs_add_service(h, &b), einval);
            assert_eq!(lbnet_ipvs_update_service(h, &b), einval);
        }
        for mutate in [
            |d: &mut lbnet_ipvs_dest| d.fwd_method = LBNET_IPVS_FWD_BYPASS,
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
        lbnet_ipvs_free(h);
    }
}

/// The header's bounds are the core's, and what the core refuses the C adders refuse at once
/// (so a batch never holds a change the kernel would garble), with the core's reasons.
#[test]
fn bounds_match_the_core_and_are_enforced_by_every_adder() {
    use lbnet::ipvs::{Service, ServiceFlags, Timeouts};
    assert_eq!(LBNET_IPVS_SVC_F_MASK, ServiceFlags::ALL.0);
    assert_eq!(LBNET_IPVS_PERSISTENT_TIMEOUT_MAX, Service::MAX_TIMEOUT);
    assert_eq!(LBNET_IPVS_TIMEOUT_MAX, Timeouts::MAX);
    let einval = -libc::EINVAL;
    let h = handle();
    // SAFETY: valid pointers throughout.
    unsafe {
        let b = new_batch();
        let mut s = service();
        s.flags = 0xffff_ffff;
        assert_eq!(lbnet_ipvs_batch_add_service(b, &s), einval);
        assert!(last().contains("IP_VS_SVC_F_"), "{}", last());
        assert_eq!(lbnet_ipvs_batch_update_service(b, &s), einval);
        s.flags = LBNET_IPVS_SVC_F_MASK; // HASHED included: accepted, never sent
        s.timeout = LBNET_IPVS_PERSISTENT_TIMEOUT_MAX;
        assert_eq!(lbnet_ipvs_batch_add_service(b, &s), 0, "{}", last());
        s.timeout += 1;
        assert_eq!(lbnet_ipvs_batch_add_service(b, &s), einval);
        assert!(last().contains("invalid timeout value"), "{}", last());
        let mut d = dest();
        d.fwd_method = LBNET_IPVS_FWD_BYPASS;
        assert_eq!(lbnet_ipvs_batch_add_dest(b, &service(), &d), einval);
        assert!(last().contains("(null)"), "{}", last());
        assert_eq!(lbnet_ipvs_batch_update_dest(b, &service(), &d), einval);
        // Deleting a (kernel-made) bypass destination stays possible.
        assert_eq!(lbnet_ipvs_batch_delete_dest(b, &service(), &d), 0);
        let mut c = change(LBNET_IPVS_OP_ADD_DEST);
        c.dest = d;
        let mut bad = 0;
        assert_eq!(lbnet_ipvs_batch_add_changes(b, &c, 1, &mut bad), einval);
        assert_eq!(bad, 0);
        assert_eq!(batch_len(b), 2);
        lbnet_ipvs_batch_free(b);

        let mut t = lbnet_ipvs_timeouts {
            tcp: LBNET_IPVS_TIMEOUT_MAX + 1,
            tcp_fin: 0,
            udp: 0,
        };
        assert_eq!(lbnet_ipvs_set_timeouts(h, &t), einval);
        assert!(last().contains("tcp"), "{}", last());
        t.tcp = 0;
        t.udp = u32::MAX;
        assert_eq!(lbnet_ipvs_set_timeouts(h, &t), einval);
        assert!(last().contains("udp"), "{}", last());
        lbnet_ipvs_free(h);
    }
}

/// `struct lbnet_ipvs_options` follows libbpf's size rules: too small, too large with non-zero
/// extra bytes, or above 4096 is `-EINVAL`; larger with zero extra bytes is accepted.
#[test]
fn options_size_is_checked() {
    #[repr(C)]
    struct Bigger {
        o: lbnet_ipvs_options,
        extra: [u8; 8],
    }
    let sz = std::mem::size_of::<lbnet_ipvs_options>();
    let mut big = Bigger {
        o: lbnet_ipvs_options {
            sz,
            netns_path: null(),
            netns_fd: 0,
            rcvbuf: 0,
            timeout_ms: 0,
        },
        extra: [0; 8],
    };
    // SAFETY: &big is size_of::<Bigger>() readable bytes, at least every sz up to 4096 read below
    // (4097 is refused before the bytes past the struct are read).
    unsafe {
        for (size, extra, want) in [
            (sz, 0u8, 0),
            (sz - 1, 0, -libc::EINVAL),
            (0, 0, -libc::EINVAL),
            (sz + 8, 0, 0),
            (sz + 8, 1, -libc::EINVAL),
            (4097, 0, -libc::EINVAL),
        ] {
            big.o.sz = size;
            big.extra[7] = extra;
            let mut h = std::ptr::dangling_mut();
            let rc = lbnet_ipvs_open(std::ptr::addr_of!(big).cast(), &mut h);
            assert_eq!(rc, want, "sz {size} extra {extra}");
            if rc == 0 {
                assert!(!h.is_null());
                lbnet_ipvs_free(h);
            } else {
                assert!(h.is_null(), "out cleared on failure");
                assert!(last().contains("lbnet_ipvs_options"), "{}", last());
            }
        }
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
    fw.addr = lbnet_addr::default();
    fw.port = 0;
    fw.netmask = 128;
    assert_eq!(
        convert::service_to_c(&convert::service_from_c(&fw).unwrap()).unwrap(),
        fw
    );

    let mut d = dest();
    d.addr = lbnet_addr::from_ip("2001:db8::5".parse().unwrap());
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
        mcast_group: lbnet_addr::from_ip("239.1.2.3".parse().unwrap()),
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
    struct SendPtr(*mut lbnet_ipvs);
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
    unsafe { lbnet_ipvs_free(h.0) };
}

fn change(op: u32) -> lbnet_ipvs_change {
    lbnet_ipvs_change {
        op,
        svc: service(),
        dest: dest(),
    }
}

/// One change of every op, in the order of the LBNET_IPVS_OP_* constants.
fn every_op() -> Vec<lbnet_ipvs_change> {
    (LBNET_IPVS_OP_ADD_SERVICE..=LBNET_IPVS_OP_ZERO_ALL)
        .map(change)
        .collect()
}

/// The same changes through the single-change adders and through one array give the same
/// batch, field for field.
#[test]
fn add_changes_matches_single_adders() {
    let cs = every_op();
    // SAFETY: valid pointers throughout; the batches are freed once.
    unsafe {
        let one = new_batch();
        let (s, d) = (service(), dest());
        assert_eq!(lbnet_ipvs_batch_add_service(one, &s), 0);
        assert_eq!(lbnet_ipvs_batch_update_service(one, &s), 0);
        assert_eq!(lbnet_ipvs_batch_delete_service(one, &s), 0);
        assert_eq!(lbnet_ipvs_batch_add_dest(one, &s, &d), 0);
        assert_eq!(lbnet_ipvs_batch_update_dest(one, &s, &d), 0);
        assert_eq!(lbnet_ipvs_batch_delete_dest(one, &s, &d), 0);
        assert_eq!(lbnet_ipvs_batch_zero(one, &s), 0);
        assert_eq!(lbnet_ipvs_batch_zero(one, null()), 0);

        let arr = new_batch();
        let mut bad = 12345usize;
        assert_eq!(
            lbnet_ipvs_batch_add_changes(arr, cs.as_ptr(), cs.len(), &mut bad),
            0
        );
        assert_eq!(bad, 12345, "bad_index untouched on success");
        assert!(lbnet_last_error().is_null());
        assert_eq!(batch_len(arr), 8);
        assert_eq!((*arr).changes(), (*one).changes());
        // Appending again keeps what is there (16 changes, the same 8 twice).
        assert_eq!(
            lbnet_ipvs_batch_add_changes(arr, cs.as_ptr(), cs.len(), null_mut()),
            0
        );
        assert_eq!(batch_len(arr), 16);
        assert_eq!(&(*arr).changes()[8..], (*one).changes());
        lbnet_ipvs_batch_free(arr);
        lbnet_ipvs_batch_free(one);
    }
}

/// A bad change anywhere refuses the whole array: the batch is unchanged and the index of the
/// bad change is reported, with a message naming it.
#[test]
fn add_changes_is_all_or_nothing() {
    let einval = -libc::EINVAL;
    type Mutate = fn(&mut lbnet_ipvs_change);
    let cases: [(Mutate, &str); 9] = [
        (|c| c.op = 0, "op 0 is not one of"),
        (|c| c.op = 9, "op 9 is not one of"),
        (|c| c.op = u32::MAX, "is not one of LBNET_IPVS_OP_"),
        (|c| c.svc.af = 7, "address family 7"),
        (|c| c.svc.protocol = 1, "service protocol 1"),
        (
            |c| {
                c.op = LBNET_IPVS_OP_ADD_SERVICE;
                c.svc.sched_name = [0; LBNET_IPVS_SCHED_NAME_LEN];
            },
            "sched_name is empty",
        ),
        (
            |c| {
                c.op = LBNET_IPVS_OP_ADD_DEST;
                c.dest.fwd_method = 5;
            },
            "fwd_method 5",
        ),
        (
            |c| {
                c.op = LBNET_IPVS_OP_UPDATE_DEST;
                c.dest.tun_type = 3;
            },
            "tun_type 3",
        ),
        (
            |c| {
                c.op = LBNET_IPVS_OP_DELETE_DEST;
                c.dest.addr.af = 0;
            },
            "dest addr",
        ),
    ];
    // SAFETY: valid pointers throughout.
    unsafe {
        let b = new_batch();
        let s = service();
        assert_eq!(lbnet_ipvs_batch_add_service(b, &s), 0);
        let before = (*b).changes().to_vec();
        for (k, (mutate, msg)) in cases.iter().enumerate() {
            for at in [0usize, 5, 6] {
                let mut cs = every_op();
                mutate(&mut cs[at]);
                let mut bad = usize::MAX - 1;
                let rc = lbnet_ipvs_batch_add_changes(b, cs.as_ptr(), cs.len(), &mut bad);
                assert_eq!(rc, einval, "case {k} at {at}");
                assert_eq!(bad, at, "case {k}: index of the bad change");
                let m = last();
                assert!(
                    m.contains(&format!("change {at}:")) && m.contains(msg),
                    "case {k} at {at}: {m}"
                );
                assert_eq!((*b).changes(), &before[..], "case {k}: batch unchanged");
            }
        }
        // The first bad change is the one reported.
        let mut cs = every_op();
        cs[2].op = 0;
        cs[4].op = 0;
        let mut bad = 0;
        assert_eq!(
            lbnet_ipvs_batch_add_changes(b, cs.as_ptr(), cs.len(), &mut bad),
            einval
        );
        assert_eq!(bad, 2);
        // NULL bad_index is allowed on failure too.
        assert_eq!(
            lbnet_ipvs_batch_add_changes(b, cs.as_ptr(), cs.len(), null_mut()),
            einval
        );
        assert_eq!(batch_len(b), 1);
        lbnet_ipvs_batch_free(b);
    }
}

/// Fields an op does not read may hold anything.
#[test]
fn add_changes_reads_only_what_the_op_needs() {
    let mut junk = change(LBNET_IPVS_OP_ZERO_ALL);
    junk.svc.af = -1;
    junk.svc.sched_name = [-1; LBNET_IPVS_SCHED_NAME_LEN];
    junk.dest.fwd_method = 99;
    let mut del = change(LBNET_IPVS_OP_DELETE_SERVICE);
    del.svc.sched_name = [0; LBNET_IPVS_SCHED_NAME_LEN]; // key fields only
    del.dest.addr.af = 12345;
    let mut deld = change(LBNET_IPVS_OP_DELETE_DEST);
    deld.dest.fwd_method = 99; // address and port only
    deld.dest.tun_type = 99;
    let mut zero = change(LBNET_IPVS_OP_ZERO);
    zero.dest.addr.af = -3;
    let cs = [junk, del, deld, zero];
    // SAFETY: valid pointers.
    unsafe {
        let b = new_batch();
        let mut bad = 0;
        assert_eq!(
            lbnet_ipvs_batch_add_changes(b, cs.as_ptr(), cs.len(), &mut bad),
            0,
            "{}",
            last()
        );
        assert_eq!(batch_len(b), 4);
        lbnet_ipvs_batch_free(b);
    }
}

/// NULL pointers and counts beyond the batch bound are refused before anything is read.
#[test]
fn add_changes_checks_pointers_and_counts() {
    let einval = -libc::EINVAL;
    let cs = every_op();
    // SAFETY: every pointer is NULL, valid, or (for the huge counts) never dereferenced because
    // the count is refused first.
    unsafe {
        let mut bad = 0usize;
        assert_eq!(
            lbnet_ipvs_batch_add_changes(null_mut(), cs.as_ptr(), cs.len(), &mut bad),
            einval
        );
        assert_eq!(bad, usize::MAX);
        assert!(last().contains("batch is NULL"), "{}", last());
        let b = new_batch();
        bad = 0;
        assert_eq!(lbnet_ipvs_batch_add_changes(b, null(), 1, &mut bad), einval);
        assert_eq!(bad, usize::MAX);
        assert!(last().contains("changes is NULL"), "{}", last());
        // Counts beyond LBNET_IPVS_BATCH_MAX are refused before any element is read or any
        // memory reserved, even when element 0 is bad (it is never looked at).
        let mut first_bad = cs.clone();
        first_bad[0].op = 0;
        let huge = [
            usize::MAX,
            usize::MAX / 2,
            1 << 40,
            i32::MAX as usize,
            LBNET_IPVS_BATCH_MAX + 1,
        ];
        for n in huge {
            for arr in [&cs, &first_bad] {
                bad = 0;
                let rc = lbnet_ipvs_batch_add_changes(b, arr.as_ptr(), n, &mut bad);
                assert_eq!(rc, -libc::E2BIG, "n = {n}");
                assert_eq!(bad, usize::MAX);
                assert!(last().contains("LBNET_IPVS_BATCH_MAX"), "{}", last());
            }
        }
        // The bound counts what the batch holds already.
        assert_eq!(
            lbnet_ipvs_batch_add_changes(b, cs.as_ptr(), 1, null_mut()),
            0
        );
        assert_eq!(
            lbnet_ipvs_batch_add_changes(b, cs.as_ptr(), LBNET_IPVS_BATCH_MAX, null_mut()),
            -libc::E2BIG
        );
        assert_eq!(lbnet_ipvs_batch_clear(b), 0);
        // n = 0: a no-op, NULL allowed.
        assert_eq!(lbnet_ipvs_batch_add_changes(b, null(), 0, null_mut()), 0);
        assert_eq!(
            lbnet_ipvs_batch_add_changes(b, cs.as_ptr(), 0, null_mut()),
            0
        );
        assert_eq!(batch_len(b), 0);
        lbnet_ipvs_batch_free(b);
    }
}

/// `lbnet_ipvs_batch_results` gives the same codes as `lbnet_ipvs_batch_result` one by one, and
/// refuses NULL pointers, short arrays and unapplied batches without writing anything.
#[test]
fn batch_results_copies_every_code() {
    let einval = -libc::EINVAL;
    let h = handle();
    // Changes that fail on any kernel and change nothing: on the host (no IPVS) every one gets
    // the not-available errno, on a kernel with IPVS ESRCH/ENOENT for a missing service.
    let mut gone = service();
    gone.addr = lbnet_addr::from_ip("10.255.254.253".parse().unwrap());
    gone.port = 9;
    let cs: Vec<lbnet_ipvs_change> = [
        LBNET_IPVS_OP_DELETE_SERVICE,
        LBNET_IPVS_OP_DELETE_DEST,
        LBNET_IPVS_OP_UPDATE_DEST,
    ]
    .into_iter()
    .map(|op| lbnet_ipvs_change {
        op,
        svc: gone,
        dest: dest(),
    })
    .collect();
    // SAFETY: valid pointers throughout (or NULL where the call must refuse it).
    unsafe {
        let b = new_batch();
        let mut out = [7i32; 8];
        assert_eq!(
            lbnet_ipvs_batch_results(null(), out.as_mut_ptr(), 8),
            einval
        );
        assert!(last().contains("batch is NULL"), "{}", last());
        // An empty batch that was never applied has no results yet.
        assert_eq!(
            lbnet_ipvs_batch_results(b, out.as_mut_ptr(), 8),
            -libc::ENODATA
        );
        assert_eq!(lbnet_ipvs_batch_apply(h, b), 0); // empty: nothing sent
        assert_eq!(lbnet_ipvs_batch_results(b, null_mut(), 0), 0);
        assert_eq!(lbnet_ipvs_batch_results(b, out.as_mut_ptr(), 8), 0);
        assert_eq!(out, [7; 8], "nothing to write for an empty batch");

        assert_eq!(
            lbnet_ipvs_batch_add_changes(b, cs.as_ptr(), cs.len(), null_mut()),
            0
        );
        assert_eq!(
            lbnet_ipvs_batch_results(b, out.as_mut_ptr(), 8),
            -libc::ENODATA
        );
        let rc = lbnet_ipvs_batch_apply(h, b);
        assert!(rc < 0, "every change fails, apply returned {rc}");
        assert_eq!(lbnet_ipvs_batch_results(b, null_mut(), 3), einval);
        assert_eq!(
            lbnet_ipvs_batch_results(b, out.as_mut_ptr(), usize::MAX),
            einval
        );
        assert!(last().contains("too large"), "{}", last());
        assert_eq!(
            lbnet_ipvs_batch_results(b, out.as_mut_ptr(), 2),
            -libc::ERANGE
        );
        assert!(last().contains("holds 2"), "{}", last());
        assert_eq!(out, [7; 8], "nothing written on failure");
        assert_eq!(lbnet_ipvs_batch_results(b, out.as_mut_ptr(), 8), 0);
        assert!(lbnet_last_error().is_null());
        for (i, &code) in out[..3].iter().enumerate() {
            let mut one = 1;
            assert_eq!(lbnet_ipvs_batch_result(b, i, &mut one), 0);
            assert_eq!(code, one, "change {i}");
            assert!(code < 0, "change {i}: {code}");
        }
        assert_eq!(out[0], rc, "apply returns the first failure");
        assert_eq!(out[3..], [7; 5], "nothing written past the batch length");
        // Adding a change discards the results; adding none keeps them.
        assert_eq!(lbnet_ipvs_batch_add_changes(b, null(), 0, null_mut()), 0);
        assert_eq!(lbnet_ipvs_batch_results(b, out.as_mut_ptr(), 8), 0);
        assert_eq!(
            lbnet_ipvs_batch_add_changes(b, cs.as_ptr(), 1, null_mut()),
            0
        );
        assert_eq!(
            lbnet_ipvs_batch_results(b, out.as_mut_ptr(), 8),
            -libc::ENODATA
        );
        lbnet_ipvs_batch_free(b);
        lbnet_ipvs_free(h);
    }
}
