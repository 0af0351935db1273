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
	// VRFs are the GoBGP VRFs ([[vrfs]]) of the file, with their [vrfs.netlink-export]
	// tables: VPN paths carrying a VRF's route distinguisher go to its Linux VRF.
	VRFs []VRFConfig `toml:"-"`
}

// VRFConfig is one [[vrfs]] entry: the GoBGP VRF's name and route distinguisher (GoBGP's own
// keys, [vrfs.config] name and rd) and its [vrfs.netlink-export] table.
type VRFConfig struct {
	Name   string
	RD     string
	Export VRFExportConfig
}

// VRFExportConfig is [vrfs.netlink-export], with the PureLB fork's keys and meaning: when
// enabled, the VPN paths (l3vpn-ipv4/ipv6-unicast) whose route distinguisher is the VRF's are
// exported, without the RD, into the Linux VRF linux-vrf (default: the GoBGP VRF's name),
// into linux-table-id if given (else the Linux VRF's own table), with metric (default 20),
// next hops validated in the Linux VRF unless skip-nexthop-validation, filtered by
// community-list / large-community-list (OR; empty: every path).
type VRFExportConfig struct {
	Enabled               bool     `toml:"enabled"`
	LinuxVRF              string   `toml:"linux-vrf"`
	LinuxTableID          uint32   `toml:"linux-table-id"`
	Metric                *uint32  `toml:"metric"`
	SkipNexthopValidation bool     `toml:"skip-nexthop-validation"`
	Communities           []string `toml:"community-list"`
	LargeCommunities      []string `toml:"large-community-list"`
}

// rule is the engine rule of a VRF's export.
func (v VRFConfig) rule() (routeexport.Rule, error) {
	linux := v.Export.LinuxVRF
	if linux == "" {
		linux = v.Name
	}
	rc := RuleConfig{Name: v.Name + "-vrf-export", VRF: linux, Table: v.Export.LinuxTableID, Metric: v.Export.Metric,
		Communities: v.Export.Communities, LargeCommunities: v.Export.LargeCommunities}
	validate := !v.Export.SkipNexthopValidation
	rc.ValidateNexthop = &validate
	_, rules, err := Config{Rules: []RuleConfig{rc}}.ExporterConfig()
	if err != nil {
		return routeexport.Rule{}, fmt.Errorf("[vrfs.netlink-export] of VRF %q: %w", v.Name, err)
	}
	return rules[0], nil
}

// rdKey is the canonical form of a route distinguisher as GoBGP prints it.
func rdKey(s string) (string, error) {
	rd, err := bgp.ParseRouteDistinguisher(s)
	if err != nil {
		return "", err
	}
	return rd.String(), nil
}

// exportedVRFs are the VRFs with netlink-export enabled, by canonical RD.
func (c Config) exportedVRFs() (map[string]VRFConfig, error) {
	out := map[string]VRFConfig{}
	for _, v := range c.VRFs {
		if !v.Export.Enabled {
			continue
		}
		rd, err := rdKey(v.RD)
		if err != nil {
			return nil, fmt.Errorf("VRF %q: rd %q: %w", v.Name, v.RD, err)
		}
		if _, err := v.rule(); err != nil {
			return nil, err
		}
		out[rd] = v
	}
	return out, nil
}

// VRFRules are the engine rules of the VRFs with netlink-export enabled, by GoBGP VRF name
// (errors in those sections are reported here, as at start).
func (c Config) VRFRules() (map[string]routeexport.Rule, error) {
	vrfs, err := c.exportedVRFs()
	if err != nil {
		return nil, err
	}
	out := map[string]routeexport.Rule{}
	for _, v := range vrfs {
		out[v.Name], _ = v.rule()
	}
	return out, nil
}

