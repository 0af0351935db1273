package ipvs

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -lipvs_ffi -Wl,-rpath,${SRCDIR}/../../target/release
// The library copies what it reads and never keeps a pointer it was given nor calls into Go,
// so the structs passed by pointer can stay on the Go stack (no heap allocation per call):
#cgo noescape lbnet_ipvs_open
#cgo nocallback lbnet_ipvs_open
#cgo noescape lbnet_ipvs_batch_new
#cgo nocallback lbnet_ipvs_batch_new
#cgo noescape lbnet_ipvs_add_service
#cgo nocallback lbnet_ipvs_add_service
#cgo noescape lbnet_ipvs_update_service
#cgo nocallback lbnet_ipvs_update_service
#cgo noescape lbnet_ipvs_delete_service
#cgo nocallback lbnet_ipvs_delete_service
#cgo noescape lbnet_ipvs_get_service
#cgo nocallback lbnet_ipvs_get_service
#cgo noescape lbnet_ipvs_list_services
#cgo nocallback lbnet_ipvs_list_services
#cgo noescape lbnet_ipvs_list_services_with_dests
#cgo nocallback lbnet_ipvs_list_services_with_dests
#cgo noescape lbnet_ipvs_add_dest
#cgo nocallback lbnet_ipvs_add_dest
#cgo noescape lbnet_ipvs_update_dest
#cgo nocallback lbnet_ipvs_update_dest
#cgo noescape lbnet_ipvs_delete_dest
#cgo nocallback lbnet_ipvs_delete_dest
#cgo noescape lbnet_ipvs_list_dests
#cgo nocallback lbnet_ipvs_list_dests
#cgo noescape lbnet_ipvs_zero_service
#cgo nocallback lbnet_ipvs_zero_service
#cgo noescape lbnet_ipvs_get_info
#cgo nocallback lbnet_ipvs_get_info
#cgo noescape lbnet_ipvs_get_timeouts
#cgo nocallback lbnet_ipvs_get_timeouts
#cgo noescape lbnet_ipvs_set_timeouts
#cgo nocallback lbnet_ipvs_set_timeouts
#cgo noescape lbnet_ipvs_start_daemon
#cgo nocallback lbnet_ipvs_start_daemon
#cgo noescape lbnet_ipvs_stop_daemon
#cgo nocallback lbnet_ipvs_stop_daemon
#cgo noescape lbnet_ipvs_list_daemons
#cgo nocallback lbnet_ipvs_list_daemons
#cgo noescape lbnet_ipvs_batch_add_changes
#cgo nocallback lbnet_ipvs_batch_add_changes
#cgo noescape lbnet_ipvs_batch_results
#cgo nocallback lbnet_ipvs_batch_results
#cgo noescape lbnet_ipvs_batch_result_message
#cgo nocallback lbnet_ipvs_batch_result_message
#include <errno.h>
#include <stdlib.h>
#include "ipvs_ffi.h"
*/
import "C"

import (
	"fmt"
	"net/netip"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	lbnet "github.com/lbnet/lbnet/go"
	"github.com/lbnet/lbnet/go/internal/capi"
)

// MaxBatchLen is the most changes one Batch may hold (LBNET_IPVS_BATCH_MAX): Apply refuses a
// longer batch with E2BIG before converting anything.
const MaxBatchLen = C.LBNET_IPVS_BATCH_MAX

// chandle owns a *C.lbnet_ipvs. The library's handle is thread-safe (one socket behind a
// mutex), so Handle only needs a read lock to keep it alive during calls.
type chandle struct {
	p *C.lbnet_ipvs
}

func cOpen(o *Options) (*chandle, error) {
	opts := C.lbnet_ipvs_options{sz: C.size_t(unsafe.Sizeof(C.lbnet_ipvs_options{}))}
	if o.NetNSPath != "" {
		cs := C.CString(o.NetNSPath)
		defer C.free(unsafe.Pointer(cs))
		opts.netns_path = cs
	} else if o.NetNSFd > 0 {
		opts.netns_fd = C.int32_t(o.NetNSFd)
	}
	if o.RecvBufferSize < 0 || o.RecvBufferSize > 1<<31-1 {
		return nil, lbnet.Errorf("ipvs.Open", syscall.EINVAL, "receive buffer size %d out of range", o.RecvBufferSize)
	}
	opts.rcvbuf = C.uint32_t(o.RecvBufferSize)
	if ms := o.Timeout.Milliseconds(); ms > 0 {
		if ms > 1<<32-1 {
			ms = 1<<32 - 1
		}
		opts.timeout_ms = C.uint32_t(ms)
	} else if o.Timeout > 0 {
		opts.timeout_ms = 1
	}
	var p *C.lbnet_ipvs
	if err := capi.Call("ipvs.Open", func() int32 { return int32(C.lbnet_ipvs_open(&opts, &p)) }); err != nil {
		return nil, err
	}
	return &chandle{p: p}, nil
}

