//! Backend-side decapsulation (`bpf/decap.c`): strips the outer IPv4/IPv6 header of what the
//! balancer sends, for backends whose kernel has no `ipip` / `ip6_tunnel` module.

use std::path::Path;

use aya::programs::links::PinnedLink;

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
/// link at `pin` (a file on a bpffs), so it stays after this process exits.
pub fn attach_decap_pinned(ifindex: u32, mode: AttachMode, pin: &Path) -> Result<()> {
    attach_pinned(load_decap()?, ifindex, mode, pin)
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
    Ok(())
}