func parseVRFs(all map[string]any) ([]VRFConfig, error) {
	list, _ := all["vrfs"].([]any)
	var out []VRFConfig
	for _, item := range list {
		m, _ := item.(map[string]any)
		conf, _ := m["config"].(map[string]any)
		v := VRFConfig{}
		v.Name, _ = conf["name"].(string)
		v.RD, _ = conf["rd"].(string)
		if section, ok := m["netlink-export"]; ok {
			raw, err := toml.Marshal(section)
			if err != nil {
				return nil, err
			}
			dec := toml.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v.Export); err != nil {
				var strict *toml.StrictMissingError
				if errors.As(err, &strict) {
					return nil, fmt.Errorf("[vrfs.netlink-export] of VRF %q: unknown key: %s", v.Name, strict.String())
				}
				return nil, fmt.Errorf("[vrfs.netlink-export] of VRF %q: %w", v.Name, err)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// ParseTOML reads the [netlink.export] section of a gobgpd TOML configuration; the other
// sections are left to GoBGP. A key the section does not define is an error (a misspelt
// table-id would otherwise export into the main table).
func ParseTOML(data []byte) (Config, error) {
	var all map[string]any
	if err := toml.Unmarshal(data, &all); err != nil {
		return Config{}, fmt.Errorf("[netlink.export]: %w", err)
	}
	vrfs, err := parseVRFs(all)
	if err != nil {
		return Config{}, err
	}
	netlink, _ := all["netlink"].(map[string]any)
	section, ok := netlink["export"]
	if !ok {
		return Config{VRFs: vrfs}, nil
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
	c.VRFs = vrfs
	return c, nil
}

// WithoutExportSection returns the configuration without its [netlink] table and the
// netlink-export / netlink-import tables of its [[vrfs]], for GoBGP's own
// reader (config.ReadConfigFile), which rejects keys it does not know.
func WithoutExportSection(data []byte) ([]byte, error) {
	var all map[string]any
	if err := toml.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	delete(all, "netlink")
	if list, ok := all["vrfs"].([]any); ok {
		for _, item := range list {
			if m, ok := item.(map[string]any); ok {
				delete(m, "netlink-export")
				delete(m, "netlink-import")
			}
		}
	}
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
	ov, err := old.exportedVRFs()
	if err != nil {
		return err
	}
	nv, err := new.exportedVRFs()
	if err != nil {
		return err
	}
	same := len(ov) == len(nv)
	for rd, v := range ov {
		if w, ok := nv[rd]; !ok || w.Name != v.Name {
			same = false
		}
	}
	if !same {
		changed = append(changed, "the VRFs with netlink-export enabled")
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
	rib       map[ribKey]map[pathKey]pathEntry
	ifaces    map[netip.Addr]string
	// vrfs are the engines of the VRFs with netlink-export, by canonical route distinguisher
	// (one engine each: a prefix may be in several VRFs).
	vrfs map[string]*VRFExporter

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
	vrfs, err := cfg.exportedVRFs()
	if err != nil {
		return nil, err
	}
	// Two engines exporting into one table would each sweep the other's routes at
	// End-of-RIB: a VRF's export must not share its Linux VRF or table with a global rule.
	for _, v := range vrfs {
		vr, _ := v.rule()
		for _, r := range rules {
			if (vr.VRF != "" && r.VRF == vr.VRF) || (vr.Table != 0 && r.Table == vr.Table) {
				return nil, fmt.Errorf("VRF %q exports into the Linux VRF/table of rule %q: give each its own", v.Name, r.Name)
			}
		}
	}
	ex, err := routeexport.New(ecfg, rules)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &Adapter{exporter: ex, cancel: cancel, bgp: s, eorPeers: map[netip.Addr]map[bgp.Family]bool{},
		rib: map[ribKey]map[pathKey]pathEntry{}, ifaces: map[netip.Addr]string{}, vrfs: map[string]*VRFExporter{}}
	for rd, v := range vrfs {
		vr, _ := v.rule()
		vex, err := routeexport.New(ecfg, []routeexport.Rule{vr})
		if err != nil {
			a.closeEngines()
			cancel()
			return nil, fmt.Errorf("VRF %q: %w", v.Name, err)
		}
		a.vrfs[rd] = &VRFExporter{Name: v.Name, LinuxVRF: vr.VRF, RD: rd, Exporter: vex}
	}
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
		a.closeEngines()
		return nil, err
	}
	return a, nil
}

// VRFExporter is the engine of one GoBGP VRF's netlink-export.
type VRFExporter struct {
	// Name is the GoBGP VRF, LinuxVRF the Linux VRF device its routes go to, RD its route
	// distinguisher as GoBGP prints it.
	Name, LinuxVRF, RD string
	Exporter           *routeexport.Exporter
}

// VRFExporters are the engines of the VRFs with netlink-export enabled, sorted by name.
func (a *Adapter) VRFExporters() []*VRFExporter {
	out := make([]*VRFExporter, 0, len(a.vrfs))
	for _, v := range a.vrfs {
		out = append(out, v)
	}
	slices.SortFunc(out, func(x, y *VRFExporter) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// Reload applies a new configuration's rules (global and per VRF) after ReloadCheck(old,
// new) passed; every known route is re-evaluated.
func (a *Adapter) Reload(c Config) error {
	_, rules, err := c.ExporterConfig()
	if err != nil {
		return err
	}
	vrfs, err := c.exportedVRFs()
	if err != nil {
		return err
	}
	if err := a.exporter.Reload(rules); err != nil {
		return err
	}
	for rd, v := range a.vrfs {
		nv, ok := vrfs[rd]
		if !ok {
			continue
		}
		r, _ := nv.rule()
		if err := v.Exporter.Reload([]routeexport.Rule{r}); err != nil {
			return fmt.Errorf("VRF %q: %w", v.Name, err)
		}
	}
	return nil
}

func (a *Adapter) closeEngines() {
	a.exporter.Close()
	for _, v := range a.vrfs {
		v.Exporter.Close()
	}
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
	a.closeEngines()
}

func (a *Adapter) fail(err error) {
	a.mu.Lock()
	a.lastError = err
	a.mu.Unlock()
}

// pathInfo extracts what the engine needs from a unicast path, or a VPN path (rd is then its
// route distinguisher as GoBGP prints it and prefix is without it, as the fork does).
func pathInfo(p *apiutil.Path) (prefix netip.Prefix, rd string, nexthop netip.Addr, comms []uint32, large []routeexport.LargeCommunity, ok bool) {
	switch p.Family {
	case bgp.RF_IPv4_UC, bgp.RF_IPv6_UC:
		n, isPrefix := p.Nlri.(*bgp.IPAddrPrefix)
		if !isPrefix {
			return
		}
		prefix = n.Prefix
	case bgp.RF_IPv4_VPN, bgp.RF_IPv6_VPN:
		n, isVPN := p.Nlri.(*bgp.LabeledVPNIPAddrPrefix)
		if !isVPN || n.RD == nil {
			return
		}
		prefix, rd = n.Prefix, n.RD.String()
	default:
		return
	}
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
	return prefix, rd, nexthop, comms, large, prefix.IsValid()
}

// ribKey is a prefix in the global table (rd "") or in the VPN table of one RD.
type ribKey struct {
	rd     string
	prefix netip.Prefix
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
	var batches map[string][]routeexport.Change
	if a.multipath {
		batches = a.multipathChanges(paths)
	} else {
		batches = map[string][]routeexport.Change{}
		for _, p := range paths {
			prefix, rd, nh, comms, large, ok := pathInfo(p)
			if !ok {
				continue
			}
			c := routeexport.Change{Prefix: prefix}
			if usable(p, nh) {
				c.Nexthop, c.Communities, c.LargeCommunities = nh, comms, large
				c.Device = a.deviceOf(p, nh)
			}
			batches[rd] = append(batches[rd], c)
		}
	}
	// One pipelined kernel batch per engine for the whole event. VPN paths of a route
	// distinguisher no VRF exports are ignored.
	for rd, changes := range batches {
		ex := a.exporter
		if rd != "" {
			v, ok := a.vrfs[rd]
			if !ok {
				continue
			}
			ex = v.Exporter
		}
		if err := ex.Apply(changes); err != nil {
			a.fail(err)
		}
	}
}

// multipathChanges applies per-path additions and withdrawals to each prefix's set and returns
// one change per touched prefix, by route distinguisher ("" for unicast): its whole set, or a
// withdrawal once the set is empty.
func (a *Adapter) multipathChanges(paths []*apiutil.Path) map[string][]routeexport.Change {
	type info struct {
		prefix ribKey
		key    pathKey
		entry  *pathEntry
	}
	infos := make([]info, 0, len(paths))
	for _, p := range paths {
		prefix, rd, nh, comms, large, ok := pathInfo(p)
		if !ok {
			continue
		}
		in := info{prefix: ribKey{rd, prefix}, key: pathKey{peer: p.PeerAddress, id: p.RemoteID}}
		if usable(p, nh) {
			in.entry = &pathEntry{nexthop: nh, comms: comms, large: large, device: a.deviceOf(p, nh)}
		}
		infos = append(infos, in)
	}
	a.ribMu.Lock()
	defer a.ribMu.Unlock()
	var touched []ribKey
	seen := map[ribKey]bool{}
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
	changes := map[string][]routeexport.Change{}
	for _, k := range touched {
		set := a.rib[k]
		if len(set) == 0 {
			delete(a.rib, k)
			changes[k.rd] = append(changes[k.rd], routeexport.Change{Prefix: k.prefix})
			continue
		}
		changes[k.rd] = append(changes[k.rd], change(k.prefix, set))
	}
	return changes
}

// PathSet returns the next hops of prefix's path set as the adapter holds it (multipath mode;
// for tests and the CLI), sorted as the engine receives them.
func (a *Adapter) PathSet(prefix netip.Prefix) []netip.Addr {
	a.ribMu.Lock()
	defer a.ribMu.Unlock()
	set := a.rib[ribKey{"", prefix}]
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
	// enabled, and each VPN family when a VRF exports (any family if it lists none).
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
			// Unicast families, and the VPN families when a VRF exports (its engine sweeps
			// at End-of-RIB too, so its paths must have been re-learnt).
			if f.Safi != api.Family_SAFI_UNICAST && (f.Safi != api.Family_SAFI_MPLS_VPN || len(a.vrfs) == 0) {
				continue
			}
			if (f.Afi == api.Family_AFI_IP || f.Afi == api.Family_AFI_IP6) && !seen[bgp.NewFamily(uint16(f.Afi), uint8(f.Safi))] {
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
	for _, v := range a.vrfs {
		if _, err := v.Exporter.EndOfRIB(); err != nil {
			a.fail(fmt.Errorf("end of RIB, VRF %q: %w", v.Name, err))
		}
	}
}
