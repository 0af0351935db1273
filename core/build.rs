//! Compiles the XDP load balancer (`bpf/xdplb.c`) with clang into `$OUT_DIR/xdplb.o`, which
//! `lbnet::xdp` embeds with `include_bytes!`. Needs clang (Debian `clang`, 14 or newer) and the
//! libbpf headers (Debian `libbpf-dev`); `make deps` installs both.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let bpf = root.join("../bpf");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("xdplb.o");
    println!("cargo:rerun-if-changed={}", bpf.display());
    println!("cargo:rerun-if-changed={}", bpf.join("xdplb.c").display());
    println!("cargo:rerun-if-changed={}", bpf.join("xdplb.h").display());
    println!("cargo:rerun-if-env-changed=BPF_CLANG");
    let clang = env::var("BPF_CLANG").unwrap_or_else(|_| "clang".into());
    // Debian keeps asm/types.h under the multiarch directory, which -target bpf does not search.
    let multiarch = format!("-I/usr/include/{}-linux-gnu", env::consts::ARCH);
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-Wall", "-Werror", "-target", "bpf", "-c"])
        .arg(&multiarch)
        .arg("-I")
        .arg(&bpf)
        .arg(bpf.join("xdplb.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run {clang} to build bpf/xdplb.c ({e}); install clang and libbpf-dev (make deps)")
        });
    assert!(status.success(), "{clang} failed to compile bpf/xdplb.c");
}
