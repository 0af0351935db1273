# The C ABI (ffi/): header generation, the shared and static library, pkg-config, install, and the
# C test program examples/c/ffi_test.c (host and kernel-lab runs, under valgrind and ASan).
#
#   make header                  regenerate include/ipvs_ffi.h from ffi/src (cbindgen)
#   make install PREFIX=/opt/x   install lib (.so + soname links, .a), header, pkg-config file
#   make test-ffi                host tests of the C ABI (part of `make test`)
#   make test-lab-ffi            the same C program against real IPVS in the kernel lab
#   make fuzz-ffi                libFuzzer over the C entry points (FUZZ_SECONDS, default 30)

FFI_VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' $(ROOT)/Cargo.toml | head -n1)
FFI_MAJOR := $(firstword $(subst ., ,$(FFI_VERSION)))
FFI_RELDIR := $(ROOT)/target/release
FFI_PCDIR := $(ROOT)/target/pkgconfig
FFI_CDIR := $(ROOT)/target/ffi-c
# Native libraries the Rust static library needs (rustc --print native-static-libs on linux-gnu).
FFI_PRIVATE_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
LAB ?= $(ROOT)/lab/run
# Extra programs `make install` puts in $(PREFIX)/bin when they are built (areas append).
INSTALL_BINS ?=
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin

APT_PACKAGES += valgrind clang libclang-rt-dev g++
TEST_TARGETS += test-ffi test-lab-ffi
LAB_TEST_TARGETS += test-lab-ffi

FFI_CFLAGS := -std=c11 -Wall -Wextra -Werror -g -O1 -D_GNU_SOURCE
FFI_TEST_SRC := $(ROOT)/examples/c/ffi_test.c
VALGRIND := valgrind --quiet --leak-check=full --show-leak-kinds=definite,possible \
	--errors-for-leak-kinds=definite,possible --error-exitcode=1 \
	--suppressions=$(ROOT)/examples/c/valgrind.supp

# A literal comma for use inside $(call ...) arguments.
, := ,

# sed program turning ffi/ipvs_ffi.pc.in into a .pc file: $(call ffi_pc,prefix,libdir,incdir,extra)
ffi_pc = sed -e 's|@PREFIX@|$(1)|' -e 's|@LIBDIR@|$(2)|' -e 's|@INCLUDEDIR@|$(3)|' \
	-e 's|@VERSION@|$(FFI_VERSION)|' -e 's|@EXTRA_LIBS@|$(4)|' \
	-e 's|@PRIVATE_LIBS@|$(FFI_PRIVATE_LIBS)|' $(ROOT)/ffi/ipvs_ffi.pc.in

.PHONY: header ffi-lib install test-ffi test-lab-ffi ffi-test-bins

all: ffi-lib

header:
	LBNET_WRITE_HEADER=1 $(CARGO) test -p ipvs_ffi --test header header_is_up_to_date

# The release .so/.a, the soname link next to them and target/pkgconfig/ipvs_ffi.pc pointing at
# the tree (with an rpath), so `PKG_CONFIG_PATH=target/pkgconfig pkg-config --cflags --libs
# ipvs_ffi` works after `make`.
ffi-lib: deps
	$(CARGO) build --release -p ipvs_ffi
	ln -sfn libipvs_ffi.so $(FFI_RELDIR)/libipvs_ffi.so.$(FFI_MAJOR)
	mkdir -p $(FFI_PCDIR)
	$(call ffi_pc,$(ROOT),$(FFI_RELDIR),$(ROOT)/include, -Wl$(,)-rpath$(,)$${libdir}) \
		> $(FFI_PCDIR)/ipvs_ffi.pc.tmp
	mv $(FFI_PCDIR)/ipvs_ffi.pc.tmp $(FFI_PCDIR)/ipvs_ffi.pc


install: ffi-lib
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(FFI_RELDIR)/libipvs_ffi.so $(DESTDIR)$(LIBDIR)/libipvs_ffi.so.$(FFI_VERSION)
	ln -sfn libipvs_ffi.so.$(FFI_VERSION) $(DESTDIR)$(LIBDIR)/libipvs_ffi.so.$(FFI_MAJOR)
	ln -sfn libipvs_ffi.so.$(FFI_MAJOR) $(DESTDIR)$(LIBDIR)/libipvs_ffi.so
	install -m 0644 $(FFI_RELDIR)/libipvs_ffi.a $(DESTDIR)$(LIBDIR)/libipvs_ffi.a
	install -m 0644 $(ROOT)/include/ipvs_ffi.h $(DESTDIR)$(INCLUDEDIR)/ipvs_ffi.h
	$(call ffi_pc,$(PREFIX),$(LIBDIR),$(INCLUDEDIR),) > $(DESTDIR)$(LIBDIR)/pkgconfig/ipvs_ffi.pc
	@for b in $(INSTALL_BINS); do \
		if [ -x "$(FFI_RELDIR)/$$b" ]; then \
			install -d $(DESTDIR)$(BINDIR); \
			install -m 0755 "$(FFI_RELDIR)/$$b" $(DESTDIR)$(BINDIR)/$$b; \
			echo "installed $(DESTDIR)$(BINDIR)/$$b"; \
		fi; \
	done
	@echo "installed libipvs_ffi $(FFI_VERSION) under $(DESTDIR)$(PREFIX)"

