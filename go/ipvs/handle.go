package ipvs

import (
	"context"
	"sync"
	"time"

	lbnet "github.com/lbnet/lbnet/go"
)

// Options configure a Handle. The zero value (or a nil *Options) gives a handle in the calling
// process's network namespace with the library's default buffer and timeout.
type Options struct {
	// NetNSPath names a network namespace to operate in, such as "/var/run/netns/blue" or
	// "/proc/1234/ns/net". The handle's socket is created there (the calling thread does not
	// move); IPVS state is per namespace.
	NetNSPath string
	// NetNSFd is an open network-namespace file descriptor to operate in, used when NetNSPath
	// is empty and NetNSFd > 0. The descriptor is only read during Open.
	NetNSFd int
	// RecvBufferSize is the netlink receive buffer in bytes (0: the library's default, large
	// enough for big dumps; set with SO_RCVBUFFORCE, which needs CAP_NET_ADMIN).
	RecvBufferSize int
	// Timeout bounds each kernel round trip (0: the library's default).
	Timeout time.Duration
}

// Handle is an open IPVS control connection: one netlink socket in one network namespace.
// It is safe for concurrent use by many goroutines (the library serialises requests on the
// socket; the kernel serialises IPVS writes under one mutex anyway). Close releases it.
//
// Calls that talk to the kernel take a context. The context is checked before the call and,
// if it can be cancelled, the call returns ctx.Err() as soon as the context is done; a request
// already handed to the kernel may still take effect (netlink has no cancellation).
type Handle struct {
	mu sync.RWMutex
	c  *chandle // nil after Close
}

// Open opens a handle. With opts == nil it uses the current network namespace. Opening does
// not talk to IPVS yet: on a kernel without IPVS the first call fails with an error of kind
// lbnet.NotAvailable.
func Open(opts *Options) (*Handle, error) {
	if opts == nil {
		opts = &Options{}
	}
	c, err := cOpen(opts)
	if err != nil {
		return nil, err
	}
	return &Handle{c: c}, nil
}

// Close releases the handle. It waits for calls in progress; later calls return lbnet.ErrClosed.
// Closing twice is a no-op.
func (h *Handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c != nil {
		h.c.free()
		h.c = nil
	}
	return nil
}

// do runs f with the C handle under the read lock, honouring ctx.
func (h *Handle) do(ctx context.Context, f func(c *chandle) error) error {
	_, err := call(h, ctx, func(c *chandle) (struct{}, error) { return struct{}{}, f(c) })
	return err
}

