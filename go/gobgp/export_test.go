package gobgpexport

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

func ip(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v: %v %s", args, err, out)
	}
	return string(out)
}

func routes(t *testing.T, ns, table string) []map[string]any {
	out, err := exec.Command("ip", "-n", ns, "-j", "route", "show", "table", table).Output()
	if err != nil || len(out) == 0 {
		return nil
	}
	var v []map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func has(rs []map[string]any, dst string) map[string]any {
	for _, r := range rs {
		if r["dst"] == dst {
			return r
		}
	}
	return nil
}

func eventually(t *testing.T, what string, d time.Duration, f func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if f() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestParseTOML(t *testing.T) {
	c, err := ParseTOML([]byte(`
[global.config]
  as = 65000
  router-id = "1.1.1.1"
[netlink.export]
  enabled = true
  route-protocol = 201
  dampening-interval = 50
  [[netlink.export.rules]]
    name = "all"
    table-id = 100
  [[netlink.export.rules]]
    name = "c1"
    vrf = "blue"
    community-list = ["65000:1"]
    large-community-list = ["4200000000:1:2"]
    metric = 30
    validate-nexthop = false
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, rules, err := c.ExporterConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enabled || cfg.Protocol != 201 || cfg.Dampening != 50*time.Millisecond || cfg.DampeningCap != time.Second {
		t.Fatalf("config: %+v %+v", c, cfg)
	}
	if len(rules) != 2 || rules[0].Metric != 20 || !rules[0].ValidateNexthop || rules[0].Table != 100 {
		t.Fatalf("rule 0: %+v", rules[0])
	}
	r := rules[1]
	if r.VRF != "blue" || r.Metric != 30 || r.ValidateNexthop || r.Communities[0] != 65000<<16|1 || r.LargeCommunities[0].Local2 != 2 {
		t.Fatalf("rule 1: %+v", r)
	}
	rest, err := WithoutExportSection([]byte("[global.config]\nas = 65000\n[netlink.export]\nenabled = true\n"))
	if err != nil || strings.Contains(string(rest), "netlink") || !strings.Contains(string(rest), "65000") {
		t.Fatalf("without export section: %q %v", rest, err)
	}
	// A misspelt key is an error, not a rule exporting into the main table.
	if _, err := ParseTOML([]byte("[netlink.export]\n[[netlink.export.rules]]\nname = \"x\"\ntable = 100\n")); err == nil || !strings.Contains(err.Error(), "table") {
		t.Fatalf("unknown key accepted: %v", err)
	}
	if c, err := ParseTOML([]byte("[global.config]\nas = 1\n")); err != nil || c.Enabled {
		t.Fatalf("file without the section: %+v %v", c, err)
	}
	bad, _ := ParseTOML([]byte("[netlink.export]\n[[netlink.export.rules]]\nname = \"x\"\ncommunity-list = [\"65536:1\"]\n"))
	if _, _, err := bad.ExporterConfig(); err == nil {
		t.Fatal("out-of-range community accepted")
	}
}

func startServer(t *testing.T, routerID string, port int32) *server.BgpServer {
	s := server.NewBgpServer()
	go s.Serve()
	if err := s.StartBgp(context.Background(), &api.StartBgpRequest{Global: &api.Global{
		Asn: 65000, RouterId: routerID, ListenPort: port, ListenAddresses: []string{"127.0.0.1"},
	}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.StopBgp(context.Background(), &api.StopBgpRequest{}) })
	return s
}

func peer(t *testing.T, s *server.BgpServer, port uint32, passive bool) {
	fams := []*api.AfiSafi{}
	for _, afi := range []api.Family_Afi{api.Family_AFI_IP, api.Family_AFI_IP6} {
		fams = append(fams, &api.AfiSafi{
			Config: &api.AfiSafiConfig{
				Family: &api.Family{Afi: afi, Safi: api.Family_SAFI_UNICAST}, Enabled: true},
			MpGracefulRestart: &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}},
		})
	}
	err := s.AddPeer(context.Background(), &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: "127.0.0.1", PeerAsn: 65000},
		Transport: &api.Transport{RemotePort: port, PassiveMode: passive, LocalAddress: "127.0.0.1"},
		Timers:    &api.Timers{Config: &api.TimersConfig{ConnectRetry: 1, IdleHoldTimeAfterReset: 1}},
		AfiSafis:  fams,
		// GoBGP sends End-of-RIB only with graceful restart negotiated.
		GracefulRestart: &api.GracefulRestart{Enabled: true, RestartTime: 120},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func path(t *testing.T, prefix, nexthop string, comms []uint32, withdraw bool) *apiutil.Path {
	nlri, err := bgp.NewIPAddrPrefix(netip.MustParsePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(0)}
	fam := bgp.RF_IPv4_UC
	if netip.MustParsePrefix(prefix).Addr().Is6() {
		fam = bgp.RF_IPv6_UC
		mp, err := bgp.NewPathAttributeMpReachNLRI(fam, []bgp.PathNLRI{{NLRI: nlri}}, netip.MustParseAddr(nexthop))
		if err != nil {
			t.Fatal(err)
		}
		attrs = append(attrs, mp)
	} else {
		nh, _ := bgp.NewPathAttributeNextHop(netip.MustParseAddr(nexthop))
		attrs = append(attrs, nh)
	}
	attrs = append(attrs, bgp.NewPathAttributeLocalPref(100))
	if len(comms) > 0 {
		attrs = append(attrs, bgp.NewPathAttributeCommunities(comms))
	}
	return &apiutil.Path{Family: fam, Nlri: nlri, Attrs: attrs, Withdrawal: withdraw}
}

// Two GoBGP speakers on the loopback: the originator announces and withdraws, the adapter on
// the receiver exports into a test network namespace.
func TestBestPathsAndEndOfRIBFromGoBGP(t *testing.T) {
	ns := fmt.Sprintf("lbrt-gobgp-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip(t, ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	ip(t, ns, "addr", "add", "10.1.0.1/24", "dev", "veth0")
	ip(t, ns, "addr", "add", "2001:db8:1::1/64", "dev", "veth0", "nodad")
	ip(t, ns, "link", "set", "veth0", "up")
	ip(t, ns, "link", "set", "veth1", "up")
	// Left over from a previous run: kept until End-of-RIB, then swept.
	ip(t, ns, "route", "add", "198.51.200.0/24", "via", "10.1.0.2", "table", "100", "proto", "bgp", "metric", "20")
	// Another daemon's route: never touched.
	ip(t, ns, "route", "add", "198.51.201.0/24", "via", "10.1.0.2", "table", "100", "proto", "static")

	cfg, err := ParseTOML([]byte(fmt.Sprintf(`
[netlink.export]
  enabled = true
  netns = "/var/run/netns/%s"
  dampening-interval = 0
  eor-timeout-seconds = 20
  [[netlink.export.rules]]
    name = "all"
    table-id = 100
  [[netlink.export.rules]]
    name = "c1"
    table-id = 200
    metric = 30
    community-list = ["65000:1"]
`, ns)))
	if err != nil {
		t.Fatal(err)
	}
	recv := startServer(t, "1.1.1.1", 21790)
	orig := startServer(t, "2.2.2.2", 21791)
	a, err := Start(context.Background(), recv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if len(routes(t, ns, "100")) != 2 {
		t.Fatal("routes of the previous run must stay at start")
	}
	comm := uint32(65000<<16 | 1)
	if _, err := orig.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{
		path(t, "198.51.100.0/24", "10.1.0.2", []uint32{comm}, false),
		path(t, "198.51.101.0/24", "10.1.0.3", nil, false),
		path(t, "2001:db8:100::/48", "2001:db8:1::2", nil, false),
	}}); err != nil {
		t.Fatal(err)
	}
	peer(t, recv, 21791, false)
	peer(t, orig, 21790, true)
	eventually(t, "exported best paths", 30*time.Second, func() bool {
		return has(routes(t, ns, "100"), "198.51.101.0/24") != nil && has(routes(t, ns, "200"), "198.51.100.0/24") != nil
	})
	r := has(routes(t, ns, "100"), "198.51.100.0/24")
	if r["gateway"] != "10.1.0.2" || r["protocol"] != "bgp" || r["metric"] != float64(20) {
		t.Fatalf("route: %v", r)
	}
	if has(routes(t, ns, "200"), "198.51.100.0/24")["metric"] != float64(30) {
		t.Fatal("metric of rule c1")
	}
	eventually(t, "IPv6 route", 10*time.Second, func() bool {
		out, _ := exec.Command("ip", "-n", ns, "-6", "route", "show", "table", "100").Output()
		return len(out) > 0 && string(out[:len("2001:db8:100::/48")]) == "2001:db8:100::/48"
	})
	// End-of-RIB from the peer (well before the 20 s timeout): the stale route goes, the
	// others stay.
	start := time.Now()
	eventually(t, "End-of-RIB", 10*time.Second, a.EndOfRIBDone)
	t.Logf("End-of-RIB after %v", time.Since(start))
	eventually(t, "stale route swept", 5*time.Second, func() bool {
		return has(routes(t, ns, "100"), "198.51.200.0/24") == nil
	})
	if has(routes(t, ns, "100"), "198.51.201.0/24") == nil {
		t.Fatal("another daemon's route was removed")
	}
	// Withdrawal at the originator: gone from both tables.
	if err := orig.DeletePath(apiutil.DeletePathRequest{Paths: []*apiutil.Path{
		path(t, "198.51.100.0/24", "10.1.0.2", []uint32{comm}, true),
	}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "withdrawal", 10*time.Second, func() bool {
		return has(routes(t, ns, "100"), "198.51.100.0/24") == nil && has(routes(t, ns, "200"), "198.51.100.0/24") == nil
	})
	st, err := a.Exporter().Stats("all")
	if err != nil || st.Exported < 3 || st.Withdrawn < 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
	if a.LastError() != nil {
		t.Fatalf("adapter error: %v", a.LastError())
	}
	n, err := a.Exporter().Flush()
	if err != nil || n != 2 {
		t.Fatalf("flush: %d %v", n, err)
	}
}

func TestRouteProtocolGuardAndTableSemantics(t *testing.T) {
	for _, p := range []string{"0", "1", "2", "3", "4", "255", "256", "-1"} {
		c, err := ParseTOML([]byte("[netlink.export]\nroute-protocol = " + p + "\n"))
		if err != nil {
			t.Fatalf("route-protocol %s: parse: %v", p, err)
		}
		if _, _, err := c.ExporterConfig(); err == nil || !strings.Contains(err.Error(), "route-protocol = "+p) {
			t.Fatalf("route-protocol %s accepted or error without the key: %v", p, err)
		}
	}
	c, err := ParseTOML([]byte(`
[netlink.export]
  route-protocol = 5
  [[netlink.export.rules]]
    name = "main"
  [[netlink.export.rules]]
    name = "both"
    vrf = "blue"
    table-id = 600
  [[netlink.export.rules]]
    name = "vrf"
    vrf = "blue"
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, rules, err := c.ExporterConfig()
	if err != nil || cfg.Protocol != 5 {
		t.Fatalf("%+v %v", cfg, err)
	}
	if rules[0].Table != 254 || rules[0].VRF != "" {
		t.Fatalf("no vrf, no table-id: want the main table: %+v", rules[0])
	}
	if rules[1].Table != 600 || rules[1].VRF != "blue" {
		t.Fatalf("vrf and table-id: want both kept: %+v", rules[1])
	}
	if rules[2].Table != 0 || rules[2].VRF != "blue" {
		t.Fatalf("vrf alone: want the VRF's table: %+v", rules[2])
	}
}

func TestReloadCheck(t *testing.T) {
	parse := func(s string) Config {
		c, err := ParseTOML([]byte("[netlink.export]\n" + s))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := parse("route-protocol = 200\ndampening-interval = 100\n[[netlink.export.rules]]\nname = \"a\"\ntable-id = 100\n")
	// Rules may change; the default protocol and dampening spelt out are no change.
	if err := ReloadCheck(old, parse("route-protocol = 200\n[[netlink.export.rules]]\nname = \"b\"\ntable-id = 101\n")); err != nil {
		t.Fatal(err)
	}
	for key, s := range map[string]string{
		"route-protocol":     "route-protocol = 201\n",
		"dampening-interval": "route-protocol = 200\ndampening-interval = 300\n",
		"dampening-cap":      "route-protocol = 200\ndampening-cap = 5000\n",
		"netns":              "route-protocol = 200\nnetns = \"/run/netns/x\"\n",
	} {
		if err := ReloadCheck(old, parse(s)); err == nil || !strings.Contains(err.Error(), key) {
			t.Fatalf("%s change: %v", key, err)
		}
	}
	if err := ReloadCheck(old, parse("route-protocol = 3\n")); err == nil || !strings.Contains(err.Error(), "route-protocol = 3") {
		t.Fatalf("reserved protocol on reload: %v", err)
	}
}

// The adapter's multipath bookkeeping: paths of one prefix from several peers are one set;
// withdrawing one leaves the others; GoBGP's invalid-next-hop flag and unspecified next hops
// count as withdrawals; link-local next hops carry their peer's interface (the address zone).
func TestMultipathSets(t *testing.T) {
	a := &Adapter{multipath: true, rib: map[ribKey]map[pathKey]pathEntry{}, ifaces: map[netip.Addr]string{}}
	pfx := netip.MustParsePrefix("198.51.100.0/24")
	from := func(p *apiutil.Path, peer string) *apiutil.Path {
		p.PeerAddress = netip.MustParseAddr(peer)
		return p
	}
	ch := a.multipathChanges([]*apiutil.Path{
		from(path(t, "198.51.100.0/24", "10.0.0.2", []uint32{1}, false), "10.0.0.2"),
		from(path(t, "198.51.100.0/24", "10.0.0.1", []uint32{2}, false), "10.0.0.1"),
	})[""]
	if len(ch) != 1 || ch[0].Nexthop.String() != "10.0.0.1" || fmt.Sprint(ch[0].MoreNexthops) != "[10.0.0.2]" ||
		len(ch[0].Communities) != 2 {
		t.Fatalf("two paths: %+v", ch)
	}
	if got := fmt.Sprint(a.PathSet(pfx)); got != "[10.0.0.1 10.0.0.2]" {
		t.Fatalf("path set: %s", got)
	}
	ch = a.multipathChanges([]*apiutil.Path{from(path(t, "198.51.100.0/24", "10.0.0.1", nil, true), "10.0.0.1")})[""]
	if len(ch) != 1 || ch[0].Nexthop.String() != "10.0.0.2" || len(ch[0].MoreNexthops) != 0 {
		t.Fatalf("one withdrawn: %+v", ch)
	}
	inv := from(path(t, "198.51.100.0/24", "10.0.0.2", nil, false), "10.0.0.2")
	inv.IsNexthopInvalid = true
	ch = a.multipathChanges([]*apiutil.Path{inv})[""]
	if len(ch) != 1 || ch[0].Nexthop.IsValid() || a.PathSet(pfx) != nil {
		t.Fatalf("invalid next hop: want a withdrawal: %+v", ch)
	}
	ch = a.multipathChanges([]*apiutil.Path{from(path(t, "198.51.100.0/24", "0.0.0.0", nil, false), "10.0.0.3")})[""]
	if len(ch) != 1 || ch[0].Nexthop.IsValid() {
		t.Fatalf("unspecified next hop: want a withdrawal: %+v", ch)
	}
	ch = a.multipathChanges([]*apiutil.Path{from(path(t, "2001:db8::/32", "fe80::1", nil, false), "fe80::1%eth7")})[""]
	if len(ch) != 1 || ch[0].Device != "eth7" {
		t.Fatalf("link-local next hop: want the peer's interface: %+v", ch)
	}
	// A VPN path goes to its route distinguisher's batch, without the RD in the prefix.
	rd, _ := bgp.ParseRouteDistinguisher("65001:100")
	vpn, err := bgp.NewLabeledVPNIPAddrPrefix(netip.MustParsePrefix("198.51.100.0/24"), *bgp.NewMPLSLabelStack(), rd)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := bgp.NewPathAttributeMpReachNLRI(bgp.RF_IPv4_VPN, []bgp.PathNLRI{{NLRI: vpn}}, netip.MustParseAddr("10.0.0.9"))
	if err != nil {
		t.Fatal(err)
	}
	vp := &apiutil.Path{Family: bgp.RF_IPv4_VPN, Nlri: vpn, Attrs: []bgp.PathAttributeInterface{mp}, PeerAddress: netip.MustParseAddr("10.0.0.9")}
	all := a.multipathChanges([]*apiutil.Path{vp})
	if v := all["65001:100"]; len(all) != 1 || len(v) != 1 || v[0].Prefix != pfx || v[0].Nexthop.String() != "10.0.0.9" {
		t.Fatalf("VPN path: %+v", all)
	}
}

func TestVRFExportConfig(t *testing.T) {
	data := []byte(`
[global.config]
  as = 65000
[[vrfs]]
  [vrfs.config]
    name = "blue"
    rd = "65001:100"
    both-rt-list = ["65001:100"]
  [vrfs.netlink-export]
    enabled = true
    linux-vrf = "vrf-blue"
    metric = 50
    skip-nexthop-validation = true
[[vrfs]]
  [vrfs.config]
    name = "red"
    rd = "65001:200"
[netlink.export]
  enabled = true
`)
	c, err := ParseTOML(data)
	if err != nil {
		t.Fatal(err)
	}
	vrfs, err := c.exportedVRFs()
	if err != nil || len(vrfs) != 1 {
		t.Fatalf("%+v %v", vrfs, err)
	}
	r, err := vrfs["65001:100"].rule()
	if err != nil || r.VRF != "vrf-blue" || r.Table != 0 || r.Metric != 50 || r.ValidateNexthop || r.Name != "blue-vrf-export" {
		t.Fatalf("rule %+v %v", r, err)
	}
	rest, err := WithoutExportSection(data)
	if err != nil || strings.Contains(string(rest), "netlink") || !strings.Contains(string(rest), "65001:100") {
		t.Fatalf("without export sections: %s %v", rest, err)
	}
	if _, err := ParseTOML([]byte("[[vrfs]]\n[vrfs.config]\nname = \"b\"\n[vrfs.netlink-export]\nlinux-table = 5\n")); err == nil ||
		!strings.Contains(err.Error(), "linux-table") {
		t.Fatalf("misspelt VRF key accepted: %v", err)
	}
	// Turning a VRF's export on is a restart, not a reload.
	off, _ := ParseTOML([]byte("[netlink.export]\nenabled = true\n"))
	if err := ReloadCheck(off, c); err == nil || !strings.Contains(err.Error(), "VRFs") {
		t.Fatalf("VRF export set change on reload: %v", err)
	}
}
