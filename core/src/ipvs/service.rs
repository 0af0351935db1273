//! Virtual services: what identifies one ([`ServiceKey`]), its settings ([`Service`]) and flags.

use std::fmt;
use std::net::IpAddr;

use super::config::KERNEL_HZ_MAX;
use super::stats::Stats;
use crate::error::{Error, Result};

/// Address family of a service or destination (`AF_INET`, `AF_INET6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4 (`AF_INET` = 2).
    Inet,
    /// IPv6 (`AF_INET6` = 10).
    Inet6,
}

impl AddressFamily {
    /// The kernel's `AF_*` number.
    pub fn as_raw(self) -> u16 {
        match self {
            AddressFamily::Inet => libc::AF_INET as u16,
            AddressFamily::Inet6 => libc::AF_INET6 as u16,
        }
    }

    /// The family for an `AF_*` number, `None` for anything but IPv4 and IPv6.
    pub fn from_raw(af: u16) -> Option<Self> {
        match af as i32 {
            libc::AF_INET => Some(AddressFamily::Inet),
            libc::AF_INET6 => Some(AddressFamily::Inet6),
            _ => None,
        }
    }

    /// The family of `addr`.
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        }
    }
}

/// Transport protocol of an address-based service (`IPVS_SVC_ATTR_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP (`IPPROTO_TCP` = 6).
    Tcp,
    /// UDP (`IPPROTO_UDP` = 17).
    Udp,
    /// SCTP (`IPPROTO_SCTP` = 132; kernel `CONFIG_IP_VS_PROTO_SCTP`).
    Sctp,
}

impl Protocol {
    /// The IP protocol number.
    pub fn as_raw(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
        }
    }

    /// The protocol for an IP protocol number, `None` for one IPVS does not balance.
    pub fn from_raw(p: u16) -> Option<Self> {
        match p as i32 {
            libc::IPPROTO_TCP => Some(Protocol::Tcp),
            libc::IPPROTO_UDP => Some(Protocol::Udp),
            libc::IPPROTO_SCTP => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

/// What identifies a virtual service: protocol, address and port, or a firewall mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    /// A service on `addr:port` for `protocol`.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address (IPv4 or IPv6; `CONFIG_IP_VS_IPV6` for IPv6).
        addr: IpAddr,
        /// Virtual port (host order here, big-endian on the wire).
        port: u16,
    },
    /// A service matching packets with firewall mark `mark` of family `af`.
    Fwmark {
        /// Address family the service balances.
        af: AddressFamily,
        /// Firewall mark, non-zero.
        mark: u32,
    },
}

impl ServiceKey {
    /// A TCP service.
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }

    /// A UDP service.
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }

    /// An SCTP service.
    pub fn sctp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr,
            port,
        }
    }

    /// A firewall-mark service.
    pub fn fwmark(af: AddressFamily, mark: u32) -> Self {
        ServiceKey::Fwmark { af, mark }
    }

    /// The service's address family.
    pub fn af(&self) -> AddressFamily {
        match self {
            ServiceKey::Addr { addr, .. } => AddressFamily::of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// Formats like `ipvsadm`: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 7 IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                let p = match protocol {
                    Protocol::Tcp => "TCP",
                    Protocol::Udp => "UDP",
                    Protocol::Sctp => "SCTP",
                };
                match addr {
                    IpAddr::V4(a) => write!(f, "{p} {a}:{port}"),
                    IpAddr::V6(a) => write!(f, "{p} [{a}]:{port}"),
                }
            }
            ServiceKey::Fwmark { af, mark } => match af {
                AddressFamily::Inet => write!(f, "FWM {mark}"),
                AddressFamily::Inet6 => write!(f, "FWM {mark} IPv6"),
            },
        }
    }
}

