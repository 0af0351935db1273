package ipvs

import (
	"fmt"
	"net/netip"
	"syscall"
	"time"
)

// Family is an address family: AF_INET or AF_INET6.
type Family uint16

// Address families IPVS accepts.
const (
	// IPv4 is AF_INET.
	IPv4 Family = syscall.AF_INET
	// IPv6 is AF_INET6 (needs CONFIG_IP_VS_IPV6 in the kernel).
	IPv6 Family = syscall.AF_INET6
)

// String returns "inet" or "inet6".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "inet"
	case IPv6:
		return "inet6"
	}
	return fmt.Sprintf("family(%d)", uint16(f))
}

// familyOf returns the family of a (valid) address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
// counts as IPv4, which is how net.ParseIP stores IPv4 addresses.
func familyOf(a netip.Addr) Family {
	if a.Unmap().Is4() {
		return IPv4
	}
	return IPv6
}

// Protocol is the IP protocol of a virtual service (IPVS_SVC_ATTR_PROTOCOL).
type Protocol uint16

// Protocols IPVS balances.
const (
	TCP  Protocol = syscall.IPPROTO_TCP
	UDP  Protocol = syscall.IPPROTO_UDP
	SCTP Protocol = 132 // IPPROTO_SCTP; IPVS SCTP support needs CONFIG_IP_VS_PROTO_SCTP
)

// String returns "TCP", "UDP", "SCTP" or "IP(n)".
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	}
	return fmt.Sprintf("IP(%d)", uint16(p))
}

// ServiceFlags are the IP_VS_SVC_F_* flags of a service.
type ServiceFlags uint32

// Service flags from linux/ip_vs.h. The kernel sets FlagHashed itself on every listed service.
const (
	FlagPersistent ServiceFlags = 0x0001 // IP_VS_SVC_F_PERSISTENT
	FlagHashed     ServiceFlags = 0x0002 // IP_VS_SVC_F_HASHED (kernel-owned, read only)
	FlagOnePacket  ServiceFlags = 0x0004 // IP_VS_SVC_F_ONEPACKET
	FlagSched1     ServiceFlags = 0x0008 // IP_VS_SVC_F_SCHED1 (sh/mh: fallback)
	FlagSched2     ServiceFlags = 0x0010 // IP_VS_SVC_F_SCHED2 (sh/mh: port)
	FlagSched3     ServiceFlags = 0x0020 // IP_VS_SVC_F_SCHED3

	FlagSchedSHFallback = FlagSched1 // IP_VS_SVC_F_SCHED_SH_FALLBACK
	FlagSchedSHPort     = FlagSched2 // IP_VS_SVC_F_SCHED_SH_PORT
	FlagSchedMHFallback = FlagSched1 // IP_VS_SVC_F_SCHED_MH_FALLBACK (kernel 4.18+)
	FlagSchedMHPort     = FlagSched2 // IP_VS_SVC_F_SCHED_MH_PORT (kernel 4.18+)
)

// ForwardMethod is how a destination receives packets (IP_VS_CONN_F_FWD_MASK bits).
type ForwardMethod uint32

// Forwarding methods from linux/ip_vs.h.
const (
	Masquerade ForwardMethod = 0 // IP_VS_CONN_F_MASQ (NAT)
	Local      ForwardMethod = 1 // IP_VS_CONN_F_LOCALNODE
	Tunnel     ForwardMethod = 2 // IP_VS_CONN_F_TUNNEL
	Route      ForwardMethod = 3 // IP_VS_CONN_F_DROUTE (direct routing)
	Bypass     ForwardMethod = 4 // IP_VS_CONN_F_BYPASS: read only; the library refuses it on writes (EINVAL), as ipvsadm cannot set it and lists it as "(null)"
)

// String returns the ipvsadm name of the method.
func (m ForwardMethod) String() string {
	switch m {
	case Masquerade:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case Route:
		return "Route"
	case Bypass:
		return "Bypass"
	}
	return fmt.Sprintf("fwd(%d)", uint32(m))
}

// TunnelType is the encapsulation of a tunnel destination (IPVS_DEST_ATTR_TUN_TYPE, kernel 5.2+).
type TunnelType uint8

// Tunnel types from linux/ip_vs.h.
const (
	TunnelIPIP TunnelType = 0 // IP_VS_CONN_F_TUNNEL_TYPE_IPIP
	TunnelGUE  TunnelType = 1 // IP_VS_CONN_F_TUNNEL_TYPE_GUE
	TunnelGRE  TunnelType = 2 // IP_VS_CONN_F_TUNNEL_TYPE_GRE (kernel 5.3+)
)

