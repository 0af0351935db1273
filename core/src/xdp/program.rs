//! The embedded BPF object: loading it, running it on test packets and attaching it.

use aya::programs::{links::FdLink, TestRun, TestRunOptions, Xdp, XdpMode};
use aya::{Ebpf, EbpfLoader};

use super::abi::{DEFAULT_CONN_TABLE_SIZE, DEFAULT_MAX_BACKENDS, DEFAULT_MAX_VIPS, RING_SIZE};
use super::maps::map_err;
use crate::error::{Error, ErrorKind, Origin, Result, XdpOperation};

const LOAD: Origin = Origin::Xdp(XdpOperation::Load);
const ATTACH: Origin = Origin::Xdp(XdpOperation::Attach);

/// The object file `core/build.rs` compiled from `bpf/xdplb.c` with the
/// [`ConnLayout::PerCpuElem`] connection table (Linux 5.19+).
pub static XDPLB_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xdplb.o"));

/// The object compiled from `bpf/xdplb.c` with the [`ConnLayout::LruPerCpu`] connection table
/// (any kernel with XDP links, 5.9+).
pub static XDPLB_LRU_PER_CPU_OBJECT: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/xdplb_lru.o"));

/// How the connection table (flow -> backend, an LRU) is laid out. Both keep a flow on its
/// backend when its packets arrive on another CPU than its first (no RSS affinity, e.g. veth
/// or generic XDP), and both write a changed backend to every CPU's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnLayout {
    /// One `BPF_MAP_TYPE_LRU_PERCPU_HASH`; another CPU's value is read with the
    /// `bpf_map_lookup_percpu_elem` helper, which Linux has since 5.19.
    PerCpuElem,
    /// One `BPF_MAP_TYPE_LRU_HASH` per CPU in a `BPF_MAP_TYPE_ARRAY_OF_MAPS` indexed by
    /// `bpf_get_smp_processor_id()`, created and filled by the control plane at load, plus a
    /// shared fallback LRU for a CPU without one (Katran's `lru_mapping` and `fallback_cache`);
    /// another CPU's table is searched by index. Works on every kernel this crate attaches to.
    LruPerCpu,
}

impl ConnLayout {
    /// The layout for the running kernel: [`ConnLayout::PerCpuElem`] when an XDP program may
    /// call `bpf_map_lookup_percpu_elem` (probed by loading a two-instruction program, as
    /// libbpf's `libbpf_probe_bpf_helper` does), else [`ConnLayout::LruPerCpu`].
    pub fn probe() -> ConnLayout {
        use aya::programs::ProgramType;
        use aya::sys::{is_helper_supported, BpfHelper};
        match is_helper_supported(ProgramType::Xdp, BpfHelper::BPF_FUNC_map_lookup_percpu_elem) {
            Ok(true) => ConnLayout::PerCpuElem,
            _ => ConnLayout::LruPerCpu,
        }
    }

    /// Every layout the running kernel can load, [`ConnLayout::LruPerCpu`] first.
    pub fn supported() -> Vec<ConnLayout> {
        match Self::probe() {
            ConnLayout::PerCpuElem => vec![ConnLayout::LruPerCpu, ConnLayout::PerCpuElem],
            ConnLayout::LruPerCpu => vec![ConnLayout::LruPerCpu],
        }
    }

    /// The embedded object of this layout.
    pub fn object(self) -> &'static [u8] {
        match self {
            ConnLayout::PerCpuElem => XDPLB_OBJECT,
            ConnLayout::LruPerCpu => XDPLB_LRU_PER_CPU_OBJECT,
        }
    }

    /// A stable lower-case name: `percpu-elem` or `lru-per-cpu`.
    pub fn name(self) -> &'static str {
        match self {
            ConnLayout::PerCpuElem => "percpu-elem",
            ConnLayout::LruPerCpu => "lru-per-cpu",
        }
    }
}

/// Baseline programs compiled from `bpf/baselines.c`: `xdp_pass` and `xdp_macswap`.
pub static BASELINES_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/baselines.o"));

