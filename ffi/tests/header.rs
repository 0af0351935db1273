//! The C header `include/ipvs_ffi.h` is generated from the Rust sources by cbindgen. These tests
//! regenerate it in memory and fail when the committed file differs (so a stale header never
//! ships), check that it is valid C11 and C++ with every warning enabled, and that every
//! function and type in it carries documentation.
//!
//! `make header` (which runs this test with `LBNET_WRITE_HEADER=1`) rewrites the file.

mod header_util;

use std::path::PathBuf;
use std::process::Command;

fn ffi_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    ffi_dir().join("../include/ipvs_ffi.h")
}

/// The areas of the C ABI, in header order: the name prefixes of their items (functions, types
/// and constants) and the usage comment that opens their group. Common comes first because the
/// areas use its types (`struct lbnet_addr`, `struct lbnet_prefix`).
const AREAS: &[(&str, &[&str], &str)] = &[
    (
        "Common: errors, version, addresses and prefixes",
        &[
            "lbnet_last_error",
            "lbnet_error_kind",
            "LBNET_ERROR_KIND",
            "lbnet_version",
            "LBNET_VERSION",
            "lbnet_addr",
            "LBNET_ADDR",
            "lbnet_prefix",
            "LBNET_PREFIX",
            "LBNET_PATH_MAX",
        ],
        "Every function returns 0 (or a count) on success and a negative errno on failure;\n\
         lbnet_last_error() and lbnet_last_error_kind() then describe the failure for the\n\
         calling thread. Addresses and prefixes cross the ABI in binary (struct lbnet_addr,\n\
         struct lbnet_prefix); lbnet_addr_parse/lbnet_prefix_parse turn text into them.\n\
         Option structs begin with `size_t sz`: set it to sizeof the struct (libbpf's rule).",
    ),
    (
        "IPVS: services, destinations, statistics, timeouts, sync daemons (lbnet_ipvs_*)",
        &["lbnet_ipvs", "LBNET_IPVS"],
        "struct lbnet_ipvs_options o = { .sz = sizeof(o) };\n\
         struct lbnet_ipvs *h;\n\
         if (lbnet_ipvs_open(&o, &h) < 0) ... lbnet_last_error() ...\n\
         lbnet_ipvs_add_service(h, &svc); lbnet_ipvs_list_services(h, &list); ...\n\
         lbnet_ipvs_service_list_free(list); lbnet_ipvs_free(h);\n\
         A batch (lbnet_ipvs_batch_*) sends many changes at once and reports one result each.",
    ),
    (
        "Route export: BGP best paths into kernel routing tables (lbnet_rtexport_*)",
        &["lbnet_rtexport", "LBNET_RTEXPORT"],
        "struct lbnet_rtexport_options o = { .sz = sizeof(o), .rules = rules, .n_rules = n };\n\
         lbnet_rtexport_open(&o, &ex); lbnet_rtexport_update(ex, ...); ... lbnet_rtexport_free(ex);",
    ),
    (
        "Link watch: a loss-free view of the kernel's links and addresses (lbnet_linkwatch_*, lbnet_addrwatch_*)",
        &["lbnet_linkwatch", "LBNET_LINKWATCH", "lbnet_addrwatch", "LBNET_ADDRWATCH"],
        "lbnet_linkwatch_open(&o, &w); lbnet_linkwatch_snapshot(w, ...);\n\
         poll(lbnet_linkwatch_fd(w)) then lbnet_linkwatch_next_event(w, ...); lbnet_linkwatch_free(w);\n\
         lbnet_addrwatch_* (addresses) works the same way and takes the same options.",
    ),
    (
        "XDP load balancer: VIPs, backends, Maglev rings, statistics (lbnet_xdp_*)",
        &["lbnet_xdp", "LBNET_XDP"],
        "lbnet_xdp_open(&o, &lb); lbnet_xdp_attach(lb, ...); lbnet_xdp_add_vip(lb, &vip);\n\
         lbnet_xdp_set_backends(lb, ...); ... lbnet_xdp_free(lb);",
    ),
    (
        "Declarations without an area prefix (every_item_has_an_area fails while any is here)",
        &[],
        "Name each item with its area's prefix (or add it to the common list in ffi/tests/header.rs).",
    ),
];

