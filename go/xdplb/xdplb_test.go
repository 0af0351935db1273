package xdplb

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	lbnet "github.com/lbnet/lbnet/go"
)

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (BPF)")
	}
}

func TestVipsBackendsDrainAndErrors(t *testing.T) {
	needRoot(t)
	lb, err := Open(Options{MaxVips: 2, MaxBackends: 16, ConnTableSize: 1024})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer lb.Close()
	if err := lb.SetConfig(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1"), nil); err != nil {
		t.Fatal(err)
	}
	// The families are checked: an IPv6 address as the IPv4 source is refused by the library.
	err = lb.SetConfig(netip.MustParseAddr("2001:db8::1"), netip.Addr{}, nil)
	if !errors.Is(err, syscall.EINVAL) || !errors.Is(err, lbnet.InvalidArgument) || !strings.Contains(err.Error(), "src4") {
		t.Fatalf("IPv6 src4: want EINVAL naming src4, got %v", err)
	}
	if err := lb.SetConfig(netip.Addr{}, netip.Addr{}, []byte{1, 2}); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("short MAC: want EINVAL, got %v", err)
	}
	if NewFlowLimitDefault != 125000 || NewFlowUnlimited != ^uint32(0) {
		t.Fatalf("new-flow limit constants %d %d", NewFlowLimitDefault, NewFlowUnlimited)
	}
	for _, n := range []uint32{5, NewFlowUnlimited, 0} {
		if err := lb.SetNewFlowLimit(n); err != nil {
			t.Fatalf("SetNewFlowLimit(%d): %v", n, err)
		}
	}
	vip := Vip{Addr: netip.MustParseAddr("2001:db8::10"), Port: 443, Proto: TCP}
	if err := lb.AddVip(vip); err != nil {
		t.Fatal(err)
	}
	err = lb.AddVip(vip)
	var le *lbnet.Error
	if !errors.Is(err, syscall.EEXIST) || !errors.Is(err, lbnet.Exists) || !errors.As(err, &le) || le.Op != "xdplb.AddVip" {
		t.Fatalf("second add: want *lbnet.Error EEXIST from xdplb.AddVip, got %#v", err)
	}
	if err := lb.AddVip(Vip{Port: 1, Proto: TCP}); !errors.Is(err, lbnet.InvalidArgument) {
		t.Fatalf("zero address: want InvalidArgument, got %v", err)
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
	if err := lb.SetWeight(vip, netip.MustParseAddr("10.9.9.9"), 1); !errors.Is(err, syscall.ENOENT) || !errors.Is(err, lbnet.NotFound) {
		t.Fatalf("unknown backend: want ENOENT/NotFound, got %v", err)
	}
	c, err := lb.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c["drop_no_backend"]; !ok || len(c) != 17 || c["flood_skip"] != 0 {
		t.Fatalf("counters %v", c)
	}
	if s, err := lb.Stats(vip); err != nil || s.Packets != 0 {
		t.Fatalf("stats %+v %v", s, err)
	}
	bst, err := lb.BackendStats(vip)
	if err != nil || len(bst) != len(bs) {
		t.Fatalf("backend stats %+v %v (backends %+v)", bst, err, bs)
	}
	for i, x := range bst {
		if x.Addr != bs[i].Addr || x.Packets != 0 || x.Bytes != 0 {
			t.Fatalf("backend stats %d: %+v, backends %+v", i, x, bs)
		}
	}
	if _, err := lb.BackendStats(Vip{Addr: netip.MustParseAddr("10.9.9.9"), Port: 1, Proto: TCP}); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("backend stats of an unknown VIP: want ENOENT, got %v", err)
	}
	if err := lb.SetBackends(vip, nil); err != nil {
		t.Fatal(err)
	}
	if bs, err := lb.Backends(vip); err != nil || len(bs) != 0 {
		t.Fatalf("backends after clearing: %+v %v", bs, err)
	}
	if err := lb.RemoveVip(vip); err != nil {
		t.Fatal(err)
	}
	if err := lb.RemoveVip(vip); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("second remove: want ENOENT, got %v", err)
	}
	if _, err := lb.Backends(vip); !errors.Is(err, lbnet.NotFound) {
		t.Fatalf("backends of a removed VIP: want NotFound, got %v", err)
	}
}

