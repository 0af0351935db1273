package capi

import (
	"errors"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"unsafe"

	lbnet "github.com/lbnet/lbnet/go"
)

func TestAddrRoundTrip(t *testing.T) {
	buf := make([]uint64, (AddrSize+7)/8)
	p := unsafe.Pointer(&buf[0])
	for _, s := range []string{"10.1.2.3", "2001:db8::1", "::", "255.255.255.255", "::ffff:10.0.0.1"} {
		a := netip.MustParseAddr(s)
		PutAddr(p, a)
		if got := Addr(p); got != a {
			t.Errorf("%s: read back %s", s, got)
		}
	}
	PutAddr(p, netip.Addr{})
	if got := Addr(p); got.IsValid() {
		t.Errorf("zero address read back as %s", got)
	}
}

func TestPrefixRoundTrip(t *testing.T) {
	buf := make([]uint64, (PrefixSize+7)/8)
	p := unsafe.Pointer(&buf[0])
	for _, s := range []string{"10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0", "192.0.2.1/32"} {
		pfx := netip.MustParsePrefix(s)
		PutPrefix(p, pfx)
		if got := Prefix(p); got != pfx {
			t.Errorf("%s: read back %s", s, got)
		}
	}
}

func TestCheckReadsTheLibraryError(t *testing.T) {
	err := Call("test.parse", parseNull)
	var e *lbnet.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *lbnet.Error", err)
	}
	if e.Errno != syscall.EINVAL || e.Kind != lbnet.InvalidArgument || e.Msg == "" {
		t.Fatalf("got %+v", e)
	}
	if !errors.Is(err, syscall.EINVAL) || !errors.Is(err, lbnet.InvalidArgument) || errors.Is(err, lbnet.NotFound) {
		t.Fatalf("errors.Is does not match kind and errno: %v", err)
	}
	if err := Call("test.ok", func() int32 { return 0 }); err != nil {
		t.Fatalf("rc 0 gave %v", err)
	}
}

// The conversions are plain Go: a batch converts two addresses per change, and a cgo call each
// would make its cost grow with the batch.
func TestConversionsMakeNoCgoCall(t *testing.T) {
	buf := make([]uint64, (PrefixSize+7)/8)
	p := unsafe.Pointer(&buf[0])
	a6, a4 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.1")
	before := runtime.NumCgoCall()
	PutAddr(p, a6)
	PutAddr(p, a4)
	PutPrefix(p, netip.MustParsePrefix("10.0.0.0/8"))
	_ = Prefix(p)
	_ = Addr(p)
	if n := runtime.NumCgoCall() - before; n != 0 {
		t.Errorf("%d cgo calls for five conversions, want 0", n)
	}
}
