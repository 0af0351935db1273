package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	lbnet "github.com/lbnet/lbnet/go"
)

var (
	vip4 = netip.MustParseAddr("192.0.2.1")
	vip6 = netip.MustParseAddr("2001:db8::") // last twelve bytes zero: Seesaw's libnl misreads it
)

func TestServiceLifecycle(t *testing.T) {
	h := kernelHandle(t)
	ctx := ctxT(t)
	services := []Service{
		{Address: vip4, Protocol: TCP, Port: 80, Scheduler: "wlc"},
		{Address: vip6, Protocol: UDP, Port: 53, Scheduler: "rr", Flags: FlagOnePacket},
		{Address: netip.MustParseAddr("198.51.100.7"), Protocol: TCP, Port: 443, Scheduler: "sh",
			Flags: FlagPersistent | FlagSchedSHFallback | FlagSchedSHPort, Timeout: 300 * time.Second, Netmask: 0xffffff00},
		{Family: IPv6, FWMark: 7, Scheduler: "mh", Flags: FlagSchedMHFallback},
		{Family: IPv4, FWMark: 8, Scheduler: "wrr"},
	}
	for i := range services {
		if err := h.NewService(ctx, &services[i]); err != nil {
			t.Fatalf("NewService %s: %v", services[i], err)
		}
	}
	got, err := h.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(services) {
		t.Fatalf("Services: %d, want %d", len(got), len(services))
	}
	byKey := map[string]Service{}
	for _, s := range got {
		byKey[svcKey(s)] = normService(*s)
		if s.Flags&FlagHashed == 0 {
			t.Errorf("%s: kernel did not report IP_VS_SVC_F_HASHED", s)
		}
	}
	for i := range services {
		want := withDefaults(services[i])
		if g := byKey[svcKey(&want)]; g != want {
			t.Errorf("service %s:\n got  %+v\n want %+v", want, g, want)
		}
		one, err := h.GetService(ctx, &services[i])
		if err != nil {
			t.Fatalf("GetService %s: %v", services[i], err)
		}
		if g := normService(*one); g != want {
			t.Errorf("GetService %s:\n got  %+v\n want %+v", want, g, want)
		}
	}

	// Update: scheduler, flags, timeout.
	upd := services[0]
	upd.Scheduler = "lc"
	upd.Flags = FlagPersistent
	upd.Timeout = 60 * time.Second
	if err := h.UpdateService(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	one, err := h.GetService(ctx, &upd)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := normService(*one), withDefaults(upd); g != w {
		t.Errorf("after UpdateService:\n got  %+v\n want %+v", g, w)
	}

	// The kernel's errnos, through errors.Is.
	err = h.NewService(ctx, &services[0])
	if !errors.Is(err, syscall.EEXIST) || !errors.Is(err, os.ErrExist) {
		t.Errorf("NewService twice: %v, want EEXIST", err)
	}
	var e *lbnet.Error
	if !errors.As(err, &e) || e.Op == "" || e.Msg == "" {
		t.Errorf("error %#v lacks op or message", err)
	}
	missing := Service{Address: vip4, Protocol: UDP, Port: 9, Scheduler: "rr"}
	if err := h.DeleteService(ctx, &missing); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("DeleteService of a missing service: %v, want ESRCH", err)
	}
	if _, err := h.GetService(ctx, &missing); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("GetService of a missing service: %v, want ESRCH", err)
	}
	bad := Service{Address: vip4, Protocol: TCP, Port: 81, Scheduler: "no-such-sched"}
	if err := h.NewService(ctx, &bad); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("unknown scheduler: %v, want ENOENT", err)
	}

	for i := range services {
		if err := h.DeleteService(ctx, &services[i]); err != nil {
			t.Errorf("DeleteService %s: %v", services[i], err)
		}
	}
	if got, err := h.Services(ctx); err != nil || len(got) != 0 {
		t.Errorf("after deleting all: %d services, %v", len(got), err)
	}
}

// withDefaults fills what the library fills on writes (family, full netmask) so a read-back can
// be compared with ==.
func withDefaults(s Service) Service {
	s.Family = s.EffectiveFamily()
	if s.Netmask == 0 {
		if s.Family == IPv4 {
			s.Netmask = 0xffffffff
		} else {
			s.Netmask = 128
		}
	}
	return s
}

func destWithDefaults(d Destination) Destination {
	d.Family = d.EffectiveFamily()
	return d
}

