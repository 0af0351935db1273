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
# outcome per line and target to benches/results/kernels.md (from the per-pair results in
# target/kernels/, with lab/kernels-notes.md as its Notes), then fails if any failed.
#   LAB_KERNEL_JOBS=3   the three lines at once, one chain of targets each (LAB_PREBUILD built
#                       once first; the chains never rebuild it)
#   KERNELS_RUN=failed  re-run only the pairs that failed or never ran; or a list of pairs,
#                       KERNELS_RUN="5.10/test-xdp-lab 6.12/test-lab-go"; "none": only the table
KERNELS_OUT ?= $(ROOT)/benches/results/kernels.md
LAB_KERNEL_JOBS ?= 1
# What the lab targets build on the host before they boot a guest: made once by kernels.sh when
# the lines run concurrently, then taken as up to date (make -o) by every chain. Areas whose lab
# target gains a build prerequisite add it here.
LAB_PREBUILD ?= deps build ffi-lib ffi-test-bins ipvsctl ipvsctl-bins libipvs-ipvsadm \
	keepalived-lbnet seesaw-build lab-test-bins
.PHONY: lab-test-bins
# The Rust test binaries the lab targets run (ipvs, xdp: -p lbnet; linkwatch: -p lbnet -p portsyncd).
lab-test-bins:
	$(CARGO) test -p lbnet --tests --no-run
	$(CARGO) test -p lbnet -p portsyncd --tests --no-run
test-kernels: deps
	LAB_KERNEL_JOBS=$(LAB_KERNEL_JOBS) LAB_PREBUILD="$(LAB_PREBUILD)" \
		lab/kernels.sh $(KERNELS_OUT) $(LAB_KERNELS) -- $(LAB_TEST_TARGETS)
