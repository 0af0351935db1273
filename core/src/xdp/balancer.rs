//! The control plane of one XDP load balancer: VIPs, their backends and weights, the Maglev
//! rings, counters, and the bpffs pins that let a restarted control plane adopt a running data
//! plane.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use aya::maps::{PerCpuArray, PerCpuValues};
use aya::programs::links::{FdLink, PinnedLink};

use super::abi::{
    addr_words, words_addr, BackendEntry, BackendStatsEntry, Counter, LbConfig, VipKey, VipMeta,
    VipStatsEntry, BACKEND_VALID, CFG_FLOW_SRC, RING_SIZE, VIP_RING_V4, VIP_RING_V6,
};
use super::batch;
use super::maglev::{build_ring, MaglevBackend};
use super::maps::{map_err, Maps};
use super::program::{AttachMode, ConnLayout, LoadOptions, LoadedProgram, TestRunOutput};
use crate::error::{Error, ErrorKind, Origin, Result, XdpOperation};

const ADOPT: Origin = Origin::Xdp(XdpOperation::Adopt);
const UPDATE: Origin = Origin::Xdp(XdpOperation::Update);
const READ: Origin = Origin::Xdp(XdpOperation::Read);

/// Where pins go by default: `/sys/fs/bpf/lbnet/<iface>`.
pub fn default_pin_dir(iface: &str) -> PathBuf {
    Path::new("/sys/fs/bpf/lbnet").join(iface)
}

/// File name of the pinned BPF link inside a pin directory.
pub const LINK_PIN: &str = "link";

/// The L4 protocol of a VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// TCP (`IPPROTO_TCP` = 6).
    Tcp,
    /// UDP (`IPPROTO_UDP` = 17).
    Udp,
}

impl Proto {
    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => libc::IPPROTO_TCP as u8,
            Proto::Udp => libc::IPPROTO_UDP as u8,
        }
    }

    fn from_number(n: u8) -> Option<Proto> {
        match n as i32 {
            libc::IPPROTO_TCP => Some(Proto::Tcp),
            libc::IPPROTO_UDP => Some(Proto::Udp),
            _ => None,
        }
    }
}

/// A virtual service: address, port and protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vip {
    /// The VIP address (IPv4 or IPv6).
    pub addr: IpAddr,
    /// The port, host order.
    pub port: u16,
    /// TCP or UDP.
    pub proto: Proto,
}

impl Vip {
    /// A TCP VIP.
    pub fn tcp(addr: IpAddr, port: u16) -> Vip {
        Vip {
            addr,
            port,
            proto: Proto::Tcp,
        }
    }

    /// A UDP VIP.
    pub fn udp(addr: IpAddr, port: u16) -> Vip {
        Vip {
            addr,
            port,
            proto: Proto::Udp,
        }
    }

    fn key(&self) -> VipKey {
        let (addr, family) = addr_words(self.addr);
        VipKey {
            addr,
            port: self.port.to_be(),
            proto: self.proto.number(),
            family,
        }
    }

    fn from_key(k: &VipKey) -> Option<Vip> {
        Some(Vip {
            addr: words_addr(k.addr, k.family)?,
            port: u16::from_be(k.port),
            proto: Proto::from_number(k.proto)?,
        })
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = match self.proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        };
        match self.addr {
            IpAddr::V4(a) => write!(f, "{p}:{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "{p}:[{a}]:{}", self.port),
        }
    }
}

/// A backend of a VIP as seen by the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    /// Tunnel destination (IPv4 gets IP-in-IP, IPv6 gets an IPv6 outer header).
    pub addr: IpAddr,
    /// Maglev weight; 0 = drained (no new flows, tracked flows continue).
    pub weight: u32,
}

/// A VIP with its backends and the number of ring slots each owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipInfo {
    /// The VIP.
    pub vip: Vip,
    /// Backends, sorted by address, with their ring slot counts.
    pub backends: Vec<(Backend, u32)>,
}

