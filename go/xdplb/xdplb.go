// Package xdplb controls lbnet's XDP L4 load balancer from Go through libipvs_ffi (cgo).
//
// A LB is one control plane: Open a fresh data plane (then Attach and Pin it), or Open with
// Options.PinDir to adopt one that is pinned (for example under /sys/fs/bpf/lbnet/<iface>)
// after a restart. Failed calls return an *lbnet.Error: errors.Is(err, syscall.EEXIST) matches
// the errno and errors.Is(err, lbnet.NotFound) the kind. Methods are safe for concurrent use.
package xdplb

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -lipvs_ffi -Wl,-rpath,${SRCDIR}/../../target/release
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "ipvs_ffi.h"
*/
import "C"

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	lbnet "github.com/lbnet/lbnet/go"
	"github.com/lbnet/lbnet/go/internal/capi"
)

// Proto is a VIP's L4 protocol.
type Proto uint8

const (
	// TCP is IPPROTO_TCP.
	TCP Proto = 6
	// UDP is IPPROTO_UDP.
	UDP Proto = 17
)

// Vip is a virtual service.
type Vip struct {
	Addr  netip.Addr
	Port  uint16
	Proto Proto
}

func (v Vip) String() string {
	p := "tcp"
	if v.Proto == UDP {
		p = "udp"
	}
	return fmt.Sprintf("%s:%s", p, netip.AddrPortFrom(v.Addr, v.Port))
}

// Backend is a real server of a VIP; Weight 0 means drained. Slots is the number of Maglev
// ring slots it owns (output only).
type Backend struct {
	Addr   netip.Addr
	Weight uint32
	Slots  uint32
}

// VipStats are a VIP's counters summed over CPUs.
type VipStats struct {
	Packets, Bytes, NewFlows, Drops uint64
}

// BackendStats are one backend's counters, summed over CPUs: what the data plane sent to it.
type BackendStats struct {
	Addr           netip.Addr
	Packets, Bytes uint64 // Bytes: inner IP length, without the tunnel header
}

// Options configure Open (struct lbnet_xdp_options); the zero value loads a fresh data plane
// with the library's default capacities (32 VIPs, 4096 backend slots, 65,536 tracked flows).
type Options struct {
	// PinDir adopts the data plane pinned under this bpffs directory (see LB.Pin) instead of
	// loading one; the capacities must then be 0.
	PinDir string
	// MaxVips is the number of VIP slots (0: 32; at most 65,535).
	MaxVips uint32
	// MaxBackends is the number of backend slots over all VIPs (0: 4096; slot 0 is reserved).
	MaxBackends uint32
	// ConnTableSize is the number of tracked flows per CPU (0: 65,536).
	ConnTableSize uint32
}

// LB is one control plane of the XDP load balancer.
type LB struct {
	mu sync.Mutex
	h  *C.struct_lbnet_xdp
}

func putAddr(p *C.struct_lbnet_addr, a netip.Addr) { capi.PutAddr(unsafe.Pointer(p), a) }

func getAddr(p *C.struct_lbnet_addr) netip.Addr { return capi.Addr(unsafe.Pointer(p)) }

func cVip(v Vip) C.struct_lbnet_xdp_vip {
	var c C.struct_lbnet_xdp_vip
	c.proto = C.uint8_t(v.Proto)
	c.port = C.uint16_t(v.Port)
	putAddr(&c.addr, v.Addr)
	return c
}

// call runs f with the open handle on a locked OS thread; a negative return becomes an
// *lbnet.Error for op. After Close it returns lbnet.ErrClosed.
func (lb *LB) call(op string, f func(h *C.struct_lbnet_xdp) C.int) error {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.h == nil {
		return lbnet.ErrClosed
	}
	return capi.Call(op, func() int32 { return int32(f(lb.h)) })
}

// Open loads a data plane (or adopts a pinned one, with opts.PinDir).
func Open(opts Options) (*LB, error) {
	var o C.struct_lbnet_xdp_options
	o.sz = C.size_t(unsafe.Sizeof(o))
	if opts.PinDir != "" {
		o.pin_dir = C.CString(opts.PinDir)
		defer C.free(unsafe.Pointer(o.pin_dir))
	}
	o.max_vips = C.uint32_t(opts.MaxVips)
	o.max_backends = C.uint32_t(opts.MaxBackends)
	o.conn_table_size = C.uint32_t(opts.ConnTableSize)
	var h *C.struct_lbnet_xdp
	if err := capi.Call("xdplb.Open", func() int32 { return int32(C.lbnet_xdp_open(&o, &h)) }); err != nil {
		return nil, err
	}
	lb := &LB{h: h}
	runtime.SetFinalizer(lb, func(l *LB) { l.Close() })
	return lb, nil
}

// Close frees the handle; the program is detached unless it was pinned. Safe to call twice;
// other methods return lbnet.ErrClosed afterwards.
func (lb *LB) Close() {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.h != nil {
		C.lbnet_xdp_free(lb.h)
		lb.h = nil
	}
}

