package main

// The daemon's control socket: a Unix stream socket on which each connection carries one JSON
// request line and gets one JSON reply. The CLI (cli.go) is its only client; the format is
// internal to this example and may change with it.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	gobgpexport "github.com/lbnet/lbnet/go/gobgp"
	"github.com/lbnet/lbnet/go/routeexport"
)

// request is one command on the control socket.
type request struct {
	// Cmd is "status", "routes", "rules", "stats", "flush", "import" or "import-stats".
	Cmd string `json:"cmd"`
	// VRF filters "routes"; Rule selects a rule's statistics ("stats").
	VRF  string `json:"vrf,omitempty"`
	Rule string `json:"rule,omitempty"`
}

// ruleInfo is a rule as the CLI shows it.
type ruleInfo struct {
	Name             string   `json:"name"`
	Communities      []string `json:"community_list"`
	LargeCommunities []string `json:"large_community_list"`
	VRF              string   `json:"vrf"`
	Table            uint32   `json:"table_id"`
	Metric           uint32   `json:"metric"`
	ValidateNexthop  bool     `json:"validate_nexthop"`
}

// routeInfo is one exported route.
type routeInfo struct {
	Prefix netip.Prefix `json:"prefix"`
	// Nexthop is the zero address ("" in JSON) while a withdrawal waits in the dampening window.
	Nexthop    netip.Addr `json:"nexthop"`
	VRF        string     `json:"vrf"`
	Table      uint32     `json:"table_id"`
	Metric     uint32     `json:"metric"`
	Rule       string     `json:"rule"`
	ExportedAt time.Time  `json:"exported_at"`
}

// reply is the answer to a request; Error is set when it failed.
type reply struct {
	Error     string              `json:"error,omitempty"`
	Enabled   bool                `json:"enabled,omitempty"`
	Protocol  uint8               `json:"route_protocol,omitempty"`
	EndOfRIB  bool                `json:"end_of_rib,omitempty"`
	Routes    []routeInfo         `json:"routes,omitempty"`
	Rules     []ruleInfo          `json:"rules,omitempty"`
	Stats     *routeexport.Stats  `json:"stats,omitempty"`
	Flushed   int                 `json:"flushed,omitempty"`
	RuleStats map[string]ruleStat `json:"rule_stats,omitempty"`
	// Imports ("import"): each import's GoBGP VRF ("" global), interfaces and networks in
	// the RIB; ImportStats ("import-stats").
	Imports     []importInfo `json:"imports,omitempty"`
	ImportStats *ImportStats `json:"import_stats,omitempty"`
}

// importInfo is one netlink import as the CLI shows it.
type importInfo struct {
	VRF        string         `json:"vrf"`
	Interfaces []string       `json:"interfaces"`
	Networks   []netip.Prefix `json:"networks"`
}

// ruleStat is the per-rule part of "stats".
type ruleStat struct {
	Exported, Withdrawn, Errors uint64
}

// daemonState is what the control socket reads from the running daemon.
type daemonState interface {
	exporter() *routeexport.Exporter
	// vrfExporters are the engines of the GoBGP VRFs with netlink-export (VPN paths).
	vrfExporters() []*gobgpexport.VRFExporter
	rules() []routeexport.Rule
	protocol() uint8
	endOfRIB() bool
	importStats() ImportStats
	importTargets() []gobgpexport.ImportTarget
	importedNetworks() map[string][]netip.Prefix
}

// formatCommunity prints a standard community as AS:VALUE.
func formatCommunity(c uint32) string { return fmt.Sprintf("%d:%d", c>>16, c&0xffff) }

func toRuleInfo(r routeexport.Rule) ruleInfo {
	ri := ruleInfo{Name: r.Name, VRF: r.VRF, Table: r.Table, Metric: r.Metric, ValidateNexthop: r.ValidateNexthop,
		Communities: []string{}, LargeCommunities: []string{}}
	for _, c := range r.Communities {
		ri.Communities = append(ri.Communities, formatCommunity(c))
	}
	for _, l := range r.LargeCommunities {
		ri.LargeCommunities = append(ri.LargeCommunities, l.String())
	}
	return ri
}