/// Per-VIP counters summed over CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VipStats {
    /// Packets to the VIP.
    pub packets: u64,
    /// Bytes (IP length) of those packets.
    pub bytes: u64,
    /// New flows (connection-table misses).
    pub lru_misses: u64,
    /// Dropped packets to the VIP.
    pub drops: u64,
}

/// Counters of one backend, summed over CPUs: what the program sent to it (`XDP_TX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BackendStats {
    /// Packets sent to the backend.
    pub packets: u64,
    /// Bytes (the inner IP packets' length, without the tunnel header) of those packets.
    pub bytes: u64,
}

/// What a ring update wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RingUpdate {
    /// Ring slots that changed owner and were written.
    pub written: usize,
}

#[derive(Debug)]
struct VipState {
    num: u32,
    /// Backend slot index -> (address, weight).
    backends: BTreeMap<u32, Backend>,
    /// Ring as written to the map: backend slot index per ring slot (0 = none).
    ring: Vec<u32>,
    /// `VipMeta::flags` as written to the map; `None` = not known (adopted state).
    ring_families: Option<u32>,
}

#[derive(Debug)]
enum LinkHandle {
    Owned(FdLink),
    Pinned(PinnedLink),
}

/// One XDP load balancer: the data plane's maps (and program and link, where this instance
/// loaded or adopted them) plus the control plane's view of VIPs and backends.
///
/// Dropping it detaches the program only if the attachment was not pinned; a pinned data plane
/// keeps forwarding with its maps until [`XdpLb::detach`] is called by some instance.
#[derive(Debug)]
pub struct XdpLb {
    program: Option<LoadedProgram>,
    maps: Maps,
    link: Option<LinkHandle>,
    pin_dir: Option<PathBuf>,
    vips: BTreeMap<Vip, VipState>,
    max_vips: u32,
    backend_used: Vec<bool>,
}

impl XdpLb {
    /// Loads and verifies the embedded program and creates its maps; nothing is attached yet.
    /// The connection-table layout is the one the running kernel supports best
    /// ([`ConnLayout::probe`]).
    pub fn load(opts: &LoadOptions) -> Result<XdpLb> {
        Self::load_layout(opts, ConnLayout::probe())
    }

    /// Like [`XdpLb::load`] with the given connection-table layout (tests run every layout the
    /// kernel supports). For [`ConnLayout::LruPerCpu`] one LRU table of
    /// `opts.conn_table_size` entries is created per possible CPU.
    pub fn load_layout(opts: &LoadOptions, layout: ConnLayout) -> Result<XdpLb> {
        let mut program = LoadedProgram::load_layout(opts, layout)?;
        let maps = Maps::take(&mut program.ebpf)?;
        maps.fill_conn_tables(opts.conn_table_size)?;
        let max_backends = maps.max_backends()? as usize;
        Ok(XdpLb {
            program: Some(program),
            max_vips: maps.max_vips()?,
            maps,
            link: None,
            pin_dir: None,
            vips: BTreeMap::new(),
            backend_used: vec![false; max_backends],
        })
    }

