//! The program's maps, opened either from a freshly loaded object or from their bpffs pins.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use aya::maps::{Array, HashMap, Map, MapData, PerCpuArray};

use super::abi::{
    BackendEntry, BackendStatsEntry, FlowKey, LbConfig, VipKey, VipMeta, VipStatsEntry, RING_SIZE,
};
use crate::error::{Error, ErrorKind, Origin, Result, XdpOperation};

const ADOPT: Origin = Origin::Xdp(XdpOperation::Adopt);
const UPDATE: Origin = Origin::Xdp(XdpOperation::Update);
const READ: Origin = Origin::Xdp(XdpOperation::Read);

/// Names of the maps in `bpf/xdplb.c`; also their file names under the pin directory.
/// `conns_fallback` exists only in the [`super::program::ConnLayout::LruPerCpu`] layout.
pub const MAP_NAMES: [&str; 9] = [
    "vips",
    "ring",
    "backends",
    "conns",
    "conns_fallback",
    "vip_stats",
    "stats",
    "config",
    "backend_stats",
];

/// Open handles to every map of one data plane.
#[derive(Debug)]
pub struct Maps {
    pub(crate) vips: Map,
    pub(crate) ring: Map,
    pub(crate) backends: Map,
    pub(crate) conns: Map,
    /// The shared fallback table of the LRU-per-CPU layout.
    pub(crate) conns_fallback: Option<Map>,
    pub(crate) vip_stats: Map,
    pub(crate) backend_stats: Map,
    pub(crate) stats: Map,
    pub(crate) config: Map,
}

/// Converts an aya error, keeping the kernel's errno when the error wraps a failed syscall
/// (aya's `SyscallError` carries the `io::Error` in its source chain).
pub(crate) fn map_err(origin: Origin, context: &str, e: impl std::error::Error + 'static) -> Error {
    let mut errno = None;
    let mut cur: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            errno = io.raw_os_error();
            break;
        }
        cur = err.source();
    }
    match errno {
        Some(n) => Error::from_kernel(origin, n, format!("{context}: {e}"), None),
        None => Error::new(origin, ErrorKind::Io, format!("{context}: {e}")),
    }
}

impl Maps {
    /// Takes the maps out of a loaded object.
    pub(crate) fn take(ebpf: &mut aya::Ebpf) -> Result<Maps> {
        let conns_fallback = ebpf.take_map("conns_fallback");
        let mut take = |name: &str| {
            ebpf.take_map(name).ok_or_else(|| {
                Error::malformed(
                    Origin::Xdp(XdpOperation::Load),
                    format!("BPF object has no map {name}"),
                )
            })
        };
        Ok(Maps {
            vips: take("vips")?,
            ring: take("ring")?,
            backends: take("backends")?,
            conns: take("conns")?,
            conns_fallback,
            vip_stats: take("vip_stats")?,
            backend_stats: take("backend_stats")?,
            stats: take("stats")?,
            config: take("config")?,
        })
    }

    /// Opens the maps pinned under `dir` (one file per name in [`MAP_NAMES`]).
    pub(crate) fn from_pins(dir: &Path) -> Result<Maps> {
        let open = |name: &str| -> Result<Map> {
            let path = dir.join(name);
            if !path.exists() {
                return Err(Error::new(
                    ADOPT,
                    ErrorKind::NotFound,
                    format!("no pinned map at {}", path.display()),
                ));
            }
            let data = MapData::from_pin(&path)
                .map_err(|e| map_err(ADOPT, &format!("open pinned map {}", path.display()), e))?;
            Map::from_map_data(data).map_err(|e| map_err(ADOPT, "pinned map type", e))
        };
        Ok(Maps {
            vips: open("vips")?,
            ring: open("ring")?,
            backends: open("backends")?,
            conns: open("conns")?,
            conns_fallback: if dir.join("conns_fallback").exists() {
                Some(open("conns_fallback")?)
            } else {
                None
            },
            vip_stats: open("vip_stats")?,
            backend_stats: open("backend_stats")?,
            stats: open("stats")?,
            config: open("config")?,
        })
    }

    /// Pins every map under `dir`, which must exist on a bpffs.
    pub(crate) fn pin(&self, dir: &Path) -> Result<()> {
        for (name, map) in self.named() {
            map.pin(dir.join(name)).map_err(|e| {
                map_err(
                    Origin::Xdp(XdpOperation::Pin),
                    &format!("pin map {name} in {}", dir.display()),
                    e,
                )
            })?;
        }
        Ok(())
    }

    fn named(&self) -> Vec<(&'static str, &Map)> {
        let mut v = vec![
            ("vips", &self.vips),
            ("ring", &self.ring),
            ("backends", &self.backends),
            ("conns", &self.conns),
            ("vip_stats", &self.vip_stats),
            ("backend_stats", &self.backend_stats),
            ("stats", &self.stats),
            ("config", &self.config),
        ];
        if let Some(f) = &self.conns_fallback {
            v.push(("conns_fallback", f));
        }
        v
    }

