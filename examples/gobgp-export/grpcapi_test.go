package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	netlinkapi "github.com/lbnet/lbnet/examples/gobgp-export/api"
	gobgpexport "github.com/lbnet/lbnet/go/gobgp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// fakeNetlink answers GetNetlink and ListNetlinkExport with fixed data.
type fakeNetlink struct {
	netlinkapi.UnimplementedNetlinkServiceServer
}

func (fakeNetlink) GetNetlink(context.Context, *netlinkapi.GetNetlinkRequest) (*netlinkapi.GetNetlinkResponse, error) {
	return &netlinkapi.GetNetlinkResponse{ExportEnabled: true, RouteProtocol: 186}, nil
}

func (fakeNetlink) ListNetlinkExport(req *netlinkapi.ListNetlinkExportRequest, s grpc.ServerStreamingServer[netlinkapi.ListNetlinkExportResponse]) error {
	for _, p := range []string{"10.0.0.0/24", "10.0.1.0/24"} {
		if err := s.Send(&netlinkapi.ListNetlinkExportResponse{Route: &netlinkapi.ListNetlinkExportResponse_ExportedRoute{Prefix: p, Vrf: req.Vrf}}); err != nil {
			return err
		}
	}
	return nil
}

// serve starts a gRPC server on the loopback with only the unknown-service dispatcher for
// impl (as on GoBGP's server, where NetlinkService is not registered) and returns a client
// connection.
func serve(t *testing.T, impl any) *grpc.ClientConn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(dispatcher(impl, &netlinkapi.NetlinkService_ServiceDesc)))
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestDispatcherServesUnaryAndStreamingMethods(t *testing.T) {
	c := netlinkapi.NewNetlinkServiceClient(serve(t, fakeNetlink{}))
	ctx := context.Background()
	r, err := c.GetNetlink(ctx, &netlinkapi.GetNetlinkRequest{})
	if err != nil || !r.ExportEnabled || r.RouteProtocol != 186 {
		t.Fatalf("GetNetlink: %v, %v", r, err)
	}
	stream, err := c.ListNetlinkExport(ctx, &netlinkapi.ListNetlinkExportRequest{Vrf: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Route.Prefix+"@"+m.Route.Vrf)
	}
	if strings.Join(got, " ") != "10.0.0.0/24@blue 10.0.1.0/24@blue" {
		t.Fatalf("ListNetlinkExport streamed %v", got)
	}
	// A method the fake does not implement: the generated Unimplemented answer.
	_, err = c.FlushNetlinkExport(ctx, &netlinkapi.FlushNetlinkExportRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("FlushNetlinkExport on the fake: %v", err)
	}
}

func TestDispatcherRefusesOtherServices(t *testing.T) {
	conn := serve(t, fakeNetlink{})
	err := conn.Invoke(context.Background(), "/api.GoBgpService/GetBgp", &emptypb.Empty{}, &emptypb.Empty{})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "/api.GoBgpService/GetBgp") {
		t.Fatalf("unknown service: %v", err)
	}
	err = conn.Invoke(context.Background(), "/lbnet.netlink.v1.NetlinkService/NoSuch", &emptypb.Empty{}, &emptypb.Empty{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method of ours: %v", err)
	}
}

func TestServiceUnavailableBeforeTheEngineStarts(t *testing.T) {
	c := netlinkapi.NewNetlinkServiceClient(serve(t, &netlinkService{st: &state{}}))
	_, err := c.GetNetlink(context.Background(), &netlinkapi.GetNetlinkRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("GetNetlink before start: %v", err)
	}
	_, err = c.GetNetlinkImportStats(context.Background(), &netlinkapi.GetNetlinkImportStatsRequest{})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("GetNetlinkImportStats without import: %v", err)
	}
}