func (c *chandle) free() { C.lbnet_ipvs_free(c.p) }

// --- conversions -------------------------------------------------------------------------

// putAddr writes a into the struct lbnet_addr at dst. An IPv4-mapped IPv6 address is written as
// the IPv4 address it maps (familyOf counts it as IPv4, and the callers have checked that the
// address is of family fam). The invalid (zero) Addr, the address of a firewall-mark service,
// is written as family fam with no address bytes.
func putAddr(dst *C.lbnet_addr, a netip.Addr, fam Family) {
	if !a.IsValid() {
		*dst = C.lbnet_addr{af: C.int32_t(fam)}
		return
	}
	capi.PutAddr(unsafe.Pointer(dst), a.Unmap())
}

// goAddr reads a struct lbnet_addr and the family it names; an unknown family gives the zero
// Addr with that family.
func goAddr(a *C.lbnet_addr) (netip.Addr, Family) {
	return capi.Addr(unsafe.Pointer(a)), Family(a.af)
}

// setName copies s into a fixed C char array of n bytes (NUL included).
func setName(dst *C.char, n int, s, what, op string) error {
	if len(s) >= n {
		return lbnet.Errorf(op, syscall.EINVAL, "%s %q is longer than %d bytes", what, s, n-1)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return lbnet.Errorf(op, syscall.EINVAL, "%s %q contains NUL", what, s)
		}
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(dst)), n)
	copy(buf, s)
	buf[len(s)] = 0
	return nil
}

func getName(src *C.char, n int) string {
	buf := unsafe.Slice((*byte)(unsafe.Pointer(src)), n)
	for i, b := range buf {
		if b == 0 {
			return knownName(buf[:i])
		}
	}
	return string(buf)
}

// knownNames are the scheduler and persistence-engine names of the kernel's own modules
// (ip_vs_rr.ko ... ip_vs_twos.ko, ip_vs_pe_sip.ko): a read of a service returns these as
// constants, so it does not allocate a string per read.
var knownNames = [...]string{"", "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos", "sip"}

// knownName returns b as a string, one of knownNames when it is one (no allocation).
func knownName(b []byte) string {
	for _, k := range knownNames {
		if string(b) == k { // compares without converting
			return k
		}
	}
	return string(b)
}

func seconds(d time.Duration) C.uint32_t {
	s := (d + time.Second - 1) / time.Second // round up: a non-zero duration stays non-zero
	if s < 0 {
		return 0
	}
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return C.uint32_t(s)
}

// cService converts s; Scheduler defaults to "wlc" (the ipvsadm default) and Netmask to the
// family's full mask.
func cService(s *Service, op string) (out C.lbnet_ipvs_service, err error) {
	if s == nil {
		return out, lbnet.Errorf(op, syscall.EINVAL, "service is nil")
	}
	fam := s.EffectiveFamily()
	out.af = C.int32_t(fam)
	out.fwmark = C.uint32_t(s.FWMark)
	if s.FWMark == 0 {
		if !s.Address.IsValid() {
			return out, lbnet.Errorf(op, syscall.EINVAL, "service has neither an address nor a firewall mark")
		}
		if familyOf(s.Address) != fam {
			return out, lbnet.Errorf(op, syscall.EINVAL, "service address %s is not of family %s", s.Address, fam)
		}
		putAddr(&out.addr, s.Address, fam)
		out.protocol = C.uint16_t(s.Protocol)
		out.port = C.uint16_t(s.Port)
	} else {
		putAddr(&out.addr, netip.Addr{}, fam)
	}
	sched := s.Scheduler
	if sched == "" {
		sched = "wlc"
	}
	if err := setName(&out.sched_name[0], C.LBNET_IPVS_SCHED_NAME_LEN, sched, "scheduler", op); err != nil {
		return out, err
	}
	if err := setName(&out.pe_name[0], C.LBNET_IPVS_PE_NAME_LEN, s.PersistenceEngine, "persistence engine", op); err != nil {
		return out, err
	}
	out.flags = C.uint32_t(s.Flags &^ FlagHashed)
	out.timeout = seconds(s.Timeout)
	out.netmask = C.uint32_t(s.Netmask)
	return out, nil
}

