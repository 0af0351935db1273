package main

// Netlink import, as the PureLB fork of GoBGP does it ([netlink.import] and
// [vrfs.netlink-import]): the networks of the global unicast addresses of the listed
// interfaces are announced into GoBGP's global RIB (or a GoBGP VRF's) and withdrawn when their
// last address goes. The fork rescans every 5 s; here every address and link change is an
// event (lbnet's loss-free address and link watchers, go/linkwatch), so an address added is in
// the RIB within milliseconds.
//
// Kernel behaviour relied on (see go/linkwatch): deleting a link removes its addresses, each
// with an RTM_DELADDR; taking a link down removes its IPv6 addresses (unless
// keep_addr_on_down) but keeps its IPv4 ones, so, as in the fork, which reads the addresses an
// interface has, an IPv4 network stays announced while its link is down.

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"time"

	gobgpexport "github.com/lbnet/lbnet/go/gobgp"
	"github.com/lbnet/lbnet/go/linkwatch"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

// ImportStats are the import counters, with the fork's meaning (GetNetlinkImportStats):
// Imported and Withdrawn count paths added to and withdrawn from a RIB, Errors the RIB
// operations GoBGP refused (LastError is the last one's message, LastErrorTime when).
type ImportStats struct {
	Imported, Withdrawn, Errors uint64
	LastImport, LastWithdraw    time.Time
	LastError                   string
	// LastErrorTime is the fork's last_error_time.
	LastErrorTime time.Time
}

// addrKey identifies an address of a link.
type addrKey struct {
	index  uint32
	prefix netip.Prefix
}

// importer keeps the RIB paths of the configured interfaces' networks in step with the kernel.
type importer struct {
	bgp     *server.BgpServer
	targets []gobgpexport.ImportTarget

	mu    sync.Mutex        // guards links, addrs and stats
	links map[uint32]string // ifindex -> name
	addrs map[addrKey]bool
	stats ImportStats
	// ribMu guards announced and serialises RIB updates.
	ribMu     sync.Mutex
	announced map[string]map[netip.Prefix]*apiutil.Path // GoBGP VRF ("" global) -> network -> path

	lw     *linkwatch.Watcher
	aw     *linkwatch.AddrWatcher
	cancel context.CancelFunc
	done   chan struct{}
}

func newImporter(s *server.BgpServer, targets []gobgpexport.ImportTarget) *importer {
	return &importer{bgp: s, targets: targets, links: map[uint32]string{}, addrs: map[addrKey]bool{},
		announced: map[string]map[netip.Prefix]*apiutil.Path{}}
}

// startImporter opens the link and address watchers of the daemon's namespace, announces what
// the interfaces have now and follows their changes until Stop.
func startImporter(s *server.BgpServer, targets []gobgpexport.ImportTarget) (*importer, error) {
	im := newImporter(s, targets)
	lw, err := linkwatch.Open(linkwatch.Options{NoSpeed: true})
	if err != nil {
		return nil, fmt.Errorf("netlink import: link watch: %w", err)
	}
	aw, err := linkwatch.OpenAddrs(linkwatch.Options{})
	if err != nil {
		lw.Close()
		return nil, fmt.Errorf("netlink import: address watch: %w", err)
	}
	im.lw, im.aw = lw, aw
	ctx, cancel := context.WithCancel(context.Background())
	im.cancel, im.done = cancel, make(chan struct{})
	// Events queued after a snapshot are delivered again: applying them is idempotent.
	linkEv, linkErr := lw.Events(ctx)
	addrEv, addrErr := aw.Events(ctx)
	links, err := lw.Snapshot()
	if err == nil {
		var addrs []linkwatch.Addr
		if addrs, err = aw.Snapshot(); err == nil {
			im.mu.Lock()
			for _, l := range links {
				im.links[l.Index] = l.Name
			}
			for _, a := range addrs {
				im.addrs[addrKey{a.Index, a.Prefix}] = true
			}
			im.mu.Unlock()
		}
	}
	if err != nil {
		cancel()
		lw.Close()
		aw.Close()
		return nil, fmt.Errorf("netlink import: %w", err)
	}
	im.sync()
	go im.run(ctx, linkEv, linkErr, addrEv, addrErr)
	return im, nil
}

func (im *importer) applyLink(ev linkwatch.Event) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if ev.Type == linkwatch.Removed {
		delete(im.links, ev.Link.Index)
	} else {
		im.links[ev.Link.Index] = ev.Link.Name
	}
}

func (im *importer) applyAddr(ev linkwatch.AddrEvent) {
	im.mu.Lock()
	defer im.mu.Unlock()
	k := addrKey{ev.Addr.Index, ev.Addr.Prefix}
	if ev.Type == linkwatch.Removed {
		delete(im.addrs, k)
	} else {
		im.addrs[k] = true
	}
}

// run applies events, and after each burst (what is already queued) brings the RIB in step.
func (im *importer) run(ctx context.Context, linkEv <-chan linkwatch.Event, linkErr <-chan error,
	addrEv <-chan linkwatch.AddrEvent, addrErr <-chan error) {
	defer close(im.done)
	for linkEv != nil || addrEv != nil {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-linkEv:
			if !ok {
				linkEv = nil
				continue
			}
			im.applyLink(ev)
		case ev, ok := <-addrEv:
			if !ok {
				addrEv = nil
				continue
			}
			im.applyAddr(ev)
		case err, ok := <-linkErr:
			if ok && err != nil {
				im.fail(fmt.Errorf("link watch stopped: %w", err))
			}
			linkErr = nil
			continue
		case err, ok := <-addrErr:
			if ok && err != nil {
				im.fail(fmt.Errorf("address watch stopped: %w", err))
			}
			addrErr = nil
			continue
		}
	burst:
		for {
			select {
			case ev, ok := <-linkEv:
				if !ok {
					break burst
				}
				im.applyLink(ev)
			case ev, ok := <-addrEv:
				if !ok {
					break burst
				}
				im.applyAddr(ev)
			default:
				break burst
			}
		}
		im.sync()
	}
}

