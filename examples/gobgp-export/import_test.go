package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gobgpexport "github.com/lbnet/lbnet/go/gobgp"
	"github.com/lbnet/lbnet/go/linkwatch"
	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/config"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
)

const importTestConfig = `
[global.config]
  as = 65001
  router-id = "192.0.2.1"
  port = -1
[[vrfs]]
  [vrfs.config]
    name = "blue"
    rd = "65001:100"
    both-rt-list = ["65001:100"]
  [vrfs.netlink-import]
    enabled = true
    interface-list = ["vb*"]
[netlink.import]
  enabled = true
  interface-list = ["eth0", "up*"]
`

// startTestBGP starts a GoBGP server that listens nowhere, configured from the file's GoBGP
// part (the daemon's own reader), and returns it with the file's import configuration.
func startTestBGP(t *testing.T) (*server.BgpServer, *importer) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "gobgpd.toml")
	if err := os.WriteFile(file, []byte(importTestConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	bgpConf, err := readBGP(file)
	if err != nil {
		t.Fatal(err)
	}
	s := server.NewBgpServer()
	go s.Serve()
	t.Cleanup(s.Stop)
	if _, err := config.InitialConfig(context.Background(), s, bgpConf, false); err != nil {
		t.Fatal(err)
	}
	imports, err := readImport(file)
	if err != nil {
		t.Fatal(err)
	}
	return s, newImporter(s, imports.Targets())
}

// rib lists the prefixes of family in the global RIB (vrf "") or a VRF's.
func rib(t *testing.T, s *server.BgpServer, vrf string, family bgp.Family) []string {
	t.Helper()
	req := apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: family}
	if vrf != "" {
		req = apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_VRF, Name: vrf, Family: family}
	}
	var out []string
	if err := s.ListPath(req, func(prefix bgp.NLRI, _ []*apiutil.Path) { out = append(out, prefix.String()) }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func addr(im *importer, index uint32, p string) {
	im.applyAddr(linkwatch.AddrEvent{Type: linkwatch.Added, Addr: linkwatch.Addr{Index: index, Prefix: netip.MustParsePrefix(p)}})
}

func delAddr(im *importer, index uint32, p string) {
	im.applyAddr(linkwatch.AddrEvent{Type: linkwatch.Removed, Addr: linkwatch.Addr{Index: index, Prefix: netip.MustParsePrefix(p)}})
}

func link(im *importer, index uint32, name string) {
	im.applyLink(linkwatch.Event{Type: linkwatch.Added, Link: linkwatch.Link{Index: index, Name: name}})
}

func want(t *testing.T, what string, got []string, w ...string) {
	t.Helper()
	if !slices.Equal(got, w) {
		t.Fatalf("%s: RIB has %v, want %v", what, got, w)
	}
}

// The global list (a name and a glob) goes into the global RIB, the VRF's list into the VRF's
// RIB; only global unicast networks, one path per network; withdrawn with the last address, a
// rename out of the list, or the link's removal; Stop with keep-routes keeps the paths, without
// withdraws them; the counters follow.
func TestImportGlobalAndPerVRF(t *testing.T) {
	s, im := startTestBGP(t)
	link(im, 2, "eth0")
	link(im, 3, "uplink7")
	link(im, 4, "vb1")
	link(im, 5, "other")
	link(im, 1, "lo")
	addr(im, 2, "10.1.0.5/24")
	addr(im, 2, "10.1.0.6/24") // same network: one path
	addr(im, 2, "fe80::1/64")  // link-local: not imported
	addr(im, 2, "2001:db8:1::5/64")
	addr(im, 3, "10.3.0.1/16")
	addr(im, 4, "10.4.0.1/24")
	addr(im, 5, "10.5.0.1/24")  // unlisted interface
	addr(im, 1, "127.0.0.1/8")  // loopback, and lo is not listed
	addr(im, 99, "10.9.0.1/24") // no such link (yet)
	im.sync()
	want(t, "global IPv4", rib(t, s, "", bgp.RF_IPv4_UC), "10.1.0.0/24", "10.3.0.0/16")
	want(t, "global IPv6", rib(t, s, "", bgp.RF_IPv6_UC), "2001:db8:1::/64")
	want(t, "VRF blue", rib(t, s, "blue", bgp.RF_IPv4_UC), "65001:100:10.4.0.0/24")
	if st := im.Stats(); st.Imported != 4 || st.Withdrawn != 0 || st.Errors != 0 || st.LastImport.IsZero() {
		t.Fatalf("stats after import: %+v", st)
	}
	// The link whose address came first appears under a listed name: imported now.
	link(im, 99, "up9")
	im.sync()
	want(t, "late link", rib(t, s, "", bgp.RF_IPv4_UC), "10.1.0.0/24", "10.3.0.0/16", "10.9.0.0/24")

	delAddr(im, 2, "10.1.0.5/24")
	im.sync()
	want(t, "one of two addresses gone", rib(t, s, "", bgp.RF_IPv4_UC), "10.1.0.0/24", "10.3.0.0/16", "10.9.0.0/24")
	delAddr(im, 2, "10.1.0.6/24")
	im.applyLink(linkwatch.Event{Type: linkwatch.Changed, Changes: linkwatch.ChangeName, Link: linkwatch.Link{Index: 3, Name: "renamed"}})
	im.applyLink(linkwatch.Event{Type: linkwatch.Removed, Link: linkwatch.Link{Index: 99, Name: "up9"}})
	im.sync()
	want(t, "last address, rename, removal", rib(t, s, "", bgp.RF_IPv4_UC))
	st := im.Stats()
	if st.Withdrawn != 3 || st.LastWithdraw.IsZero() || st.Errors != 0 {
		t.Fatalf("stats after withdrawals: %+v", st)
	}
	imported := im.Imported()
	if !slices.Equal(imported["blue"], []netip.Prefix{netip.MustParsePrefix("10.4.0.0/24")}) {
		t.Fatalf("Imported: %v", imported)
	}

	im.Stop(true)
	want(t, "keep-routes", rib(t, s, "blue", bgp.RF_IPv4_UC), "65001:100:10.4.0.0/24")
	want(t, "keep-routes", rib(t, s, "", bgp.RF_IPv6_UC), "2001:db8:1::/64")
	im.Stop(false)
	want(t, "stop without keep-routes, VRF", rib(t, s, "blue", bgp.RF_IPv4_UC))
	want(t, "stop without keep-routes, global", rib(t, s, "", bgp.RF_IPv6_UC))
	if st := im.Stats(); st.Withdrawn != 5 {
		t.Fatalf("stats after stop: %+v", st)
	}
}

// A RIB operation GoBGP refuses (a VRF that does not exist) is counted with its message, and
// retried at the next change.
func TestImportErrorsAreCounted(t *testing.T) {
	s, im := startTestBGP(t)
	im.targets = append(im.targets, im.targets[0])
	im.targets[len(im.targets)-1].VRF = "missing"
	link(im, 2, "eth0")
	addr(im, 2, "10.1.0.5/24")
	im.sync()
	want(t, "global", rib(t, s, "", bgp.RF_IPv4_UC), "10.1.0.0/24")
	st := im.Stats()
	if st.Errors != 1 || st.LastError == "" || st.LastErrorTime.IsZero() || st.Imported != 1 {
		t.Fatalf("stats: %+v", st)
	}
	addr(im, 2, "10.2.0.5/24")
	im.sync()
	if st := im.Stats(); st.Errors != 3 {
		t.Fatalf("the refused network was not retried: %+v", st)
	}
}

// SIGHUP: the same import sections pass (other keys may change), a changed or broken one is
// refused with the section named.
func TestImportReloadCheck(t *testing.T) {
	running, err := readImportData(t, importTestConfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(text string) string {
		file := filepath.Join(dir, "gobgpd.toml")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	same := strings.Replace(importTestConfig, `router-id = "192.0.2.1"`, `router-id = "192.0.2.2"`, 1)
	if err := importReloadCheck(running, write(same)); err != nil {
		t.Fatalf("unchanged import sections refused: %v", err)
	}
	changed := strings.Replace(importTestConfig, `["eth0", "up*"]`, `["eth0"]`, 1)
	if err := importReloadCheck(running, write(changed)); err == nil || !strings.Contains(err.Error(), "[netlink.import] / [vrfs.netlink-import]: cannot change while running") {
		t.Fatalf("changed interface-list: %v", err)
	}
	broken := strings.Replace(importTestConfig, `interface-list = ["vb*"]`, `interface-list = ["vb["]`, 1)
	if err := importReloadCheck(running, write(broken)); err == nil || !strings.Contains(err.Error(), "[netlink.import] / [vrfs.netlink-import]:") {
		t.Fatalf("malformed glob: %v", err)
	}
}

func readImportData(t *testing.T, text string) (gobgpexport.Imports, error) {
	t.Helper()
	return gobgpexport.ParseImportTOML([]byte(text))
}
