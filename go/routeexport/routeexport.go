// Package routeexport drives lbnet's BGP route export engine (libipvs_ffi, lbnet_rtexport_*):
// best paths in, kernel routes out, by rules that match standard and large communities and
// name a VRF or a routing table. Prefixes and next hops are netip.Prefix and netip.Addr; they
// cross to the library as its binary struct lbnet_prefix and struct lbnet_addr.
//
// Every failed call returns a *lbnet.Error (errors.Is works on the errno and on the lbnet
// kinds). Routes use protocol 186 (RTPROT_BGP) by default; protocols 1-4 and 255 belong to the
// kernel and administrators and are refused. FRR's zebra deletes routes of protocol 186 when it
// starts: pick another protocol number on a machine that runs zebra.
package routeexport

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -lipvs_ffi -Wl,-rpath,${SRCDIR}/../../target/release
#include <stdlib.h>
#include "ipvs_ffi.h"
*/
import "C"

import (
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	lbnet "github.com/lbnet/lbnet/go"
	"github.com/lbnet/lbnet/go/internal/capi"
)

// DefaultMetric is the metric a rule gives its routes unless told otherwise.
const DefaultMetric = 20

func init() {
	// LargeCommunity is passed to the library as struct lbnet_rtexport_large_community, and the
	// prefix and address fields are written by capi.
	if unsafe.Sizeof(LargeCommunity{}) != unsafe.Sizeof(C.lbnet_rtexport_large_community{}) ||
		unsafe.Sizeof(C.struct_lbnet_prefix{}) != uintptr(capi.PrefixSize) ||
		unsafe.Sizeof(C.struct_lbnet_addr{}) != uintptr(capi.AddrSize) {
		panic("routeexport: C struct layout differs from the Go one")
	}
}

// LargeCommunity is an RFC 8092 large community.
type LargeCommunity struct {
	Global, Local1, Local2 uint32
}

func (l LargeCommunity) String() string {
	return fmt.Sprintf("%d:%d:%d", l.Global, l.Local1, l.Local2)
}

// ParseCommunity parses an RFC 1997 community "ASN:VALUE" (each 0..65535) or a plain 32-bit
// number. Out-of-range values are rejected, not clamped.
func ParseCommunity(s string) (uint32, error) {
	if a, v, ok := strings.Cut(s, ":"); ok {
		hi, err := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
		if err != nil {
			return 0, fmt.Errorf("community %q: ASN: %w", s, err)
		}
		lo, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
		if err != nil {
			return 0, fmt.Errorf("community %q: value: %w", s, err)
		}
		return uint32(hi<<16 | lo), nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("community %q: %w", s, err)
	}
	return uint32(n), nil
}

// ParseLargeCommunity parses "GLOBAL:LOCAL1:LOCAL2" (each 0..4294967295).
func ParseLargeCommunity(s string) (LargeCommunity, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return LargeCommunity{}, fmt.Errorf("large community %q is not GLOBAL:LOCAL1:LOCAL2", s)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 32)
		if err != nil {
			return LargeCommunity{}, fmt.Errorf("large community %q: %w", s, err)
		}
		v[i] = uint32(n)
	}
	return LargeCommunity{v[0], v[1], v[2]}, nil
}

// Rule says which paths go where.
type Rule struct {
	// Name is unique among the rules.
	Name string
	// Communities and LargeCommunities are matched with OR; both empty matches every path.
	Communities      []uint32
	LargeCommunities []LargeCommunity
	// VRF names a VRF device; empty means Table. With Table 0 the routes go into the VRF's
	// own table (read from the link); with a Table, into that table, next hops being validated
	// in the VRF and required to resolve in Table (the PureLB fork's rule with both keys).
	VRF string
	// Table the routes go into: required without a VRF.
	Table uint32
	// Metric of the exported routes.
	Metric uint32
	// ValidateNexthop exports a route only while its next hop is reachable.
	ValidateNexthop bool
}

// NewRule is a rule exporting every path into table with metric 20 and next-hop validation.
func NewRule(name string, table uint32) Rule {
	return Rule{Name: name, Table: table, Metric: DefaultMetric, ValidateNexthop: true}
}

// Config controls the engine.
type Config struct {
	// NetnsPath is a network namespace file (/var/run/netns/NAME); empty is the caller's.
	NetnsPath string
	// Protocol of exported routes; 0 means the library's default, 186. 1-4 and 255 are
	// refused (the engine replaces and deletes every route of its protocol in its tables).
	Protocol uint8
	// Dampening coalesces updates of one prefix closer together than this (0 turns it off;
	// DefaultConfig has 100 ms); DampeningCap is the longest a flapping prefix waits (0: the
	// library's default, 1 s). Both are rounded up to whole milliseconds.
	Dampening, DampeningCap time.Duration
	// DeleteAllAtStart removes our protocol's routes from the rules' tables at start instead
	// of keeping them until End-of-RIB.
	DeleteAllAtStart bool
	// Watch re-validates next hops when links and routes change (DefaultConfig: true).
	Watch bool
}

