// Copyright 2026 The lbnet Authors. Licensed under the Apache License, Version 2.0.

//go:build rust_ipvs

// Tests of lbnet's backend for Seesaw's ipvs package, copied into the Seesaw checkout with
// ipvs_rust.go. The kernel tests flush the IPVS table of the current network namespace: run the
// test binary in a namespace of its own (build.sh's lab step uses `ip netns exec`). Without IPVS
// they skip loudly, unless LBNET_REQUIRE_KERNEL=1.

package ipvs

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"syscall"
	"testing"
	"time"

	lbnet "github.com/lbnet/lbnet/go"
	lbipvs "github.com/lbnet/lbnet/go/ipvs"
)

func TestRustAddressConversion(t *testing.T) {
	for _, s := range []string{"2001:db8::", "::", "1.2.3.4", "0.0.0.0", "2001:db8::1", "::ffff:10.0.0.1"} {
		ip := net.ParseIP(s)
		a, fam := lbAddr(ip)
		back := seesawAddr(a, fam)
		if !reflect.DeepEqual(back, ip) {
			t.Errorf("%s: round trip gave %#v (%v), want %#v", s, back, back, ip)
		}
	}
	// The kernel's family decides, not the bytes: 2001:db8:: must not come back as IPv4.
	a, fam := lbAddr(net.ParseIP("2001:db8::"))
	if fam != lbipvs.IPv6 || seesawAddr(a, lbipvs.IPv6).To4() != nil {
		t.Errorf("2001:db8:: converted as %v/%s", a, fam)
	}
}

func TestRustServiceConversion(t *testing.T) {
	in := Service{Address: net.ParseIP("2001:db8::"), Protocol: syscall.IPPROTO_UDP, Port: 53,
		Scheduler: "wrr", Flags: SFPersistent, Timeout: 30, PersistenceEngine: "sip"}
	ls := toLbService(&in)
	if ls.Family != lbipvs.IPv6 || ls.Netmask != 128 || ls.Timeout != 30*time.Second {
		t.Errorf("toLbService: %+v", ls)
	}
	out := fromLbService(ls)
	out.Statistics = nil
	if !reflect.DeepEqual(*out, in) {
		t.Errorf("round trip:\n got  %#v\n want %#v", *out, in)
	}
	fwm := toLbService(&Service{Address: net.ParseIP("::"), FirewallMark: 9, Port: 1, Protocol: 6})
	if fwm.Address.IsValid() || fwm.Port != 0 || fwm.Protocol != 0 || fwm.Family != lbipvs.IPv6 {
		t.Errorf("fwmark service: %+v", fwm)
	}
	d := Destination{Address: net.ParseIP("10.0.0.1"), Port: 80, Weight: 3, Flags: DFForwardTunnel, LowerThreshold: 1, UpperThreshold: 9}
	back := fromLbDestination(toLbDestination(&d))
	back.Statistics = nil
	if !reflect.DeepEqual(*back, d) {
		t.Errorf("destination round trip:\n got  %#v\n want %#v", *back, d)
	}
}

// initOrSkip initialises the backend, skipping without IPVS unless LBNET_REQUIRE_KERNEL=1.
func initOrSkip(t *testing.T) {
	t.Helper()
	if err := Init(); err != nil {
		if errors.Is(err, lbnet.NotAvailable) && os.Getenv("LBNET_REQUIRE_KERNEL") != "1" {
			t.Skipf("SKIPPED: the kernel has no IPVS (%v)", err)
		}
		t.Fatalf("Init: %v", err)
	}
	if err := Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	t.Cleanup(func() { Flush() })
}

