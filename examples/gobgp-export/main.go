// Command gobgp-export runs a GoBGP speaker whose best paths lbnet exports into kernel routing
// tables. It reads a gobgpd TOML configuration file: GoBGP's own sections configure BGP, the
// [netlink.export] section configures the export, [netlink.import] and [vrfs.netlink-import]
// the import of interface networks into GoBGP's RIBs (import.go; see gobgpd.toml next to this
// file).
//
//	gobgp-export -f gobgpd.toml
//
// SIGHUP re-reads the file: BGP changes go to GoBGP, export rules are reloaded and every known
// route is re-evaluated. A file with an error, or one changing route-protocol,
// dampening-interval, dampening-cap or netns (fixed while the engine runs), is refused as a
// whole with the reason on stderr, and the daemon keeps running on the old configuration. SIGINT/SIGTERM stop the speaker and leave the exported routes in place
// (a restart keeps them until End-of-RIB); with -flush-on-exit they are removed first.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"syscall"
	"time"

	gobgpexport "github.com/lbnet/lbnet/go/gobgp"
	"github.com/lbnet/lbnet/go/routeexport"
	"github.com/osrg/gobgp/v4/pkg/config"
	"github.com/osrg/gobgp/v4/pkg/config/oc"
	"github.com/osrg/gobgp/v4/pkg/server"
)

func main() {
	file := flag.String("f", "gobgpd.toml", "gobgpd TOML configuration with a [netlink.export] section")
	statsEvery := flag.Duration("stats", 10*time.Second, "print export statistics this often (0: never)")
	flushOnExit := flag.Bool("flush-on-exit", false, "remove exported routes on exit")
	check := flag.Bool("check", false, "only check the configuration file and exit")
	api := flag.String("api", "/run/gobgp-export.sock", "control socket (daemon: listen; CLI: connect)")
	asJSON := flag.Bool("j", false, "CLI: print the reply as JSON")
	flag.Parse()
	if flag.NArg() > 0 {
		if err := runCLI(os.Stdout, *api, *asJSON, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "gobgp-export:", err)
			os.Exit(1)
		}
		return
	}
	if *check {
		if err := checkConfig(*file); err != nil {
			fmt.Fprintln(os.Stderr, "gobgp-export:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*file, *api, *statsEvery, *flushOnExit); err != nil {
		fmt.Fprintln(os.Stderr, "gobgp-export:", err)
		os.Exit(1)
	}
}

func readExport(file string) (gobgpexport.Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return gobgpexport.Config{}, err
	}
	return gobgpexport.ParseTOML(data)
}

// readBGP reads GoBGP's part of the file (GoBGP's reader rejects the [netlink] table).
func readBGP(file string) (*oc.BgpConfigSet, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	rest, err := gobgpexport.WithoutExportSection(data)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "gobgp-export-*.toml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(rest); err != nil {
		tmp.Close()
		return nil, err
	}
	tmp.Close()
	return config.ReadConfigFile(tmp.Name(), "toml")
}

// checkConfig parses both parts of the file and prints what the export would do.
func checkConfig(file string) error {
	bgp, err := readBGP(file)
	if err != nil {
		return err
	}
	ec, err := readExport(file)
	if err != nil {
		return err
	}
	cfg, rules, err := ec.ExporterConfig()
	if err != nil {
		return err
	}
	fmt.Printf("bgp: as %d, %d neighbors; export: enabled=%v protocol=%d dampening=%v cap=%v\n",
		bgp.Global.Config.As, len(bgp.Neighbors), ec.Enabled, cfg.Protocol, cfg.Dampening, cfg.DampeningCap)
	vrfRules, err := ec.VRFRules()
	if err != nil {
		return err
	}
	for _, r := range rules {
		fmt.Printf("rule %q: vrf=%q table=%d metric=%d communities=%v large=%v validate-nexthop=%v\n",
			r.Name, r.VRF, r.Table, r.Metric, r.Communities, r.LargeCommunities, r.ValidateNexthop)
	}
	for name, r := range vrfRules {
		fmt.Printf("GoBGP VRF %q: VPN paths into Linux VRF %q table=%d metric=%d validate-nexthop=%v\n",
			name, r.VRF, r.Table, r.Metric, r.ValidateNexthop)
	}
	imports, err := readImport(file)
	if err != nil {
		return err
	}
	for _, t := range imports.Targets() {
		fmt.Printf("import: networks of %v into %s\n", t.Interfaces, ribName(t.VRF))
	}
	return nil
}

// readImport reads [netlink.import] and the [vrfs.netlink-import] tables.
func readImport(file string) (gobgpexport.Imports, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return gobgpexport.Imports{}, err
	}
	return gobgpexport.ParseImportTOML(data)
}