func TestDestinations(t *testing.T) {
	h := kernelHandle(t)
	ctx := ctxT(t)
	s4 := Service{Address: vip4, Protocol: TCP, Port: 80, Scheduler: "wrr"}
	s6 := Service{Address: vip6, Protocol: TCP, Port: 80, Scheduler: "wrr"}
	for _, s := range []*Service{&s4, &s6} {
		if err := h.NewService(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	d4 := []Destination{
		{Address: netip.MustParseAddr("192.0.2.11"), Port: 8080, Forward: Masquerade, Weight: 3, UpperThreshold: 100, LowerThreshold: 10},
		{Address: netip.MustParseAddr("192.0.2.12"), Port: 80, Forward: Route, Weight: 0},
		{Address: netip.MustParseAddr("192.0.2.13"), Port: 80, Forward: Tunnel, Weight: 1, TunnelType: TunnelIPIP},
		{Address: netip.MustParseAddr("192.0.2.14"), Port: 80, Forward: Tunnel, Weight: 1, TunnelType: TunnelGUE,
			TunnelPort: 6080, TunnelFlags: TunnelCsum},
		{Address: netip.MustParseAddr("192.0.2.15"), Port: 80, Forward: Tunnel, Weight: 1, TunnelType: TunnelGRE,
			TunnelFlags: TunnelCsum},
		// Mixed family: an IPv6 real server behind an IPv4 VIP, allowed with tunnelling (3.18+).
		{Address: netip.MustParseAddr("2001:db8:1::"), Port: 80, Forward: Tunnel, Weight: 2},
	}
	d6 := []Destination{
		{Address: netip.MustParseAddr("2001:db8:2::"), Port: 80, Forward: Masquerade, Weight: 5},
		{Address: netip.MustParseAddr("2001:db8::12"), Port: 80, Forward: Local, Weight: 1},
	}
	add := func(s *Service, ds []Destination) {
		for i := range ds {
			if err := h.NewDestination(ctx, s, &ds[i]); err != nil {
				t.Fatalf("NewDestination %s -> %s: %v", s, ds[i], err)
			}
		}
	}
	add(&s4, d4)
	add(&s6, d6)
	checkDests := func(s *Service, want []Destination) {
		t.Helper()
		got, err := h.Destinations(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d destinations, want %d", s, len(got), len(want))
		}
		m := map[netip.AddrPort]Destination{}
		for _, d := range got {
			m[netip.AddrPortFrom(d.Address, d.Port)] = normDest(*d)
		}
		for _, w := range want {
			w = destWithDefaults(w)
			if g := m[netip.AddrPortFrom(w.Address, w.Port)]; g != w {
				t.Errorf("%s destination %s:\n got  %+v\n want %+v", s, w, g, w)
			}
		}
	}
	checkDests(&s4, d4)
	checkDests(&s6, d6)

	// Update a destination, then the errnos.
	d4[0].Weight = 1000
	d4[0].UpperThreshold = 0
	d4[0].LowerThreshold = 0
	if err := h.UpdateDestination(ctx, &s4, &d4[0]); err != nil {
		t.Fatal(err)
	}
	checkDests(&s4, d4)
	if err := h.NewDestination(ctx, &s4, &d4[0]); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("NewDestination twice: %v, want EEXIST", err)
	}
	ghost := Destination{Address: netip.MustParseAddr("192.0.2.99"), Port: 80, Weight: 1}
	if err := h.UpdateDestination(ctx, &s4, &ghost); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("UpdateDestination of a missing destination: %v, want ENOENT", err)
	}
	if err := h.DeleteDestination(ctx, &s4, &ghost); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("DeleteDestination of a missing destination: %v, want ENOENT", err)
	}
	rng := Destination{Address: netip.MustParseAddr("192.0.2.98"), Port: 80, Weight: 1, UpperThreshold: 10, LowerThreshold: 20}
	if err := h.NewDestination(ctx, &s4, &rng); !errors.Is(err, syscall.ERANGE) {
		t.Errorf("lower threshold above upper: %v, want ERANGE", err)
	}
	neg := Destination{Address: netip.MustParseAddr("192.0.2.97"), Port: 80, Weight: -1}
	if err := h.NewDestination(ctx, &s4, &neg); !errors.Is(err, syscall.ERANGE) {
		t.Errorf("negative weight: %v, want ERANGE", err)
	}
	noSvc := Service{Address: vip4, Protocol: UDP, Port: 1, Scheduler: "rr"}
	if err := h.NewDestination(ctx, &noSvc, &ghost); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("NewDestination on a missing service: %v, want ESRCH", err)
	}
	// The kernel answers an empty dump; the library checks that the service exists, so a
	// missing service is not mistaken for one without destinations.
	if got, err := h.Destinations(ctx, &noSvc); !errors.Is(err, syscall.ESRCH) || !errors.Is(err, lbnet.NotFound) || got != nil {
		t.Errorf("Destinations of a missing service: %v, %v; want ESRCH (kind NotFound)", got, err)
	}

	if err := h.DeleteDestination(ctx, &s4, &d4[1]); err != nil {
		t.Fatal(err)
	}
	checkDests(&s4, append(append([]Destination{}, d4[:1]...), d4[2:]...))
}

