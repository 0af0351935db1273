# ipvsctl (examples/c/ipvsctl): an ipvsadm-compatible C program on libipvs_ffi.so, linked through
# include/ipvs_ffi.h and target/pkgconfig/ipvs_ffi.pc.
#
#   make ipvsctl         build target/release/ipvsctl (also part of `make`; `make install` installs it)
#   make test-ipvsctl    one lab boot: ipvsctl vs ipvsadm diffs, 1,000-service restore, valgrind, ASan
#   make demo-ipvsctl    `ipvsctl -Ln` beside `ipvsadm -Ln` in the lab

IPVSCTL_SRC := $(ROOT)/examples/c/ipvsctl/ipvsctl.c
IPVSCTL_BIN := $(FFI_RELDIR)/ipvsctl
IPVSCTL_ASAN := $(FFI_CDIR)/ipvsctl_asan
IPVSCTL_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE
# $ORIGIN/../lib first, so an installed copy finds the installed library; the tree's rpath
# from the pkg-config file serves the build tree.
IPVSCTL_RPATH := -Wl,-rpath,'$$ORIGIN/../lib'

INSTALL_BINS += ipvsctl
APT_PACKAGES += ipvsadm valgrind
TEST_TARGETS += test-ipvsctl
LAB_TEST_TARGETS += test-ipvsctl
DEMO_TARGETS += demo-ipvsctl

.PHONY: ipvsctl ipvsctl-bins test-ipvsctl demo-ipvsctl

all: ipvsctl

ipvsctl: ffi-lib
	export PKG_CONFIG_PATH=$(FFI_PCDIR); \
	gcc $(IPVSCTL_CFLAGS) -o $(IPVSCTL_BIN) $(IPVSCTL_SRC) $(IPVSCTL_RPATH) \
		$$(pkg-config --cflags --libs ipvs_ffi)

# The program plus an AddressSanitizer/UBSan build of it for the tests.
ipvsctl-bins: ipvsctl
	mkdir -p $(FFI_CDIR)
	export PKG_CONFIG_PATH=$(FFI_PCDIR); \
	gcc $(IPVSCTL_CFLAGS) -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
		-o $(IPVSCTL_ASAN) $(IPVSCTL_SRC) $$(pkg-config --cflags --libs ipvs_ffi)

test-ipvsctl: ipvsctl-bins
	$(LAB_RUN) env IPVSCTL=$(IPVSCTL_BIN) IPVSCTL_ASAN=$(IPVSCTL_ASAN) \
		VALGRIND_SUPP=$(ROOT)/examples/c/valgrind.supp \
		bash $(ROOT)/examples/c/ipvsctl/test.sh
	@echo "test-ipvsctl: passed"

demo-ipvsctl: ipvsctl
	$(LAB_RUN) bash $(ROOT)/examples/c/ipvsctl/demo.sh $(IPVSCTL_BIN)