// handle answers one request.
func handle(st daemonState, req request) reply {
	ex := st.exporter()
	rules := st.rules()
	switch req.Cmd {
	case "status":
		return reply{Enabled: true, Protocol: st.protocol(), EndOfRIB: st.endOfRIB(), Rules: infos(rules)}
	case "rules":
		return reply{Rules: infos(rules)}
	case "routes":
		vrfOf := map[string]string{}
		for _, r := range rules {
			vrfOf[r.Name] = r.VRF
		}
		routes, err := ex.Routes()
		if err != nil {
			return reply{Error: err.Error()}
		}
		for _, v := range st.vrfExporters() {
			vr, err := v.Exporter.Routes()
			if err != nil {
				return reply{Error: err.Error()}
			}
			for _, r := range vr {
				vrfOf[r.Rule] = v.LinuxVRF
			}
			routes = append(routes, vr...)
		}
		out := []routeInfo{}
		for _, r := range routes {
			if req.VRF != "" && vrfOf[r.Rule] != req.VRF {
				continue
			}
			out = append(out, routeInfo{Prefix: r.Prefix, Nexthop: r.Gateway, VRF: vrfOf[r.Rule], Table: r.Table,
				Metric: r.Metric, Rule: r.Rule, ExportedAt: r.ExportedAt})
		}
		return reply{Routes: out}
	case "stats":
		s, err := ex.Stats(req.Rule)
		if err != nil {
			return reply{Error: err.Error()}
		}
		rep := reply{Stats: &s}
		if req.Rule == "" {
			rep.RuleStats = map[string]ruleStat{}
			for _, r := range rules {
				if rs, err := ex.Stats(r.Name); err == nil {
					rep.RuleStats[r.Name] = ruleStat{rs.Exported, rs.Withdrawn, rs.Errors}
				}
			}
		}
		return rep
	case "flush":
		n, err := ex.Flush()
		if err != nil {
			return reply{Error: err.Error()}
		}
		for _, v := range st.vrfExporters() {
			m, err := v.Exporter.Flush()
			if err != nil {
				return reply{Error: err.Error()}
			}
			n += m
		}
		return reply{Flushed: n}
	case "import":
		nets := st.importedNetworks()
		rep := reply{Imports: []importInfo{}}
		for _, t := range st.importTargets() {
			rep.Imports = append(rep.Imports, importInfo{VRF: t.VRF, Interfaces: t.Interfaces, Networks: nets[t.VRF]})
		}
		return rep
	case "import-stats":
		s := st.importStats()
		return reply{ImportStats: &s}
	default:
		return reply{Error: fmt.Sprintf("unknown command %q", req.Cmd)}
	}
}

func infos(rules []routeexport.Rule) []ruleInfo {
	out := make([]ruleInfo, 0, len(rules))
	for _, r := range rules {
		out = append(out, toRuleInfo(r))
	}
	return out
}

// controlServer serves the control socket until closed.
type controlServer struct {
	ln   net.Listener
	path string
	wg   sync.WaitGroup
}

// listenControl removes a stale socket file (one no process answers on) and listens on path,
// readable and writable by root only.
func listenControl(path string, st daemonState) (*controlServer, error) {
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another daemon is listening", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	s := &controlServer{ln: ln, path: path}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				var req request
				line, err := bufio.NewReader(c).ReadBytes('\n')
				var rep reply
				if err != nil {
					rep = reply{Error: "reading request: " + err.Error()}
				} else if err := json.Unmarshal(line, &req); err != nil {
					rep = reply{Error: "bad request: " + err.Error()}
				} else {
					rep = handle(st, req)
				}
				_ = json.NewEncoder(c).Encode(rep)
			}()
		}
	}()
	return s, nil
}

// Close stops accepting, waits for the requests in progress and removes the socket file.
func (s *controlServer) Close() {
	s.ln.Close()
	s.wg.Wait()
	os.Remove(s.path)
}

// ask sends one request to the daemon at path.
func ask(path string, req request) (reply, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return reply{}, fmt.Errorf("is gobgp-export running? %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return reply{}, err
	}
	var rep reply
	if err := json.NewDecoder(c).Decode(&rep); err != nil {
		return reply{}, fmt.Errorf("reading reply: %w", err)
	}
	if rep.Error != "" {
		return rep, errors.New(rep.Error)
	}
	return rep, nil
}
