//! Compiles the XDP load balancer (`bpf/xdplb.c`) and the baseline programs (`bpf/baselines.c`)
//! with clang into `$OUT_DIR/*.o`, which `lbnet::xdp` embeds with `include_bytes!`. Needs clang (Debian `clang`, 14 or newer) and the
//! libbpf headers (Debian `libbpf-dev`); `make deps` installs both.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let bpf = root.join("../bpf");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", bpf.display());
    println!("cargo:rerun-if-env-changed=BPF_CLANG");
    // xdplb.c twice: one object per connection-table layout (CONN_LAYOUT in xdplb.c).
    for (src, obj, defs) in [
        ("xdplb.c", "xdplb.o", "-DCONN_LAYOUT=1"),
        ("xdplb.c", "xdplb_lru.o", "-DCONN_LAYOUT=2"),
        ("baselines.c", "baselines.o", ""),
        ("decap.c", "decap.o", ""),
    ] {
        println!("cargo:rerun-if-changed={}", bpf.join(src).display());
        compile(&bpf, &bpf.join(src), &out_dir.join(obj), defs);
    }
    println!("cargo:rerun-if-changed={}", bpf.join("xdplb.h").display());
}

fn compile(include: &std::path::Path, src: &std::path::Path, out: &std::path::Path, defs: &str) {
    let clang = env::var("BPF_CLANG").unwrap_or_else(|_| "clang".into());
    // Debian keeps asm/types.h under the multiarch directory, which -target bpf does not search.
    let multiarch = format!("-I/usr/include/{}-linux-gnu", env::consts::ARCH);
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-Wall", "-Werror", "-target", "bpf", "-c"])
        .arg(&multiarch)
        .args(defs.split_whitespace())
        .arg("-I")
        .arg(include)
        .arg(src)
        .arg("-o")
        .arg(out)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {clang} to build {} ({e}); install clang and libbpf-dev (make deps)",
                src.display()
            )
        });
    assert!(
        status.success(),
        "{clang} failed to compile {}",
        src.display()
    );
}
