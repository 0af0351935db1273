package seesaw

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the stand-in Seesaw tree to a writable temporary directory.
func copyTree(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

func TestSplitStandIn(t *testing.T) {
	src, err := os.ReadFile("testdata/seesaw/ipvs/ipvs.go")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := SplitIPVS("ipvs.go", src)
	if err != nil {
		t.Fatal(err)
	}
	types, libnl := string(sp.Types), string(sp.Libnl)
	for _, want := range []string{"type Service struct", "type Destination struct", "type IPVSVersion struct",
		"SFPersistent", "DFForwardRoute", "flagPersist", "func (s Service) String()", "// Package ipvs"} {
		if !strings.Contains(types, want) {
			t.Errorf("types.go lacks %q", want)
		}
	}
	for _, bad := range []string{`import "C"`, "seesaw/netlink", "func Init(", "//go:build", "toNL"} {
		if strings.Contains(types, bad) {
			t.Errorf("types.go contains %q:\n%s", bad, types)
		}
	}
	if !strings.HasPrefix(libnl, "//go:build !rust_ipvs\n") {
		t.Errorf("ipvs_libnl.go does not start with the constraint:\n%s", libnl)
	}
	for _, want := range []string{`import "C"`, "#include <linux/ip_vs.h>", `"github.com/google/seesaw/netlink"`,
		"func Init(", "func GetServices(", "func toNL(", "var family int"} {
		if !strings.Contains(libnl, want) {
			t.Errorf("ipvs_libnl.go lacks %q", want)
		}
	}
	if strings.Contains(libnl, "type Service struct") || strings.Contains(libnl, "// Package ipvs") {
		t.Errorf("ipvs_libnl.go duplicates the types or the package doc")
	}
	// The cgo preamble must stay directly above import "C".
	if !strings.Contains(libnl, "*/\nimport \"C\"") {
		t.Errorf("cgo preamble separated from import \"C\":\n%s", libnl)
	}
}

func TestSplitRejectsCgoTypes(t *testing.T) {
	src := []byte("package ipvs\n\n// #include <linux/ip_vs.h>\nimport \"C\"\n\n" +
		"// Flags are flags.\ntype Flags uint32\n\nconst FlagX Flags = C.IP_VS_SVC_F_PERSISTENT\n\n" +
		"func Init() error { return nil }\n")
	if _, err := SplitIPVS("x.go", src); err == nil || !strings.Contains(err.Error(), "cgo") {
		t.Fatalf("want a cgo error, got %v", err)
	}
}

func TestAddConstraint(t *testing.T) {
	got := string(AddConstraint([]byte("// c\n\npackage p\n"), "!rust_ipvs"))
	if got != "//go:build !rust_ipvs\n\n// c\n\npackage p\n" {
		t.Errorf("plain: %q", got)
	}
	got = string(AddConstraint([]byte("//go:build linux\n\npackage p\n"), "!rust_ipvs"))
	if got != "//go:build (linux) && (!rust_ipvs)\n\npackage p\n" {
		t.Errorf("combined: %q", got)
	}
	again := string(AddConstraint([]byte(got), "!rust_ipvs"))
	if again != got {
		t.Errorf("not idempotent: %q", again)
	}
}

func TestApplyStandIn(t *testing.T) {
	dir := copyTree(t, "testdata/seesaw")
	log, err := Apply(dir, "_overlay/ipvs")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.Join(log, "\n"))
	if _, err := os.Stat(filepath.Join(dir, "ipvs", "ipvs.go")); !os.IsNotExist(err) {
		t.Errorf("ipvs.go still there: %v", err)
	}
	for _, f := range []string{"ipvs/types.go", "ipvs/ipvs_libnl.go", "ipvs/ipvs_rust.go"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{"ipvs/ipvs_test.go", "netlink/netlink.go"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "//go:build !rust_ipvs\n") {
			t.Errorf("%s not constrained", f)
		}
	}
	if _, err := Apply(dir, "_overlay/ipvs"); err == nil {
		t.Errorf("second Apply succeeded")
	}
	// Without cgo and with the tag, the ipvs package's own files (types + lbnet backend) parse
	// and the libnl file is excluded: `go list` of the tagged package names no netlink import.
	cmd := exec.Command("go", "list", "-tags", "rust_ipvs", "-f", "{{.GoFiles}} {{.Imports}}", "./ipvs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	out, err := cmd.CombinedOutput()
	// The lbnet import cannot resolve in this bare tree (build.sh adds the replace); go list
	// still reports the files.
	s := string(out)
	if !strings.Contains(s, "types.go") || !strings.Contains(s, "ipvs_rust.go") || strings.Contains(s, "ipvs_libnl.go") ||
		strings.Contains(s, "google/seesaw/netlink") {
		t.Errorf("go list -tags rust_ipvs ./ipvs: %v\n%s", err, s)
	}
}
