package ipvs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestErrorWrapsErrno(t *testing.T) {
	err := newError("NewService", -int(syscall.EEXIST), "service TCP 192.0.2.1:80 exists", false)
	if !errors.Is(err, syscall.EEXIST) || !errors.Is(err, os.ErrExist) {
		t.Errorf("errors.Is fails on %v", err)
	}
	if errors.Is(err, syscall.ESRCH) {
		t.Errorf("errors.Is(ESRCH) true for EEXIST")
	}
	if got := err.Error(); got != "ipvs: NewService: service TCP 192.0.2.1:80 exists" {
		t.Errorf("Error() = %q", got)
	}
	if got := newError("Flush", -int(syscall.EPERM), "", false).Error(); got != "ipvs: Flush: operation not permitted" {
		t.Errorf("Error() without message = %q", got)
	}
	if newError("x", 0, "", false) != nil {
		t.Errorf("rc 0 gave an error")
	}
	if !IsNotAvailable(newError("Info", -int(syscall.EOPNOTSUPP), "", false)) || IsNotAvailable(err) {
		t.Errorf("IsNotAvailable wrong")
	}
	if IsNotAvailable(newError("NewService", -int(syscall.ENOENT), "unknown scheduler", false)) {
		t.Errorf("an unknown scheduler counted as no IPVS")
	}
	if !IsNotAvailable(newError("Info", -int(syscall.ENOENT), "no ip_vs", true)) {
		t.Errorf("ENOENT classified by the library as not available was not recognised")
	}
}

func TestFamilies(t *testing.T) {
	cases := []struct {
		s    Service
		want Family
	}{
		{Service{Address: netip.MustParseAddr("192.0.2.1")}, IPv4},
		{Service{Address: netip.MustParseAddr("::ffff:192.0.2.1")}, IPv4},
		{Service{Address: netip.MustParseAddr("2001:db8::")}, IPv6},
		{Service{Address: netip.MustParseAddr("::")}, IPv6},
		{Service{FWMark: 1}, IPv4},
		{Service{FWMark: 1, Family: IPv6}, IPv6},
	}
	for _, c := range cases {
		if got := c.s.EffectiveFamily(); got != c.want {
			t.Errorf("%+v: family %s, want %s", c.s, got, c.want)
		}
	}
	d := Destination{Address: netip.MustParseAddr("2001:db8::"), Port: 80}
	if d.EffectiveFamily() != IPv6 || d.String() != "[2001:db8::]:80" {
		t.Errorf("destination %s family %s", d, d.EffectiveFamily())
	}
}

func TestStrings(t *testing.T) {
	s := Service{Address: netip.MustParseAddr("::ffff:192.0.2.1"), Protocol: TCP, Port: 80}
	if s.String() != "TCP 192.0.2.1:80" {
		t.Errorf("%q", s.String())
	}
	s = Service{FWMark: 7, Family: IPv6}
	if s.String() != "FWM 7 (inet6)" {
		t.Errorf("%q", s.String())
	}
	if Protocol(99).String() != "IP(99)" || SCTP.String() != "SCTP" || Route.String() != "Route" {
		t.Errorf("protocol/forward names")
	}
	i := Info{Version: 1<<16 | 2<<8 | 1, ConnTableSize: 4096}
	if i.VersionString() != "1.2.1" {
		t.Errorf("%q", i.VersionString())
	}
}

func TestBatchCopiesValues(t *testing.T) {
	s := Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80}
	b := NewBatch().NewService(&s)
	s.Port = 81
	if b.Len() != 1 || b.changes[0].svc.Port != 80 {
		t.Errorf("batch kept a reference: %+v", b.changes)
	}
	b.Reset()
	if b.Len() != 0 {
		t.Errorf("Reset left %d", b.Len())
	}
}

// TestBatchNilArguments: a nil service or destination given to a Batch is an EINVAL error
// from Apply naming the change, before anything is sent, not a panic; Zero(nil) is zero-all.
func TestBatchNilArguments(t *testing.T) {
	s := Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80}
	b := NewBatch().Zero(nil)
	if b.changes[0].op != opZeroAll || b.changes[0].op.cOp() == 0 {
		t.Fatalf("Zero(nil) made %v", b.changes[0].op)
	}
	h, err := Open(nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer h.Close()
	for i, bad := range []*Batch{
		NewBatch().NewService(&s).NewService(nil),
		NewBatch().NewService(&s).NewDestination(&s, nil),
		NewBatch().NewService(&s).DeleteDestination(nil, &Destination{Address: s.Address, Port: 80}),
	} {
		errs, err := h.Apply(context.Background(), bad)
		if errs != nil || !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "batch change 1") {
			t.Errorf("batch %d: Apply = %v, %v; want EINVAL naming change 1", i, errs, err)
		}
	}
}

// TestNoIPVS checks, on a kernel without IPVS (the host), that the library says so with an
// error that IsNotAvailable recognises, rather than failing in some other way.
func TestNoIPVS(t *testing.T) {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil || requireKernel {
		t.Skip("this kernel has IPVS (or may autoload it); the no-IPVS path is tested on the host")
	}
	h, err := Open(nil)
	if err == nil {
		defer h.Close()
		_, err = h.Info(context.Background())
	}
	if err == nil || !IsNotAvailable(err) {
		t.Fatalf("without IPVS: %v, want an error that IsNotAvailable", err)
	}
	t.Logf("without IPVS: %v", err)
	// A batch: every change fails, each with an error that says so.
	s := Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80}
	errs, err := h.Apply(context.Background(), NewBatch().NewService(&s).Zero(&s))
	if err != nil || len(errs) != 2 {
		t.Fatalf("Apply without IPVS: %v, %v; want two per-change errors", errs, err)
	}
	for i, e := range errs {
		if !IsNotAvailable(e) {
			t.Errorf("batch change %d without IPVS: %v, want an error that IsNotAvailable", i, e)
		}
	}
}

func TestAddrFromIP(t *testing.T) {
	cases := []struct {
		ip   net.IP
		want string
	}{
		{net.ParseIP("192.0.2.1"), "192.0.2.1"},
		{net.IPv4(10, 0, 0, 1).To4(), "10.0.0.1"},
		{net.ParseIP("2001:db8::"), "2001:db8::"},
		{net.ParseIP("::"), "::"},
		{nil, "invalid IP"},
		{net.IP{1, 2, 3}, "invalid IP"},
	}
	for _, c := range cases {
		got := AddrFromIP(c.ip)
		if got.String() != c.want {
			t.Errorf("AddrFromIP(%v) = %v, want %s", c.ip, got, c.want)
		}
		if got.IsValid() && !IP(got).Equal(c.ip) {
			t.Errorf("IP(%v) = %v, want %v", got, IP(got), c.ip)
		}
	}
	if ip := IP(netip.MustParseAddr("2001:db8::")); ip.To4() != nil || len(ip) != 16 {
		t.Errorf("IP(2001:db8::) = %#v", ip)
	}
}
