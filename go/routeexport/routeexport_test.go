package routeexport

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	lbnet "github.com/lbnet/lbnet/go"
)

type netns struct{ name string }

func newNetns(t *testing.T) *netns {
	t.Helper()
	n := &netns{name: fmt.Sprintf("lbrt-go-%d-%d", os.Getpid(), time.Now().UnixNano()%100000)}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.name).Run() })
	n.ip(t, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
	n.ip(t, "addr", "add", "10.1.0.1/24", "dev", "veth0")
	n.ip(t, "link", "set", "veth0", "up")
	n.ip(t, "link", "set", "veth1", "up")
	return n
}

func (n *netns) ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", n.name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v: %v %s", args, err, out)
	}
	return string(out)
}

func (n *netns) routes(t *testing.T, table string) []map[string]any {
	t.Helper()
	out, err := exec.Command("ip", "-n", n.name, "-j", "route", "show", "table", table).Output()
	if err != nil {
		return nil // table does not exist yet
	}
	var v []map[string]any
	if len(out) > 0 {
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("ip -j: %v", err)
		}
	}
	return v
}

func TestParseCommunities(t *testing.T) {
	c, err := ParseCommunity("65000:100")
	if err != nil || c != 65000<<16|100 {
		t.Fatalf("got %d %v", c, err)
	}
	for _, bad := range []string{"65536:1", "1:65536", "4294967296", "x"} {
		if _, err := ParseCommunity(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	l, err := ParseLargeCommunity("4200000000:1:4294967295")
	if err != nil || l.Local2 != 4294967295 || l.String() != "4200000000:1:4294967295" {
		t.Fatalf("got %v %v", l, err)
	}
	if _, err := ParseLargeCommunity("4294967296:1:1"); err == nil {
		t.Error("out-of-range large community accepted")
	}
}

func TestExportThroughGo(t *testing.T) {
	n := newNetns(t)
	cfg := DefaultConfig()
	if cfg.Protocol != 186 || cfg.Dampening != 100*time.Millisecond || !cfg.Watch {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg.NetnsPath = "/var/run/netns/" + n.name
	cfg.Dampening = 0
	comm, _ := ParseCommunity("65000:1")
	c1 := NewRule("c1", 200)
	c1.Communities = []uint32{comm}
	c1.Metric = 30
	e, err := New(cfg, []Rule{NewRule("all", 100), c1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Update(pfx("198.51.100.0/24"), addr("10.1.0.2"), []uint32{comm}, nil); err != nil {
		t.Fatal(err)
	}
	r100 := n.routes(t, "100")
	if len(r100) != 1 || r100[0]["gateway"] != "10.1.0.2" || r100[0]["protocol"] != "bgp" {
		t.Fatalf("table 100: %v", r100)
	}
	r200 := n.routes(t, "200")
	if len(r200) != 1 || r200[0]["metric"] != float64(30) {
		t.Fatalf("table 200: %v", r200)
	}
	// Unreachable next hop: withheld, counted.
	if err := e.Update(pfx("198.51.101.0/24"), addr("10.9.9.9"), nil, nil); err != nil {
		t.Fatal(err)
	}
	st, err := e.Stats("all")
	if err != nil {
		t.Fatal(err)
	}
	if st.Exported != 1 || st.NexthopFailures != 1 || st.LastExport.IsZero() {
		t.Fatalf("stats: %+v", st)
	}
	// Errors carry the errno.
	err = e.Update(netip.MustParsePrefix("198.51.100.1/24"), addr("10.1.0.2"), nil, nil)
	var le *lbnet.Error
	if !errors.Is(err, syscall.EINVAL) || !errors.Is(err, lbnet.InvalidArgument) || !errors.As(err, &le) || le.Op != "routeexport.Update" {
		t.Fatalf("host bits: %v", err)
	}
	if err := e.Update(pfx("198.51.100.0/24"), netip.Addr{}, nil, nil); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("no next hop: %v", err)
	}
	if _, err := e.Stats("nope"); !errors.Is(err, syscall.ENOENT) || !errors.Is(err, lbnet.NotFound) {
		t.Fatalf("unknown rule: %v", err)
	}
	routes, err := e.Routes()
	if err != nil || len(routes) != 2 || routes[1].Rule != "c1" || routes[1].Table != 200 || routes[1].Gateway != addr("10.1.0.2") || routes[1].Prefix != pfx("198.51.100.0/24") {
		t.Fatalf("routes: %+v %v", routes, err)
	}
	// Reload: metric change moves the route.
	all := NewRule("all", 100)
	all.Metric = 50
	if err := e.Reload([]Rule{all}); err != nil {
		t.Fatal(err)
	}
	r100 = n.routes(t, "100")
	if len(r100) != 1 || r100[0]["metric"] != float64(50) {
		t.Fatalf("after reload: %v", r100)
	}
	if len(n.routes(t, "200")) != 0 {
		t.Fatal("table 200 not withdrawn on reload")
	}
	if err := e.Withdraw(pfx("198.51.100.0/24")); err != nil {
		t.Fatal(err)
	}
	if len(n.routes(t, "100")) != 0 {
		t.Fatal("withdraw left the route")
	}
	if err := e.Apply([]Change{
		{Prefix: pfx("198.51.102.0/24"), Nexthop: addr("10.1.0.2")},
		{Prefix: pfx("198.51.103.0/24"), Nexthop: addr("10.1.0.3"), Communities: []uint32{comm}},
		{Prefix: pfx("198.51.103.0/24")},
	}); err != nil {
		t.Fatal(err)
	}
	if r := n.routes(t, "100"); len(r) != 1 || r[0]["dst"] != "198.51.102.0/24" {
		t.Fatalf("after Apply: %v", r)
	}
	if k, err := e.Flush(); err != nil || k != 1 {
		t.Fatalf("flush: %d %v", k, err)
	}
	e.Close()
	e.Close()
	if err := e.Withdraw(pfx("198.51.102.0/24")); !errors.Is(err, lbnet.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func TestConfigIsChecked(t *testing.T) {
	// A reserved protocol is refused by the engine with its reason; nothing is touched.
	for _, p := range []uint8{1, 2, 3, 4, 255} {
		cfg := DefaultConfig()
		cfg.Protocol = p
		cfg.Watch = false
		_, err := New(cfg, nil)
		if !errors.Is(err, lbnet.InvalidArgument) || !strings.Contains(err.Error(), fmt.Sprintf("route protocol %d ", p)) {
			t.Errorf("protocol %d: %v", p, err)
		}
	}
	cfg := DefaultConfig()
	cfg.Dampening = -time.Second
	if _, err := New(cfg, nil); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("negative dampening: %v", err)
	}
	if _, err := New(DefaultConfig(), []Rule{NewRule("a\x00b", 100)}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("NUL in a rule name: %v", err)
	}
	// Too many rules: refused by the library before it reads them.
	many := make([]Rule, 65535)
	for i := range many {
		many[i] = NewRule(fmt.Sprint("r", i), 100)
	}
	if _, err := New(DefaultConfig(), many); !errors.Is(err, syscall.EINVAL) || !strings.Contains(err.Error(), "at most 65534") {
		t.Errorf("65535 rules: %v", err)
	}
}
