// Command route-bench installs, replaces and withdraws N IPv4 routes in a network namespace
// with vishvananda/netlink (one RouteReplace / RouteDel call per route, as Go daemons do) and
// with lbnet's Go binding (routeexport, one Apply batch), and prints the times as
// "ROW client|operation|nanoseconds" lines for lbnet's Rust bench (benches/route/rust/tests/route_bench.rs),
// which runs it.
//
//	route-bench -netns NAME [-n 100000] [-family 4|6]
package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/lbnet/lbnet/go/routeexport"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// report prints one measurement in the line format benches/route/rust/tests/route_bench.rs reads.
func report(client, op string, d time.Duration) {
	fmt.Printf("ROW %s|%s|%d\n", client, op, d.Nanoseconds())
}

// prefixes are those of benches/route/rust/tests/route_bench.rs, in its order: /24s from 32.0.0.0 up, or
// /64s from 2001:db8:4000:: up, permuted.
func prefixes(n int, v6 bool) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for j := range out {
		// The permutation of benches/route/rust/tests/route_bench.rs: prefix i*7919 mod n at position i.
		i := int(uint64(j) * 7919 % uint64(n))
		if v6 {
			var b [16]byte
			hi := uint64(0x20010db840000000) + uint64(i)
			for j := 0; j < 8; j++ {
				b[j] = byte(hi >> (56 - 8*j))
			}
			out[j] = netip.PrefixFrom(netip.AddrFrom16(b), 64)
			continue
		}
		v := uint32(0x20000000) + uint32(i)<<8
		out[j] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 24)
	}
	return out
}

func main() {
	name := flag.String("netns", "", "network namespace (ip netns name) with 10.1.0.0/24 and 2001:db8:1::/64 connected")
	n := flag.Int("n", 100000, "number of routes")
	family := flag.Int("family", 4, "4 or 6")
	flag.Parse()
	if err := run(*name, *n, *family == 6); err != nil {
		fmt.Fprintln(os.Stderr, "route-bench:", err)
		os.Exit(1)
	}
}

// check dumps table and compares it with what a step left: every prefix of ps via gw (gw empty:
// the table is empty). Run after every timed step, outside the clock.
func check(h *netlink.Handle, fam, table int, ps []netip.Prefix, gw, what string) error {
	rs, err := h.RouteListFiltered(fam, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return err
	}
	if gw == "" {
		if len(rs) != 0 {
			return fmt.Errorf("%s: %d routes left in table %d", what, len(rs), table)
		}
		return nil
	}
	if len(rs) != len(ps) {
		return fmt.Errorf("%s: %d routes in table %d, want %d", what, len(rs), table, len(ps))
	}
	want := make(map[netip.Prefix]bool, len(ps))
	for _, p := range ps {
		want[p] = true
	}
	g := net.ParseIP(gw)
	for _, r := range rs {
		a, _ := netip.AddrFromSlice(r.Dst.IP)
		bits, _ := r.Dst.Mask.Size()
		p := netip.PrefixFrom(a.Unmap(), bits)
		if !want[p] || !r.Gw.Equal(g) || r.Protocol != 186 || r.Priority != 20 {
			return fmt.Errorf("%s: unexpected route %s via %s proto %d metric %d in table %d", what, p, r.Gw, r.Protocol, r.Priority, table)
		}
		delete(want, p)
	}
	return nil
}

func run(name string, n int, v6 bool) error {
	runtime.LockOSThread()
	ns, err := netns.GetFromName(name)
	if err != nil {
		return err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	ps := prefixes(n, v6)
	gw2, gw3, fam := "10.1.0.2", "10.1.0.3", netlink.FAMILY_V4
	if v6 {
		gw2, gw3, fam = "2001:db8:1::2", "2001:db8:1::3", netlink.FAMILY_V6
	}
	const table = 400
	mk := func(p netip.Prefix, gw string) *netlink.Route {
		return &netlink.Route{
			Dst:      &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())},
			Gw:       net.ParseIP(gw),
			Table:    table,
			Protocol: 186,
			Priority: 20,
		}
	}
	const vish = "vishvananda/netlink RouteReplace x N"
	for _, step := range []struct {
		op, gw string
		del    bool
	}{
		{"install", gw2, false},
		{"replace", gw3, false},
		{"withdraw", gw3, true},
	} {
		t := time.Now()
		for _, p := range ps {
			r := mk(p, step.gw)
			if step.del {
				err = h.RouteDel(r)
			} else {
				err = h.RouteReplace(r)
			}
			if err != nil {
				return fmt.Errorf("vishvananda %s %s: %w", step.op, p, err)
			}
		}
		report(vish, step.op, time.Since(t))
		want := step.gw
		if step.del {
			want = ""
		}
		if err := check(h, fam, table, ps, want, vish+" "+step.op); err != nil {
			return err
		}
	}

	// lbnet's Go binding, same namespace, table 500.
	cfg := routeexport.DefaultConfig()
	cfg.NetnsPath = "/var/run/netns/" + name
	cfg.Dampening = 0
	e, err := routeexport.New(cfg, []routeexport.Rule{routeexport.NewRule("all", 500)})
	if err != nil {
		return err
	}
	defer e.Close()
	for _, step := range []struct {
		op string
		gw netip.Addr
	}{
		{"install", netip.MustParseAddr(gw2)},
		{"replace", netip.MustParseAddr(gw3)},
		{"withdraw", netip.Addr{}},
	} {
		changes := make([]routeexport.Change, n)
		for i := range changes {
			changes[i] = routeexport.Change{Prefix: ps[i], Nexthop: step.gw}
		}
		t := time.Now()
		if err := e.Apply(changes); err != nil {
			return fmt.Errorf("lbnet Go %s: %w", step.op, err)
		}
		report("lbnet Go Exporter.Apply", step.op, time.Since(t))
		want := ""
		if step.gw.IsValid() {
			want = step.gw.String()
		}
		if err := check(h, fam, 500, ps, want, "lbnet Go "+step.op); err != nil {
			return err
		}
	}
	st, err := e.Stats("")
	if err != nil {
		return err
	}
	// Installed n, replaced n, withdrew n: 2n exports, n withdrawals, no error.
	if st.Errors != 0 || st.Exported != uint64(2*n) || st.Withdrawn != uint64(n) {
		return fmt.Errorf("unexpected statistics %+v", st)
	}
	return nil
}