// DefaultConfig is the engine's default configuration (the library's defaults).
func DefaultConfig() Config {
	return Config{
		Protocol:     C.LBNET_RTEXPORT_DEFAULT_PROTOCOL,
		Dampening:    C.LBNET_RTEXPORT_DEFAULT_DAMPENING_MS * time.Millisecond,
		DampeningCap: C.LBNET_RTEXPORT_DEFAULT_DAMPENING_CAP_MS * time.Millisecond,
		Watch:        true,
	}
}

// cargs holds what one call hands to C: strings copied into C memory, and Go arrays pinned
// while C reads them (cgo lets C read Go memory that holds Go pointers only if those are pinned).
type cargs struct {
	op    string
	pin   runtime.Pinner
	frees []unsafe.Pointer
	err   error
}

func (a *cargs) free() {
	a.pin.Unpin()
	for _, p := range a.frees {
		C.free(p)
	}
}

// str copies s into C memory; a NUL inside s (which C would cut it at) is an error.
func (a *cargs) str(what, s string) *C.char {
	if strings.IndexByte(s, 0) >= 0 && a.err == nil {
		a.err = lbnet.Errorf(a.op, syscall.EINVAL, "%s %q contains a NUL byte", what, s)
	}
	p := C.CString(s)
	a.frees = append(a.frees, unsafe.Pointer(p))
	return p
}

func (a *cargs) comms(v []uint32) (*C.uint32_t, C.size_t) {
	if len(v) == 0 {
		return nil, 0
	}
	a.pin.Pin(&v[0])
	return (*C.uint32_t)(unsafe.Pointer(&v[0])), C.size_t(len(v))
}

// addrs copies v into C memory (freed with the other arguments).
func (a *cargs) addrs(v []netip.Addr) (*C.struct_lbnet_addr, C.size_t) {
	if len(v) == 0 {
		return nil, 0
	}
	sz := C.size_t(unsafe.Sizeof(C.struct_lbnet_addr{}))
	p := C.calloc(C.size_t(len(v)), sz)
	a.frees = append(a.frees, p)
	out := unsafe.Slice((*C.struct_lbnet_addr)(p), len(v))
	for i, x := range v {
		capi.PutAddr(unsafe.Pointer(&out[i]), x)
	}
	return (*C.struct_lbnet_addr)(p), C.size_t(len(v))
}

func (a *cargs) large(v []LargeCommunity) (*C.lbnet_rtexport_large_community, C.size_t) {
	if len(v) == 0 {
		return nil, 0
	}
	a.pin.Pin(&v[0])
	return (*C.lbnet_rtexport_large_community)(unsafe.Pointer(&v[0])), C.size_t(len(v))
}

func (a *cargs) rules(rules []Rule) (*C.lbnet_rtexport_rule, C.size_t) {
	if len(rules) == 0 {
		return nil, 0
	}
	cr := make([]C.lbnet_rtexport_rule, len(rules))
	for i, rule := range rules {
		c := &cr[i]
		c.name = a.str("rule name", rule.Name)
		if rule.VRF != "" {
			c.vrf = a.str("VRF", rule.VRF)
		}
		c.table = C.uint32_t(rule.Table)
		c.metric = C.uint32_t(rule.Metric)
		if rule.ValidateNexthop {
			c.validate_nexthop = 1
		}
		c.communities, c.n_communities = a.comms(rule.Communities)
		c.large_communities, c.n_large_communities = a.large(rule.LargeCommunities)
	}
	a.pin.Pin(&cr[0])
	return &cr[0], C.size_t(len(cr))
}

// call runs f with the arguments prepared, unless preparing them failed.
func (a *cargs) call(f func() C.int) error {
	defer a.free()
	if a.err != nil {
		return a.err
	}
	return capi.Call(a.op, func() int32 { return int32(f()) })
}

// millis is d in whole milliseconds, rounded up.
func millis(op, what string, d time.Duration) (C.uint32_t, error) {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if d < 0 || ms > math.MaxUint32 {
		return 0, lbnet.Errorf(op, syscall.EINVAL, "%s %v is out of range", what, d)
	}
	return C.uint32_t(ms), nil
}

// Exporter is a running export engine. Safe for concurrent use.
type Exporter struct {
	mu sync.RWMutex
	p  *C.lbnet_rtexport
}

