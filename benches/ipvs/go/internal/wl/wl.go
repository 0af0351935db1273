// Package wl holds what the Go clients of the IPVS peer benchmark share: the addressing scheme
// (service i is TCP VIP(i):80 "wrr"; destination j is 172.16.0.(j+1):8080, masquerading), the
// timing loops of each workload and the RESULT / NA output lines the driver
// (benches/ipvs/run.sh) reads. See benches/ipvs/README.md.
package wl

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"time"
)

// VIP is the address of service i: 10.(1 + i>>16).(i>>8 & 255).(i & 255).
func VIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(1 + i>>16), byte(i >> 8), byte(i)})
}

// RealServer is the address of destination j of every service: 172.16.0.(j+1).
func RealServer(j int) netip.Addr {
	return netip.AddrFrom4([4]byte{172, 16, 0, byte(j + 1)})
}

// NotAvailable is returned by a client for a workload its library has no API for; the
// driver prints "n/a" with Reason.
type NotAvailable struct{ Reason string }

func (e *NotAvailable) Error() string { return e.Reason }

// Client is one library under test. Service i, destination 0 and the weights follow the
// package's scheme; the driver has prepared the kernel state each workload starts from.
type Client interface {
	// AddService adds service i.
	AddService(i int) error
	// AddDest adds destination 0 (weight 1) to service i.
	AddDest(i int) error
	// UpdateWeight sets the weight of destination 0 of service i to 5.
	UpdateWeight(i int) error
	// Get reads service i and its destinations; it returns the number of destinations and
	// whether the service read back is service i.
	Get(i int) (dests int, ok bool, err error)
	// List reads every service with its destinations and returns the counts.
	List() (services, dests int, err error)
	// Flush removes every service.
	Flush() error
	// Batch applies n changes (n/5 services, each with destinations 0..3) in as few round
	// trips as the library allows; it returns the number of changes and of failed ones.
	Batch(n int) (changes, failed int, err error)
}

// samples takes per-operation times in groups, as the C clients' dist.h does: every g
// consecutive operations (LBNET_IPVS_BENCH_GROUP, default 10) make one sample, the group's time
// divided by g, so the clock is read twice per group instead of twice per operation (a clock
// read costs Go about 0.7 us under the lab's TCG, C about 0.25 us); an unfinished last group is
// dropped.
type samples struct {
	d  []time.Duration
	g  int
	k  int
	t0 time.Time
}

func newSamples(n int) *samples {
	g, err := strconv.Atoi(os.Getenv("LBNET_IPVS_BENCH_GROUP"))
	if err != nil {
		g = 10
	}
	g = min(max(g, 1), 1000)
	return &samples{d: make([]time.Duration, 0, n), g: g}
}

// begin starts the clock at the first operation of a group.
func (s *samples) begin() {
	if s.k == 0 {
		s.t0 = time.Now()
	}
}

// end counts an operation; a group of g makes one sample.
func (s *samples) end() {
	s.k++
	if s.k == s.g {
		s.d = append(s.d, time.Since(s.t0)/time.Duration(s.g))
		s.k = 0
	}
}

// result prints the RESULT line: the mean over ops of d and, when samples holds per-operation
// times (one per group of operations, see samples), their median and 90th percentile ("median=NS,p90=NS"; "n/a" otherwise).
// Percentiles are nearest-rank: the p-th is the sorted sample at index ceil(p*n/100)-1, as in
// the C and Rust clients.
func result(client, w string, d time.Duration, ops int, check string, samples []time.Duration) {
	dist := "n/a"
	if len(samples) > 0 {
		sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
		at := func(p int) int64 {
			k := (p*len(samples)+99)/100 - 1
			if k < 0 {
				k = 0
			}
			return samples[k].Nanoseconds()
		}
		dist = fmt.Sprintf("median=%d,p90=%d", at(50), at(90))
	}
	fmt.Printf("RESULT %s %s %.0f %d %s %s\n", client, w, float64(d.Nanoseconds())/float64(ops), ops, check, dist)
}

