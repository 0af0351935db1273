package main

// The daemon's gRPC API. GoBGP's server package owns the gRPC server (server.GrpcListenAddress,
// the address gobgpd calls --api-hosts) and registers GoBGP's GoBgpService on it, so the stock
// `gobgp` command works against the daemon. Our NetlinkService (api/netlink.proto) is served on
// the same server through grpc.UnknownServiceHandler: gRPC hands every method it has no handler
// for to it, and it dispatches ours through the generated service descriptor (so a request is
// decoded, and a reply encoded, by the generated code as on any registered service).

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	netlinkapi "github.com/lbnet/lbnet/examples/gobgp-export/api"
	gobgpexport "github.com/lbnet/lbnet/go/gobgp"
	"github.com/lbnet/lbnet/go/routeexport"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxMsgSize is gobgpd's limit for gRPC messages in both directions.
const maxMsgSize = 256 << 20

// grpcOptions are the options of GoBGP's gRPC server: gobgpd's message size limits and the
// handler that serves our NetlinkService.
func grpcOptions(st *state) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxMsgSize), grpc.MaxSendMsgSize(maxMsgSize),
		grpc.UnknownServiceHandler(dispatcher(&netlinkService{st: st}, &netlinkapi.NetlinkService_ServiceDesc)),
	}
}

// dispatcher serves the methods of desc, implemented by impl, for a gRPC server on which desc
// is not registered; any other unknown method is UNIMPLEMENTED, as without the handler.
func dispatcher(impl any, desc *grpc.ServiceDesc) grpc.StreamHandler {
	return func(_ any, stream grpc.ServerStream) error {
		full, ok := grpc.MethodFromServerStream(stream)
		if !ok {
			return status.Error(codes.Internal, "no method name in the stream")
		}
		svc, method, _ := strings.Cut(strings.TrimPrefix(full, "/"), "/")
		if svc == desc.ServiceName {
			for _, m := range desc.Methods {
				if m.MethodName == method {
					reply, err := m.Handler(impl, stream.Context(), stream.RecvMsg, nil)
					if err != nil {
						return err
					}
					return stream.SendMsg(reply)
				}
			}
			for _, s := range desc.Streams {
				if s.StreamName == method {
					return s.Handler(impl, stream)
				}
			}
		}
		return status.Errorf(codes.Unimplemented, "unknown method %s", full)
	}
}

// checkAPIHosts listens on each of the comma-separated hosts (gobgpd's --api-hosts syntax:
// HOST:PORT or unix:///PATH) and closes again, so that an address in use is an error at start:
// GoBGP only logs a failed gRPC listen and runs on without its API.
func checkAPIHosts(hosts string) error {
	for _, h := range strings.Split(hosts, ",") {
		network, addr := "tcp", h
		if p, ok := strings.CutPrefix(h, "unix://"); ok {
			network, addr = "unix", p
		}
		l, err := net.Listen(network, addr)
		if err != nil {
			return fmt.Errorf("-api-hosts %s: %w", h, err)
		}
		l.Close()
	}
	return nil
}

// state is what the gRPC service reads from the running daemon. The API is up before the
// export engine (GoBGP starts its gRPC server with the BGP server): until start, every netlink
// method answers UNAVAILABLE (GetNetlinkImportStats: FAILED_PRECONDITION, no import yet).
type state struct {
	mu      sync.Mutex
	adapter *gobgpexport.Adapter
	conf    gobgpexport.Config
	current []routeexport.Rule
	// imports is the import configuration (fixed while running: SIGHUP refuses a change),
	// importer its engine (import.go; running even with no import enabled).
	imports  gobgpexport.Imports
	importer *importer
}

// start records the running export engine and its rules, and the import and its engine.
func (s *state) start(a *gobgpexport.Adapter, r []routeexport.Rule, imports gobgpexport.Imports, im *importer) {
	s.mu.Lock()
	s.adapter, s.current = a, r
	s.imports, s.importer = imports, im
	s.mu.Unlock()
}

// importState returns the import configuration and its engine; nil when import is not
// configured (no enabled [netlink.import] or [vrfs.netlink-import]) or the daemon is starting.
func (s *state) importState() (gobgpexport.Imports, *importer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.importer == nil || len(s.imports.Targets()) == 0 {
		return s.imports, nil
	}
	return s.imports, s.importer
}

// get returns the engine, the configuration and the rules in force; UNAVAILABLE before start.
func (s *state) get() (*gobgpexport.Adapter, gobgpexport.Config, []routeexport.Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adapter == nil {
		return nil, s.conf, nil, status.Error(codes.Unavailable, "the export engine is starting")
	}
	return s.adapter, s.conf, s.current, nil
}

// setConfig records a reloaded configuration and its rules.
func (s *state) setConfig(c gobgpexport.Config, r []routeexport.Rule) {
	s.mu.Lock()
	s.conf, s.current = c, r
	s.mu.Unlock()
}

// netlinkService implements NetlinkService over the daemon's state.
type netlinkService struct {
	netlinkapi.UnimplementedNetlinkServiceServer
	st *state
}

