package ipvs

import (
	"errors"
	"fmt"
	"syscall"
)

// Error is a failed IPVS call. It wraps the errno (the kernel's own where the kernel answered),
// so errors.Is(err, syscall.EEXIST) and errors.Is(err, os.ErrExist) work, and carries the
// library's message (which includes the kernel's extended-ack text where there is one).
//
// Errnos the kernel uses for IPVS (net/netfilter/ipvs/ip_vs_ctl.c): EEXIST for a service or
// destination that already exists, ESRCH for a missing service, ENOENT for a missing destination
// or an unknown scheduler or persistence engine, ERANGE for a negative weight or a lower
// threshold above the upper one, EPERM without CAP_NET_ADMIN. When the kernel has no IPVS (module
// not loaded, generic netlink family "IPVS" missing) the library reports EOPNOTSUPP.
type Error struct {
	// Op is the Go method that failed, such as "NewService".
	Op string
	// Errno is the error number.
	Errno syscall.Errno
	// Msg is the library's message; it may be empty.
	Msg string
}

// Error returns "ipvs: Op: message" (or the errno's text when there is no message).
func (e *Error) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("ipvs: %s: %s", e.Op, e.Msg)
	}
	return fmt.Sprintf("ipvs: %s: %s", e.Op, e.Errno.Error())
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Errno }

// ErrClosed is returned by calls on a Handle after Close.
var ErrClosed = errors.New("ipvs: handle is closed")

// IsNotAvailable reports whether err says the kernel has no IPVS (EOPNOTSUPP, or ENOENT when
// resolving the generic netlink family).
func IsNotAvailable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Errno == syscall.EOPNOTSUPP || e.Errno == syscall.EPROTONOSUPPORT ||
		e.Errno == syscall.EAFNOSUPPORT
}

// newError builds an *Error from a negative return code and a message.
func newError(op string, rc int, msg string) error {
	if rc >= 0 {
		return nil
	}
	return &Error{Op: op, Errno: syscall.Errno(-rc), Msg: msg}
}