func TestIPv6LastTwelveBytesZeroRoundTrip(t *testing.T) {
	h := kernelHandle(t)
	ctx := ctxT(t)
	s := Service{Address: vip6, Protocol: TCP, Port: 80, Scheduler: "rr"}
	d := Destination{Address: netip.MustParseAddr("2001:db8:1::"), Port: 80, Weight: 1}
	if err := h.NewService(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if err := h.NewDestination(ctx, &s, &d); err != nil {
		t.Fatal(err)
	}
	all, err := h.ServicesWithDestinations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || len(all[0].Destinations) != 1 {
		t.Fatalf("got %+v", all)
	}
	g := all[0]
	if g.Family != IPv6 || g.Address != vip6 || !g.Address.Is6() {
		t.Errorf("service came back as %s (family %s), want %s", g.Address, g.Family, vip6)
	}
	gd := g.Destinations[0]
	if gd.Family != IPv6 || gd.Address != d.Address {
		t.Errorf("destination came back as %s (family %s), want %s", gd.Address, gd.Family, d.Address)
	}
}

func TestInfoFlushZeroTimeouts(t *testing.T) {
	h := kernelHandle(t)
	ctx := ctxT(t)
	info, err := h.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Major() != 1 || info.ConnTableSize == 0 {
		t.Errorf("Info %+v (%s): want version 1.x and a table size", info, info.VersionString())
	}

	orig, err := h.Timeouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if orig.TCP == 0 || orig.UDP == 0 {
		t.Errorf("Timeouts %+v: zero", orig)
	}
	want := Timeouts{TCP: 901 * time.Second, TCPFin: 121 * time.Second, UDP: 301 * time.Second}
	if err := h.SetTimeouts(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err := h.Timeouts(ctx); err != nil || got != want {
		t.Errorf("Timeouts after set: %+v, %v; want %+v", got, err, want)
	}
	// Zero leaves a value unchanged.
	if err := h.SetTimeouts(ctx, Timeouts{UDP: 33 * time.Second}); err != nil {
		t.Fatal(err)
	}
	want.UDP = 33 * time.Second
	if got, err := h.Timeouts(ctx); err != nil || got != want {
		t.Errorf("Timeouts after partial set: %+v, %v; want %+v", got, err, want)
	}

	s := Service{Address: vip4, Protocol: TCP, Port: 80, Scheduler: "rr"}
	if err := h.NewService(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if err := h.Zero(ctx, &s); err != nil {
		t.Errorf("Zero: %v", err)
	}
	if err := h.ZeroAll(ctx); err != nil {
		t.Errorf("ZeroAll: %v", err)
	}
	// In a batch, Zero(nil) is ZeroAll; a missing service is refused by the kernel.
	missing := Service{Address: vip4, Protocol: TCP, Port: 81}
	errs, err := h.Apply(ctx, NewBatch().Zero(nil).Zero(&s).Zero(&missing))
	if err != nil || len(errs) != 3 || errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], syscall.ESRCH) {
		t.Errorf("Apply(Zero(nil), Zero(s), Zero(missing)) = %v, %v; want nil, nil, ESRCH", errs, err)
	}
	one, err := h.GetService(ctx, &s)
	if err != nil {
		t.Fatal(err)
	}
	if one.Stats != (Stats{}) || one.Stats32 != (Stats32{}) {
		t.Errorf("stats after zero: %+v %+v", one.Stats, one.Stats32)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := h.Services(ctx); err != nil || len(got) != 0 {
		t.Errorf("after Flush: %d services, %v", len(got), err)
	}
}

func TestSyncDaemons(t *testing.T) {
	h := kernelHandle(t)
	ctx := ctxT(t)
	// The namespace's loopback must be up for the daemon's multicast socket.
	d := Daemon{State: DaemonBackup, Interface: "lo", SyncID: 7}
	if err := h.StartDaemon(ctx, &d); err != nil {
		t.Fatalf("StartDaemon: %v", err)
	}
	ds, err := h.Daemons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range ds {
		if g.State == DaemonBackup && g.Interface == "lo" && g.SyncID == 7 {
			found = true
		}
	}
	if !found {
		t.Errorf("Daemons: %+v, want a backup daemon on lo with syncid 7", ds)
	}
	// Not tested here: starting a second backup daemon (EEXIST). On kernel 6.1 a stop after
	// such a refused start takes seconds with ipvsadm too, and sometimes longer than the
	// library's reply timeout.
	start := time.Now()
	if err := h.StopDaemon(ctx, DaemonBackup); err != nil {
		t.Errorf("StopDaemon: %v", err)
	}
	t.Logf("StopDaemon took %v", time.Since(start))
	if ds, err := h.Daemons(ctx); err != nil || len(ds) != 0 {
		t.Errorf("Daemons after stop: %+v, %v", ds, err)
	}
	if err := h.StopDaemon(ctx, DaemonBackup); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("StopDaemon with none running: %v, want ESRCH", err)
	}
}

func TestNetnsIsolation(t *testing.T) {
	a, nsA := kernelHandleNS(t)
	b := kernelHandle(t)
	ctx := ctxT(t)
	s := Service{Address: vip4, Protocol: TCP, Port: 80, Scheduler: "rr"}
	if err := a.NewService(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Services(ctx); err != nil || len(got) != 0 {
		t.Errorf("namespace B sees %d services (%v), want 0", len(got), err)
	}
	if got, err := a.Services(ctx); err != nil || len(got) != 1 {
		t.Errorf("namespace A sees %d services (%v), want 1", len(got), err)
	}
	// A handle opened on a namespace file descriptor sees A's table.
	f, err := os.Open(nsA)
	if err != nil {
		t.Fatal(err)
	}
	byFd, err := Open(&Options{NetNSFd: int(f.Fd())})
	f.Close()
	if err != nil {
		t.Fatalf("Open with NetNSFd: %v", err)
	}
	defer byFd.Close()
	if got, err := byFd.Services(ctx); err != nil || len(got) != 1 || got[0].Address != vip4 {
		t.Errorf("handle opened by fd sees %v (%v), want the service of namespace A", got, err)
	}
	// A missing namespace file is the open's ENOENT.
	if _, err := Open(&Options{NetNSPath: "/var/run/netns/lbnet-go-no-such-ns"}); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Open on a missing namespace: %v, want ENOENT", err)
	}
	// The same service can be added in B: the tables are separate.
	if err := b.NewService(ctx, &s); err != nil {
		t.Errorf("NewService in B: %v", err)
	}
}

func TestBatch(t *testing.T) {
	h := kernelHandle(t)
	ctx := ctxT(t)
	s := Service{Address: vip4, Protocol: TCP, Port: 80, Scheduler: "rr"}
	d := Destination{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Weight: 1}
	b := NewBatch().
		NewService(&s).
		NewDestination(&s, &d).
		NewService(&s). // fails: EEXIST
		UpdateDestination(&s, &Destination{Address: d.Address, Port: 80, Weight: 9}).
		Zero(&s).
		DeleteDestination(&s, &Destination{Address: netip.MustParseAddr("192.0.2.99"), Port: 80}) // ENOENT
	res, err := h.Apply(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != b.Len() {
		t.Fatalf("%d results for %d changes", len(res), b.Len())
	}
	want := []error{nil, nil, syscall.EEXIST, nil, nil, syscall.ENOENT}
	for i, w := range want {
		if (w == nil) != (res[i] == nil) || (w != nil && !errors.Is(res[i], w)) {
			t.Errorf("change %d: %v, want %v", i, res[i], w)
		}
	}
	ds, err := h.Destinations(ctx, &s)
	if err != nil || len(ds) != 1 || ds[0].Weight != 9 {
		t.Errorf("after batch: %+v, %v; want one destination of weight 9", ds, err)
	}
	// An empty batch is fine.
	if res, err := h.Apply(ctx, NewBatch()); err != nil || len(res) != 0 {
		t.Errorf("empty batch: %v, %v", res, err)
	}
}

// TestGetServices1000 adds 1,000 services with 4 destinations each (pipelined) and checks the
// listing returns exactly that, field by field.
func TestGetServices1000(t *testing.T) {
	h := kernelHandle(t)
	ctx := ctxT(t)
	want := map[string]string{}
	b := NewBatch()
	for i := 0; i < 1000; i++ {
		var s Service
		if i%2 == 0 {
			s = Service{Address: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), Protocol: TCP, Port: uint16(1000 + i), Scheduler: "wrr"}
		} else {
			s = Service{Address: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), Protocol: UDP, Port: uint16(i), Scheduler: "rr"}
		}
		if i%10 == 3 {
			s = Service{Family: IPv6, FWMark: uint32(i), Scheduler: "lc"}
		}
		b.NewService(&s)
		var ds []string
		for j := 0; j < 4; j++ {
			d := Destination{Port: uint16(8000 + j), Weight: int32(j + i%7), Forward: []ForwardMethod{Masquerade, Route, Tunnel, Masquerade}[j]}
			if s.EffectiveFamily() == IPv4 {
				d.Address = netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}).Next()
				for k := 0; k < j; k++ {
					d.Address = d.Address.Next()
				}
			} else {
				d.Address = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0, byte(i >> 8), byte(i), 15: byte(j)})
			}
			b.NewDestination(&s, &d)
			ds = append(ds, fmt.Sprintf("%+v", destWithDefaults(d)))
		}
		w := withDefaults(s)
		want[svcKey(&w)] = fmt.Sprintf("%+v %s", w, joinSorted(ds))
	}
	start := time.Now()
	res, err := h.Apply(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range res {
		if e != nil {
			t.Fatalf("change %d: %v", i, e)
		}
	}
	t.Logf("added 1,000 services and 4,000 destinations in one batch in %v", time.Since(start))
	start = time.Now()
	got := dumpState(t, h)
	t.Logf("listed 1,000 services with destinations in %v", time.Since(start))
	if len(got) != len(want) {
		t.Fatalf("listed %d services, want %d", len(got), len(want))
	}
	bad := 0
	for k, w := range want {
		if got[k] != w {
			bad++
			if bad <= 5 {
				t.Errorf("service %s:\n got  %s\n want %s", k, got[k], w)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of 1000 services differ", bad)
	}
}

func joinSorted(s []string) string {
	s = sortStrings(s)
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// TestSingleChangeAllocatesNothing: a change that succeeds, with context.Background(), makes
// no Go allocation (the data travels as arguments, the C structs stay on the stack, no goroutine
// is started); the per-operation cost over the C ABI is the cgo call and the conversion.
func TestSingleChangeAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	h := kernelHandle(t)
	ctx := context.Background()
	s := &Service{Address: vip4, Protocol: TCP, Port: 80, Scheduler: "wrr"}
	d := &Destination{Address: netip.MustParseAddr("192.0.2.11"), Port: 8080, Forward: Masquerade, Weight: 1}
	if err := h.NewService(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := h.NewDestination(ctx, s, d); err != nil {
		t.Fatal(err)
	}
	w := int32(0)
	n := testing.AllocsPerRun(100, func() {
		w++
		d.Weight = w
		if err := h.UpdateDestination(ctx, s, d); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("UpdateDestination made %v allocations per call, want 0", n)
	}
	// A read allocates only its result: GetService the *Service (a kernel scheduler's name is
	// a constant string), Destinations the values and the slice of pointers to them.
	if n := testing.AllocsPerRun(100, func() {
		if _, err := h.GetService(ctx, s); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Errorf("GetService made %v allocations per call, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if ds, err := h.Destinations(ctx, s); err != nil || len(ds) != 1 {
			t.Fatal(len(ds), err)
		}
	}); n != 2 {
		t.Errorf("Destinations made %v allocations per call, want 2", n)
	}
}

func TestContextAndClose(t *testing.T) {
	h := kernelHandle(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := Service{Address: vip4, Protocol: TCP, Port: 80, Scheduler: "rr"}
	if err := h.NewService(ctx, &s); !errors.Is(err, context.Canceled) {
		t.Errorf("NewService with a cancelled context: %v", err)
	}
	if got, err := h.Services(context.Background()); err != nil || len(got) != 0 {
		t.Errorf("a cancelled call reached the kernel: %d services, %v", len(got), err)
	}
	// A cancellable context that stays live works normally.
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel2()
	if err := h.NewService(ctx2, &s); err != nil {
		t.Errorf("NewService with a live context: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := h.Services(context.Background()); !errors.Is(err, lbnet.ErrClosed) {
		t.Errorf("call after Close: %v, want lbnet.ErrClosed", err)
	}
}
