// Package routeexport drives lbnet's BGP route export engine (libipvs_ffi, lbnet_rtexport_*):
// best paths in, kernel routes out, by rules that match standard and large communities and
// name a VRF or a routing table.
//
// Routes use protocol 186 (RTPROT_BGP) by default. FRR's zebra deletes routes of protocol 186
// when it starts: pick another protocol number on a machine that runs zebra.
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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// DefaultMetric is the metric a rule gives its routes unless told otherwise.
const DefaultMetric = 20

// Error is a failure reported by the library: the errno (the kernel's own where the kernel
// answered) and a readable message, including the kernel's extended-ack text.
type Error struct {
	Errno   syscall.Errno
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is(err, syscall.EEXIST) and friends work.
func (e *Error) Unwrap() error { return e.Errno }

// call runs f on a locked OS thread so the thread-local error message belongs to this call.
func call(f func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc >= 0 {
		return nil
	}
	msg := "lbnet error"
	if p := C.lbnet_last_error(); p != nil {
		msg = C.GoString(p)
	}
	return &Error{Errno: syscall.Errno(-rc), Message: msg}
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
	// VRF names a VRF device (its table is read from the link); empty means Table.
	VRF   string
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
	// Protocol of exported routes (default 186).
	Protocol uint8
	// Dampening coalesces updates of one prefix closer together than this (default 100 ms; 0
	// turns it off); DampeningCap is the longest a flapping prefix waits (default 1 s).
	Dampening, DampeningCap time.Duration
	// DeleteAllAtStart removes our protocol's routes from the rules' tables at start instead
	// of keeping them until End-of-RIB.
	DeleteAllAtStart bool
	// Watch re-validates next hops when links and routes change (default true).
	Watch bool
}

// DefaultConfig is the engine's default configuration.
func DefaultConfig() Config {
	var c C.lbnet_rtexport_config
	C.lbnet_rtexport_config_default(&c)
	return Config{
		Protocol:     uint8(c.protocol),
		Dampening:    time.Duration(c.dampening_ms) * time.Millisecond,
		DampeningCap: time.Duration(c.dampening_cap_ms) * time.Millisecond,
		Watch:        c.watch != 0,
	}
}

// cRules holds rules in C memory (cgo forbids Go pointers inside memory passed to C).
type cRules struct {
	arr   *C.lbnet_rtexport_rule
	n     int
	frees []unsafe.Pointer
}

func (r *cRules) free() {
	for _, p := range r.frees {
		C.free(p)
	}
}

func (r *cRules) alloc(size int) unsafe.Pointer {
	if size == 0 {
		return nil
	}
	p := C.calloc(1, C.size_t(size))
	r.frees = append(r.frees, p)
	return p
}

func (r *cRules) str(s string) *C.char {
	p := C.CString(s)
	r.frees = append(r.frees, unsafe.Pointer(p))
	return p
}

func toC(rules []Rule) *cRules {
	r := &cRules{n: len(rules)}
	r.arr = (*C.lbnet_rtexport_rule)(r.alloc(len(rules) * int(unsafe.Sizeof(C.lbnet_rtexport_rule{}))))
	cr := unsafe.Slice(r.arr, len(rules))
	for i, rule := range rules {
		c := &cr[i]
		c.name = r.str(rule.Name)
		if rule.VRF != "" {
			c.vrf = r.str(rule.VRF)
		}
		c.table = C.uint32_t(rule.Table)
		c.metric = C.uint32_t(rule.Metric)
		if rule.ValidateNexthop {
			c.validate_nexthop = 1
		}
		c.communities, c.n_communities = r.comms(rule.Communities)
		c.large_communities, c.n_large_communities = r.large(rule.LargeCommunities)
	}
	return r
}

func (r *cRules) comms(v []uint32) (*C.uint32_t, C.size_t) {
	if len(v) == 0 {
		return nil, 0
	}
	p := (*C.uint32_t)(r.alloc(4 * len(v)))
	copy(unsafe.Slice((*uint32)(unsafe.Pointer(p)), len(v)), v)
	return p, C.size_t(len(v))
}

func (r *cRules) large(v []LargeCommunity) (*C.lbnet_large_community, C.size_t) {
	if len(v) == 0 {
		return nil, 0
	}
	p := (*C.lbnet_large_community)(r.alloc(len(v) * int(unsafe.Sizeof(C.lbnet_large_community{}))))
	s := unsafe.Slice(p, len(v))
	for i, l := range v {
		s[i] = C.lbnet_large_community{global: C.uint32_t(l.Global), local1: C.uint32_t(l.Local1), local2: C.uint32_t(l.Local2)}
	}
	return p, C.size_t(len(v))
}

// Exporter is a running export engine. Safe for concurrent use.
type Exporter struct {
	mu sync.RWMutex
	p  *C.lbnet_rtexport
}

// ErrClosed is returned by methods of a closed Exporter.
var ErrClosed = &Error{Errno: syscall.EBADF, Message: "route exporter is closed"}

// New starts an engine with rules.
func New(cfg Config, rules []Rule) (*Exporter, error) {
	var c C.lbnet_rtexport_config
	C.lbnet_rtexport_config_default(&c)
	cr := toC(rules)
	defer cr.free()
	if cfg.NetnsPath != "" {
		c.netns_path = cr.str(cfg.NetnsPath)
	}
	c.protocol = C.uint8_t(cfg.Protocol)
	c.dampening_ms = C.uint32_t(cfg.Dampening / time.Millisecond)
	c.dampening_cap_ms = C.uint32_t(cfg.DampeningCap / time.Millisecond)
	if cfg.DeleteAllAtStart {
		c.delete_all_at_start = 1
	}
	c.watch = 0
	if cfg.Watch {
		c.watch = 1
	}
	e := &Exporter{}
	err := call(func() C.int {
		return C.lbnet_rtexport_new(&c, cr.arr, C.size_t(cr.n), &e.p)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Exporter) with(f func(p *C.lbnet_rtexport) C.int) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.p == nil {
		return ErrClosed
	}
	return call(func() C.int { return f(e.p) })
}

// Update sets the best path of prefix ("ADDR/LEN") to nexthop with its communities.
func (e *Exporter) Update(prefix, nexthop string, communities []uint32, large []LargeCommunity) error {
	cr := &cRules{}
	defer cr.free()
	cp, cn := cr.str(prefix), cr.str(nexthop)
	comms, nc := cr.comms(communities)
	lc, nl := cr.large(large)
	return e.with(func(p *C.lbnet_rtexport) C.int {
		return C.lbnet_rtexport_update(p, cp, cn, comms, nc, lc, nl)
	})
}

// Change is one best-path change for Apply: a new path (Nexthop set) or a withdrawal (Nexthop
// empty).
type Change struct {
	Prefix, Nexthop  string
	Communities      []uint32
	LargeCommunities []LargeCommunity
}

// Apply applies many changes at once; their kernel operations go pipelined. Every change is
// applied; the first error is returned.
func (e *Exporter) Apply(changes []Change) error {
	if len(changes) == 0 {
		return nil
	}
	cr := &cRules{}
	defer cr.free()
	arr := (*C.lbnet_rtexport_change)(cr.alloc(len(changes) * int(unsafe.Sizeof(C.lbnet_rtexport_change{}))))
	cs := unsafe.Slice(arr, len(changes))
	for i, ch := range changes {
		c := &cs[i]
		c.prefix = cr.str(ch.Prefix)
		if ch.Nexthop != "" {
			c.nexthop = cr.str(ch.Nexthop)
		}
		c.communities, c.n_communities = cr.comms(ch.Communities)
		c.large_communities, c.n_large_communities = cr.large(ch.LargeCommunities)
	}
	return e.with(func(p *C.lbnet_rtexport) C.int {
		return C.lbnet_rtexport_apply(p, arr, C.size_t(len(changes)))
	})
}

// Withdraw removes prefix from every table.
func (e *Exporter) Withdraw(prefix string) error {
	cp := C.CString(prefix)
	defer C.free(unsafe.Pointer(cp))
	return e.with(func(p *C.lbnet_rtexport) C.int { return C.lbnet_rtexport_withdraw(p, cp) })
}

// EndOfRIB marks the first full update complete: our routes found at start that no path
// claimed are deleted. Returns how many.
func (e *Exporter) EndOfRIB() (int, error) {
	var n C.size_t
	err := e.with(func(p *C.lbnet_rtexport) C.int { return C.lbnet_rtexport_end_of_rib(p, &n) })
	return int(n), err
}

// Reload replaces the rules and re-evaluates every route; on error the old rules stay.
func (e *Exporter) Reload(rules []Rule) error {
	cr := toC(rules)
	defer cr.free()
	return e.with(func(p *C.lbnet_rtexport) C.int {
		return C.lbnet_rtexport_reload(p, cr.arr, C.size_t(cr.n))
	})
}

// Flush removes every route we exported and nothing else. Returns how many.
func (e *Exporter) Flush() (int, error) {
	var n C.size_t
	err := e.with(func(p *C.lbnet_rtexport) C.int { return C.lbnet_rtexport_flush(p, &n) })
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
	var cr *C.char
	if rule != "" {
		cr = C.CString(rule)
		defer C.free(unsafe.Pointer(cr))
	}
	if err := e.with(func(p *C.lbnet_rtexport) C.int { return C.lbnet_rtexport_get_stats(p, cr, &cs) }); err != nil {
		return Stats{}, err
	}
	buf := (*C.char)(C.malloc(4096))
	defer C.free(unsafe.Pointer(buf))
	if err := e.with(func(p *C.lbnet_rtexport) C.int { return C.lbnet_rtexport_last_error(p, cr, buf, 4096) }); err != nil {
		return Stats{}, err
	}
	return Stats{
		Exported: uint64(cs.exported), Withdrawn: uint64(cs.withdrawn), Errors: uint64(cs.errors),
		NexthopValidations: uint64(cs.nexthop_validations), NexthopFailures: uint64(cs.nexthop_failures),
		Dampened: uint64(cs.dampened), KernelOps: uint64(cs.kernel_ops),
		LastExport: unixNs(cs.last_export_ns), LastWithdraw: unixNs(cs.last_withdraw_ns),
		LastError: unixNs(cs.last_error_ns), LastErrorMessage: C.GoString(buf),
	}, nil
}

// ExportedRoute is one route the engine has in the kernel.
type ExportedRoute struct {
	Rule, Prefix, Gateway string
	Table, Metric         uint32
	ExportedAt            time.Time
}

// Routes lists the exported routes by table, prefix and rule.
func (e *Exporter) Routes() ([]ExportedRoute, error) {
	var l *C.lbnet_rtexport_route_list
	if err := e.with(func(p *C.lbnet_rtexport) C.int { return C.lbnet_rtexport_routes(p, &l) }); err != nil {
		return nil, err
	}
	defer C.lbnet_rtexport_route_list_free(l)
	out := make([]ExportedRoute, 0, int(l.len))
	for _, r := range unsafe.Slice(l.routes, int(l.len)) {
		out = append(out, ExportedRoute{
			Rule: C.GoString(r.rule), Prefix: C.GoString(r.prefix), Gateway: C.GoString(r.gateway),
			Table: uint32(r.table), Metric: uint32(r.metric), ExportedAt: time.Unix(int64(r.exported_at), 0),
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
