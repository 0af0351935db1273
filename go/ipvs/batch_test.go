package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"syscall"
	"testing"

	lbnet "github.com/lbnet/lbnet/go"
)

// openAny opens a handle in the caller's namespace; the tests that use it only need the library,
// not IPVS (a batch with a bad change is refused before anything is sent).
func openAny(t testing.TB) *Handle {
	t.Helper()
	h, err := Open(nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// bigBatch holds services*(1+dests) changes that all succeed on an empty table: services
// 10.77.x.y:80 with destinations 172.30.x.y:8080+j.
func bigBatch(services, dests int) *Batch {
	b := NewBatch()
	for i := 0; i < services; i++ {
		s := Service{Address: netip.AddrFrom4([4]byte{10, 77, byte(i >> 8), byte(i)}), Protocol: TCP, Port: 80, Scheduler: "wrr"}
		b.NewService(&s)
		for j := 0; j < dests; j++ {
			d := Destination{Address: netip.AddrFrom4([4]byte{172, 30, byte(i >> 8), byte(i)}), Port: uint16(8080 + j), Weight: int32(j + 1), Forward: Masquerade}
			b.NewDestination(&s, &d)
		}
	}
	return b
}

// cgoCalls returns how many cgo calls f made (runtime.NumCgoCall counts the whole process; the
// tests of this package do not run in parallel).
func cgoCalls(f func()) int64 {
	before := runtime.NumCgoCall()
	f()
	return runtime.NumCgoCall() - before
}

// A change the library refuses (here a forwarding method it does not know) fails the whole
// Apply before anything is sent, naming the change; Go-side checks do the same.
func TestApplyRefusesABadChange(t *testing.T) {
	h := openAny(t)
	ctx := context.Background()
	s := Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80}
	good := Destination{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Weight: 1}
	bad := good
	bad.Forward = ForwardMethod(9)
	for _, c := range []struct {
		b    *Batch
		want string
	}{
		{NewBatch().NewService(&s).NewDestination(&s, &good).NewDestination(&s, &bad), "batch change 2:"},
		{NewBatch().UpdateDestination(&s, &bad), "batch change 0:"},
		{NewBatch().NewService(&s).NewService(&Service{Protocol: TCP, Port: 80}), "batch change 1:"},
	} {
		res, err := h.Apply(ctx, c.b)
		if err == nil || !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Apply: %v, want EINVAL naming %q", err, c.want)
		}
		if res != nil {
			t.Errorf("results %v with a refused batch, want nil", res)
		}
	}
	if _, err := h.Apply(ctx, nil); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Apply(nil): %v, want EINVAL", err)
	}
}

// Apply costs the same number of cgo calls whatever the batch size (here on a path that needs
// no IPVS: the last change is refused, so the library checks every change and sends nothing).
func TestApplyCgoCallsDoNotGrowWithTheBatch(t *testing.T) {
	h := openAny(t)
	ctx := context.Background()
	s := Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80}
	bad := Destination{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Forward: ForwardMethod(77)}
	var calls []int64
	for _, size := range []int{1, 1000} {
		b := bigBatch(size/5+1, 4)
		b.changes, b.ops = b.changes[:size], b.ops[:size]
		b.NewDestination(&s, &bad)
		var err error
		calls = append(calls, cgoCalls(func() { _, err = h.Apply(ctx, b) }))
		if want := fmt.Sprintf("batch change %d:", size); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("batch of %d: %v, want an error naming %q", size+1, err, want)
		}
	}
	t.Logf("cgo calls for a refused batch of 2 and of 1,001 changes: %v", calls)
	if calls[1] > calls[0]+2 || calls[1] > 10 {
		t.Errorf("cgo calls grow with the batch: %v", calls)
	}
}