// TestRustIPv6TrailingZerosRoundTrip is the Seesaw bug lbnet's backend fixes: an IPv6 address
// whose last twelve bytes are zero (2001:db8::) must come back as that IPv6 address.
func TestRustIPv6TrailingZerosRoundTrip(t *testing.T) {
	initOrSkip(t)
	want := Service{Address: net.ParseIP("2001:db8::"), Protocol: syscall.IPPROTO_TCP, Port: 80, Scheduler: "rr"}
	dst := Destination{Address: net.ParseIP("2001:db8:1::"), Port: 80, Weight: 1}
	svc := want
	svc.Destinations = []*Destination{&dst}
	if err := AddService(svc); err != nil {
		t.Fatal(err)
	}
	svcs, err := GetServices()
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 1 || len(svcs[0].Destinations) != 1 {
		t.Fatalf("GetServices: %v", svcs)
	}
	got := *svcs[0]
	if !reflect.DeepEqual(got.Address, want.Address) || got.Address.To4() != nil {
		t.Errorf("service address came back as %v (%#v), want %v", got.Address, got.Address, want.Address)
	}
	gd := *got.Destinations[0]
	if !reflect.DeepEqual(gd.Address, dst.Address) || gd.Address.To4() != nil {
		t.Errorf("destination address came back as %v, want %v", gd.Address, dst.Address)
	}
	one, err := GetService(&want)
	if err != nil || !one.Address.Equal(want.Address) || one.Address.To4() != nil {
		t.Errorf("GetService: %v, %v", one, err)
	}
}

// TestRustGetServices1000 adds 1,000 services with 4 destinations each through Seesaw's API and
// checks that GetServices returns exactly what was added.
func TestRustGetServices1000(t *testing.T) {
	initOrSkip(t)
	want := map[string]*Service{}
	start := time.Now()
	for i := 0; i < 1000; i++ {
		var s Service
		switch i % 4 {
		case 0:
			s = Service{Address: net.IPv4(10, 1, byte(i>>8), byte(i)), Protocol: syscall.IPPROTO_TCP, Port: 80, Scheduler: "wlc"}
		case 1:
			s = Service{Address: net.ParseIP(fmt.Sprintf("2001:db8:%x::", i)), Protocol: syscall.IPPROTO_UDP, Port: 53, Scheduler: "wrr"}
		case 2:
			s = Service{Address: net.ParseIP("0.0.0.0"), FirewallMark: uint32(i), Scheduler: "rr"}
		case 3:
			s = Service{Address: net.ParseIP("::"), FirewallMark: uint32(i), Scheduler: "lc", Flags: SFPersistent, Timeout: 60}
		}
		for j := 0; j < 4; j++ {
			d := &Destination{Port: uint16(8000 + j), Weight: int32(j + 1), Flags: []DestinationFlags{DFForwardMasq, DFForwardRoute, DFForwardTunnel, DFForwardMasq}[j]}
			if s.Address.To4() != nil {
				d.Address = net.IPv4(172, 17, byte(i>>6), byte(i<<2|j))
			} else {
				d.Address = net.ParseIP(fmt.Sprintf("2001:db8:ffff:%x::%x", i, j))
			}
			if s.FirewallMark != 0 {
				d.Port = 0
			}
			s.Destinations = append(s.Destinations, d)
		}
		if err := AddService(s); err != nil {
			t.Fatalf("AddService %d (%s): %v", i, s, err)
		}
		c := s
		want[s.String()] = &c
	}
	t.Logf("AddService x1000 (with 4 destinations each): %v", time.Since(start))
	start = time.Now()
	svcs, err := GetServices()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GetServices of 1,000 services with 4,000 destinations: %v", time.Since(start))
	if len(svcs) != len(want) {
		t.Fatalf("GetServices returned %d services, want %d", len(svcs), len(want))
	}
	bad := 0
	for _, g := range svcs {
		w := want[g.String()]
		if w == nil {
			t.Errorf("unexpected service %s", g)
			bad++
			continue
		}
		gs, ws := *g, *w
		gs.Flags &^= SFHashed
		gs.Statistics, gs.Destinations, ws.Destinations = nil, nil, nil
		if !reflect.DeepEqual(gs, ws) {
			bad++
			if bad < 5 {
				t.Errorf("service %s:\n got  %#v\n want %#v", w, gs, ws)
			}
		}
		if len(g.Destinations) != 4 {
			t.Errorf("%s: %d destinations", w, len(g.Destinations))
			continue
		}
		for _, wd := range w.Destinations {
			found := false
			for _, gd := range g.Destinations {
				c := *gd
				c.Statistics = nil
				if reflect.DeepEqual(&c, wd) {
					found = true
				}
			}
			if !found {
				bad++
				if bad < 5 {
					t.Errorf("%s: destination %#v not returned exactly", w, wd)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d mismatches", bad)
	}
}