    /// Adopts a data plane pinned under `dir` by [`XdpLb::pin`] (possibly by another process):
    /// opens the pinned maps and link and reads VIPs, backends, weights and rings back from the
    /// maps. The program keeps running throughout; nothing is written.
    pub fn adopt(dir: &Path) -> Result<XdpLb> {
        let mut maps = Maps::from_pins(dir)?;
        let link_path = dir.join(LINK_PIN);
        let link = if link_path.exists() {
            Some(LinkHandle::Pinned(
                PinnedLink::from_pin(&link_path).map_err(|e| {
                    map_err(
                        ADOPT,
                        &format!("open pinned link {}", link_path.display()),
                        e,
                    )
                })?,
            ))
        } else {
            None
        };
        let max_vips = maps.max_vips()?;
        let max_backends = maps.max_backends()?;
        let mut vips = BTreeMap::new();
        let mut by_num: BTreeMap<u32, Vip> = BTreeMap::new();
        {
            let m = maps.vips()?;
            for item in m.iter() {
                let (k, meta) = item.map_err(|e| map_err(ADOPT, "read vips", e))?;
                let vip = Vip::from_key(&k)
                    .ok_or_else(|| Error::malformed(ADOPT, "pinned vips map has an invalid key"))?;
                if meta.vip_num >= max_vips || by_num.insert(meta.vip_num, vip).is_some() {
                    return Err(Error::malformed(ADOPT, format!("VIP {vip} has a bad slot")));
                }
            }
        }
        for (&num, &vip) in &by_num {
            let mut ring = vec![0u32; RING_SIZE as usize];
            batch::read_range_u32(maps.ring_fd()?, num * RING_SIZE, &mut ring)?;
            vips.insert(
                vip,
                VipState {
                    num,
                    backends: BTreeMap::new(),
                    ring,
                    ring_families: None,
                },
            );
        }
        let mut backend_used = vec![false; max_backends as usize];
        {
            let arr = maps.backends()?;
            for i in 1..max_backends {
                let b = arr
                    .get(&i, 0)
                    .map_err(|e| map_err(ADOPT, "read backends", e))?;
                if b.flags & BACKEND_VALID == 0 {
                    continue;
                }
                let addr = words_addr(b.addr, b.family).ok_or_else(|| {
                    Error::malformed(ADOPT, format!("backend slot {i}: bad family"))
                })?;
                let vip = by_num.get(&(b.vip_num as u32)).ok_or_else(|| {
                    Error::malformed(ADOPT, format!("backend slot {i} belongs to no VIP"))
                })?;
                backend_used[i as usize] = true;
                vips.get_mut(vip).expect("VIP read above").backends.insert(
                    i,
                    Backend {
                        addr,
                        weight: b.weight,
                    },
                );
            }
        }
        Ok(XdpLb {
            program: None,
            maps,
            link,
            pin_dir: Some(dir.to_path_buf()),
            vips,
            max_vips,
            backend_used,
        })
    }

    /// The connection-table layout of this data plane (read from its maps, so an adopted one
    /// says what its loader chose).
    pub fn conn_layout(&self) -> ConnLayout {
        self.maps.conn_layout()
    }

    /// [`ConnLayout::LruPerCpu`] only: removes CPU `cpu`'s own connection table, so that its
    /// packets use the shared fallback table (counter `lru_fallback`), as a CPU that came
    /// online after the tables were created does; flows recorded in it are lost. For tests of
    /// that path. `EINVAL` in the other layout or for a CPU beyond the table array.
    pub fn remove_conn_table(&mut self, cpu: u32) -> Result<()> {
        self.maps.remove_conn_table(cpu)
    }

    /// Runs the program on one packet with `BPF_PROG_TEST_RUN` against the live maps. Needs an
    /// instance that loaded the program (not an adopted one).
    pub fn test_run(&self, packet: &[u8], repeat: u32) -> Result<TestRunOutput> {
        self.program
            .as_ref()
            .ok_or_else(|| {
                Error::new(
                    Origin::Xdp(XdpOperation::TestRun),
                    ErrorKind::NotAvailable,
                    "adopted instance: no program",
                )
            })?
            .test_run(packet, repeat)
    }

    /// Attaches the program to `ifindex` in the calling thread's network namespace (use
    /// [`crate::netns::NetNs::run`] for another namespace).
    pub fn attach(&mut self, ifindex: u32, mode: AttachMode) -> Result<()> {
        if self.link.is_some() {
            return Err(Error::new(
                Origin::Xdp(XdpOperation::Attach),
                ErrorKind::Exists,
                "already attached",
            ));
        }
        let program = self.program.as_mut().ok_or_else(|| {
            Error::new(
                Origin::Xdp(XdpOperation::Attach),
                ErrorKind::NotAvailable,
                "adopted instance: no program",
            )
        })?;
        self.link = Some(LinkHandle::Owned(program.attach(ifindex, mode)?));
        Ok(())
    }

    /// Whether this instance holds an attachment (its own or an adopted pinned one).
    pub fn is_attached(&self) -> bool {
        self.link.is_some()
    }

