package linkwatch

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// An address added to and removed from a link of a fresh namespace arrives as Added and
// Removed, through the Events channel, with the address and prefix length the kernel has.
func TestAddrWatcherReportsAddedAndRemoved(t *testing.T) {
	ns := newNetns(t)
	ns.ip("link add e0 type veth peer name e1")
	ns.ip("addr add 198.51.100.1/24 dev e0")
	w, err := OpenAddrs(Options{NetNSPath: ns.path()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	snap, err := w.Snapshot()
	if err != nil || len(snap) != 1 || snap[0].Prefix != netip.MustParsePrefix("198.51.100.1/24") {
		t.Fatalf("snapshot %v, %v", snap, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, errc := w.Events(ctx)
	next := func() AddrEvent {
		t.Helper()
		select {
		case ev := <-evs:
			return ev
		case err := <-errc:
			t.Fatal(err)
		case <-time.After(5 * time.Second):
			t.Fatal("no address event in 5 s")
		}
		return AddrEvent{}
	}
	ns.ip("addr add 2001:db8:9::5/64 dev e0 nodad")
	ev := next()
	if ev.Type != Added || ev.Addr.Prefix != netip.MustParsePrefix("2001:db8:9::5/64") || ev.Addr.Index != snap[0].Index {
		t.Fatalf("want Added 2001:db8:9::5/64, got %+v", ev)
	}
	ns.ip("addr del 198.51.100.1/24 dev e0")
	ev = next()
	if ev.Type != Removed || ev.Addr.Prefix.Masked() != netip.MustParsePrefix("198.51.100.0/24") {
		t.Fatalf("want Removed 198.51.100.1/24, got %+v", ev)
	}
	st, err := w.Stats()
	if err != nil || st.Events != 2 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Snapshot(); err == nil {
		t.Fatal("snapshot after close succeeded")
	}
}
