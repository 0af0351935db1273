package main

// The command line client of the daemon's netlink API (NetlinkService over gRPC, the address
// stock `gobgp` uses), with the commands of GoBGP's netlink design (the PureLB fork's
// `gobgp netlink ...`), and `version`:
//
//	netlink                                   status of import and export
//	netlink import                            import configuration and the imported networks
//	netlink import stats                      import counters
//	netlink export [--vrf NAME]               exported routes
//	netlink export rules                      export rules in force
//	netlink export stats [RULE]               export counters (global, per rule, or one rule's)
//	netlink export flush [--vrf NAME]         remove exported routes (all, or one Linux VRF's)
//	version                                   our version, the commit, the embedded GoBGP's

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	netlinkapi "github.com/lbnet/lbnet/examples/gobgp-export/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const cliUsage = `usage: gobgp-export [-u HOST] [-p PORT | -target unix:///PATH] [-j] COMMAND
  netlink
  netlink import [stats]
  netlink export [--vrf NAME]
  netlink export rules
  netlink export stats [RULE]
  netlink export flush [--vrf NAME]
  version`

// cliCommand is a parsed command line.
type cliCommand struct {
	// what: "status", "import", "import-stats", "routes", "rules", "stats", "flush", "version".
	what, vrf, rule string
}

// vrfFlag parses [--vrf NAME] (and nothing else) from args.
func vrfFlag(args []string) (string, error) {
	fs := flag.NewFlagSet("netlink export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vrf := fs.String("vrf", "", "Linux VRF")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return "", errors.New(cliUsage)
	}
	return *vrf, nil
}

func parseCLI(args []string) (cliCommand, error) {
	bad := errors.New(cliUsage)
	if len(args) == 1 && args[0] == "version" {
		return cliCommand{what: "version"}, nil
	}
	if len(args) == 0 || args[0] != "netlink" {
		return cliCommand{}, bad
	}
	args = args[1:]
	switch {
	case len(args) == 0:
		return cliCommand{what: "status"}, nil
	case args[0] == "import" && len(args) == 1:
		return cliCommand{what: "import"}, nil
	case args[0] == "import" && len(args) == 2 && args[1] == "stats":
		return cliCommand{what: "import-stats"}, nil
	case args[0] != "export":
		return cliCommand{}, bad
	case len(args) == 1 || strings.HasPrefix(args[1], "-"):
		vrf, err := vrfFlag(args[1:])
		return cliCommand{what: "routes", vrf: vrf}, err
	case args[1] == "rules" && len(args) == 2:
		return cliCommand{what: "rules"}, nil
	case args[1] == "stats" && len(args) <= 3:
		c := cliCommand{what: "stats"}
		if len(args) == 3 {
			c.rule = args[2]
		}
		return c, nil
	case args[1] == "flush":
		vrf, err := vrfFlag(args[2:])
		return cliCommand{what: "flush", vrf: vrf}, err
	}
	return cliCommand{}, bad
}

// runCLI runs one command against the daemon's API at target (a gRPC target: HOST:PORT or
// unix:///PATH) and prints the answer to w: as text, or with asJSON as the reply's protobuf
// JSON (field names as in api/netlink.proto; ListNetlinkExport: an array of its routes).
func runCLI(w io.Writer, target string, asJSON bool, args []string) error {
	cmd, err := parseCLI(args)
	if err != nil {
		return err
	}
	if cmd.what == "version" {
		printVersion(w)
		return nil
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize)))
	if err != nil {
		return err
	}
	defer conn.Close()
	c := netlinkapi.NewNetlinkServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reply, err := call(ctx, c, cmd)
	if err != nil {
		if s, ok := status.FromError(err); ok {
			return fmt.Errorf("%s (%s)", s.Message(), s.Code())
		}
		return err
	}
	if asJSON {
		return printJSON(w, reply)
	}
	printText(w, cmd, reply)
	return nil
}

// routeList is the streamed answer of ListNetlinkExport.
type routeList []*netlinkapi.ListNetlinkExportResponse_ExportedRoute

func call(ctx context.Context, c netlinkapi.NetlinkServiceClient, cmd cliCommand) (any, error) {
	switch cmd.what {
	case "status", "import":
		return c.GetNetlink(ctx, &netlinkapi.GetNetlinkRequest{})
	case "import-stats":
		return c.GetNetlinkImportStats(ctx, &netlinkapi.GetNetlinkImportStatsRequest{})
	case "routes":
		stream, err := c.ListNetlinkExport(ctx, &netlinkapi.ListNetlinkExportRequest{Vrf: cmd.vrf})
		if err != nil {
			return nil, err
		}
		out := routeList{}
		for {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, r.Route)
		}
	case "rules":
		return c.ListNetlinkExportRules(ctx, &netlinkapi.ListNetlinkExportRulesRequest{})
	case "stats":
		return c.GetNetlinkExportStats(ctx, &netlinkapi.GetNetlinkExportStatsRequest{Rule: cmd.rule})
	case "flush":
		return c.FlushNetlinkExport(ctx, &netlinkapi.FlushNetlinkExportRequest{Vrf: cmd.vrf})
	}
	return nil, fmt.Errorf("unknown command %q", cmd.what)
}

var jsonOpts = protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true, EmitUnpopulated: true}

func printJSON(w io.Writer, reply any) error {
	if routes, ok := reply.(routeList); ok {
		if len(routes) == 0 {
			_, err := fmt.Fprintln(w, "[]")
			return err
		}
		fmt.Fprint(w, "[")
		for i, r := range routes {
			b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(r)
			if err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprint(w, ",")
			}
			fmt.Fprintf(w, "\n  %s", b)
		}
		fmt.Fprintln(w, "\n]")
		return nil
	}
	b, err := jsonOpts.Marshal(reply.(proto.Message))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// when formats Unix seconds as local time, 0 as "never".
func when(sec int64) string {
	if sec == 0 {
		return "never"
	}
	return time.Unix(sec, 0).Local().Format("2006-01-02 15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printCommunities prints the rule's community lines, in the fork's layout.
func printCommunities(w io.Writer, std, large []string) {
	list := func(label string, v []string) {
		for j, c := range v {
			if j > 0 {
				label = ""
			}
			fmt.Fprintf(w, "  %-18s %s\n", label, c)
		}
	}
	if len(std) == 0 && len(large) == 0 {
		fmt.Fprintf(w, "  %-18s %s\n", "Communities:", "(match all routes)")
	}
	list("Communities:", std)
	list("Large Communities:", large)
}

func table(id int32) string {
	if id == 0 {
		return "0 (the VRF's own table)"
	}
	return fmt.Sprint(id)
}

// printImport prints the import configuration and the networks each import has in its RIB:
// [netlink.import]'s (into VRF, or the global RIB), then each [vrfs.netlink-import]'s.
func printImport(w io.Writer, r *netlinkapi.GetNetlinkResponse) {
	if r.GlobalImport {
		vrf := r.Vrf
		if vrf == "" {
			vrf = "global"
		}
		fmt.Fprintf(w, "  VRF:        %s\n", vrf)
		fmt.Fprintf(w, "  Interfaces: %v\n", r.Interfaces)
		fmt.Fprintf(w, "  Imported:   %v\n", r.ImportedNetworks)
	}
	for _, v := range r.VrfImports {
		fmt.Fprintf(w, "  VRF %s: %v\n", v.VrfName, v.Interfaces)
		fmt.Fprintf(w, "    Imported: %v\n", v.ImportedNetworks)
	}
}

func printText(w io.Writer, cmd cliCommand, reply any) {
	switch r := reply.(type) {
	case *netlinkapi.GetNetlinkResponse:
		if cmd.what == "import" {
			if !r.ImportEnabled {
				fmt.Fprintln(w, "Netlink Import: not configured")
				return
			}
			fmt.Fprintln(w, "Netlink Import Configuration:")
			printImport(w, r)
			return
		}
		fmt.Fprintf(w, "Netlink Status:\n\nImport: %v\n", r.ImportEnabled)
		if r.ImportEnabled {
			printImport(w, r)
		}
		fmt.Fprintf(w, "\nExport: %v\n", r.ExportEnabled)
		fmt.Fprintf(w, "  Route Protocol:     %d\n", r.RouteProtocol)
		fmt.Fprintf(w, "  Dampening Interval: %d ms (cap %d ms)\n", r.DampeningInterval, r.DampeningCap)
		fmt.Fprintf(w, "  End-of-RIB:         %v\n", r.EndOfRib)
		fmt.Fprintf(w, "  Rules:              %d (and %d GoBGP VRFs)\n", r.ExportRules, r.VrfExportRules)
		fmt.Fprintln(w, "  (use 'gobgp-export netlink export rules' to see export configuration)")
	case *netlinkapi.GetNetlinkImportStatsResponse:
		fmt.Fprintln(w, "Import Statistics:")
		fmt.Fprintf(w, "  Total Imported:  %d\n", r.Imported)
		fmt.Fprintf(w, "  Total Withdrawn: %d\n", r.Withdrawn)
		fmt.Fprintf(w, "  Total Errors:    %d\n", r.Errors)
		fmt.Fprintf(w, "  Last Import:     %s\n", when(r.LastImportTime))
		fmt.Fprintf(w, "  Last Withdraw:   %s\n", when(r.LastWithdrawTime))
		if r.LastErrorMsg != "" {
			fmt.Fprintf(w, "  Last Error:      %s (%s)\n", r.LastErrorMsg, when(r.LastErrorTime))
		}
	case routeList:
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		fmt.Fprintln(tw, "Prefix\tNexthop\tVRF\tTable ID\tMetric\tRule\tExported At")
		fmt.Fprintln(tw, "------\t-------\t---\t--------\t------\t----\t-----------")
		for _, x := range r {
			// Nexthop "-": a withdrawal waiting in the dampening window.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", x.Prefix, orDash(x.Nexthop), orDash(x.Vrf), x.TableId,
				x.Metric, x.RuleName, when(x.ExportedAt))
		}
		tw.Flush()
	case *netlinkapi.ListNetlinkExportRulesResponse:
		for i, x := range r.Rules {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "Rule: %s\n", x.Name)
			vrf, tbl := "(none)", fmt.Sprint(x.TableId)
			if x.Vrf != "" {
				vrf, tbl = x.Vrf, table(x.TableId)
			}
			fmt.Fprintf(w, "  VRF:               %s\n", vrf)
			fmt.Fprintf(w, "  Table ID:          %s\n", tbl)
			fmt.Fprintf(w, "  Metric:            %d\n", x.Metric)
			fmt.Fprintf(w, "  Validate Nexthop:  %v\n", x.ValidateNexthop)
			printCommunities(w, x.CommunityList, x.LargeCommunityList)
		}
		if len(r.VrfRules) > 0 {
			fmt.Fprintln(w, "\nPer-VRF Export Rules:")
			for _, x := range r.VrfRules {
				fmt.Fprintf(w, "\nVRF: %s (RD %s) -> Linux VRF: %s\n", x.GobgpVrf, x.Rd, x.LinuxVrf)
				fmt.Fprintf(w, "  Linux Table ID:    %s\n", table(x.LinuxTableId))
				fmt.Fprintf(w, "  Metric:            %d\n", x.Metric)
				fmt.Fprintf(w, "  Validate Nexthop:  %v\n", x.ValidateNexthop)
				printCommunities(w, x.CommunityList, x.LargeCommunityList)
			}
		}
	case *netlinkapi.GetNetlinkExportStatsResponse:
		title := "Export Statistics:"
		if cmd.rule != "" {
			title = fmt.Sprintf("Export Statistics of rule %s:", cmd.rule)
		}
		fmt.Fprintln(w, title)
		fmt.Fprintf(w, "  Total Exported:              %d\n", r.Exported)
		fmt.Fprintf(w, "  Total Withdrawn:             %d\n", r.Withdrawn)
		fmt.Fprintf(w, "  Total Errors:                %d\n", r.Errors)
		fmt.Fprintf(w, "  Nexthop Validation Attempts: %d\n", r.NexthopValidationAttempts)
		fmt.Fprintf(w, "  Nexthop Validation Failures: %d\n", r.NexthopValidationFailures)
		fmt.Fprintf(w, "  Dampened Updates:            %d\n", r.DampenedUpdates)
		fmt.Fprintf(w, "  Kernel Operations:           %d\n", r.KernelOperations)
		fmt.Fprintf(w, "  Last Export:                 %s\n", when(r.LastExportTime))
		fmt.Fprintf(w, "  Last Withdraw:               %s\n", when(r.LastWithdrawTime))
		fmt.Fprintf(w, "  Last Error:                  %s\n", when(r.LastErrorTime))
		if r.LastErrorMsg != "" {
			fmt.Fprintf(w, "  Last Error Message:          %s\n", r.LastErrorMsg)
		}
		if len(r.Rules) > 0 {
			fmt.Fprintln(w, "\nPer Rule:")
			tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
			fmt.Fprintln(tw, "  Rule\tExported\tWithdrawn\tErrors")
			for _, x := range r.Rules {
				fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\n", x.Rule, x.Exported, x.Withdrawn, x.Errors)
			}
			tw.Flush()
		}
	case *netlinkapi.FlushNetlinkExportResponse:
		fmt.Fprintf(w, "flushed %d routes\n", r.FlushedCount)
	}
}