# The C test program, three ways: plain (for valgrind), AddressSanitizer, and statically linked.
ffi-test-bins: ffi-lib
	mkdir -p $(FFI_CDIR)
	export PKG_CONFIG_PATH=$(FFI_PCDIR); \
	gcc $(FFI_CFLAGS) -o $(FFI_CDIR)/ffi_test $(FFI_TEST_SRC) $$(pkg-config --cflags --libs ipvs_ffi); \
	gcc $(FFI_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
		-o $(FFI_CDIR)/ffi_test_asan $(FFI_TEST_SRC) $$(pkg-config --cflags --libs ipvs_ffi); \
	gcc $(FFI_CFLAGS) -o $(FFI_CDIR)/ffi_test_static $(FFI_TEST_SRC) $$(pkg-config --cflags ipvs_ffi) \
		$(FFI_RELDIR)/libipvs_ffi.a $(FFI_PRIVATE_LIBS)

# Host: everything that needs no kernel IPVS, and the "IPVS not available" path (the host kernel
# has no IPVS). Also checks the soname and an install into a scratch prefix.
test-ffi: ffi-test-bins
	$(CARGO) test -p ipvs_ffi
	readelf -d $(FFI_RELDIR)/libipvs_ffi.so | grep -q 'SONAME.*\[libipvs_ffi.so.$(FFI_MAJOR)\]'
	readelf -d $(FFI_CDIR)/ffi_test | grep -q 'NEEDED.*\[libipvs_ffi.so.$(FFI_MAJOR)\]'
	$(FFI_CDIR)/ffi_test
	$(VALGRIND) $(FFI_CDIR)/ffi_test
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 $(FFI_CDIR)/ffi_test_asan
	$(FFI_CDIR)/ffi_test_static
	$(ROOT)/examples/c/install_test.sh $(MAKE)
	$(MAKE) --no-print-directory fuzz-ffi FUZZ_SECONDS=10
	@echo "test-ffi: passed"

# Kernel lab: the same programs against real IPVS (LBNET_REQUIRE_KERNEL=1: a missing IPVS fails).
test-lab-ffi: ffi-test-bins
	$(LAB) env LBNET_REQUIRE_KERNEL=1 bash -euo pipefail -c '\
		$(FFI_CDIR)/ffi_test; \
		$(VALGRIND) $(FFI_CDIR)/ffi_test; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 $(FFI_CDIR)/ffi_test_asan; \
		$(FFI_CDIR)/ffi_test_static'
	@echo "test-lab-ffi: passed"

# libFuzzer over the C ABI (examples/c/fuzz_ffi.c), inside a private network namespace.
FUZZ_SECONDS ?= 30
.PHONY: fuzz-ffi
fuzz-ffi: ffi-lib
	mkdir -p $(FFI_CDIR)/fuzz-corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I$(ROOT)/include \
		-o $(FFI_CDIR)/fuzz_ffi $(ROOT)/examples/c/fuzz_ffi.c \
		$(FFI_RELDIR)/libipvs_ffi.a $(FFI_PRIVATE_LIBS)
	$(FFI_CDIR)/fuzz_ffi -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=20 \
		-print_final_stats=1 $(FFI_CDIR)/fuzz-corpus 2>&1 | tail -n 15

# Timing of changes (one call each vs one batch) and of the full listing through the C ABI, in
# the kernel lab (TCG: compare the lines with each other).
BENCH_TARGETS += bench-ffi
FFI_BENCH_N ?= 1000
.PHONY: bench-ffi
bench-ffi: ffi-lib
	mkdir -p $(FFI_CDIR)
	gcc $(FFI_CFLAGS) -O2 -o $(FFI_CDIR)/ffi_bench $(ROOT)/benches/ffi/ffi_bench.c \
		$$(PKG_CONFIG_PATH=$(FFI_PCDIR) pkg-config --cflags --libs ipvs_ffi)
	$(LAB) $(FFI_CDIR)/ffi_bench $(FFI_BENCH_N)
