# IPVS (core/src/ipvs): kernel tests, demo and benchmark in the kernel lab; fuzzing of the reply
# parser. The host kernel has no IPVS, so everything that talks to IPVS runs in the lab.

LAB ?= $(ROOT)/lab/run
APT_PACKAGES += ipvsadm
TEST_TARGETS += test-lab-ipvs
LAB_TEST_TARGETS += test-lab-ipvs
DEMO_TARGETS += demo-ipvs
BENCH_TARGETS += bench-ipvs

.PHONY: test-lab-ipvs demo-ipvs bench-ipvs

# All IPVS kernel tests (core/tests/ipvs_*.rs) in one lab boot, with LBNET_REQUIRE_KERNEL=1.
test-lab-ipvs:
	LAB=$(LAB) CARGO=$(CARGO) mk/ipvs-lab.sh tests

# The IPVS tour (library listing) followed by `ipvsadm -Ln` of the same table.
demo-ipvs:
	LAB=$(LAB) CARGO=$(CARGO) mk/ipvs-lab.sh demo

# Single operations and a 10,000-change batch beside a raw floor (prebuilt messages on one socket),
# with our ratio to it; 1,000 services x 4 destinations: batch creation and listing; the peak RSS
# (VmHWM) of a process applying one 10,000-change batch.
# See benches/ipvs/rust/src/bin/ipvs_bench.rs.
bench-ipvs:
	LAB=$(LAB) CARGO=$(CARGO) mk/ipvs-lab.sh bench

# Fuzzing the IPVS reply parser (fuzz/, a cargo-fuzz crate outside the workspace). cargo-fuzz
# needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
IPVS_FUZZ_SECONDS ?= 30
CARGO_FUZZ_VERSION ?= 0.13.2
TEST_TARGETS += fuzz-ipvs
.PHONY: fuzz fuzz-ipvs
fuzz: fuzz-ipvs

fuzz-ipvs:
	@$(CARGO) fuzz --version 2>/dev/null | grep -q "$(CARGO_FUZZ_VERSION)" || \
		$(CARGO) install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run ipvs_reply -- \
		-max_total_time=$(IPVS_FUZZ_SECONDS) -print_final_stats=1 2>&1 | \
		grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|panicked|ERROR|SUMMARY" ; \
		test $${PIPESTATUS[0]} -eq 0

# The IPVS peer benchmark (benches/ipvs, issue 4): the same workloads through our core (Rust),
# our C ABI, our Go package, moby/ipvs, cloudflare/ipvs, Seesaw's libnl pattern, ipvsadm and a
# raw netlink floor, all in ONE lab boot; prints the table and writes benches/results/ipvs.md.
# Sizes from the environment or the command line (lab/run passes LBNET_* into the guest):
# LBNET_IPVS_BENCH_N, _GET_SERVICES, _LIST_SERVICES, _LIST_REPS, _BATCH, _CLIENTS (see
# benches/ipvs/README.md).
GO ?= go
APT_PACKAGES += libnl-3-dev libnl-genl-3-dev time
BENCH_TARGETS += bench-ipvs-peers
IPVS_PEERS_BIN := $(ROOT)/target/ipvs-peers
IPVS_PEERS_OUT ?= $(ROOT)/benches/results/ipvs.md
IPVS_PEERS_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -D_GNU_SOURCE
.PHONY: bench-ipvs-peers ipvs-peers-build

# Every client built on the host into target/ipvs-peers (the lab sees the host's files).
ipvs-peers-build: ffi-lib
	mkdir -p $(IPVS_PEERS_BIN)
	$(CARGO) build --release -p bench-ipvs --bin ipvs_bench_core
	cp $(FFI_RELDIR)/ipvs_bench_core $(IPVS_PEERS_BIN)/
	gcc $(IPVS_PEERS_CFLAGS) -o $(IPVS_PEERS_BIN)/raw_floor benches/ipvs/c/raw_floor.c
	gcc $(IPVS_PEERS_CFLAGS) -o $(IPVS_PEERS_BIN)/ipvsadm_client benches/ipvs/c/ipvsadm_client.c
	gcc $(IPVS_PEERS_CFLAGS) -o $(IPVS_PEERS_BIN)/c_abi benches/ipvs/c/c_abi.c \
		$$(PKG_CONFIG_PATH=$(FFI_PCDIR) pkg-config --cflags --libs ipvs_ffi)
	cd benches/ipvs/go && $(GO) mod download && $(GO) vet ./... && \
		$(GO) build -o $(IPVS_PEERS_BIN)/ ./cmd/...

# Issue 11's bar (go-lbnet / c-abi <= 1.3 per single operation): both clients at once, taking
# turns in blocks of 10 operations, in LBNET_IPVS_GO_ROUNDS (11) rounds, one lab boot:
# benches/ipvs/go_rounds.sh writes benches/results/ipvs-go.md.
BENCH_TARGETS += bench-ipvs-go
.PHONY: bench-ipvs-go
bench-ipvs-go: ipvs-peers-build
	LBNET_BENCH_HOST_NPROC=$$(nproc) LBNET_BENCH_HOST_LOAD="$$(cut -d' ' -f1-3 /proc/loadavg)" \
		LAB_TIMEOUT=$${LAB_TIMEOUT:-2400} \
		$(LAB) $(ROOT)/benches/ipvs/go_rounds.sh $(IPVS_PEERS_BIN) $(ROOT)/benches/results/ipvs-go.md

bench-ipvs-peers: ipvs-peers-build
	mkdir -p $(dir $(IPVS_PEERS_OUT))
	LBNET_BENCH_HOST_NPROC=$$(nproc) LBNET_BENCH_HOST_LOAD="$$(cut -d' ' -f1-3 /proc/loadavg)" \
	LBNET_BENCH_HOST_CPU="$$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
		LAB_TIMEOUT=$${LAB_TIMEOUT:-2400} $(LAB) $(ROOT)/benches/ipvs/run.sh $(IPVS_PEERS_BIN) $(IPVS_PEERS_OUT)