func TestParseCLI(t *testing.T) {
	for _, tc := range []struct {
		args string
		want cliCommand
	}{
		{"netlink", cliCommand{what: "status"}},
		{"netlink import", cliCommand{what: "import"}},
		{"netlink import stats", cliCommand{what: "import-stats"}},
		{"netlink export", cliCommand{what: "routes"}},
		{"netlink export --vrf blue", cliCommand{what: "routes", vrf: "blue"}},
		{"netlink export -vrf=blue", cliCommand{what: "routes", vrf: "blue"}},
		{"netlink export rules", cliCommand{what: "rules"}},
		{"netlink export stats", cliCommand{what: "stats"}},
		{"netlink export stats std", cliCommand{what: "stats", rule: "std"}},
		{"netlink export flush", cliCommand{what: "flush"}},
		{"netlink export flush --vrf green", cliCommand{what: "flush", vrf: "green"}},
		{"version", cliCommand{what: "version"}},
	} {
		got, err := parseCLI(strings.Fields(tc.args))
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "neighbor", "netlink bogus", "netlink import stats x", "netlink export rules x",
		"netlink export --vrf", "netlink export --table 5", "netlink export flush blue", "netlink export stats a b", "version x"} {
		if got, err := parseCLI(strings.Fields(bad)); err == nil {
			t.Errorf("%q accepted: %+v", bad, got)
		}
	}
}

// The service reads the running importer: GetNetlinkImportStats (through the dispatcher) its
// counters, GetNetlink's import part the configuration and the networks in each RIB.
func TestImportThroughTheService(t *testing.T) {
	_, im := startTestBGP(t)
	imports, err := gobgpexport.ParseImportTOML([]byte(importTestConfig))
	if err != nil {
		t.Fatal(err)
	}
	link(im, 2, "eth0")
	link(im, 4, "vb1")
	addr(im, 2, "10.1.0.5/24")
	addr(im, 2, "2001:db8:1::5/64")
	addr(im, 4, "10.4.0.1/24")
	im.sync()
	st := &state{}
	st.start(nil, nil, imports, im)
	c := netlinkapi.NewNetlinkServiceClient(serve(t, &netlinkService{st: st}))
	s, err := c.GetNetlinkImportStats(context.Background(), &netlinkapi.GetNetlinkImportStatsRequest{})
	if err != nil || s.Imported != 3 || s.Withdrawn != 0 || s.Errors != 0 || s.LastImportTime == 0 || s.LastWithdrawTime != 0 {
		t.Fatalf("GetNetlinkImportStats: %v, %v", s, err)
	}
	r := &netlinkapi.GetNetlinkResponse{}
	importStatus(r, imports, im)
	if !r.ImportEnabled || !r.GlobalImport || r.Vrf != "" || strings.Join(r.Interfaces, " ") != "eth0 up*" ||
		strings.Join(r.ImportedNetworks, " ") != "10.1.0.0/24 2001:db8:1::/64" || len(r.VrfImports) != 1 ||
		r.VrfImports[0].VrfName != "blue" || strings.Join(r.VrfImports[0].Interfaces, " ") != "vb*" ||
		strings.Join(r.VrfImports[0].ImportedNetworks, " ") != "10.4.0.0/24" {
		t.Fatalf("GetNetlink import part: %v", r)
	}
	var out strings.Builder
	printText(&out, cliCommand{what: "import"}, r)
	want := "Netlink Import Configuration:\n  VRF:        global\n  Interfaces: [eth0 up*]\n" +
		"  Imported:   [10.1.0.0/24 2001:db8:1::/64]\n  VRF blue: [vb*]\n    Imported: [10.4.0.0/24]\n"
	if out.String() != want {
		t.Fatalf("netlink import printed\n%s\nwant\n%s", out.String(), want)
	}
	// Without an enabled import, the service says so.
	none := &netlinkapi.GetNetlinkResponse{}
	st2 := &state{}
	st2.start(nil, nil, gobgpexport.Imports{}, im)
	if _, im2 := st2.importState(); im2 != nil {
		t.Fatal("importState with no enabled import returned the importer")
	}
	importStatus(none, gobgpexport.Imports{}, nil)
	if none.ImportEnabled {
		t.Fatalf("import enabled without import: %v", none)
	}
}
