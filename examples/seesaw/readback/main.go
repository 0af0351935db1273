// Command seesaw_ipvs_readback adds a fixed IPVS table through Seesaw's ipvs API and prints what
// Seesaw's GetServices reads back, one canonical line per service and per destination, sorted,
// so that two builds of the same Seesaw (stock libnl, and -tags rust_ipvs on lbnet) can be
// compared line by line. build.sh copies it into both Seesaw work trees as
// test_tools/lbnet_ipvs_readback; examples/seesaw/lab-compare.sh runs both in the kernel lab.
//
// With -want it prints, without touching the kernel, the lines a correct backend must print:
// the table it adds, in the same format. Seesaw's ipvs_test_tool has no IPv6 address whose last
// twelve bytes are zero; this table has 2001:db8:: as a service address and as a destination
// address, which stock Seesaw reads back as IPv4 (see go/seesaw/README.md).
//
// It needs root and IPVS in the kernel; it flushes the IPVS table of the current network
// namespace first and leaves the table it made (the caller may list it with ipvsadm -S -n).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/google/seesaw/ipvs"
)

func dests(fwd ipvs.DestinationFlags, port uint16, weight int32, addrs ...string) []*ipvs.Destination {
	var out []*ipvs.Destination
	for _, a := range addrs {
		out = append(out, &ipvs.Destination{Address: net.ParseIP(a), Port: port, Weight: weight, Flags: fwd})
	}
	return out
}

// table is what the tool adds: both families, TCP/UDP/firewall marks, every forwarding method
// Seesaw uses, persistence, thresholds, and IPv6 addresses with twelve trailing zero bytes.
func table() []ipvs.Service {
	thr := dests(ipvs.DFForwardRoute, 443, 5, "192.0.2.31", "192.0.2.32")
	thr[0].LowerThreshold, thr[0].UpperThreshold = 10, 100
	return []ipvs.Service{
		{Address: net.ParseIP("192.0.2.1"), Protocol: syscall.IPPROTO_TCP, Port: 80, Scheduler: "wlc",
			Destinations: dests(ipvs.DFForwardMasq, 8080, 1, "192.0.2.11", "192.0.2.12", "192.0.2.13")},
		{Address: net.ParseIP("192.0.2.2"), Protocol: syscall.IPPROTO_TCP, Port: 443, Scheduler: "sh",
			Flags: ipvs.SFPersistent | ipvs.SFSchedSHPort, Timeout: 300, Destinations: thr},
		{Address: net.ParseIP("2001:db8::"), Protocol: syscall.IPPROTO_UDP, Port: 53, Scheduler: "wrr",
			Destinations: dests(ipvs.DFForwardMasq, 53, 2, "2001:db8::12", "2001:db8::13")},
		{Address: net.ParseIP("2001:db8::80"), Protocol: syscall.IPPROTO_TCP, Port: 80, Scheduler: "rr",
			Destinations: dests(ipvs.DFForwardTunnel, 80, 1, "2001:db8::", "2001:db8::81")},
		{Address: net.ParseIP("0.0.0.0"), FirewallMark: 1, Scheduler: "wlc",
			Destinations: dests(ipvs.DFForwardRoute, 0, 1, "192.0.2.21", "192.0.2.22")},
		{Address: net.ParseIP("::"), FirewallMark: 2, Scheduler: "lc",
			Destinations: dests(ipvs.DFForwardLocal, 0, 3, "2001:db8::21")},
	}
}

func family(ip net.IP) string {
	if ip.To4() != nil {
		return "inet"
	}
	return "inet6"
}

// lines renders services canonically: the kernel-set SFHashed flag and statistics left out,
// services and destinations sorted.
func lines(svcs []ipvs.Service) []string {
	var out []string
	for _, s := range svcs {
		svc := fmt.Sprintf("service %s %s proto=%d port=%d fwmark=%d sched=%s flags=%#x timeout=%d pe=%q dests=%d",
			family(s.Address), s.Address, s.Protocol, s.Port, s.FirewallMark, s.Scheduler,
			uint32(s.Flags&^ipvs.SFHashed), s.Timeout, s.PersistenceEngine, len(s.Destinations))
		var ds []string
		for _, d := range s.Destinations {
			ds = append(ds, fmt.Sprintf("%s | dest %s %s port=%d weight=%d flags=%#x lthresh=%d uthresh=%d",
				svc, family(d.Address), d.Address, d.Port, d.Weight, uint32(d.Flags), d.LowerThreshold, d.UpperThreshold))
		}
		sort.Strings(ds)
		out = append(out, svc)
		out = append(out, ds...)
	}
	sort.Strings(out)
	return out
}

func main() {
	want := flag.Bool("want", false, "print the table this tool adds, without touching the kernel")
	flag.Parse()
	log.SetFlags(0)
	if *want {
		fmt.Println(strings.Join(lines(table()), "\n"))
		return
	}
	if err := ipvs.Init(); err != nil {
		log.Fatalf("ipvs.Init: %v", err)
	}
	if err := ipvs.Flush(); err != nil {
		log.Fatalf("ipvs.Flush: %v", err)
	}
	for _, s := range table() {
		if err := ipvs.AddService(s); err != nil {
			log.Fatalf("ipvs.AddService(%s): %v", s, err)
		}
	}
	got, err := ipvs.GetServices()
	if err != nil {
		log.Fatalf("ipvs.GetServices: %v", err)
	}
	var svcs []ipvs.Service
	for _, s := range got {
		svcs = append(svcs, *s)
	}
	fmt.Println(strings.Join(lines(svcs), "\n"))
	os.Exit(0)
}
