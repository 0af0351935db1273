//! The connection synchronisation daemon (`IPVS_CMD_*_DAEMON`).

use std::net::IpAddr;

/// Role of a sync daemon (`IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonState {
    /// Sends connection updates (`IP_VS_STATE_MASTER` = 1).
    Master,
    /// Receives them (`IP_VS_STATE_BACKUP` = 2).
    Backup,
}

impl DaemonState {
    /// The kernel's value.
    pub fn as_raw(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
        }
    }

    /// The state for a kernel value.
    pub fn from_raw(v: u32) -> Option<Self> {
        match v {
            1 => Some(DaemonState::Master),
            2 => Some(DaemonState::Backup),
            _ => None,
        }
    }
}

/// A sync daemon's configuration.
///
/// The optional fields exist since kernel 4.3 (`SYNC_MAXLEN`, `MCAST_GROUP`/`GROUP6`,
/// `MCAST_PORT`, `MCAST_TTL`); `None` when sending lets the kernel choose its default, and older
/// kernels ignore them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: DaemonState,
    /// Multicast interface name (at most 15 bytes; must exist, else `ENODEV`).
    pub mcast_ifname: String,
    /// Sync id (0..=255 is what ipvsadm accepts).
    pub syncid: u32,
    /// Maximum UDP payload of a sync message.
    pub sync_maxlen: Option<u16>,
    /// Multicast group (IPv4 or IPv6); default 224.0.0.81.
    pub mcast_group: Option<IpAddr>,
    /// Multicast port; default 8848.
    pub mcast_port: Option<u16>,
    /// Multicast TTL; default 1.
    pub mcast_ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon of `state` on interface `ifname` with `syncid` and the kernel's defaults.
    pub fn new(state: DaemonState, ifname: &str, syncid: u32) -> Self {
        SyncDaemon {
            state,
            mcast_ifname: ifname.to_string(),
            syncid,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }
}