func TestOpenOptionErrors(t *testing.T) {
	needRoot(t)
	_, err := Open(Options{PinDir: "/sys/fs/bpf/lbnet-go-test-none/x"})
	if !errors.Is(err, syscall.ENOENT) || !errors.Is(err, lbnet.NotFound) {
		t.Fatalf("adopting nothing: want ENOENT/NotFound, got %v", err)
	}
	if _, err := Open(Options{PinDir: "/sys/fs/bpf/x", MaxVips: 4}); !errors.Is(err, lbnet.InvalidArgument) {
		t.Fatalf("capacities with PinDir: want InvalidArgument, got %v", err)
	}
	if _, err := Open(Options{MaxVips: 70000}); !errors.Is(err, syscall.ERANGE) || !errors.Is(err, lbnet.OutOfRange) {
		t.Fatalf("70,000 VIPs: want ERANGE/OutOfRange, got %v", err)
	}
}

func TestClosedHandle(t *testing.T) {
	needRoot(t)
	lb, err := Open(Options{MaxVips: 1, MaxBackends: 4, ConnTableSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	lb.Close()
	lb.Close()
	if err := lb.SetNewFlowLimit(1); !errors.Is(err, lbnet.ErrClosed) {
		t.Fatalf("closed SetNewFlowLimit: want lbnet.ErrClosed, got %v", err)
	}
	if err := lb.AddVip(Vip{Addr: netip.MustParseAddr("1.2.3.4"), Port: 1, Proto: UDP}); !errors.Is(err, lbnet.ErrClosed) {
		t.Fatalf("closed: want lbnet.ErrClosed, got %v", err)
	}
}

// run runs a command and fails the test with its output when it fails.
func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Attach to a veth in a network namespace, pin, adopt the pinned data plane from a second
// handle (which reads the VIP and backends back), then detach through it.
func TestAttachPinAdoptInNetns(t *testing.T) {
	needRoot(t)
	ns := fmt.Sprintf("lbnet-xdpgo-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "add", "x0", "type", "veth", "peer", "name", "x1")
	run(t, "ip", "-n", ns, "link", "set", "x0", "up")
	run(t, "ip", "-n", ns, "link", "set", "x1", "up")
	nsPath := "/var/run/netns/" + ns
	pin := fmt.Sprintf("/sys/fs/bpf/lbnet-go-test-%d/x0", os.Getpid())
	t.Cleanup(func() { _ = os.RemoveAll(pin); _ = os.Remove(pin[:strings.LastIndex(pin, "/")]) })

	lb, err := Open(Options{MaxVips: 2, MaxBackends: 8, ConnTableSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	if err := lb.Attach(nsPath, "nope0", false); !errors.Is(err, syscall.ENODEV) {
		t.Fatalf("attach to a missing interface: want ENODEV, got %v", err)
	}
	if err := lb.Attach(nsPath, "x0", false); err != nil {
		t.Fatal(err)
	}
	if err := lb.Attach(nsPath, "x0", false); !errors.Is(err, lbnet.Exists) {
		t.Fatalf("second attach: want Exists, got %v", err)
	}
	out, err := exec.Command("ip", "-n", ns, "link", "show", "x0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "xdp") {
		t.Fatalf("ip link show x0 does not show the XDP program: %v %s", err, out)
	}
	vip := Vip{Addr: netip.MustParseAddr("198.18.0.10"), Port: 80, Proto: TCP}
	if err := lb.AddVip(vip); err != nil {
		t.Fatal(err)
	}
	be := netip.MustParseAddr("10.0.1.1")
	if err := lb.SetBackends(vip, []Backend{{Addr: be, Weight: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := lb.Pin(pin); err != nil {
		t.Fatal(err)
	}
	lb.Close() // pinned: the data plane stays

	ad, err := Open(Options{PinDir: pin})
	if err != nil {
		t.Fatal(err)
	}
	defer ad.Close()
	bs, err := ad.Backends(vip)
	if err != nil || len(bs) != 1 || bs[0].Addr != be || bs[0].Weight != 2 || bs[0].Slots != 65537 {
		t.Fatalf("adopted backends: %+v %v", bs, err)
	}
	if err := ad.Attach(nsPath, "x1", false); !errors.Is(err, lbnet.Exists) && !errors.Is(err, lbnet.NotAvailable) {
		t.Fatalf("attach of an adopted, attached handle: got %v", err)
	}
	if err := ad.Detach(); err != nil {
		t.Fatal(err)
	}
	out, _ = exec.Command("ip", "-n", ns, "link", "show", "x0").CombinedOutput()
	if strings.Contains(string(out), "prog/xdp") {
		t.Fatalf("still attached after Detach: %s", out)
	}
	if _, err := os.Stat(pin); !os.IsNotExist(err) {
		t.Fatalf("pin dir still there after Detach: %v", err)
	}
}
