package main

// The command line client of the control socket, with the commands of GoBGP's netlink export
// design: `netlink`, `netlink import`, `netlink import stats`, `netlink export [--vrf NAME]`,
// `netlink export rules`, `netlink export stats [RULE]` and `netlink export flush`.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

const cliUsage = `usage: gobgp-export [-api SOCKET] [-j] netlink [import [stats] | export [rules | stats [RULE] | flush | --vrf NAME]]`

// runCLI runs one CLI command against the daemon's control socket and prints the answer to w
// (as JSON with asJSON).
func runCLI(w io.Writer, sock string, asJSON bool, args []string) error {
	if len(args) == 0 || args[0] != "netlink" {
		return errors.New(cliUsage)
	}
	args = args[1:]
	var req request
	switch {
	case len(args) == 0:
		req.Cmd = "status"
	case args[0] == "import" && len(args) == 1:
		req.Cmd = "import"
	case args[0] == "import" && len(args) == 2 && args[1] == "stats":
		req.Cmd = "import-stats"
	case args[0] != "export":
		return errors.New(cliUsage)
	case len(args) == 1 || strings.HasPrefix(args[1], "-"):
		fs := flag.NewFlagSet("netlink export", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		vrf := fs.String("vrf", "", "only routes exported into this VRF")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
			return errors.New(cliUsage)
		}
		req = request{Cmd: "routes", VRF: *vrf}
	case args[1] == "rules" && len(args) == 2:
		req.Cmd = "rules"
	case args[1] == "stats" && len(args) <= 3:
		req.Cmd = "stats"
		if len(args) == 3 {
			req.Rule = args[2]
		}
	case args[1] == "flush" && len(args) == 2:
		req.Cmd = "flush"
	default:
		return errors.New(cliUsage)
	}
	rep, err := ask(sock, req)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReply(w, req, rep)
	return nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func printRules(w io.Writer, rules []ruleInfo) {
	for i, r := range rules {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Rule: %s\n", r.Name)
		vrf := r.VRF
		if vrf == "" {
			vrf = "(none)"
		}
		fmt.Fprintf(w, "  VRF:              %s\n", vrf)
		fmt.Fprintf(w, "  Table ID:         %d\n", r.Table)
		fmt.Fprintf(w, "  Metric:           %d\n", r.Metric)
		fmt.Fprintf(w, "  Validate Nexthop: %v\n", r.ValidateNexthop)
		list := func(label string, v []string) {
			for j, c := range v {
				if j == 0 {
					fmt.Fprintf(w, "  %-18s%s\n", label, c)
				} else {
					fmt.Fprintf(w, "  %-18s%s\n", "", c)
				}
			}
		}
		if len(r.Communities) == 0 && len(r.LargeCommunities) == 0 {
			fmt.Fprintf(w, "  Communities:      (match all routes)\n")
		}
		list("Communities:", r.Communities)
		list("Large Communities:", r.LargeCommunities)
	}
}

func printReply(w io.Writer, req request, rep reply) {
	switch req.Cmd {
	case "status":
		fmt.Fprintf(w, "Netlink Status:\n\nExport: %v\n  Route Protocol: %d\n  End-of-RIB:     %v\n  Rules:          %d\n",
			rep.Enabled, rep.Protocol, rep.EndOfRIB, len(rep.Rules))
		fmt.Fprintln(w, "  (use 'gobgp-export netlink export rules' to see export configuration)")
	case "rules":
		printRules(w, rep.Rules)
	case "routes":
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		fmt.Fprintln(tw, "Prefix\tNexthop\tVRF\tTable ID\tMetric\tRule\tExported At")
		fmt.Fprintln(tw, "------\t-------\t---\t--------\t------\t----\t-----------")
		for _, r := range rep.Routes {
			vrf := r.VRF
			if vrf == "" {
				vrf = "-"
			}
			nh := "-" // a withdrawal waiting in the dampening window
			if r.Nexthop.IsValid() {
				nh = r.Nexthop.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", r.Prefix, nh, vrf, r.Table, r.Metric, r.Rule, when(r.ExportedAt))
		}
		tw.Flush()
	case "stats":
		s := rep.Stats
		title := "Export Statistics:"
		if req.Rule != "" {
			title = fmt.Sprintf("Export Statistics of rule %s:", req.Rule)
		}
		fmt.Fprintln(w, title)
		fmt.Fprintf(w, "  Total Exported:              %d\n", s.Exported)
		fmt.Fprintf(w, "  Total Withdrawn:             %d\n", s.Withdrawn)
		fmt.Fprintf(w, "  Total Errors:                %d\n", s.Errors)
		fmt.Fprintf(w, "  Nexthop Validation Attempts: %d\n", s.NexthopValidations)
		fmt.Fprintf(w, "  Nexthop Validation Failures: %d\n", s.NexthopFailures)
		fmt.Fprintf(w, "  Dampened Updates:            %d\n", s.Dampened)
		fmt.Fprintf(w, "  Kernel Operations:           %d\n", s.KernelOps)
		fmt.Fprintf(w, "  Last Export:                 %s\n", when(s.LastExport))
		fmt.Fprintf(w, "  Last Withdraw:               %s\n", when(s.LastWithdraw))
		fmt.Fprintf(w, "  Last Error:                  %s\n", when(s.LastError))
		if s.LastErrorMessage != "" {
			fmt.Fprintf(w, "  Last Error Message:          %s\n", s.LastErrorMessage)
		}
		if len(rep.RuleStats) > 0 {
			fmt.Fprintln(w, "\nPer Rule:")
			tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
			fmt.Fprintln(tw, "  Rule\tExported\tWithdrawn\tErrors")
			names := make([]string, 0, len(rep.RuleStats))
			for name := range rep.RuleStats {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				rs := rep.RuleStats[name]
				fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\n", name, rs.Exported, rs.Withdrawn, rs.Errors)
			}
			tw.Flush()
		}
	case "flush":
		fmt.Fprintf(w, "flushed %d routes\n", rep.Flushed)
	case "import":
		fmt.Fprintln(w, "Netlink Import Configuration:")
		if len(rep.Imports) == 0 {
			fmt.Fprintln(w, "  (not enabled)")
		}
		for _, im := range rep.Imports {
			vrf := im.VRF
			if vrf == "" {
				vrf = "global"
			}
			fmt.Fprintf(w, "  VRF:        %s\n  Interfaces: %v\n  Imported:   %v\n", vrf, im.Interfaces, im.Networks)
		}
	case "import-stats":
		s := rep.ImportStats
		fmt.Fprintln(w, "Import Statistics:")
		fmt.Fprintf(w, "  Total Imported:  %d\n", s.Imported)
		fmt.Fprintf(w, "  Total Withdrawn: %d\n", s.Withdrawn)
		fmt.Fprintf(w, "  Total Errors:    %d\n", s.Errors)
		fmt.Fprintf(w, "  Last Import:     %s\n", when(s.LastImport))
		fmt.Fprintf(w, "  Last Withdraw:   %s\n", when(s.LastWithdraw))
		if s.LastError != "" {
			fmt.Fprintf(w, "  Last Error:      %s (%s)\n", s.LastError, when(s.LastErrorTime))
		}
	}
}
