# Link watch: core/src/linkwatch, ffi/src/linkwatch.rs, go/linkwatch, examples/portsyncd.
# The Rust host-kernel tests (core/tests/linkwatch_*.rs, ffi unit tests) run in
# `cargo test --workspace`; this fragment adds the Go package and the portsyncd example.

APT_PACKAGES += iproute2 util-linux redis-server redis-tools
TEST_TARGETS += test-linkwatch-go

GO ?= go

.PHONY: linkwatch-ffi test-linkwatch-go

linkwatch-ffi:
	$(CARGO) build --release -p ipvs_ffi

test-linkwatch-go: linkwatch-ffi
	cd go && test -z "$$(gofmt -l linkwatch)" || { gofmt -l linkwatch; exit 1; }
	cd go && $(GO) vet ./linkwatch/
	cd go && $(GO) test -race -count=1 ./linkwatch/
	cd benches/linkwatch && test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	cd benches/linkwatch && $(GO) vet ./...

BENCH_TARGETS += bench-linkwatch
.PHONY: bench-linkwatch linkwatch-bench-consumers
LINKWATCH_BENCH_BIN := $(ROOT)/target/linkwatch-bench
# The consumers of the bench run as processes: ours in Rust (core/examples/linkwatch_consumer.rs)
# and Go (benches/linkwatch: go/linkwatch, and vishvananda/netlink).
linkwatch-bench-consumers: linkwatch-ffi
	mkdir -p $(LINKWATCH_BENCH_BIN)
	nice -n 10 $(CARGO) build --release -p lbnet --example linkwatch_consumer
	cp target/release/examples/linkwatch_consumer $(LINKWATCH_BENCH_BIN)/
	cd benches/linkwatch && $(GO) build -o $(LINKWATCH_BENCH_BIN)/lbnetgo ./lbnetgo
	cd benches/linkwatch && $(GO) build -o $(LINKWATCH_BENCH_BIN)/vishvananda ./vishvananda
# One run, one writer, one workload: events/s sustained, loss and change-to-consumer latency of
# our Rust watcher, go/linkwatch, vishvananda/netlink and `ip monitor link` (3 rounds, plus the
# paced phase at SCHED_FIFO via chrt); resync of 1,000 links (host kernel, netns). About 4 min.
# Writes benches/results/linkwatch.md (hand-written notes after its marker line are kept).
bench-linkwatch: linkwatch-bench-consumers
	mkdir -p benches/results
	nice -n 10 $(CARGO) test --release -p bench-linkwatch --test linkwatch_bench --no-run
	LINKWATCH_BENCH_BIN=$(LINKWATCH_BENCH_BIN) LINKWATCH_BENCH_OUT=$(ROOT)/benches/results/linkwatch.md \
	  $(CARGO) test --release -p bench-linkwatch --test linkwatch_bench -- --ignored --nocapture --test-threads=1
	$(MAKE) bench-portsyncd

# portsyncd under a flood (benches/linkwatch/rust/tests/portsyncd_bench.rs): this tree's daemon
# and the baseline's (PORTSYNCD_BASELINE, the commit before the ProducerStateTable/pipelining
# work; built once from `git archive` into target/portsyncd-baseline), 200 veth ports, about
# 1 min. Rewrites the portsyncd section of benches/results/linkwatch.md (bench-linkwatch runs it
# last, after the watcher bench).
PORTSYNCD_BASELINE ?= 988be18
PORTSYNCD_BASELINE_BIN := $(LINKWATCH_BENCH_BIN)/portsyncd-$(PORTSYNCD_BASELINE)
.PHONY: bench-portsyncd
$(PORTSYNCD_BASELINE_BIN):
	git rev-parse --verify -q $(PORTSYNCD_BASELINE)^{commit} >/dev/null
	rm -rf $(ROOT)/target/portsyncd-baseline-src && mkdir -p $(ROOT)/target/portsyncd-baseline-src $(LINKWATCH_BENCH_BIN)
	git archive $(PORTSYNCD_BASELINE) | tar -x -C $(ROOT)/target/portsyncd-baseline-src
	cd $(ROOT)/target/portsyncd-baseline-src && nice -n 10 $(CARGO) build --release -p portsyncd \
	  --target-dir $(ROOT)/target/portsyncd-baseline
	cp $(ROOT)/target/portsyncd-baseline/release/portsyncd $@
bench-portsyncd: $(PORTSYNCD_BASELINE_BIN)
	mkdir -p benches/results
	nice -n 10 $(CARGO) build --release -p portsyncd
	nice -n 10 $(CARGO) test --release -p bench-linkwatch --test portsyncd_bench --no-run
	PORTSYNCD_BENCH_BINS="this tree ($$(git rev-parse --short HEAD))=$(ROOT)/target/release/portsyncd;baseline $(PORTSYNCD_BASELINE)=$(PORTSYNCD_BASELINE_BIN)" \
	  PORTSYNCD_BENCH_OUT=$(ROOT)/benches/results/linkwatch.md \
	  $(CARGO) test --release -p bench-linkwatch --test portsyncd_bench -- --ignored --nocapture --test-threads=1

