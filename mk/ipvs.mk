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
# (VmHWM) of a process applying one 10,000-change batch. See core/examples/ipvs_bench.rs.
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
