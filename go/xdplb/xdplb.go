// Package xdplb controls lbnet's XDP L4 load balancer from Go through libipvs_ffi (cgo).
//
// A LB is one control plane: Load a fresh data plane (then Attach and Pin it), or Adopt one that
// is pinned under /sys/fs/bpf/lbnet/<iface> after a restart. Errors carry the kernel's errno
// (errors.Is(err, syscall.EEXIST) works) and the library's message. Methods are safe for
// concurrent use.
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
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// Error is a failed call: the errno (also matched by errors.Is) and the library's message.
type Error struct {
	Errno   syscall.Errno
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is lets errors.Is(err, syscall.ENOENT) match on the errno.
func (e *Error) Is(target error) bool {
	t, ok := target.(syscall.Errno)
	return ok && t == e.Errno
}

// lastError builds an Error from rc and the thread's message. The caller must have locked the
// OS thread around the C call and this read (the message is thread-local).
func lastError(rc C.int) error {
	msg := "xdplb: unknown error"
	if p := C.lbnet_last_error(); p != nil {
		msg = C.GoString(p)
	}
	return &Error{Errno: syscall.Errno(-rc), Message: msg}
}

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

// LB is one control plane of the XDP load balancer.
type LB struct {
	mu sync.Mutex
	h  *C.lbnet_xdplb
}

func putAddr(a netip.Addr, family *C.uint8_t, out *[16]C.uint8_t) error {
	switch {
	case a.Is4():
		*family = 4
		b := a.As4()
		for i := 0; i < 4; i++ {
			out[i] = C.uint8_t(b[i])
		}
	case a.Is6():
		*family = 6
		b := a.As16()
		for i := 0; i < 16; i++ {
			out[i] = C.uint8_t(b[i])
		}
	default:
		return &Error{Errno: syscall.EINVAL, Message: "invalid address"}
	}
	return nil
}

func getAddr(family C.uint8_t, in *[16]C.uint8_t) netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(in[i])
	}
	if family == 4 {
		return netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
	}
	return netip.AddrFrom16(b)
}

func cVip(v Vip) (C.lbnet_xdp_vip, error) {
	var c C.lbnet_xdp_vip
	c.proto = C.uint8_t(v.Proto)
	c.port = C.uint16_t(v.Port)
	err := putAddr(v.Addr, &c.family, (*[16]C.uint8_t)(unsafe.Pointer(&c.addr)))
	return c, err
}

// call runs f on a locked OS thread and turns a negative return into an Error.
func (lb *LB) call(f func(h *C.lbnet_xdplb) C.int) error {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.h == nil {
		return &Error{Errno: syscall.EBADF, Message: "xdplb: handle is closed"}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := f(lb.h); rc < 0 {
		return lastError(rc)
	}
	return nil
}

func wrap(h *C.lbnet_xdplb) (*LB, error) {
	if h == nil {
		p := C.lbnet_last_error()
		msg := "xdplb: failed"
		if p != nil {
			msg = C.GoString(p)
		}
		return nil, &Error{Errno: errnoFromMessage(msg), Message: msg}
	}
	lb := &LB{h: h}
	runtime.SetFinalizer(lb, func(l *LB) { l.Close() })
	return lb, nil
}

// errnoFromMessage maps the few failures of load/adopt (which return NULL, not an errno).
func errnoFromMessage(msg string) syscall.Errno {
	for _, e := range []syscall.Errno{syscall.ENOENT, syscall.EPERM, syscall.EINVAL, syscall.ENOMEM} {
		if strings.Contains(msg, e.Error()) {
			return e
		}
	}
	return syscall.EIO
}

// Load loads and verifies the program and creates its maps (zero capacities take defaults).
func Load(maxVips, maxBackends, connTableSize uint32) (*LB, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return wrap(C.lbnet_xdplb_load(C.uint32_t(maxVips), C.uint32_t(maxBackends), C.uint32_t(connTableSize)))
}

// Adopt takes over the data plane pinned under dir without interrupting it.
func Adopt(dir string) (*LB, error) {
	cs := C.CString(dir)
	defer C.free(unsafe.Pointer(cs))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return wrap(C.lbnet_xdplb_adopt(cs))
}

// Close frees the handle; the program is detached unless it was pinned.
func (lb *LB) Close() {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.h != nil {
		C.lbnet_xdplb_free(lb.h)
		lb.h = nil
	}
}

// Attach attaches to ifname in the network namespace file netnsPath ("" = the caller's).
func (lb *LB) Attach(netnsPath, ifname string, native bool) error {
	ci := C.CString(ifname)
	defer C.free(unsafe.Pointer(ci))
	var cn *C.char
	if netnsPath != "" {
		cn = C.CString(netnsPath)
		defer C.free(unsafe.Pointer(cn))
	}
	n := C.int(0)
	if native {
		n = 1
	}
	return lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_attach(h, cn, ci, n) })
}

// Pin pins maps and link under dir so the data plane survives this process.
func (lb *LB) Pin(dir string) error {
	cs := C.CString(dir)
	defer C.free(unsafe.Pointer(cs))
	return lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_pin(h, cs) })
}

// Detach stops the data plane and removes the pins.
func (lb *LB) Detach() error {
	return lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_detach(h) })
}

