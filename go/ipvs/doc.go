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
// Errors: every failed call returns an *lbnet.Error (package github.com/lbnet/lbnet/go) whose
// Op names the method ("ipvs.NewService"). It unwraps to the errno, the kernel's own where the
// kernel answered (net/netfilter/ipvs/ip_vs_ctl.c): EEXIST for a service or destination that
// already exists, ESRCH for a missing service, ENOENT for a missing destination or an unknown
// scheduler or persistence engine, ERANGE for a negative weight or a lower threshold above the
// upper one, EPERM without CAP_NET_ADMIN; so errors.Is(err, syscall.EEXIST) works. It also
// matches its lbnet.Kind: when the kernel has no IPVS (module not loaded, generic netlink family
// "IPVS" missing) the generic netlink controller answers ENOENT too, and the library gives that
// failure kind lbnet.NotAvailable, so errors.Is(err, lbnet.NotAvailable) tells it from an
// unknown scheduler (lbnet.NotFound). Calls on a closed Handle return lbnet.ErrClosed.
//
// Every call needs CAP_NET_ADMIN.
package ipvs
