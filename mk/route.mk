# Route programming and the BGP export engine (core/src/route). Host-kernel tests
# (core/tests/route_*.rs) run in `cargo test --workspace`; this fragment adds the VRF test that
# needs the kernel lab, and the 100k-route benchmark.

.PHONY: test-route-lab bench-route

# The VRF export test needs CONFIG_NET_VRF, which the host kernel lacks: build the test binary
# here, run it inside the kernel lab (lab/run sees the same paths).
ROUTE_LAB_RUN ?= $(ROOT)/lab/run
test-route-lab:
	@test -x "$(ROUTE_LAB_RUN)" || { echo "test-route-lab: $(ROUTE_LAB_RUN) missing (kernel lab not merged)"; exit 1; }
	bin=$$($(CARGO) test -p lbnet --test route_export --no-run --message-format=json 2>/dev/null \
	  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1); \
	  test -n "$$bin"; \
	  $(ROUTE_LAB_RUN) "$$bin" --ignored --exact vrf_target_resolves_its_table_and_validates_in_the_vrf --test-threads=1

ifneq ($(wildcard $(ROUTE_LAB_RUN)),)
TEST_TARGETS += test-route-lab
endif

# Install, replace and withdraw 100,000 IPv4 routes: lbnet core, lbnet export engine, ip -batch.
bench-route:
	$(CARGO) test --release -p lbnet --test route_bench -- --ignored --nocapture --test-threads=1

BENCH_TARGETS += bench-route
