// Package linkwatch watches the Linux kernel's network links (rtnetlink RTM_NEWLINK /
// RTM_DELLINK) through lbnet's C ABI (libipvs_ffi): a snapshot of every link, and a channel of
// Added / Changed / Removed events that converges to the kernel's view even after the kernel
// dropped notifications (ENOBUFS), because the library then dumps again and emits exactly the
// differences.
//
// Every method is safe for concurrent use. Failed calls return an *lbnet.Error, which unwraps to
// the errno (errors.Is(err, syscall.ENOENT)) and matches its kind (errors.Is(err,
// lbnet.NotFound)).
package linkwatch

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
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"

	lbnet "github.com/lbnet/lbnet/go"
	"github.com/lbnet/lbnet/go/internal/capi"
)

// OperState is the RFC 2863 operational state (IF_OPER_* of linux/if.h).
type OperState uint8

// Operational states.
const (
	OperUnknown        OperState = 0
	OperNotPresent     OperState = 1
	OperDown           OperState = 2
	OperLowerLayerDown OperState = 3
	OperTesting        OperState = 4
	OperDormant        OperState = 5
	OperUp             OperState = 6
)

// String returns the name iproute2 prints ("UP", "DOWN", "LOWERLAYERDOWN", ...).
func (s OperState) String() string {
	switch s {
	case OperUnknown:
		return "UNKNOWN"
	case OperNotPresent:
		return "NOTPRESENT"
	case OperDown:
		return "DOWN"
	case OperLowerLayerDown:
		return "LOWERLAYERDOWN"
	case OperTesting:
		return "TESTING"
	case OperDormant:
		return "DORMANT"
	case OperUp:
		return "UP"
	}
	return fmt.Sprintf("OTHER(%d)", uint8(s))
}

// Duplex mode from ethtool.
type Duplex int8

// Duplex modes.
const (
	DuplexUnknown Duplex = -1
	DuplexHalf    Duplex = 0
	DuplexFull    Duplex = 1
)

// Link is one network link.
type Link struct {
	Index     uint32
	Name      string
	Kind      string // "veth", "bridge", ...; empty for physical NICs and lo
	Alias     string
	AdminUp   bool // IFF_UP
	LowerUp   bool // IFF_LOWER_UP
	Carrier   bool
	CarrierOK bool // false when the kernel did not report the carrier
	OperState OperState
	MTU       uint32
	Master    uint32 // ifindex of the master; 0 when none
	SpeedMbps uint32 // 0 when unknown (only read for the caller's own namespace)
	Duplex    Duplex
	MAC       net.HardwareAddr
	Flags     uint32 // all IFF_* flags
}

// Changes is the set of fields of a Changed event that differ.
type Changes uint32

// Change bits (LBNET_LINKWATCH_CHANGE_* of the C ABI).
const (
	ChangeName Changes = 1 << iota
	ChangeKind
	ChangeAdmin
	ChangeOper
	ChangeCarrier
	ChangeLowerUp
	ChangeMTU
	ChangeMAC
	ChangeMaster
	ChangeAlias
	ChangeSpeed
	ChangeDuplex
	ChangeFlags
)

// Has reports whether every bit of c2 is set.
func (c Changes) Has(c2 Changes) bool { return c&c2 == c2 }

// EventType says what happened to a link.
type EventType uint32

// Event types.
const (
	Added   EventType = 1
	Changed EventType = 2
	Removed EventType = 3 // deleted, or moved to another namespace
)