    /// Pins every map and the link (if attached) under `dir` (created, on a bpffs; bpffs is
    /// mounted on `/sys/fs/bpf` if `dir` is under it and nothing is mounted there), so the data
    /// plane survives this process and [`XdpLb::adopt`] can take it over.
    pub fn pin(&mut self, dir: &Path) -> Result<()> {
        super::bpffs::create_pin_dir(dir)?;
        self.maps.pin(dir)?;
        if let Some(LinkHandle::Owned(link)) = self.link.take() {
            let pinned = link
                .pin(dir.join(LINK_PIN))
                .map_err(|e| map_err(Origin::Xdp(XdpOperation::Pin), "pin XDP link", e))?;
            self.link = Some(LinkHandle::Pinned(pinned));
        }
        self.pin_dir = Some(dir.to_path_buf());
        Ok(())
    }

    /// Detaches the program and removes the pins (if any): the data plane stops.
    pub fn detach(&mut self) -> Result<()> {
        match self.link.take() {
            Some(LinkHandle::Pinned(p)) => drop(p.unpin().map_err(|e| {
                Error::from_io(Origin::Xdp(XdpOperation::Detach), "unpin XDP link", &e)
            })?),
            Some(LinkHandle::Owned(l)) => drop(l),
            None => {}
        }
        if let Some(dir) = self.pin_dir.take() {
            for name in super::maps::MAP_NAMES {
                let _ = std::fs::remove_file(dir.join(name));
            }
            let _ = std::fs::remove_dir(&dir);
        }
        Ok(())
    }

    /// Sets the outer source addresses of the tunnels and the next-hop MAC (`None` sends
    /// packets back to the MAC they came from). Without a source of a family, packets to
    /// backends of that family are dropped (counter `drop_no_source`).
    pub fn set_config(
        &mut self,
        src4: Option<Ipv4Addr>,
        src6: Option<Ipv6Addr>,
        gw_mac: Option<[u8; 6]>,
    ) -> Result<()> {
        let old = self.read_config()?;
        let cfg = LbConfig {
            src4: src4.map(|a| addr_words(a.into()).0[0]).unwrap_or(0),
            src6: src6.map(|a| addr_words(a.into()).0).unwrap_or([0; 4]),
            gw_mac: gw_mac.unwrap_or([0; 6]),
            ..old
        };
        self.write_config(cfg)
    }

    /// Sets the largest outer IP packet the path to the backends carries (its MTU), 1,280 or
    /// more (0 restores the default, 1,500). A packet whose encapsulation would exceed it is
    /// answered, as Katran does, with ICMP "fragmentation needed" (IPv4 with DF) or ICMPv6
    /// "packet too big" (RFC 1191 / RFC 8201) carrying `max - 20` (IPv4 backend) or
    /// `max - 40` (IPv6 backend), sent back to the client from the VIP by `XDP_TX`; an IPv4
    /// packet without DF goes to the kernel (`XDP_PASS`, counter `pass_too_big`), since XDP
    /// cannot fragment.
    pub fn set_max_packet_size(&mut self, max: u16) -> Result<()> {
        if max != 0 && max < 1280 {
            return Err(Error::new(
                UPDATE,
                ErrorKind::OutOfRange,
                format!("max packet size {max} is below IPv6's minimum MTU, 1280"),
            ));
        }
        let cfg = LbConfig {
            max_pkt: max,
            ..self.read_config()?
        };
        self.write_config(cfg)
    }

    /// Derives the outer source address of every tunnel packet from the client's address and
    /// port, as Katran does (`create_encap_ipv4_src` / `create_encap_ipv6_src`), so that the
    /// backends' RSS and the network's ECMP spread the tunnelled flows: an IPv4 outer source
    /// keeps the first 16 bits of the configured IPv4 source and takes its last 16 from the
    /// client's address xor its port; an IPv6 outer source keeps the first 96 bits of the
    /// configured IPv6 source and takes its last 32 from the last 32 of the client's address
    /// (the whole address for an IPv4 client) xor the port. `false` sends every packet from
    /// the configured address itself. Replies from backends go to the client directly, so the
    /// derived sources need no route back unless ICMP errors about tunnel packets should reach
    /// the balancer.
    pub fn set_flow_source(&mut self, per_flow: bool) -> Result<()> {
        let old = self.read_config()?;
        let flags = if per_flow {
            old.flags | CFG_FLOW_SRC
        } else {
            old.flags & !CFG_FLOW_SRC
        };
        self.write_config(LbConfig { flags, ..old })
    }

