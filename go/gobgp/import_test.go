package gobgpexport

import (
	"strings"
	"testing"
)

func TestParseImportTOML(t *testing.T) {
	c, err := ParseImportTOML([]byte(`
[[vrfs]]
  [vrfs.config]
    name = "blue"
    rd = "65001:100"
  [vrfs.netlink-import]
    enabled = true
    interface-list = ["vb*"]
[[vrfs]]
  [vrfs.config]
    name = "red"
    rd = "65001:200"
[netlink.import]
  enabled = true
  interface-list = ["eth0", "vlan*"]
[netlink.export]
  enabled = true
`))
	if err != nil {
		t.Fatal(err)
	}
	tg := c.Targets()
	if len(tg) != 2 || tg[0].VRF != "" || strings.Join(tg[0].Interfaces, ",") != "eth0,vlan*" ||
		tg[1].VRF != "blue" || tg[1].Interfaces[0] != "vb*" {
		t.Fatalf("targets %+v", tg)
	}
	c, err = ParseImportTOML([]byte("[[vrfs]]\n[vrfs.config]\nname = \"red\"\n[netlink.import]\nenabled = true\nvrf = \"red\"\ninterface-list = [\"x\"]\n"))
	if err != nil || c.Targets()[0].VRF != "red" {
		t.Fatalf("global import into a VRF: %+v, %v", c, err)
	}
	for bad, want := range map[string]string{
		"[netlink.import]\nenabled = true\ninterfaces = [\"eth0\"]\n":                   "unknown key",
		"[netlink.import]\nenabled = true\ninterface-list = [\"eth[\"]\n":               "pattern",
		"[netlink.import]\nenabled = true\nvrf = \"nope\"\n":                            "not a [[vrfs]] entry",
		"[netlink.imprt]\nenabled = true\n":                                             "unknown key: imprt",
		"[[vrfs]]\n[vrfs.config]\nname = \"b\"\n[vrfs.netlink-import]\nenable = true\n": "of VRF \"b\": unknown key",
	} {
		if _, err := ParseImportTOML([]byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want an error with %q, got %v", bad, want, err)
		}
	}
	rest, err := WithoutExportSection([]byte("[[vrfs]]\n[vrfs.config]\nname = \"b\"\n[vrfs.netlink-import]\nenabled = true\n"))
	if err != nil || strings.Contains(string(rest), "netlink") {
		t.Fatalf("WithoutExportSection left %q (%v)", rest, err)
	}
}
