// Command lbnetgo is the link-watch bench consumer for lbnet's Go package (go/linkwatch): it
// watches the links of a network namespace (-netns PATH, or the one it runs in) through
// Watcher.Events and records when each event reaches the Go code.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/lbnet/lbnet/benches/linkwatch/internal/record"
	"github.com/lbnet/lbnet/go/linkwatch"
)

func main() {
	sentinel := flag.Uint("sentinel", 0, "ifindex of the coordinator's sentinel link")
	rcvbuf := flag.Uint("rcvbuf", 0, "receive buffer in bytes (0: the package default)")
	netns := flag.String("netns", "", "network namespace file (empty: the one this process runs in)")
	flag.Parse()
	if err := record.CheckClock(); err != nil {
		fmt.Fprintln(os.Stderr, "lbnetgo:", err)
		os.Exit(1)
	}
	w, err := linkwatch.Open(linkwatch.Options{NetNSPath: *netns, RcvBuf: uint32(*rcvbuf)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "lbnetgo: open:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events, errc := w.Events(ctx)
	stop := record.StdinClosed()
	r := record.New(uint32(*sentinel))
loop:
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				if err := <-errc; err != nil {
					r.Note("error", err)
				}
				break loop
			}
			t := record.Now()
			if ev.Type == linkwatch.Removed {
				continue
			}
			r.Add(t, ev.Link.Index, ev.Link.AdminUp)
		case <-stop:
			break loop
		}
	}
	cancel()
	if st, err := w.Stats(); err == nil {
		r.Note("messages", st.Messages)
		r.Note("overruns", st.Overruns)
		r.Note("resyncs", st.Resyncs)
		r.Note("rcvbuf", st.RcvBuf)
	}
	w.Close()
	if err := r.Finish(); err != nil {
		os.Exit(1)
	}
}