// setStats writes the counters of st into s and s32, in place (a listing converts them into
// its backing array without copying whole values around).
func setStats(s *Stats, s32 *Stats32, st *C.lbnet_ipvs_stats) {
	*s = Stats{
		Connections: uint64(st.conns), PacketsIn: uint64(st.inpkts), PacketsOut: uint64(st.outpkts),
		BytesIn: uint64(st.inbytes), BytesOut: uint64(st.outbytes), CPS: uint64(st.cps),
		PPSIn: uint64(st.inpps), PPSOut: uint64(st.outpps), BPSIn: uint64(st.inbps), BPSOut: uint64(st.outbps),
	}
	// The kernel's 32-bit set (ip_vs_export_stats_user) is the same counters truncated to
	// 32 bits, bytes kept at 64.
	*s32 = Stats32{
		Connections: uint32(s.Connections), PacketsIn: uint32(s.PacketsIn), PacketsOut: uint32(s.PacketsOut),
		BytesIn: s.BytesIn, BytesOut: s.BytesOut, CPS: uint32(s.CPS),
		PPSIn: uint32(s.PPSIn), PPSOut: uint32(s.PPSOut), BPSIn: uint32(s.BPSIn), BPSOut: uint32(s.BPSOut),
	}
}

// setService writes the service c into s, in place.
func setService(s *Service, c *C.lbnet_ipvs_service) {
	*s = Service{
		Family:            Family(c.af),
		FWMark:            uint32(c.fwmark),
		Scheduler:         getName(&c.sched_name[0], C.LBNET_IPVS_SCHED_NAME_LEN),
		PersistenceEngine: getName(&c.pe_name[0], C.LBNET_IPVS_PE_NAME_LEN),
		Flags:             ServiceFlags(c.flags),
		Timeout:           time.Duration(c.timeout) * time.Second,
		Netmask:           uint32(c.netmask),
	}
	if s.FWMark == 0 {
		s.Address, _ = goAddr(&c.addr)
		s.Protocol = Protocol(c.protocol)
		s.Port = uint16(c.port)
	}
	setStats(&s.Stats, &s.Stats32, &c.stats)
}

func cDest(d *Destination, op string) (out C.lbnet_ipvs_dest, err error) {
	if d == nil {
		return out, lbnet.Errorf(op, syscall.EINVAL, "destination is nil")
	}
	if !d.Address.IsValid() {
		return out, lbnet.Errorf(op, syscall.EINVAL, "destination has no address")
	}
	fam := d.EffectiveFamily()
	if familyOf(d.Address) != fam {
		return out, lbnet.Errorf(op, syscall.EINVAL, "destination address %s is not of family %s", d.Address, fam)
	}
	putAddr(&out.addr, d.Address, fam)
	out.port = C.uint16_t(d.Port)
	out.tun_port = C.uint16_t(d.TunnelPort)
	out.fwd_method = C.uint32_t(d.Forward)
	out.weight = C.int32_t(d.Weight)
	out.u_threshold = C.uint32_t(d.UpperThreshold)
	out.l_threshold = C.uint32_t(d.LowerThreshold)
	out.tun_type = C.uint32_t(d.TunnelType)
	out.tun_flags = C.uint32_t(d.TunnelFlags)
	return out, nil
}

// setDest writes the destination c into d, in place.
func setDest(d *Destination, c *C.lbnet_ipvs_dest) {
	*d = Destination{
		Port:           uint16(c.port),
		TunnelPort:     uint16(c.tun_port),
		Forward:        ForwardMethod(c.fwd_method),
		Weight:         int32(c.weight),
		UpperThreshold: uint32(c.u_threshold),
		LowerThreshold: uint32(c.l_threshold),
		TunnelType:     TunnelType(c.tun_type),
		TunnelFlags:    TunnelFlags(c.tun_flags),
		ActiveConns:    uint32(c.active_conns),
		InactiveConns:  uint32(c.inactive_conns),
		PersistConns:   uint32(c.persist_conns),
	}
	d.Address, d.Family = goAddr(&c.addr)
	setStats(&d.Stats, &d.Stats32, &c.stats)
}

// item is &items[i] of a C array.
func item[T any](items *T, i int) *T {
	return (*T)(unsafe.Add(unsafe.Pointer(items), uintptr(i)*unsafe.Sizeof(*items)))
}

