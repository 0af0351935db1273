//! Backend-side decapsulation (`bpf/decap.c`): strips the outer IPv4/IPv6 header of what the
//! balancer sends, for backends whose kernel has no `ipip` / `ip6_tunnel` module.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use aya::maps::{HashMap, Map, MapData};
use aya::programs::links::PinnedLink;

use super::abi::words_addr;
use super::maps::map_err;
use super::program::{AttachMode, LoadOptions, LoadedProgram};
use crate::error::{Error, Origin, Result, XdpOperation};

/// The object compiled from `bpf/decap.c`.
pub static DECAP_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/decap.o"));

/// Loads the decapsulation program (for test runs or attaching).
pub fn load_decap() -> Result<LoadedProgram> {
    LoadedProgram::load_object(DECAP_OBJECT, "xdp_decap", &LoadOptions::default())
}

/// Attaches the decapsulation program to `ifindex` (calling thread's namespace) and pins the
/// link at `pin` (a file on a bpffs), so it stays after this process exits. Its map of outer
/// source addresses is pinned beside it ([`sources_pin`]).
pub fn attach_decap_pinned(ifindex: u32, mode: AttachMode, pin: &Path) -> Result<()> {
    let mut prog = load_decap()?;
    let srcs = prog
        .ebpf
        .take_map("outer_srcs")
        .ok_or_else(|| Error::malformed(Origin::Xdp(XdpOperation::Load), "no outer_srcs map"))?;
    attach_pinned(prog, ifindex, mode, pin)?;
    srcs.pin(sources_pin(pin))
        .map_err(|e| map_err(Origin::Xdp(XdpOperation::Pin), "pin outer_srcs", e))
}

/// Where [`attach_decap_pinned`] pins the map of outer sources: `<pin>_srcs` (bpffs refuses
/// names with a dot: EPERM).
pub fn sources_pin(pin: &Path) -> PathBuf {
    let mut p = pin.as_os_str().to_owned();
    p.push("_srcs");
    PathBuf::from(p)
}

/// The outer (tunnel) source addresses the decapsulation program pinned at `pin` has seen,
/// with a packet count each, sorted by address.
pub fn decap_sources(pin: &Path) -> Result<Vec<(IpAddr, u64)>> {
    let read = Origin::Xdp(XdpOperation::Read);
    let path = sources_pin(pin);
    let data = MapData::from_pin(&path)
        .map_err(|e| map_err(read, &format!("open {}", path.display()), e))?;
    let map = Map::from_map_data(data).map_err(|e| map_err(read, "outer_srcs map", e))?;
    let hm: HashMap<_, [u32; 5], u64> =
        HashMap::try_from(map).map_err(|e| map_err(read, "outer_srcs map", e))?;
    let mut out = Vec::new();
    for item in hm.iter() {
        let (k, n) = item.map_err(|e| map_err(read, "read outer_srcs", e))?;
        if let Some(a) = words_addr([k[0], k[1], k[2], k[3]], k[4] as u8) {
            out.push((a, n));
        }
    }
    out.sort();
    Ok(out)
}

/// Attaches the `xdp_pass` baseline (returns XDP_PASS) and pins its link at `pin`. A veth
/// accepts native XDP_TX frames from its peer only when it has NAPI enabled, which an XDP
/// program of its own provides (Linux veth driver, 4.19+).
pub fn attach_pass_pinned(ifindex: u32, mode: AttachMode, pin: &Path) -> Result<()> {
    let prog = LoadedProgram::load_object(
        super::program::BASELINES_OBJECT,
        "xdp_pass",
        &LoadOptions::default(),
    )?;
    attach_pinned(prog, ifindex, mode, pin)
}

fn attach_pinned(
    mut prog: LoadedProgram,
    ifindex: u32,
    mode: AttachMode,
    pin: &Path,
) -> Result<()> {
    let link = prog.attach(ifindex, mode)?;
    if let Some(dir) = pin.parent() {
        super::bpffs::create_pin_dir(dir)?;
    }
    link.pin(pin)
        .map_err(|e| map_err(Origin::Xdp(XdpOperation::Pin), "pin decap link", e))?;
    Ok(())
}

/// Detaches a program pinned by [`attach_decap_pinned`] or [`attach_pass_pinned`] (removes
/// the pin).
pub fn detach_decap_pinned(pin: &Path) -> Result<()> {
    let link = PinnedLink::from_pin(pin).map_err(|e| {
        map_err(
            Origin::Xdp(XdpOperation::Detach),
            &format!("open pinned link {}", pin.display()),
            e,
        )
    })?;
    drop(
        link.unpin().map_err(|e| {
            Error::from_io(Origin::Xdp(XdpOperation::Detach), "unpin decap link", &e)
        })?,
    );
    let _ = std::fs::remove_file(sources_pin(pin));
    Ok(())
}