// New starts an engine with rules (lbnet_rtexport_open).
func New(cfg Config, rules []Rule) (*Exporter, error) {
	a := &cargs{op: "routeexport.New"}
	o := C.struct_lbnet_rtexport_options{sz: C.size_t(unsafe.Sizeof(C.struct_lbnet_rtexport_options{}))}
	if cfg.NetnsPath != "" {
		o.netns_path = a.str("netns path", cfg.NetnsPath)
	}
	o.rules, o.n_rules = a.rules(rules)
	o.protocol = C.uint8_t(cfg.Protocol)
	var err error
	if o.dampening_ms, err = millis(a.op, "dampening", cfg.Dampening); err != nil {
		a.free()
		return nil, err
	}
	if o.dampening_cap_ms, err = millis(a.op, "dampening cap", cfg.DampeningCap); err != nil {
		a.free()
		return nil, err
	}
	if cfg.Dampening == 0 {
		o.flags |= C.LBNET_RTEXPORT_NO_DAMPENING
	}
	if cfg.DeleteAllAtStart {
		o.flags |= C.LBNET_RTEXPORT_DELETE_ALL_AT_START
	}
	if !cfg.Watch {
		o.flags |= C.LBNET_RTEXPORT_NO_WATCH
	}
	e := &Exporter{}
	if err := a.call(func() C.int { return C.lbnet_rtexport_open(&o, &e.p) }); err != nil {
		return nil, err
	}
	return e, nil
}

// with runs f on the live engine, or returns lbnet.ErrClosed after Close.
func (e *Exporter) with(a *cargs, f func(p *C.lbnet_rtexport) C.int) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.p == nil {
		a.free()
		return fmt.Errorf("%s: %w", a.op, lbnet.ErrClosed)
	}
	return a.call(func() C.int { return f(e.p) })
}

func cPrefix(p netip.Prefix) (c C.struct_lbnet_prefix) {
	capi.PutPrefix(unsafe.Pointer(&c), p)
	return c
}

func cAddr(a netip.Addr) (c C.struct_lbnet_addr) {
	capi.PutAddr(unsafe.Pointer(&c), a)
	return c
}

// Update sets the best path of prefix to nexthop with its communities. The prefix must have
// no host bits set (use prefix.Masked()).
func (e *Exporter) Update(prefix netip.Prefix, nexthop netip.Addr, communities []uint32, large []LargeCommunity) error {
	a := &cargs{op: "routeexport.Update"}
	cp, cn := cPrefix(prefix), cAddr(nexthop)
	comms, nc := a.comms(communities)
	lc, nl := a.large(large)
	return e.with(a, func(p *C.lbnet_rtexport) C.int {
		return C.lbnet_rtexport_update(p, &cp, &cn, comms, nc, lc, nl)
	})
}

// Change is one best-path change for Apply: a new path (Nexthop valid) or a withdrawal
// (Nexthop the zero netip.Addr).
type Change struct {
	Prefix           netip.Prefix
	Nexthop          netip.Addr
	Communities      []uint32
	LargeCommunities []LargeCommunity
	// MoreNexthops are the next hops of the prefix's other equal-cost best paths (BGP
	// multipath): with any, the kernel route is a multipath route (RTA_MULTIPATH) over
	// Nexthop and these. At most 256.
	MoreNexthops []netip.Addr
	// Device is the output interface of the next hops, required for an IPv6 link-local next
	// hop (the kernel refuses one without RTA_OIF); "" lets the kernel resolve it.
	Device string
}

// Apply applies many changes at once; their kernel operations go pipelined. Every change is
// checked first (one bad change: none is applied); then every change is applied and the first
// error is returned.
func (e *Exporter) Apply(changes []Change) error {
	if len(changes) == 0 {
		return nil
	}
	a := &cargs{op: "routeexport.Apply"}
	cs := make([]C.lbnet_rtexport_change, len(changes))
	for i, ch := range changes {
		c := &cs[i]
		capi.PutPrefix(unsafe.Pointer(&c.prefix), ch.Prefix)
		capi.PutAddr(unsafe.Pointer(&c.nexthop), ch.Nexthop)
		if ch.Nexthop.IsValid() {
			c.communities, c.n_communities = a.comms(ch.Communities)
			c.large_communities, c.n_large_communities = a.large(ch.LargeCommunities)
			c.more_nexthops, c.n_more_nexthops = a.addrs(ch.MoreNexthops)
			if ch.Device != "" {
				c.device = a.str("device", ch.Device)
			}
		}
	}
	return e.with(a, func(p *C.lbnet_rtexport) C.int {
		return C.lbnet_rtexport_apply(p, &cs[0], C.size_t(len(cs)))
	})
}