    /// Sets the new-flow limit: at most `per_cpu_per_sec` new flows per second on one CPU are
    /// recorded in the connection table (a one-second window per CPU, `bpf_ktime_get_ns`);
    /// above it, as Katran's flood protection (`is_under_flood`, `MAX_CONN_RATE`) does, new
    /// flows are not recorded (counter `flood_skip`) and their packets follow the Maglev ring,
    /// which keeps them on their backend unless the ring changes meanwhile. As in Katran, a SYN
    /// above the limit does not touch the table either, so a new connection reusing the
    /// 5-tuple of a recorded one whose ring slot has moved since gets its SYN sent by the ring
    /// and its later packets to the old backend (below the limit the SYN replaces the old
    /// entry). 0 restores the default,
    /// [`DEFAULT_MAX_CONN_RATE`](super::abi::DEFAULT_MAX_CONN_RATE) (Katran's 125,000); [`CONN_RATE_UNLIMITED`](super::abi::CONN_RATE_UNLIMITED) records every
    /// flow.
    pub fn set_new_flow_limit(&mut self, per_cpu_per_sec: u32) -> Result<()> {
        let cfg = LbConfig {
            max_conn_rate: per_cpu_per_sec,
            ..self.read_config()?
        };
        self.write_config(cfg)
    }

    /// The configuration entry as the program reads it.
    pub fn config(&mut self) -> Result<LbConfig> {
        self.read_config()
    }

    fn read_config(&mut self) -> Result<LbConfig> {
        self.maps
            .config()?
            .get(&0, 0)
            .map_err(|e| map_err(READ, "read config", e))
    }

    fn write_config(&mut self, cfg: LbConfig) -> Result<()> {
        self.maps
            .config()?
            .set(0, cfg, 0)
            .map_err(|e| map_err(UPDATE, "write config", e))
    }

    /// Adds a VIP with no backends (its packets are dropped until backends are set).
    /// `EEXIST` if it exists, `ENOSPC` when every VIP slot is used.
    pub fn add_vip(&mut self, vip: Vip) -> Result<()> {
        if self.vips.contains_key(&vip) {
            return Err(Error::new(
                UPDATE,
                ErrorKind::Exists,
                format!("VIP {vip} exists"),
            ));
        }
        let used: Vec<u32> = self.vips.values().map(|v| v.num).collect();
        let num = (0..self.max_vips)
            .find(|n| !used.contains(n))
            .ok_or_else(|| {
                Error::from_kernel(
                    UPDATE,
                    libc::ENOSPC,
                    format!("add VIP {vip}: no slot"),
                    None,
                )
            })?;
        // A recycled slot's ring was zeroed by remove_vip; start from the map's content anyway.
        let mut ring = vec![0u32; RING_SIZE as usize];
        batch::read_range_u32(self.maps.ring_fd()?, num * RING_SIZE, &mut ring)?;
        let mut state = VipState {
            num,
            backends: BTreeMap::new(),
            ring,
            ring_families: Some(0),
        };
        self.write_ring(&mut state, None)?;
        self.zero_vip_stats(num)?;
        self.maps
            .vips()?
            .insert(
                vip.key(),
                VipMeta {
                    vip_num: num,
                    flags: 0,
                },
                0,
            )
            .map_err(|e| map_err(UPDATE, &format!("insert VIP {vip}"), e))?;
        self.vips.insert(vip, state);
        Ok(())
    }