// formatCommunity prints a standard community as AS:VALUE.
func formatCommunity(c uint32) string { return fmt.Sprintf("%d:%d", c>>16, c&0xffff) }

func communityStrings(r routeexport.Rule) (std, large []string) {
	std, large = []string{}, []string{}
	for _, c := range r.Communities {
		std = append(std, formatCommunity(c))
	}
	for _, l := range r.LargeCommunities {
		large = append(large, l.String())
	}
	return std, large
}

// unixSeconds is t in Unix seconds, 0 for the zero time ("never").
func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (n *netlinkService) GetNetlink(context.Context, *netlinkapi.GetNetlinkRequest) (*netlinkapi.GetNetlinkResponse, error) {
	a, conf, rules, err := n.st.get()
	if err != nil {
		return nil, err
	}
	ecfg, _, err := conf.ExporterConfig()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	proto := int32(ecfg.Protocol)
	if proto == 0 {
		proto = 186 // the library's default
	}
	r := &netlinkapi.GetNetlinkResponse{
		ExportEnabled: true, RouteProtocol: proto,
		DampeningInterval: uint32(ecfg.Dampening.Milliseconds()), DampeningCap: uint32(ecfg.DampeningCap.Milliseconds()),
		EndOfRib: a.EndOfRIBDone(), ExportRules: uint32(len(rules)),
		VrfExportRules: uint32(len(a.VRFExporters())),
	}
	imports, im := n.st.importState()
	importStatus(r, imports, im)
	return r, nil
}

