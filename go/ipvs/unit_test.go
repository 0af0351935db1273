package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	lbnet "github.com/lbnet/lbnet/go"
)

// Errors made on the Go side, before any C call, are *lbnet.Error too: the method's Op, EINVAL
// and kind InvalidArgument, matched by errors.Is on both.
func TestGoSideErrors(t *testing.T) {
	h := openAny(t)
	ctx := context.Background()
	s := &Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80}
	for _, c := range []struct {
		op  string
		err error
	}{
		{"ipvs.NewService", h.NewService(ctx, nil)},
		{"ipvs.NewService", h.NewService(ctx, &Service{Protocol: TCP, Port: 80})},
		{"ipvs.UpdateService", h.UpdateService(ctx, &Service{Address: s.Address, Scheduler: "a-scheduler-name-too-long"})},
		{"ipvs.NewDestination", h.NewDestination(ctx, s, &Destination{Port: 80})},
		{"ipvs.DeleteDestination", h.DeleteDestination(ctx, s, nil)},
		{"ipvs.StartDaemon", h.StartDaemon(ctx, nil)},
		{"ipvs.Zero", h.Zero(ctx, nil)},
		{"ipvs.Open", func() error { _, err := Open(&Options{RecvBufferSize: -1}); return err }()},
	} {
		var e *lbnet.Error
		if !errors.As(c.err, &e) || e.Op != c.op || e.Msg == "" {
			t.Errorf("%s: got %#v, want an *lbnet.Error of that op with a message", c.op, c.err)
			continue
		}
		if !errors.Is(c.err, syscall.EINVAL) || !errors.Is(c.err, lbnet.InvalidArgument) || errors.Is(c.err, lbnet.NotFound) {
			t.Errorf("%s: %v (kind %v, errno %v): want EINVAL, kind InvalidArgument", c.op, c.err, e.Kind, e.Errno)
		}
		if !strings.HasPrefix(c.err.Error(), c.op+": ") {
			t.Errorf("%s: message %q does not start with the op", c.op, c.err)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(ctx); !errors.Is(err, lbnet.ErrClosed) {
		t.Errorf("Flush after Close: %v, want lbnet.ErrClosed", err)
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
	if b.Len() != 1 || b.changes[0].svc.port != 80 {
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
	if b.ops[0] != opZeroAll || b.changes[0].op != opZeroAll.cOp() || opZeroAll.cOp() == 0 {
		t.Fatalf("Zero(nil) made %v", b.ops[0])
	}
	h := openAny(t)
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
// error of kind lbnet.NotAvailable (not NotFound, although the errno is the controller's
// ENOENT), rather than failing in some other way; each change of a batch says the same.
func TestNoIPVS(t *testing.T) {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil || requireKernel {
		t.Skip("this kernel has IPVS (or may autoload it); the no-IPVS path is tested on the host")
	}
	h, err := Open(nil)
	if err == nil {
		defer h.Close()
		_, err = h.Info(context.Background())
	}
	if err == nil || !errors.Is(err, lbnet.NotAvailable) || errors.Is(err, lbnet.NotFound) {
		t.Fatalf("without IPVS: %v, want an error of kind NotAvailable", err)
	}
	var e *lbnet.Error
	if !errors.As(err, &e) || e.Op != "ipvs.Info" || e.Errno == 0 || e.Msg == "" {
		t.Errorf("without IPVS: %#v, want op ipvs.Info with an errno and a message", err)
	}
	t.Logf("without IPVS: %v", err)
	// A batch: every change fails, each with an error that says so.
	s := Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80}
	errs, err := h.Apply(context.Background(), NewBatch().NewService(&s).Zero(&s))
	if err != nil || len(errs) != 2 {
		t.Fatalf("Apply without IPVS: %v, %v; want two per-change errors", errs, err)
	}
	for i, e := range errs {
		if !errors.Is(e, lbnet.NotAvailable) {
			t.Errorf("batch change %d without IPVS: %v, want an error of kind NotAvailable", i, e)
		}
	}
}

// A single change with a context that cannot be cancelled allocates nothing on its way to the
// C library: no closure, no goroutine, C structs on the stack. On the host (no IPVS) every
// call fails, so what is left is the error: the *lbnet.Error and its message. The kernel test
// TestSingleChangeAllocatesNothing checks the success path: zero.
func TestSingleChangeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	h := openAny(t)
	ctx := context.Background()
	s := &Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80, Scheduler: "wrr"}
	d := &Destination{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Weight: 1}
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil || requireKernel {
		t.Skip("this kernel has IPVS: the success path is checked by TestSingleChangeAllocatesNothing")
	}
	if n := testing.AllocsPerRun(100, func() { _ = h.UpdateDestination(ctx, s, d) }); n > 2 {
		t.Errorf("a failed UpdateDestination made %v allocations, want at most 2 (the error and its message)", n)
	}
}

// What the kernel cannot round-trip is refused by the library before anything is sent (so
// also on a kernel without IPVS), as EINVAL with the library's reason, through Go's errors.
func TestLibraryRefusesWhatTheKernelCannotRoundTrip(t *testing.T) {
	h := openAny(t)
	ctx := context.Background()
	s := &Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80, Scheduler: "wrr"}
	badFlags := *s
	badFlags.Flags = 0x40
	longTimeout := *s
	longTimeout.Flags = FlagPersistent
	longTimeout.Timeout = 4294968 * time.Second
	for _, c := range []struct {
		what string
		err  error
	}{
		{"bypass destination", h.NewDestination(ctx, s, &Destination{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Forward: Bypass})},
		{"undefined service flag", h.NewService(ctx, &badFlags)},
		{"persistence timeout above 4294967 s", h.NewService(ctx, &longTimeout)},
		{"connection timeout above 2147483 s", h.SetTimeouts(ctx, Timeouts{TCP: 2147484 * time.Second})},
	} {
		var e *lbnet.Error
		if !errors.Is(c.err, syscall.EINVAL) || !errors.As(c.err, &e) || e.Msg == "" || !strings.HasPrefix(e.Op, "ipvs.") {
			t.Errorf("%s: %v, want EINVAL with the library's reason", c.what, c.err)
		}
	}
}

