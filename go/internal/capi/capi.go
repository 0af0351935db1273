// Package capi owns what every cgo package of lbnet's Go bindings shares about calling
// libipvs_ffi: turning a C call's return code and the calling thread's lbnet_last_error() into
// a *lbnet.Error, and converting netip.Addr / netip.Prefix to and from the C ABI's
// struct lbnet_addr / struct lbnet_prefix.
//
// The C library keeps its last error per OS thread, so a call and the reading of its error must
// happen on one thread: Call locks the goroutine to its thread for both. Code that makes several
// C calls in a row on one locked thread uses Check after each.
package capi

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#cgo LDFLAGS: -L${SRCDIR}/../../../target/release -lipvs_ffi -Wl,-rpath,${SRCDIR}/../../../target/release
#include <sys/socket.h>
#include "ipvs_ffi.h"
*/
import "C"

import (
	"net/netip"
	"runtime"
	"syscall"
	"unsafe"

	lbnet "github.com/lbnet/lbnet/go"
)

// Call runs f, a C call returning 0 (or a non-negative count) or a negative errno, locked to one
// OS thread, and returns nil or the *lbnet.Error that describes the failure.
func Call(op string, f func() int32) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return Check(op, f())
}

// Check turns rc into nil (rc >= 0) or a *lbnet.Error carrying the calling thread's
// lbnet_last_error() and lbnet_last_error_kind(). The caller must still be on the OS thread
// that made the call (runtime.LockOSThread).
func Check(op string, rc int32) error {
	if rc >= 0 {
		return nil
	}
	errno := syscall.Errno(-rc)
	msg := ""
	if m := C.lbnet_last_error(); m != nil {
		msg = C.GoString(m)
	}
	return &lbnet.Error{Op: op, Kind: kindOf(uint32(C.lbnet_last_error_kind()), errno), Errno: errno, Msg: msg}
}

// kindOf maps the C kind to the Go one; a kind this package does not know (a newer library)
// falls back to the errno's usual kind.
func kindOf(k uint32, errno syscall.Errno) lbnet.Kind {
	switch k {
	case C.LBNET_ERROR_KIND_EXISTS:
		return lbnet.Exists
	case C.LBNET_ERROR_KIND_NOT_FOUND:
		return lbnet.NotFound
	case C.LBNET_ERROR_KIND_PERMISSION:
		return lbnet.Permission
	case C.LBNET_ERROR_KIND_NOT_AVAILABLE:
		return lbnet.NotAvailable
	case C.LBNET_ERROR_KIND_INVALID_ARGUMENT:
		return lbnet.InvalidArgument
	case C.LBNET_ERROR_KIND_OUT_OF_RANGE:
		return lbnet.OutOfRange
	case C.LBNET_ERROR_KIND_BUSY:
		return lbnet.Busy
	case C.LBNET_ERROR_KIND_OVERRUN:
		return lbnet.Overrun
	case C.LBNET_ERROR_KIND_MALFORMED:
		return lbnet.Malformed
	case C.LBNET_ERROR_KIND_TIMEOUT:
		return lbnet.Timeout
	case C.LBNET_ERROR_KIND_IO:
		return lbnet.IO
	}
	return lbnet.KindOfErrno(errno)
}

// AddrSize and PrefixSize are the sizes of struct lbnet_addr and struct lbnet_prefix: callers
// check their own C types against them.
const (
	AddrSize   = int(unsafe.Sizeof(C.struct_lbnet_addr{}))
	PrefixSize = int(unsafe.Sizeof(C.struct_lbnet_prefix{}))
)

// PutAddr writes a into the struct lbnet_addr at p. An invalid (zero) netip.Addr is written as
// family 0, which the library refuses with EINVAL where an address is required.
func PutAddr(p unsafe.Pointer, a netip.Addr) {
	c := (*C.struct_lbnet_addr)(p)
	*c = C.struct_lbnet_addr{}
	switch {
	case a.Is4():
		c.af = C.AF_INET
		b := a.As4()
		copy(addrBytes(c), b[:])
	case a.Is6():
		c.af = C.AF_INET6
		b := a.As16()
		copy(addrBytes(c), b[:])
	}
}

// addrBytes is the address bytes of c as a Go slice: copying through it is plain Go, where
// C.memcpy would cost a cgo call per address (a batch converts two per change).
func addrBytes(c *C.struct_lbnet_addr) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&c.addr[0])), len(c.addr))
}

// Addr reads the struct lbnet_addr at p; an unknown family gives the zero netip.Addr.
func Addr(p unsafe.Pointer) netip.Addr {
	c := (*C.struct_lbnet_addr)(p)
	b := *(*[16]byte)(unsafe.Pointer(&c.addr[0]))
	switch c.af {
	case C.AF_INET:
		return netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
	case C.AF_INET6:
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

// PutPrefix writes pfx into the struct lbnet_prefix at p. The library refuses a prefix with
// host bits set; use pfx.Masked() to drop them.
func PutPrefix(p unsafe.Pointer, pfx netip.Prefix) {
	c := (*C.struct_lbnet_prefix)(p)
	PutAddr(unsafe.Pointer(&c.addr), pfx.Addr())
	c.len = C.uint8_t(max(pfx.Bits(), 0))
}

// Prefix reads the struct lbnet_prefix at p; an invalid one gives the zero netip.Prefix.
func Prefix(p unsafe.Pointer) netip.Prefix {
	c := (*C.struct_lbnet_prefix)(p)
	a := Addr(unsafe.Pointer(&c.addr))
	if !a.IsValid() {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, int(c.len))
}

// parseNull makes a call the library refuses (EINVAL, "text is NULL"), for the tests (which
// cannot use cgo themselves).
func parseNull() int32 { return int32(C.lbnet_addr_parse(nil, nil)) }