# portsyncd's own tests (the daemon against a private redis-server and veth ports in a netns:
# tests/portsyncd.rs, tests/daemon.rs (health through a Redis that stops answering, watchdog
# rate, SIGTERM drain), tests/design_config.rs (the design's configuration file, the unit
# file, --version), and the unit tests). `make test` runs them in test-unit (`cargo test
# --workspace`), so this narrow target is not in TEST_TARGETS. About 30 s warm.
.PHONY: test-portsyncd
test-portsyncd:
	$(CARGO) test -p portsyncd -- --test-threads=1

DEMO_TARGETS += demo-portsyncd
.PHONY: demo-portsyncd
# portsyncd against a private redis-server and veth "ports" in a private netns.
demo-portsyncd:
	$(CARGO) build --release -p portsyncd
	examples/portsyncd/demo.sh

# The same host-kernel tests on the lab's Debian kernel (6.1): built here, run inside lab/run.
LAB_RUN ?= $(ROOT)/lab/run
LAB_TEST_TARGETS += lab-test-linkwatch
.PHONY: lab-test-linkwatch
lab-test-linkwatch:
	@bins=$$($(CARGO) test -p lbnet -p portsyncd --tests --no-run 2>&1 \
	    | sed -n 's/.*Executable tests\/\(linkwatch_[a-z_]*\|portsyncd\)\.rs (\(.*\))$$/\2/p'); \
	test -n "$$bins" || { echo "lab-test-linkwatch: no test binaries found" >&2; exit 1; }; \
	script=$(ROOT)/target/lab-test-linkwatch$(if $(LAB_KERNEL),-$(LAB_KERNEL)).sh; \
	{ echo '#!/bin/bash'; echo 'set -e'; echo 'echo "lab kernel $$(uname -r)"'; \
	  for b in $$bins; do echo "$(ROOT)/$$b --test-threads=1"; done; } > $$script; \
	chmod +x $$script; \
	$(LAB_RUN) $$script

# portsyncd against SONiC's own readers: swss-common's C++ library built from the unmodified
# peer tarball (scripts/build-swss-common.sh, cached by commit under
# $${LBNET_PEER_CACHE:-~/.cache/lbnet-peers}; about 4 min cold, nothing warm), a small reader
# (examples/portsyncd/swss/swss_consumer.cpp: swss::ConsumerStateTable on APPL_DB PORT_TABLE,
# swss::SubscriberStateTable on STATE_DB PORT_TABLE), and the tests in
# examples/portsyncd/tests/swss_consumer.rs run with it against a private redis-server and veth
# links in a netns. ConsumerStateTable loads its Lua scripts from /usr/share/swss/ (a path fixed
# in swss-common's redisapi.h), so the tree's common/*.lua are installed there.
APT_PACKAGES += g++ libhiredis-dev libzmq3-dev libboost-dev libboost-serialization-dev \
  nlohmann-json3-dev libnl-route-3-dev libnl-nf-3-dev autoconf automake libtool autoconf-archive
TEST_TARGETS += test-portsyncd-swss
SWSS_CONSUMER_BIN := $(ROOT)/target/swss/swss_consumer
.PHONY: test-portsyncd-swss swss-consumer
swss-consumer:
	@swss=$$(scripts/build-swss-common.sh); \
	mkdir -p /usr/share/swss; \
	for f in $$swss/lua/*.lua; do \
	  cmp -s $$f /usr/share/swss/$$(basename $$f) || install -m 644 $$f /usr/share/swss/ \
	    || { echo "swss-consumer: cannot install $$f into /usr/share/swss (run as root)" >&2; exit 1; }; \
	done; \
	mkdir -p $(dir $(SWSS_CONSUMER_BIN)); \
	if [ ! -x $(SWSS_CONSUMER_BIN) ] || [ examples/portsyncd/swss/swss_consumer.cpp -nt $(SWSS_CONSUMER_BIN) ] \
	   || [ $$swss/lib/libswsscommon.so -nt $(SWSS_CONSUMER_BIN) ]; then \
	  echo "g++ swss_consumer.cpp (libswsscommon from $$swss)"; \
	  g++ -std=c++17 -O1 -Wall -I$$swss/include -o $(SWSS_CONSUMER_BIN) \
	    examples/portsyncd/swss/swss_consumer.cpp -L$$swss/lib -Wl,-rpath,$$swss/lib \
	    -lswsscommon -lhiredis -lpthread; \
	fi
test-portsyncd-swss: swss-consumer
	SWSS_CONSUMER_BIN=$(SWSS_CONSUMER_BIN) $(CARGO) test -p portsyncd --test swss_consumer \
	  -- --ignored --test-threads=1