// matches reports whether an interface name is in a list of names and shell globs (checked at
// load).
func matches(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// global is the fork's filter: not loopback, link-local, multicast or unspecified.
func global(a netip.Addr) bool {
	return !a.IsLoopback() && !a.IsLinkLocalUnicast() && !a.IsMulticast() && !a.IsUnspecified()
}

// desired is, for each target RIB, the networks its interfaces' addresses are in.
func (im *importer) desired() map[string]map[netip.Prefix]bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	out := map[string]map[netip.Prefix]bool{}
	for _, t := range im.targets {
		want := out[t.VRF]
		if want == nil {
			want = map[netip.Prefix]bool{}
			out[t.VRF] = want
		}
		for k := range im.addrs {
			name, ok := im.links[k.index]
			if ok && global(k.prefix.Addr()) && matches(t.Interfaces, name) {
				want[k.prefix.Masked()] = true
			}
		}
	}
	return out
}

// path is the fork's imported path: origin IGP, next hop 0.0.0.0 or :: (GoBGP advertises its
// own address in its place).
func path(p netip.Prefix) (*apiutil.Path, error) {
	nlri, err := bgp.NewIPAddrPrefix(p)
	if err != nil {
		return nil, err
	}
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	family := bgp.RF_IPv4_UC
	if p.Addr().Is4() {
		nh, err := bgp.NewPathAttributeNextHop(netip.IPv4Unspecified())
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, nh)
	} else {
		family = bgp.RF_IPv6_UC
		mp, err := bgp.NewPathAttributeMpReachNLRI(family, []bgp.PathNLRI{{NLRI: nlri}}, netip.IPv6Unspecified())
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, mp)
	}
	return &apiutil.Path{Family: family, Nlri: nlri, Attrs: attrs, Age: time.Now().Unix()}, nil
}

func (im *importer) fail(err error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.stats.Errors++
	im.stats.LastError = err.Error()
	im.stats.LastErrorTime = time.Now()
}

// sync adds the paths of networks that appeared and withdraws those of networks that went, one
// RIB operation per path (a refused one is counted and retried at the next change).
func (im *importer) sync() {
	im.ribMu.Lock()
	defer im.ribMu.Unlock()
	want := im.desired()
	for vrf, nets := range want {
		have := im.announced[vrf]
		if have == nil {
			have = map[netip.Prefix]*apiutil.Path{}
			im.announced[vrf] = have
		}
		for _, p := range sortedPrefixes(nets) {
			if have[p] != nil {
				continue
			}
			pa, err := path(p)
			if err == nil {
				_, err = im.bgp.AddPath(apiutil.AddPathRequest{VRFID: vrf, Paths: []*apiutil.Path{pa}})
			}
			if err != nil {
				im.fail(fmt.Errorf("import %s into %s: %w", p, ribName(vrf), err))
				continue
			}
			have[p] = pa
			im.mu.Lock()
			im.stats.Imported++
			im.stats.LastImport = time.Now()
			im.mu.Unlock()
		}
		for p, pa := range have {
			if !nets[p] {
				im.withdraw(vrf, p, pa)
			}
		}
	}
}

// withdraw withdraws one path (ribMu held).
func (im *importer) withdraw(vrf string, p netip.Prefix, pa *apiutil.Path) {
	if err := im.bgp.DeletePath(apiutil.DeletePathRequest{VRFID: vrf, Paths: []*apiutil.Path{pa}}); err != nil {
		im.fail(fmt.Errorf("withdraw %s from %s: %w", p, ribName(vrf), err))
		return
	}
	delete(im.announced[vrf], p)
	im.mu.Lock()
	im.stats.Withdrawn++
	im.stats.LastWithdraw = time.Now()
	im.mu.Unlock()
}

func ribName(vrf string) string {
	if vrf == "" {
		return "the global RIB"
	}
	return "VRF " + vrf
}

func sortedPrefixes(m map[netip.Prefix]bool) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return out
}

// Stats returns a copy of the import counters.
func (im *importer) Stats() ImportStats {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.stats
}

// Imported lists the networks in the RIBs now, by GoBGP VRF ("" for the global RIB).
func (im *importer) Imported() map[string][]netip.Prefix {
	im.ribMu.Lock()
	defer im.ribMu.Unlock()
	out := map[string][]netip.Prefix{}
	for vrf, have := range im.announced {
		m := map[netip.Prefix]bool{}
		for p := range have {
			m[p] = true
		}
		out[vrf] = sortedPrefixes(m)
	}
	return out
}

// Stop stops following the interfaces. With keepRoutes, as the fork's
// DisableNetlinkImport(keep_routes = true), the imported paths stay in the RIBs; without it
// they are withdrawn (the fork's default).
func (im *importer) Stop(keepRoutes bool) {
	if im.cancel != nil {
		im.cancel()
		<-im.done
		im.lw.Close()
		im.aw.Close()
		im.cancel = nil
	}
	if keepRoutes {
		return
	}
	im.ribMu.Lock()
	defer im.ribMu.Unlock()
	for vrf, have := range im.announced {
		for p, pa := range have {
			im.withdraw(vrf, p, pa)
		}
	}
}