// BenchmarkSingleCallNoIPVS measures one single-change call through the Go package on a kernel
// without IPVS (the host): every call goes through the whole Go path (conversion, cgo call,
// library, one netlink round trip to the generic netlink controller, which answers that the
// IPVS family is missing) and comes back with an *lbnet.Error. Compare its ns/op with the same
// C ABI call made from C in a loop to see what the Go path adds per operation.
func BenchmarkSingleCallNoIPVS(b *testing.B) {
	h := openAny(b)
	ctx := context.Background()
	s := &Service{Address: netip.MustParseAddr("10.0.0.0"), Protocol: TCP, Port: 80, Scheduler: "wrr"}
	d := &Destination{Address: netip.MustParseAddr("172.0.0.0"), Port: 8080, Weight: 1}
	if _, err := h.Info(ctx); !errors.Is(err, lbnet.NotAvailable) {
		b.Skipf("this kernel has IPVS (or the call failed otherwise: %v); the benchmark needs a kernel without it", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = h.NewDestination(ctx, s, d)
	}
}

// TestKnownName: the kernel's scheduler names come back without an allocation, any other name
// unchanged.
func TestKnownName(t *testing.T) {
	for _, want := range []string{"", "rr", "wrr", "wlc", "mh", "twos", "sip", "custom", "wr"} {
		if got := knownName([]byte(want)); got != want {
			t.Errorf("knownName(%q) = %q", want, got)
		}
	}
	b := []byte("wrr")
	if n := testing.AllocsPerRun(100, func() { _ = knownName(b) }); n != 0 && !raceEnabled {
		t.Errorf("knownName(wrr) made %v allocations, want 0", n)
	}
}