/// Service flags (`IP_VS_SVC_F_*`), a plain bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// No flags.
    pub const NONE: ServiceFlags = ServiceFlags(0);
    /// Persistent service (`IP_VS_SVC_F_PERSISTENT`): a client sticks to one destination for
    /// [`Service::timeout`] seconds, grouped by [`Service::netmask`].
    pub const PERSISTENT: ServiceFlags = ServiceFlags(0x0001);
    /// Set by the kernel on every service in its table (`IP_VS_SVC_F_HASHED`); ignored when sent.
    pub const HASHED: ServiceFlags = ServiceFlags(0x0002);
    /// One-packet scheduling (`IP_VS_SVC_F_ONEPACKET`, UDP only): no connection entries.
    pub const ONEPACKET: ServiceFlags = ServiceFlags(0x0004);
    /// Scheduler flag 1 (`IP_VS_SVC_F_SCHED1`, ipvsadm `flag-1`).
    pub const SCHED1: ServiceFlags = ServiceFlags(0x0008);
    /// Scheduler flag 2 (`IP_VS_SVC_F_SCHED2`, ipvsadm `flag-2`).
    pub const SCHED2: ServiceFlags = ServiceFlags(0x0010);
    /// Scheduler flag 3 (`IP_VS_SVC_F_SCHED3`, ipvsadm `flag-3`).
    pub const SCHED3: ServiceFlags = ServiceFlags(0x0020);
    /// `sh` scheduler: fall back to another destination when the hashed one is unavailable.
    pub const SH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `sh` scheduler: hash the source port too.
    pub const SH_PORT: ServiceFlags = Self::SCHED2;
    /// `mh` scheduler (kernel 4.18+): fall back when the chosen destination is unavailable.
    pub const MH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `mh` scheduler (kernel 4.18+): hash the source port too.
    pub const MH_PORT: ServiceFlags = Self::SCHED2;
    /// Every flag linux/ip_vs.h defines (`IP_VS_SVC_F_PERSISTENT` to `IP_VS_SVC_F_SCHED3`,
    /// 0x3f). A service with any other bit is refused ([`Service::check`]): the kernel would
    /// store it as given, and `ipvsadm -S` then prints a line that does not restore.
    pub const ALL: ServiceFlags = ServiceFlags(0x3f);

    /// True when every bit of `other` is set here.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// This set without the bits of `other`.
    pub fn without(self, other: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 & !other.0)
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: ServiceFlags) {
        self.0 |= rhs.0;
    }
}

/// Scheduler names the kernel ships (`ip_vs_<name>` modules).
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
];

/// A virtual service and its settings.
///
/// Fields the kernel fills in replies only (statistics) are ignored when sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// What identifies the service.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, `mh`, ...; see [`SCHEDULERS`]). An unknown name makes the
    /// kernel answer `ENOENT` ([`crate::ErrorKind::UnknownScheduler`]).
    pub scheduler: String,
    /// Service flags. [`ServiceFlags::HASHED`] is set by the kernel in replies.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with [`ServiceFlags::PERSISTENT`]).
    pub timeout: u32,
    /// Persistence granularity. IPv4: the netmask as a host-order integer (`0xffff_ff00` for
    /// /24; the kernel stores it as sent). IPv6: the prefix length, 1..=128 (the kernel rejects
    /// anything else with `EINVAL`).
    pub netmask: u32,
    /// Persistence engine (`IPVS_SVC_ATTR_PE_NAME`, e.g. `"sip"`); an unknown one gives `ENOENT`.
    pub pe_name: Option<String>,
    /// Statistics from the 32-bit set (`IPVS_SVC_ATTR_STATS`); `None` when sending or absent.
    pub stats: Option<Stats>,
    /// Statistics from the 64-bit set (`IPVS_SVC_ATTR_STATS64`, kernel 4.1+).
    pub stats64: Option<Stats>,
}