// pointers returns n pointers to values that set(v, i) fills in place, held in one backing
// array: a listing costs two allocations rather than one per element, and no value is copied.
func pointers[T any](n int, set func(v *T, i int)) []*T {
	vals := make([]T, n)
	out := make([]*T, n)
	for i := range vals {
		set(&vals[i], i)
		out[i] = &vals[i]
	}
	return out
}

// --- operations --------------------------------------------------------------------------

func (c *chandle) info() (Info, error) {
	var out C.lbnet_ipvs_info
	err := capi.Call("ipvs.Info", func() int32 { return int32(C.lbnet_ipvs_get_info(c.p, &out)) })
	return Info{Version: uint32(out.version), ConnTableSize: uint32(out.conn_tab_size)}, err
}

func (c *chandle) flush() error {
	return capi.Call("ipvs.Flush", func() int32 { return int32(C.lbnet_ipvs_flush(c.p)) })
}

// change makes one change of the kinds a Batch holds.
func (c *chandle) change(o op, s *Service, d *Destination) error {
	switch o {
	case opNewService, opUpdateService, opDeleteService:
		return c.service(o, s)
	case opNewDestination, opUpdateDestination, opDeleteDestination:
		return c.destination(o, s, d)
	case opZero:
		return c.zero(s)
	case opZeroAll:
		return c.zeroAll()
	}
	return lbnet.Errorf(o.String(), syscall.EINVAL, "unknown change %d", int(o))
}

func (c *chandle) service(o op, s *Service) error {
	cs, err := cService(s, o.String())
	if err != nil {
		return err
	}
	return capi.Call(o.String(), func() int32 {
		switch o {
		case opNewService:
			return int32(C.lbnet_ipvs_add_service(c.p, &cs))
		case opUpdateService:
			return int32(C.lbnet_ipvs_update_service(c.p, &cs))
		default:
			return int32(C.lbnet_ipvs_delete_service(c.p, &cs))
		}
	})
}

func (c *chandle) getService(key *Service) (*Service, error) {
	cs, err := cService(key, "ipvs.GetService")
	if err != nil {
		return nil, err
	}
	var out C.lbnet_ipvs_service
	if err := capi.Call("ipvs.GetService", func() int32 { return int32(C.lbnet_ipvs_get_service(c.p, &cs, &out)) }); err != nil {
		return nil, err
	}
	svc := new(Service)
	setService(svc, &out)
	return svc, nil
}

func (c *chandle) services() ([]*Service, error) {
	var list *C.lbnet_ipvs_service_list
	if err := capi.Call("ipvs.Services", func() int32 { return int32(C.lbnet_ipvs_list_services(c.p, &list)) }); err != nil {
		return nil, err
	}
	defer C.lbnet_ipvs_service_list_free(list)
	return pointers(int(list.len), func(s *Service, i int) { setService(s, item(list.items, i)) }), nil
}

func (c *chandle) servicesWithDestinations() ([]*ServiceDestinations, error) {
	var list *C.lbnet_ipvs_service_entry_list
	if err := capi.Call("ipvs.ServicesWithDestinations", func() int32 { return int32(C.lbnet_ipvs_list_services_with_dests(c.p, &list)) }); err != nil {
		return nil, err
	}
	defer C.lbnet_ipvs_service_entry_list_free(list)
	return pointers(int(list.len), func(sd *ServiceDestinations, i int) {
		e := item(list.items, i)
		setService(&sd.Service, &e.service)
		if e.n_dests > 0 {
			sd.Destinations = make([]Destination, int(e.n_dests))
			for j := range sd.Destinations {
				setDest(&sd.Destinations[j], item(e.dests, j))
			}
		}
	}), nil
}

func (c *chandle) destination(o op, s *Service, d *Destination) error {
	cs, err := cService(s, o.String())
	if err != nil {
		return err
	}
	cd, err := cDest(d, o.String())
	if err != nil {
		return err
	}
	return capi.Call(o.String(), func() int32 {
		switch o {
		case opNewDestination:
			return int32(C.lbnet_ipvs_add_dest(c.p, &cs, &cd))
		case opUpdateDestination:
			return int32(C.lbnet_ipvs_update_dest(c.p, &cs, &cd))
		default:
			return int32(C.lbnet_ipvs_delete_dest(c.p, &cs, &cd))
		}
	})
}

