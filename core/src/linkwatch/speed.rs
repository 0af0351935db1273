//! Speed and duplex, which rtnetlink does not carry: ethtool's `ETHTOOL_GLINKSETTINGS` answer
//! as exposed in sysfs (`/sys/class/net/NAME/speed`, `/duplex`).
//!
//! sysfs shows the network namespace of the process that mounted it, so this is only right for
//! the caller's own namespace. The kernel answers `EINVAL` for a link that is down or has no
//! ethtool support (loopback, bridges), and drivers report `-1` (`SPEED_UNKNOWN`) or
//! "unknown" when they do not know: all of those read as `None`.

use std::path::Path;

use super::link::Duplex;

/// Reads speed (Mb/s) and duplex of `name` from `root` (normally `/sys/class/net`).
pub(crate) fn read(root: &Path, name: &str) -> (Option<u32>, Option<Duplex>) {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return (None, None);
    }
    let dir = root.join(name);
    let speed = std::fs::read_to_string(dir.join("speed"))
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|&v| v > 0 && v < u32::MAX as i64)
        .map(|v| v as u32);
    let duplex = match std::fs::read_to_string(dir.join("duplex"))
        .ok()
        .as_deref()
        .map(str::trim)
    {
        Some("full") => Some(Duplex::Full),
        Some("half") => Some(Duplex::Half),
        _ => None,
    };
    (speed, duplex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysfs_files_and_rejects_unknowns() {
        let dir = std::env::temp_dir().join(format!("lbnet-speed-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("eth9")).unwrap();
        std::fs::create_dir_all(dir.join("eth8")).unwrap();
        std::fs::write(dir.join("eth9/speed"), "25000\n").unwrap();
        std::fs::write(dir.join("eth9/duplex"), "full\n").unwrap();
        std::fs::write(dir.join("eth8/speed"), "-1\n").unwrap();
        std::fs::write(dir.join("eth8/duplex"), "unknown\n").unwrap();
        assert_eq!(read(&dir, "eth9"), (Some(25000), Some(Duplex::Full)));
        assert_eq!(read(&dir, "eth8"), (None, None));
        assert_eq!(read(&dir, "missing"), (None, None));
        assert_eq!(read(&dir, "../eth9"), (None, None));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