// Withdraw removes prefix from every table.
func (e *Exporter) Withdraw(prefix netip.Prefix) error {
	cp := cPrefix(prefix)
	return e.with(&cargs{op: "routeexport.Withdraw"}, func(p *C.lbnet_rtexport) C.int {
		return C.lbnet_rtexport_withdraw(p, &cp)
	})
}

// EndOfRIB marks the first full update complete: our routes found at start that no path
// claimed are deleted. Returns how many.
func (e *Exporter) EndOfRIB() (int, error) {
	var n C.size_t
	err := e.with(&cargs{op: "routeexport.EndOfRIB"}, func(p *C.lbnet_rtexport) C.int {
		return C.lbnet_rtexport_end_of_rib(p, &n)
	})
	return int(n), err
}

// Reload replaces the rules and re-evaluates every route; on error the old rules stay.
func (e *Exporter) Reload(rules []Rule) error {
	a := &cargs{op: "routeexport.Reload"}
	cr, n := a.rules(rules)
	return e.with(a, func(p *C.lbnet_rtexport) C.int { return C.lbnet_rtexport_reload(p, cr, n) })
}

// Flush removes every route we exported and nothing else. Returns how many.
func (e *Exporter) Flush() (int, error) {
	var n C.size_t
	err := e.with(&cargs{op: "routeexport.Flush"}, func(p *C.lbnet_rtexport) C.int {
		return C.lbnet_rtexport_flush(p, &n)
	})
	return int(n), err
}

// Stats are the engine's counters, globally or for one rule.
type Stats struct {
	Exported, Withdrawn, Errors         uint64
	NexthopValidations, NexthopFailures uint64
	Dampened, KernelOps                 uint64
	LastExport, LastWithdraw, LastError time.Time // zero: never
	LastErrorMessage                    string
}

func unixNs(ns C.int64_t) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}

// Stats returns the statistics of rule (empty: global).
func (e *Exporter) Stats(rule string) (Stats, error) {
	var cs C.lbnet_rtexport_stats
	buf := make([]C.char, 4096)
	a := &cargs{op: "routeexport.Stats"}
	var cr *C.char
	if rule != "" {
		cr = a.str("rule name", rule)
	}
	err := e.with(a, func(p *C.lbnet_rtexport) C.int {
		if rc := C.lbnet_rtexport_get_stats(p, cr, &cs); rc < 0 {
			return rc
		}
		return C.lbnet_rtexport_last_error(p, cr, &buf[0], C.size_t(len(buf)))
	})
	if err != nil {
		return Stats{}, err
	}
	return Stats{
		Exported: uint64(cs.exported), Withdrawn: uint64(cs.withdrawn), Errors: uint64(cs.errors),
		NexthopValidations: uint64(cs.nexthop_validations), NexthopFailures: uint64(cs.nexthop_failures),
		Dampened: uint64(cs.dampened), KernelOps: uint64(cs.kernel_ops),
		LastExport: unixNs(cs.last_export_ns), LastWithdraw: unixNs(cs.last_withdraw_ns),
		LastError: unixNs(cs.last_error_ns), LastErrorMessage: C.GoString(&buf[0]),
	}, nil
}

// ExportedRoute is one route the engine has in the kernel.
type ExportedRoute struct {
	Rule   string
	Prefix netip.Prefix
	// Gateway is the zero netip.Addr while a withdrawal waits in the dampening window.
	Gateway       netip.Addr
	Table, Metric uint32
	ExportedAt    time.Time
}

// Routes lists the exported routes by table, prefix and rule.
func (e *Exporter) Routes() ([]ExportedRoute, error) {
	var l *C.lbnet_rtexport_route_list
	if err := e.with(&cargs{op: "routeexport.Routes"}, func(p *C.lbnet_rtexport) C.int {
		return C.lbnet_rtexport_routes(p, &l)
	}); err != nil {
		return nil, err
	}
	defer C.lbnet_rtexport_route_list_free(l)
	out := make([]ExportedRoute, 0, int(l.len))
	for _, r := range unsafe.Slice(l.routes, int(l.len)) {
		out = append(out, ExportedRoute{
			Rule: C.GoString(r.rule), Prefix: capi.Prefix(unsafe.Pointer(&r.prefix)),
			Gateway: capi.Addr(unsafe.Pointer(&r.gateway)),
			Table:   uint32(r.table), Metric: uint32(r.metric), ExportedAt: time.Unix(int64(r.exported_at), 0),
		})
	}
	return out, nil
}

// Close stops the engine; exported routes stay in the kernel (call Flush first to remove
// them). Close is idempotent.
func (e *Exporter) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.p != nil {
		C.lbnet_rtexport_free(e.p)
		e.p = nil
	}
}