    /// Removes a VIP: its packets go to the kernel again, its backends and ring are cleared.
    pub fn remove_vip(&mut self, vip: &Vip) -> Result<()> {
        let mut state = self.vips.remove(vip).ok_or_else(|| not_found(vip))?;
        self.maps
            .vips()?
            .remove(&vip.key())
            .map_err(|e| map_err(UPDATE, &format!("delete VIP {vip}"), e))?;
        let slots: Vec<u32> = state.backends.keys().copied().collect();
        state.backends.clear();
        self.write_ring(&mut state, None)?;
        for s in slots {
            self.free_backend(s)?;
        }
        Ok(())
    }

    /// Replaces the backends of `vip` (addresses must be unique). New flows follow the new
    /// ring at once; flows already tracked keep their backend if it is still in the set (even
    /// with weight 0). Only ring slots whose owner changed are written.
    pub fn set_backends(&mut self, vip: &Vip, backends: &[Backend]) -> Result<RingUpdate> {
        let mut state = self.vips.remove(vip).ok_or_else(|| not_found(vip))?;
        let r = self.apply_backends(vip, &mut state, backends);
        self.vips.insert(*vip, state);
        r
    }

    /// Changes one backend's weight (0 drains it: no new flows, tracked flows stay).
    pub fn set_weight(&mut self, vip: &Vip, addr: IpAddr, weight: u32) -> Result<RingUpdate> {
        let state = self.vips.get(vip).ok_or_else(|| not_found(vip))?;
        let mut list: Vec<Backend> = state.backends.values().copied().collect();
        let b = list.iter_mut().find(|b| b.addr == addr).ok_or_else(|| {
            Error::new(
                UPDATE,
                ErrorKind::NotFound,
                format!("VIP {vip} has no backend {addr}"),
            )
        })?;
        b.weight = weight;
        self.set_backends(vip, &list)
    }

    /// Drains a backend: weight 0.
    pub fn drain(&mut self, vip: &Vip, addr: IpAddr) -> Result<RingUpdate> {
        self.set_weight(vip, addr, 0)
    }

    /// Every VIP with its backends and their ring slot counts.
    pub fn vips(&self) -> Vec<VipInfo> {
        self.vips
            .iter()
            .map(|(vip, s)| {
                let mut backends: Vec<(Backend, u32)> = s
                    .backends
                    .iter()
                    .map(|(slot, b)| (*b, s.ring.iter().filter(|&&r| r == *slot).count() as u32))
                    .collect();
                backends.sort_by_key(|(b, _)| b.addr);
                VipInfo {
                    vip: *vip,
                    backends,
                }
            })
            .collect()
    }

    /// Counters of one VIP, summed over CPUs.
    pub fn vip_stats(&self, vip: &Vip) -> Result<VipStats> {
        let num = self.vips.get(vip).ok_or_else(|| not_found(vip))?.num;
        let values = self
            .maps
            .vip_stats()?
            .get(&num, 0)
            .map_err(|e| map_err(READ, "read vip_stats", e))?;
        let mut s = VipStats::default();
        for v in values.iter() {
            s.packets += v.packets;
            s.bytes += v.bytes;
            s.lru_misses += v.lru_misses;
            s.drops += v.drops;
        }
        Ok(s)
    }

    /// Every backend of `vip` (sorted by address, as in [`XdpLb::vips`]) with its counters,
    /// summed over CPUs (Katran's per-real packets and bytes). A backend's counters start at
    /// zero when it is added and survive weight changes and drains; a removed and re-added
    /// backend starts again at zero. `ENOENT` for an unknown VIP.
    pub fn backend_stats(&self, vip: &Vip) -> Result<Vec<(Backend, BackendStats)>> {
        let state = self.vips.get(vip).ok_or_else(|| not_found(vip))?;
        let map = self.maps.backend_stats()?;
        let mut out = Vec::with_capacity(state.backends.len());
        for (&slot, b) in &state.backends {
            let values = map
                .get(&slot, 0)
                .map_err(|e| map_err(READ, "read backend_stats", e))?;
            let mut s = BackendStats::default();
            for v in values.iter() {
                s.packets += v.packets;
                s.bytes += v.bytes;
            }
            out.push((*b, s));
        }
        out.sort_by_key(|(b, _)| b.addr);
        Ok(out)
    }