// call runs f with the C handle under the read lock and returns its result. When ctx ends
// first, call returns ctx.Err() at once; the C call cannot be interrupted, so it finishes in
// the background and its result, which only that goroutine ever touches, is dropped. A context
// that cannot be cancelled (no Done channel, as context.Background()) costs no goroutine.
func call[T any](h *Handle, ctx context.Context, f func(c *chandle) (T, error)) (T, error) {
	var zero T
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if ctx.Done() == nil {
		return locked(h, f)
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := locked(h, f)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// locked runs f with the C handle under the read lock.
func locked[T any](h *Handle, f func(c *chandle) (T, error)) (T, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.c == nil {
		var zero T
		return zero, lbnet.ErrClosed
	}
	return f(h.c)
}

// change makes one change of the kinds a Batch holds (NewService ... DeleteDestination, Zero,
// ZeroAll). The change travels as data, not in a closure, and a closure (and a goroutine) is
// made only for a context that can be cancelled: with context.Background(), the usual case, a
// change allocates nothing on the Go side (the C structs stay on the stack).
func (h *Handle) change(ctx context.Context, o op, s *Service, d *Destination) error {
	if ctx != nil && ctx.Done() != nil {
		// The goroutine may outlive this call: it gets copies, so s and d do not escape
		// (a caller's &Service{...} can stay on its stack).
		sc, dc := copyOf(s), copyOf(d)
		return h.do(ctx, func(c *chandle) error { return c.change(o, sc, dc) })
	}
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.c == nil {
		return lbnet.ErrClosed
	}
	return h.c.change(o, s, d)
}

// read checks ctx (which may be nil) and takes the read lock, which the caller releases when
// read returns nil; ErrClosed (not holding the lock) after Close.
func (h *Handle) read(ctx context.Context) error {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	h.mu.RLock()
	if h.c == nil {
		h.mu.RUnlock()
		return lbnet.ErrClosed
	}
	return nil
}

// copyOf returns a pointer to a copy of *p, or nil for a nil p.
func copyOf[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Info returns the kernel's IPVS version and connection table size.
func (h *Handle) Info(ctx context.Context) (Info, error) {
	return call(h, ctx, func(c *chandle) (Info, error) { return c.info() })
}

// Flush deletes every service and destination (IPVS_CMD_FLUSH).
func (h *Handle) Flush(ctx context.Context) error {
	return h.do(ctx, func(c *chandle) error { return c.flush() })
}

// NewService adds a service. EEXIST if it exists; ENOENT if the scheduler or persistence
// engine is unknown to the kernel.
func (h *Handle) NewService(ctx context.Context, s *Service) error {
	return h.change(ctx, opNewService, s, nil)
}

// UpdateService changes a service's scheduler, flags, timeout, netmask or persistence engine.
// ESRCH if the service does not exist.
func (h *Handle) UpdateService(ctx context.Context, s *Service) error {
	return h.change(ctx, opUpdateService, s, nil)
}

// DeleteService deletes a service and its destinations. ESRCH if it does not exist.
func (h *Handle) DeleteService(ctx context.Context, s *Service) error {
	return h.change(ctx, opDeleteService, s, nil)
}

// GetService reads the service that key identifies (its family, protocol, address and port, or
// its firewall mark). ESRCH if it does not exist.
func (h *Handle) GetService(ctx context.Context, key *Service) (*Service, error) {
	if ctx == nil || ctx.Done() == nil {
		// No closure (which would make key escape) for a context that cannot be cancelled.
		if err := h.read(ctx); err != nil {
			return nil, err
		}
		defer h.mu.RUnlock()
		return h.c.getService(key)
	}
	k := copyOf(key) // the goroutine of call may outlive this call
	return call(h, ctx, func(c *chandle) (*Service, error) { return c.getService(k) })
}

// Services lists every service (one IPVS_CMD_GET_SERVICE dump).
func (h *Handle) Services(ctx context.Context) ([]*Service, error) {
	return call(h, ctx, func(c *chandle) ([]*Service, error) { return c.services() })
}

// ServicesWithDestinations lists every service with its destinations: one service dump and one
// destination dump per service, which is what the protocol allows (GET_DEST needs the service).
func (h *Handle) ServicesWithDestinations(ctx context.Context) ([]*ServiceDestinations, error) {
	return call(h, ctx, func(c *chandle) ([]*ServiceDestinations, error) { return c.servicesWithDestinations() })
}

// NewDestination adds a destination to a service. EEXIST if it exists, ESRCH if the service
// does not, ERANGE for a lower threshold above the upper one.
func (h *Handle) NewDestination(ctx context.Context, s *Service, d *Destination) error {
	return h.change(ctx, opNewDestination, s, d)
}

// UpdateDestination changes a destination's weight, forwarding method or thresholds. ENOENT if
// the destination does not exist.
func (h *Handle) UpdateDestination(ctx context.Context, s *Service, d *Destination) error {
	return h.change(ctx, opUpdateDestination, s, d)
}

// DeleteDestination removes a destination. ENOENT if it does not exist.
func (h *Handle) DeleteDestination(ctx context.Context, s *Service, d *Destination) error {
	return h.change(ctx, opDeleteDestination, s, d)
}

// Destinations lists a service's destinations. ESRCH if the service does not exist (the
// kernel answers a destination dump of a missing service with an empty list; the library
// checks that the service exists, so an empty list means a service without destinations).
func (h *Handle) Destinations(ctx context.Context, s *Service) ([]*Destination, error) {
	if ctx == nil || ctx.Done() == nil {
		// As GetService: no closure for a context that cannot be cancelled.
		if err := h.read(ctx); err != nil {
			return nil, err
		}
		defer h.mu.RUnlock()
		return h.c.destinations(s)
	}
	sc := copyOf(s)
	return call(h, ctx, func(c *chandle) ([]*Destination, error) { return c.destinations(sc) })
}

// Zero resets the statistics of one service and its destinations (IPVS_CMD_ZERO); a nil
// service is refused (EINVAL): ZeroAll resets every counter.
func (h *Handle) Zero(ctx context.Context, s *Service) error {
	return h.change(ctx, opZero, s, nil)
}

// ZeroAll resets the statistics of every service and destination.
func (h *Handle) ZeroAll(ctx context.Context) error {
	return h.change(ctx, opZeroAll, nil, nil)
}

// Timeouts returns the TCP, TCP-FIN and UDP connection timeouts.
func (h *Handle) Timeouts(ctx context.Context) (Timeouts, error) {
	return call(h, ctx, func(c *chandle) (Timeouts, error) { return c.timeouts() })
}

// SetTimeouts sets the connection timeouts (whole seconds; zero fields are left unchanged).
func (h *Handle) SetTimeouts(ctx context.Context, t Timeouts) error {
	return h.do(ctx, func(c *chandle) error { return c.setTimeouts(t) })
}

// StartDaemon starts a connection-sync daemon. EEXIST if one in that state already runs.
func (h *Handle) StartDaemon(ctx context.Context, d *Daemon) error {
	return h.do(ctx, func(c *chandle) error { return c.startDaemon(d) })
}

// StopDaemon stops the master or backup sync daemon. ESRCH if none runs in that state.
func (h *Handle) StopDaemon(ctx context.Context, state DaemonState) error {
	return h.do(ctx, func(c *chandle) error { return c.stopDaemon(state) })
}

// Daemons lists the running sync daemons.
func (h *Handle) Daemons(ctx context.Context) ([]Daemon, error) {
	return call(h, ctx, func(c *chandle) ([]Daemon, error) { return c.daemons() })
}

// Apply sends every change of b (at most MaxBatchLen) to the kernel, pipelined (many requests per sendmsg), and
// returns one error per change, in order (nil for a change that succeeded). The changes are
// not atomic: each succeeds or fails on its own, as the kernel applies them; when the batch
// could not be sent at all (no IPVS in the kernel, a socket error), every change's error is
// that error. The second result is non-nil for a nil batch, a closed handle, a change refused
// before anything was sent ("batch change N: ...", EINVAL), or ctx ending (if it ends while the
// batch is in flight, the batch still completes in the background).
//
// The cost in calls into the C library does not grow with the batch: the changes cross in one
// array, the results come back in one array, and only a failed change costs one more call, for
// its message.
func (h *Handle) Apply(ctx context.Context, b *Batch) ([]error, error) {
	return call(h, ctx, func(c *chandle) ([]error, error) { return c.apply(b) })
}
