// Package record is the shared half of the link-watch bench consumers: it timestamps each
// link notification on arrival with CLOCK_MONOTONIC (the clock the Rust coordinator reads), keeps
// the records in memory, reports the sentinel link at once, and prints everything when the
// coordinator closes stdin.
//
// Output lines (stdout), all times in CLOCK_MONOTONIC nanoseconds:
//
//	S <ns> <ifindex> <up>    a notification about the sentinel link, written and flushed at once
//	E <ns> <ifindex> <up>    every other notification, written at exit
//	X <key> <value...>       a counter or an error, written at exit
package record

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	_ "unsafe" // for go:linkname

	"golang.org/x/sys/unix"
)

// nanotime is the runtime's CLOCK_MONOTONIC reading (vDSO), the same clock as the coordinator's
// clock_gettime(CLOCK_MONOTONIC).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Now returns CLOCK_MONOTONIC in nanoseconds.
func Now() int64 { return nanotime() }

// CheckClock fails when the runtime's clock is not CLOCK_MONOTONIC (it would make every latency
// meaningless).
func CheckClock() error {
	var ts unix.Timespec
	a := Now()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return err
	}
	b := Now()
	c := ts.Nano()
	if c < a || c > b {
		return fmt.Errorf("runtime.nanotime (%d..%d) is not CLOCK_MONOTONIC (%d)", a, b, c)
	}
	return nil
}

type rec struct {
	t     int64
	index uint32
	up    bool
}

// Recorder collects notifications. It is used from one goroutine.
type Recorder struct {
	sentinel uint32
	recs     []rec
	out      *bufio.Writer
	extra    []string
}

// New returns a recorder that reports notifications about ifindex sentinel at once.
func New(sentinel uint32) *Recorder {
	return &Recorder{
		sentinel: sentinel,
		recs:     make([]rec, 0, 1<<18),
		out:      bufio.NewWriterSize(os.Stdout, 1<<16),
	}
}

// Add records one notification that arrived at t (from Now).
func (r *Recorder) Add(t int64, index uint32, up bool) {
	if index == r.sentinel {
		fmt.Fprintf(r.out, "S %d %d %d\n", t, index, b2i(up))
		r.out.Flush()
		return
	}
	r.recs = append(r.recs, rec{t, index, up})
}

// Note adds an "X" line printed at exit.
func (r *Recorder) Note(key string, value any) {
	r.extra = append(r.extra, fmt.Sprintf("X %s %v", key, value))
}

// Finish prints every record and note and flushes.
func (r *Recorder) Finish() error {
	buf := make([]byte, 0, 64)
	for _, x := range r.recs {
		buf = buf[:0]
		buf = append(buf, "E "...)
		buf = strconv.AppendInt(buf, x.t, 10)
		buf = append(buf, ' ')
		buf = strconv.AppendUint(buf, uint64(x.index), 10)
		buf = append(buf, ' ', byte('0'+b2i(x.up)), '\n')
		r.out.Write(buf)
	}
	for _, l := range r.extra {
		r.out.WriteString(l + "\n")
	}
	return r.out.Flush()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// StdinClosed returns a channel closed when stdin reaches EOF (the coordinator's stop signal).
func StdinClosed() <-chan struct{} {
	c := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(c)
	}()
	return c
}