impl Service {
    /// The largest persistence timeout ([`Service::timeout`]) sent: 4,294,967 s (about 49.7
    /// days). `ip_vs_add_service`/`ip_vs_edit_service` (ip_vs_ctl.c) store
    /// `svc->timeout = u->timeout * HZ` in an `unsigned int` without a check, and report
    /// `svc->timeout / HZ`: above `UINT_MAX / HZ` the product wraps and reads back as another
    /// value. `UINT_MAX / KERNEL_HZ_MAX` round-trips on every kernel.
    pub const MAX_TIMEOUT: u32 = u32::MAX / KERNEL_HZ_MAX;

    /// Refuses (`EINVAL`), with the reason, a service the kernel cannot store and report back
    /// as given: flags outside [`ServiceFlags::ALL`], or a timeout above
    /// [`Service::MAX_TIMEOUT`]. [`ServiceFlags::HASHED`] is accepted (the kernel reports it on
    /// every service, so a listed service can be sent back) and never sent.
    pub fn check(&self) -> Result<()> {
        let undefined = self.flags.without(ServiceFlags::ALL);
        if undefined != ServiceFlags::NONE {
            return Err(Error::invalid(format!(
                "service {}: flags {:#x} set bits {:#x} that no IP_VS_SVC_F_* flag defines \
                 (persistent 0x1, hashed 0x2, one-packet 0x4, scheduler flags 0x8/0x10/0x20); \
                 ipvsadm cannot set them and a listing of them would not restore",
                self.key, self.flags.0, undefined.0
            )));
        }
        if self.timeout > Self::MAX_TIMEOUT {
            return Err(Error::invalid(format!(
                "service {}: invalid timeout value {}: a persistence timeout above {} s wraps \
                 in the kernel's 32-bit seconds*HZ and reads back as another value",
                self.key,
                self.timeout,
                Self::MAX_TIMEOUT
            )));
        }
        Ok(())
    }

    /// A service with scheduler `scheduler`, no flags, no persistence and the full netmask of
    /// its family (255.255.255.255 or /128), as `ipvsadm -A` makes by default.
    pub fn new(key: ServiceKey, scheduler: &str) -> Self {
        Service {
            key,
            scheduler: scheduler.to_string(),
            flags: ServiceFlags::NONE,
            timeout: 0,
            netmask: Self::full_netmask(key.af()),
            pe_name: None,
            stats: None,
            stats64: None,
        }
    }

    /// The netmask meaning "one client address": `0xffff_ffff` for IPv4, 128 for IPv6.
    pub fn full_netmask(af: AddressFamily) -> u32 {
        match af {
            AddressFamily::Inet => u32::MAX,
            AddressFamily::Inet6 => 128,
        }
    }

    /// Makes the service persistent for `timeout` seconds, grouping clients by a prefix of
    /// `prefix_len` bits (IPv4 0..=32, IPv6 1..=128).
    pub fn persistent(mut self, timeout: u32, prefix_len: u8) -> Self {
        self.flags |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self.netmask = match self.key.af() {
            AddressFamily::Inet => {
                let l = u32::from(prefix_len.min(32));
                if l == 0 {
                    0
                } else {
                    u32::MAX << (32 - l)
                }
            }
            AddressFamily::Inet6 => u32::from(prefix_len.min(128)),
        };
        self
    }

    /// The best statistics available: the 64-bit set when the kernel sent it, else the 32-bit.
    pub fn best_stats(&self) -> Option<&Stats> {
        self.stats64.as_ref().or(self.stats.as_ref())
    }
}

/// A service with its destinations, as listed by `Handle::services_with_destinations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub destinations: Vec<super::Destination>,
}

#[cfg(test)]
mod tests {
    use super::super::{message, Change, Destination, ForwardMethod, Timeouts};
    use super::*;

