//! Compiles the benchmark's restore harness (`bpf/restore.bpf.c`) with clang into
//! `$OUT_DIR/restore.o` and links libbpf (Debian `libbpf-dev`), which loads Katran's program
//! (map-in-map definitions) and the harness.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("bpf/restore.bpf.c");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("restore.o");
    println!("cargo:rerun-if-changed={}", src.display());
    let clang = env::var("BPF_CLANG").unwrap_or_else(|_| "clang".into());
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-Wall", "-Werror", "-target", "bpf", "-c"])
        .arg(format!("-I/usr/include/{}-linux-gnu", env::consts::ARCH))
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {clang} ({e}); install clang (make deps)"));
    assert!(status.success(), "{clang} failed on {}", src.display());
    println!("cargo:rustc-link-lib=bpf");
}
