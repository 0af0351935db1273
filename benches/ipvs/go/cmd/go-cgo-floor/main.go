// Command go-cgo-floor is the "go-cgo-floor" client of the IPVS peer benchmark: a Go program
// that calls libipvs_ffi's C functions directly through cgo, with no Go binding in between:
// the C structs are built once at open by benches/ipvs/c/scheme.h, as c_abi.c builds them, each operation is the
// same C calls c_abi.c makes, and a failure is reported by its return code alone (no
// lbnet_last_error, so no thread locking).
//
// It is what any Go caller of the C ABI pays at least: the Go runtime's cost of a cgo call that
// spends tens of microseconds in the kernel. Beside c-abi (the same calls from C) and go-lbnet
// (the same calls through our Go package github.com/lbnet/lbnet/go/ipvs) it splits
// go-lbnet / c-abi into the runtime's part (go-cgo-floor / c-abi) and the binding's
// (go-lbnet / go-cgo-floor). Single operations only: list, flush and batch are n/a.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../../include -I${SRCDIR}/../../../c
#cgo LDFLAGS: -L${SRCDIR}/../../../../../target/release -lipvs_ffi -Wl,-rpath,${SRCDIR}/../../../../../target/release
#cgo noescape lbnet_ipvs_add_service
#cgo nocallback lbnet_ipvs_add_service
#cgo noescape lbnet_ipvs_add_dest
#cgo nocallback lbnet_ipvs_add_dest
#cgo noescape lbnet_ipvs_update_dest
#cgo nocallback lbnet_ipvs_update_dest
#cgo noescape lbnet_ipvs_get_service
#cgo nocallback lbnet_ipvs_get_service
#cgo noescape lbnet_ipvs_list_dests
#cgo nocallback lbnet_ipvs_list_dests
#include "scheme.h"
*/
import "C"

import (
	"fmt"
	"runtime"

	"github.com/lbnet/lbnet/benches/ipvs/go/internal/wl"
)

// services prepared at open: the timed loops only index this array.
const maxServices = 20001

type client struct {
	h    *C.lbnet_ipvs
	svc  []C.lbnet_ipvs_service
	add  C.lbnet_ipvs_dest // destination 0, weight 1
	five C.lbnet_ipvs_dest // destination 0, weight 5
}

func check(what string, i int, rc C.int32_t) error {
	if rc < 0 {
		return fmt.Errorf("%s %d: errno %d", what, i, -int(rc))
	}
	return nil
}

func (c *client) AddService(i int) error {
	return check("add service", i, C.lbnet_ipvs_add_service(c.h, &c.svc[i]))
}

func (c *client) AddDest(i int) error {
	return check("add destination to service", i, C.lbnet_ipvs_add_dest(c.h, &c.svc[i], &c.add))
}

func (c *client) UpdateWeight(i int) error {
	return check("update destination of service", i, C.lbnet_ipvs_update_dest(c.h, &c.svc[i], &c.five))
}

// Get reads service i and lists its destinations (c_abi.c's get: get, list, free).
func (c *client) Get(i int) (int, bool, error) {
	var out C.lbnet_ipvs_service
	if err := check("get service", i, C.lbnet_ipvs_get_service(c.h, &c.svc[i], &out)); err != nil {
		return 0, false, err
	}
	var list *C.lbnet_ipvs_dest_list
	if err := check("list destinations of service", i, C.lbnet_ipvs_list_dests(c.h, &out, &list)); err != nil {
		return 0, false, err
	}
	n := int(list.len)
	C.lbnet_ipvs_dest_list_free(list)
	a, want := out.addr.addr, c.svc[i].addr.addr
	ok := a[0] == want[0] && a[1] == want[1] && a[2] == want[2] && a[3] == want[3] // as c_abi.c's memcmp of 4 bytes
	return n, ok, nil
}

func (c *client) List() (int, int, error) { return 0, 0, na }
func (c *client) Flush() error            { return na }
func (c *client) Batch(int) (int, int, error) {
	return 0, 0, na
}

var na = &wl.NotAvailable{Reason: "go-cgo-floor measures single operations only (the Go runtime's cost of a cgo call)"}

func main() {
	wl.Main("go-cgo-floor", func() (wl.Client, error) {
		c := &client{svc: make([]C.lbnet_ipvs_service, maxServices)}
		if rc := C.lbnet_ipvs_open(nil, &c.h); rc < 0 {
			return nil, fmt.Errorf("open: errno %d", -int(rc))
		}
		for i := range c.svc {
			c.svc[i] = C.scheme_service(C.int(i))
		}
		c.add, c.five = C.scheme_dest(0, 1), C.scheme_dest(0, 5)
		// Resolve the IPVS family outside the timing, as go-lbnet and c_abi.c do.
		var info C.lbnet_ipvs_info
		if rc := C.lbnet_ipvs_get_info(c.h, &info); rc < 0 {
			return nil, fmt.Errorf("info: errno %d", -int(rc))
		}
		runtime.GC() // as go-lbnet: start-up garbage collected before the timing
		return c, nil
	})
}