// Main runs `CLIENT WORKLOAD N [G]` (the driver's calling convention) with the client open
// returns, and exits non-zero on any error.
func Main(client string, open func() (Client, error)) {
	if err := run(client, open); err != nil {
		var na *NotAvailable
		if errors.As(err, &na) {
			fmt.Printf("NA %s %s %s\n", client, workload(), na.Reason)
			return
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", client, err)
		os.Exit(1)
	}
}

func run(client string, open func() (Client, error)) error {
	args := os.Args[1:]
	serving := len(args) > 0 && args[0] == "serve"
	if serving {
		args = args[1:]
	}
	if len(args) < 2 {
		return fmt.Errorf("usage: %s [serve] WORKLOAD N [G]", os.Args[0])
	}
	w := args[0]
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	g := 100
	if len(args) > 2 {
		if g, err = strconv.Atoi(args[2]); err != nil {
			return err
		}
	}
	c, err := open()
	if err != nil {
		return err
	}
	if serving {
		return serve(client, w, n, g, c)
	}
	switch w {
	case "add_service", "add_dest", "update_weight", "get_service":
		dests, bad := 0, 0
		op := single(c, w, g, &dests, &bad)
		samples := newSamples(n)
		t := time.Now()
		for i := 0; i < n; i++ {
			samples.begin()
			if err := op(i); err != nil {
				return fmt.Errorf("%s %d: %w", w, i, err)
			}
			samples.end()
		}
		check := "-"
		if w == "get_service" {
			check = fmt.Sprintf("dests=%d,bad=%d", dests, bad)
		}
		result(client, w, time.Since(t), n, check, samples.d)
	case "list":
		s, d := 0, 0
		t := time.Now()
		for r := 0; r < n; r++ {
			if s, d, err = c.List(); err != nil {
				return err
			}
		}
		result(client, w, time.Since(t), n, fmt.Sprintf("services=%d,dests=%d", s, d), nil)
	case "flush":
		t := time.Now()
		if err := c.Flush(); err != nil {
			return err
		}
		result(client, w, time.Since(t), 1, "-", nil)
	case "batch":
		t := time.Now()
		k, failed, err := c.Batch(n)
		if err != nil {
			return err
		}
		result(client, w, time.Since(t), k, fmt.Sprintf("errors=%d", failed), nil)
	default:
		return fmt.Errorf("unknown workload %s", w)
	}
	return nil
}

// single returns operation i of a single-operation workload (add_service, add_dest,
// update_weight, get_service), which adds what get_service read to *dests and *bad; nil for
// another workload.
func single(c Client, w string, g int, dests, bad *int) func(i int) error {
	switch w {
	case "add_service":
		return c.AddService
	case "add_dest":
		return c.AddDest
	case "update_weight":
		return c.UpdateWeight
	case "get_service":
		return func(i int) error {
			d, ok, err := c.Get(i % g)
			if err != nil {
				return fmt.Errorf("get %d: %w", i%g, err)
			}
			*dests += d
			if !ok {
				*bad++
			}
			return nil
		}
	}
	return nil
}

// serve is the serve mode (benches/ipvs/go_rounds.sh), the same protocol as c_abi.c's: it
// prints READY, then for each line "U K" on stdin runs the next U + K operations of workload w,
// the first U untimed and the K after them timed as one block (one clock read before, one
// after), and prints the block's nanoseconds and those of the U operations before it (timed from
// a clock read before them to the block's first one); at "END" (or end of input) it prints the RESULT
// line (mean over the timed operations, check over all operations, median and p90 of the
// blocks' times per operation).
func serve(client, w string, n, g int, c Client) error {
	dests, bad := 0, 0
	op := single(c, w, g, &dests, &bad)
	if op == nil {
		return fmt.Errorf("serve: %s is not a single-operation workload", w)
	}
	in := bufio.NewScanner(os.Stdin)
	blocks := make([]time.Duration, 0, n)
	next, timed := 0, 0
	var total time.Duration
	fmt.Println("READY")
	for in.Scan() && in.Text() != "END" {
		var u, k int
		if _, err := fmt.Sscan(in.Text(), &u, &k); err != nil || u < 0 || k < 1 || next+u+k > n {
			return fmt.Errorf("bad block %q", in.Text())
		}
		t0 := time.Now()
		for j := next; j < next+u; j++ {
			if err := op(j); err != nil {
				return fmt.Errorf("%s %d: %w", w, j, err)
			}
		}
		next += u
		t := time.Now()
		for j := next; j < next+k; j++ {
			if err := op(j); err != nil {
				return fmt.Errorf("%s %d: %w", w, j, err)
			}
		}
		d := time.Since(t)
		next += k
		timed += k
		total += d
		blocks = append(blocks, d/time.Duration(k))
		fmt.Println(d.Nanoseconds(), t.Sub(t0).Nanoseconds())
	}
	if err := in.Err(); err != nil {
		return err
	}
	check := "-"
	if w == "get_service" {
		check = fmt.Sprintf("dests=%d,bad=%d", dests, bad)
	}
	result(client, w, total, max(timed, 1), check, blocks)
	return nil
}

// workload is the workload named on the command line (after "serve" in the serve mode).
func workload() string {
	for _, a := range os.Args[1:] {
		if a != "serve" {
			return a
		}
	}
	return ""
}
