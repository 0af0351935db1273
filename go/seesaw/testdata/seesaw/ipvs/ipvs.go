// Stand-in written for lbnet's tests (see ../README.md); not Seesaw code.

// Package ipvs stands in for Seesaw's ipvs package: public types plus a cgo libnl backend in
// one file.
package ipvs

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"github.com/google/seesaw/netlink"
)

/*
#include <linux/types.h>
#include <linux/ip_vs.h>
*/
import "C"

var family int

type nlService struct {
	AddrFamily uint16
	Address    net.IP
	Port       uint16
}

func toNL(svc *Service) *nlService {
	n := &nlService{Address: svc.Address, Port: svc.Port, AddrFamily: syscall.AF_INET6}
	if svc.Address.To4() != nil {
		n.AddrFamily = syscall.AF_INET
	}
	return n
}

func (n nlService) toService() *Service {
	return &Service{Address: n.Address, Port: n.Port}
}

// IPProto is an IP protocol number.
type IPProto uint16

// String names the protocol.
func (p IPProto) String() string {
	switch p {
	case syscall.IPPROTO_TCP:
		return "TCP"
	case syscall.IPPROTO_UDP:
		return "UDP"
	}
	return fmt.Sprintf("IP(%d)", uint16(p))
}

// IPVSVersion is a kernel IPVS version.
type IPVSVersion struct {
	Major, Minor, Patch uint
}

// String formats the version.
func (v IPVSVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// ServiceFlags are service flags.
type ServiceFlags uint32

// Service flags.
const (
	SFPersistent      ServiceFlags = flagPersist
	SFHashed          ServiceFlags = flagHashed
	SFOnePacket       ServiceFlags = flagOnePacket
	SFSchedSHFallback ServiceFlags = flagSched1
	SFSchedSHPort     ServiceFlags = flagSched2
	SFSchedMHFallback ServiceFlags = flagSched1
	SFSchedMHPort     ServiceFlags = flagSched2
)

// Bytes is the netlink form of the flags: value and mask, native byte order.
func (f ServiceFlags) Bytes() []byte {
	x := make([]byte, 8)
	*(*uint32)(unsafe.Pointer(&x[0])) = uint32(f)
	*(*uint32)(unsafe.Pointer(&x[4])) = ^uint32(0)
	return x
}

// DestinationFlags are destination flags.
type DestinationFlags uint32

// Destination flags (forwarding method).
const (
	DFForwardMask   DestinationFlags = fwdMask
	DFForwardMasq   DestinationFlags = 0
	DFForwardLocal  DestinationFlags = 1
	DFForwardTunnel DestinationFlags = 2
	DFForwardRoute  DestinationFlags = 3
	DFForwardBypass DestinationFlags = 4
)

const (
	flagPersist   = 0x1
	flagHashed    = 0x2
	flagOnePacket = 0x4
	flagSched1    = 0x8
	flagSched2    = 0x10
	fwdMask       = 0x7
)

// Stats are counters.
type Stats struct {
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

// ServiceStats are service counters.
type ServiceStats struct {
	Stats
}

// DestinationStats are destination counters.
type DestinationStats struct {
	Stats
	ActiveConns   uint32
	InactiveConns uint32
	PersistConns  uint32
}

// Service is a virtual service.
type Service struct {
	Address           net.IP
	Protocol          IPProto
	Port              uint16
	FirewallMark      uint32
	Scheduler         string
	Flags             ServiceFlags
	Timeout           uint32
	PersistenceEngine string
	Statistics        *ServiceStats
	Destinations      []*Destination
}

// String formats a service.
func (s Service) String() string {
	if s.FirewallMark > 0 {
		return fmt.Sprintf("FWM %d (%s)", s.FirewallMark, s.Scheduler)
	}
	return fmt.Sprintf("%v %v:%d (%s)", s.Protocol, s.Address, s.Port, s.Scheduler)
}

// Destination is a real server.
type Destination struct {
	Address        net.IP
	Port           uint16
	Weight         int32
	Flags          DestinationFlags
	LowerThreshold uint32
	UpperThreshold uint32
	Statistics     *DestinationStats
}

// String formats a destination.
func (d Destination) String() string { return fmt.Sprintf("%v:%d", d.Address, d.Port) }

// Init resolves the family through libnl.
func Init() error {
	var err error
	family, err = netlink.Family("IPVS")
	return err
}

// Version returns the version.
func Version() IPVSVersion { return IPVSVersion{} }

// Flush flushes the table.
func Flush() error { return netlink.Send(C.IPVS_CMD_FLUSH, family, nil) }

// AddService adds a service.
func AddService(svc Service) error { return netlink.Send(C.IPVS_CMD_NEW_SERVICE, family, toNL(&svc)) }

// UpdateService updates a service.
func UpdateService(svc Service) error {
	return netlink.Send(C.IPVS_CMD_SET_SERVICE, family, toNL(&svc))
}

// DeleteService deletes a service.
func DeleteService(svc Service) error {
	return netlink.Send(C.IPVS_CMD_DEL_SERVICE, family, toNL(&svc))
}

// AddDestination adds a destination.
func AddDestination(svc Service, dst Destination) error {
	return netlink.Send(C.IPVS_CMD_NEW_DEST, family, toNL(&svc))
}

// UpdateDestination updates a destination.
func UpdateDestination(svc Service, dst Destination) error {
	return netlink.Send(C.IPVS_CMD_SET_DEST, family, toNL(&svc))
}

// DeleteDestination deletes a destination.
func DeleteDestination(svc Service, dst Destination) error {
	return netlink.Send(C.IPVS_CMD_DEL_DEST, family, toNL(&svc))
}

// GetService gets one service.
func GetService(svc *Service) (*Service, error) { return nil, errors.New("stand-in") }

// GetServices lists services.
func GetServices() ([]*Service, error) { return nil, errors.New("stand-in") }
