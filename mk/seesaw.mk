# The real Seesaw (github.com/google/seesaw at the pinned commit, examples/seesaw/build.sh) on
# lbnet's IPVS backend (-tags rust_ipvs) beside the stock libnl build. Owned by the go area
# (issue 12). See go/seesaw/README.md.
#
#   make seesaw-build     examples/seesaw/build.sh: Seesaw from SEESAW_SRC, the peer tarball or
#                         the Go module; every binaries/* with -tags rust_ipvs (no libnl in ldd,
#                         no seesaw/netlink in go list -deps); the stock tree built without the tag
#   make test-seesaw      seesaw-build, then on the host: Seesaw's own ipvs and netlink tests on
#                         the stock tree (libnl), and with -tags rust_ipvs Seesaw's own tests of
#                         every package under engine/ and ncc/ that has tests (the ipvs
#                         package's, which need IPVS, run in test-lab-seesaw)
#   make test-lab-seesaw  in the kernel lab (one boot, examples/seesaw/lab-test.sh): Seesaw's
#                         test_tools/ipvs_test_tool stock and rust_ipvs, logs compared; the
#                         readback comparison against the documented stock errors; Seesaw's ipvs
#                         tests with the tag; lbnet's Seesaw scenario

APT_PACKAGES += libnl-3-dev libnl-genl-3-dev
SEESAW_WORK ?= $(ROOT)/target/seesaw
SEESAW_LAB_RUN ?= $(ROOT)/lab/run
export SEESAW_WORK

.PHONY: seesaw-build test-seesaw test-lab-seesaw

seesaw-build: build
	examples/seesaw/build.sh

test-seesaw: seesaw-build
	cd $(SEESAW_WORK)/stock && $(GO) test ./ipvs ./netlink
	@cd $(SEESAW_WORK)/seesaw; \
	  pkgs=$$($(GO) list -tags rust_ipvs -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./engine/... ./ncc/...); \
	  echo "test-seesaw: packages under engine/ and ncc/ with tests, -tags rust_ipvs (ipvs/: in the lab):" $$pkgs; \
	  grep -qx 'github.com/google/seesaw/engine' <<<"$$pkgs" || { echo "test-seesaw: FAIL: engine has no tests?"; exit 1; }; \
	  set -x; $(GO) test -count=1 -tags rust_ipvs $$pkgs

test-lab-seesaw: seesaw-build
	$(SEESAW_LAB_RUN) $(ROOT)/examples/seesaw/lab-test.sh $(SEESAW_WORK)/bin $(SEESAW_WORK)/lab$(if $(LAB_KERNEL),-$(LAB_KERNEL))

TEST_TARGETS += test-seesaw test-lab-seesaw
LAB_TEST_TARGETS += test-lab-seesaw