    /// The connection-table layout these maps have (from the type of `conns`).
    pub(crate) fn conn_layout(&self) -> super::program::ConnLayout {
        match self.conns {
            Map::ArrayOfMaps(_) => super::program::ConnLayout::LruPerCpu,
            _ => super::program::ConnLayout::PerCpuElem,
        }
    }

    /// LRU-per-CPU layout: empties CPU `cpu`'s slot of `conns` (its table is freed).
    pub(crate) fn remove_conn_table(&self, cpu: u32) -> Result<()> {
        let Map::ArrayOfMaps(outer) = &self.conns else {
            return Err(Error::invalid(
                UPDATE,
                "the percpu-elem connection table has no per-CPU tables",
            ));
        };
        super::batch::delete_u32(outer.fd().as_fd(), cpu)
    }

    /// LRU-per-CPU layout: creates one LRU hash of `size` entries per slot of `conns` (one per
    /// possible CPU) and puts it there. The outer map holds the only lasting reference to each
    /// (pinning `conns` keeps them alive after this process).
    pub(crate) fn fill_conn_tables(&self, size: u32) -> Result<()> {
        let Map::ArrayOfMaps(outer) = &self.conns else {
            return Ok(());
        };
        let slots = outer
            .info()
            .map_err(|e| map_err(UPDATE, "conns map info", e))?
            .max_entries();
        for cpu in 0..slots {
            let inner = super::batch::create_lru_hash(
                std::mem::size_of::<FlowKey>() as u32,
                4,
                size,
                "xdplb_conn_cpu",
            )?;
            super::batch::update_each_u32(
                outer.fd().as_fd(),
                &[cpu],
                &[std::os::fd::AsRawFd::as_raw_fd(&inner) as u32],
            )?;
        }
        Ok(())
    }

    pub(crate) fn vips(&mut self) -> Result<HashMap<&mut MapData, VipKey, VipMeta>> {
        HashMap::try_from(&mut self.vips).map_err(|e| map_err(UPDATE, "vips map", e))
    }

    pub(crate) fn backends(&mut self) -> Result<Array<&mut MapData, BackendEntry>> {
        Array::try_from(&mut self.backends).map_err(|e| map_err(UPDATE, "backends map", e))
    }

    pub(crate) fn config(&mut self) -> Result<Array<&mut MapData, LbConfig>> {
        Array::try_from(&mut self.config).map_err(|e| map_err(UPDATE, "config map", e))
    }

    pub(crate) fn vip_stats(&self) -> Result<PerCpuArray<&MapData, VipStatsEntry>> {
        PerCpuArray::try_from(&self.vip_stats).map_err(|e| map_err(READ, "vip_stats map", e))
    }

    pub(crate) fn backend_stats(&self) -> Result<PerCpuArray<&MapData, BackendStatsEntry>> {
        PerCpuArray::try_from(&self.backend_stats)
            .map_err(|e| map_err(READ, "backend_stats map", e))
    }

    pub(crate) fn backend_stats_mut(
        &mut self,
    ) -> Result<PerCpuArray<&mut MapData, BackendStatsEntry>> {
        PerCpuArray::try_from(&mut self.backend_stats)
            .map_err(|e| map_err(UPDATE, "backend_stats map", e))
    }

    pub(crate) fn stats(&self) -> Result<PerCpuArray<&MapData, u64>> {
        PerCpuArray::try_from(&self.stats).map_err(|e| map_err(READ, "stats map", e))
    }

    /// The ring map's file descriptor, for the raw batch syscalls.
    pub(crate) fn ring_fd(&self) -> Result<BorrowedFd<'_>> {
        match &self.ring {
            Map::Array(data) => Ok(data.fd().as_fd()),
            _ => Err(Error::malformed(READ, "ring is not an array map")),
        }
    }

    /// Capacity of the ring map in VIPs (`max_entries / RING_SIZE`).
    pub(crate) fn max_vips(&self) -> Result<u32> {
        Ok(self.max_entries(&self.ring)? / RING_SIZE)
    }

    /// Capacity of the backends map.
    pub(crate) fn max_backends(&self) -> Result<u32> {
        self.max_entries(&self.backends)
    }

    fn max_entries(&self, map: &Map) -> Result<u32> {
        let data = match map {
            Map::Array(d) | Map::HashMap(d) => d,
            _ => return Err(Error::malformed(READ, "unexpected map type")),
        };
        Ok(data
            .info()
            .map_err(|e| map_err(READ, "map info", e))?
            .max_entries())
    }
}