// In the kernel: a batch of 1 and one of 1,000 changes that all succeed cost the same number of
// cgo calls; failed changes each cost one more (their message), and carry it.
func TestApplyCgoCallsKernel(t *testing.T) {
	h := kernelHandle(t)
	ctx := context.Background()
	small := NewBatch().NewService(&Service{Address: netip.MustParseAddr("10.78.0.1"), Protocol: UDP, Port: 53, Scheduler: "rr"})
	big := bigBatch(200, 4)
	var calls []int64
	for _, b := range []*Batch{small, big} {
		var res []error
		var err error
		calls = append(calls, cgoCalls(func() { res, err = h.Apply(ctx, b) }))
		if err != nil || len(res) != b.Len() {
			t.Fatalf("Apply of %d: %d results, %v", b.Len(), len(res), err)
		}
		for i, e := range res {
			if e != nil {
				t.Fatalf("change %d of %d: %v", i, b.Len(), e)
			}
		}
	}
	t.Logf("cgo calls for batches of %d and %d changes: %v", small.Len(), big.Len(), calls)
	if calls[1] > calls[0]+2 || calls[1] > 10 {
		t.Errorf("cgo calls grow with the batch: %v", calls)
	}
	ss, err := h.ServicesWithDestinations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nd := 0
	for _, s := range ss {
		nd += len(s.Destinations)
	}
	if len(ss) != 201 || nd != 800 {
		t.Errorf("after the batches: %d services, %d destinations; want 201, 800", len(ss), nd)
	}

	// The same 1,000 changes again: every one fails (EEXIST), each with its message.
	var res []error
	n := cgoCalls(func() { res, err = h.Apply(ctx, big) })
	if err != nil || len(res) != big.Len() {
		t.Fatalf("second Apply: %d results, %v", len(res), err)
	}
	for i, e := range res {
		op := big.ops[i].String()
		var ie *lbnet.Error
		if !errors.Is(e, syscall.EEXIST) || !errors.As(e, &ie) || ie.Op != op || ie.Msg == "" {
			t.Fatalf("change %d: %#v, want EEXIST from %s with a message", i, e, op)
		}
	}
	if n < int64(big.Len()) || n > calls[1]+int64(big.Len())+2 {
		t.Errorf("%d cgo calls for %d failed changes, want one message call each on top of %d", n, big.Len(), calls[1])
	}
}

// BenchmarkApplyUpdates measures what a batch costs per change beyond the kernel's own work,
// as far as a benchmark can: batches of 1,000 weight updates of one destination (about the
// cheapest change for the kernel), applied in the kernel (make test-lab-go runs the tests only;
// run this with -test.bench in the lab). Reports ns/change and cgo calls per Apply.
func BenchmarkApplyUpdates(b *testing.B) {
	h := kernelHandle(b)
	ctx := context.Background()
	s := Service{Address: netip.MustParseAddr("10.79.0.1"), Protocol: TCP, Port: 80, Scheduler: "wrr"}
	d := Destination{Address: netip.MustParseAddr("172.31.0.1"), Port: 8080, Weight: 1, Forward: Masquerade}
	if err := h.NewService(ctx, &s); err != nil {
		b.Fatal(err)
	}
	if err := h.NewDestination(ctx, &s, &d); err != nil {
		b.Fatal(err)
	}
	const n = 1000
	batch := NewBatch()
	for i := 0; i < n; i++ {
		d.Weight = int32(1 + i%7)
		batch.UpdateDestination(&s, &d)
	}
	calls := runtime.NumCgoCall()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := h.Apply(ctx, batch)
		if err != nil || len(res) != n || res[0] != nil || res[n-1] != nil {
			b.Fatalf("Apply: %d results, first %v, last %v, %v", len(res), res[0], res[n-1], err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/change")
	b.ReportMetric(float64(runtime.NumCgoCall()-calls)/float64(b.N), "cgocalls/apply")
}

// BenchmarkApplyRefused measures the library-call side of Apply without a kernel (it runs on
// the host): 1,000 valid changes and a last one the library refuses, so every change is
// converted and handed to the library and nothing is sent. Reports ns/change and cgo calls per
// Apply.
func BenchmarkApplyRefused(b *testing.B) {
	h := openAny(b)
	ctx := context.Background()
	const n = 1000
	batch := bigBatch(n/5, 4)
	s := Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: TCP, Port: 80}
	batch.NewDestination(&s, &Destination{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Forward: ForwardMethod(77)})
	calls := runtime.NumCgoCall()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.Apply(ctx, batch); err == nil {
			b.Fatal("a batch with a bad change was accepted")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n+1)), "ns/change")
	b.ReportMetric(float64(runtime.NumCgoCall()-calls)/float64(b.N), "cgocalls/apply")
}
