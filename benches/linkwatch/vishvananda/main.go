// Command vishvananda is the link-watch bench consumer for github.com/vishvananda/netlink's
// LinkSubscribeWithOptions, used as its README shows (a channel of LinkUpdate, an error
// callback), at its default receive buffer. It watches the network namespace it runs in and
// records when each update reaches the Go code. When the subscription dies (the library stops
// after any receive error, ENOBUFS included), it subscribes again, as a careful user would, and
// counts that.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lbnet/lbnet/benches/linkwatch/internal/record"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func main() {
	sentinel := flag.Uint("sentinel", 0, "ifindex of the coordinator's sentinel link")
	rcvbuf := flag.Int("rcvbuf", 0, "receive buffer in bytes (0: the socket default)")
	flag.Parse()
	if err := record.CheckClock(); err != nil {
		fmt.Fprintln(os.Stderr, "vishvananda:", err)
		os.Exit(1)
	}
	r := record.New(uint32(*sentinel))
	errs := make(chan error, 16)
	subscribe := func() (chan netlink.LinkUpdate, chan struct{}) {
		ch := make(chan netlink.LinkUpdate, 64)
		done := make(chan struct{})
		err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
			ReceiveBufferSize: *rcvbuf,
			ErrorCallback: func(err error) {
				select {
				case errs <- err:
				default:
				}
			},
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "vishvananda: subscribe:", err)
			os.Exit(1)
		}
		return ch, done
	}
	ch, done := subscribe()
	stop := record.StdinClosed()
	var updates, nerrors, resubscribes int
	var lastErr error
loop:
	for {
		select {
		case u, ok := <-ch:
			if !ok {
				// The library's goroutine returned after a receive error: subscribe again.
				close(done)
				resubscribes++
				ch, done = subscribe()
				continue
			}
			t := record.Now()
			updates++
			if u.Header.Type != unix.RTM_NEWLINK {
				continue
			}
			r.Add(t, uint32(u.Index), u.Flags&unix.IFF_UP != 0)
		case err := <-errs:
			nerrors++
			lastErr = err
		case <-stop:
			break loop
		}
	}
	close(done)
	r.Note("messages", updates)
	r.Note("errors", nerrors)
	r.Note("resubscribes", resubscribes)
	if lastErr != nil {
		r.Note("last_error", lastErr)
	}
	if err := r.Finish(); err != nil {
		os.Exit(1)
	}
}
