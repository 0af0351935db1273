// Command go-lbnet is the "go-lbnet" client of the IPVS peer benchmark: our Go package
// github.com/lbnet/lbnet/go/ipvs (cgo over libipvs_ffi), one Handle for the whole run.
package main

import (
	"context"
	"runtime"

	"github.com/lbnet/lbnet/benches/ipvs/go/internal/wl"
	"github.com/lbnet/lbnet/go/ipvs"
)

type client struct {
	h   *ipvs.Handle
	ctx context.Context
	svc []ipvs.Service
}

// service returns service i, from one slice of values prepared at open (as c_abi.c prepares its
// array), so that the timed loops allocate nothing of their own.
func (c *client) service(i int) *ipvs.Service {
	for len(c.svc) <= i {
		k := len(c.svc)
		c.svc = append(c.svc, ipvs.Service{Address: wl.VIP(k), Protocol: ipvs.TCP, Port: 80, Scheduler: "wrr"})
	}
	return &c.svc[i]
}

func dest(j int, weight int32) ipvs.Destination {
	return ipvs.Destination{Address: wl.RealServer(j), Port: 8080, Forward: ipvs.Masquerade, Weight: weight}
}

func (c *client) AddService(i int) error { return c.h.NewService(c.ctx, c.service(i)) }
func (c *client) AddDest(i int) error {
	d := dest(0, 1)
	return c.h.NewDestination(c.ctx, c.service(i), &d)
}

func (c *client) UpdateWeight(i int) error {
	d := dest(0, 5)
	return c.h.UpdateDestination(c.ctx, c.service(i), &d)
}

func (c *client) Get(i int) (int, bool, error) {
	s, err := c.h.GetService(c.ctx, c.service(i))
	if err != nil {
		return 0, false, err
	}
	ds, err := c.h.Destinations(c.ctx, s)
	return len(ds), s.Address == wl.VIP(i), err
}

func (c *client) List() (int, int, error) {
	all, err := c.h.ServicesWithDestinations(c.ctx)
	d := 0
	for _, e := range all {
		d += len(e.Destinations)
	}
	return len(all), d, err
}

func (c *client) Flush() error { return c.h.Flush(c.ctx) }

func (c *client) Batch(n int) (int, int, error) {
	b := ipvs.NewBatch()
	for i := 0; i < n/5; i++ {
		s := c.service(i)
		b.NewService(s)
		for j := 0; j < 4; j++ {
			d := dest(j, 1)
			b.NewDestination(s, &d)
		}
	}
	errs, err := c.h.Apply(c.ctx, b)
	failed := 0
	for _, e := range errs {
		if e != nil {
			failed++
		}
	}
	return len(errs), failed, err
}

func main() {
	wl.Main("go-lbnet", func() (wl.Client, error) {
		h, err := ipvs.Open(nil)
		if err != nil {
			return nil, err
		}
		c := &client{h: h, ctx: context.Background(), svc: make([]ipvs.Service, 0, 20001)}
		c.service(20000)
		_, err = h.Info(c.ctx) // resolves the family outside the timing
		// Collect what start-up allocated (the runtime, this table) before the timing: a
		// collection running during the timed loop keeps a P busy, so the scheduler hands the
		// P of a goroutine in a cgo call to other work and the call's return waits for one,
		// which costs the timed operations thread wake-ups that are not theirs (under the
		// lab's TCG, milliseconds). The operations themselves allocate nothing.
		runtime.GC()
		return c, err
	})
}
