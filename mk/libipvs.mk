# libipvs's API in libipvs_ffi.so (ffi/src/libipvs, include/lbnet/libipvs.h) proven inside the
# real ipvsadm 1.31, relinked against it (issue 12).
#
#   make test-libipvs         host: header staleness, layout vs ipvsadm's own libipvs.h, the
#                             relinked ipvsadm builds and links no libnl
#   make test-lab-libipvs     kernel lab: random ipvsadm command sequences through Debian's
#                             ipvsadm, upstream's libnl build and the relinked one, compared
#   make bench-libipvs        kernel lab: ipvsadm -R of 10,000 services / 50,000 destinations,
#                             stock vs relinked; writes its section of benches/results/ipvs.md
#
# ipvsadm is built once per version into ${LBNET_PEER_CACHE:-~/.cache/lbnet-peers}/ipvsadm-1.31
# (mk/libipvs-ipvsadm.sh); the relink against the current library is done every time (< 1 s).

APT_PACKAGES += libpopt-dev libnl-3-dev libnl-genl-3-dev ipvsadm python3 curl
# test-lab-libipvs: 2,000 steps (4 seeds x 500), each command through both ipvsadm builds, in
# one lab boot: 324 s of lab time measured on 2026-12-06 (5.6 min with the boot, machine loaded);
# 1832 s (31.5 min) on a second run that day with the host's load average at 25-31 (7 helpers'
# builds and qemu on 2 cores), with the same 2,000 steps and 204 table checks; not re-measured on a quiet host.
TEST_TARGETS += test-libipvs test-lab-libipvs
LAB_TEST_TARGETS += test-lab-libipvs
BENCH_TARGETS += bench-libipvs
LIBIPVS_OUT := $(ROOT)/target/libipvs
LIBIPVS_IPVSADM := $(LIBIPVS_OUT)/ipvsadm
# Random sequences: seeds and steps per seed (4 x 500 = 2,000 steps by default).
LIBIPVS_SEEDS ?= 1,2,3,4
LIBIPVS_STEPS ?= 500
# e.g. --ref $(LIBIPVS_IPVSADM)/libnl/ipvsadm: a third namespace with upstream 1.31 over libnl
LIBIPVS_COMPARE_ARGS ?=
LIBIPVS_BENCH_SERVICES ?= 10000
LIBIPVS_BENCH_DESTS_PER ?= 5
LIBIPVS_BENCH_OUT ?= $(ROOT)/benches/results/ipvs.md

.PHONY: header-libipvs libipvs-ipvsadm test-libipvs test-lab-libipvs bench-libipvs

# `make header` also regenerates include/lbnet/libipvs.h.
header: header-libipvs
header-libipvs:
	LBNET_WRITE_HEADER=1 $(CARGO) test -p ipvs_ffi --test libipvs_header libipvs_header_is_up_to_date

# `make install` also installs include/lbnet/libipvs.h.
install: install-libipvs-header
.PHONY: install-libipvs-header
install-libipvs-header:
	install -D -m 0644 $(ROOT)/include/lbnet/libipvs.h $(DESTDIR)$(INCLUDEDIR)/lbnet/libipvs.h

libipvs-ipvsadm: deps ffi-lib
	$(ROOT)/mk/libipvs-ipvsadm.sh build $(LIBIPVS_IPVSADM) $(FFI_RELDIR)

test-libipvs: libipvs-ipvsadm
	$(CARGO) test -p ipvs_ffi --test libipvs_header
	$(ROOT)/mk/libipvs-ipvsadm.sh layout $(LIBIPVS_OUT)/layout $(ROOT)/include
	@echo "test-libipvs: passed"

test-lab-libipvs: libipvs-ipvsadm
	LAB_TIMEOUT=$${LAB_TIMEOUT:-3000} $(LAB) python3 $(ROOT)/examples/ipvsadm/compare.py \
		/usr/sbin/ipvsadm $(LIBIPVS_IPVSADM)/bin/ipvsadm $(LIBIPVS_COMPARE_ARGS) \
		--seeds $(LIBIPVS_SEEDS) --steps $(LIBIPVS_STEPS)
	@echo "test-lab-libipvs: passed"

bench-libipvs: libipvs-ipvsadm
	mkdir -p $(LIBIPVS_OUT)
	LAB_TIMEOUT=$${LAB_TIMEOUT:-3000} $(LAB) python3 $(ROOT)/benches/ipvs/ipvsadm_restore.py \
		stock=/usr/sbin/ipvsadm ours=$(LIBIPVS_IPVSADM)/bin/ipvsadm \
		--services $(LIBIPVS_BENCH_SERVICES) --dests-per $(LIBIPVS_BENCH_DESTS_PER) \
		| tee $(LIBIPVS_OUT)/bench.log
	python3 $(ROOT)/benches/ipvs/ipvsadm_restore_report.py $(LIBIPVS_OUT)/bench.log \
		$(LIBIPVS_BENCH_OUT)