// Attach attaches to ifname in the network namespace file netnsPath ("" = the caller's), in
// driver mode if native, else generic (skb) mode.
func (lb *LB) Attach(netnsPath, ifname string, native bool) error {
	ci := C.CString(ifname)
	defer C.free(unsafe.Pointer(ci))
	var cn *C.char
	if netnsPath != "" {
		cn = C.CString(netnsPath)
		defer C.free(unsafe.Pointer(cn))
	}
	flags := C.uint32_t(0)
	if native {
		flags = C.LBNET_XDP_ATTACH_NATIVE
	}
	return lb.call("xdplb.Attach", func(h *C.struct_lbnet_xdp) C.int { return C.lbnet_xdp_attach(h, cn, ci, flags) })
}

// Pin pins maps and link under dir so the data plane survives this process.
func (lb *LB) Pin(dir string) error {
	cs := C.CString(dir)
	defer C.free(unsafe.Pointer(cs))
	return lb.call("xdplb.Pin", func(h *C.struct_lbnet_xdp) C.int { return C.lbnet_xdp_pin(h, cs) })
}

// Detach stops the data plane and removes the pins.
func (lb *LB) Detach() error {
	return lb.call("xdplb.Detach", func(h *C.struct_lbnet_xdp) C.int { return C.lbnet_xdp_detach(h) })
}

// SetConfig sets the tunnels' outer sources (an invalid Addr means none; src4 must be IPv4,
// src6 IPv6) and the next-hop MAC (nil = back to the sender).
func (lb *LB) SetConfig(src4, src6 netip.Addr, gwMAC []byte) error {
	const op = "xdplb.SetConfig"
	var a4, a6 C.struct_lbnet_addr
	var p4, p6 *C.struct_lbnet_addr
	if src4.IsValid() {
		putAddr(&a4, src4)
		p4 = &a4
	}
	if src6.IsValid() {
		putAddr(&a6, src6)
		p6 = &a6
	}
	var mac [6]C.uint8_t
	var pm *C.uint8_t
	if gwMAC != nil {
		if len(gwMAC) != 6 {
			return lbnet.Errorf(op, syscall.EINVAL, "gateway MAC is %d bytes, want 6", len(gwMAC))
		}
		for i := range gwMAC {
			mac[i] = C.uint8_t(gwMAC[i])
		}
		pm = &mac[0]
	}
	return lb.call(op, func(h *C.struct_lbnet_xdp) C.int { return C.lbnet_xdp_set_config(h, p4, p6, pm) })
}

// NewFlowLimitDefault is the new-flow limit SetNewFlowLimit(0) selects: Katran's MAX_CONN_RATE,
// new flows recorded per second per CPU.
const NewFlowLimitDefault = uint32(C.LBNET_XDP_NEW_FLOW_LIMIT_DEFAULT)

// NewFlowUnlimited as the new-flow limit records every new flow (no flood protection).
const NewFlowUnlimited = uint32(C.LBNET_XDP_NEW_FLOW_UNLIMITED)

// SetNewFlowLimit sets how many new flows per second one CPU records in the connection table
// (a one-second window per CPU). Above it, as Katran's flood protection does, new flows are
// not recorded (counter "flood_skip") and their packets follow the Maglev ring. 0 restores
// NewFlowLimitDefault; NewFlowUnlimited records every flow.
func (lb *LB) SetNewFlowLimit(perCPUPerSec uint32) error {
	return lb.call("xdplb.SetNewFlowLimit", func(h *C.struct_lbnet_xdp) C.int {
		return C.lbnet_xdp_set_new_flow_limit(h, C.uint32_t(perCPUPerSec))
	})
}

// AddVip adds a VIP without backends.
func (lb *LB) AddVip(v Vip) error {
	c := cVip(v)
	return lb.call("xdplb.AddVip", func(h *C.struct_lbnet_xdp) C.int { return C.lbnet_xdp_add_vip(h, &c) })
}

// RemoveVip removes a VIP.
func (lb *LB) RemoveVip(v Vip) error {
	c := cVip(v)
	return lb.call("xdplb.RemoveVip", func(h *C.struct_lbnet_xdp) C.int { return C.lbnet_xdp_remove_vip(h, &c) })
}

// SetBackends replaces a VIP's backends.
func (lb *LB) SetBackends(v Vip, backends []Backend) error {
	c := cVip(v)
	n := len(backends)
	if n == 0 {
		return lb.call("xdplb.SetBackends", func(h *C.struct_lbnet_xdp) C.int {
			return C.lbnet_xdp_set_backends(h, &c, nil, 0)
		})
	}
	arr := make([]C.struct_lbnet_xdp_backend, n)
	for i, b := range backends {
		arr[i].weight = C.uint32_t(b.Weight)
		putAddr(&arr[i].addr, b.Addr)
	}
	return lb.call("xdplb.SetBackends", func(h *C.struct_lbnet_xdp) C.int {
		return C.lbnet_xdp_set_backends(h, &c, &arr[0], C.size_t(n))
	})
}

