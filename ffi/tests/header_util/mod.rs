//! What the header tests (header.rs, libipvs_header.rs) share: comparing a generated header
//! with the committed one, or writing it (`make header` runs the tests with
//! `LBNET_WRITE_HEADER=1`).

use std::path::Path;

/// With `LBNET_WRITE_HEADER=1`, writes `fresh` to `path`; otherwise panics, naming the first
/// differing line, when the committed file at `path` is not `fresh`.
pub fn check_or_write(path: &Path, fresh: &str) {
    if std::env::var_os("LBNET_WRITE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(path, fresh).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
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
