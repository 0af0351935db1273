//! The balancer attached to a veth in a network namespace (generic XDP), with real packets,
//! and a restarted control plane adopting the pinned data plane while traffic flows.
//!
//! Topology (four namespaces, created and deleted by the test):
//!
//! ```text
//!   cl: cl0 10.99.0.2 ---+
//!   lb: lb0 10.99.0.1 ---+-- br0 (namespace sw)
//!   be: be0 10.99.0.3 ---+
//! ```
//!
//! The client sends UDP to the VIP 198.18.0.10:5000 through 10.99.0.1; XDP on lb0 wraps it in
//! IP-in-IP towards 10.99.0.3 and sends it back out with the backend's MAC; the backend's packet
//! socket sees the tunnelled frame (the host kernel has no ipip module to decapsulate, so the
//! test checks the frames themselves; decapsulating backends are in examples/xdp-lab).

mod xdp_util;

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lbnet::netns::NetNs;
use lbnet::xdp::{
    AttachMode, Backend, Counter, LoadOptions, LoadedProgram, Vip, XdpLb, BASELINES_OBJECT,
};
use xdp_util::{eth, ipv4, l4, verify_ip};

const BE_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0b, 0x01];
const LB_NIC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x0a, 0x01];
const VIP: &str = "198.18.0.10";

struct Lab {
    prefix: String,
    pin_dir: PathBuf,
}

fn ip_cmd(args: &str) {
    let st = Command::new("ip")
        .args(args.split_whitespace())
        .status()
        .expect("run ip (iproute2)");
    assert!(st.success(), "ip {args}");
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let prefix = format!("lbx{}{tag}", std::process::id());
        let lab = Lab {
            pin_dir: PathBuf::from(format!("/sys/fs/bpf/lbnet-test-{prefix}/lb0")),
            prefix,
        };
        let p = &lab.prefix;
        for ns in ["cl", "lb", "be", "sw"] {
            ip_cmd(&format!("netns add {p}{ns}"));
        }
        ip_cmd(&format!("-n {p}sw link add br0 type bridge"));
        ip_cmd(&format!("-n {p}sw link set br0 up"));
        for (ns, addr, mac) in [
            ("cl", "10.99.0.2", "02:00:00:00:0c:01"),
            ("lb", "10.99.0.1", "02:00:00:00:0a:01"),
            ("be", "10.99.0.3", "02:00:00:00:0b:01"),
        ] {
            ip_cmd(&format!(
                "-n {p}sw link add s-{ns} type veth peer name {ns}0 netns {p}{ns} address {mac}"
            ));
            ip_cmd(&format!("-n {p}sw link set s-{ns} master br0 up"));
            ip_cmd(&format!("-n {p}{ns} addr add {addr}/24 dev {ns}0"));
            ip_cmd(&format!("-n {p}{ns} link set {ns}0 up"));
            ip_cmd(&format!("-n {p}{ns} link set lo up"));
        }
        lab
    }

    fn ns(&self, n: &str) -> NetNs {
        NetNs::named(&format!("{}{n}", self.prefix)).unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Pins first (a pinned link keeps the program alive), then the namespaces.
        if let Some(parent) = self.pin_dir.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
        for ns in ["cl", "lb", "be", "sw"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &format!("{}{ns}", self.prefix)])
                .status();
        }
    }
}

fn ifindex(name: &str) -> u32 {
    lbnet::netns::ifindex(name).unwrap()
}

/// A packet socket on be0 in the backend namespace, with a receive timeout.
fn backend_sniffer(lab: &Lab) -> OwnedFd {
    packet_socket(lab, "be")
}

/// A packet socket bound to `<ns>0` in namespace `ns`.
fn packet_socket(lab: &Lab, ns: &str) -> OwnedFd {
    let dev = format!("{ns}0");
    lab.ns(ns)
        .run(|| {
            // SAFETY: plain socket calls; the fd is owned right after creation.
            unsafe {
                let fd = libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW,
                    (libc::ETH_P_ALL as u16).to_be() as i32,
                );
                assert!(fd >= 0);
                let fd = OwnedFd::from_raw_fd(fd);
                let mut sll: libc::sockaddr_ll = std::mem::zeroed();
                sll.sll_family = libc::AF_PACKET as u16;
                sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
                sll.sll_ifindex = ifindex(&dev) as i32;
                let rc = libc::bind(
                    fd.as_raw_fd(),
                    &sll as *const _ as *const libc::sockaddr,
                    std::mem::size_of_val(&sll) as u32,
                );
                assert_eq!(rc, 0);
                let big: libc::c_int = 8 << 20;
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUFFORCE,
                    &big as *const _ as *const libc::c_void,
                    4,
                );
                let tv = libc::timeval {
                    tv_sec: 0,
                    tv_usec: 200_000,
                };
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    &tv as *const _ as *const libc::c_void,
                    std::mem::size_of_val(&tv) as u32,
                );
                Ok(fd)
            }
        })
        .unwrap()
}

