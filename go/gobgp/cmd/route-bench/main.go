// Command route-bench installs, replaces and withdraws N IPv4 routes in a network namespace
// with vishvananda/netlink (one RouteReplace / RouteDel call per route, as Go daemons do) and
// with lbnet's Go binding (routeexport, one Apply batch and one call per route), and prints
// the times in the format of lbnet's Rust bench (core/tests/route_bench.rs), which runs it.
//
//	route-bench -netns NAME [-n 100000]
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

func report(what string, n int, d time.Duration) {
	fmt.Printf("%-44s %9.1f ms  %7.2f us/route  %9.0f routes/s\n", what,
		d.Seconds()*1e3, d.Seconds()*1e6/float64(n), float64(n)/d.Seconds())
}

func prefixes(n int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		v := uint32(0x20000000) + uint32(i)<<8
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 24)
	}
	return out
}

func main() {
	name := flag.String("netns", "", "network namespace (ip netns name) with 10.1.0.0/24 connected")
	n := flag.Int("n", 100000, "number of routes")
	flag.Parse()
	if err := run(*name, *n); err != nil {
		fmt.Fprintln(os.Stderr, "route-bench:", err)
		os.Exit(1)
	}
}

func run(name string, n int) error {
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
	ps := prefixes(n)
	const table = 400
	mk := func(p netip.Prefix, gw string) *netlink.Route {
		return &netlink.Route{
			Dst:      &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(24, 32)},
			Gw:       net.ParseIP(gw),
			Table:    table,
			Protocol: 186,
			Priority: 20,
		}
	}
	for _, step := range []struct {
		what string
		gw   string
		del  bool
	}{
		{"vishvananda/netlink RouteReplace install", "10.1.0.2", false},
		{"vishvananda/netlink RouteReplace replace", "10.1.0.3", false},
		{"vishvananda/netlink RouteDel", "10.1.0.3", true},
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
				return fmt.Errorf("%s %s: %w", step.what, p, err)
			}
		}
		report(step.what, n, time.Since(t))
	}
	left, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return err
	}
	if len(left) != 0 {
		return fmt.Errorf("%d routes left in table %d", len(left), table)
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
	strs := make([]string, n)
	for i, p := range ps {
		strs[i] = p.String()
	}
	for _, step := range []struct{ what, gw string }{
		{"lbnet Go Exporter.Apply install (one batch)", "10.1.0.2"},
		{"lbnet Go Exporter.Apply replace (one batch)", "10.1.0.3"},
		{"lbnet Go Exporter.Apply withdraw (one batch)", ""},
	} {
		changes := make([]routeexport.Change, n)
		for i := range changes {
			changes[i] = routeexport.Change{Prefix: strs[i], Nexthop: step.gw}
		}
		t := time.Now()
		if err := e.Apply(changes); err != nil {
			return fmt.Errorf("%s: %w", step.what, err)
		}
		report(step.what, n, time.Since(t))
	}
	t := time.Now()
	for _, p := range strs {
		if err := e.Update(p, "10.1.0.2", nil, nil); err != nil {
			return err
		}
	}
	report("lbnet Go Exporter.Update install (one by one)", n, time.Since(t))
	st, err := e.Stats("")
	if err != nil {
		return err
	}
	// Installed n, replaced n, installed n again: 3n exports, n withdrawals, no error.
	if st.Errors != 0 || st.Exported != uint64(3*n) || st.Withdrawn != uint64(n) {
		return fmt.Errorf("unexpected statistics %+v", st)
	}
	if k, err := e.Flush(); err != nil || k != n {
		return fmt.Errorf("flush: %d %v", k, err)
	}
	return nil
}
