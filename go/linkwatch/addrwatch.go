package linkwatch

/*
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "ipvs_ffi.h"
*/
import "C"

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	lbnet "github.com/lbnet/lbnet/go"
	"github.com/lbnet/lbnet/go/internal/capi"
)

// IFA_F_* flags of an address (linux/if_addr.h).
const (
	// AddrTentative (IFA_F_TENTATIVE): IPv6 duplicate address detection has not finished; the
	// kernel notifies the address again without it once it has.
	AddrTentative uint32 = 0x40
	// AddrDADFailed (IFA_F_DADFAILED): duplicate address detection failed (IPv6).
	AddrDADFailed uint32 = 0x08
)

// Addr is one interface address (struct lbnet_addrwatch_addr).
type Addr struct {
	// Index is the ifindex of the link the address is on.
	Index uint32
	// Prefix is the address with its prefix length, host bits kept (Prefix.Masked() is the
	// network).
	Prefix netip.Prefix
	// Scope is RT_SCOPE_* (0 universe, 253 link, 254 host).
	Scope uint8
	// Flags are the IFA_F_* flags.
	Flags uint32
}

// AddrEvent is one change of the address table: Added (a new address, or new flags of one)
// or Removed.
type AddrEvent struct {
	Type EventType
	Addr Addr
}

// AddrWatcher watches the IPv4 and IPv6 addresses of one network namespace, with the link
// watcher's loss-free design: the kernel dropping notifications (ENOBUFS) makes the library
// dump the addresses again and deliver exactly the differences. Deleting a link removes its
// addresses (one Removed each); so does taking a link down for its IPv6 addresses (unless
// the sysctl keep_addr_on_down is set); IPv4 addresses stay on a down link.
type AddrWatcher struct {
	mu     sync.RWMutex // write-locked only by Close
	h      *C.struct_lbnet_addrwatch
	stop   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

// OpenAddrs subscribes to IPv4 and IPv6 address notifications, then dumps the addresses.
// Options as for Open (NoSpeed has no effect).
func OpenAddrs(opts Options) (*AddrWatcher, error) {
	var o C.struct_lbnet_linkwatch_options
	o.sz = C.size_t(unsafe.Sizeof(o))
	if opts.NetNSPath != "" {
		o.netns_path = C.CString(opts.NetNSPath)
		defer C.free(unsafe.Pointer(o.netns_path))
	}
	o.rcvbuf = C.uint32_t(opts.RcvBuf)
	if opts.DumpTimeout < 0 {
		return nil, lbnet.Errorf("linkwatch.OpenAddrs", syscall.EINVAL, "negative DumpTimeout %v", opts.DumpTimeout)
	}
	ms := (opts.DumpTimeout + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<32-1 {
		return nil, lbnet.Errorf("linkwatch.OpenAddrs", syscall.EINVAL, "DumpTimeout %v is too long", opts.DumpTimeout)
	}
	o.dump_timeout_ms = C.uint32_t(ms)
	var h *C.struct_lbnet_addrwatch
	if err := capi.Call("linkwatch.OpenAddrs", func() int32 { return int32(C.lbnet_addrwatch_open(&o, &h)) }); err != nil {
		return nil, err
	}
	return &AddrWatcher{h: h, stop: make(chan struct{})}, nil
}

// Close stops running Events goroutines and releases the watcher. Safe to call twice.
func (w *AddrWatcher) Close() error {
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
	C.lbnet_addrwatch_free(w.h)
	w.h = nil
	w.mu.Unlock()
	return nil
}

func goAddr(c *C.struct_lbnet_addrwatch_addr) Addr {
	a := capi.Addr(unsafe.Pointer(&c.addr))
	return Addr{Index: uint32(c.ifindex), Prefix: netip.PrefixFrom(a, int(c.prefix_len)),
		Scope: uint8(c.scope), Flags: uint32(c.flags)}
}

// Snapshot returns every address known now, sorted by ifindex then address: the state after
// every event delivered so far and those still queued.
func (w *AddrWatcher) Snapshot() ([]Addr, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return nil, lbnet.ErrClosed
	}
	var arr *C.struct_lbnet_addrwatch_addr
	var n C.size_t
	if err := capi.Call("linkwatch.AddrSnapshot", func() int32 {
		return int32(C.lbnet_addrwatch_snapshot(w.h, &arr, &n))
	}); err != nil {
		return nil, err
	}
	defer C.lbnet_addrwatch_addrs_free(arr, n)
	out := make([]Addr, int(n))
	if n > 0 {
		cs := unsafe.Slice(arr, int(n))
		for i := range cs {
			out[i] = goAddr(&cs[i])
		}
	}
	return out, nil
}

// Stats returns the watcher's counters (Messages counts address messages).
func (w *AddrWatcher) Stats() (Stats, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return Stats{}, lbnet.ErrClosed
	}
	var s C.struct_lbnet_linkwatch_counters
	if err := capi.Call("linkwatch.AddrStats", func() int32 { return int32(C.lbnet_addrwatch_stats(w.h, &s)) }); err != nil {
		return Stats{}, err
	}
	return statsFromC(&s), nil
}

// NextEvent waits up to timeout for one event; ok is false when none came in time.
func (w *AddrWatcher) NextEvent(timeout time.Duration) (ev AddrEvent, ok bool, err error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return AddrEvent{}, false, lbnet.ErrClosed
	}
	ms := timeout.Milliseconds()
	if ms > 1<<31-1 {
		ms = 1<<31 - 1
	}
	var c C.struct_lbnet_addrwatch_event
	err = capi.Call("linkwatch.AddrNextEvent", func() int32 {
		return int32(C.lbnet_addrwatch_next_event(w.h, C.int32_t(ms), &c))
	})
	if errors.Is(err, syscall.ETIMEDOUT) {
		return AddrEvent{}, false, nil
	}
	if err != nil {
		return AddrEvent{}, false, err
	}
	return AddrEvent{Type: EventType(c.kind), Addr: goAddr(&c.addr)}, true, nil
}

// Events delivers events on the returned channel until ctx is cancelled, the watcher is
// closed, or an error occurs (then sent on the error channel, which has room for one). Both
// channels are closed when delivery stops. Run one Events loop per watcher.
func (w *AddrWatcher) Events(ctx context.Context) (<-chan AddrEvent, <-chan error) {
	out := make(chan AddrEvent, 64)
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
					continue
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
