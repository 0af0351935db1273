// Package lbnet is the root of lbnet's Go bindings: the error type every package returns. The
// packages below it (ipvs, linkwatch, routeexport, xdplb, and the Seesaw and GoBGP adapters)
// link libipvs_ffi through cgo.
//
// Every failed call returns an *Error. It unwraps to the errno (the kernel's own where the
// kernel answered), so errors.Is(err, syscall.EEXIST) and errors.Is(err, fs.ErrExist) work, and
// it matches its Kind, so errors.Is(err, lbnet.NotFound) tells the kinds apart where one errno
// covers several (the generic netlink controller answers ENOENT both for a kernel without IPVS,
// kind NotAvailable, and IPVS itself for an unknown scheduler, kind NotFound).
package lbnet

import (
	"errors"
	"fmt"
	"syscall"
)

// Kind says what went wrong, independent of the protocol that reported it. The values are the
// C ABI's enum lbnet_error_kind. A Kind is itself an error, so it can be the target of errors.Is.
type Kind int

// The kinds of failure (LBNET_ERROR_KIND_* in ipvs_ffi.h).
const (
	// OK is the kind of a call that succeeded; no *Error has it.
	OK Kind = iota
	// Exists: the object already exists (EEXIST).
	Exists
	// NotFound: the object does not exist (ENOENT, ESRCH): an IPVS service or destination, a
	// scheduler, a route, a link, a map entry.
	NotFound
	// Permission: the caller lacks CAP_NET_ADMIN (EPERM, EACCES).
	Permission
	// NotAvailable: the kernel facility is missing (no IPVS module, no BPF, no such netlink
	// family).
	NotAvailable
	// InvalidArgument: an argument was refused before or by the kernel (EINVAL).
	InvalidArgument
	// OutOfRange: a value is out of range (ERANGE).
	OutOfRange
	// Busy: busy or interrupted; try again (EBUSY, EAGAIN, an interrupted dump).
	Busy
	// Overrun: the netlink receive buffer overflowed and notifications were lost (ENOBUFS).
	Overrun
	// Malformed: a kernel reply could not be parsed (EBADMSG).
	Malformed
	// Timeout: the kernel did not answer in time (ETIMEDOUT).
	Timeout
	// IO: any other system error.
	IO
)

var kindNames = [...]string{"ok", "exists", "not found", "permission denied", "not available",
	"invalid argument", "out of range", "busy", "overrun", "malformed reply", "timeout", "I/O error"}

// String names the kind.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error makes a Kind usable as an errors.Is target.
func (k Kind) Error() string { return "lbnet: " + k.String() }

// Error is a failed call into the library.
type Error struct {
	// Op is the Go operation that failed, such as "ipvs.NewService".
	Op string
	// Kind says what went wrong.
	Kind Kind
	// Errno is the error number (positive): the kernel's own where the kernel answered.
	Errno syscall.Errno
	// Msg is the library's message (with the kernel's extended-ack text where there is one);
	// it may be empty.
	Msg string
}

// Error returns "Op: message" (or the errno's text when there is no message).
func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Op + ": " + e.Msg
	}
	return e.Op + ": " + e.Errno.Error()
}

// Unwrap returns the errno, so errors.Is(err, syscall.ENOENT) works.
func (e *Error) Unwrap() error { return e.Errno }

// Is reports whether target is e's Kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// KindOf returns the Kind of err if it is (or wraps) an *Error, else OK.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return OK
}

// Errorf builds an *Error made on the Go side (before any C call), with the errno's usual kind.
func Errorf(op string, errno syscall.Errno, format string, args ...any) *Error {
	return &Error{Op: op, Kind: KindOfErrno(errno), Errno: errno, Msg: fmt.Sprintf(format, args...)}
}

// KindOfErrno is the kind the library gives a bare errno.
func KindOfErrno(errno syscall.Errno) Kind {
	switch errno {
	case 0:
		return OK
	case syscall.EEXIST:
		return Exists
	case syscall.ENOENT, syscall.ESRCH:
		return NotFound
	case syscall.EPERM, syscall.EACCES:
		return Permission
	case syscall.EOPNOTSUPP, syscall.EPROTONOSUPPORT, syscall.EAFNOSUPPORT:
		return NotAvailable
	case syscall.EINVAL:
		return InvalidArgument
	case syscall.ERANGE:
		return OutOfRange
	case syscall.EBUSY, syscall.EAGAIN, syscall.EINTR:
		return Busy
	case syscall.ENOBUFS:
		return Overrun
	case syscall.EBADMSG, syscall.EPROTO:
		return Malformed
	case syscall.ETIMEDOUT:
		return Timeout
	}
	return IO
}

// ErrClosed is returned by calls on a handle after Close.
var ErrClosed = errors.New("lbnet: handle is closed")