/// Index in [`AREAS`] of the group for items that match no prefix.
const UNSORTED: usize = AREAS.len() - 1;

/// The area (index into [`AREAS`]) of a declaration: by the first `lbnet_`/`LBNET_` name in its
/// non-comment lines; names of no area go to [`UNSORTED`].
fn area_of(chunk: &[&str]) -> usize {
    let code = chunk
        .iter()
        .filter(|l| !l.trim_start().starts_with("//"))
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let name = [code.find("lbnet_"), code.find("LBNET_")]
        .into_iter()
        .flatten()
        .min()
        .map(|i| {
            code[i..]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")
        })
        .unwrap_or("");
    // The longest matching prefix wins: `lbnet_addrwatch` is link watch, not common's
    // `lbnet_addr`.
    AREAS
        .iter()
        .enumerate()
        .flat_map(|(i, (_, prefixes, _))| prefixes.iter().map(move |p| (i, p)))
        .filter(|(_, p)| name.starts_with(*p))
        .max_by_key(|(_, p)| p.len())
        .map_or(UNSORTED, |(i, _)| i)
}

/// Regroups cbindgen's output (constants, then types, then functions) by area, each group
/// opened by its usage comment, keeping cbindgen's order inside a group (which has every type
/// before its users).
fn group_by_area(raw: &str) -> String {
    const OPEN: &str = "#ifdef __cplusplus\nextern \"C\" {\n#endif // __cplusplus\n";
    const CLOSE: &str = "#ifdef __cplusplus\n}  // extern \"C\"\n#endif  // __cplusplus\n";
    const INCLUDES_END: &str = "#include <stdbool.h>\n";
    let guard_end = raw
        .rfind("#endif  /* LBNET_IPVS_FFI_H */")
        .expect("include guard end");
    let start = raw.find(INCLUDES_END).expect("includes") + INCLUDES_END.len();
    let body = raw[start..guard_end].replace(OPEN, "").replace(CLOSE, "");
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); AREAS.len()];
    let mut chunk: Vec<&str> = Vec::new();
    let mut depth = 0i32;
    for line in body.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() && depth == 0 {
            if !chunk.is_empty() {
                groups[area_of(&chunk)].push(chunk.join("\n"));
                chunk.clear();
            }
            continue;
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        chunk.push(line);
    }
    let mut out = String::from(&raw[..start]);
    out.push('\n');
    out.push_str(OPEN);
    for ((title, _, usage), items) in AREAS.iter().zip(&groups) {
        if items.is_empty() {
            continue;
        }
        out.push_str(&format!("\n/* ==== {title} ====\n *\n"));
        for l in usage.lines() {
            out.push_str(&format!(" * {}\n", l.trim_end()).replace(" * \n", " *\n"));
        }
        out.push_str(" */\n");
        for item in items {
            out.push('\n');
            out.push_str(item);
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str(CLOSE);
    out.push('\n');
    out.push_str(&raw[guard_end..]);
    out
}

/// The header as cbindgen generates it now from ffi/src with ffi/cbindgen.toml, grouped by area.
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
    group_by_area(&String::from_utf8(out).expect("cbindgen wrote UTF-8"))
}

#[test]
fn header_is_up_to_date() {
    header_util::check_or_write(&header_path(), &generate());
}

/// One prefix per area: every function, type and constant of the header is named with its
/// area's prefix (or is one of the common items), so none lands in the unsorted group.
#[test]
fn every_item_has_an_area() {
    let h = generate();
    let (title, _, _) = AREAS[UNSORTED];
    assert!(
        !h.contains(title),
        "declarations without an area prefix in the header (see its last group)"
    );
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
