// Package gobgpexport connects a GoBGP server (github.com/osrg/gobgp/v4) to lbnet's route export
// engine: every best-path change of IPv4 and IPv6 unicast prefixes goes to
// routeexport.Exporter.Update or Withdraw, and End-of-RIB from every configured peer for each
// unicast family it has enabled (or a timeout) ends the restart grace period, so routes kept
// from before a restart are swept only once BGP has re-learnt the table. GoBGP sends End-of-RIB
// only on sessions with graceful restart negotiated; without it the timeout
// (eor-timeout-seconds, default 300) ends the grace period.
//
// Configuration is the [netlink.export] section of a gobgpd TOML file; see ParseTOML.
package gobgpexport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/lbnet/lbnet/go/routeexport"
	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	toml "github.com/pelletier/go-toml/v2"
)

// RuleConfig is one [[netlink.export.rules]] entry; the keys are those of the GoBGP netlink
// export design (community-list, large-community-list, vrf, table-id, metric,
// validate-nexthop).
type RuleConfig struct {
	Name             string   `toml:"name"`
	Communities      []string `toml:"community-list"`
	LargeCommunities []string `toml:"large-community-list"`
	VRF              string   `toml:"vrf"`
	Table            uint32   `toml:"table-id"`
	// Metric defaults to 20; ValidateNexthop to true.
	Metric          *uint32 `toml:"metric"`
	ValidateNexthop *bool   `toml:"validate-nexthop"`
}

// Config is the [netlink.export] section.
type Config struct {
	Enabled bool `toml:"enabled"`
	// Netns is a network namespace file; empty is gobgpd's own namespace.
	Netns string `toml:"netns"`
	// Protocol defaults to 186. FRR's zebra sweeps protocol 186 at start-up: choose another
	// number where zebra runs.
	Protocol *uint8 `toml:"route-protocol"`
	// DampeningMs is dampening-interval in milliseconds (default 100, 0 turns dampening off);
	// DampeningCapMs (dampening-cap, milliseconds, default 1000) is the longest a flapping
	// prefix waits.
	DampeningMs      *int `toml:"dampening-interval"`
	DampeningCapMs   *int `toml:"dampening-cap"`
	DeleteAllAtStart bool `toml:"delete-all-at-start"`
	// EorTimeoutSeconds: End-of-RIB is assumed this long after start if some peer never sends
	// one (default 300).
	EorTimeoutSeconds *int         `toml:"eor-timeout-seconds"`
	Rules             []RuleConfig `toml:"rules"`
}

// ParseTOML reads the [netlink.export] section of a gobgpd TOML configuration; the other
// sections are left to GoBGP. A key the section does not define is an error (a misspelt
// table-id would otherwise export into the main table).
func ParseTOML(data []byte) (Config, error) {
	var all map[string]any
	if err := toml.Unmarshal(data, &all); err != nil {
		return Config{}, fmt.Errorf("[netlink.export]: %w", err)
	}
	netlink, _ := all["netlink"].(map[string]any)
	section, ok := netlink["export"]
	if !ok {
		return Config{}, nil
	}
	raw, err := toml.Marshal(section)
	if err != nil {
		return Config{}, fmt.Errorf("[netlink.export]: %w", err)
	}
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			return Config{}, fmt.Errorf("[netlink.export]: unknown key: %s", strict.String())
		}
		return Config{}, fmt.Errorf("[netlink.export]: %w", err)
	}
	return c, nil
}

// WithoutExportSection returns the configuration without its [netlink] table, for GoBGP's own
// reader (config.ReadConfigFile), which rejects keys it does not know.
func WithoutExportSection(data []byte) ([]byte, error) {
	var all map[string]any
	if err := toml.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	delete(all, "netlink")
	return toml.Marshal(all)
}

