//! The XDP L4 load balancer: loading, attaching and map control with aya.
//!
//! The data plane is `bpf/xdplb.c`, compiled by clang in `core/build.rs` and embedded
//! ([`program::XDPLB_OBJECT`]). It matches TCP/UDP packets to IPv4/IPv6 VIPs, picks a backend
//! through the VIP's Maglev ring (65,537 slots, computed here in [`maglev`]), keeps flows on
//! their backend with a per-CPU LRU connection table (laid out by what the kernel offers:
//! [`ConnLayout`]), and sends packets back out encapsulated
//! (IP-in-IP or IPv6) with `XDP_TX`; everything else is `XDP_PASS`.
//!
//! [`XdpLb`] is the control plane: load, attach (generic or native mode, through a BPF link,
//! Linux 5.9+), pin under `/sys/fs/bpf/lbnet/<iface>`, adopt a pinned data plane after a
//! restart, VIPs, backends, weights, drain, counters.

pub mod abi;
pub mod balancer;
pub mod batch;
pub mod bpffs;
pub mod decap;
pub mod maglev;
pub mod maps;
pub mod program;

pub use abi::Counter;
pub use balancer::{
    default_pin_dir, Backend, BackendStats, Proto, RingUpdate, Vip, VipInfo, VipStats, XdpLb,
    LINK_PIN,
};
pub use program::{
    AttachMode, ConnLayout, LoadOptions, LoadedProgram, TestRunOutput, BASELINES_OBJECT,
    XDPLB_LRU_PER_CPU_OBJECT, XDPLB_OBJECT,
};
