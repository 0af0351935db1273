# XDP load balancer (bpf/, core/src/xdp/, ffi/src/xdplb.rs, go/xdplb, examples/xdplbctl,
# examples/xdp-lab). The BPF programs are built by core/build.rs with clang; the Rust tests
# (core/tests/xdp_*.rs, examples/xdplbctl/tests) run in `cargo test --workspace` as root against
# the host kernel. test-xdp adds the Go bindings; demo-xdp runs the lab; bench-xdp the numbers.
APT_PACKAGES += clang llvm libbpf-dev ethtool wrk g++ curl bpftool

TEST_TARGETS += test-xdp test-xdp-lab test-xdp-topology test-xdp-katran
# make test-kernels runs the XDP kernel tests on every lab kernel line (5.10, 6.1, 6.12).
LAB_TEST_TARGETS += test-xdp-lab
DEMO_TARGETS += demo-xdp
BENCH_TARGETS += bench-xdp

.PHONY: test-xdp test-xdp-lab test-xdp-topology test-xdp-katran demo-xdp bench-xdp

# The Go package links target/release/libipvs_ffi.so.
test-xdp:
	$(CARGO) build --release -p ipvs_ffi
	cd go && test -z "$$(gofmt -l xdplb)" && go vet ./xdplb && go test -count=1 ./xdplb

# Client, balancer, router and three backends in network namespaces; wrk, spread, drain,
# control-plane restarts under load. Results in benches/out/xdp-lab/.
demo-xdp:
	$(CARGO) build --release -p xdplbctl
	examples/xdp-lab/run.sh $(ROOT)/benches/out/xdp-lab

# lbnet's program beside Katran's (built unmodified from the peer tarball, cached by commit under
# $${LBNET_PEER_CACHE:-$$HOME/.cache/lbnet-peers}; benches/xdp/katran/build-*.sh): cost per
# packet, instruction counts, Maglev slots moved. Writes benches/results/xdp.md (committed) and
# benches/out/xdp-bench.json. The Maglev tool needs katran/lib/MurmurHash3.h, which the peer
# tarball lacks: build-maglev.sh supplies lbnet's own (benches/xdp/katran/murmur3/). Quick look
# while changing the program: XDP_BENCH_CASES=ipv4_tcp_syn,oversize target/release/xdp_bench
# (those packets only, no results file).
XDP_RESULTS ?= $(ROOT)/benches/results/xdp.md
bench-xdp:
	mkdir -p benches/out
	KATRAN_BPF_OBJ=$$(benches/xdp/katran/build-bpf.sh) && export KATRAN_BPF_OBJ && \
	$(CARGO) run --release -p bench-xdp --bin xdp_bench $(XDP_RESULTS) $(ROOT)/benches/out/xdp-bench.json

# The Katran comparison's correctness part (also in `cargo test --workspace`): both programs,
# given the same VIPs, reals and ring, keep established flows on the same real; lbnet's Maglev
# rings equal Katran's MaglevHashV2 rings and move no more slots, on fixed backend sets.
test-xdp-katran:
	KATRAN_BPF_OBJ=$$(benches/xdp/katran/build-bpf.sh) && export KATRAN_BPF_OBJ && \
	$(CARGO) test --release -p bench-xdp --test katran

# The same kernel tests inside the kernel lab, on the line LAB_KERNEL names (default 6.1): older
# verifiers than the host's, and before 5.19 the LRU-per-CPU connection table only.
test-xdp-lab:
	@if [ -x lab/run ]; then examples/xdp-lab/kernel-lab-tests.sh lab/run; \
	else echo "test-xdp-lab: lab/run is not there (lab area not merged); not run" >&2; fi

# The topology test of the issue (spread within 10 % of the weights over 3,000 connections,
# drain keeps open connections and gets no new ones, control-plane restarts under wrk lose no
# request): the same run as the demo, which exits non-zero when any check fails.
test-xdp-topology: demo-xdp
