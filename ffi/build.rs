//! Gives the shared object its soname, `libipvs_ffi.so.<major>`, so programs linked against it
//! record the ABI-major name and `make install` can ship the usual symlink chain
//! (`libipvs_ffi.so` -> `libipvs_ffi.so.0` -> `libipvs_ffi.so.0.1.0`).
//!
//! Because a program linked against `target/<profile>/libipvs_ffi.so` then asks the loader for
//! `libipvs_ffi.so.0`, this script also places the link `libipvs_ffi.so.0 -> libipvs_ffi.so` in
//! the profile directory, so an in-tree build (`cargo build --release`, Go's cgo with an rpath to
//! target/release) runs without installing. That link is best effort: `make` recreates it too.

use std::path::PathBuf;

fn main() {
    // The ABI major: 0 while the crate is 0.x (every 0.x release may break the ABI).
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" {
        let soname = format!("libipvs_ffi.so.{major}");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        // OUT_DIR is <target>/<profile>/build/ipvs_ffi-<hash>/out.
        if let Some(profile_dir) = std::env::var_os("OUT_DIR")
            .map(PathBuf::from)
            .and_then(|p| p.ancestors().nth(3).map(PathBuf::from))
        {
            let link = profile_dir.join(&soname);
            if std::fs::symlink_metadata(&link).is_err() {
                let _ = std::os::unix::fs::symlink("libipvs_ffi.so", &link);
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
