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

# Runs every kernel line even when one fails, then fails if any did.
test-kernels: deps
	@failed=""; \
	for k in $(LAB_KERNELS); do \
		echo "== make $(LAB_TEST_TARGETS) LAB_KERNEL=$$k"; \
		$(MAKE) --no-print-directory $(LAB_TEST_TARGETS) LAB_KERNEL=$$k || failed="$$failed $$k"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-kernels: failed on kernel lines:$$failed" >&2; exit 1; fi; \
	echo "test-kernels: all lab test groups passed on $(LAB_KERNELS)"