// importStatus fills GetNetlink's import part: the configuration and, from the running importer
// (nil: import not configured), the networks in each import's RIB.
func importStatus(r *netlinkapi.GetNetlinkResponse, imports gobgpexport.Imports, im *importer) {
	if im != nil {
		// The networks in each RIB now (GoBGP VRF, "" = global); a VRF that both the global
		// import (vrf = NAME) and its own import fill lists the same networks in both places.
		nets := im.Imported()
		r.ImportEnabled = true
		if g := imports.Global; g.Enabled {
			r.GlobalImport = true
			r.Vrf, r.Interfaces = g.VRF, g.InterfaceList
			r.ImportedNetworks = prefixStrings(nets[g.VRF])
		}
		for _, v := range imports.VRFs {
			if v.Enabled {
				r.VrfImports = append(r.VrfImports, &netlinkapi.NetlinkVrfImport{
					VrfName: v.VRF, Interfaces: v.InterfaceList, ImportedNetworks: prefixStrings(nets[v.VRF])})
			}
		}
	}
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func (n *netlinkService) GetNetlinkImportStats(context.Context, *netlinkapi.GetNetlinkImportStatsRequest) (*netlinkapi.GetNetlinkImportStatsResponse, error) {
	_, im := n.st.importState()
	if im == nil {
		return nil, status.Error(codes.FailedPrecondition, "netlink import is not configured")
	}
	s := im.Stats()
	return &netlinkapi.GetNetlinkImportStatsResponse{
		Imported: s.Imported, Withdrawn: s.Withdrawn, Errors: s.Errors,
		LastImportTime: unixSeconds(s.LastImport), LastWithdrawTime: unixSeconds(s.LastWithdraw),
		LastErrorTime: unixSeconds(s.LastErrorTime), LastErrorMsg: s.LastError,
	}, nil
}

// exported lists the routes of every engine: the global rules' (VRF from the rule) and each
// GoBGP VRF's (VRF: its Linux VRF).
func exported(a *gobgpexport.Adapter, rules []routeexport.Rule) ([]*netlinkapi.ListNetlinkExportResponse_ExportedRoute, error) {
	vrfOf := map[string]string{}
	for _, r := range rules {
		vrfOf[r.Name] = r.VRF
	}
	var out []*netlinkapi.ListNetlinkExportResponse_ExportedRoute
	add := func(routes []routeexport.ExportedRoute, vrf func(string) string, gobgpVRF string) {
		for _, r := range routes {
			nh := ""
			if r.Gateway.IsValid() {
				nh = r.Gateway.String()
			}
			out = append(out, &netlinkapi.ListNetlinkExportResponse_ExportedRoute{
				Prefix: r.Prefix.String(), Nexthop: nh, Vrf: vrf(r.Rule), TableId: int32(r.Table),
				Metric: r.Metric, RuleName: r.Rule, ExportedAt: unixSeconds(r.ExportedAt), GobgpVrf: gobgpVRF,
			})
		}
	}
	routes, err := a.Exporter().Routes()
	if err != nil {
		return nil, err
	}
	add(routes, func(rule string) string { return vrfOf[rule] }, "")
	for _, v := range a.VRFExporters() {
		routes, err := v.Exporter.Routes()
		if err != nil {
			return nil, fmt.Errorf("VRF %q: %w", v.Name, err)
		}
		linux := v.LinuxVRF
		add(routes, func(string) string { return linux }, v.Name)
	}
	return out, nil
}

func (n *netlinkService) ListNetlinkExport(req *netlinkapi.ListNetlinkExportRequest, stream grpc.ServerStreamingServer[netlinkapi.ListNetlinkExportResponse]) error {
	a, _, rules, err := n.st.get()
	if err != nil {
		return err
	}
	routes, err := exported(a, rules)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	for _, r := range routes {
		if req.Vrf != "" && r.Vrf != req.Vrf {
			continue
		}
		if err := stream.Send(&netlinkapi.ListNetlinkExportResponse{Route: r}); err != nil {
			return err
		}
	}
	return nil
}

func (n *netlinkService) ListNetlinkExportRules(context.Context, *netlinkapi.ListNetlinkExportRulesRequest) (*netlinkapi.ListNetlinkExportRulesResponse, error) {
	a, conf, rules, err := n.st.get()
	if err != nil {
		return nil, err
	}
	out := &netlinkapi.ListNetlinkExportRulesResponse{}
	for _, r := range rules {
		std, large := communityStrings(r)
		out.Rules = append(out.Rules, &netlinkapi.ListNetlinkExportRulesResponse_ExportRule{
			Name: r.Name, CommunityList: std, LargeCommunityList: large, Vrf: r.VRF,
			TableId: int32(r.Table), Metric: r.Metric, ValidateNexthop: r.ValidateNexthop,
		})
	}
	vrfRules, err := conf.VRFRules()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	for _, v := range a.VRFExporters() {
		r, ok := vrfRules[v.Name]
		if !ok {
			continue
		}
		std, large := communityStrings(r)
		out.VrfRules = append(out.VrfRules, &netlinkapi.ListNetlinkExportRulesResponse_VrfExportRule{
			GobgpVrf: v.Name, LinuxVrf: r.VRF, LinuxTableId: int32(r.Table), Metric: r.Metric,
			ValidateNexthop: r.ValidateNexthop, CommunityList: std, LargeCommunityList: large, Rd: v.RD,
		})
	}
	return out, nil
}

func (n *netlinkService) GetNetlinkExportStats(_ context.Context, req *netlinkapi.GetNetlinkExportStatsRequest) (*netlinkapi.GetNetlinkExportStatsResponse, error) {
	a, _, rules, err := n.st.get()
	if err != nil {
		return nil, err
	}
	ex := a.Exporter()
	if req.Rule != "" {
		if !slices.ContainsFunc(rules, func(r routeexport.Rule) bool { return r.Name == req.Rule }) {
			return nil, status.Errorf(codes.NotFound, "no export rule %q", req.Rule)
		}
	}
	s, err := ex.Stats(req.Rule)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	out := &netlinkapi.GetNetlinkExportStatsResponse{
		Exported: s.Exported, Withdrawn: s.Withdrawn, Errors: s.Errors,
		NexthopValidationAttempts: s.NexthopValidations, NexthopValidationFailures: s.NexthopFailures,
		DampenedUpdates: s.Dampened, KernelOperations: s.KernelOps,
		LastExportTime: unixSeconds(s.LastExport), LastWithdrawTime: unixSeconds(s.LastWithdraw),
		LastErrorTime: unixSeconds(s.LastError), LastErrorMsg: s.LastErrorMessage,
	}
	if req.Rule == "" {
		for _, r := range rules {
			if rs, err := ex.Stats(r.Name); err == nil {
				out.Rules = append(out.Rules, &netlinkapi.GetNetlinkExportStatsResponse_RuleStats{
					Rule: r.Name, Exported: rs.Exported, Withdrawn: rs.Withdrawn, Errors: rs.Errors})
			}
		}
	}
	return out, nil
}

// FlushNetlinkExport removes what the engines exported. With a VRF, the engines of the GoBGP
// VRFs exporting into that Linux VRF are flushed; a global rule exporting into it is refused
// (FAILED_PRECONDITION): the global engine flushes only as a whole.
func (n *netlinkService) FlushNetlinkExport(_ context.Context, req *netlinkapi.FlushNetlinkExportRequest) (*netlinkapi.FlushNetlinkExportResponse, error) {
	a, _, rules, err := n.st.get()
	if err != nil {
		return nil, err
	}
	total := 0
	if req.Vrf == "" {
		m, err := a.Exporter().Flush()
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		total += m
	} else {
		for _, r := range rules {
			if r.VRF == req.Vrf {
				return nil, status.Errorf(codes.FailedPrecondition,
					"global rule %q exports into VRF %s and the global engine flushes only as a whole: flush without --vrf", r.Name, req.Vrf)
			}
		}
	}
	found := req.Vrf == ""
	for _, v := range a.VRFExporters() {
		if req.Vrf != "" && v.LinuxVRF != req.Vrf {
			continue
		}
		found = true
		m, err := v.Exporter.Flush()
		if err != nil {
			return nil, status.Errorf(codes.Internal, "VRF %q: %v", v.Name, err)
		}
		total += m
	}
	if !found {
		return nil, status.Errorf(codes.NotFound, "no export into VRF %s", req.Vrf)
	}
	return &netlinkapi.FlushNetlinkExportResponse{FlushedCount: uint32(total)}, nil
}