/// Reads tunnelled frames until `quiet` passes without one; returns the sequence numbers of the
/// inner UDP payloads, after checking every frame's headers and checksums.
fn collect(fd: &OwnedFd, quiet: Duration, stop: Option<&AtomicBool>) -> Vec<u32> {
    let mut seqs = Vec::new();
    let mut buf = [0u8; 2048];
    let mut last = Instant::now();
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        };
        if n <= 0 {
            let stopped = stop.map(|s| s.load(Ordering::SeqCst)).unwrap_or(true);
            if stopped && last.elapsed() >= quiet {
                return seqs;
            }
            continue;
        }
        let f = &buf[..n as usize];
        // Only IPv4 frames carrying IP-in-IP (ARP, IPv6 ND and the like are ignored).
        if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[14 + 9] != 4 {
            continue;
        }
        last = Instant::now();
        assert_eq!(&f[..6], &BE_MAC, "frame to the backend's MAC");
        assert_eq!(
            &f[6..12],
            &[0x02, 0, 0, 0, 0x0a, 0x01],
            "from the balancer's MAC"
        );
        assert_eq!(&f[14 + 12..14 + 16], &[10, 99, 0, 1], "outer source");
        assert_eq!(&f[14 + 16..14 + 20], &[10, 99, 0, 3], "outer destination");
        assert_eq!(
            verify_ip(&f[14..]),
            3,
            "outer IP, inner IP and UDP checksums"
        );
        let inner = &f[34..];
        let payload = &inner[28..32];
        let seq = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
        // The inner packet arrives exactly as the client sent it.
        assert_eq!(inner, &Client::frame(seq)[14..], "inner packet {seq}");
        seqs.push(seq);
    }
}

/// The client injects complete frames with a packet socket, so every checksum is filled in
/// (a UDP socket on a veth leaves the UDP checksum to an offload that never happens).
struct Client(OwnedFd);

impl Client {
    fn new(lab: &Lab) -> Client {
        Client(packet_socket(lab, "cl"))
    }

    fn frame(seq: u32) -> Vec<u8> {
        let src: IpAddr = "10.99.0.2".parse().unwrap();
        let dst: IpAddr = VIP.parse().unwrap();
        let seg = l4(
            17,
            src,
            dst,
            40000 + (seq % 64) as u16,
            5000,
            &seq.to_be_bytes(),
        );
        let ip = ipv4(
            Ipv4Addr::new(10, 99, 0, 2),
            VIP.parse().unwrap(),
            17,
            0,
            0,
            &seg,
        );
        eth(LB_NIC_MAC, [0x02, 0, 0, 0, 0x0c, 0x01], 0x0800, &ip)
    }

    fn send(&self, seq: u32) {
        let f = Client::frame(seq);
        // SAFETY: f is valid for its length; the socket is bound to cl0.
        let n = unsafe {
            libc::send(
                self.0.as_raw_fd(),
                f.as_ptr() as *const libc::c_void,
                f.len(),
                0,
            )
        };
        assert_eq!(n as usize, f.len());
    }
}

fn configure(lb: &mut XdpLb) -> Vip {
    lb.set_config(Some(Ipv4Addr::new(10, 99, 0, 1)), None, Some(BE_MAC))
        .unwrap();
    let vip = Vip::udp(VIP.parse().unwrap(), 5000);
    lb.add_vip(vip).unwrap();
    lb.set_backends(
        &vip,
        &[Backend {
            addr: "10.99.0.3".parse().unwrap(),
            weight: 1,
        }],
    )
    .unwrap();
    vip
}

fn attach_in(lab: &Lab, lb: &mut XdpLb) {
    attach_mode(lab, lb, AttachMode::Generic)
}

fn attach_mode(lab: &Lab, lb: &mut XdpLb, mode: AttachMode) {
    lab.ns("lb")
        .run(|| lb.attach(ifindex("lb0"), mode))
        .unwrap_or_else(|e| panic!("attach {mode:?} XDP to lb0: {e}"));
}

#[test]
fn real_packets_are_tunnelled_to_the_backend_generic() {
    real_packets(AttachMode::Generic, "a");
}

#[test]
fn real_packets_are_tunnelled_to_the_backend_native() {
    // veth has native XDP (Linux 4.19+); XDP_TX on a veth hands the frame to its peer, which
    // the kernel accepts only when the peer has NAPI: GRO enabled or an XDP program of its own.
    real_packets(AttachMode::Native, "n");
}

