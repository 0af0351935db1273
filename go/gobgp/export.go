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
	"slices"
	"strings"
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
// validate-nexthop), with the PureLB fork's meaning: vrf and table-id both given: the routes go
// into table-id and their next hops are validated in the VRF; vrf alone: the VRF's own table;
// table-id alone: that table; neither: the main table (254).
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
	// number where zebra runs. The kernel's reserved values 0-4 (and 255, and anything above
	// it) are refused, naming the key: the engine deletes routes of its protocol it does not
	// own, which with 3 (RTPROT_BOOT) would be an administrator's `ip route add` routes.
	Protocol *int64 `toml:"route-protocol"`
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

// MainTable is the kernel's main routing table (RT_TABLE_MAIN), where a rule naming neither
// vrf nor table-id exports.
const MainTable = 254

var reservedProtocols = map[int64]string{
	0: "RTPROT_UNSPEC",
	1: "RTPROT_REDIRECT, routes from ICMP redirects",
	2: "RTPROT_KERNEL, the kernel's own routes",
	3: "RTPROT_BOOT, what `ip route add` uses",
	4: "RTPROT_STATIC, administrators' routes",
}

// ReloadCheck says whether a running engine configured by old can take new by reloading its
// rules: route-protocol, dampening-interval, dampening-cap and netns are fixed for the life
// of the engine (changing the protocol would orphan every exported route), so a change of any
// of them is an error naming the key; the caller keeps running on the old configuration.
func ReloadCheck(old, new Config) error {
	oc, _, err := old.ExporterConfig()
	if err != nil {
		return err
	}
	nc, _, err := new.ExporterConfig()
	if err != nil {
		return err
	}
	var changed []string
	if oc.Protocol != nc.Protocol {
		changed = append(changed, fmt.Sprintf("route-protocol %d -> %d", oc.Protocol, nc.Protocol))
	}
	if oc.Dampening != nc.Dampening {
		changed = append(changed, fmt.Sprintf("dampening-interval %v -> %v", oc.Dampening, nc.Dampening))
	}
	if oc.DampeningCap != nc.DampeningCap {
		changed = append(changed, fmt.Sprintf("dampening-cap %v -> %v", oc.DampeningCap, nc.DampeningCap))
	}
	if oc.NetnsPath != nc.NetnsPath {
		changed = append(changed, fmt.Sprintf("netns %q -> %q", oc.NetnsPath, nc.NetnsPath))
	}
	if len(changed) > 0 {
		return fmt.Errorf("%s cannot change while running (restart the daemon to apply)", strings.Join(changed, ", "))
	}
	return nil
}

