// Package ipvs controls Linux IPVS (the kernel's layer-4 load balancer) through lbnet's Rust
// core, linked as libipvs_ffi via cgo. It covers the whole IPVS generic-netlink interface:
// services (TCP, UDP, SCTP, firewall mark; IPv4 and IPv6; every scheduler and its flags;
// persistence and persistence engines), destinations (masquerade, local, tunnel with
// IPIP/GUE/GRE options, route, bypass; weights and thresholds; mixed address families),
// 32- and 64-bit statistics, zeroing, flushing, version information, connection timeouts,
// connection-sync daemons, network namespaces and pipelined batches.
//
// A Handle holds one netlink socket and is safe for concurrent use:
//
//	h, err := ipvs.Open(nil) // or &ipvs.Options{NetNSPath: "/var/run/netns/blue"}
//	if err != nil { ... }
//	defer h.Close()
//	svc := &ipvs.Service{Address: netip.MustParseAddr("192.0.2.1"), Protocol: ipvs.TCP, Port: 80, Scheduler: "wrr"}
//	err = h.NewService(ctx, svc)
//	if errors.Is(err, syscall.EEXIST) { ... } // errors wrap the kernel's errno
//	err = h.NewDestination(ctx, svc, &ipvs.Destination{Address: netip.MustParseAddr("10.0.0.2"), Port: 80, Weight: 1, Forward: ipvs.Route})
//
// Building: the package links target/release/libipvs_ffi.so of the lbnet checkout it lives in
// (run `make build` at the repository root first) and finds it at run time through an rpath.
//
// Every call needs CAP_NET_ADMIN. When the kernel has no IPVS, calls fail with an *Error that
// IsNotAvailable reports.
package ipvs
