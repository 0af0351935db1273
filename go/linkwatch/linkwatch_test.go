package linkwatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	lbnet "github.com/lbnet/lbnet/go"
)

// netns is a throw-away network namespace, deleted when the test ends (also on failure).
type netns struct {
	t    *testing.T
	name string
}

var nsCounter int

func newNetns(t *testing.T) *netns {
	t.Helper()
	nsCounter++
	name := fmt.Sprintf("lbnet-lwgo-%d-%d", os.Getpid(), nsCounter)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	return &netns{t: t, name: name}
}

func (n *netns) path() string { return "/var/run/netns/" + n.name }

func (n *netns) ip(args string) {
	n.t.Helper()
	a := append([]string{"-n", n.name}, strings.Fields(args)...)
	if out, err := exec.Command("ip", a...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v: %s", args, err, out)
	}
}

type ipLink struct {
	Index int      `json:"ifindex"`
	Name  string   `json:"ifname"`
	Flags []string `json:"flags"`
	MTU   uint32   `json:"mtu"`
	Oper  string   `json:"operstate"`
	Addr  string   `json:"address"`
}

// kernelView is `ip -j link` reduced to what both sides report, keyed by ifindex.
func (n *netns) kernelView() map[uint32]string {
	n.t.Helper()
	out, err := exec.Command("ip", "-n", n.name, "-j", "link", "show").Output()
	if err != nil {
		n.t.Fatal(err)
	}
	var links []ipLink
	if err := json.Unmarshal(out, &links); err != nil {
		n.t.Fatal(err)
	}
	m := map[uint32]string{}
	for _, l := range links {
		up := false
		for _, f := range l.Flags {
			if f == "UP" {
				up = true
			}
		}
		m[uint32(l.Index)] = fmt.Sprintf("%s up=%v mtu=%d oper=%s mac=%s", l.Name, up, l.MTU, l.Oper, l.Addr)
	}
	return m
}

func view(l Link) string {
	return fmt.Sprintf("%s up=%v mtu=%d oper=%s mac=%s", l.Name, l.AdminUp, l.MTU, l.OperState, l.MAC)
}