// SetWeight changes one backend's weight; Drain sets it to 0.
func (lb *LB) SetWeight(v Vip, addr netip.Addr, weight uint32) error {
	c := cVip(v)
	var a C.struct_lbnet_addr
	putAddr(&a, addr)
	return lb.call("xdplb.SetWeight", func(h *C.struct_lbnet_xdp) C.int {
		return C.lbnet_xdp_set_weight(h, &c, &a, C.uint32_t(weight))
	})
}

// Drain stops new flows to a backend; tracked flows stay.
func (lb *LB) Drain(v Vip, addr netip.Addr) error { return lb.SetWeight(v, addr, 0) }

// listInto asks list for the count (cap 0), then fills a buffer of that size; it retries if the
// set grew in between (another handle adopted the same data plane and added entries).
func listInto[T any](list func(out *T, cap C.size_t, n *C.size_t) C.int) ([]T, int32) {
	var n C.size_t
	for {
		rc := list(nil, 0, &n)
		if rc < 0 && rc != -C.int(syscall.ERANGE) {
			return nil, int32(rc)
		}
		if n == 0 {
			return nil, 0
		}
		buf := make([]T, n)
		rc = list(&buf[0], n, &n)
		if rc == -C.int(syscall.ERANGE) {
			continue
		}
		if rc < 0 {
			return nil, int32(rc)
		}
		return buf[:n], 0
	}
}

// Vips lists the VIPs.
func (lb *LB) Vips() ([]Vip, error) {
	var out []Vip
	err := lb.call("xdplb.Vips", func(h *C.struct_lbnet_xdp) C.int {
		buf, rc := listInto(func(o *C.struct_lbnet_xdp_vip, cap C.size_t, n *C.size_t) C.int {
			return C.lbnet_xdp_list_vips(h, o, cap, n)
		})
		for i := range buf {
			out = append(out, Vip{Addr: getAddr(&buf[i].addr), Port: uint16(buf[i].port), Proto: Proto(buf[i].proto)})
		}
		return C.int(rc)
	})
	return out, err
}

// Backends lists a VIP's backends, sorted by address, with their ring slot counts.
func (lb *LB) Backends(v Vip) ([]Backend, error) {
	c := cVip(v)
	var out []Backend
	err := lb.call("xdplb.Backends", func(h *C.struct_lbnet_xdp) C.int {
		buf, rc := listInto(func(o *C.struct_lbnet_xdp_backend, cap C.size_t, n *C.size_t) C.int {
			return C.lbnet_xdp_list_backends(h, &c, o, cap, n)
		})
		for i := range buf {
			out = append(out, Backend{Addr: getAddr(&buf[i].addr), Weight: uint32(buf[i].weight), Slots: uint32(buf[i].slots)})
		}
		return C.int(rc)
	})
	return out, err
}

// Stats returns a VIP's counters.
func (lb *LB) Stats(v Vip) (VipStats, error) {
	c := cVip(v)
	var s C.struct_lbnet_xdp_vip_counters
	err := lb.call("xdplb.Stats", func(h *C.struct_lbnet_xdp) C.int { return C.lbnet_xdp_vip_stats(h, &c, &s) })
	return VipStats{uint64(s.packets), uint64(s.bytes), uint64(s.lru_misses), uint64(s.drops)}, err
}

// BackendStats returns the counters of every backend of v (packets and bytes sent to it),
// sorted by address as Backends lists them. A backend's counters start at zero when it is
// added and survive weight changes and drains. lbnet_xdp_backend_stats.
func (lb *LB) BackendStats(v Vip) ([]BackendStats, error) {
	c := cVip(v)
	var out []BackendStats
	err := lb.call("xdplb.BackendStats", func(h *C.struct_lbnet_xdp) C.int {
		buf, rc := listInto(func(o *C.struct_lbnet_xdp_backend_counters, cap C.size_t, n *C.size_t) C.int {
			return C.lbnet_xdp_backend_stats(h, &c, o, cap, n)
		})
		for i := range buf {
			out = append(out, BackendStats{Addr: getAddr(&buf[i].addr), Packets: uint64(buf[i].packets), Bytes: uint64(buf[i].bytes)})
		}
		return C.int(rc)
	})
	return out, err
}

// counterNames are the library's global counter names, read once.
var counterNames = sync.OnceValues(func() ([]string, error) {
	n := int(C.lbnet_xdp_counter_count())
	names := make([]string, n)
	for i := range names {
		var p *C.char
		if err := capi.Call("xdplb.Counters", func() int32 {
			return int32(C.lbnet_xdp_counter_name(C.size_t(i), &p))
		}); err != nil {
			return nil, err
		}
		names[i] = C.GoString(p)
	}
	return names, nil
})

// Counters returns the global counters by name ("rx", "tx", "drop_no_backend", ...).
func (lb *LB) Counters() (map[string]uint64, error) {
	names, err := counterNames()
	if err != nil {
		return nil, err
	}
	vals := make([]C.uint64_t, len(names))
	err = lb.call("xdplb.Counters", func(h *C.struct_lbnet_xdp) C.int {
		return C.lbnet_xdp_counters(h, &vals[0], C.size_t(len(vals)))
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(names))
	for i, name := range names {
		out[name] = uint64(vals[i])
	}
	return out, nil
}
