// Copyright 2026 The lbnet Authors. Licensed under the Apache License, Version 2.0.

//go:build rust_ipvs

// This file is lbnet's backend for Seesaw's ipvs package. It is copied into a Seesaw checkout by
// lbnet's seesaw-overlay tool (see examples/seesaw/build.sh in the lbnet repository). With the
// build tag rust_ipvs, Seesaw's exported types (Service, Destination, ...) are unchanged, so
// Service and Destination values still travel between Seesaw's engine and NCC over net/rpc; only
// the calls below change: they go through github.com/lbnet/lbnet/go/ipvs (libipvs_ffi) instead
// of libnl and github.com/google/seesaw/netlink.
//
// Errors are what Seesaw's callers expect of this package: plain error values, whose text
// travels from NCC to the engine over net/rpc. Here each is the *lbnet.Error of the failed call
// (its text "ipvs.NewService: ...", the library's message with the kernel's extended-ack text),
// which also unwraps to the kernel's errno, so errors.Is(err, syscall.EEXIST) (a service or
// destination that exists), syscall.ESRCH (no such service) and syscall.ENOENT (no such
// destination, unknown scheduler) work in the process that called, and errors.Is(err,
// lbnet.NotAvailable) says the kernel has no IPVS.

package ipvs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	lbipvs "github.com/lbnet/lbnet/go/ipvs"
)

var (
	backendMu   sync.Mutex
	backend     *lbipvs.Handle
	backendInfo lbipvs.Info
)

// handle returns the process-wide lbnet handle, opening it on first use.
func handle() (*lbipvs.Handle, error) {
	backendMu.Lock()
	defer backendMu.Unlock()
	if backend != nil {
		return backend, nil
	}
	h, err := lbipvs.Open(nil)
	if err != nil {
		return nil, err
	}
	backend = h
	return h, nil
}

// Init initialises IPVS: it opens the lbnet handle and reads the kernel's IPVS version.
func Init() error {
	h, err := handle()
	if err != nil {
		return err
	}
	info, err := h.Info(context.Background())
	if err != nil {
		return err
	}
	backendMu.Lock()
	backendInfo = info
	backendMu.Unlock()
	return nil
}

// Version returns the version number for IPVS read by Init.
func Version() IPVSVersion {
	backendMu.Lock()
	defer backendMu.Unlock()
	return IPVSVersion{
		Major: backendInfo.Major(),
		Minor: backendInfo.Minor(),
		Patch: backendInfo.Patch(),
	}
}

// Flush flushes all services and destinations from the IPVS table.
func Flush() error {
	h, err := handle()
	if err != nil {
		return err
	}
	return h.Flush(context.Background())
}

// AddService adds the specified service to the IPVS table. Any destinations
// associated with the given service will also be added.
func AddService(svc Service) error {
	h, err := handle()
	if err != nil {
		return err
	}
	ls := toLbService(&svc)
	if err := h.NewService(context.Background(), ls); err != nil {
		return err
	}
	for _, dst := range svc.Destinations {
		if err := h.NewDestination(context.Background(), ls, toLbDestination(dst)); err != nil {
			return err
		}
	}
	return nil
}

// UpdateService updates the specified service in the IPVS table.
func UpdateService(svc Service) error {
	h, err := handle()
	if err != nil {
		return err
	}
	return h.UpdateService(context.Background(), toLbService(&svc))
}

// DeleteService deletes the specified service from the IPVS table.
func DeleteService(svc Service) error {
	h, err := handle()
	if err != nil {
		return err
	}
	return h.DeleteService(context.Background(), toLbService(&svc))
}

// AddDestination adds the specified destination to the IPVS table.
func AddDestination(svc Service, dst Destination) error {
	h, err := handle()
	if err != nil {
		return err
	}
	return h.NewDestination(context.Background(), toLbService(&svc), toLbDestination(&dst))
}

// UpdateDestination updates the specified destination in the IPVS table.
func UpdateDestination(svc Service, dst Destination) error {
	h, err := handle()
	if err != nil {
		return err
	}
	return h.UpdateDestination(context.Background(), toLbService(&svc), toLbDestination(&dst))
}

// DeleteDestination deletes the specified destination from the IPVS table.
func DeleteDestination(svc Service, dst Destination) error {
	h, err := handle()
	if err != nil {
		return err
	}
	return h.DeleteDestination(context.Background(), toLbService(&svc), toLbDestination(&dst))
}

// GetService returns the service entry that is currently configured in the
// kernel IPVS table, which matches the specified service.
func GetService(svc *Service) (*Service, error) {
	if svc == nil {
		return nil, errors.New("no service specified")
	}
	h, err := handle()
	if err != nil {
		return nil, err
	}
	ls, err := h.GetService(context.Background(), toLbService(svc))
	if err != nil {
		return nil, err
	}
	dsts, err := h.Destinations(context.Background(), ls)
	if err != nil {
		return nil, err
	}
	out := fromLbService(ls)
	for _, d := range dsts {
		out.Destinations = append(out.Destinations, fromLbDestination(d))
	}
	return out, nil
}