// TunnelFlags are the IP_VS_TUNNEL_ENCAP_FLAG_* bits (IPVS_DEST_ATTR_TUN_FLAGS, kernel 5.3+).
type TunnelFlags uint16

// Tunnel flags from linux/ip_vs.h.
const (
	TunnelCsum    TunnelFlags = 1 << 0 // IP_VS_TUNNEL_ENCAP_FLAG_CSUM
	TunnelRemCsum TunnelFlags = 1 << 1 // IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM
)

// Stats are the 64-bit counters and rate estimates of a service or destination
// (IPVS_SVC_ATTR_STATS64 / IPVS_DEST_ATTR_STATS64, kernel 4.1+; on older kernels the library
// fills them from the 32-bit set).
type Stats struct {
	Connections uint64 // connections scheduled
	PacketsIn   uint64 // incoming packets
	PacketsOut  uint64 // outgoing packets
	BytesIn     uint64 // incoming bytes
	BytesOut    uint64 // outgoing bytes
	CPS         uint64 // current connection rate
	PPSIn       uint64 // current incoming packet rate
	PPSOut      uint64 // current outgoing packet rate
	BPSIn       uint64 // current incoming byte rate
	BPSOut      uint64 // current outgoing byte rate
}

// Stats32 is the legacy counter set (IPVS_SVC_ATTR_STATS / IPVS_DEST_ATTR_STATS), whose packet
// and connection counters wrap at 2^32, as the kernel reports it.
type Stats32 struct {
	Connections uint32
	PacketsIn   uint32
	PacketsOut  uint32
	BytesIn     uint64
	BytesOut    uint64
	CPS         uint32
	PPSIn       uint32
	PPSOut      uint32
	BPSIn       uint32
	BPSOut      uint32
}

// Service is an IPVS virtual service. A service is identified by (Family, Protocol, Address,
// Port) or, when FWMark is not zero, by (Family, FWMark).
type Service struct {
	// Family is the address family. Zero means "from Address" (IPv4 for an IPv4 or
	// IPv4-mapped address); a firewall-mark service without Address must set it (zero is
	// then taken as IPv4).
	Family Family
	// Address is the virtual IP address; leave it invalid (the zero netip.Addr) for a
	// firewall-mark service.
	Address netip.Addr
	// Protocol is TCP, UDP or SCTP; zero for a firewall-mark service.
	Protocol Protocol
	// Port is the virtual port (host byte order); zero for a firewall-mark service.
	Port uint16
	// FWMark is the firewall mark matched by a firewall-mark service.
	FWMark uint32
	// Scheduler is the scheduler name (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf,
	// mh); an unknown name makes the kernel answer ENOENT. Empty means "wlc" on add.
	Scheduler string
	// Flags are the service flags; FlagHashed is set by the kernel on listed services (and
	// ignored on writes). Bits outside the IP_VS_SVC_F_* flags above are refused (EINVAL).
	Flags ServiceFlags
	// Timeout is the persistence timeout, used with FlagPersistent, in whole seconds (rounded
	// up) and at most 4,294,967 s, about 49.7 days (the kernel keeps timeout*HZ in 32 bits,
	// which wraps above that for HZ up to 1000): more is refused (EINVAL).
	Timeout time.Duration
	// Netmask is the persistence granularity: an IPv4 netmask as a host-order uint32
	// (0xffffffff), or an IPv6 prefix length (128). Zero means the family's full mask.
	Netmask uint32
	// PersistenceEngine names a persistence engine such as "sip"; empty for none.
	PersistenceEngine string

	// Stats are the 64-bit statistics (filled on reads, ignored on writes).
	Stats Stats
	// Stats32 are the 32-bit statistics (filled on reads, ignored on writes).
	Stats32 Stats32
}

// EffectiveFamily returns Family, or the family of Address when Family is zero.
func (s *Service) EffectiveFamily() Family {
	if s.Family != 0 {
		return s.Family
	}
	if s.Address.IsValid() {
		return familyOf(s.Address)
	}
	return IPv4
}

// String formats the service like ipvsadm: "TCP 10.0.0.1:80", "UDP [2001:db8::1]:53" or
// "FWM 7 (inet6)".
func (s Service) String() string {
	if s.FWMark != 0 {
		return fmt.Sprintf("FWM %d (%s)", s.FWMark, s.EffectiveFamily())
	}
	return fmt.Sprintf("%s %s", s.Protocol, netip.AddrPortFrom(s.Address.Unmap(), s.Port))
}

