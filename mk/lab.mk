# The kernel lab (lab/run): Debian's kernels with ip_vs, vrf, dummy and veth booted in qemu over
# this machine's filesystem. See lab/README.md.
#
#   make lab               download and cache the kernel line $(LAB_KERNEL) (default 6.1)
#   make test-lab-smoke    lab/selftest.sh: proves lab/run (status, args, output, repo, IPVS...)
#   make test-kernels      every target in LAB_TEST_TARGETS on every kernel line in LAB_KERNELS
#
# Other areas append their lab test targets to LAB_TEST_TARGETS in their own fragment; those
# targets must honour LAB_KERNEL (lab/run reads it from the environment).

APT_PACKAGES += qemu-system-x86 busybox-static cpio kmod xz-utils zstd util-linux bc ipvsadm \
	debian-archive-keyring
TEST_TARGETS += test-lab-smoke
LAB_TEST_TARGETS += test-lab-smoke
LAB_KERNELS ?= 5.10 6.1 6.12

.PHONY: lab test-lab-smoke test-kernels
lab: deps
	lab/prepare >/dev/null

test-lab-smoke: deps
	lab/selftest.sh

# Runs every target on every kernel line, each by itself, even when one fails, writes the
# outcome per line and target to benches/results/kernels.md, then fails if any failed.
KERNELS_OUT ?= $(ROOT)/benches/results/kernels.md
test-kernels: deps
	lab/kernels.sh $(KERNELS_OUT) $(LAB_KERNELS) -- $(LAB_TEST_TARGETS)