func (c *chandle) destinations(s *Service) ([]*Destination, error) {
	cs, err := cService(s, "ipvs.Destinations")
	if err != nil {
		return nil, err
	}
	var list *C.lbnet_ipvs_dest_list
	if err := capi.Call("ipvs.Destinations", func() int32 { return int32(C.lbnet_ipvs_list_dests(c.p, &cs, &list)) }); err != nil {
		return nil, err
	}
	defer C.lbnet_ipvs_dest_list_free(list)
	return pointers(int(list.len), func(d *Destination, i int) { setDest(d, item(list.items, i)) }), nil
}

// zero resets the counters of s, refusing a nil s (ZeroAll is zeroAll).
func (c *chandle) zero(s *Service) error {
	cs, err := cService(s, "ipvs.Zero")
	if err != nil {
		return err
	}
	return capi.Call("ipvs.Zero", func() int32 { return int32(C.lbnet_ipvs_zero_service(c.p, &cs)) })
}

func (c *chandle) zeroAll() error {
	return capi.Call("ipvs.ZeroAll", func() int32 { return int32(C.lbnet_ipvs_zero_all(c.p)) })
}

func (c *chandle) timeouts() (Timeouts, error) {
	var t C.lbnet_ipvs_timeouts
	err := capi.Call("ipvs.Timeouts", func() int32 { return int32(C.lbnet_ipvs_get_timeouts(c.p, &t)) })
	return Timeouts{
		TCP:    time.Duration(t.tcp) * time.Second,
		TCPFin: time.Duration(t.tcp_fin) * time.Second,
		UDP:    time.Duration(t.udp) * time.Second,
	}, err
}

func (c *chandle) setTimeouts(t Timeouts) error {
	ct := C.lbnet_ipvs_timeouts{tcp: seconds(t.TCP), tcp_fin: seconds(t.TCPFin), udp: seconds(t.UDP)}
	return capi.Call("ipvs.SetTimeouts", func() int32 { return int32(C.lbnet_ipvs_set_timeouts(c.p, &ct)) })
}

func (c *chandle) startDaemon(d *Daemon) error {
	if d == nil {
		return lbnet.Errorf("ipvs.StartDaemon", syscall.EINVAL, "daemon is nil")
	}
	var cd C.lbnet_ipvs_daemon
	cd.state = C.uint32_t(d.State)
	cd.syncid = C.uint32_t(d.SyncID)
	if err := setName(&cd.mcast_ifname[0], C.LBNET_IPVS_IFNAME_LEN, d.Interface, "interface", "ipvs.StartDaemon"); err != nil {
		return err
	}
	cd.sync_maxlen = C.uint32_t(d.MaxLen)
	if d.Group.IsValid() {
		putAddr(&cd.mcast_group, d.Group, familyOf(d.Group))
	}
	cd.mcast_port = C.uint16_t(d.Port)
	cd.mcast_ttl = C.uint8_t(d.TTL)
	return capi.Call("ipvs.StartDaemon", func() int32 { return int32(C.lbnet_ipvs_start_daemon(c.p, &cd)) })
}

func (c *chandle) stopDaemon(s DaemonState) error {
	cd := C.lbnet_ipvs_daemon{state: C.uint32_t(s)}
	return capi.Call("ipvs.StopDaemon", func() int32 { return int32(C.lbnet_ipvs_stop_daemon(c.p, &cd)) })
}

func (c *chandle) daemons() ([]Daemon, error) {
	var list *C.lbnet_ipvs_daemon_list
	if err := capi.Call("ipvs.Daemons", func() int32 { return int32(C.lbnet_ipvs_list_daemons(c.p, &list)) }); err != nil {
		return nil, err
	}
	defer C.lbnet_ipvs_daemon_list_free(list)
	out := make([]Daemon, 0, int(list.len))
	if list.len == 0 {
		return out, nil
	}
	for _, cd := range unsafe.Slice(list.items, int(list.len)) {
		d := Daemon{
			State:     DaemonState(cd.state),
			Interface: getName(&cd.mcast_ifname[0], C.LBNET_IPVS_IFNAME_LEN),
			SyncID:    uint32(cd.syncid),
			MaxLen:    uint16(cd.sync_maxlen),
			Port:      uint16(cd.mcast_port),
			TTL:       uint8(cd.mcast_ttl),
		}
		if cd.mcast_group.af != 0 {
			d.Group, _ = goAddr(&cd.mcast_group)
		}
		out = append(out, d)
	}
	return out, nil
}