func (t EventType) String() string {
	switch t {
	case Added:
		return "added"
	case Changed:
		return "changed"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("EventType(%d)", uint32(t))
}

// Event is one change of the link table.
type Event struct {
	Type    EventType
	Changes Changes // for Changed
	Link    Link    // the new state (last known state for Removed)
	Old     Link    // for Changed: the state before
}

// Stats are the watcher's counters.
type Stats struct {
	Messages, Events, Resyncs, Overruns, DumpRetries, DumpsInterrupted, Truncated, Malformed, RcvBuf uint64
}

// Options configure Open (struct lbnet_linkwatch_options); the zero value means defaults.
type Options struct {
	// NetNSPath is a network namespace file ("/var/run/netns/NAME"); empty for the caller's.
	NetNSPath string
	// RcvBuf is the receive buffer in bytes; 0 for the library default (8 MiB).
	RcvBuf uint32
	// DumpTimeout bounds one dump (initial or resync); 0 for the library default (30 s).
	// Rounded up to whole milliseconds.
	DumpTimeout time.Duration
	// NoSpeed skips reading speed and duplex from sysfs (they stay unknown).
	NoSpeed bool
}

// Watcher watches the links of one network namespace.
type Watcher struct {
	mu     sync.RWMutex // write-locked only by Close
	h      *C.struct_lbnet_linkwatch
	stop   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

// Open subscribes to link notifications, then dumps the links.
func Open(opts Options) (*Watcher, error) {
	var o C.struct_lbnet_linkwatch_options
	o.sz = C.size_t(unsafe.Sizeof(o))
	if opts.NetNSPath != "" {
		o.netns_path = C.CString(opts.NetNSPath)
		defer C.free(unsafe.Pointer(o.netns_path))
	}
	o.rcvbuf = C.uint32_t(opts.RcvBuf)
	if opts.DumpTimeout < 0 {
		return nil, lbnet.Errorf("linkwatch.Open", syscall.EINVAL, "negative DumpTimeout %v", opts.DumpTimeout)
	}
	ms := (opts.DumpTimeout + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<32-1 {
		return nil, lbnet.Errorf("linkwatch.Open", syscall.EINVAL, "DumpTimeout %v is too long", opts.DumpTimeout)
	}
	o.dump_timeout_ms = C.uint32_t(ms)
	if opts.NoSpeed {
		o.flags |= C.LBNET_LINKWATCH_NO_SPEED
	}
	var h *C.struct_lbnet_linkwatch
	if err := capi.Call("linkwatch.Open", func() int32 { return int32(C.lbnet_linkwatch_open(&o, &h)) }); err != nil {
		return nil, err
	}
	return &Watcher{h: h, stop: make(chan struct{})}, nil
}

// Close stops running Events goroutines and releases the watcher. Safe to call twice.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.stop)
	w.mu.Unlock()
	w.wg.Wait()
	w.mu.Lock()
	C.lbnet_linkwatch_free(w.h)
	w.h = nil
	w.mu.Unlock()
	return nil
}

func goLink(c *C.struct_lbnet_linkwatch_link) Link {
	l := Link{
		Index:     uint32(c.ifindex),
		Name:      C.GoString(&c.name[0]),
		Kind:      C.GoString(&c.kind[0]),
		Alias:     C.GoString(&c.alias[0]),
		AdminUp:   c.admin_up != 0,
		LowerUp:   c.lower_up != 0,
		Carrier:   c.carrier == 1,
		CarrierOK: c.carrier >= 0,
		OperState: OperState(c.oper_state),
		MTU:       uint32(c.mtu),
		Master:    uint32(c.master),
		SpeedMbps: uint32(c.speed_mbps),
		Duplex:    Duplex(c.duplex),
		Flags:     uint32(c.flags),
	}
	if n := int(c.mac_len); n > 0 && n <= len(c.mac) {
		l.MAC = make(net.HardwareAddr, n)
		for i := 0; i < n; i++ {
			l.MAC[i] = byte(c.mac[i])
		}
	}
	return l
}

// Snapshot returns every link known now, sorted by ifindex: the state after every event
// delivered so far and those still queued.
func (w *Watcher) Snapshot() ([]Link, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return nil, lbnet.ErrClosed
	}
	var arr *C.struct_lbnet_linkwatch_link
	var n C.size_t
	if err := capi.Call("linkwatch.Snapshot", func() int32 {
		return int32(C.lbnet_linkwatch_snapshot(w.h, &arr, &n))
	}); err != nil {
		return nil, err
	}
	defer C.lbnet_linkwatch_links_free(arr, n)
	out := make([]Link, int(n))
	if n > 0 {
		cs := unsafe.Slice(arr, int(n))
		for i := range cs {
			out[i] = goLink(&cs[i])
		}
	}
	return out, nil
}

// Stats returns the watcher's counters.
func (w *Watcher) Stats() (Stats, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return Stats{}, lbnet.ErrClosed
	}
	var s C.struct_lbnet_linkwatch_counters
	if err := capi.Call("linkwatch.Stats", func() int32 { return int32(C.lbnet_linkwatch_stats(w.h, &s)) }); err != nil {
		return Stats{}, err
	}
	return statsFromC(&s), nil
}