// ExporterConfig turns the section into the engine's configuration and rules. Community values
// out of range are errors.
func (c Config) ExporterConfig() (routeexport.Config, []routeexport.Rule, error) {
	cfg := routeexport.DefaultConfig()
	cfg.NetnsPath = c.Netns
	if c.Protocol != nil {
		p := *c.Protocol
		switch {
		case p >= 0 && p <= 4:
			return cfg, nil, fmt.Errorf("route-protocol = %d is reserved by the kernel (%s): the exporter "+
				"deletes routes of its protocol that no BGP path claims, so it would delete other programs' "+
				"routes; use 186 (RTPROT_BGP, the default) or another unused number", p, reservedProtocols[p])
		case p < 0 || p >= 255:
			return cfg, nil, fmt.Errorf("route-protocol = %d is out of range (5-254)", p)
		}
		cfg.Protocol = uint8(p)
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
		table := rc.Table
		if rc.VRF == "" && table == 0 {
			table = MainTable
		}
		r := routeexport.NewRule(rc.Name, table)
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
//
// With GoBGP's use-multiple-paths, GoBGP reports each path of a prefix's multipath set
// separately (added, withdrawn); the adapter keeps each prefix's set and the engine installs a
// multipath route over exactly the set's next hops, so withdrawing one path changes the route
// and the route goes only with the last path. Without it, each report is the prefix's one best
// path.
type Adapter struct {
	exporter *routeexport.Exporter
	cancel   context.CancelFunc
	bgp      *server.BgpServer

	// multipath: GoBGP runs with use-multiple-paths. ribMu guards rib, each prefix's set of
	// best paths by source, and ifaces, the interfaces of unnumbered peers.
	multipath bool
	ribMu     sync.Mutex
	rib       map[netip.Prefix]map[pathKey]pathEntry
	ifaces    map[netip.Addr]string

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
	a := &Adapter{exporter: ex, cancel: cancel, bgp: s, eorPeers: map[netip.Addr]map[bgp.Family]bool{},
		rib: map[netip.Prefix]map[pathKey]pathEntry{}, ifaces: map[netip.Addr]string{}}
	if g, err := s.GetBgp(ctx, &api.GetBgpRequest{}); err == nil && g.Global != nil {
		a.multipath = g.Global.UseMultiplePaths
	}
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

// pathKey identifies one path of a prefix: the peer it came from (the zero address for a
// path of our own) and its ADD-PATH identifier.
type pathKey struct {
	peer netip.Addr
	id   uint32
}

func (k pathKey) less(o pathKey) bool {
	if c := k.peer.Compare(o.peer); c != 0 {
		return c < 0
	}
	return k.id < o.id
}

// pathEntry is what the engine needs of one path.
type pathEntry struct {
	nexthop netip.Addr
	comms   []uint32
	large   []routeexport.LargeCommunity
	device  string
}

// usable reports whether a path can be exported: not a withdrawal, not marked by GoBGP as
// having an invalid next hop (IsNexthopInvalid), and a specified next hop (the PureLB fork
// refuses 0.0.0.0 and ::).
func usable(p *apiutil.Path, nh netip.Addr) bool {
	return !p.Withdrawal && !p.IsNexthopInvalid && nh.IsValid() && !nh.IsUnspecified()
}

// deviceOf is the interface a link-local next hop learnt from p goes out of: the zone of the
// peer's address, or the neighbor-interface of an unnumbered peer ("" if unknown: the engine
// then refuses the path, as the kernel would).
func (a *Adapter) deviceOf(p *apiutil.Path, nh netip.Addr) string {
	if !nh.Is6() || !nh.IsLinkLocalUnicast() {
		return ""
	}
	if z := nh.Zone(); z != "" {
		return z
	}
	if z := p.PeerAddress.Zone(); z != "" {
		return z
	}
	a.ribMu.Lock()
	dev, ok := a.ifaces[p.PeerAddress.WithZone("")]
	a.ribMu.Unlock()
	if ok {
		return dev
	}
	found := map[netip.Addr]string{}
	_ = a.bgp.ListPeer(context.Background(), &api.ListPeerRequest{}, func(peer *api.Peer) {
		if peer.Conf == nil || peer.Conf.NeighborInterface == "" {
			return
		}
		for _, s := range []string{peer.Conf.NeighborAddress, peerState(peer)} {
			if addr, err := netip.ParseAddr(s); err == nil {
				found[addr.WithZone("")] = peer.Conf.NeighborInterface
			}
		}
	})
	a.ribMu.Lock()
	defer a.ribMu.Unlock()
	for k, v := range found {
		a.ifaces[k] = v
	}
	return a.ifaces[p.PeerAddress.WithZone("")]
}

func peerState(p *api.Peer) string {
	if p.State == nil {
		return ""
	}
	return p.State.NeighborAddress
}

// change is the engine's view of a prefix's path set: the next hops of every path (the first
// by source order is the main one), the union of their communities, the device of the first
// link-local next hop.
func change(prefix netip.Prefix, set map[pathKey]pathEntry) routeexport.Change {
	c := routeexport.Change{Prefix: prefix}
	keys := make([]pathKey, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y pathKey) int {
		if x.less(y) {
			return -1
		}
		if y.less(x) {
			return 1
		}
		return 0
	})
	for _, k := range keys {
		e := set[k]
		if !c.Nexthop.IsValid() {
			c.Nexthop = e.nexthop
		} else if e.nexthop != c.Nexthop && !slices.Contains(c.MoreNexthops, e.nexthop) {
			c.MoreNexthops = append(c.MoreNexthops, e.nexthop)
		}
		for _, v := range e.comms {
			if !slices.Contains(c.Communities, v) {
				c.Communities = append(c.Communities, v)
			}
		}
		for _, v := range e.large {
			if !slices.Contains(c.LargeCommunities, v) {
				c.LargeCommunities = append(c.LargeCommunities, v)
			}
		}
		if c.Device == "" {
			c.Device = e.device
		}
	}
	return c
}

func (a *Adapter) onBestPath(paths []*apiutil.Path, _ time.Time) {
	changes := make([]routeexport.Change, 0, len(paths))
	if a.multipath {
		changes = a.multipathChanges(paths, changes)
	} else {
		for _, p := range paths {
			prefix, nh, comms, large, ok := pathInfo(p)
			if !ok {
				continue
			}
			c := routeexport.Change{Prefix: prefix}
			if usable(p, nh) {
				c.Nexthop, c.Communities, c.LargeCommunities = nh, comms, large
				c.Device = a.deviceOf(p, nh)
			}
			changes = append(changes, c)
		}
	}
	// One pipelined kernel batch for the whole event.
	if err := a.exporter.Apply(changes); err != nil {
		a.fail(err)
	}
}

// multipathChanges applies per-path additions and withdrawals to each prefix's set and returns
// one change per touched prefix: its whole set, or a withdrawal once the set is empty.
func (a *Adapter) multipathChanges(paths []*apiutil.Path, changes []routeexport.Change) []routeexport.Change {
	type info struct {
		prefix netip.Prefix
		key    pathKey
		entry  *pathEntry
	}
	infos := make([]info, 0, len(paths))
	for _, p := range paths {
		prefix, nh, comms, large, ok := pathInfo(p)
		if !ok {
			continue
		}
		in := info{prefix: prefix, key: pathKey{peer: p.PeerAddress, id: p.RemoteID}}
		if usable(p, nh) {
			in.entry = &pathEntry{nexthop: nh, comms: comms, large: large, device: a.deviceOf(p, nh)}
		}
		infos = append(infos, in)
	}
	a.ribMu.Lock()
	defer a.ribMu.Unlock()
	var touched []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, in := range infos {
		set := a.rib[in.prefix]
		if in.entry == nil {
			delete(set, in.key)
		} else {
			if set == nil {
				set = map[pathKey]pathEntry{}
				a.rib[in.prefix] = set
			}
			set[in.key] = *in.entry
		}
		if !seen[in.prefix] {
			seen[in.prefix] = true
			touched = append(touched, in.prefix)
		}
	}
	for _, prefix := range touched {
		set := a.rib[prefix]
		if len(set) == 0 {
			delete(a.rib, prefix)
			changes = append(changes, routeexport.Change{Prefix: prefix})
			continue
		}
		changes = append(changes, change(prefix, set))
	}
	return changes
}

// PathSet returns the next hops of prefix's path set as the adapter holds it (multipath mode;
// for tests and the CLI), sorted as the engine receives them.
func (a *Adapter) PathSet(prefix netip.Prefix) []netip.Addr {
	a.ribMu.Lock()
	defer a.ribMu.Unlock()
	set := a.rib[prefix]
	if len(set) == 0 {
		return nil
	}
	c := change(prefix, set)
	return append([]netip.Addr{c.Nexthop}, c.MoreNexthops...)
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