func run(file, api string, statsEvery time.Duration, flushOnExit bool) error {
	ctx := context.Background()
	bgpConf, err := readBGP(file)
	if err != nil {
		return err
	}
	exportConf, err := readExport(file)
	if err != nil {
		return err
	}
	if !exportConf.Enabled {
		return fmt.Errorf("%s: [netlink.export] enabled = true is missing", file)
	}
	s := server.NewBgpServer(server.LoggerOption(slog.New(slog.NewTextHandler(os.Stderr, nil)), nil))
	go s.Serve()
	current, err := config.InitialConfig(ctx, s, bgpConf, false)
	if err != nil {
		return err
	}
	a, err := gobgpexport.Start(ctx, s, exportConf)
	if err != nil {
		return err
	}
	ecfg, rules, _ := exportConf.ExporterConfig() // checked by Start
	st := &state{adapter: a, proto: ecfg.Protocol, current: rules}
	// Netlink import: the listed interfaces' networks into GoBGP's RIBs, event-driven.
	imports, err := readImport(file)
	if err == nil {
		st.imports = imports
		st.importer, err = startImporter(s, imports.Targets())
	}
	if err != nil {
		a.Close()
		s.Stop()
		return err
	}

	ctl, err := listenControl(api, st)
	if err != nil {
		st.importer.Stop(true)
		a.Close()
		s.Stop()
		return err
	}
	defer ctl.Close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	var tick <-chan time.Time
	if statsEvery > 0 {
		t := time.NewTicker(statsEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			st, err := a.Exporter().Stats("")
			if err == nil {
				fmt.Printf("exported=%d withdrawn=%d errors=%d nh-failures=%d dampened=%d kernel-ops=%d eor=%v\n",
					st.Exported, st.Withdrawn, st.Errors, st.NexthopFailures, st.Dampened, st.KernelOps, a.EndOfRIBDone())
				if st.LastErrorMessage != "" {
					fmt.Printf("last error: %s\n", st.LastErrorMessage)
				}
			}
		case s2 := <-sig:
			if s2 == syscall.SIGHUP {
				// The whole file is checked before anything is applied: a bad export section, or
				// a change of a key the running engine cannot take (route-protocol, dampening,
				// netns), refuses the reload and the daemon keeps its old configuration.
				next, err := readBGP(file)
				if err != nil {
					fmt.Fprintln(os.Stderr, "reload refused, keeping the old configuration:", err)
					continue
				}
				ec, err := readExport(file)
				if err == nil {
					err = gobgpexport.ReloadCheck(exportConf, ec)
				}
				if err == nil {
					var ni gobgpexport.Imports
					if ni, err = readImport(file); err == nil && !reflect.DeepEqual(ni, st.imports) {
						err = fmt.Errorf("[netlink.import] / [vrfs.netlink-import] cannot change while running (restart the daemon to apply)")
					}
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "reload refused, keeping the old configuration: [netlink.export]:", err)
					continue
				}
				if current, err = config.UpdateConfig(ctx, s, current, next); err != nil {
					fmt.Fprintln(os.Stderr, "reload BGP:", err)
				}
				_, rules, _ := ec.ExporterConfig() // checked by ReloadCheck
				if err := a.Reload(ec); err != nil {
					fmt.Fprintln(os.Stderr, "reload export:", err)
				} else {
					exportConf = ec
					st.setRules(rules)
					fmt.Printf("reloaded %d export rules\n", len(rules))
				}
				continue
			}
			if flushOnExit {
				if n, err := a.Exporter().Flush(); err != nil {
					fmt.Fprintln(os.Stderr, "flush:", err)
				} else {
					fmt.Printf("flushed %d routes\n", n)
				}
			}
			// A plain stop keeps the imported paths (graceful restart keeps them at the peers
			// while we restart); -flush-on-exit first withdraws them, as the fork's
			// keep-routes = false.
			st.importer.Stop(!flushOnExit)
			a.Close()
			s.Stop()
			return nil
		}
	}
}

// state is what the control socket reads from the running daemon.
type state struct {
	adapter *gobgpexport.Adapter
	proto   uint8
	mu      sync.Mutex
	current []routeexport.Rule
	// imports is the import configuration, importer its engine.
	imports  gobgpexport.Imports
	importer *importer
}

func (s *state) importStats() ImportStats { return s.importer.Stats() }
func (s *state) importTargets() []gobgpexport.ImportTarget {
	return s.imports.Targets()
}
func (s *state) importedNetworks() map[string][]netip.Prefix { return s.importer.Imported() }

func (s *state) exporter() *routeexport.Exporter { return s.adapter.Exporter() }
func (s *state) vrfExporters() []*gobgpexport.VRFExporter {
	return s.adapter.VRFExporters()
}
func (s *state) protocol() uint8 { return s.proto }
func (s *state) endOfRIB() bool  { return s.adapter.EndOfRIBDone() }

func (s *state) rules() []routeexport.Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

func (s *state) setRules(r []routeexport.Rule) {
	s.mu.Lock()
	s.current = r
	s.mu.Unlock()
}