// statsFromC converts the C ABI's counters, which both watchers report.
func statsFromC(s *C.struct_lbnet_linkwatch_counters) Stats {
	return Stats{
		Messages: uint64(s.messages), Events: uint64(s.events), Resyncs: uint64(s.resyncs),
		Overruns: uint64(s.overruns), DumpRetries: uint64(s.dump_retries),
		DumpsInterrupted: uint64(s.dumps_interrupted),
		Truncated:        uint64(s.truncated), Malformed: uint64(s.malformed), RcvBuf: uint64(s.rcvbuf),
	}
}

// FD returns the watcher's descriptor for an external poll loop (readable when the kernel sent
// something; then call NextEvent with a zero timeout until it reports none). Do not close it.
func (w *Watcher) FD() (int, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return -1, lbnet.ErrClosed
	}
	var fd int32
	if err := capi.Call("linkwatch.FD", func() int32 { fd = int32(C.lbnet_linkwatch_fd(w.h)); return fd }); err != nil {
		return -1, err
	}
	return int(fd), nil
}

// NextEvent waits up to timeout for one event; ok is false when none came in time.
func (w *Watcher) NextEvent(timeout time.Duration) (ev Event, ok bool, err error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return Event{}, false, lbnet.ErrClosed
	}
	ms := timeout.Milliseconds()
	if ms > 1<<31-1 {
		ms = 1<<31 - 1
	}
	var c C.struct_lbnet_linkwatch_event
	err = capi.Call("linkwatch.NextEvent", func() int32 {
		return int32(C.lbnet_linkwatch_next_event(w.h, C.int32_t(ms), &c))
	})
	if errors.Is(err, syscall.ETIMEDOUT) {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, err
	}
	ev = Event{Type: EventType(c.kind), Changes: Changes(c.changes), Link: goLink(&c.link)}
	if ev.Type == Changed {
		ev.Old = goLink(&c.old)
	}
	return ev, true, nil
}

// pollInterval bounds how long Events takes to notice a cancelled context.
const pollInterval = 100 * time.Millisecond

// Events delivers events on the returned channel until ctx is cancelled, the watcher is
// closed, or an error occurs (then sent on the error channel, which has room for one). Both
// channels are closed when delivery stops. Run one Events loop per watcher.
func (w *Watcher) Events(ctx context.Context) (<-chan Event, <-chan error) {
	out := make(chan Event, 64)
	errc := make(chan error, 1)
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		errc <- lbnet.ErrClosed
		close(out)
		close(errc)
		return out, errc
	}
	w.wg.Add(1)
	w.mu.RUnlock()
	go func() {
		defer w.wg.Done()
		defer close(errc)
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.stop:
				return
			default:
			}
			ev, ok, err := w.NextEvent(pollInterval)
			if errors.Is(err, lbnet.ErrClosed) {
				return
			}
			if err != nil {
				if errors.Is(err, syscall.EBADMSG) {
					continue // undecodable message: the library resynchronises on the next call
				}
				errc <- err
				return
			}
			if !ok {
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			case <-w.stop:
				return
			}
		}
	}()
	return out, errc
}