// SetConfig sets the tunnels' outer sources (invalid Addr = none) and next-hop MAC (nil =
// back to the sender).
func (lb *LB) SetConfig(src4, src6 netip.Addr, gwMAC []byte) error {
	var s4 [4]C.uint8_t
	var s6 [16]C.uint8_t
	var mac [6]C.uint8_t
	var p4, p6, pm *C.uint8_t
	if src4.Is4() {
		b := src4.As4()
		for i := range b {
			s4[i] = C.uint8_t(b[i])
		}
		p4 = &s4[0]
	}
	if src6.Is6() {
		b := src6.As16()
		for i := range b {
			s6[i] = C.uint8_t(b[i])
		}
		p6 = &s6[0]
	}
	if gwMAC != nil {
		if len(gwMAC) != 6 {
			return &Error{Errno: syscall.EINVAL, Message: "gateway MAC must be 6 bytes"}
		}
		for i := range gwMAC {
			mac[i] = C.uint8_t(gwMAC[i])
		}
		pm = &mac[0]
	}
	return lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_set_config(h, p4, p6, pm) })
}

// AddVip adds a VIP without backends.
func (lb *LB) AddVip(v Vip) error {
	c, err := cVip(v)
	if err != nil {
		return err
	}
	return lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_add_vip(h, &c) })
}

// RemoveVip removes a VIP.
func (lb *LB) RemoveVip(v Vip) error {
	c, err := cVip(v)
	if err != nil {
		return err
	}
	return lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_remove_vip(h, &c) })
}

// SetBackends replaces a VIP's backends.
func (lb *LB) SetBackends(v Vip, backends []Backend) error {
	c, err := cVip(v)
	if err != nil {
		return err
	}
	n := len(backends)
	cb := (*C.lbnet_xdp_backend)(C.calloc(C.size_t(n+1), C.size_t(unsafe.Sizeof(C.lbnet_xdp_backend{}))))
	defer C.free(unsafe.Pointer(cb))
	arr := unsafe.Slice(cb, n+1)
	for i, b := range backends {
		arr[i].weight = C.uint32_t(b.Weight)
		if err := putAddr(b.Addr, &arr[i].family, (*[16]C.uint8_t)(unsafe.Pointer(&arr[i].addr))); err != nil {
			return err
		}
	}
	return lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_set_backends(h, &c, cb, C.size_t(n)) })
}

// SetWeight changes one backend's weight; Drain sets it to 0.
func (lb *LB) SetWeight(v Vip, addr netip.Addr, weight uint32) error {
	c, err := cVip(v)
	if err != nil {
		return err
	}
	var b C.lbnet_xdp_backend
	b.weight = C.uint32_t(weight)
	if err := putAddr(addr, &b.family, (*[16]C.uint8_t)(unsafe.Pointer(&b.addr))); err != nil {
		return err
	}
	return lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_set_weight(h, &c, &b) })
}

// Drain stops new flows to a backend; tracked flows stay.
func (lb *LB) Drain(v Vip, addr netip.Addr) error { return lb.SetWeight(v, addr, 0) }

// Vips lists the VIPs.
func (lb *LB) Vips() ([]Vip, error) {
	var out []Vip
	err := lb.call(func(h *C.lbnet_xdplb) C.int {
		var n C.size_t
		if rc := C.lbnet_xdplb_list_vips(h, nil, 0, &n); rc < 0 && rc != -C.int(syscall.ERANGE) {
			return rc
		}
		if n == 0 {
			return 0
		}
		buf := make([]C.lbnet_xdp_vip, n)
		if rc := C.lbnet_xdplb_list_vips(h, &buf[0], n, &n); rc < 0 {
			return rc
		}
		for _, c := range buf[:n] {
			c := c
			out = append(out, Vip{
				Addr:  getAddr(c.family, (*[16]C.uint8_t)(unsafe.Pointer(&c.addr))),
				Port:  uint16(c.port),
				Proto: Proto(c.proto),
			})
		}
		return 0
	})
	return out, err
}

// Backends lists a VIP's backends with their ring slot counts.
func (lb *LB) Backends(v Vip) ([]Backend, error) {
	c, err := cVip(v)
	if err != nil {
		return nil, err
	}
	var out []Backend
	err = lb.call(func(h *C.lbnet_xdplb) C.int {
		var n C.size_t
		if rc := C.lbnet_xdplb_list_backends(h, &c, nil, 0, &n); rc < 0 && rc != -C.int(syscall.ERANGE) {
			return rc
		}
		if n == 0 {
			return 0
		}
		buf := make([]C.lbnet_xdp_backend, n)
		if rc := C.lbnet_xdplb_list_backends(h, &c, &buf[0], n, &n); rc < 0 {
			return rc
		}
		for _, b := range buf[:n] {
			b := b
			out = append(out, Backend{
				Addr:   getAddr(b.family, (*[16]C.uint8_t)(unsafe.Pointer(&b.addr))),
				Weight: uint32(b.weight),
				Slots:  uint32(b.slots),
			})
		}
		return 0
	})
	return out, err
}

// Stats returns a VIP's counters.
func (lb *LB) Stats(v Vip) (VipStats, error) {
	c, err := cVip(v)
	if err != nil {
		return VipStats{}, err
	}
	var s C.lbnet_xdp_vip_stats
	err = lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_vip_stats(h, &c, &s) })
	return VipStats{uint64(s.packets), uint64(s.bytes), uint64(s.lru_misses), uint64(s.drops)}, err
}

// Counters returns the global counters by name ("rx", "tx", "drop_no_backend", ...).
func (lb *LB) Counters() (map[string]uint64, error) {
	n := int(C.lbnet_xdplb_counter_count())
	vals := make([]C.uint64_t, n)
	err := lb.call(func(h *C.lbnet_xdplb) C.int { return C.lbnet_xdplb_counters(h, &vals[0], C.size_t(n)) })
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, n)
	for i := 0; i < n; i++ {
		out[C.GoString(C.lbnet_xdplb_counter_name(C.size_t(i)))] = uint64(vals[i])
	}
	return out, nil
}
