//! Making sure a pin path is on a BPF filesystem.
//!
//! Pinned objects live on bpffs (`BPF_FS_MAGIC`, conventionally mounted at `/sys/fs/bpf`).
//! systemd mounts it at boot, but minimal systems and containers often have only an empty
//! `/sys/fs/bpf` directory on sysfs, where `mkdir` fails with `ENOENT`. Like iproute2's
//! `bpf_mnt_fs`, [`ensure_bpffs`] mounts bpffs on `/sys/fs/bpf` when that is where a pin goes and
//! nothing is mounted there (needs `CAP_SYS_ADMIN`), and otherwise explains what is wrong
//! instead of surfacing a bare `ENOENT`.

use crate::error::{Error, ErrorKind, Origin, Result, XdpOperation};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const PIN: Origin = Origin::Xdp(XdpOperation::Pin);

/// `BPF_FS_MAGIC` from `<linux/magic.h>`.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;
/// The conventional bpffs mount point.
const BPF_MOUNT: &str = "/sys/fs/bpf";

fn fs_type(path: &Path) -> std::io::Result<i64> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `c` is a valid NUL-terminated string and `st` a valid out-pointer.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)]
    Ok(st.f_type as i64)
}

/// Creates pin directory `dir` (and its parents) after [`ensure_bpffs`].
pub fn create_pin_dir(dir: &Path) -> Result<()> {
    ensure_bpffs(dir)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::from_io(PIN, format!("create {}", dir.display()), &e))
}

/// Ensures `dir` (which may not exist yet) lies on a BPF filesystem: mounts bpffs on
/// `/sys/fs/bpf` if `dir` is under it and it is not mounted; otherwise returns an error of kind
/// `NotAvailable` naming the path and the fix.
pub fn ensure_bpffs(dir: &Path) -> Result<()> {
    // The deepest existing ancestor tells which filesystem `dir` will be created on.
    let existing = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or_else(|| Path::new("/"));
    let ftype = fs_type(existing)
        .map_err(|e| Error::from_io(PIN, format!("statfs {}", existing.display()), &e))?;
    if ftype == BPF_FS_MAGIC {
        return Ok(());
    }
    let mount = Path::new(BPF_MOUNT);
    if dir.starts_with(mount) && (existing == mount || !existing.starts_with(mount)) {
        let src = CString::new("bpf").expect("no NUL");
        let target = CString::new(BPF_MOUNT).expect("no NUL");
        let opts = CString::new("mode=0700").expect("no NUL");
        // SAFETY: all pointers are valid NUL-terminated strings for the call's duration.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                target.as_ptr(),
                src.as_ptr(),
                0,
                opts.as_ptr().cast(),
            )
        };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            return Err(Error::from_io(
                PIN,
                format!(
                    "{BPF_MOUNT} is not a BPF filesystem and mounting one there failed \
                     (mount -t bpf bpf {BPF_MOUNT})"
                ),
                &e,
            ));
        }
        return Ok(());
    }
    Err(Error::new(
        PIN,
        ErrorKind::NotAvailable,
        format!(
            "pin directory {} is not on a BPF filesystem (mount -t bpf bpf DIR first)",
            dir.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_on_tmpfs_is_refused_with_the_fix() {
        let err = ensure_bpffs(Path::new("/tmp/lbnet-not-bpffs/x")).unwrap_err();
        assert!(err.to_string().contains("not on a BPF filesystem"), "{err}");
    }

    #[test]
    fn sys_fs_bpf_is_usable_after_ensure() {
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: needs root to mount bpffs");
            return;
        }
        ensure_bpffs(Path::new("/sys/fs/bpf/lbnet-bpffs-test/a")).unwrap();
        assert_eq!(fs_type(Path::new(BPF_MOUNT)).unwrap(), BPF_FS_MAGIC);
    }
}