func waitFor(t *testing.T, evs <-chan Event, what string, pred func(Event) bool) Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatalf("event channel closed while waiting for %s", what)
			}
			if pred(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestSnapshotAndEventsInNetns(t *testing.T) {
	ns := newNetns(t)
	w, err := Open(Options{NetNSPath: ns.path(), DumpTimeout: 5 * time.Second, NoSpeed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if fd, err := w.FD(); err != nil || fd < 0 {
		t.Fatalf("FD: %d %v", fd, err)
	}
	snap, err := w.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 1 || snap[0].Name != "lo" || snap[0].Index != 1 {
		t.Fatalf("snapshot of a new namespace: %+v", snap)
	}
	ctx, cancel := context.WithCancel(context.Background())
	evs, errc := w.Events(ctx)

	ns.ip("link add e0 type veth peer name e1")
	added := map[string]Link{}
	for len(added) < 2 {
		ev := waitFor(t, evs, "Added", func(e Event) bool { return e.Type == Added })
		added[ev.Link.Name] = ev.Link
	}
	e0, ok := added["e0"]
	if !ok || e0.Kind != "veth" || e0.MTU != 1500 || len(e0.MAC) != 6 || e0.AdminUp {
		t.Fatalf("e0 added with wrong fields: %+v", added)
	}

	ns.ip("link set e0 mtu 1400")
	ev := waitFor(t, evs, "MTU change", func(e Event) bool {
		return e.Type == Changed && e.Changes.Has(ChangeMTU)
	})
	if ev.Link.Index != e0.Index || ev.Old.MTU != 1500 || ev.Link.MTU != 1400 || ev.Changes.Has(ChangeName) {
		t.Fatalf("MTU event: %+v", ev)
	}

	ns.ip("link set e0 up")
	ns.ip("link set e1 up")
	waitFor(t, evs, "e0 oper up", func(e Event) bool {
		return e.Link.Name == "e0" && e.Link.OperState == OperUp && e.Link.Carrier
	})

	ns.ip("link del e0")
	removed := map[string]bool{}
	for len(removed) < 2 {
		ev := waitFor(t, evs, "Removed", func(e Event) bool { return e.Type == Removed })
		removed[ev.Link.Name] = true
	}
	if !removed["e0"] || !removed["e1"] {
		t.Fatalf("removed: %v", removed)
	}

	cancel()
	select {
	case _, ok := <-evs:
		for ok {
			_, ok = <-evs
		}
	case <-time.After(2 * time.Second):
		t.Fatal("event channel not closed after cancel")
	}
	if err := <-errc; err != nil {
		t.Fatalf("Events error: %v", err)
	}
	st, err := w.Stats()
	if err != nil || st.Events < 5 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

func TestOpenMissingNamespaceIsENOENT(t *testing.T) {
	_, err := Open(Options{NetNSPath: "/nonexistent/netns"})
	var le *lbnet.Error
	if !errors.Is(err, syscall.ENOENT) || !errors.Is(err, lbnet.NotFound) || !errors.As(err, &le) || le.Op != "linkwatch.Open" {
		t.Fatalf("want *lbnet.Error ENOENT of kind NotFound from linkwatch.Open, got %#v", err)
	}
	if _, err := Open(Options{DumpTimeout: -time.Second}); !errors.Is(err, lbnet.InvalidArgument) {
		t.Fatalf("negative DumpTimeout: want InvalidArgument, got %v", err)
	}
	if !strings.Contains(err.Error(), "/nonexistent/netns") {
		t.Fatalf("message lacks the path: %q", err)
	}
}

// A small buffer and a slow consumer force ENOBUFS; the channel consumer's view must still
// end equal to the kernel's.
func TestSlowConsumerConvergesAfterOverrun(t *testing.T) {
	ns := newNetns(t)
	const pairs = 6
	for i := 0; i < pairs; i++ {
		ns.ip(fmt.Sprintf("link add s%d type veth peer name t%d", i, i))
	}
	w, err := Open(Options{NetNSPath: ns.path(), RcvBuf: 16 * 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	snap, _ := w.Snapshot()
	table := map[uint32]Link{}
	for _, l := range snap {
		table[l.Index] = l
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, _ := w.Events(ctx)

	var script strings.Builder
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 5000; i++ {
		dir := "up"
		if r.Intn(2) == 0 {
			dir = "down"
		}
		end := "s"
		if r.Intn(2) == 0 {
			end = "t"
		}
		fmt.Fprintf(&script, "link set %s%d %s\n", end, r.Intn(pairs), dir)
	}
	cmd := exec.Command("ip", "-n", ns.name, "-batch", "-")
	cmd.Stdin = strings.NewReader(script.String())
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()

	apply := func(ev Event) {
		if ev.Type == Removed {
			delete(table, ev.Link.Index)
		} else {
			table[ev.Link.Index] = ev.Link
		}
	}
	writing := true
	for writing {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			writing = false
		case ev := <-evs:
			apply(ev)
			time.Sleep(300 * time.Microsecond)
		}
	}
	// Quiet for longer than the kernel's 1 s linkwatch batching.
	for quiet := false; !quiet; {
		select {
		case ev := <-evs:
			apply(ev)
		case <-time.After(2500 * time.Millisecond):
			quiet = true
		}
	}
	st, _ := w.Stats()
	if st.Overruns == 0 || st.Resyncs == 0 {
		t.Fatalf("no overrun/resync forced: %+v", st)
	}
	kernel := ns.kernelView()
	if len(kernel) != len(table) {
		t.Fatalf("consumer has %d links, kernel %d", len(table), len(kernel))
	}
	for idx, want := range kernel {
		if got := view(table[idx]); got != want {
			t.Errorf("ifindex %d: consumer %q, kernel %q", idx, got, want)
		}
	}
	t.Logf("stats: %+v", st)
}

// Snapshots from many goroutines while events flow, then Close while Events runs.
func TestConcurrentUseAndClose(t *testing.T) {
	ns := newNetns(t)
	w, err := Open(Options{NetNSPath: ns.path()})
	if err != nil {
		t.Fatal(err)
	}
	evs, errc := w.Events(context.Background())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s, err := w.Snapshot()
				if err != nil || len(s) == 0 {
					t.Errorf("snapshot: %v %d", err, len(s))
					return
				}
			}
		}()
	}
	go func() {
		for range evs {
		}
	}()
	for i := 0; i < 5; i++ {
		ns.ip(fmt.Sprintf("link add c%d type veth peer name d%d", i, i))
	}
	// The Events goroutine reads the notifications; the snapshot follows.
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap, err := w.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if len(snap) == 11 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot after creating 10 links has %d links", len(snap))
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Events error after Close: %v", err)
	}
	if _, err := w.Snapshot(); !errors.Is(err, lbnet.ErrClosed) {
		t.Fatalf("Snapshot after Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