    /// Global counters, summed over CPUs.
    pub fn counters(&self) -> Result<Vec<(Counter, u64)>> {
        let stats = self.maps.stats()?;
        Counter::ALL
            .iter()
            .map(|&c| {
                let v = stats
                    .get(&(c as u32), 0)
                    .map_err(|e| map_err(READ, "read stats", e))?;
                Ok((c, v.iter().sum()))
            })
            .collect()
    }

    /// One global counter, summed over CPUs.
    pub fn counter(&self, c: Counter) -> Result<u64> {
        let v = self
            .maps
            .stats()?
            .get(&(c as u32), 0)
            .map_err(|e| map_err(READ, "read stats", e))?;
        Ok(v.iter().sum())
    }

    /// Rewrites the whole ring of `vip` (every slot, not only the changed ones): the
    /// benchmark's baseline for the delta update, and a repair tool.
    pub fn rewrite_ring(&mut self, vip: &Vip) -> Result<RingUpdate> {
        let mut state = self.vips.remove(vip).ok_or_else(|| not_found(vip))?;
        state.ring.iter_mut().for_each(|r| *r = u32::MAX);
        let r = self.write_ring(&mut state, Some(vip));
        self.vips.insert(*vip, state);
        r
    }

    fn apply_backends(
        &mut self,
        vip: &Vip,
        state: &mut VipState,
        backends: &[Backend],
    ) -> Result<RingUpdate> {
        for (i, b) in backends.iter().enumerate() {
            if backends[..i].iter().any(|o| o.addr == b.addr) {
                return Err(Error::invalid(
                    UPDATE,
                    format!("backend {} listed twice", b.addr),
                ));
            }
        }
        let (_, vip_family) = addr_words(vip.addr);
        let _ = vip_family; // any backend family can carry any VIP family (4in4, 6in4, 4in6, 6in6)
                            // 1. Existing backends keep their slot; new ones get a free slot, written before the
                            //    ring points at them.
        let mut keep: BTreeMap<u32, Backend> = BTreeMap::new();
        for b in backends {
            let slot = match state.backends.iter().find(|(_, o)| o.addr == b.addr) {
                Some((&s, _)) => s,
                None => self.alloc_backend()?,
            };
            self.write_backend(slot, state.num, Some(b))?;
            keep.insert(slot, *b);
        }
        let removed: Vec<u32> = state
            .backends
            .keys()
            .filter(|s| !keep.contains_key(s))
            .copied()
            .collect();
        state.backends = keep;
        // 2. The ring.
        let r = self.write_ring(state, Some(vip))?;
        // 3. Removed backends become invalid: their tracked flows are rehashed.
        for s in removed {
            self.free_backend(s)?;
        }
        Ok(r)
    }

    /// Writes the changed slots of the VIP's ring. With `vip` (whose map entry exists), also
    /// keeps its `VipMeta::flags` (the families owning the ring): set to 0 before a ring
    /// change between families, so that the program reads the ring while it changes, and to
    /// the new families after.
    fn write_ring(&mut self, state: &mut VipState, vip: Option<&Vip>) -> Result<RingUpdate> {
        let ids: Vec<(u32, [u8; 16], Backend)> = state
            .backends
            .iter()
            .map(|(&slot, b)| {
                let id = match b.addr {
                    IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
                    IpAddr::V6(a) => a.octets(),
                };
                (slot, id, *b)
            })
            .collect();
        let mb: Vec<MaglevBackend<'_>> = ids
            .iter()
            .map(|(_, id, b)| MaglevBackend {
                id,
                weight: b.weight,
            })
            .collect();
        let ring = build_ring(&mb, RING_SIZE);
        let mut families = 0u32;
        for o in ring.iter().flatten() {
            families |= match ids[*o as usize].2.addr {
                IpAddr::V4(_) => VIP_RING_V4,
                IpAddr::V6(_) => VIP_RING_V6,
            };
        }
        if families == VIP_RING_V4 | VIP_RING_V6 {
            families = 0;
        }
        let changed = state.ring_families != Some(families);
        if let (Some(v), true) = (vip, changed) {
            if state.ring_families != Some(0) {
                self.write_vip_meta(v, state.num, 0)?;
                state.ring_families = Some(0);
            }
        }
        let base = state.num * RING_SIZE;
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for (i, owner) in ring.iter().enumerate() {
            let v = owner.map(|o| ids[o as usize].0).unwrap_or(0);
            if state.ring[i] != v {
                keys.push(base + i as u32);
                values.push(v);
            }
        }
        batch::update_u32(self.maps.ring_fd()?, &keys, &values)?;
        for (k, v) in keys.iter().zip(&values) {
            state.ring[(k - base) as usize] = *v;
        }
        if let (Some(v), true) = (vip, changed) {
            self.write_vip_meta(v, state.num, families)?;
            state.ring_families = Some(families);
        }
        Ok(RingUpdate {
            written: keys.len(),
        })
    }