// ExporterConfig turns the section into the engine's configuration and rules. Community values
// out of range are errors.
func (c Config) ExporterConfig() (routeexport.Config, []routeexport.Rule, error) {
	cfg := routeexport.DefaultConfig()
	cfg.NetnsPath = c.Netns
	if c.Protocol != nil {
		cfg.Protocol = *c.Protocol
	}
	if c.DampeningMs != nil {
		if *c.DampeningMs < 0 {
			return cfg, nil, fmt.Errorf("dampening-interval %d is negative", *c.DampeningMs)
		}
		cfg.Dampening = time.Duration(*c.DampeningMs) * time.Millisecond
	}
	if c.DampeningCapMs != nil {
		if *c.DampeningCapMs < 0 {
			return cfg, nil, fmt.Errorf("dampening-cap %d is negative", *c.DampeningCapMs)
		}
		cfg.DampeningCap = time.Duration(*c.DampeningCapMs) * time.Millisecond
	}
	cfg.DeleteAllAtStart = c.DeleteAllAtStart
	rules := make([]routeexport.Rule, 0, len(c.Rules))
	for _, rc := range c.Rules {
		r := routeexport.NewRule(rc.Name, rc.Table)
		r.VRF = rc.VRF
		if rc.Metric != nil {
			r.Metric = *rc.Metric
		}
		if rc.ValidateNexthop != nil {
			r.ValidateNexthop = *rc.ValidateNexthop
		}
		for _, s := range rc.Communities {
			v, err := routeexport.ParseCommunity(s)
			if err != nil {
				return cfg, nil, fmt.Errorf("rule %q: %w", rc.Name, err)
			}
			r.Communities = append(r.Communities, v)
		}
		for _, s := range rc.LargeCommunities {
			v, err := routeexport.ParseLargeCommunity(s)
			if err != nil {
				return cfg, nil, fmt.Errorf("rule %q: %w", rc.Name, err)
			}
			r.LargeCommunities = append(r.LargeCommunities, v)
		}
		rules = append(rules, r)
	}
	return cfg, rules, nil
}

// Adapter feeds a GoBGP server's best paths to an export engine.
type Adapter struct {
	exporter *routeexport.Exporter
	cancel   context.CancelFunc
	bgp      *server.BgpServer

	mu        sync.Mutex
	eorPeers  map[netip.Addr]map[bgp.Family]bool
	eorDone   bool
	lastError error
	timer     *time.Timer
}

// Start creates the export engine from cfg and watches s for best paths (the current table
// first) and End-of-RIB markers.
func Start(ctx context.Context, s *server.BgpServer, cfg Config) (*Adapter, error) {
	ecfg, rules, err := cfg.ExporterConfig()
	if err != nil {
		return nil, err
	}
	ex, err := routeexport.New(ecfg, rules)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &Adapter{exporter: ex, cancel: cancel, bgp: s, eorPeers: map[netip.Addr]map[bgp.Family]bool{}}
	timeout := 300
	if cfg.EorTimeoutSeconds != nil {
		timeout = *cfg.EorTimeoutSeconds
	}
	a.timer = time.AfterFunc(time.Duration(timeout)*time.Second, a.endOfRIB)
	err = s.WatchEvent(ctx, server.WatchEventMessageCallbacks{
		OnBestPath: a.onBestPath,
		OnPathEor:  a.onEor,
	}, server.WatchBestPath(true), server.WatchEor(true))
	if err != nil {
		cancel()
		a.timer.Stop()
		ex.Close()
		return nil, err
	}
	return a, nil
}

// Exporter is the engine, for statistics, listings, Reload and Flush.
func (a *Adapter) Exporter() *routeexport.Exporter { return a.exporter }

// LastError is the last error met while applying an event (also in the engine's statistics).
func (a *Adapter) LastError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastError
}

// EndOfRIBDone reports whether the restart grace period is over.
func (a *Adapter) EndOfRIBDone() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.eorDone
}

// Close stops watching and stops the engine; exported routes stay in the kernel (a restarted
// daemon keeps them until its End-of-RIB). Call Exporter().Flush() first to remove them.
func (a *Adapter) Close() {
	a.cancel()
	a.timer.Stop()
	a.exporter.Close()
}

