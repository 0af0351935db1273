package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version and commit are stamped by the make recipes (-ldflags "-X main.version=... -X
// main.commit=..."; mk/gobgp-api.mk). Without them, commit comes from the Go toolchain's VCS
// stamp (vcs.revision, "-dirty" with vcs.modified) and version stays "devel".
var version, commit = "devel", ""

// gobgpModule is the module path of the embedded GoBGP.
const gobgpModule = "github.com/osrg/gobgp/v4"

// versionInfo returns our version, the commit and the embedded GoBGP's module version, read
// from the binary's build information (the module list `go version -m` prints).
func versionInfo() (ours, rev, gobgp string) {
	ours, rev, gobgp = version, commit, "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ours, orUnknown(rev), gobgp
	}
	for _, d := range bi.Deps {
		if d.Path == gobgpModule {
			gobgp = d.Version
			if d.Replace != nil {
				gobgp += " => " + d.Replace.Path + " " + d.Replace.Version
			}
		}
	}
	if rev == "" {
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" && dirty {
			rev += "-dirty"
		}
	}
	return ours, orUnknown(rev), gobgp
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// printVersion is the `version` command.
func printVersion(w io.Writer) {
	ours, rev, gobgp := versionInfo()
	fmt.Fprintf(w, "gobgp-export version %s\n", ours)
	fmt.Fprintf(w, "  commit: %s\n", rev)
	fmt.Fprintf(w, "  GoBGP:  %s\n", gobgp)
}
