// Command gobgp-export runs a GoBGP speaker whose best paths lbnet exports into kernel routing
// tables. It reads a gobgpd TOML configuration file: GoBGP's own sections configure BGP, the
// [netlink.export] section configures the export, [netlink.import] and [vrfs.netlink-import]
// the import of interface networks into GoBGP's RIBs (import.go; see gobgpd.toml next to this
// file).
//
//	gobgp-export -f gobgpd.toml [-api-hosts 127.0.0.1:50051]
//
// The daemon serves GoBGP's gRPC API (the stock `gobgp` command works against it) and our
// NetlinkService (api/netlink.proto) on one gRPC server at -api-hosts; the same binary with a
// command (`gobgp-export netlink ...`, `version`; cli.go) is the client of NetlinkService.
//
// SIGHUP re-reads the file: BGP changes go to GoBGP, export rules are reloaded and every known
// route is re-evaluated. A file with an error, or one changing route-protocol,
// dampening-interval, dampening-cap or netns (fixed while the engine runs), or changing the
// import sections, is refused as a whole with the reason on stderr, and the daemon keeps running
// on the old configuration. SIGINT/SIGTERM stop the speaker and leave the exported routes in
// place (a restart keeps them until End-of-RIB) and the imported paths in the RIB (the fork's
// keep-routes); with -flush-on-exit both are removed first.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"syscall"
	"time"

	gobgpexport "github.com/lbnet/lbnet/go/gobgp"
	"github.com/osrg/gobgp/v4/pkg/config"
	"github.com/osrg/gobgp/v4/pkg/config/oc"
	"github.com/osrg/gobgp/v4/pkg/server"
)

func main() {
	file := flag.String("f", "gobgpd.toml", "gobgpd TOML configuration with a [netlink.export] section")
	statsEvery := flag.Duration("stats", 10*time.Second, "print export statistics this often (0: never)")
	flushOnExit := flag.Bool("flush-on-exit", false, "remove exported routes and withdraw imported paths on exit")
	check := flag.Bool("check", false, "only check the configuration file and exit")
	apiHosts := flag.String("api-hosts", "127.0.0.1:50051",
		"daemon: serve GoBGP's gRPC API and ours on these comma-separated addresses (HOST:PORT or unix:///PATH; empty: no API)")
	host := flag.String("u", "127.0.0.1", "CLI: the daemon's API host")
	port := flag.Int("p", 50051, "CLI: the daemon's API port")
	target := flag.String("target", "", "CLI: gRPC target instead of -u/-p, e.g. unix:///run/gobgp-export.sock")
	asJSON := flag.Bool("j", false, "CLI: print the reply as JSON")
	flag.Parse()
	if flag.NArg() > 0 {
		addr := *target
		if addr == "" {
			addr = net.JoinHostPort(*host, strconv.Itoa(*port))
		}
		if err := runCLI(os.Stdout, addr, *asJSON, flag.Args()); err != nil {
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
	if err := run(*file, *apiHosts, *statsEvery, *flushOnExit); err != nil {
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

// importReloadCheck refuses a reload whose import sections are unreadable or differ from the
// running ones (the importer's targets are fixed while it runs).
func importReloadCheck(running gobgpexport.Imports, file string) error {
	next, err := readImport(file)
	if err == nil && !reflect.DeepEqual(next, running) {
		err = fmt.Errorf("cannot change while running (restart the daemon to apply)")
	}
	if err != nil {
		return fmt.Errorf("[netlink.import] / [vrfs.netlink-import]: %w", err)
	}
	return nil
}

func run(file, apiHosts string, statsEvery time.Duration, flushOnExit bool) error {
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
	// GoBGP's gRPC server serves GoBgpService and, through grpcOptions, our NetlinkService; it
	// starts with the BGP server, before the export engine exists, so st.adapter is set before
	// NewBgpServer and the first request can only come once the listener is up.
	st := &state{conf: exportConf}
	opts := []server.ServerOption{server.LoggerOption(slog.New(slog.NewTextHandler(os.Stderr, nil)), nil)}
	if apiHosts != "" {
		if err := checkAPIHosts(apiHosts); err != nil {
			return err
		}
		opts = append(opts, server.GrpcListenAddress(apiHosts), server.GrpcOption(grpcOptions(st)))
	}
	s := server.NewBgpServer(opts...)
	go s.Serve()
	current, err := config.InitialConfig(ctx, s, bgpConf, false)
	if err != nil {
		return err
	}
	a, err := gobgpexport.Start(ctx, s, exportConf)
	if err != nil {
		return err
	}
	_, rules, _ := exportConf.ExporterConfig() // checked by Start
	// Netlink import: the listed interfaces' networks into GoBGP's RIBs, event-driven.
	imports, err := readImport(file)
	var im *importer
	if err == nil {
		im, err = startImporter(s, imports.Targets())
	}
	if err != nil {
		a.Close()
		s.Stop()
		return err
	}
	st.start(a, rules, imports, im)
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
				if err != nil {
					fmt.Fprintln(os.Stderr, "reload refused, keeping the old configuration: [netlink.export]:", err)
					continue
				}
				if err := importReloadCheck(imports, file); err != nil {
					fmt.Fprintln(os.Stderr, "reload refused, keeping the old configuration:", err)
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
					st.setConfig(ec, rules)
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
			im.Stop(!flushOnExit)
			a.Close()
			s.Stop()
			return nil
		}
	}
}