// cOp is the LBNET_IPVS_OP_* constant of a change kind.
func (o op) cOp() C.uint32_t {
	switch o {
	case opNewService:
		return C.LBNET_IPVS_OP_ADD_SERVICE
	case opUpdateService:
		return C.LBNET_IPVS_OP_UPDATE_SERVICE
	case opDeleteService:
		return C.LBNET_IPVS_OP_DELETE_SERVICE
	case opNewDestination:
		return C.LBNET_IPVS_OP_ADD_DEST
	case opUpdateDestination:
		return C.LBNET_IPVS_OP_UPDATE_DEST
	case opDeleteDestination:
		return C.LBNET_IPVS_OP_DELETE_DEST
	case opZero:
		return C.LBNET_IPVS_OP_ZERO
	case opZeroAll:
		return C.LBNET_IPVS_OP_ZERO_ALL
	}
	return 0 // not an op: the library refuses it
}

// cchange is one change of a Batch, as the library takes it.
type cchange = C.lbnet_ipvs_change

// setChange converts one change of kind o into *cc.
func setChange(cc *cchange, o op, s *Service, d *Destination) (err error) {
	cc.op = o.cOp()
	if o == opZeroAll {
		return nil
	}
	if cc.svc, err = cService(s, o.String()); err != nil {
		return err
	}
	if o == opNewDestination || o == opUpdateDestination || o == opDeleteDestination {
		cc.dest, err = cDest(d, o.String())
	}
	return err
}

// apply sends a batch in a constant number of C calls, whatever its size: the changes, already
// in the C ABI's form in Go memory (plain data, no Go pointers inside, so cgo allows passing
// &b.changes[0]), are appended with one lbnet_ipvs_batch_add_changes, applied with one
// lbnet_ipvs_batch_apply and their result codes read with one lbnet_ipvs_batch_results; only
// failed changes cost one more call each, for their message.
func (c *chandle) apply(b *Batch) ([]error, error) {
	if b == nil {
		return nil, lbnet.Errorf("ipvs.Apply", syscall.EINVAL, "batch is nil")
	}
	if b.err != nil {
		return nil, b.err
	}
	n := len(b.changes)
	if n > MaxBatchLen {
		return nil, lbnet.Errorf("ipvs.Apply", syscall.E2BIG, "batch of %d changes: at most %d", n, MaxBatchLen)
	}
	out := make([]error, n)
	if n == 0 {
		return out, nil
	}
	codes := make([]C.int32_t, n)

	// One OS thread for the whole sequence: lbnet_last_error() is per thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cb *C.lbnet_ipvs_batch
	if rc := int32(C.lbnet_ipvs_batch_new(&cb)); rc < 0 {
		return nil, capi.Check("ipvs.Apply", rc)
	}
	defer C.lbnet_ipvs_batch_free(cb)
	var bad C.size_t
	if rc := int32(C.lbnet_ipvs_batch_add_changes(cb, &b.changes[0], C.size_t(n), &bad)); rc < 0 {
		err := capi.Check("ipvs.Apply", rc)
		if uint64(bad) < uint64(n) {
			return nil, fmt.Errorf("batch change %d: %w", uint64(bad), err)
		}
		return nil, err
	}
	// The return value is the first failure, and lbnet_last_error_kind() its kind; every
	// change's result is read below. A change that failed with the same errno gets that kind
	// (when the kernel has no IPVS, every change fails the same way, and each says so); the
	// others get the kind the library gives their errno.
	first := int32(C.lbnet_ipvs_batch_apply(c.p, cb))
	firstKind := lbnet.KindOf(capi.Check("ipvs.Apply", first))
	if rc := int32(C.lbnet_ipvs_batch_results(cb, &codes[0], C.size_t(n))); rc < 0 {
		return nil, capi.Check("ipvs.Apply", rc)
	}
	msg := make([]C.char, 512)
	for i, rc := range codes {
		if rc == 0 {
			continue
		}
		m := ""
		r := C.lbnet_ipvs_batch_result_message(cb, C.size_t(i), &msg[0], C.size_t(len(msg)))
		if r == -C.ERANGE { // a message longer than 511 bytes: once more with room for any
			msg = make([]C.char, 64<<10)
			r = C.lbnet_ipvs_batch_result_message(cb, C.size_t(i), &msg[0], C.size_t(len(msg)))
		}
		if r == 0 {
			m = C.GoString(&msg[0])
		}
		errno := syscall.Errno(-rc)
		kind := lbnet.KindOfErrno(errno)
		if int32(rc) == first {
			kind = firstKind
		}
		out[i] = &lbnet.Error{Op: b.ops[i].String(), Kind: kind, Errno: errno, Msg: m}
	}
	return out, nil
}
