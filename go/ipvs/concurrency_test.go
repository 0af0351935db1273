package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestConcurrentGoroutines runs 32 goroutines on one Handle for a few seconds, each adding,
// listing, updating and deleting its own services and destinations, and checks at the end that
// the kernel's state is exactly the union of what each goroutine believes it left behind.
func TestConcurrentGoroutines(t *testing.T) {
	h := kernelHandle(t)
	const workers = 32
	const minOps = 12
	dur := 3 * time.Second
	if testing.Short() {
		dur = time.Second
	}
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	states := make([]map[string]string, workers)
	errs := make(chan error, workers)
	ops := make([]int, workers)
	dels := make([]int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ctx := context.Background()
			mine := map[string]*Service{}
			dests := map[string][]Destination{}
			fail := func(format string, a ...any) {
				errs <- fmt.Errorf("worker %d: "+format, append([]any{w}, a...)...)
			}
			// Every goroutine does at least minOps operations (so each kind happens even on a
			// slow machine), then goes on until the deadline.
			for i := 0; i < minOps || time.Now().Before(deadline); i++ {
				ops[w]++
				slot := i % 3
				phase := (i / 3) % 3 // 0: add, 1: update, 2: delete
				s := Service{Address: netip.AddrFrom4([4]byte{10, 99, byte(w), byte(slot)}), Protocol: TCP, Port: 80, Scheduler: "rr"}
				if w%2 == 1 {
					s = Service{Address: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0x99, byte(w), 15: byte(slot)}),
						Protocol: UDP, Port: 53, Scheduler: "wlc"}
				}
				k := svcKey(&s)
				switch {
				case mine[k] == nil || phase == 0:
					if mine[k] != nil {
						continue
					}
					if err := h.NewService(ctx, &s); err != nil {
						fail("NewService %s: %v", s, err)
						return
					}
					mine[k] = &s
					d := Destination{Address: s.Address.Next(), Port: 8080, Weight: int32(i % 50)}
					if err := h.NewDestination(ctx, &s, &d); err != nil {
						fail("NewDestination: %v", err)
						return
					}
					dests[k] = []Destination{d}
				case phase == 2:
					if err := h.DeleteService(ctx, mine[k]); err != nil {
						fail("DeleteService %s: %v", s, err)
						return
					}
					delete(mine, k)
					delete(dests, k)
					dels[w]++
				default:
					d := dests[k][0]
					d.Weight = int32(i % 97)
					if err := h.UpdateDestination(ctx, mine[k], &d); err != nil {
						fail("UpdateDestination: %v", err)
						return
					}
					dests[k][0] = d
				}
				if i%2 == 0 {
					all, err := h.Services(ctx)
					if err != nil {
						fail("Services: %v", err)
						return
					}
					seen := map[string]bool{}
					for _, g := range all {
						seen[svcKey(g)] = true
					}
					for mk := range mine {
						if !seen[mk] {
							fail("own service %s missing from a listing of %d", mk, len(all))
							return
						}
					}
				}
			}
			st := map[string]string{}
			for k, s := range mine {
				var ds []string
				for _, d := range dests[k] {
					ds = append(ds, fmt.Sprintf("%+v", destWithDefaults(d)))
				}
				st[k] = fmt.Sprintf("%+v %s", withDefaults(*s), joinSorted(ds))
			}
			states[w] = st
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	want := map[string]string{}
	total, deletes := 0, 0
	for w := range states {
		total += ops[w]
		deletes += dels[w]
		for k, v := range states[w] {
			want[k] = v
		}
	}
	got := dumpState(t, h)
	t.Logf("%d goroutines did %d operations (%d service deletions) in %v; %d services remain", workers, total, deletes, dur, len(want))
	if deletes < workers {
		t.Errorf("only %d deletions: the test did not exercise deleting", deletes)
	}
	if len(got) != len(want) {
		t.Errorf("kernel has %d services, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("service %s:\n got  %s\n want %s", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected service %s in the kernel", k)
		}
	}
}

// TestCancelWhileCallRuns cancels contexts while calls are in flight: a cancelled call returns
// ctx.Err() at once while the C call finishes in the background, and nothing the background
// call writes may be read by the caller (go test -race reports it if it is).
func TestCancelWhileCallRuns(t *testing.T) {
	h, err := Open(nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer h.Close()
	var cancelled int
	for i := 0; i < 300; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		svcs, err := h.Services(ctx)
		if errors.Is(err, context.Canceled) {
			cancelled++
			if svcs != nil {
				t.Fatalf("a cancelled Services returned %d services", len(svcs))
			}
		}
		info, err := h.Info(ctx)
		if errors.Is(err, context.Canceled) && info != (Info{}) {
			t.Fatalf("a cancelled Info returned %+v", info)
		}
		cancel()
	}
	t.Logf("%d of 300 listings were cancelled in flight or before", cancelled)
}