// GetServices returns a list of service entries that are currently configured
// in the kernel IPVS table.
func GetServices() ([]*Service, error) {
	h, err := handle()
	if err != nil {
		return nil, err
	}
	all, err := h.ServicesWithDestinations(context.Background())
	if err != nil {
		return nil, err
	}
	svcs := make([]*Service, 0, len(all))
	for _, sd := range all {
		s := fromLbService(&sd.Service)
		for i := range sd.Destinations {
			s.Destinations = append(s.Destinations, fromLbDestination(&sd.Destinations[i]))
		}
		svcs = append(svcs, s)
	}
	return svcs, nil
}

// lbAddr converts a Seesaw address. The family follows Seesaw's rule for what it sends: an
// address with an IPv4 form (net.IP.To4) is IPv4, anything else (including nil) is IPv6.
func lbAddr(ip net.IP) (netip.Addr, lbipvs.Family) {
	// No slice-to-array conversions: Seesaw's go.mod may pin an old language version.
	if ip4 := ip.To4(); ip4 != nil {
		var b [4]byte
		copy(b[:], ip4)
		return netip.AddrFrom4(b), lbipvs.IPv4
	}
	if ip16 := ip.To16(); ip16 != nil {
		var b [16]byte
		copy(b[:], ip16)
		return netip.AddrFrom16(b), lbipvs.IPv6
	}
	return netip.Addr{}, lbipvs.IPv6
}

// seesawAddr converts an address read from the kernel, using the family the kernel reported
// (not the address bytes, so 2001:db8:: stays IPv6). IPv4 comes back in net.IP's 16-byte form,
// as net.ParseIP returns it.
func seesawAddr(a netip.Addr, fam lbipvs.Family) net.IP {
	if !a.IsValid() {
		if fam == lbipvs.IPv4 {
			return net.IPv4zero
		}
		return net.IPv6zero
	}
	if fam == lbipvs.IPv4 {
		b := a.Unmap().As4()
		return net.IPv4(b[0], b[1], b[2], b[3])
	}
	b := a.As16()
	return net.IP(b[:])
}

func toLbService(svc *Service) *lbipvs.Service {
	addr, fam := lbAddr(svc.Address)
	s := &lbipvs.Service{
		Family:            fam,
		Protocol:          lbipvs.Protocol(svc.Protocol),
		Port:              svc.Port,
		FWMark:            svc.FirewallMark,
		Scheduler:         svc.Scheduler,
		Flags:             lbipvs.ServiceFlags(svc.Flags),
		Timeout:           time.Duration(svc.Timeout) * time.Second,
		PersistenceEngine: svc.PersistenceEngine,
	}
	if svc.FirewallMark == 0 {
		s.Address = addr
	} else {
		s.Protocol = 0
		s.Port = 0
	}
	if fam == lbipvs.IPv4 {
		s.Netmask = 0xffffffff
	} else {
		s.Netmask = 128
	}
	return s
}

func fromLbService(s *lbipvs.Service) *Service {
	st := s.Stats32
	return &Service{
		Address:           seesawAddr(s.Address, s.EffectiveFamily()),
		Protocol:          IPProto(s.Protocol),
		Port:              s.Port,
		FirewallMark:      s.FWMark,
		Scheduler:         s.Scheduler,
		Flags:             ServiceFlags(s.Flags),
		Timeout:           uint32(s.Timeout / time.Second),
		PersistenceEngine: s.PersistenceEngine,
		Statistics:        &ServiceStats{Stats: seesawStats(&st)},
	}
}

func toLbDestination(dst *Destination) *lbipvs.Destination {
	addr, fam := lbAddr(dst.Address)
	return &lbipvs.Destination{
		Family:         fam,
		Address:        addr,
		Port:           dst.Port,
		Forward:        lbipvs.ForwardMethod(dst.Flags & DFForwardMask),
		Weight:         dst.Weight,
		UpperThreshold: dst.UpperThreshold,
		LowerThreshold: dst.LowerThreshold,
	}
}

func fromLbDestination(d *lbipvs.Destination) *Destination {
	st := d.Stats32
	return &Destination{
		Address:        seesawAddr(d.Address, d.EffectiveFamily()),
		Port:           d.Port,
		Weight:         d.Weight,
		Flags:          DestinationFlags(d.Forward),
		LowerThreshold: d.LowerThreshold,
		UpperThreshold: d.UpperThreshold,
		Statistics: &DestinationStats{
			Stats:         seesawStats(&st),
			ActiveConns:   d.ActiveConns,
			InactiveConns: d.InactiveConns,
			PersistConns:  d.PersistConns,
		},
	}
}

func seesawStats(s *lbipvs.Stats32) Stats {
	return Stats{
		Connections: s.Connections,
		PacketsIn:   s.PacketsIn,
		PacketsOut:  s.PacketsOut,
		BytesIn:     s.BytesIn,
		BytesOut:    s.BytesOut,
		CPS:         s.CPS,
		PPSIn:       s.PPSIn,
		PPSOut:      s.PPSOut,
		BPSIn:       s.BPSIn,
		BPSOut:      s.BPSOut,
	}
}
