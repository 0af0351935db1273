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

# One add-service round trip; 1,000 services x 4 destinations: batch creation and listing.
bench-ipvs:
	LAB=$(LAB) CARGO=$(CARGO) mk/ipvs-lab.sh bench