    fn svc() -> Service {
        Service::new(ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80), "rr")
    }

    #[test]
    fn flags_outside_the_defined_ones_are_refused() {
        for bad in [u32::MAX, 0x40, 0x8000_0000, 0x3f | 0x100] {
            let mut s = svc();
            s.flags = ServiceFlags(bad);
            let e = s.check().unwrap_err();
            assert_eq!(e.errno(), libc::EINVAL, "{bad:#x}");
            assert!(
                e.to_string().contains(&format!("{:#x}", bad & !0x3f)),
                "{e}"
            );
            // The encoders refuse it too, writing nothing.
            let mut out = Vec::new();
            assert!(message::encode_change(&Change::NewService(s.clone()), 0, &mut out).is_err());
            assert!(out.is_empty());
            assert!(message::check_change(&Change::UpdateService(s.clone())).is_err());
            assert!(message::change_msg(&Change::UpdateService(s)).is_err());
        }
        let mut s = svc();
        s.flags = ServiceFlags::ALL;
        s.check().unwrap();
    }

    #[test]
    fn hashed_is_accepted_but_never_sent() {
        let mut s = svc();
        s.flags = ServiceFlags::HASHED | ServiceFlags::ONEPACKET;
        let mut with = Vec::new();
        message::encode_change(&Change::NewService(s.clone()), 0, &mut with).unwrap();
        s.flags = ServiceFlags::ONEPACKET;
        let mut without = Vec::new();
        message::encode_change(&Change::NewService(s), 0, &mut without).unwrap();
        assert_eq!(with, without);
    }

    #[test]
    fn persistence_timeout_is_bounded_by_the_largest_hz() {
        assert_eq!(Service::MAX_TIMEOUT, 4_294_967);
        // 0xffffffff s read back as 17179868 s on the lab's HZ=250 kernel: the product wrapped.
        assert_eq!((u32::MAX.wrapping_mul(250)) / 250, 17_179_868);
        assert!(Service::MAX_TIMEOUT.checked_mul(1000).is_some());
        let mut s = svc().persistent(Service::MAX_TIMEOUT, 32);
        s.check().unwrap();
        s.timeout = Service::MAX_TIMEOUT + 1;
        assert_eq!(s.check().unwrap_err().errno(), libc::EINVAL);
        s.timeout = u32::MAX;
        assert!(message::check_change(&Change::NewService(s)).is_err());
    }

    #[test]
    fn connection_timeouts_are_bounded_by_int_max_over_hz() {
        assert_eq!(Timeouts::MAX, 2_147_483);
        assert!(i32::try_from(Timeouts::MAX * 1000).is_ok());
        let ok = Timeouts {
            tcp: Timeouts::MAX,
            tcp_fin: 0,
            udp: 1,
        };
        ok.check().unwrap();
        for t in [
            Timeouts {
                tcp: Timeouts::MAX + 1,
                ..ok
            },
            Timeouts {
                tcp_fin: u32::MAX,
                ..ok
            },
            Timeouts {
                udp: 0x8000_0000,
                ..ok
            },
        ] {
            let e = t.check().unwrap_err();
            assert_eq!(e.errno(), libc::EINVAL, "{t:?}");
            assert!(e.to_string().contains("invalid timeout value"), "{e}");
        }
    }

    #[test]
    fn bypass_destinations_are_refused() {
        let k = svc().key;
        let d = Destination::new("10.0.1.1".parse().unwrap(), 80, ForwardMethod::Bypass);
        let e = d.check().unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        assert!(e.to_string().contains("(null)"), "{e}");
        for c in [
            Change::NewDestination(k, d.clone()),
            Change::UpdateDestination(k, d.clone()),
        ] {
            assert!(message::check_change(&c).is_err());
            assert!(message::change_msg(&c).is_err());
            let mut out = Vec::new();
            assert!(message::encode_change(&c, 0, &mut out).is_err());
            assert!(out.is_empty());
        }
        // Deleting one (a kernel-made bypass destination) stays possible.
        message::check_change(&Change::DeleteDestination(k, d.addr, d.port)).unwrap();
        for f in [
            ForwardMethod::Masquerade,
            ForwardMethod::Local,
            ForwardMethod::Tunnel,
            ForwardMethod::Route,
        ] {
            Destination::new(d.addr, 80, f).check().unwrap();
        }
    }
}