fn real_packets(mode: AttachMode, tag: &str) {
    let lab = Lab::new(tag);
    let mut lb = XdpLb::load(&LoadOptions {
        max_vips: 2,
        max_backends: 16,
        conn_table_size: 1024,
    })
    .expect("load (needs root and BPF)");
    configure(&mut lb);
    // Native XDP_TX on a veth needs NAPI on the peer: give the peer an XDP_PASS program.
    let mut peer =
        LoadedProgram::load_object(BASELINES_OBJECT, "xdp_pass", &LoadOptions::default()).unwrap();
    let _peer_link = if mode == AttachMode::Native {
        Some(
            lab.ns("sw")
                .run(|| peer.attach(ifindex("s-lb"), AttachMode::Native))
                .expect("XDP_PASS on the peer"),
        )
    } else {
        None
    };
    attach_mode(&lab, &mut lb, mode);
    assert!(lb.is_attached());
    let sniff = backend_sniffer(&lab);
    let cl = Client::new(&lab);
    for seq in 0u32..50 {
        cl.send(seq);
    }
    let mut got = collect(&sniff, Duration::from_millis(500), None);
    got.sort();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
    assert!(lb.counter(Counter::Tx).unwrap() >= 50);

    // Detached: nothing is tunnelled any more.
    lb.detach().unwrap();
    assert!(!lb.is_attached());
    for seq in 100u32..110 {
        cl.send(seq);
    }
    assert!(collect(&sniff, Duration::from_millis(400), None).is_empty());
}

#[test]
fn restarted_control_plane_adopts_pinned_data_plane_without_loss() {
    let lab = Lab::new("b");
    let sniff = backend_sniffer(&lab);
    let cl = Client::new(&lab);

    // Instance A: load, configure, attach, pin, exit (drop) without detaching.
    let vip = {
        let mut a = XdpLb::load(&LoadOptions {
            max_vips: 2,
            max_backends: 16,
            conn_table_size: 1024,
        })
        .expect("load (needs root and BPF)");
        let vip = configure(&mut a);
        attach_in(&lab, &mut a);
        a.pin(&lab.pin_dir).unwrap();
        vip
    };

    // Traffic runs through the restart: one packet every 2 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let sender = {
        let stop = stop.clone();
        let progress = progress.clone();
        std::thread::spawn(move || {
            let mut seq = 0u32;
            while !stop.load(Ordering::SeqCst) {
                cl.send(seq);
                seq += 1;
                progress.store(seq, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
            }
            seq
        })
    };
    let reader_stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let rs = reader_stop.clone();
        std::thread::spawn(move || collect(&sniff, Duration::from_millis(500), Some(&rs)))
    };
    std::thread::sleep(Duration::from_millis(300));

    // Instance B adopts: same VIPs, backends and ring, read back from the pinned maps.
    let mut b = XdpLb::adopt(&lab.pin_dir).expect("adopt pinned data plane");
    assert!(b.is_attached());
    let info = b.vips();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].vip, vip);
    assert_eq!(info[0].backends.len(), 1);
    assert_eq!(
        info[0].backends[0].0.addr,
        "10.99.0.3".parse::<IpAddr>().unwrap()
    );
    assert_eq!(info[0].backends[0].1, 65537);
    // Changing the ring through the adopted maps: add a drained second backend; nothing moves.
    let upd = b
        .set_backends(
            &vip,
            &[
                Backend {
                    addr: "10.99.0.3".parse().unwrap(),
                    weight: 1,
                },
                Backend {
                    addr: "10.99.0.4".parse().unwrap(),
                    weight: 0,
                },
            ],
        )
        .unwrap();
    assert_eq!(upd.written, 0);
    assert!(b.counter(Counter::Tx).unwrap() > 0);
    std::thread::sleep(Duration::from_millis(300));
    // On a loaded machine the sender may be slow: keep traffic flowing through the adopted
    // data plane until enough packets went out to make the no-loss check meaningful.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while progress.load(Ordering::SeqCst) <= 150 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }

    stop.store(true, Ordering::SeqCst);
    let sent = sender.join().unwrap();
    reader_stop.store(true, Ordering::SeqCst);
    let mut got = reader.join().unwrap();
    got.sort();
    got.dedup();
    assert!(sent > 100, "sent only {sent}");
    assert_eq!(
        got.len() as u32,
        sent,
        "lost {} of {sent} packets",
        sent - got.len() as u32
    );

    // A third instance can adopt too and tear the data plane down; the pins go away.
    drop(b);
    let mut c = XdpLb::adopt(&lab.pin_dir).unwrap();
    assert_eq!(c.vips()[0].backends.len(), 2);
    c.detach().unwrap();
    assert!(!lab.pin_dir.exists());
    assert!(XdpLb::adopt(&lab.pin_dir).is_err());
}
