// Command moby-ipvs is the "moby-ipvs" client of the IPVS peer benchmark:
// github.com/moby/ipvs v1.1.0 (Docker's), one Handle for the whole run.
package main

import (
	"net"
	"syscall"

	"github.com/lbnet/lbnet/benches/ipvs/go/internal/wl"
	"github.com/moby/ipvs"
)

type client struct {
	h   *ipvs.Handle
	svc []*ipvs.Service
}

func (c *client) service(i int) *ipvs.Service {
	for len(c.svc) <= i {
		k := len(c.svc)
		a := wl.VIP(k).As4()
		c.svc = append(c.svc, &ipvs.Service{
			AddressFamily: syscall.AF_INET, Protocol: syscall.IPPROTO_TCP, Address: net.IP(a[:]),
			Port: 80, SchedName: "wrr", Netmask: 0xffffffff,
		})
	}
	return c.svc[i]
}

func dest(j, weight int) *ipvs.Destination {
	a := wl.RealServer(j).As4()
	return &ipvs.Destination{
		Address: net.IP(a[:]), Port: 8080, Weight: weight,
		ConnectionFlags: ipvs.ConnectionFlagMasq, AddressFamily: syscall.AF_INET,
	}
}

func (c *client) AddService(i int) error   { return c.h.NewService(c.service(i)) }
func (c *client) AddDest(i int) error      { return c.h.NewDestination(c.service(i), dest(0, 1)) }
func (c *client) UpdateWeight(i int) error { return c.h.UpdateDestination(c.service(i), dest(0, 5)) }

func (c *client) Get(i int) (int, bool, error) {
	s, err := c.h.GetService(c.service(i))
	if err != nil {
		return 0, false, err
	}
	ds, err := c.h.GetDestinations(s)
	want := wl.VIP(i).As4()
	return len(ds), s.Address.Equal(net.IP(want[:])), err
}

func (c *client) List() (int, int, error) {
	svcs, err := c.h.GetServices()
	if err != nil {
		return 0, 0, err
	}
	d := 0
	for _, s := range svcs {
		ds, err := c.h.GetDestinations(s)
		if err != nil {
			return 0, 0, err
		}
		d += len(ds)
	}
	return len(svcs), d, nil
}

func (c *client) Flush() error { return c.h.Flush() }

func (c *client) Batch(int) (int, int, error) {
	return 0, 0, &wl.NotAvailable{Reason: "moby/ipvs has no batch API (one request per call; see add_service/add_dest)"}
}

func main() {
	wl.Main("moby-ipvs", func() (wl.Client, error) {
		h, err := ipvs.New("")
		if err != nil {
			return nil, err
		}
		c := &client{h: h}
		c.service(20000)
		_, err = h.GetConfig() // resolves the family outside the timing
		return c, err
	})
}
