package ipvs

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// inNetns runs f on an OS thread moved into the network namespace at path. The thread is
// never returned to the Go scheduler's pool (the goroutine exits with the thread locked, so the
// runtime discards the thread).
func inNetns(path string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer syscall.Close(fd)
		const sysSetns = 308 // x86_64
		if _, _, e := syscall.RawSyscall(sysSetns, uintptr(fd), syscall.CLONE_NEWNET, 0); e != 0 {
			done <- e
			return
		}
		done <- f()
	}()
	return <-done
}

// TestStatsFromTraffic sends real TCP connections through a masquerading service (client
// namespace -> IPVS namespace with the VIP -> real-server namespace, over veth pairs) and checks
// the 64- and 32-bit counters of the service and destination, then Zero. The kernel folds the
// per-CPU counters into what it reports from its rate estimator (every 2 s), so the test polls.
func TestStatsFromTraffic(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("setns syscall number is for amd64")
	}
	h, nsA := kernelHandleNS(t)
	nsB, nsC := testNetns(t), testNetns(t)
	a, b, c := filepath.Base(nsA), filepath.Base(nsB), filepath.Base(nsC)
	pfx := fmt.Sprintf("g%d", nsSeq.Add(1))
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	run("ip", "-n", a, "addr", "add", "192.0.2.1/32", "dev", "lo")
	run("ip", "link", "add", pfx+"ab", "netns", a, "type", "veth", "peer", "name", pfx+"ba", "netns", b)
	run("ip", "link", "add", pfx+"ac", "netns", a, "type", "veth", "peer", "name", pfx+"ca", "netns", c)
	run("ip", "-n", a, "addr", "add", "198.51.100.1/24", "dev", pfx+"ab")
	run("ip", "-n", a, "addr", "add", "10.0.0.1/24", "dev", pfx+"ac")
	run("ip", "-n", b, "addr", "add", "198.51.100.2/24", "dev", pfx+"ba")
	run("ip", "-n", c, "addr", "add", "10.0.0.2/24", "dev", pfx+"ca")
	for _, l := range [][2]string{{a, pfx + "ab"}, {a, pfx + "ac"}, {b, pfx + "ba"}, {c, pfx + "ca"}} {
		run("ip", "-n", l[0], "link", "set", l[1], "up")
	}
	run("ip", "-n", b, "route", "add", "default", "via", "198.51.100.1")
	run("ip", "-n", c, "route", "add", "default", "via", "10.0.0.1")
	run("ip", "netns", "exec", a, "sysctl", "-qw", "net.ipv4.ip_forward=1")

	ctx := ctxT(t)
	s := Service{Address: vip4, Protocol: TCP, Port: 80, Scheduler: "rr"}
	d := Destination{Address: netip.MustParseAddr("198.51.100.2"), Port: 8080, Weight: 1, Forward: Masquerade}
	if err := h.NewService(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if err := h.NewDestination(ctx, &s, &d); err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	if err := inNetns(nsB, func() (err error) { ln, err = net.Listen("tcp", "198.51.100.2:8080"); return }); err != nil {
		t.Fatalf("listen in the real-server namespace: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			c.Write(buf[:n])
			c.Close()
		}
	}()
	const conns = 5
	err := inNetns(nsC, func() error {
		for i := 0; i < conns; i++ {
			c, err := net.DialTimeout("tcp", "192.0.2.1:80", 10*time.Second)
			if err != nil {
				return err
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte("hello ipvs")); err != nil {
				c.Close()
				return err
			}
			buf := make([]byte, 64)
			n, err := c.Read(buf)
			c.Close()
			if err != nil || string(buf[:n]) != "hello ipvs" {
				return fmt.Errorf("echo through the VIP: %q, %v", buf[:n], err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("traffic: %v", err)
	}
	var got *Service
	for deadline := time.Now().Add(20 * time.Second); ; {
		if got, err = h.GetService(ctx, &s); err != nil {
			t.Fatal(err)
		}
		if got.Stats.Connections >= conns || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	st := got.Stats
	t.Logf("service counters after %d connections: %+v", conns, st)
	if st.Connections != conns || st.PacketsIn == 0 || st.PacketsOut == 0 || st.BytesIn == 0 || st.BytesOut == 0 {
		t.Errorf("service counters %+v: want %d connections and packets/bytes both ways", st, conns)
	}
	s32 := got.Stats32
	if uint64(s32.Connections) != st.Connections || uint64(s32.PacketsIn) != st.PacketsIn || s32.BytesIn != st.BytesIn {
		t.Errorf("32-bit view %+v does not match the 64-bit counters %+v", s32, st)
	}
	ds, err := h.Destinations(ctx, &s)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Destinations: %v, %v", ds, err)
	}
	if ds[0].Stats.Connections != conns || ds[0].Stats.PacketsIn != st.PacketsIn {
		t.Errorf("destination counters %+v, service %+v", ds[0].Stats, st)
	}
	if err := h.Zero(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if got, err = h.GetService(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if got.Stats.Connections != 0 || got.Stats.PacketsIn != 0 || got.Stats.BytesIn != 0 {
		t.Errorf("after Zero: %+v", got.Stats)
	}
}
