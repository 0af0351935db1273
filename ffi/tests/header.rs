//! The C header `include/ipvs_ffi.h` is generated from the Rust sources by cbindgen. These tests
//! regenerate it in memory and fail when the committed file differs (so a stale header never
//! ships), check that it is valid C11 and C++ with every warning enabled, and that every
//! function and type in it carries documentation.
//!
//! `make header` (which runs this test with `LBNET_WRITE_HEADER=1`) rewrites the file.

use std::path::PathBuf;
use std::process::Command;

fn ffi_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    ffi_dir().join("../include/ipvs_ffi.h")
}

/// The header as cbindgen generates it now from ffi/src with ffi/cbindgen.toml.
fn generate() -> String {
    let dir = ffi_dir();
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen wrote UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let fresh = generate();
    let path = header_path();
    if std::env::var_os("LBNET_WRITE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/ipvs_ffi.h");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || committed.lines().count().min(fresh.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "header is stale: run make header ({} differs from the generated header at line {line})",
            path.display()
        );
    }
}

#[test]
fn header_has_include_guard() {
    let h = generate();
    assert!(h.contains("#ifndef LBNET_IPVS_FFI_H"), "no include guard");
    assert!(
        h.contains("#define LBNET_IPVS_FFI_H"),
        "no include guard define"
    );
    assert!(
        h.trim_end().ends_with("#endif  /* LBNET_IPVS_FFI_H */"),
        "guard not closed last"
    );
}

/// Every declaration (function prototype, struct, enum, typedef, #define constant) is preceded
/// by a doc comment, because each Rust item it comes from must be documented.
#[test]
fn every_declaration_is_documented() {
    let h = generate();
    let lines: Vec<&str> = h.lines().collect();
    let mut undocumented = Vec::new();
    let mut depth = 0i32; // inside a struct/enum body, fields are checked too
    let mut in_extern = false;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with("extern \"C\"") {
            in_extern = true;
            continue;
        }
        let starts_decl = depth == 0
            && !t.is_empty()
            && !t.starts_with("//")
            && !t.starts_with("/*")
            && !t.starts_with('*')
            && !t.starts_with('#')
            && !t.starts_with('}')
            && !t.starts_with(')')
            && !(t.starts_with(' ') || line.starts_with(' '))
            && !(in_extern && t == "}");
        let is_define = t.starts_with("#define ") && !t.contains("LBNET_IPVS_FFI_H");
        let is_field = depth > 0 && t.ends_with(';') && !t.starts_with('}');
        if starts_decl || is_define || is_field {
            // Continuation lines of a multi-line prototype start with spaces; skip them above.
            let prev = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
            let documented = prev.is_some_and(|p| {
                let p = p.trim();
                p.starts_with("//") || p.ends_with("*/")
            });
            if !documented {
                undocumented.push(format!("{}: {t}", i + 1));
            }
        }
        depth += t.matches('{').count() as i32 - t.matches('}').count() as i32;
        if in_extern && depth < 0 {
            depth = 0;
        }
    }
    assert!(
        undocumented.is_empty(),
        "undocumented declarations in the generated header:\n{}",
        undocumented.join("\n")
    );
}

fn compile(compiler: &str, lang_flags: &[&str], src_name: &str, src: &str) {
    let dir = std::env::temp_dir().join(format!("lbnet-header-{}-{compiler}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let inc = dir.join("include");
    std::fs::create_dir_all(&inc).unwrap();
    std::fs::write(inc.join("ipvs_ffi.h"), generate()).unwrap();
    let file = dir.join(src_name);
    std::fs::write(&file, src).unwrap();
    let out = Command::new(compiler)
        .args(lang_flags)
        .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-c", "-o"])
        .arg(dir.join("out.o"))
        .arg("-I")
        .arg(&inc)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{compiler} rejected the header:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const C_SRC: &str = r#"
#include <ipvs_ffi.h>
#include <ipvs_ffi.h> /* twice: the include guard must make this harmless */
int main(void) {
    const char *v = lbnet_version();
    return v == 0;
}
"#;

#[test]
fn header_is_valid_c11() {
    compile("gcc", &["-std=c11", "-x", "c"], "t.c", C_SRC);
}

#[test]
fn header_is_valid_cxx() {
    if Command::new("g++").arg("--version").output().is_err() {
        eprintln!("SKIPPED header_is_valid_cxx: g++ not installed");
        return;
    }
    compile("g++", &["-std=c++17", "-x", "c++"], "t.cc", C_SRC);
}
