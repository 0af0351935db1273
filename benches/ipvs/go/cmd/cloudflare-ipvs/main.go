// Command cloudflare-ipvs is the "cloudflare-ipvs" client of the IPVS peer benchmark:
// github.com/cloudflare/ipvs v0.12.0 (mdlayher/genetlink), one Client for the whole run.
package main

import (
	"github.com/cloudflare/ipvs"
	"github.com/cloudflare/ipvs/netmask"
	"github.com/lbnet/lbnet/benches/ipvs/go/internal/wl"
)

type client struct {
	c   ipvs.Client
	svc []ipvs.Service
}

func (c *client) service(i int) ipvs.Service {
	for len(c.svc) <= i {
		c.svc = append(c.svc, ipvs.Service{
			Address: wl.VIP(len(c.svc)), Port: 80, Family: ipvs.INET, Protocol: ipvs.TCP,
			Scheduler: "wrr", Netmask: netmask.MaskFrom4([4]byte{255, 255, 255, 255}),
		})
	}
	return c.svc[i]
}

func dest(j int, weight uint32) ipvs.Destination {
	return ipvs.Destination{
		Address: wl.RealServer(j), Port: 8080, Family: ipvs.INET, FwdMethod: ipvs.Masquerade,
		Weight: weight,
	}
}

func (c *client) AddService(i int) error { return c.c.CreateService(c.service(i)) }
func (c *client) AddDest(i int) error    { return c.c.CreateDestination(c.service(i), dest(0, 1)) }
func (c *client) UpdateWeight(i int) error {
	return c.c.UpdateDestination(c.service(i), dest(0, 5))
}

func (c *client) Get(i int) (int, bool, error) {
	s, err := c.c.Service(c.service(i))
	if err != nil {
		return 0, false, err
	}
	ds, err := c.c.Destinations(s.Service)
	return len(ds), s.Address == wl.VIP(i), err
}

func (c *client) List() (int, int, error) {
	svcs, err := c.c.Services()
	if err != nil {
		return 0, 0, err
	}
	d := 0
	for _, s := range svcs {
		ds, err := c.c.Destinations(s.Service)
		if err != nil {
			return 0, 0, err
		}
		d += len(ds)
	}
	return len(svcs), d, nil
}

func (c *client) Flush() error {
	return &wl.NotAvailable{Reason: "cloudflare/ipvs has no flush (IPVS_CMD_FLUSH is not exposed)"}
}

func (c *client) Batch(int) (int, int, error) {
	return 0, 0, &wl.NotAvailable{Reason: "cloudflare/ipvs has no batch API (one request per call)"}
}

func main() {
	wl.Main("cloudflare-ipvs", func() (wl.Client, error) {
		c, err := ipvs.New() // resolves the family
		if err != nil {
			return nil, err
		}
		cl := &client{c: c}
		cl.service(20000)
		return cl, nil
	})
}