/// The program's name (its `SEC("xdp")` function) in the object.
pub const PROGRAM_NAME: &str = "xdplb";

/// Capacities chosen at load time (map `max_entries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// VIP slots; the ring map holds `max_vips * 65,537` entries of 4 bytes.
    pub max_vips: u32,
    /// Backend slots over all VIPs (slot 0 is reserved).
    pub max_backends: u32,
    /// Connection table entries (LRU, values per CPU).
    pub conn_table_size: u32,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_vips: DEFAULT_MAX_VIPS,
            max_backends: DEFAULT_MAX_BACKENDS,
            conn_table_size: DEFAULT_CONN_TABLE_SIZE,
        }
    }
}

/// How to attach: in the kernel's generic (skb) path or in the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttachMode {
    /// Generic XDP (`XDP_FLAGS_SKB_MODE`): works on every device, after skb allocation.
    #[default]
    Generic,
    /// Native XDP (`XDP_FLAGS_DRV_MODE`): needs driver support (veth has it since 4.19).
    Native,
}

/// What a `BPF_PROG_TEST_RUN` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunOutput {
    /// The XDP action (`XDP_DROP` = 1, `XDP_PASS` = 2, `XDP_TX` = 3, ...).
    pub action: u32,
    /// The packet after the program ran.
    pub packet: Vec<u8>,
    /// Average run time per repetition as the kernel measured it, in nanoseconds.
    pub duration_ns: u64,
}

/// A loaded (verified) instance of the program with its object.
#[derive(Debug)]
pub struct LoadedProgram {
    pub(crate) ebpf: Ebpf,
    name: String,
}

impl LoadedProgram {
    /// Loads the embedded object of the layout [`ConnLayout::probe`] picks, with the given
    /// capacities, and verifies the program.
    pub fn load(opts: &LoadOptions) -> Result<LoadedProgram> {
        Self::load_layout(opts, ConnLayout::probe())
    }

    /// Loads the embedded object of `layout` (a kernel without what it needs refuses it:
    /// [`ConnLayout::PerCpuElem`] before Linux 5.19 is `NotAvailable` or the verifier's
    /// `EINVAL`). For [`ConnLayout::LruPerCpu`] the per-CPU tables are not created here but
    /// by [`crate::xdp::XdpLb::load_layout`]; until then every CPU uses the fallback table.
    pub fn load_layout(opts: &LoadOptions, layout: ConnLayout) -> Result<LoadedProgram> {
        Self::load_inner(layout.object(), PROGRAM_NAME, opts, Some(layout))
    }

    /// Loads another XDP object (e.g. a benchmark baseline) with program `name`.
    pub fn load_object(object: &[u8], name: &str, opts: &LoadOptions) -> Result<LoadedProgram> {
        let layout = (name == PROGRAM_NAME).then_some(ConnLayout::PerCpuElem);
        Self::load_inner(object, name, opts, layout)
    }