    fn write_vip_meta(&mut self, vip: &Vip, num: u32, flags: u32) -> Result<()> {
        self.maps
            .vips()?
            .insert(
                vip.key(),
                VipMeta {
                    vip_num: num,
                    flags,
                },
                0,
            )
            .map_err(|e| map_err(UPDATE, &format!("update VIP {vip}"), e))
    }

    fn zero_vip_stats(&mut self, num: u32) -> Result<()> {
        let mut m: PerCpuArray<&mut aya::maps::MapData, VipStatsEntry> =
            PerCpuArray::try_from(&mut self.maps.vip_stats)
                .map_err(|e| map_err(UPDATE, "vip_stats map", e))?;
        let n = aya::util::nr_cpus().map_err(|(_, e)| Error::from_io(UPDATE, "count CPUs", &e))?;
        let zeros = PerCpuValues::try_from(vec![VipStatsEntry::default(); n])
            .map_err(|e| Error::from_io(UPDATE, "per-CPU values", &e))?;
        m.set(num, zeros, 0)
            .map_err(|e| map_err(UPDATE, "reset vip_stats", e))
    }

    fn alloc_backend(&mut self) -> Result<u32> {
        let slot = (1..self.backend_used.len())
            .find(|&i| !self.backend_used[i])
            .ok_or_else(|| {
                Error::from_kernel(UPDATE, libc::ENOSPC, "no free backend slot", None)
            })?;
        // A recycled slot's counters belong to its previous backend.
        let n = aya::util::nr_cpus().map_err(|(_, e)| Error::from_io(UPDATE, "count CPUs", &e))?;
        let zeros = PerCpuValues::try_from(vec![BackendStatsEntry::default(); n])
            .map_err(|e| Error::from_io(UPDATE, "per-CPU values", &e))?;
        self.maps
            .backend_stats_mut()?
            .set(slot as u32, zeros, 0)
            .map_err(|e| map_err(UPDATE, "reset backend_stats", e))?;
        self.backend_used[slot] = true;
        Ok(slot as u32)
    }

    fn free_backend(&mut self, slot: u32) -> Result<()> {
        self.write_backend(slot, 0, None)?;
        self.backend_used[slot as usize] = false;
        Ok(())
    }

    fn write_backend(&mut self, slot: u32, vip_num: u32, b: Option<&Backend>) -> Result<()> {
        let entry = match b {
            Some(b) => {
                let (addr, family) = addr_words(b.addr);
                BackendEntry {
                    addr,
                    family,
                    flags: BACKEND_VALID,
                    vip_num: vip_num as u16,
                    weight: b.weight,
                }
            }
            None => BackendEntry::default(),
        };
        self.maps
            .backends()?
            .set(slot, entry, 0)
            .map_err(|e| map_err(UPDATE, &format!("write backend slot {slot}"), e))
    }
}

fn not_found(vip: &Vip) -> Error {
    Error::new(UPDATE, ErrorKind::NotFound, format!("no VIP {vip}"))
}
