package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	lbnet "github.com/lbnet/lbnet/go"
)

// BenchmarkSingleCallNoIPVS measures one single-change call through the Go package on a kernel
// without IPVS (the host): every call goes through the whole Go path (conversion, cgo call,
// library, one netlink round trip to the generic netlink controller, which answers that the
// IPVS family is missing) and comes back with an *lbnet.Error. Compare its ns/op with the same
// C ABI call made from C in a loop to see what the Go path adds per operation.
func BenchmarkSingleCallNoIPVS(b *testing.B) {
	h, err := Open(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
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
