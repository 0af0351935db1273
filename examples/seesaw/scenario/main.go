// Command lbnet_ipvs_scenario is Seesaw's end-to-end IPVS scenario (the one its
// test_tools/ipvs_test_tool runs) written against Seesaw's ipvs API, so it runs on whichever
// backend the Seesaw checkout is built with (-tags rust_ipvs: lbnet's). build.sh copies it into
// the Seesaw work tree as test_tools/lbnet_ipvs_scenario.
//
// Unlike Seesaw's tool, which logs mismatches and still exits 0, every mismatch here is counted
// and the exit status is 1 if any check failed. It needs root and IPVS in the kernel, and it
// flushes the IPVS table of the current network namespace.
package main

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"reflect"
	"syscall"

	"github.com/google/seesaw/ipvs"
)

var passed, failed int

func check(ok bool, format string, args ...interface{}) {
	if ok {
		passed++
		return
	}
	failed++
	log.Printf("FAIL: "+format, args...)
}

func must(err error, what string) {
	if err != nil {
		log.Printf("FAIL: %s: %v", what, err)
		failed++
		report()
	}
}

func report() {
	fmt.Printf("scenario: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
	os.Exit(0)
}

type testCase struct {
	desc    string
	service ipvs.Service
	dests   []ipvs.Destination
}

func dests(fwd ipvs.DestinationFlags, port uint16, addrs ...string) []ipvs.Destination {
	var out []ipvs.Destination
	for _, a := range addrs {
		out = append(out, ipvs.Destination{Address: net.ParseIP(a), Port: port, Weight: 1, Flags: fwd})
	}
	return out
}

// Four services of mixed family, protocol and firewall mark, four destinations each. The IPv6
// service address 2001:db8:: has its last twelve bytes zero, which Seesaw's libnl backend
// misreads as IPv4.
var cases = []testCase{
	{"IPv4 TCP 192.0.2.1:80 wlc", ipvs.Service{Address: net.ParseIP("192.0.2.1"), Protocol: syscall.IPPROTO_TCP, Port: 80, Scheduler: "wlc"},
		dests(ipvs.DFForwardMasq, 8080, "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14")},
	{"IPv6 UDP [2001:db8::]:53 wrr", ipvs.Service{Address: net.ParseIP("2001:db8::"), Protocol: syscall.IPPROTO_UDP, Port: 53, Scheduler: "wrr"},
		dests(ipvs.DFForwardMasq, 53, "2001:db8:1::", "2001:db8::12", "2001:db8::13", "2001:db8::14")},
	{"IPv4 FWM 1 wlc", ipvs.Service{Address: net.ParseIP("0.0.0.0"), FirewallMark: 1, Scheduler: "wlc"},
		dests(ipvs.DFForwardRoute, 0, "192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24")},
	{"IPv6 FWM 2 wrr", ipvs.Service{Address: net.ParseIP("::"), FirewallMark: 2, Scheduler: "wrr"},
		dests(ipvs.DFForwardTunnel, 0, "2001:db8::21", "2001:db8::22", "2001:db8::23", "2001:db8::24")},
}

// findService finds want in have by address, port and firewall mark, and deep-compares it
// (ignoring the kernel-set SFHashed flag, statistics, and destinations unless want has some).
func findService(want *ipvs.Service, have []*ipvs.Service) *ipvs.Service {
	for _, s := range have {
		if !want.Address.Equal(s.Address) || want.Port != s.Port || want.FirewallMark != s.FirewallMark {
			continue
		}
		got := *s
		got.Flags &^= ipvs.SFHashed
		got.Statistics = nil
		got.Destinations = nil
		w := *want
		w.Statistics = nil
		w.Destinations = nil
		check(reflect.DeepEqual(got, w), "service %s: got %#v, want %#v", want, got, w)
		check(len(got.Address) == len(w.Address), "service %s: address %v has %d bytes, want %d",
			want, got.Address, len(got.Address), len(w.Address))
		check(s.Statistics != nil, "service %s: no statistics", want)
		return s
	}
	check(false, "service %s not found among %d", want, len(have))
	return nil
}

// findDest finds want in have by address and port and deep-compares it (statistics aside).
func findDest(svc string, want *ipvs.Destination, have []*ipvs.Destination) {
	for _, d := range have {
		if !want.Address.Equal(d.Address) || want.Port != d.Port {
			continue
		}
		got := *d
		got.Statistics = nil
		w := *want
		w.Statistics = nil
		check(reflect.DeepEqual(got, w), "%s destination %s: got %#v, want %#v", svc, want, got, w)
		check(d.Statistics != nil, "%s destination %s: no statistics", svc, want)
		return
	}
	check(false, "%s: destination %s not found among %d", svc, want, len(have))
}

func testAddAndList() {
	must(ipvs.Flush(), "Flush")
	for _, c := range cases {
		svc := c.service
		svc.Destinations = nil
		for i := range c.dests {
			svc.Destinations = append(svc.Destinations, &c.dests[i])
		}
		must(ipvs.AddService(svc), "AddService "+c.desc)
	}
	// Adding one again must fail with the kernel's EEXIST, visible through errors.Is.
	err := ipvs.AddService(cases[0].service)
	check(errors.Is(err, syscall.EEXIST), "second AddService: got %v, want EEXIST", err)

	svcs, err := ipvs.GetServices()
	must(err, "GetServices")
	check(len(svcs) == len(cases), "GetServices returned %d services, want %d", len(svcs), len(cases))
	for _, c := range cases {
		s := findService(&c.service, svcs)
		if s == nil {
			continue
		}
		check(len(s.Destinations) == len(c.dests), "%s: %d destinations, want %d", c.desc, len(s.Destinations), len(c.dests))
		for i := range c.dests {
			findDest(c.desc, &c.dests[i], s.Destinations)
		}
	}
}

func testModify() {
	must(ipvs.Flush(), "Flush")
	for _, c := range cases {
		svc := c.service
		dst := c.dests[0]

		must(ipvs.AddService(svc), "AddService "+c.desc)
		got, err := ipvs.GetService(&svc)
		must(err, "GetService "+c.desc)
		findService(&svc, []*ipvs.Service{got})
		check(len(got.Destinations) == 0, "%s: new service has %d destinations", c.desc, len(got.Destinations))

		must(ipvs.AddDestination(svc, dst), "AddDestination "+c.desc)
		got, err = ipvs.GetService(&svc)
		must(err, "GetService "+c.desc)
		findService(&svc, []*ipvs.Service{got})
		findDest(c.desc, &dst, got.Destinations)

		svc.Scheduler = "lc"
		must(ipvs.UpdateService(svc), "UpdateService "+c.desc)
		got, err = ipvs.GetService(&svc)
		must(err, "GetService "+c.desc)
		findService(&svc, []*ipvs.Service{got})
		check(got.Scheduler == "lc", "%s: scheduler %q after update, want lc", c.desc, got.Scheduler)
		findDest(c.desc, &dst, got.Destinations)

		dst.Weight = 1000
		must(ipvs.UpdateDestination(svc, dst), "UpdateDestination "+c.desc)
		got, err = ipvs.GetService(&svc)
		must(err, "GetService "+c.desc)
		findService(&svc, []*ipvs.Service{got})
		findDest(c.desc, &dst, got.Destinations)

		must(ipvs.DeleteDestination(svc, dst), "DeleteDestination "+c.desc)
		got, err = ipvs.GetService(&svc)
		must(err, "GetService "+c.desc)
		check(len(got.Destinations) == 0, "%s: %d destinations left after delete", c.desc, len(got.Destinations))
		err = ipvs.DeleteDestination(svc, dst)
		check(errors.Is(err, syscall.ENOENT), "%s: second DeleteDestination: got %v, want ENOENT", c.desc, err)

		must(ipvs.DeleteService(svc), "DeleteService "+c.desc)
		err = ipvs.DeleteService(svc)
		check(errors.Is(err, syscall.ESRCH), "%s: second DeleteService: got %v, want ESRCH", c.desc, err)

		svcs, err := ipvs.GetServices()
		must(err, "GetServices")
		check(len(svcs) == 0, "%s: %d services left after delete", c.desc, len(svcs))
	}
}

func main() {
	log.SetFlags(0)
	must(ipvs.Init(), "Init")
	v := ipvs.Version()
	log.Printf("IPVS version %s", v)
	check(v.Major == 1, "IPVS major version %d, want 1", v.Major)
	testAddAndList()
	testModify()
	must(ipvs.Flush(), "Flush")
	report()
}
