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
// not loaded, generic netlink family "IPVS" missing) the generic netlink controller answers
// ENOENT; IsNotAvailable tells that case apart.
type Error struct {
	// Op is the Go method that failed, such as "NewService".
	Op string
	// Errno is the error number.
	Errno syscall.Errno
	// Msg is the library's message; it may be empty.
	Msg string
	// notAvailable is set when the library reported the kernel facility missing
	// (lbnet_last_error_kind() == LBNET_ERR_NOT_AVAILABLE).
	notAvailable bool
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

// IsNotAvailable reports whether err says the kernel has no IPVS: the library classified it as
// a missing facility (the generic netlink family "IPVS" is missing: ENOENT from the controller,
// module not loaded and not loadable), or an errno of a missing facility (EOPNOTSUPP,
// EPROTONOSUPPORT, EAFNOSUPPORT).
func IsNotAvailable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.notAvailable {
		return true
	}
	switch e.Errno {
	case syscall.EOPNOTSUPP, syscall.EPROTONOSUPPORT, syscall.EAFNOSUPPORT:
		return true
	}
	return false
}

// newError builds an *Error from a negative return code and a message.
func newError(op string, rc int, msg string, notAvailable bool) error {
	if rc >= 0 {
		return nil
	}
	return &Error{Op: op, Errno: syscall.Errno(-rc), Msg: msg, notAvailable: notAvailable}
}
