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

BENCH_TARGETS += bench-linkwatch
.PHONY: bench-linkwatch
# Sustained events/s, change-to-consumer latency, resync of 1,000 links (host kernel, netns).
bench-linkwatch:
	$(CARGO) test --release -p lbnet --test linkwatch_bench -- --ignored --nocapture --test-threads=1

DEMO_TARGETS += demo-portsyncd
.PHONY: demo-portsyncd
# portsyncd against a private redis-server and veth "ports" in a private netns.
demo-portsyncd:
	$(CARGO) build --release -p portsyncd
	examples/portsyncd/demo.sh
