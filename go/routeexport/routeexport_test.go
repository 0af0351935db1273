package routeexport

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
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
	if err := e.Update("198.51.100.0/24", "10.1.0.2", []uint32{comm}, nil); err != nil {
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
	if err := e.Update("198.51.101.0/24", "10.9.9.9", nil, nil); err != nil {
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
	err = e.Update("198.51.100.1/24", "10.1.0.2", nil, nil)
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("host bits: %v", err)
	}
	if _, err := e.Stats("nope"); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("unknown rule: %v", err)
	}
	routes, err := e.Routes()
	if err != nil || len(routes) != 2 || routes[1].Rule != "c1" || routes[1].Table != 200 || routes[1].Gateway != "10.1.0.2" {
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
	if err := e.Withdraw("198.51.100.0/24"); err != nil {
		t.Fatal(err)
	}
	if len(n.routes(t, "100")) != 0 {
		t.Fatal("withdraw left the route")
	}
	if err := e.Apply([]Change{
		{Prefix: "198.51.102.0/24", Nexthop: "10.1.0.2"},
		{Prefix: "198.51.103.0/24", Nexthop: "10.1.0.3", Communities: []uint32{comm}},
		{Prefix: "198.51.103.0/24"},
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
	if err := e.Withdraw("198.51.102.0/24"); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("after close: %v", err)
	}
}
