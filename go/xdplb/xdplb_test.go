package xdplb

import (
	"errors"
	"net/netip"
	"os"
	"syscall"
	"testing"
)

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (BPF)")
	}
}

func TestVipsBackendsDrainAndErrors(t *testing.T) {
	needRoot(t)
	lb, err := Load(2, 16, 1024)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	defer lb.Close()
	if err := lb.SetConfig(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1"), nil); err != nil {
		t.Fatal(err)
	}
	vip := Vip{Addr: netip.MustParseAddr("2001:db8::10"), Port: 443, Proto: TCP}
	if err := lb.AddVip(vip); err != nil {
		t.Fatal(err)
	}
	if err := lb.AddVip(vip); !errors.Is(err, syscall.EEXIST) {
		t.Fatalf("second add: want EEXIST, got %v", err)
	}
	a, b := netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("10.0.1.2")
	if err := lb.SetBackends(vip, []Backend{{Addr: a, Weight: 1}, {Addr: b, Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	bs, err := lb.Backends(vip)
	if err != nil || len(bs) != 2 || bs[0].Slots+bs[1].Slots != 65537 {
		t.Fatalf("backends %+v %v", bs, err)
	}
	if err := lb.Drain(vip, b); err != nil {
		t.Fatal(err)
	}
	bs, _ = lb.Backends(vip)
	for _, x := range bs {
		if x.Addr == b && (x.Weight != 0 || x.Slots != 0) {
			t.Fatalf("drained backend still has slots: %+v", x)
		}
		if x.Addr == a && x.Slots != 65537 {
			t.Fatalf("remaining backend should own the ring: %+v", x)
		}
	}
	vips, err := lb.Vips()
	if err != nil || len(vips) != 1 || vips[0] != vip {
		t.Fatalf("vips %v %v", vips, err)
	}
	if err := lb.SetWeight(vip, netip.MustParseAddr("10.9.9.9"), 1); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("unknown backend: want ENOENT, got %v", err)
	}
	c, err := lb.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c["drop_no_backend"]; !ok || len(c) != 13 {
		t.Fatalf("counters %v", c)
	}
	if s, err := lb.Stats(vip); err != nil || s.Packets != 0 {
		t.Fatalf("stats %+v %v", s, err)
	}
	if err := lb.RemoveVip(vip); err != nil {
		t.Fatal(err)
	}
	if err := lb.RemoveVip(vip); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("second remove: want ENOENT, got %v", err)
	}
}

func TestAdoptMissingPinFails(t *testing.T) {
	needRoot(t)
	if _, err := Adopt("/sys/fs/bpf/lbnet-go-test-none/x"); err == nil {
		t.Fatal("adopting nothing must fail")
	}
}

func TestClosedHandle(t *testing.T) {
	needRoot(t)
	lb, err := Load(1, 4, 16)
	if err != nil {
		t.Fatal(err)
	}
	lb.Close()
	lb.Close()
	if err := lb.AddVip(Vip{Addr: netip.MustParseAddr("1.2.3.4"), Port: 1, Proto: UDP}); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("closed: want EBADF, got %v", err)
	}
}