// Destination is a real server of a service.
type Destination struct {
	// Family is the destination's address family (IPVS_DEST_ATTR_ADDR_FAMILY, kernel 3.18+).
	// Zero means "from Address". It may differ from the service's family only with Tunnel
	// forwarding.
	Family Family
	// Address is the real server's address.
	Address netip.Addr
	// Port is the real server's port (host byte order).
	Port uint16
	// Forward is the forwarding method.
	Forward ForwardMethod
	// Weight is the scheduling weight; 0 quiesces the server. The kernel rejects a negative
	// weight with ERANGE.
	Weight int32
	// UpperThreshold is the connection limit (0: none).
	UpperThreshold uint32
	// LowerThreshold is the connection count below which an overloaded server is used again.
	// A lower threshold above a non-zero upper threshold gives ERANGE.
	LowerThreshold uint32
	// TunnelType, TunnelPort and TunnelFlags configure Tunnel forwarding (kernel 5.2+ / 5.3+).
	TunnelType TunnelType
	// TunnelPort is the GUE destination port (host byte order).
	TunnelPort uint16
	// TunnelFlags are the GUE/GRE checksum flags.
	TunnelFlags TunnelFlags

	// ActiveConns, InactiveConns and PersistConns are the kernel's connection counts
	// (filled on reads, ignored on writes).
	ActiveConns   uint32
	InactiveConns uint32
	PersistConns  uint32
	// Stats are the 64-bit statistics (filled on reads).
	Stats Stats
	// Stats32 are the 32-bit statistics (filled on reads).
	Stats32 Stats32
}

// EffectiveFamily returns Family, or the family of Address when Family is zero.
func (d *Destination) EffectiveFamily() Family {
	if d.Family != 0 {
		return d.Family
	}
	if d.Address.IsValid() {
		return familyOf(d.Address)
	}
	return IPv4
}

// String formats the destination as "addr:port".
func (d Destination) String() string {
	return netip.AddrPortFrom(d.Address.Unmap(), d.Port).String()
}

// ServiceDestinations is a service with its destinations, as returned by
// [Handle.ServicesWithDestinations].
type ServiceDestinations struct {
	Service
	Destinations []Destination
}

// Info is the kernel's IPVS version and connection table size (IPVS_CMD_GET_INFO).
type Info struct {
	// Version is the packed version: major<<16 | minor<<8 | patch (1.2.1 on current kernels).
	Version uint32
	// ConnTableSize is the number of connection hash buckets (4096 by default).
	ConnTableSize uint32
}

// Major, Minor and Patch unpack Version.
func (i Info) Major() uint { return uint(i.Version>>16) & 0xff }

// Minor returns the minor version.
func (i Info) Minor() uint { return uint(i.Version>>8) & 0xff }

// Patch returns the patch level.
func (i Info) Patch() uint { return uint(i.Version) & 0xff }

// VersionString returns "major.minor.patch".
func (i Info) VersionString() string {
	return fmt.Sprintf("%d.%d.%d", i.Major(), i.Minor(), i.Patch())
}

// Timeouts are the connection timeouts for TCP, TCP after FIN, and UDP (IPVS_CMD_SET_CONFIG).
// The kernel keeps whole seconds; a zero value in SetTimeouts leaves that timeout unchanged,
// and a value above 2,147,483 s, about 24.8 days, is refused (EINVAL: the kernel keeps
// timeout*HZ in an int).
type Timeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// DaemonState selects the master or backup connection-sync daemon.
type DaemonState uint32

// Sync daemon states from linux/ip_vs.h.
const (
	DaemonMaster DaemonState = 1 // IP_VS_STATE_MASTER
	DaemonBackup DaemonState = 2 // IP_VS_STATE_BACKUP
)

// String returns "master" or "backup".
func (s DaemonState) String() string {
	switch s {
	case DaemonMaster:
		return "master"
	case DaemonBackup:
		return "backup"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// Daemon is a connection synchronisation daemon (IPVS_CMD_NEW_DAEMON / GET_DAEMON).
type Daemon struct {
	// State is DaemonMaster or DaemonBackup.
	State DaemonState
	// Interface is the multicast interface name (at most 15 bytes).
	Interface string
	// SyncID is the sync id (0-255).
	SyncID uint32
	// MaxLen is the maximum sync message length (0: kernel default; kernel 4.3+).
	MaxLen uint16
	// Group is the multicast group (invalid: kernel default 224.0.0.81; kernel 4.3+).
	Group netip.Addr
	// Port is the multicast port (0: kernel default 8848; kernel 4.3+).
	Port uint16
	// TTL is the multicast TTL (0: kernel default 1; kernel 4.3+).
	TTL uint8
}
