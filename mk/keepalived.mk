# keepalived 2.2.7 on libipvs_ffi.so (examples/keepalived): keepalived's libipvs API implemented
# over the lbnet C ABI by examples/keepalived/libipvs_lbnet.c, linked in place of keepalived's
# own check/libipvs.o through make variables (no edit of keepalived's sources).
#
#   make keepalived-lbnet       build stock keepalived (cached by version under
#                               $${LBNET_PEER_CACHE:-~/.cache/lbnet-peers}/keepalived-2.2.7) and
#                               the lbnet variant into target/keepalived, relinked from a tree
#                               configured --disable-libnl (cached as keepalived-2.2.7-nolibnl);
#                               nm/ar/ldd/strings checks that the IPVS path is ours and that it
#                               links no libnl (target/keepalived/build-info.txt)
#   make test-keepalived-lab    one lab boot: stock and lbnet keepalived side by side in two
#                               network namespaces, same virtual_server configuration (IPv4 and
#                               IPv6, TCP_CHECK, sorry_server), `ipvsadm -S -n` compared after
#                               every health-check change, a SIGHUP weight change and SIGTERM
#
# keepalived's sources: KEEPALIVED_SRC, else shared/peers/keepalived_2.2.7.orig.tar.gz beside the
# main checkout, else Debian's pool (sha256 in examples/keepalived/keepalived-2.2.7.sha256).

KEEPALIVED_OUT := $(ROOT)/target/keepalived
LAB_RUN ?= $(ROOT)/lab/run

# keepalived's configure needs libnl for the stock build (IPVS over libnl; the lbnet build is
# configured --disable-libnl and links none), OpenSSL and libmagic;
# the lab test runs python3 listeners as real servers and compares with ipvsadm.
APT_PACKAGES += libnl-3-dev libnl-genl-3-dev libssl-dev libmagic-dev curl python3 ipvsadm
TEST_TARGETS += test-keepalived-lab
LAB_TEST_TARGETS += test-keepalived-lab

.PHONY: keepalived-lbnet test-keepalived-lab

keepalived-lbnet: ffi-lib
	$(ROOT)/examples/keepalived/build.sh $(KEEPALIVED_OUT)

test-keepalived-lab: keepalived-lbnet
	$(LAB_RUN) bash $(ROOT)/examples/keepalived/lab-test.sh \
		$(KEEPALIVED_OUT)/keepalived-stock $(KEEPALIVED_OUT)/keepalived-lbnet
	@echo "test-keepalived-lab: passed"