    fn load_inner(
        object: &[u8],
        name: &str,
        opts: &LoadOptions,
        layout: Option<ConnLayout>,
    ) -> Result<LoadedProgram> {
        if opts.max_vips == 0 || opts.max_backends < 2 || opts.conn_table_size == 0 {
            return Err(Error::invalid(
                LOAD,
                "xdp load: capacities must be positive",
            ));
        }
        // backend.vip_num is 16 bits wide.
        if opts.max_vips > u16::MAX as u32 {
            return Err(Error::new(
                LOAD,
                ErrorKind::OutOfRange,
                "xdp load: at most 65,535 VIPs",
            ));
        }
        let ring = opts
            .max_vips
            .checked_mul(RING_SIZE)
            .ok_or_else(|| Error::new(LOAD, ErrorKind::OutOfRange, "xdp load: too many VIPs"))?;
        let mut loader = EbpfLoader::new();
        let cpus = aya::util::nr_cpus()
            .map_err(|(_, e)| Error::from_io(LOAD, "count possible CPUs", &e))?
            as u32;
        if let Some(layout) = layout {
            loader
                .map_max_entries("vips", opts.max_vips)
                .map_max_entries("vip_stats", opts.max_vips)
                .map_max_entries("ring", ring)
                .map_max_entries("backends", opts.max_backends)
                .map_max_entries("backend_stats", opts.max_backends);
            match layout {
                ConnLayout::PerCpuElem => loader.map_max_entries("conns", opts.conn_table_size),
                // One slot per possible CPU; the inner template keeps the header's size (the
                // kernel does not compare an inner hash map's max_entries, Linux 5.10+).
                ConnLayout::LruPerCpu => loader
                    .map_max_entries("conns", cpus.max(1))
                    .map_max_entries("conns_fallback", opts.conn_table_size),
            };
        }
        let mut ebpf = loader
            .load(object)
            .map_err(|e| map_err(LOAD, "load BPF object", e).with_kind(ErrorKind::NotAvailable))?;
        let prog: &mut Xdp = ebpf
            .program_mut(name)
            .ok_or_else(|| Error::malformed(LOAD, format!("BPF object has no program {name}")))?
            .try_into()
            .map_err(|e| map_err(LOAD, "program type", e))?;
        prog.load()
            .map_err(|e| map_err(LOAD, "verify XDP program", e))?;
        Ok(LoadedProgram {
            ebpf,
            name: name.to_string(),
        })
    }

    fn xdp(&self) -> Result<&Xdp> {
        let p = self
            .ebpf
            .program(&self.name)
            .ok_or_else(|| Error::malformed(LOAD, "no program"))?;
        p.try_into().map_err(|e| map_err(LOAD, "program type", e))
    }

    fn xdp_mut(&mut self) -> Result<&mut Xdp> {
        let p = self
            .ebpf
            .program_mut(&self.name)
            .ok_or_else(|| Error::malformed(LOAD, "no program"))?;
        p.try_into().map_err(|e| map_err(LOAD, "program type", e))
    }

    /// Runs the program once per repetition on `packet` with `BPF_PROG_TEST_RUN` (the program
    /// need not be attached; maps are the live ones). `headroom` bytes are available in front
    /// of the packet as on a real device (the kernel gives test runs `XDP_PACKET_HEADROOM`).
    pub fn test_run(&self, packet: &[u8], repeat: u32) -> Result<TestRunOutput> {
        let mut out = vec![0u8; packet.len() + 256];
        let opts = TestRunOptions {
            data_in: Some(packet),
            data_out: Some(&mut out),
            repeat: repeat.max(1),
            ..Default::default()
        };
        let r = self
            .xdp()?
            .test_run(opts)
            .map_err(|e| map_err(Origin::Xdp(XdpOperation::TestRun), "BPF_PROG_TEST_RUN", e))?;
        out.truncate(r.data_size_out as usize);
        Ok(TestRunOutput {
            action: r.return_value,
            packet: out,
            duration_ns: r.duration.as_nanos() as u64,
        })
    }

    /// Attaches to the interface `ifindex` of the calling thread's network namespace through a
    /// BPF link (Linux 5.9+), so the attachment can be pinned and outlive this process.
    pub fn attach(&mut self, ifindex: u32, mode: AttachMode) -> Result<FdLink> {
        let mode = match mode {
            AttachMode::Generic => XdpMode::Skb,
            AttachMode::Native => XdpMode::Driver,
        };
        let prog = self.xdp_mut()?;
        let id = prog
            .attach_to_if_index(ifindex, mode)
            .map_err(|e| map_err(ATTACH, &format!("attach XDP to ifindex {ifindex}"), e))?;
        let link = prog
            .take_link(id)
            .map_err(|e| map_err(ATTACH, "take XDP link", e))?;
        FdLink::try_from(link).map_err(|_| {
            Error::new(
                ATTACH,
                ErrorKind::NotAvailable,
                "kernel attached XDP by netlink, not by BPF link (Linux < 5.9); cannot pin",
            )
        })
    }
}