func (a *Adapter) fail(err error) {
	a.mu.Lock()
	a.lastError = err
	a.mu.Unlock()
}

// pathInfo extracts what the engine needs from a unicast path.
func pathInfo(p *apiutil.Path) (prefix netip.Prefix, nexthop netip.Addr, comms []uint32, large []routeexport.LargeCommunity, ok bool) {
	if p.Family != bgp.RF_IPv4_UC && p.Family != bgp.RF_IPv6_UC {
		return
	}
	n, isPrefix := p.Nlri.(*bgp.IPAddrPrefix)
	if !isPrefix {
		return
	}
	prefix = n.Prefix
	for _, attr := range p.Attrs {
		switch v := attr.(type) {
		case *bgp.PathAttributeNextHop:
			nexthop = v.Value
		case *bgp.PathAttributeMpReachNLRI:
			nexthop = v.Nexthop
		case *bgp.PathAttributeCommunities:
			comms = append(comms, v.Value...)
		case *bgp.PathAttributeLargeCommunities:
			for _, l := range v.Values {
				large = append(large, routeexport.LargeCommunity{Global: l.ASN, Local1: l.LocalData1, Local2: l.LocalData2})
			}
		}
	}
	return prefix, nexthop, comms, large, prefix.IsValid()
}

func (a *Adapter) onBestPath(paths []*apiutil.Path, _ time.Time) {
	changes := make([]routeexport.Change, 0, len(paths))
	for _, p := range paths {
		prefix, nh, comms, large, ok := pathInfo(p)
		if !ok {
			continue
		}
		c := routeexport.Change{Prefix: prefix}
		if !p.Withdrawal && nh.IsValid() {
			c.Nexthop, c.Communities, c.LargeCommunities = nh, comms, large
		}
		changes = append(changes, c)
	}
	// One pipelined kernel batch for the whole event.
	if err := a.exporter.Apply(changes); err != nil {
		a.fail(err)
	}
}

func (a *Adapter) onEor(p *apiutil.Path, _ time.Time) {
	a.mu.Lock()
	if p.PeerAddress.IsValid() {
		if a.eorPeers[p.PeerAddress] == nil {
			a.eorPeers[p.PeerAddress] = map[bgp.Family]bool{}
		}
		a.eorPeers[p.PeerAddress][p.Family] = true
	}
	a.mu.Unlock()
	// End-of-RIB once every configured peer has sent one for each unicast family it has
	// enabled (any family if it lists none).
	all := true
	_ = a.bgp.ListPeer(context.Background(), &api.ListPeerRequest{}, func(peer *api.Peer) {
		if peer.Conf == nil {
			return
		}
		addr, err := netip.ParseAddr(peer.Conf.NeighborAddress)
		a.mu.Lock()
		defer a.mu.Unlock()
		seen := a.eorPeers[addr]
		if err != nil || len(seen) == 0 {
			all = false
			return
		}
		for _, af := range peer.AfiSafis {
			if af.Config == nil || !af.Config.Enabled || af.Config.Family == nil {
				continue
			}
			f := af.Config.Family
			if f.Safi != api.Family_SAFI_UNICAST {
				continue
			}
			if (f.Afi == api.Family_AFI_IP && !seen[bgp.RF_IPv4_UC]) || (f.Afi == api.Family_AFI_IP6 && !seen[bgp.RF_IPv6_UC]) {
				all = false
			}
		}
	})
	if all {
		a.endOfRIB()
	}
}

func (a *Adapter) endOfRIB() {
	a.mu.Lock()
	if a.eorDone {
		a.mu.Unlock()
		return
	}
	a.eorDone = true
	a.mu.Unlock()
	if _, err := a.exporter.EndOfRIB(); err != nil {
		a.fail(fmt.Errorf("end of RIB: %w", err))
	}
}
