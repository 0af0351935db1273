//! Global IPVS settings: version and table size ([`Info`]) and protocol timeouts ([`Timeouts`]),
//! and the bound every timeout in seconds obeys ([`KERNEL_HZ_MAX`]).

use crate::error::{Error, Result};

/// The largest `HZ` (kernel ticks per second, `CONFIG_HZ`) a Linux kernel is built with: the
/// choices are 100, 250, 300 and 1000. The kernel keeps IPVS timeouts in ticks, as
/// `seconds * HZ` in a 32-bit field, and a program cannot learn the running kernel's `HZ`
/// (`sysconf(_SC_CLK_TCK)` is `USER_HZ`, always 100), so the bounds below hold for every `HZ`
/// up to this one. (The kernel lab runs `HZ` = 250: a persistence timeout of `0xffffffff` s
/// read back as 17179868 s there, `0xffffffff * 250` wrapped modulo 2^32, divided by 250.)
pub const KERNEL_HZ_MAX: u32 = 1000;

/// What `IPVS_CMD_GET_INFO` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Info {
    /// IPVS version as `0x00MMmmpp` (e.g. `0x010201` = 1.2.1).
    pub version: u32,
    /// Size of the connection hash table (`ip_vs_conn_tab_size`, module parameter).
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as (major, minor, patch).
    pub fn version_triple(&self) -> (u8, u8, u8) {
        (
            (self.version >> 16) as u8,
            (self.version >> 8) as u8,
            self.version as u8,
        )
    }
}

/// Connection timeouts in seconds (`IPVS_CMD_ATTR_TIMEOUT_*`). When setting, 0 leaves a value
/// unchanged, and each must be at most [`Timeouts::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Timeouts {
    /// Established TCP connections.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

impl Timeouts {
    /// The largest timeout [`Handle::set_timeouts`](super::Handle::set_timeouts) sends:
    /// 2,147,483 s (about 24.8 days). `ip_vs_set_timeout` (ip_vs_ctl.c) reads each value into
    /// an `int` and stores `seconds * HZ` in the protocol's `int` timeout table: kernels with
    /// the 2019 overflow fix refuse a value above `INT_MAX / HZ` with `EINVAL`, older ones wrap
    /// it to a negative tick count. `INT_MAX / KERNEL_HZ_MAX` is safe for every kernel.
    pub const MAX: u32 = i32::MAX as u32 / KERNEL_HZ_MAX;

    /// Refuses a timeout above [`Timeouts::MAX`] (`EINVAL`), naming it, before anything is sent.
    pub fn check(&self) -> Result<()> {
        for (name, v) in [
            ("tcp", self.tcp),
            ("tcp_fin", self.tcp_fin),
            ("udp", self.udp),
        ] {
            if v > Self::MAX {
                return Err(Error::invalid(format!(
                    "invalid timeout value {v} for {name}: above {} s, the most the kernel \
                     holds as seconds*HZ in an int for every HZ up to {KERNEL_HZ_MAX}",
                    Self::MAX
                )));
            }
        }
        Ok(())
    }
}
