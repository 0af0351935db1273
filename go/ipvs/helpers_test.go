package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lbnet "github.com/lbnet/lbnet/go"
)

var nsSeq atomic.Int64

// requireKernel is true when IPVS must be there (the lab sets LBNET_REQUIRE_KERNEL=1).
var requireKernel = os.Getenv("LBNET_REQUIRE_KERNEL") == "1"

// testNetns creates a network namespace of its own (removed at the end of the test, also on
// failure) and returns its path.
func testNetns(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("lbnet-go-%d-%d", os.Getpid(), nsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Errorf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return "/var/run/netns/" + name
}

// kernelHandle opens a handle in a fresh network namespace and checks that the kernel has
// IPVS. Without IPVS it skips loudly, or fails when LBNET_REQUIRE_KERNEL=1.
func kernelHandle(t testing.TB) *Handle {
	t.Helper()
	h, _ := kernelHandleNS(t)
	return h
}

// kernelHandleNS is kernelHandle that also returns the namespace's path.
func kernelHandleNS(t testing.TB) (*Handle, string) {
	t.Helper()
	ns := testNetns(t)
	h, err := Open(&Options{NetNSPath: ns})
	if err == nil {
		_, err = h.Info(context.Background())
		if err != nil {
			h.Close()
		}
	}
	if err != nil {
		if errors.Is(err, lbnet.NotAvailable) && !requireKernel {
			t.Skipf("SKIPPED: the kernel has no IPVS (%v); run in the kernel lab (make test-lab-go) "+
				"or set LBNET_REQUIRE_KERNEL=1 to make this a failure", err)
		}
		t.Fatalf("opening an IPVS handle: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h, ns
}

// ctxT returns a context that ends with the test (or after a minute).
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// normService clears what the kernel adds on its own (the hashed flag, statistics).
func normService(s Service) Service {
	s.Flags &^= FlagHashed
	s.Stats = Stats{}
	s.Stats32 = Stats32{}
	return s
}

// normDest clears the kernel's counters.
func normDest(d Destination) Destination {
	d.ActiveConns, d.InactiveConns, d.PersistConns = 0, 0, 0
	d.Stats = Stats{}
	d.Stats32 = Stats32{}
	return d
}

// svcKey is a map key identifying a service.
func svcKey(s *Service) string {
	if s.FWMark != 0 {
		return fmt.Sprintf("fwm/%d/%d", s.EffectiveFamily(), s.FWMark)
	}
	return fmt.Sprintf("%s/%s", s.Protocol, s.Address.Unmap().String()+fmt.Sprintf(":%d", s.Port))
}

// dump returns the kernel's state as text lines (one per service and destination), sorted.
func dumpState(t testing.TB, h *Handle) map[string]string {
	t.Helper()
	all, err := h.ServicesWithDestinations(ctxT(t))
	if err != nil {
		t.Fatalf("ServicesWithDestinations: %v", err)
	}
	out := map[string]string{}
	for _, sd := range all {
		s := normService(sd.Service)
		var ds []string
		for _, d := range sd.Destinations {
			ds = append(ds, fmt.Sprintf("%+v", normDest(d)))
		}
		out[svcKey(&s)] = fmt.Sprintf("%+v %s", s, strings.Join(sortStrings(ds), " "))
	}
	return out
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}
