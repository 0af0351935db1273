// Command seesaw-libnl is the "seesaw-libnl" client of the IPVS peer benchmark: Seesaw's way of
// driving IPVS through libnl-3 / libnl-genl-3, re-implemented (Seesaw itself is not served by
// the Go module proxy here). As Seesaw's ipvs and netlink packages do it:
//   - the IPVS family id is resolved once (genl_ctrl_resolve on a throw-away socket);
//   - every message gets a NEW libnl socket: nl_socket_alloc, genl_connect, a custom
//     NL_CB_VALID callback into Go, nl_send_auto_complete, nl_recvmsgs_default (which waits
//     for the reply / ack), nl_close, nl_socket_free;
//   - messages are built with genlmsg_put and one nla_put_* per attribute (nested with
//     nla_nest_start/end), replies parsed with genlmsg_parse / nla_parse_nested;
//   - listing is a service dump, then one destination dump per service (each on its own
//     socket); getting a service also fetches its destinations.
//
// Flush is IPVS_CMD_FLUSH sent the same way (Seesaw has a Flush); Seesaw has no batch API, so
// the batch workload is n/a.
package main

/*
#cgo CFLAGS: -I/usr/include/libnl3
#cgo LDFLAGS: -lnl-3 -lnl-genl-3
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <linux/ip_vs.h>

int setValidCallback(struct nl_sock *sk, uintptr_t id);
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/lbnet/lbnet/benches/ipvs/go/internal/wl"
)

// callbacks maps a registration id (passed through libnl as the callback arg) to Go code.
var (
	cbMu   sync.Mutex
	cbNext uintptr
	cbs    = map[uintptr]func(*C.struct_nl_msg) error{}
)

//export nlCallback
func nlCallback(msg *C.struct_nl_msg, id C.uintptr_t) C.int {
	cbMu.Lock()
	fn := cbs[uintptr(id)]
	cbMu.Unlock()
	if fn != nil && fn(msg) != nil {
		return C.NL_STOP
	}
	return C.NL_OK
}

type nlError struct {
	what string
	code C.int
}

func (e *nlError) Error() string {
	return fmt.Sprintf("%s: %s", e.what, C.GoString(C.nl_geterror(e.code)))
}

var family C.int

// send builds one message (cmd, flags, attributes from build) and sends it on a fresh socket,
// calling onMsg for every valid message of the answer.
func send(cmd C.uint8_t, flags C.int, build func(*C.struct_nl_msg), onMsg func(*C.struct_nl_msg) error) error {
	m := C.nlmsg_alloc()
	if m == nil {
		return errors.New("nlmsg_alloc failed")
	}
	defer C.nlmsg_free(m)
	C.genlmsg_put(m, C.NL_AUTO_PORT, C.NL_AUTO_SEQ, family, 0, flags, cmd, C.IPVS_GENL_VERSION)
	if build != nil {
		build(m)
	}
	s := C.nl_socket_alloc()
	if s == nil {
		return errors.New("nl_socket_alloc failed")
	}
	defer C.nl_socket_free(s)
	if rc := C.genl_connect(s); rc != 0 {
		return &nlError{"genl_connect", rc}
	}
	defer C.nl_close(s)
	var cbErr error
	cbMu.Lock()
	id := cbNext
	cbNext++
	cbs[id] = func(msg *C.struct_nl_msg) error {
		if onMsg != nil {
			cbErr = onMsg(msg)
		}
		return cbErr
	}
	cbMu.Unlock()
	defer func() { cbMu.Lock(); delete(cbs, id); cbMu.Unlock() }()
	if rc := C.setValidCallback(s, C.uintptr_t(id)); rc != 0 {
		return &nlError{"nl_socket_modify_cb", rc}
	}
	if rc := C.nl_send_auto_complete(s, m); rc < 0 {
		return &nlError{"nl_send_auto_complete", rc}
	}
	if rc := C.nl_recvmsgs_default(s); rc < 0 {
		return &nlError{"nl_recvmsgs_default", rc}
	}
	return cbErr
}

type service struct {
	addr [16]byte
	port uint16
}

func svc(i int) service {
	var s service
	a := wl.VIP(i).As4()
	copy(s.addr[:], a[:])
	s.port = 80
	return s
}

func htons(v uint16) C.uint16_t { return C.uint16_t(v>>8 | v<<8) }

// putService nests the service key (and, when full, the settings) as Seesaw's marshaller does:
// one nla_put per field.
func putService(m *C.struct_nl_msg, s service, full bool) {
	n := C.nla_nest_start(m, C.IPVS_CMD_ATTR_SERVICE)
	C.nla_put_u16(m, C.IPVS_SVC_ATTR_AF, C.AF_INET)
	C.nla_put_u16(m, C.IPVS_SVC_ATTR_PROTOCOL, C.IPPROTO_TCP)
	C.nla_put(m, C.IPVS_SVC_ATTR_ADDR, 16, unsafe.Pointer(&s.addr[0]))
	C.nla_put_u16(m, C.IPVS_SVC_ATTR_PORT, htons(s.port))
	if full {
		sched := C.CString("wrr")
		C.nla_put_string(m, C.IPVS_SVC_ATTR_SCHED_NAME, sched)
		C.free(unsafe.Pointer(sched))
		flags := [2]C.uint32_t{0, 0xffffffff}
		C.nla_put(m, C.IPVS_SVC_ATTR_FLAGS, 8, unsafe.Pointer(&flags[0]))
		C.nla_put_u32(m, C.IPVS_SVC_ATTR_TIMEOUT, 0)
		C.nla_put_u32(m, C.IPVS_SVC_ATTR_NETMASK, 0xffffffff)
	}
	C.nla_nest_end(m, n)
}

func putDest(m *C.struct_nl_msg, j int, weight uint32) {
	var addr [16]byte
	a := wl.RealServer(j).As4()
	copy(addr[:], a[:])
	n := C.nla_nest_start(m, C.IPVS_CMD_ATTR_DEST)
	C.nla_put(m, C.IPVS_DEST_ATTR_ADDR, 16, unsafe.Pointer(&addr[0]))
	C.nla_put_u16(m, C.IPVS_DEST_ATTR_PORT, htons(8080))
	C.nla_put_u32(m, C.IPVS_DEST_ATTR_FWD_METHOD, C.IP_VS_CONN_F_MASQ)
	C.nla_put_u32(m, C.IPVS_DEST_ATTR_WEIGHT, C.uint32_t(weight))
	C.nla_put_u32(m, C.IPVS_DEST_ATTR_U_THRESH, 0)
	C.nla_put_u32(m, C.IPVS_DEST_ATTR_L_THRESH, 0)
	C.nla_put_u16(m, C.IPVS_DEST_ATTR_ADDR_FAMILY, C.AF_INET)
	C.nla_nest_end(m, n)
}

// parseService reads the service key out of a NEW_SERVICE message (genlmsg_parse, then
// nla_parse_nested, as Seesaw's unmarshaller does).
func parseService(msg *C.struct_nl_msg) (service, error) {
	var s service
	var top [C.IPVS_CMD_ATTR_MAX + 1]*C.struct_nlattr
	if rc := C.genlmsg_parse(C.nlmsg_hdr(msg), 0, &top[0], C.IPVS_CMD_ATTR_MAX, nil); rc != 0 {
		return s, &nlError{"genlmsg_parse", rc}
	}
	if top[C.IPVS_CMD_ATTR_SERVICE] == nil {
		return s, errors.New("no service attribute")
	}
	var a [C.IPVS_SVC_ATTR_MAX + 1]*C.struct_nlattr
	if rc := C.nla_parse_nested(&a[0], C.IPVS_SVC_ATTR_MAX, top[C.IPVS_CMD_ATTR_SERVICE], nil); rc != 0 {
		return s, &nlError{"nla_parse_nested", rc}
	}
	if a[C.IPVS_SVC_ATTR_ADDR] == nil || a[C.IPVS_SVC_ATTR_PORT] == nil {
		return s, errors.New("service without address")
	}
	C.memcpy(unsafe.Pointer(&s.addr[0]), C.nla_data(a[C.IPVS_SVC_ATTR_ADDR]), 16)
	p := uint16(C.nla_get_u16(a[C.IPVS_SVC_ATTR_PORT]))
	s.port = p>>8 | p<<8
	return s, nil
}

func countDest(n *int) func(*C.struct_nl_msg) error {
	return func(msg *C.struct_nl_msg) error {
		var top [C.IPVS_CMD_ATTR_MAX + 1]*C.struct_nlattr
		if rc := C.genlmsg_parse(C.nlmsg_hdr(msg), 0, &top[0], C.IPVS_CMD_ATTR_MAX, nil); rc != 0 {
			return &nlError{"genlmsg_parse", rc}
		}
		var a [C.IPVS_DEST_ATTR_MAX + 1]*C.struct_nlattr
		if top[C.IPVS_CMD_ATTR_DEST] == nil {
			return errors.New("no destination attribute")
		}
		if rc := C.nla_parse_nested(&a[0], C.IPVS_DEST_ATTR_MAX, top[C.IPVS_CMD_ATTR_DEST], nil); rc != 0 {
			return &nlError{"nla_parse_nested", rc}
		}
		*n++
		return nil
	}
}

func destinations(s service) (int, error) {
	n := 0
	err := send(C.IPVS_CMD_GET_DEST, C.NLM_F_DUMP, func(m *C.struct_nl_msg) { putService(m, s, false) }, countDest(&n))
	return n, err
}

type client struct{}

func (client) AddService(i int) error {
	return send(C.IPVS_CMD_NEW_SERVICE, 0, func(m *C.struct_nl_msg) { putService(m, svc(i), true) }, nil)
}

func (client) AddDest(i int) error {
	return send(C.IPVS_CMD_NEW_DEST, 0, func(m *C.struct_nl_msg) { putService(m, svc(i), false); putDest(m, 0, 1) }, nil)
}

func (client) UpdateWeight(i int) error {
	return send(C.IPVS_CMD_SET_DEST, 0, func(m *C.struct_nl_msg) { putService(m, svc(i), false); putDest(m, 0, 5) }, nil)
}

func (client) Get(i int) (int, bool, error) {
	var got []service
	err := send(C.IPVS_CMD_GET_SERVICE, 0, func(m *C.struct_nl_msg) { putService(m, svc(i), false) },
		func(msg *C.struct_nl_msg) error {
			s, err := parseService(msg)
			got = append(got, s)
			return err
		})
	if err != nil {
		return 0, false, err
	}
	if len(got) != 1 {
		return 0, false, fmt.Errorf("%d services in the answer", len(got))
	}
	n, err := destinations(got[0])
	return n, [4]byte(got[0].addr[:4]) == wl.VIP(i).As4(), err
}

func (client) List() (int, int, error) {
	var svcs []service
	err := send(C.IPVS_CMD_GET_SERVICE, C.NLM_F_DUMP, nil, func(msg *C.struct_nl_msg) error {
		s, err := parseService(msg)
		svcs = append(svcs, s)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	total := 0
	for _, s := range svcs {
		n, err := destinations(s)
		if err != nil {
			return 0, 0, err
		}
		total += n
	}
	return len(svcs), total, nil
}

func (client) Flush() error { return send(C.IPVS_CMD_FLUSH, 0, nil, nil) }

func (client) Batch(int) (int, int, error) {
	return 0, 0, &wl.NotAvailable{Reason: "Seesaw's ipvs package has no batch API (one libnl socket and round trip per change)"}
}

func main() {
	wl.Main("seesaw-libnl", func() (wl.Client, error) {
		s := C.nl_socket_alloc()
		defer C.nl_socket_free(s)
		if rc := C.genl_connect(s); rc != 0 {
			return nil, &nlError{"genl_connect", rc}
		}
		defer C.nl_close(s)
		name := C.CString(C.IPVS_GENL_NAME)
		defer C.free(unsafe.Pointer(name))
		if family = C.genl_ctrl_resolve(s, name); family < 0 {
			return nil, &nlError{"genl_ctrl_resolve IPVS", -family}
		}
		return client{}, nil
	})
}
