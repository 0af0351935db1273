/*
 * ffi_test.c: exercises every function of lbnet's C ABI (IPVS, route export, link watch, XDP) (include/ipvs_ffi.h), good and bad
 * input alike, asserting exact return codes. IPVS: lbnet_ipvs_open/_free (with the sz rules of
 * struct lbnet_ipvs_options), every operation, batches (with LBNET_IPVS_BATCH_MAX) and the
 * values the kernel cannot round-trip (flags, timeouts, bypass), refused before sending. Route
 * export (lbnet_rtexport_*) has its own section (test_rtexport_*): bad input needs no
 * privileges; the working path runs in a private network namespace when run as root. Link
 * watch and XDP (part 3) run on a veth in a private network namespace.
 *
 * Two parts:
 *  1. No kernel IPVS needed: versions, address helpers, NULL pointers, bad names, bad families,
 *     batches, handle options, list frees.
 *  2. Against the kernel. If IPVS is missing (the host kernel), every kernel call must fail with
 *     the same "not available" errno, unless LBNET_REQUIRE_KERNEL=1 is set, which turns a missing
 *     IPVS into a failure (the kernel lab sets it). With IPVS (the lab), the full tour: services
 *     v4/v6/fwmark, destinations, every documented errno, lists, zero, flush, info, timeouts,
 *     sync daemons, batches, network namespaces by path and by descriptor.
 *
 *  3. Link watch and XDP (as root, on the host kernel): every function with NULLs, bad options
 *     (the libbpf sz rules) and huge counts; a watcher of a fresh network namespace following a
 *     veth pair; an XDP load balancer with VIPs, backends and weights, attached to a veth in a
 *     namespace, pinned, adopted by a second handle and detached.
 *
 * Built and run by `make test-ffi` (host) and `make test-lab-ffi` (lab), plain, under valgrind
 * and with -fsanitize=address. Exits 0 only if every check passed.
 */
#include <ipvs_ffi.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int checks;
static const char *section = "";

static const char *last(void) {
    const char *m = lbnet_last_error();
    return m ? m : "(none)";
}

#define FAIL(...)                                                                   \
    do {                                                                            \
        fprintf(stderr, "ffi_test: FAIL [%s] %s:%d: ", section, __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                               \
        fprintf(stderr, "\n  last error: %s\n", last());                            \
        exit(1);                                                                    \
    } while (0)

#define CHECK(cond)                                \
    do {                                           \
        checks++;                                  \
        if (!(cond)) FAIL("CHECK(%s)", #cond);     \
    } while (0)

/* Calls `call` and asserts it returns `want`; on a failure code also asserts a message is set,
 * on success that none is. */
#define RC(call, want)                                                                     \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        int want_ = (want);                                                                \
        checks++;                                                                          \
        if (rc_ != want_)                                                                  \
            FAIL("%s returned %d (%s), want %d (%s)", #call, rc_, strerror(-rc_), want_,   \
                 strerror(-want_));                                                        \
        if (want_ < 0 && lbnet_last_error() == NULL)                                       \
            FAIL("%s failed but lbnet_last_error() is NULL", #call);                       \
        if (want_ == 0 && lbnet_last_error() != NULL)                                      \
            FAIL("%s succeeded but lbnet_last_error() is set", #call);                     \
    } while (0)

#define OK(call) RC(call, 0)

/* On a kernel without IPVS: `call` fails with `missing` and kind NOT_AVAILABLE. */
#define RC_MISSING(call)                                                    \
    do {                                                                    \
        RC(call, missing);                                                  \
        CHECK(lbnet_last_error_kind() == LBNET_ERROR_KIND_NOT_AVAILABLE);   \
    } while (0)

static lbnet_addr addr(const char *text) {
    lbnet_addr a;
    memset(&a, 0, sizeof a);
    if (lbnet_addr_parse(text, &a) != 0) FAIL("cannot parse %s", text);
    return a;
}

static lbnet_ipvs_service tcp_service(const char *vip, uint16_t port, const char *sched) {
    lbnet_ipvs_service s;
    memset(&s, 0, sizeof s);
    s.addr = addr(vip);
    s.af = s.addr.af;
    s.protocol = IPPROTO_TCP;
    s.port = port;
    snprintf(s.sched_name, sizeof s.sched_name, "%s", sched);
    return s;
}

static lbnet_ipvs_dest dest(const char *rip, uint16_t port, uint32_t fwd, int32_t weight) {
    lbnet_ipvs_dest d;
    memset(&d, 0, sizeof d);
    d.addr = addr(rip);
    d.port = port;
    d.fwd_method = fwd;
    d.weight = weight;
    return d;
}

static lbnet_ipvs_daemon daemon_cfg(uint32_t state, const char *ifname, uint32_t syncid) {
    lbnet_ipvs_daemon d;
    memset(&d, 0, sizeof d);
    d.state = state;
    snprintf(d.mcast_ifname, sizeof d.mcast_ifname, "%s", ifname);
    d.syncid = syncid;
    return d;
}

static lbnet_ipvs_batch *new_batch(void) {
    lbnet_ipvs_batch *b = (lbnet_ipvs_batch *)1;
    OK(lbnet_ipvs_batch_new(&b));
    CHECK(b != NULL);
    return b;
}

static size_t batch_len(const lbnet_ipvs_batch *b) {
    size_t n = SIZE_MAX;
    OK(lbnet_ipvs_batch_len(b, &n));
    return n;
}

/* Opens a handle with `o` given with size `sz`, in a zeroed buffer of sz bytes (or of the
 * struct's size when sz is smaller) whose byte `dirty` past the struct, if below sz, is set:
 * the sz rules of every options struct, libbpf's. Returns the call's code. */
static int open_with_sz(const lbnet_ipvs_options *o, size_t sz, size_t dirty) {
    size_t cap = sz > sizeof *o ? sz : sizeof *o;
    unsigned char *buf = calloc(1, cap);
    if (!buf) FAIL("calloc");
    memcpy(buf, o, sizeof *o);
    memcpy(buf, &sz, sizeof sz);
    if (dirty < cap && dirty >= sizeof *o) buf[dirty] = 1;
    lbnet_ipvs *h = (lbnet_ipvs *)1;
    int rc = lbnet_ipvs_open((const lbnet_ipvs_options *)buf, &h);
    if ((rc == 0) != (h != NULL)) FAIL("open returned %d with handle %p", rc, (void *)h);
    lbnet_ipvs_free(h);
    free(buf);
    return rc;
}

/* The libbpf sz pattern on an options struct `o` of `size` bytes (its sz field first):
 * sizeof - 1 and sizeof + 8 with a non-zero extra byte are refused with -EINVAL; sizeof + 8 with
 * zero extra bytes is accepted (the call then returns `ok_rc`). `open` calls the constructor
 * with the (possibly enlarged) options and frees what it opened. */
static void sz_checks(const void *o, size_t size, int (*open)(const void *opts), int ok_rc) {
    unsigned char *big = calloc(1, size + 8);
    CHECK(big != NULL);
    memcpy(big, o, size);
    size_t sz = size - 1;
    memcpy(big, &sz, sizeof sz);
    RC(open(big), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "sz") != NULL);
    sz = size + 8;
    memcpy(big, &sz, sizeof sz);
    big[size + 5] = 0x40;
    RC(open(big), -EINVAL);
    big[size + 5] = 0;
    RC(open(big), ok_rc);
    sz = 4097; /* no options struct is that large */
    memcpy(big, &sz, sizeof sz);
    RC(open(big), -EINVAL);
    free(big);
}

/* ---------------------------------------------------------------- part 1: no kernel needed */

static void test_version_and_errors(void) {
    section = "version";
    const char *v = lbnet_version();
    CHECK(v != NULL && strlen(v) >= 5 && strchr(v, '.') != NULL);
    /* A failed call sets a message, a successful one clears it. */
    lbnet_addr a;
    RC(lbnet_addr_parse("nonsense", &a), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "nonsense") != NULL);
    OK(lbnet_addr_parse("10.0.0.1", &a));
    CHECK(lbnet_last_error() == NULL);
}

static void test_addr(void) {
    section = "addr";
    lbnet_addr a;
    char buf[LBNET_ADDR_STRLEN];
    OK(lbnet_addr_parse("192.0.2.10", &a));
    CHECK(a.af == AF_INET);
    struct in_addr in4;
    inet_pton(AF_INET, "192.0.2.10", &in4);
    CHECK(memcmp(a.addr, &in4, 4) == 0);
    OK(lbnet_addr_format(&a, buf, sizeof buf));
    CHECK(strcmp(buf, "192.0.2.10") == 0);

    OK(lbnet_addr_parse("2001:DB8:0:0:0:0:0:1", &a));
    CHECK(a.af == AF_INET6);
    struct in6_addr in6;
    inet_pton(AF_INET6, "2001:db8::1", &in6);
    CHECK(memcmp(a.addr, &in6, 16) == 0);
    OK(lbnet_addr_format(&a, buf, sizeof buf));
    CHECK(strcmp(buf, "2001:db8::1") == 0);
    /* The longest IPv6 text fits in LBNET_ADDR_STRLEN. */
    OK(lbnet_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &a));
    OK(lbnet_addr_format(&a, buf, sizeof buf));
    CHECK(strlen(buf) < LBNET_ADDR_STRLEN);

    /* Bad input. */
    const char *bad[] = {"", "256.0.0.1", "10.0.0", "10.0.0.1/24", "::g", " 10.0.0.1", "\xff\xfe",
                         "www.example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) RC(lbnet_addr_parse(bad[i], &a), -EINVAL);
    char longs[200];
    memset(longs, '1', sizeof longs - 1);
    longs[sizeof longs - 1] = 0;
    RC(lbnet_addr_parse(longs, &a), -EINVAL);
    RC(lbnet_addr_parse(NULL, &a), -EINVAL);
    RC(lbnet_addr_parse("10.0.0.1", NULL), -EINVAL);
    a = addr("2001:db8::1");
    RC(lbnet_addr_format(&a, buf, 5), -ERANGE);
    RC(lbnet_addr_format(&a, buf, 0), -ERANGE);
    RC(lbnet_addr_format(&a, NULL, 64), -EINVAL);
    RC(lbnet_addr_format(NULL, buf, sizeof buf), -EINVAL);
    a.af = AF_UNIX;
    RC(lbnet_addr_format(&a, buf, sizeof buf), -EINVAL);
}

static void test_frees_accept_null(void) {
    section = "free(NULL)";
    lbnet_ipvs_free(NULL);
    lbnet_ipvs_batch_free(NULL);
    lbnet_ipvs_service_list_free(NULL);
    lbnet_ipvs_dest_list_free(NULL);
    lbnet_ipvs_service_entry_list_free(NULL);
    lbnet_ipvs_daemon_list_free(NULL);
    lbnet_rtexport_free(NULL);
    lbnet_rtexport_route_list_free(NULL);
    checks++;
}

static void test_handle_options(void) {
    section = "handle options";
    lbnet_ipvs *h = (lbnet_ipvs *)1;
    RC(lbnet_ipvs_open(NULL, NULL), -EINVAL);

    lbnet_ipvs_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    /* sz: too small, larger with a non-zero byte past the struct, above 4096: -EINVAL; larger
     * with only zero bytes past it (a newer header's caller): accepted. */
    RC(open_with_sz(&o, sizeof o - 1, SIZE_MAX), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "lbnet_ipvs_options") != NULL);
    RC(open_with_sz(&o, 0, SIZE_MAX), -EINVAL);
    RC(open_with_sz(&o, sizeof o + 8, sizeof o + 3), -EINVAL);
    RC(open_with_sz(&o, sizeof o + 8, sizeof o + 7), -EINVAL);
    RC(open_with_sz(&o, 4097, SIZE_MAX), -EINVAL);
    OK(open_with_sz(&o, sizeof o + 8, SIZE_MAX));
    OK(open_with_sz(&o, sizeof o, SIZE_MAX));
    o.netns_path = "/nonexistent/netns";
    RC(lbnet_ipvs_open(&o, &h), -ENOENT);
    CHECK(h == NULL);
    CHECK(strstr(lbnet_last_error(), "/nonexistent/netns") != NULL);
    o.netns_path = "";
    RC(lbnet_ipvs_open(&o, &h), -EINVAL);
    o.netns_path = "\xff\xfe";
    RC(lbnet_ipvs_open(&o, &h), -EINVAL);
    /* A file that is not a namespace: setns(2) says EINVAL. */
    o.netns_path = "/proc/self/status";
    RC(lbnet_ipvs_open(&o, &h), -EINVAL);
    /* Path and descriptor together. */
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    CHECK(fd > 0);
    o.netns_path = "/proc/self/ns/net";
    o.netns_fd = fd;
    RC(lbnet_ipvs_open(&o, &h), -EINVAL);
    /* A descriptor that is not open. */
    o.netns_path = NULL;
    o.netns_fd = 1000000;
    RC(lbnet_ipvs_open(&o, &h), -EBADF);
    /* Our own namespace by path and by descriptor, with a buffer size and timeout. */
    o.netns_path = "/proc/self/ns/net";
    o.netns_fd = 0;
    o.rcvbuf = 1 << 20;
    o.timeout_ms = 5000;
    OK(lbnet_ipvs_open(&o, &h));
    CHECK(h != NULL);
    lbnet_ipvs_free(h);
    o.netns_path = NULL;
    o.netns_fd = fd;
    OK(lbnet_ipvs_open(&o, &h));
    lbnet_ipvs_free(h);
    close(fd);
    OK(lbnet_ipvs_open(NULL, &h));
    lbnet_ipvs_free(h);
}

/* Every handle function with a NULL handle or NULL arguments: -EINVAL, nothing sent. Also the
 * struct checks that happen before the kernel is asked, with a real handle `h`. */
static void test_argument_checks(lbnet_ipvs *h) {
    section = "argument checks";
    lbnet_ipvs_service s = tcp_service("10.0.0.1", 80, "rr");
    lbnet_ipvs_service out;
    lbnet_ipvs_dest d = dest("10.1.0.1", 80, LBNET_IPVS_FWD_MASQ, 1);
    lbnet_ipvs_info info;
    lbnet_ipvs_timeouts t;
    memset(&t, 0, sizeof t);
    lbnet_ipvs_daemon dm = daemon_cfg(LBNET_IPVS_DAEMON_MASTER, "lo", 1);
    lbnet_ipvs_service_list *sl = (lbnet_ipvs_service_list *)1;
    lbnet_ipvs_service_entry_list *el = (lbnet_ipvs_service_entry_list *)1;
    lbnet_ipvs_dest_list *dl = (lbnet_ipvs_dest_list *)1;
    lbnet_ipvs_daemon_list *ml = (lbnet_ipvs_daemon_list *)1;

    RC(lbnet_ipvs_add_service(NULL, &s), -EINVAL);
    RC(lbnet_ipvs_add_service(h, NULL), -EINVAL);
    RC(lbnet_ipvs_update_service(NULL, &s), -EINVAL);
    RC(lbnet_ipvs_update_service(h, NULL), -EINVAL);
    RC(lbnet_ipvs_delete_service(NULL, &s), -EINVAL);
    RC(lbnet_ipvs_delete_service(h, NULL), -EINVAL);
    RC(lbnet_ipvs_get_service(NULL, &s, &out), -EINVAL);
    RC(lbnet_ipvs_get_service(h, NULL, &out), -EINVAL);
    RC(lbnet_ipvs_get_service(h, &s, NULL), -EINVAL);
    RC(lbnet_ipvs_list_services(NULL, &sl), -EINVAL);
    CHECK(sl == NULL); /* *out is cleared even when the handle is bad */
    RC(lbnet_ipvs_list_services(h, NULL), -EINVAL);
    RC(lbnet_ipvs_list_services_with_dests(NULL, &el), -EINVAL);
    CHECK(el == NULL);
    RC(lbnet_ipvs_list_services_with_dests(h, NULL), -EINVAL);
    RC(lbnet_ipvs_add_dest(NULL, &s, &d), -EINVAL);
    RC(lbnet_ipvs_add_dest(h, NULL, &d), -EINVAL);
    RC(lbnet_ipvs_add_dest(h, &s, NULL), -EINVAL);
    RC(lbnet_ipvs_update_dest(NULL, &s, &d), -EINVAL);
    RC(lbnet_ipvs_update_dest(h, NULL, &d), -EINVAL);
    RC(lbnet_ipvs_update_dest(h, &s, NULL), -EINVAL);
    RC(lbnet_ipvs_delete_dest(NULL, &s, &d), -EINVAL);
    RC(lbnet_ipvs_delete_dest(h, NULL, &d), -EINVAL);
    RC(lbnet_ipvs_delete_dest(h, &s, NULL), -EINVAL);
    RC(lbnet_ipvs_list_dests(NULL, &s, &dl), -EINVAL);
    CHECK(dl == NULL);
    RC(lbnet_ipvs_list_dests(h, NULL, &dl), -EINVAL);
    RC(lbnet_ipvs_list_dests(h, &s, NULL), -EINVAL);
    RC(lbnet_ipvs_zero_service(NULL, &s), -EINVAL);
    RC(lbnet_ipvs_zero_service(h, NULL), -EINVAL);
    RC(lbnet_ipvs_zero_all(NULL), -EINVAL);
    RC(lbnet_ipvs_flush(NULL), -EINVAL);
    RC(lbnet_ipvs_get_info(NULL, &info), -EINVAL);
    RC(lbnet_ipvs_get_info(h, NULL), -EINVAL);
    RC(lbnet_ipvs_get_timeouts(NULL, &t), -EINVAL);
    RC(lbnet_ipvs_get_timeouts(h, NULL), -EINVAL);
    RC(lbnet_ipvs_set_timeouts(NULL, &t), -EINVAL);
    RC(lbnet_ipvs_set_timeouts(h, NULL), -EINVAL);
    RC(lbnet_ipvs_start_daemon(NULL, &dm), -EINVAL);
    RC(lbnet_ipvs_start_daemon(h, NULL), -EINVAL);
    RC(lbnet_ipvs_stop_daemon(NULL, &dm), -EINVAL);
    RC(lbnet_ipvs_stop_daemon(h, NULL), -EINVAL);
    RC(lbnet_ipvs_list_daemons(NULL, &ml), -EINVAL);
    CHECK(ml == NULL);
    RC(lbnet_ipvs_list_daemons(h, NULL), -EINVAL);

    /* Service fields checked before sending. */
    lbnet_ipvs_service b = s;
    memset(b.sched_name, 0, sizeof b.sched_name);
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL); /* empty scheduler */
    CHECK(strstr(lbnet_last_error(), "sched_name") != NULL);
    RC(lbnet_ipvs_update_service(h, &b), -EINVAL);
    memset(b.sched_name, 'r', sizeof b.sched_name); /* 16 bytes, no NUL: overlong */
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "NUL") != NULL);
    b = s;
    b.sched_name[0] = (char)0xff; /* not UTF-8 */
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    b = s;
    memset(b.pe_name, 'x', sizeof b.pe_name); /* overlong pe name */
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    b = s;
    b.af = AF_UNIX;
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    RC(lbnet_ipvs_delete_service(h, &b), -EINVAL);
    b = s;
    b.af = AF_INET6; /* address is IPv4: family mismatch */
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    RC(lbnet_ipvs_get_service(h, &b, &out), -EINVAL);
    b = s;
    b.protocol = 1; /* ICMP is not balanced, and fwmark is 0 */
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    RC(lbnet_ipvs_zero_service(h, &b), -EINVAL);
    RC(lbnet_ipvs_list_dests(h, &b, &dl), -EINVAL);
    b = s;
    b.addr.af = 0;
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    /* Values the kernel would store but not report back as given (checked in the core). */
    b = s;
    b.flags = 0xffffffffu;
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "IP_VS_SVC_F_") != NULL);
    RC(lbnet_ipvs_update_service(h, &b), -EINVAL);
    b.flags = LBNET_IPVS_SVC_F_MASK + 1; /* one undefined bit */
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    b = s;
    b.timeout = LBNET_IPVS_PERSISTENT_TIMEOUT_MAX + 1;
    RC(lbnet_ipvs_add_service(h, &b), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "invalid timeout value") != NULL);
    b.timeout = UINT32_MAX;
    RC(lbnet_ipvs_update_service(h, &b), -EINVAL);
    lbnet_ipvs_timeouts bt;
    memset(&bt, 0, sizeof bt);
    bt.tcp_fin = LBNET_IPVS_TIMEOUT_MAX + 1;
    RC(lbnet_ipvs_set_timeouts(h, &bt), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "tcp_fin") != NULL);
    bt.tcp_fin = 0;
    bt.udp = UINT32_MAX;
    RC(lbnet_ipvs_set_timeouts(h, &bt), -EINVAL);

    /* Destination fields. Bypass is the kernel's own (ipvsadm lists it as "(null)"). */
    lbnet_ipvs_dest bd = d;
    bd.fwd_method = LBNET_IPVS_FWD_BYPASS;
    RC(lbnet_ipvs_add_dest(h, &s, &bd), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "(null)") != NULL);
    RC(lbnet_ipvs_update_dest(h, &s, &bd), -EINVAL);
    bd.fwd_method = 5;
    RC(lbnet_ipvs_add_dest(h, &s, &bd), -EINVAL);
    RC(lbnet_ipvs_update_dest(h, &s, &bd), -EINVAL);
    bd = d;
    bd.tun_type = 3;
    RC(lbnet_ipvs_add_dest(h, &s, &bd), -EINVAL);
    bd = d;
    bd.tun_flags = 0x10000;
    RC(lbnet_ipvs_add_dest(h, &s, &bd), -EINVAL);
    bd = d;
    bd.addr.af = 99;
    RC(lbnet_ipvs_add_dest(h, &s, &bd), -EINVAL);
    RC(lbnet_ipvs_delete_dest(h, &s, &bd), -EINVAL);

    /* Daemon fields. */
    lbnet_ipvs_daemon bm = dm;
    bm.state = 3;
    RC(lbnet_ipvs_start_daemon(h, &bm), -EINVAL);
    RC(lbnet_ipvs_stop_daemon(h, &bm), -EINVAL);
    bm = dm;
    memset(bm.mcast_ifname, 0, sizeof bm.mcast_ifname);
    RC(lbnet_ipvs_start_daemon(h, &bm), -EINVAL);
    memset(bm.mcast_ifname, 'e', sizeof bm.mcast_ifname);
    RC(lbnet_ipvs_start_daemon(h, &bm), -EINVAL);
    bm = dm;
    bm.sync_maxlen = 70000;
    RC(lbnet_ipvs_start_daemon(h, &bm), -EINVAL);
    bm = dm;
    bm.mcast_group.af = 1;
    RC(lbnet_ipvs_start_daemon(h, &bm), -EINVAL);
}

static lbnet_ipvs_change change(uint32_t op, const lbnet_ipvs_service *s, const lbnet_ipvs_dest *d) {
    lbnet_ipvs_change c;
    memset(&c, 0, sizeof c);
    c.op = op;
    c.svc = *s;
    c.dest = *d;
    return c;
}

/* lbnet_ipvs_batch_add_changes and lbnet_ipvs_batch_results without a kernel: NULL pointers,
 * counts no array can have, unknown ops, all-or-nothing appends, short result arrays. */
static void test_batch_arrays(void) {
    section = "batch arrays";
    lbnet_ipvs_service s = tcp_service("10.0.0.1", 80, "rr");
    lbnet_ipvs_dest d = dest("10.1.0.1", 80, LBNET_IPVS_FWD_MASQ, 1);
    lbnet_ipvs_change cs[8];
    for (uint32_t op = LBNET_IPVS_OP_ADD_SERVICE; op <= LBNET_IPVS_OP_ZERO_ALL; op++)
        cs[op - 1] = change(op, &s, &d);
    size_t bad = 42;
    int32_t res[10];

    /* NULL batch, NULL array, huge counts: refused before anything is read, bad = SIZE_MAX. */
    RC(lbnet_ipvs_batch_add_changes(NULL, cs, 8, &bad), -EINVAL);
    CHECK(bad == SIZE_MAX);
    RC(lbnet_ipvs_batch_add_changes(NULL, cs, 8, NULL), -EINVAL);
    RC(lbnet_ipvs_batch_results(NULL, res, 10), -EINVAL);
    lbnet_ipvs_batch *b = new_batch();
    bad = 42;
    RC(lbnet_ipvs_batch_add_changes(b, NULL, 1, &bad), -EINVAL);
    CHECK(bad == SIZE_MAX);
    /* Counts beyond LBNET_IPVS_BATCH_MAX: -E2BIG before any element is read or memory reserved,
     * even when element 0 is bad (the call must neither abort nor allocate for the count). */
    lbnet_ipvs_change first_bad[8];
    memcpy(first_bad, cs, sizeof first_bad);
    first_bad[0].op = 0;
    const size_t huge[] = {SIZE_MAX, SIZE_MAX / 2, SIZE_MAX / sizeof cs[0] + 1, (size_t)1 << 40,
                           (size_t)INT_MAX, (size_t)LBNET_IPVS_BATCH_MAX + 1};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        bad = 42;
        RC(lbnet_ipvs_batch_add_changes(b, cs, huge[i], &bad), -E2BIG);
        CHECK(bad == SIZE_MAX);
        CHECK(strstr(lbnet_last_error(), "LBNET_IPVS_BATCH_MAX") != NULL);
        RC(lbnet_ipvs_batch_add_changes(b, first_bad, huge[i], &bad), -E2BIG);
        CHECK(bad == SIZE_MAX);
    }
    /* The bound counts what the batch holds already. */
    OK(lbnet_ipvs_batch_add_changes(b, cs, 1, NULL));
    RC(lbnet_ipvs_batch_add_changes(b, cs, LBNET_IPVS_BATCH_MAX, &bad), -E2BIG);
    CHECK(batch_len(b) == 1);
    OK(lbnet_ipvs_batch_clear(b));
    /* Values the core refuses are refused by the array adder too, naming the change. */
    lbnet_ipvs_change rt[3];
    memcpy(rt, cs, sizeof rt);
    rt[2].svc.flags = 0xffffffffu; /* DELETE_SERVICE reads the key only: fine */
    rt[1].svc.timeout = LBNET_IPVS_PERSISTENT_TIMEOUT_MAX + 1; /* UPDATE_SERVICE: refused */
    RC(lbnet_ipvs_batch_add_changes(b, rt, 3, &bad), -EINVAL);
    CHECK(bad == 1);
    memcpy(rt, cs + 3, sizeof rt); /* ADD_DEST, UPDATE_DEST, DELETE_DEST */
    rt[2].dest.fwd_method = LBNET_IPVS_FWD_BYPASS; /* delete: allowed */
    rt[1].dest.fwd_method = LBNET_IPVS_FWD_BYPASS;
    RC(lbnet_ipvs_batch_add_changes(b, rt, 3, &bad), -EINVAL);
    CHECK(bad == 1 && strstr(lbnet_last_error(), "change 1:") != NULL);
    OK(lbnet_ipvs_batch_add_changes(b, NULL, 0, NULL)); /* nothing to add */
    CHECK(batch_len(b) == 0);

    /* Unknown ops and bad fields: the whole array is refused, the index and message name it. */
    const uint32_t bad_ops[] = {0, LBNET_IPVS_OP_ZERO_ALL + 1, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_ops / sizeof bad_ops[0]; i++) {
        lbnet_ipvs_change t[8];
        memcpy(t, cs, sizeof t);
        t[5].op = bad_ops[i];
        bad = 42;
        RC(lbnet_ipvs_batch_add_changes(b, t, 8, &bad), -EINVAL);
        CHECK(bad == 5);
        CHECK(strstr(lbnet_last_error(), "change 5:") != NULL);
        CHECK(strstr(lbnet_last_error(), "LBNET_IPVS_OP_") != NULL);
        CHECK(batch_len(b) == 0);
    }
    lbnet_ipvs_change t[8];
    memcpy(t, cs, sizeof t);
    t[3].dest.fwd_method = 9; /* ADD_DEST reads the whole destination */
    RC(lbnet_ipvs_batch_add_changes(b, t, 8, &bad), -EINVAL);
    CHECK(bad == 3 && strstr(lbnet_last_error(), "fwd_method") != NULL);
    memcpy(t, cs, sizeof t);
    t[0].svc.sched_name[0] = 0; /* ADD_SERVICE needs a scheduler */
    t[2].svc.af = 99;
    RC(lbnet_ipvs_batch_add_changes(b, t, 8, &bad), -EINVAL);
    CHECK(bad == 0); /* the first bad change */
    memset(t, 0, sizeof t); /* op 0 everywhere */
    RC(lbnet_ipvs_batch_add_changes(b, t, 8, NULL), -EINVAL);
    CHECK(batch_len(b) == 0);

    /* Fields an op does not read may hold anything. */
    memcpy(t, cs, sizeof t);
    t[7].svc.af = -1;                 /* ZERO_ALL reads nothing */
    t[2].svc.sched_name[0] = 0;       /* DELETE_SERVICE reads the key only */
    t[5].dest.fwd_method = 1000;      /* DELETE_DEST reads address and port only */
    t[6].dest.addr.af = 1234;         /* ZERO reads no destination */
    bad = 42;
    OK(lbnet_ipvs_batch_add_changes(b, t, 8, &bad));
    CHECK(bad == 42); /* untouched on success */
    CHECK(batch_len(b) == 8);
    OK(lbnet_ipvs_batch_add_service(b, &s)); /* arrays and single adders mix */
    OK(lbnet_ipvs_batch_add_changes(b, cs, 1, NULL));
    CHECK(batch_len(b) == 10);
    t[1].op = 0;
    RC(lbnet_ipvs_batch_add_changes(b, t, 8, &bad), -EINVAL);
    CHECK(bad == 1 && batch_len(b) == 10); /* still all or nothing */

    /* Results before an apply, NULL arrays, counts no array can have. */
    for (size_t i = 0; i < 10; i++) res[i] = 7;
    RC(lbnet_ipvs_batch_results(b, res, 10), -ENODATA);
    RC(lbnet_ipvs_batch_results(b, NULL, 10), -EINVAL);
    RC(lbnet_ipvs_batch_results(b, res, SIZE_MAX), -EINVAL);
    RC(lbnet_ipvs_batch_results(b, res, SIZE_MAX / 4 + 1), -EINVAL);
    for (size_t i = 0; i < 10; i++) CHECK(res[i] == 7);
    lbnet_ipvs_batch_free(b);
}

static void test_batch_building(void) {
    section = "batch building";
    lbnet_ipvs_service s = tcp_service("10.0.0.1", 80, "rr");
    lbnet_ipvs_dest d = dest("10.1.0.1", 80, LBNET_IPVS_FWD_MASQ, 1);
    int32_t res = 7;
    char msg[256];

    size_t n = 7;
    RC(lbnet_ipvs_batch_new(NULL), -EINVAL);
    RC(lbnet_ipvs_batch_len(NULL, &n), -EINVAL);
    CHECK(n == 7);
    RC(lbnet_ipvs_batch_add_service(NULL, &s), -EINVAL);
    RC(lbnet_ipvs_batch_update_service(NULL, &s), -EINVAL);
    RC(lbnet_ipvs_batch_delete_service(NULL, &s), -EINVAL);
    RC(lbnet_ipvs_batch_add_dest(NULL, &s, &d), -EINVAL);
    RC(lbnet_ipvs_batch_update_dest(NULL, &s, &d), -EINVAL);
    RC(lbnet_ipvs_batch_delete_dest(NULL, &s, &d), -EINVAL);
    RC(lbnet_ipvs_batch_zero(NULL, &s), -EINVAL);
    RC(lbnet_ipvs_batch_clear(NULL), -EINVAL);
    RC(lbnet_ipvs_batch_result(NULL, 0, &res), -EINVAL);
    RC(lbnet_ipvs_batch_result_message(NULL, 0, msg, sizeof msg), -EINVAL);
    RC(lbnet_ipvs_batch_apply(NULL, NULL), -EINVAL);

    lbnet_ipvs_batch *b = new_batch();
    CHECK(batch_len(b) == 0);
    RC(lbnet_ipvs_batch_add_service(b, NULL), -EINVAL);
    RC(lbnet_ipvs_batch_add_dest(b, &s, NULL), -EINVAL);
    RC(lbnet_ipvs_batch_add_dest(b, NULL, &d), -EINVAL);
    lbnet_ipvs_service bad = s;
    memset(bad.sched_name, 0, sizeof bad.sched_name);
    RC(lbnet_ipvs_batch_add_service(b, &bad), -EINVAL);
    RC(lbnet_ipvs_batch_update_service(b, &bad), -EINVAL);
    bad = s;
    bad.af = 0;
    RC(lbnet_ipvs_batch_delete_service(b, &bad), -EINVAL);
    RC(lbnet_ipvs_batch_zero(b, &bad), -EINVAL);
    lbnet_ipvs_dest badd = d;
    badd.fwd_method = 9;
    RC(lbnet_ipvs_batch_add_dest(b, &s, &badd), -EINVAL);
    RC(lbnet_ipvs_batch_update_dest(b, &s, &badd), -EINVAL);
    badd.fwd_method = LBNET_IPVS_FWD_BYPASS;
    RC(lbnet_ipvs_batch_add_dest(b, &s, &badd), -EINVAL);
    RC(lbnet_ipvs_batch_update_dest(b, &s, &badd), -EINVAL);
    bad = s;
    bad.flags = LBNET_IPVS_SVC_F_MASK | 0x40;
    RC(lbnet_ipvs_batch_add_service(b, &bad), -EINVAL);
    bad = s;
    bad.timeout = UINT32_MAX;
    RC(lbnet_ipvs_batch_update_service(b, &bad), -EINVAL);
    badd.addr.af = 0;
    RC(lbnet_ipvs_batch_delete_dest(b, &s, &badd), -EINVAL);
    RC(lbnet_ipvs_batch_len(b, NULL), -EINVAL);
    CHECK(batch_len(b) == 0); /* refused changes are not added */

    OK(lbnet_ipvs_batch_add_service(b, &s));
    OK(lbnet_ipvs_batch_update_service(b, &s));
    OK(lbnet_ipvs_batch_add_dest(b, &s, &d));
    OK(lbnet_ipvs_batch_update_dest(b, &s, &d));
    OK(lbnet_ipvs_batch_delete_dest(b, &s, &d));
    OK(lbnet_ipvs_batch_zero(b, &s));
    OK(lbnet_ipvs_batch_zero(b, NULL));
    OK(lbnet_ipvs_batch_delete_service(b, &s));
    CHECK(batch_len(b) == 8);
    RC(lbnet_ipvs_batch_result(b, 0, &res), -ENODATA); /* not applied yet */
    RC(lbnet_ipvs_batch_result(b, 8, &res), -EINVAL);  /* out of range */
    RC(lbnet_ipvs_batch_result(b, 0, NULL), -EINVAL);
    RC(lbnet_ipvs_batch_result_message(b, 0, msg, sizeof msg), -ENODATA);
    RC(lbnet_ipvs_batch_apply(NULL, b), -EINVAL);
    OK(lbnet_ipvs_batch_clear(b));
    CHECK(batch_len(b) == 0);
    lbnet_ipvs_batch_free(b);
    test_batch_arrays();
}

/* ------------------------------------------------- part 2a: the kernel has no IPVS (host) */

static void test_ipvs_missing(lbnet_ipvs *h, int missing) {
    section = "IPVS not available";
    lbnet_ipvs_service s = tcp_service("10.0.0.1", 80, "rr");
    lbnet_ipvs_service out;
    lbnet_ipvs_dest d = dest("10.1.0.1", 80, LBNET_IPVS_FWD_MASQ, 1);
    lbnet_ipvs_info info;
    lbnet_ipvs_timeouts t = {1, 2, 3};
    lbnet_ipvs_daemon dm = daemon_cfg(LBNET_IPVS_DAEMON_MASTER, "lo", 1);
    lbnet_ipvs_service_list *sl = NULL;
    lbnet_ipvs_service_entry_list *el = NULL;
    lbnet_ipvs_dest_list *dl = NULL;
    lbnet_ipvs_daemon_list *ml = NULL;

    /* The errno (-ENOENT) is the controller's; the kind says what it means, for every command
     * (add/update service once said UNKNOWN_SCHEDULER and the destination commands
     * NO_SUCH_DESTINATION, reading the controller's ENOENT as the command's). */
    RC_MISSING(lbnet_ipvs_get_info(h, &info));
    CHECK(strstr(lbnet_last_error(), "IPVS") != NULL);
    RC_MISSING(lbnet_ipvs_add_service(h, &s));
    RC_MISSING(lbnet_ipvs_update_service(h, &s));
    RC_MISSING(lbnet_ipvs_delete_service(h, &s));
    RC_MISSING(lbnet_ipvs_get_service(h, &s, &out));
    RC_MISSING(lbnet_ipvs_list_services(h, &sl));
    CHECK(sl == NULL);
    RC_MISSING(lbnet_ipvs_list_services_with_dests(h, &el));
    CHECK(el == NULL);
    RC_MISSING(lbnet_ipvs_add_dest(h, &s, &d));
    RC_MISSING(lbnet_ipvs_update_dest(h, &s, &d));
    RC_MISSING(lbnet_ipvs_delete_dest(h, &s, &d));
    RC_MISSING(lbnet_ipvs_list_dests(h, &s, &dl));
    CHECK(dl == NULL);
    RC_MISSING(lbnet_ipvs_zero_service(h, &s));
    RC_MISSING(lbnet_ipvs_zero_all(h));
    RC_MISSING(lbnet_ipvs_flush(h));
    RC_MISSING(lbnet_ipvs_get_timeouts(h, &t));
    RC_MISSING(lbnet_ipvs_set_timeouts(h, &t));
    RC_MISSING(lbnet_ipvs_start_daemon(h, &dm));
    RC_MISSING(lbnet_ipvs_stop_daemon(h, &dm));
    RC_MISSING(lbnet_ipvs_list_daemons(h, &ml));
    CHECK(ml == NULL);

    /* A batch: apply fails with the same errno, and so does every change. */
    lbnet_ipvs_batch *b = new_batch();
    OK(lbnet_ipvs_batch_apply(h, b)); /* empty: nothing sent */
    OK(lbnet_ipvs_batch_add_service(b, &s));
    OK(lbnet_ipvs_batch_add_dest(b, &s, &d));
    RC(lbnet_ipvs_batch_apply(h, b), missing);
    for (size_t i = 0; i < 2; i++) {
        int32_t r = 0;
        char msg[512];
        OK(lbnet_ipvs_batch_result(b, i, &r));
        CHECK(r == missing);
        OK(lbnet_ipvs_batch_result_message(b, i, msg, sizeof msg));
        CHECK(strlen(msg) > 0);
        RC(lbnet_ipvs_batch_result_message(b, i, msg, 4), -ERANGE);
    }
    /* All the codes at once: the same values. */
    int32_t rs[3] = {1, 1, 1};
    RC(lbnet_ipvs_batch_results(b, rs, 1), -ERANGE); /* too short: nothing written */
    CHECK(rs[0] == 1);
    OK(lbnet_ipvs_batch_results(b, rs, 3));
    CHECK(rs[0] == missing && rs[1] == missing && rs[2] == 1);
    /* The same through an array of changes. */
    lbnet_ipvs_change cs[2] = {change(LBNET_IPVS_OP_ADD_SERVICE, &s, &d),
                               change(LBNET_IPVS_OP_ADD_DEST, &s, &d)};
    OK(lbnet_ipvs_batch_clear(b));
    OK(lbnet_ipvs_batch_add_changes(b, cs, 2, NULL));
    RC(lbnet_ipvs_batch_apply(h, b), missing);
    OK(lbnet_ipvs_batch_results(b, rs, 3));
    CHECK(rs[0] == missing && rs[1] == missing);
    lbnet_ipvs_batch_free(b);
}

/* ------------------------------------------------------ part 2b: real IPVS (kernel lab) */

static const lbnet_ipvs_dest *find_dest(const lbnet_ipvs_dest *ds, size_t n, const char *ip,
                                        uint16_t port) {
    lbnet_addr a = addr(ip);
    for (size_t i = 0; i < n; i++)
        if (ds[i].addr.af == a.af && memcmp(ds[i].addr.addr, a.addr, a.af == AF_INET ? 4 : 16) == 0 &&
            ds[i].port == port)
            return &ds[i];
    return NULL;
}

static int same_key(const lbnet_ipvs_service *a, const lbnet_ipvs_service *b) {
    if (a->af != b->af || a->fwmark != b->fwmark) return 0;
    if (a->fwmark) return 1;
    return a->protocol == b->protocol && a->port == b->port &&
           memcmp(a->addr.addr, b->addr.addr, a->af == AF_INET ? 4 : 16) == 0;
}

static void test_services(lbnet_ipvs *h) {
    section = "services";
    lbnet_ipvs_service s = tcp_service("10.0.0.1", 80, "rr");
    lbnet_ipvs_service out;
    OK(lbnet_ipvs_flush(h));
    OK(lbnet_ipvs_add_service(h, &s));
    RC(lbnet_ipvs_add_service(h, &s), -EEXIST);
    CHECK(strstr(lbnet_last_error(), "10.0.0.1") != NULL);
    memset(&out, 0, sizeof out);
    OK(lbnet_ipvs_get_service(h, &s, &out));
    CHECK(same_key(&s, &out));
    CHECK(strcmp(out.sched_name, "rr") == 0);
    CHECK(out.pe_name[0] == 0);
    CHECK(out.timeout == 0);
    CHECK(out.netmask == 0xffffffffu);

    /* Update: scheduler, persistence with a /24 mask, scheduler flags on sh. */
    lbnet_ipvs_service u = s;
    snprintf(u.sched_name, sizeof u.sched_name, "sh");
    u.flags = LBNET_IPVS_SVC_F_SCHED1 | LBNET_IPVS_SVC_F_SCHED2;
    u.timeout = 300;
    u.netmask = 0xffffff00u;
    OK(lbnet_ipvs_update_service(h, &u));
    OK(lbnet_ipvs_get_service(h, &s, &out));
    CHECK(strcmp(out.sched_name, "sh") == 0);
    CHECK(out.timeout == 300);
    CHECK(out.netmask == 0xffffff00u);
    CHECK(out.flags & LBNET_IPVS_SVC_F_PERSISTENT);
    CHECK((out.flags & (LBNET_IPVS_SVC_F_SCHED1 | LBNET_IPVS_SVC_F_SCHED2)) ==
          (LBNET_IPVS_SVC_F_SCHED1 | LBNET_IPVS_SVC_F_SCHED2));

    /* A listed service (HASHED set by the kernel) goes back as it is: HASHED is not sent. The
     * largest persistence timeout reads back unchanged. */
    CHECK(out.flags & LBNET_IPVS_SVC_F_HASHED);
    out.timeout = LBNET_IPVS_PERSISTENT_TIMEOUT_MAX;
    OK(lbnet_ipvs_update_service(h, &out));
    OK(lbnet_ipvs_get_service(h, &s, &out));
    CHECK(out.timeout == LBNET_IPVS_PERSISTENT_TIMEOUT_MAX);
    OK(lbnet_ipvs_update_service(h, &u));

    /* Unknown scheduler and persistence engine: -ENOENT. */
    lbnet_ipvs_service x = tcp_service("10.0.0.2", 80, "nosuchsched");
    RC(lbnet_ipvs_add_service(h, &x), -ENOENT);
    CHECK(lbnet_last_error_kind() == LBNET_ERROR_KIND_NOT_FOUND);
    snprintf(u.sched_name, sizeof u.sched_name, "nosuchsched");
    RC(lbnet_ipvs_update_service(h, &u), -ENOENT);
    x = tcp_service("10.0.0.2", 80, "rr");
    snprintf(x.pe_name, sizeof x.pe_name, "nosuchpe");
    RC(lbnet_ipvs_add_service(h, &x), -ENOENT);

    /* Unknown service: -ESRCH everywhere it is named. */
    x = tcp_service("10.0.0.99", 99, "rr");
    RC(lbnet_ipvs_get_service(h, &x, &out), -ESRCH);
    CHECK(lbnet_last_error_kind() == LBNET_ERROR_KIND_NOT_FOUND);
    RC(lbnet_ipvs_update_service(h, &x), -ESRCH);
    RC(lbnet_ipvs_delete_service(h, &x), -ESRCH);
    RC(lbnet_ipvs_zero_service(h, &x), -ESRCH);
    lbnet_ipvs_dest d = dest("10.1.0.1", 80, LBNET_IPVS_FWD_MASQ, 1);
    RC(lbnet_ipvs_add_dest(h, &x, &d), -ESRCH);

    /* IPv6, UDP one-packet, SCTP... and fwmark (IPv4 and IPv6). */
    lbnet_ipvs_service v6 = tcp_service("2001:db8::10", 443, "wlc");
    OK(lbnet_ipvs_add_service(h, &v6));
    OK(lbnet_ipvs_get_service(h, &v6, &out));
    CHECK(out.af == AF_INET6 && out.port == 443 && strcmp(out.sched_name, "wlc") == 0);
    CHECK(out.netmask == 128);
    lbnet_ipvs_service udp = tcp_service("10.0.0.3", 53, "mh");
    udp.protocol = IPPROTO_UDP;
    udp.flags = LBNET_IPVS_SVC_F_ONEPACKET;
    OK(lbnet_ipvs_add_service(h, &udp));
    OK(lbnet_ipvs_get_service(h, &udp, &out));
    CHECK(out.protocol == IPPROTO_UDP && (out.flags & LBNET_IPVS_SVC_F_ONEPACKET));
    lbnet_ipvs_service fw;
    memset(&fw, 0, sizeof fw);
    fw.af = AF_INET;
    fw.fwmark = 7;
    snprintf(fw.sched_name, sizeof fw.sched_name, "wrr");
    OK(lbnet_ipvs_add_service(h, &fw));
    fw.af = AF_INET6;
    OK(lbnet_ipvs_add_service(h, &fw));
    OK(lbnet_ipvs_get_service(h, &fw, &out));
    CHECK(out.fwmark == 7 && out.af == AF_INET6 && out.protocol == 0);
    /* IPv6 persistence prefix outside 1..128 is refused by the kernel. */
    lbnet_ipvs_service p6 = tcp_service("2001:db8::11", 80, "rr");
    p6.timeout = 60;
    p6.netmask = 129;
    RC(lbnet_ipvs_add_service(h, &p6), -EINVAL);

    lbnet_ipvs_service_list *sl = NULL;
    OK(lbnet_ipvs_list_services(h, &sl));
    CHECK(sl != NULL && sl->len == 5);
    int seen = 0;
    for (size_t i = 0; i < sl->len; i++) {
        if (same_key(&sl->items[i], &s)) seen |= 1;
        if (same_key(&sl->items[i], &v6)) seen |= 2;
        if (same_key(&sl->items[i], &udp)) seen |= 4;
        if (same_key(&sl->items[i], &fw)) seen |= 8;
    }
    CHECK(seen == 15);
    lbnet_ipvs_service_list_free(sl);

    OK(lbnet_ipvs_delete_service(h, &udp));
    RC(lbnet_ipvs_delete_service(h, &udp), -ESRCH);
    OK(lbnet_ipvs_flush(h));
    OK(lbnet_ipvs_list_services(h, &sl));
    CHECK(sl->len == 0 && sl->items == NULL);
    lbnet_ipvs_service_list_free(sl);
}

static void test_dests(lbnet_ipvs *h) {
    section = "destinations";
    lbnet_ipvs_service s = tcp_service("10.0.0.1", 80, "wrr");
    OK(lbnet_ipvs_add_service(h, &s));
    lbnet_ipvs_dest d1 = dest("10.1.0.1", 8080, LBNET_IPVS_FWD_MASQ, 3);
    d1.u_threshold = 100;
    d1.l_threshold = 10;
    lbnet_ipvs_dest d2 = dest("10.1.0.2", 80, LBNET_IPVS_FWD_ROUTE, 1);
    lbnet_ipvs_dest d3 = dest("10.1.0.3", 80, LBNET_IPVS_FWD_TUNNEL, 1);
    d3.tun_type = LBNET_IPVS_TUN_GUE;
    d3.tun_port = 6080;
    d3.tun_flags = LBNET_IPVS_TUN_F_CSUM;
    /* An IPv6 real server behind an IPv4 service: tunnel forwarding only (kernel 3.18+). */
    lbnet_ipvs_dest d4 = dest("2001:db8::20", 80, LBNET_IPVS_FWD_TUNNEL, 1);
    OK(lbnet_ipvs_add_dest(h, &s, &d1));
    OK(lbnet_ipvs_add_dest(h, &s, &d2));
    OK(lbnet_ipvs_add_dest(h, &s, &d3));
    OK(lbnet_ipvs_add_dest(h, &s, &d4));
    RC(lbnet_ipvs_add_dest(h, &s, &d1), -EEXIST);
    lbnet_ipvs_dest mixed = dest("2001:db8::21", 80, LBNET_IPVS_FWD_MASQ, 1);
    RC(lbnet_ipvs_add_dest(h, &s, &mixed), -EINVAL);
    lbnet_ipvs_dest neg = dest("10.1.0.9", 80, LBNET_IPVS_FWD_MASQ, -1);
    RC(lbnet_ipvs_add_dest(h, &s, &neg), -ERANGE);
    lbnet_ipvs_dest thr = dest("10.1.0.9", 80, LBNET_IPVS_FWD_MASQ, 1);
    thr.u_threshold = 10;
    thr.l_threshold = 20;
    RC(lbnet_ipvs_add_dest(h, &s, &thr), -ERANGE);

    lbnet_ipvs_dest_list *dl = NULL;
    OK(lbnet_ipvs_list_dests(h, &s, &dl));
    CHECK(dl->len == 4);
    const lbnet_ipvs_dest *g = find_dest(dl->items, dl->len, "10.1.0.1", 8080);
    CHECK(g && g->weight == 3 && g->fwd_method == LBNET_IPVS_FWD_MASQ && g->u_threshold == 100 &&
          g->l_threshold == 10);
    g = find_dest(dl->items, dl->len, "10.1.0.2", 80);
    CHECK(g && g->fwd_method == LBNET_IPVS_FWD_ROUTE);
    g = find_dest(dl->items, dl->len, "10.1.0.3", 80);
    CHECK(g && g->fwd_method == LBNET_IPVS_FWD_TUNNEL && g->tun_type == LBNET_IPVS_TUN_GUE &&
          g->tun_port == 6080 && g->tun_flags == LBNET_IPVS_TUN_F_CSUM);
    g = find_dest(dl->items, dl->len, "2001:db8::20", 80);
    CHECK(g && g->addr.af == AF_INET6);
    lbnet_ipvs_dest_list_free(dl);

    /* Update and delete, with the missing-destination errno. */
    d1.weight = 7;
    OK(lbnet_ipvs_update_dest(h, &s, &d1));
    lbnet_ipvs_dest missing = dest("10.1.0.77", 80, LBNET_IPVS_FWD_MASQ, 1);
    RC(lbnet_ipvs_update_dest(h, &s, &missing), -ENOENT);
    CHECK(lbnet_last_error_kind() == LBNET_ERROR_KIND_NOT_FOUND);
    RC(lbnet_ipvs_delete_dest(h, &s, &missing), -ENOENT);
    d1.weight = -5;
    RC(lbnet_ipvs_update_dest(h, &s, &d1), -ERANGE);
    OK(lbnet_ipvs_delete_dest(h, &s, &d2));
    OK(lbnet_ipvs_list_dests(h, &s, &dl));
    CHECK(dl->len == 3);
    g = find_dest(dl->items, dl->len, "10.1.0.1", 8080);
    CHECK(g && g->weight == 7);
    CHECK(find_dest(dl->items, dl->len, "10.1.0.2", 80) == NULL);
    lbnet_ipvs_dest_list_free(dl);

    /* Destinations of a service that does not exist: -ESRCH (the kernel's dump is empty, the
     * library asks for the service), while a service without destinations lists empty. */
    lbnet_ipvs_service none = tcp_service("10.9.9.9", 1, "rr");
    dl = (lbnet_ipvs_dest_list *)1;
    RC(lbnet_ipvs_list_dests(h, &none, &dl), -ESRCH);
    CHECK(dl == NULL);
    OK(lbnet_ipvs_add_service(h, &none));
    OK(lbnet_ipvs_list_dests(h, &none, &dl));
    CHECK(dl->len == 0 && dl->items == NULL);
    lbnet_ipvs_dest_list_free(dl);
    OK(lbnet_ipvs_delete_service(h, &none));

    /* Services with destinations, and counters that zero. */
    lbnet_ipvs_service v6 = tcp_service("2001:db8::10", 443, "rr");
    OK(lbnet_ipvs_add_service(h, &v6));
    lbnet_ipvs_dest d6 = dest("2001:db8::30", 443, LBNET_IPVS_FWD_ROUTE, 2);
    OK(lbnet_ipvs_add_dest(h, &v6, &d6));
    lbnet_ipvs_service_entry_list *el = NULL;
    OK(lbnet_ipvs_list_services_with_dests(h, &el));
    CHECK(el->len == 2);
    for (size_t i = 0; i < el->len; i++) {
        if (same_key(&el->items[i].service, &s)) CHECK(el->items[i].n_dests == 3);
        else if (same_key(&el->items[i].service, &v6)) {
            CHECK(el->items[i].n_dests == 1);
            CHECK(find_dest(el->items[i].dests, 1, "2001:db8::30", 443)->weight == 2);
        } else FAIL("unexpected service in the listing");
    }
    lbnet_ipvs_service_entry_list_free(el);
    OK(lbnet_ipvs_zero_service(h, &s));
    OK(lbnet_ipvs_zero_all(h));
    lbnet_ipvs_service out;
    OK(lbnet_ipvs_get_service(h, &s, &out));
    CHECK(out.stats.conns == 0 && out.stats.inpkts == 0 && out.stats.inbytes == 0);
    OK(lbnet_ipvs_flush(h));
}

static void test_info_timeouts(lbnet_ipvs *h) {
    section = "info/timeouts";
    lbnet_ipvs_info info;
    OK(lbnet_ipvs_get_info(h, &info));
    CHECK(info.version >= 0x010200); /* IPVS 1.2.x */
    CHECK(info.conn_tab_size > 0);
    lbnet_ipvs_timeouts orig, t, got;
    OK(lbnet_ipvs_get_timeouts(h, &orig));
    CHECK(orig.tcp > 0 && orig.tcp_fin > 0 && orig.udp > 0);
    t.tcp = 901;
    t.tcp_fin = 121;
    t.udp = 301;
    OK(lbnet_ipvs_set_timeouts(h, &t));
    OK(lbnet_ipvs_get_timeouts(h, &got));
    CHECK(got.tcp == 901 && got.tcp_fin == 121 && got.udp == 301);
    /* 0 leaves a value unchanged. */
    memset(&t, 0, sizeof t);
    t.udp = 302;
    OK(lbnet_ipvs_set_timeouts(h, &t));
    OK(lbnet_ipvs_get_timeouts(h, &got));
    CHECK(got.tcp == 901 && got.tcp_fin == 121 && got.udp == 302);
    /* The largest timeout reads back unchanged; one more is refused and changes nothing. */
    memset(&t, 0, sizeof t);
    t.tcp = LBNET_IPVS_TIMEOUT_MAX;
    OK(lbnet_ipvs_set_timeouts(h, &t));
    t.tcp = LBNET_IPVS_TIMEOUT_MAX + 1;
    RC(lbnet_ipvs_set_timeouts(h, &t), -EINVAL);
    OK(lbnet_ipvs_get_timeouts(h, &got));
    CHECK(got.tcp == LBNET_IPVS_TIMEOUT_MAX && got.udp == 302);
    OK(lbnet_ipvs_set_timeouts(h, &orig));
}

static void test_daemons(lbnet_ipvs *h) {
    section = "sync daemons";
    /* Start first: an empty GET_DAEMON dump immediately followed by NEW_DAEMON on the same
     * socket makes the later DEL_DAEMON go unanswered (no ack within 30 s, though the daemon is
     * stopped) in about 1 run in 4 on the lab's 6.1 kernel under TCG. A raw-netlink client with
     * no lbnet code in it shows the same, so it is the kernel's; the empty listing is checked at
     * the end instead. */
    lbnet_ipvs_daemon_list *ml = NULL;
    lbnet_ipvs_daemon m = daemon_cfg(LBNET_IPVS_DAEMON_MASTER, "lo", 42);
    m.mcast_port = 8849;
    m.mcast_ttl = 2;
    OK(lbnet_ipvs_start_daemon(h, &m));
    /* A refused second start (EEXIST) is checked by the core's kernel test, not here: on the
     * lab's 6.1 kernel under TCG the DEL_DAEMON that follows a refused start sometimes gets no
     * ack within 30 s (ipvsadm sees the same stop take ~3 s; the Go tests saw it too), which
     * made this program fail 1 run in 2 in `make test`. */
    lbnet_ipvs_daemon nodev = daemon_cfg(LBNET_IPVS_DAEMON_BACKUP, "nosuchif0", 1);
    RC(lbnet_ipvs_start_daemon(h, &nodev), -ENODEV);
    OK(lbnet_ipvs_list_daemons(h, &ml));
    CHECK(ml->len == 1);
    CHECK(ml->items[0].state == LBNET_IPVS_DAEMON_MASTER && ml->items[0].syncid == 42 &&
          strcmp(ml->items[0].mcast_ifname, "lo") == 0);
    CHECK(ml->items[0].mcast_port == 8849 && ml->items[0].mcast_ttl == 2);
    lbnet_ipvs_daemon_list_free(ml);
    OK(lbnet_ipvs_stop_daemon(h, &m));
    RC(lbnet_ipvs_stop_daemon(h, &m), -ESRCH);
    OK(lbnet_ipvs_list_daemons(h, &ml));
    CHECK(ml->len == 0);
    lbnet_ipvs_daemon_list_free(ml);
}

static void test_batch_apply(lbnet_ipvs *h) {
    section = "batch apply";
    lbnet_ipvs_service s = tcp_service("10.0.0.1", 80, "rr");
    lbnet_ipvs_dest d1 = dest("10.1.0.1", 80, LBNET_IPVS_FWD_MASQ, 1);
    lbnet_ipvs_dest d2 = dest("10.1.0.2", 80, LBNET_IPVS_FWD_MASQ, 1);
    lbnet_ipvs_service other = tcp_service("10.0.0.50", 80, "rr");
    lbnet_ipvs_batch *b = new_batch();
    OK(lbnet_ipvs_batch_add_service(b, &s));
    OK(lbnet_ipvs_batch_add_dest(b, &s, &d1));
    OK(lbnet_ipvs_batch_add_dest(b, &s, &d2));
    OK(lbnet_ipvs_batch_add_dest(b, &s, &d1));          /* 3: -EEXIST */
    OK(lbnet_ipvs_batch_delete_service(b, &other));     /* 4: -ESRCH */
    d2.weight = 5;
    OK(lbnet_ipvs_batch_update_dest(b, &s, &d2));
    OK(lbnet_ipvs_batch_zero(b, &s));
    OK(lbnet_ipvs_batch_zero(b, NULL));
    lbnet_ipvs_service u = s;
    snprintf(u.sched_name, sizeof u.sched_name, "lc");
    OK(lbnet_ipvs_batch_update_service(b, &u));
    CHECK(batch_len(b) == 9);
    RC(lbnet_ipvs_batch_apply(h, b), -EEXIST); /* the first failure */
    CHECK(strstr(lbnet_last_error(), "change 3") != NULL);
    const int want[] = {0, 0, 0, -EEXIST, -ESRCH, 0, 0, 0, 0};
    char msg[512];
    for (size_t i = 0; i < 9; i++) {
        int32_t r = 1;
        OK(lbnet_ipvs_batch_result(b, i, &r));
        if (r != want[i]) FAIL("batch change %zu: result %d, want %d", i, r, want[i]);
        OK(lbnet_ipvs_batch_result_message(b, i, msg, sizeof msg));
        CHECK((want[i] == 0) == (msg[0] == 0));
    }
    int32_t rs[9];
    OK(lbnet_ipvs_batch_results(b, rs, 9));
    for (size_t i = 0; i < 9; i++)
        if (rs[i] != want[i]) FAIL("batch_results[%zu] = %d, want %d", i, rs[i], want[i]);
    lbnet_ipvs_dest_list *dl = NULL;
    OK(lbnet_ipvs_list_dests(h, &s, &dl));
    CHECK(dl->len == 2);
    CHECK(find_dest(dl->items, dl->len, "10.1.0.2", 80)->weight == 5);
    lbnet_ipvs_dest_list_free(dl);
    lbnet_ipvs_service out;
    OK(lbnet_ipvs_get_service(h, &s, &out));
    CHECK(strcmp(out.sched_name, "lc") == 0);

    /* Reuse: clear, then a batch that fully succeeds. */
    OK(lbnet_ipvs_batch_clear(b));
    OK(lbnet_ipvs_batch_delete_dest(b, &s, &d1));
    OK(lbnet_ipvs_batch_delete_service(b, &s));
    OK(lbnet_ipvs_batch_apply(h, b));
    int32_t r = 1;
    OK(lbnet_ipvs_batch_result(b, 1, &r));
    CHECK(r == 0);
    /* Adding a change invalidates the results until the next apply. */
    OK(lbnet_ipvs_batch_add_service(b, &s));
    RC(lbnet_ipvs_batch_result(b, 0, &r), -ENODATA);
    lbnet_ipvs_batch_free(b);
    lbnet_ipvs_service_list *sl = NULL;
    OK(lbnet_ipvs_list_services(h, &sl));
    CHECK(sl->len == 0);
    lbnet_ipvs_service_list_free(sl);

    /* A large batch: 200 services with 4 destinations each, one apply. */
    b = new_batch();
    for (int i = 0; i < 200; i++) {
        char vip[32];
        snprintf(vip, sizeof vip, "10.2.%d.%d", i / 250, i % 250 + 1);
        lbnet_ipvs_service bs = tcp_service(vip, 80, "rr");
        OK(lbnet_ipvs_batch_add_service(b, &bs));
        for (int j = 0; j < 4; j++) {
            char rip[32];
            snprintf(rip, sizeof rip, "10.3.%d.%d", i % 250, j + 1);
            lbnet_ipvs_dest bd = dest(rip, 80, LBNET_IPVS_FWD_ROUTE, j + 1);
            OK(lbnet_ipvs_batch_add_dest(b, &bs, &bd));
        }
    }
    OK(lbnet_ipvs_batch_apply(h, b));
    lbnet_ipvs_batch_free(b);
    lbnet_ipvs_service_entry_list *el = NULL;
    OK(lbnet_ipvs_list_services_with_dests(h, &el));
    CHECK(el->len == 200);
    for (size_t i = 0; i < el->len; i++) CHECK(el->items[i].n_dests == 4);
    lbnet_ipvs_service_entry_list_free(el);
    OK(lbnet_ipvs_flush(h));

    /* The same kind of batch as one array of changes (one add call, one results call), with
     * a failure in the middle: every code comes back, and the kernel holds what succeeded. */
    enum { NS = 100, NC = NS * 5 + 1 };
    lbnet_ipvs_change *cs = calloc(NC, sizeof *cs);
    CHECK(cs != NULL);
    size_t k = 0;
    for (int i = 0; i < NS; i++) {
        char vip[32], rip[32];
        snprintf(vip, sizeof vip, "10.4.%d.%d", i / 250, i % 250 + 1);
        lbnet_ipvs_service bs = tcp_service(vip, 80, "wrr");
        lbnet_ipvs_dest bd = dest("10.5.0.1", 80, LBNET_IPVS_FWD_MASQ, 1);
        cs[k++] = change(LBNET_IPVS_OP_ADD_SERVICE, &bs, &bd);
        for (int j = 0; j < 4; j++) {
            snprintf(rip, sizeof rip, "10.5.%d.%d", i % 250, j + 1);
            bd = dest(rip, 80, LBNET_IPVS_FWD_MASQ, j + 1);
            cs[k++] = change(LBNET_IPVS_OP_ADD_DEST, &bs, &bd);
        }
        if (i == NS / 2) { /* the service again: -EEXIST */
            cs[k] = cs[k - 5];
            k++;
        }
    }
    CHECK(k == NC);
    b = new_batch();
    size_t bad = 0;
    OK(lbnet_ipvs_batch_add_changes(b, cs, k, &bad));
    CHECK(batch_len(b) == NC);
    RC(lbnet_ipvs_batch_apply(h, b), -EEXIST);
    int32_t *codes = malloc(NC * sizeof *codes);
    CHECK(codes != NULL);
    RC(lbnet_ipvs_batch_results(b, codes, NC - 1), -ERANGE);
    OK(lbnet_ipvs_batch_results(b, codes, NC));
    int failed = 0;
    for (size_t i = 0; i < NC; i++) {
        int32_t one = 1;
        OK(lbnet_ipvs_batch_result(b, i, &one));
        if (codes[i] != one) FAIL("batch_results[%zu] = %d, batch_result says %d", i, codes[i], one);
        if (codes[i] != 0) {
            failed++;
            CHECK(codes[i] == -EEXIST && i == (size_t)(NS / 2) * 5 + 5);
        }
    }
    CHECK(failed == 1);
    free(codes);
    free(cs);
    lbnet_ipvs_batch_free(b);
    OK(lbnet_ipvs_list_services_with_dests(h, &el));
    CHECK(el->len == NS);
    for (size_t i = 0; i < el->len; i++) CHECK(el->items[i].n_dests == 4);
    lbnet_ipvs_service_entry_list_free(el);
    OK(lbnet_ipvs_flush(h));
}

/* A handle in another network namespace (by path and by descriptor) sees only that namespace. */
static void test_netns(lbnet_ipvs *h) {
    section = "netns";
    char name[64], path[128], cmd[256];
    snprintf(name, sizeof name, "lbnet-ffi-%d", (int)getpid());
    snprintf(path, sizeof path, "/var/run/netns/%s", name);
    snprintf(cmd, sizeof cmd, "ip netns add %s", name);
    if (system(cmd) != 0) FAIL("%s failed", cmd);

    lbnet_ipvs_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.netns_path = path;
    lbnet_ipvs *hn = NULL;
    OK(lbnet_ipvs_open(&o, &hn));
    lbnet_ipvs_service s = tcp_service("10.0.0.1", 80, "rr");
    OK(lbnet_ipvs_add_service(hn, &s));
    lbnet_ipvs_service out;
    OK(lbnet_ipvs_get_service(hn, &s, &out));
    RC(lbnet_ipvs_get_service(h, &s, &out), -ESRCH); /* invisible in our namespace */

    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.netns_fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(o.netns_fd > 0);
    lbnet_ipvs *hf = NULL;
    OK(lbnet_ipvs_open(&o, &hf));
    close(o.netns_fd); /* the handle keeps its socket in that namespace */
    OK(lbnet_ipvs_get_service(hf, &s, &out));
    RC(lbnet_ipvs_add_service(hf, &s), -EEXIST);
    OK(lbnet_ipvs_flush(hf));
    RC(lbnet_ipvs_get_service(hn, &s, &out), -ESRCH);
    lbnet_ipvs_free(hf);
    lbnet_ipvs_free(hn);
    snprintf(cmd, sizeof cmd, "ip netns del %s", name);
    if (system(cmd) != 0) FAIL("%s failed", cmd);
}

/* ---------------------------------------------------------------- route export (lbnet_rtexport_*) */

static lbnet_prefix prefix(const char *text) {
    lbnet_prefix p;
    memset(&p, 0, sizeof p);
    if (lbnet_prefix_parse(text, &p) != 0) FAIL("cannot parse %s", text);
    return p;
}

static lbnet_rtexport_rule rtexport_rule(const char *name, uint32_t table, uint32_t metric) {
    lbnet_rtexport_rule r;
    memset(&r, 0, sizeof r);
    r.name = name;
    r.table = table;
    r.metric = metric;
    r.validate_nexthop = 1;
    return r;
}

static lbnet_rtexport_options rtexport_opts(void) {
    lbnet_rtexport_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.flags = LBNET_RTEXPORT_NO_WATCH;
    return o;
}

static int rtexport_open_free(const void *opts) {
    lbnet_rtexport *ex = (lbnet_rtexport *)1;
    int rc = lbnet_rtexport_open((const lbnet_rtexport_options *)opts, &ex);
    if ((rc == 0) != (ex != NULL)) FAIL("open returned %d with handle %p", rc, (void *)ex);
    lbnet_rtexport_free(ex);
    return rc;
}

/* Bad input to every lbnet_rtexport_* function; an engine without rules in the caller's
 * namespace (it touches no table) serves the functions that need one. */
static void test_rtexport_args(void) {
    section = "rtexport arguments";
    lbnet_rtexport *ex = (lbnet_rtexport *)1;
    RC(lbnet_rtexport_open(NULL, NULL), -EINVAL);

    /* sz, as libbpf checks it: too small, larger with a set byte, larger with zeros, 4097. */
    lbnet_rtexport_options o = rtexport_opts();
    sz_checks(&o, sizeof o, rtexport_open_free, 0);

    /* Unknown flags, reserved protocols, bad paths. */
    o = rtexport_opts();
    o.flags = 1u << 20;
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    static const uint8_t reserved[] = {1, 2, 3, 4, 255};
    for (size_t i = 0; i < sizeof reserved; i++) {
        o = rtexport_opts();
        o.protocol = reserved[i];
        RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
        CHECK(strstr(last(), "route protocol") != NULL);
    }
    o = rtexport_opts();
    o.netns_path = "";
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    o.netns_path = "\xff\xfe";
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    o.netns_path = "/nonexistent/netns";
    RC(lbnet_rtexport_open(&o, &ex), -ENOENT);

    /* Rules: NULL array with a count, bad rules, huge counts (refused before anything is read). */
    lbnet_rtexport_rule r = rtexport_rule("r", 100, 20);
    o = rtexport_opts();
    o.n_rules = 1;
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    lbnet_rtexport_rule bad = r;
    bad.name = NULL;
    o.rules = &bad;
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    CHECK(strstr(last(), "rules[0]") != NULL);
    bad = r;
    bad.table = 0;
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    bad = r;
    bad.vrf = "a-name-longer-than-ifnamsiz";
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    bad = r;
    bad.n_communities = 1; /* NULL communities with a count */
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    lbnet_rtexport_rule two[2] = {r, r}; /* the same name twice */
    o.rules = two;
    o.n_rules = 2;
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    static const size_t huge[] = {(size_t)INT32_MAX, (size_t)1 << 40, SIZE_MAX};
    for (size_t i = 0; i < 3; i++) {
        o.rules = &r;
        o.n_rules = huge[i];
        RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
        bad = r;
        bad.n_communities = huge[i];
        bad.communities = (const uint32_t *)&r;
        o.rules = &bad;
        o.n_rules = 1;
        RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    }
    /* The largest count allowed, rule 0 invalid: refused at rule 0. */
    bad = r;
    bad.name = NULL;
    o.rules = &bad;
    o.n_rules = LBNET_RTEXPORT_RULES_MAX;
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);

    o = rtexport_opts();
    OK(lbnet_rtexport_open(&o, &ex));
    lbnet_prefix p = prefix("198.51.100.0/24");
    lbnet_addr nh = addr("10.1.0.2");
    uint32_t comm = 65000u << 16 | 1;
    lbnet_rtexport_large_community lc = {65000, 1, 2};

    RC(lbnet_rtexport_update(NULL, &p, &nh, NULL, 0, NULL, 0), -EINVAL);
    RC(lbnet_rtexport_update(ex, NULL, &nh, NULL, 0, NULL, 0), -EINVAL);
    RC(lbnet_rtexport_update(ex, &p, NULL, NULL, 0, NULL, 0), -EINVAL);
    RC(lbnet_rtexport_update(ex, &p, &nh, NULL, 1, NULL, 0), -EINVAL);
    RC(lbnet_rtexport_update(ex, &p, &nh, NULL, 0, NULL, 1), -EINVAL);
    lbnet_prefix hostbits = prefix("198.51.100.0/24");
    hostbits.addr.addr[3] = 1;
    RC(lbnet_rtexport_update(ex, &hostbits, &nh, NULL, 0, NULL, 0), -EINVAL);
    CHECK(strstr(last(), "host bits") != NULL);
    lbnet_prefix badlen = p;
    badlen.len = 33;
    RC(lbnet_rtexport_update(ex, &badlen, &nh, NULL, 0, NULL, 0), -EINVAL);
    lbnet_addr badaf = nh;
    badaf.af = 7;
    RC(lbnet_rtexport_update(ex, &p, &badaf, NULL, 0, NULL, 0), -EINVAL);
    badaf.af = AF_UNSPEC; /* a withdrawal's next hop: not for update */
    RC(lbnet_rtexport_update(ex, &p, &badaf, NULL, 0, NULL, 0), -EINVAL);
    for (size_t i = 0; i < 3; i++) {
        RC(lbnet_rtexport_update(ex, &p, &nh, &comm, huge[i], NULL, 0), -EINVAL);
        RC(lbnet_rtexport_update(ex, &p, &nh, NULL, 0, &lc, huge[i]), -EINVAL);
    }
    RC(lbnet_rtexport_update(ex, &p, &nh, &comm, LBNET_RTEXPORT_COMMUNITIES_MAX + 1, NULL, 0),
       -EINVAL);
    RC(lbnet_rtexport_update(ex, &p, &nh, NULL, 0, &lc, LBNET_RTEXPORT_LARGE_COMMUNITIES_MAX + 1),
       -EINVAL);

    lbnet_rtexport_change c;
    memset(&c, 0, sizeof c);
    c.prefix = p;
    c.nexthop = nh;
    RC(lbnet_rtexport_apply(NULL, &c, 1), -EINVAL);
    RC(lbnet_rtexport_apply(ex, NULL, 1), -EINVAL);
    OK(lbnet_rtexport_apply(ex, NULL, 0));
    lbnet_rtexport_change badc = c;
    badc.nexthop.af = 7;
    for (size_t i = 0; i < 3; i++) {
        RC(lbnet_rtexport_apply(ex, &c, huge[i]), -EINVAL);
        CHECK(strstr(last(), "at most") != NULL);
        lbnet_rtexport_change cc = c;
        cc.communities = &comm;
        cc.n_communities = huge[i];
        RC(lbnet_rtexport_apply(ex, &cc, 1), -EINVAL);
        cc = c;
        cc.more_nexthops = &nh;
        cc.n_more_nexthops = huge[i];
        RC(lbnet_rtexport_apply(ex, &cc, 1), -EINVAL);
        CHECK(strstr(last(), "more_nexthops") != NULL);
    }
    /* More next hops than LBNET_RTEXPORT_NEXTHOPS_MAX; an over-long device name. */
    lbnet_rtexport_change mc = c;
    mc.more_nexthops = &nh;
    mc.n_more_nexthops = LBNET_RTEXPORT_NEXTHOPS_MAX + 1;
    RC(lbnet_rtexport_apply(ex, &mc, 1), -EINVAL);
    mc = c;
    mc.device = "a-name-longer-than-ifnamsiz";
    RC(lbnet_rtexport_apply(ex, &mc, 1), -EINVAL);
    CHECK(strstr(last(), "device") != NULL);
    /* The largest count allowed, change 0 invalid: refused at change 0. */
    RC(lbnet_rtexport_apply(ex, &badc, LBNET_RTEXPORT_CHANGES_MAX), -EINVAL);
    CHECK(strstr(last(), "changes[0]") != NULL);

    RC(lbnet_rtexport_withdraw(NULL, &p), -EINVAL);
    RC(lbnet_rtexport_withdraw(ex, NULL), -EINVAL);
    RC(lbnet_rtexport_withdraw(ex, &hostbits), -EINVAL);
    size_t n = 0;
    RC(lbnet_rtexport_end_of_rib(NULL, &n), -EINVAL);
    RC(lbnet_rtexport_flush(NULL, &n), -EINVAL);
    RC(lbnet_rtexport_reload(NULL, &r, 1), -EINVAL);
    RC(lbnet_rtexport_reload(ex, NULL, 1), -EINVAL);
    for (size_t i = 0; i < 3; i++) RC(lbnet_rtexport_reload(ex, &r, huge[i]), -EINVAL);
    bad = r;
    bad.name = NULL;
    RC(lbnet_rtexport_reload(ex, &bad, LBNET_RTEXPORT_RULES_MAX), -EINVAL);
    lbnet_rtexport_stats st;
    RC(lbnet_rtexport_get_stats(NULL, NULL, &st), -EINVAL);
    RC(lbnet_rtexport_get_stats(ex, NULL, NULL), -EINVAL);
    RC(lbnet_rtexport_get_stats(ex, "nope", &st), -ENOENT);
    CHECK(lbnet_last_error_kind() == LBNET_ERROR_KIND_NOT_FOUND);
    OK(lbnet_rtexport_get_stats(ex, NULL, &st));
    CHECK(st.exported == 0 && st.errors == 0);
    char buf[8];
    RC(lbnet_rtexport_last_error(NULL, NULL, buf, sizeof buf), -EINVAL);
    RC(lbnet_rtexport_last_error(ex, NULL, NULL, sizeof buf), -EINVAL);
    RC(lbnet_rtexport_last_error(ex, NULL, buf, 0), -ERANGE);
    RC(lbnet_rtexport_last_error(ex, "nope", buf, sizeof buf), -ENOENT);
    lbnet_rtexport_route_list *l = (lbnet_rtexport_route_list *)1;
    RC(lbnet_rtexport_routes(NULL, &l), -EINVAL);
    RC(lbnet_rtexport_routes(ex, NULL), -EINVAL);
    OK(lbnet_rtexport_routes(ex, &l));
    CHECK(l != NULL && l->len == 0);
    lbnet_rtexport_route_list_free(l);
    lbnet_rtexport_free(ex);
    lbnet_rtexport_free(NULL);
    lbnet_rtexport_route_list_free(NULL);
}

static int rt_has(const char *ns, const char *table, const char *want) {
    char cmd[256], line[512];
    snprintf(cmd, sizeof cmd, "ip -n %1$s route show table %2$s; ip -n %1$s -6 route show table %2$s 2>/dev/null",
             ns, table);
    FILE *f = popen(cmd, "r");
    if (!f) FAIL("popen %s", cmd);
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, want)) found = 1;
    pclose(f);
    return found;
}

/* Runs a shell command and fails the test when it fails. */
static void sh(const char *fmt, ...) {
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) FAIL("`%s` failed", cmd);
}

/* The working path in a private network namespace (root only): every function with good input,
 * and a reserved protocol refused while an administrator's route stays. */
static void test_rtexport_netns(void) {
    section = "rtexport netns";
    if (geteuid() != 0) {
        printf("ffi_test: not root: route export kernel tests skipped\n");
        return;
    }
    char ns[64], path[128];
    snprintf(ns, sizeof ns, "lbnet-rt-%d", (int)getpid());
    snprintf(path, sizeof path, "/var/run/netns/%s", ns);
    sh("ip netns add %s", ns);
    sh("ip -n %1$s link add veth0 type veth peer name veth1 && ip -n %1$s link set veth0 up && "
       "ip -n %1$s link set veth1 up && ip -n %1$s addr add 10.1.0.1/24 dev veth0 && "
       "ip -n %1$s addr add 2001:db8:1::1/64 dev veth0 nodad && "
       "ip -n %1$s route add 203.0.113.0/24 via 10.1.0.2", ns);

    /* Protocol 3 is what `ip route add` used: refused, the route stays. */
    lbnet_rtexport_rule main_rule = rtexport_rule("main", 254, 20);
    lbnet_rtexport_options o = rtexport_opts();
    o.netns_path = path;
    o.rules = &main_rule;
    o.n_rules = 1;
    o.protocol = 3;
    o.flags |= LBNET_RTEXPORT_DELETE_ALL_AT_START;
    lbnet_rtexport *ex = NULL;
    RC(lbnet_rtexport_open(&o, &ex), -EINVAL);
    CHECK(rt_has(ns, "254", "203.0.113.0/24 via 10.1.0.2"));

    uint32_t comm = 65000u << 16 | 1;
    lbnet_rtexport_rule rules[2] = {rtexport_rule("all", 100, 20), rtexport_rule("c1", 200, 30)};
    rules[1].communities = &comm;
    rules[1].n_communities = 1;
    o = rtexport_opts();
    o.netns_path = path;
    o.rules = rules;
    o.n_rules = 2;
    o.flags = LBNET_RTEXPORT_NO_DAMPENING; /* watching on */
    OK(lbnet_rtexport_open(&o, &ex));
    lbnet_prefix p = prefix("198.51.100.0/24");
    lbnet_addr nh = addr("10.1.0.2");
    OK(lbnet_rtexport_update(ex, &p, &nh, &comm, 1, NULL, 0));
    CHECK(rt_has(ns, "100", "198.51.100.0/24 via 10.1.0.2 dev veth0 proto bgp metric 20"));
    CHECK(rt_has(ns, "200", "metric 30"));
    lbnet_prefix p6 = prefix("2001:db8:5::/48");
    lbnet_addr nh6 = addr("2001:db8:1::2");
    OK(lbnet_rtexport_update(ex, &p6, &nh6, NULL, 0, NULL, 0));
    CHECK(rt_has(ns, "100", "2001:db8:5::/48"));

    lbnet_rtexport_route_list *l = NULL;
    OK(lbnet_rtexport_routes(ex, &l));
    CHECK(l->len == 3);
    char text[LBNET_PREFIX_STRLEN];
    OK(lbnet_prefix_format(&l->routes[0].prefix, text, sizeof text));
    CHECK(strcmp(l->routes[0].rule, "all") == 0);
    CHECK(l->routes[0].gateway.af == l->routes[0].prefix.addr.af && l->routes[0].exported_at > 0);
    CHECK(strcmp(text, "198.51.100.0/24") == 0 || strcmp(text, "2001:db8:5::/48") == 0);
    lbnet_rtexport_route_list_free(l);

    lbnet_rtexport_stats st;
    OK(lbnet_rtexport_get_stats(ex, "c1", &st));
    CHECK(st.exported == 1 && st.last_export_ns > 0);
    char buf[256];
    OK(lbnet_rtexport_last_error(ex, NULL, buf, sizeof buf));
    CHECK(buf[0] == 0);

    /* A batch: a new prefix, the first one withdrawn (next hop of family 0). */
    lbnet_rtexport_change cs[2];
    memset(cs, 0, sizeof cs);
    cs[0].prefix = prefix("198.51.102.0/24");
    cs[0].nexthop = nh;
    cs[1].prefix = p;
    OK(lbnet_rtexport_apply(ex, cs, 2));
    CHECK(rt_has(ns, "100", "198.51.102.0/24") && !rt_has(ns, "100", "198.51.100.0/24"));
    CHECK(!rt_has(ns, "200", "198.51.100.0/24"));
    OK(lbnet_rtexport_withdraw(ex, &cs[0].prefix));
    CHECK(!rt_has(ns, "100", "198.51.102.0/24"));

    /* Reload: metric 50 moves the route; End-of-RIB has nothing from start to remove. */
    rules[0].metric = 50;
    OK(lbnet_rtexport_reload(ex, rules, 1));
    CHECK(rt_has(ns, "100", "2001:db8:5::/48") && rt_has(ns, "100", "metric 50"));
    size_t n = 99;
    OK(lbnet_rtexport_end_of_rib(ex, &n));
    CHECK(n == 0);
    OK(lbnet_rtexport_end_of_rib(ex, NULL));
    OK(lbnet_rtexport_flush(ex, &n));
    CHECK(n == 1);
    OK(lbnet_rtexport_flush(ex, NULL));
    CHECK(!rt_has(ns, "100", "2001:db8"));
    CHECK(rt_has(ns, "254", "203.0.113.0/24 via 10.1.0.2"));
    lbnet_rtexport_free(ex);
    sh("ip netns del %s", ns);
}

/* ---------------------------------------------------------------- part 3: link watch and XDP */

/* A fresh network namespace "<tag>-<pid>"; `path` gets its file. */
static void netns_add(const char *tag, char *name, size_t name_cap, char *path, size_t path_cap) {
    snprintf(name, name_cap, "%s-%d", tag, (int)getpid());
    snprintf(path, path_cap, "/var/run/netns/%s", name);
    sh("ip netns add %s", name);
}

static int linkwatch_open_free(const void *opts) {
    lbnet_linkwatch *w = (lbnet_linkwatch *)1;
    int rc = lbnet_linkwatch_open((const lbnet_linkwatch_options *)opts, &w);
    if ((rc == 0) != (w != NULL)) FAIL("open returned %d with handle %p", rc, (void *)w);
    lbnet_linkwatch_free(w);
    return rc;
}

/* Every link-watch function with NULLs and bad options: -EINVAL (or the namespace's errno). */
static void test_linkwatch_args(void) {
    section = "linkwatch args";
    lbnet_linkwatch *w = (lbnet_linkwatch *)1;
    lbnet_linkwatch_link *links = (lbnet_linkwatch_link *)1;
    size_t n = 7;
    lbnet_linkwatch_event ev;
    lbnet_linkwatch_counters st;

    lbnet_linkwatch_free(NULL);
    lbnet_linkwatch_links_free(NULL, 0);
    lbnet_linkwatch_links_free(NULL, 5);
    RC(lbnet_linkwatch_open(NULL, NULL), -EINVAL);
    RC(lbnet_linkwatch_fd(NULL), -EINVAL);
    RC(lbnet_linkwatch_snapshot(NULL, &links, &n), -EINVAL);
    CHECK(links == (lbnet_linkwatch_link *)1 && n == 7); /* untouched on failure */
    RC(lbnet_linkwatch_next_event(NULL, 0, &ev), -EINVAL);
    RC(lbnet_linkwatch_stats(NULL, &st), -EINVAL);

    lbnet_linkwatch_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.netns_path = "/nonexistent/netns";
    RC(lbnet_linkwatch_open(&o, &w), -ENOENT);
    CHECK(w == NULL);
    CHECK(strstr(lbnet_last_error(), "/nonexistent/netns") != NULL);
    CHECK(lbnet_last_error_kind() == LBNET_ERROR_KIND_NOT_FOUND);
    o.netns_path = "";
    RC(lbnet_linkwatch_open(&o, &w), -EINVAL);
    o.netns_path = "\xff\xfe";
    RC(lbnet_linkwatch_open(&o, &w), -EINVAL);
    o.netns_path = "/proc/self/status"; /* not a namespace: setns(2) says EINVAL */
    RC(lbnet_linkwatch_open(&o, &w), -EINVAL);
    char longpath[LBNET_PATH_MAX + 1];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    o.netns_path = longpath;
    RC(lbnet_linkwatch_open(&o, &w), -EINVAL);
    o.netns_path = NULL;
    o.flags = 0x80000000u;
    RC(lbnet_linkwatch_open(&o, &w), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "flags") != NULL);

    /* Valid options on our own namespace, with and without NULL options. */
    o.flags = LBNET_LINKWATCH_NO_SPEED;
    o.rcvbuf = 1 << 18;
    o.dump_timeout_ms = 5000;
    sz_checks(&o, sizeof o, linkwatch_open_free, 0);
    OK(lbnet_linkwatch_open(NULL, &w));
    CHECK(w != NULL);
    RC(lbnet_linkwatch_snapshot(w, NULL, &n), -EINVAL);
    RC(lbnet_linkwatch_snapshot(w, &links, NULL), -EINVAL);
    RC(lbnet_linkwatch_next_event(w, 0, NULL), -EINVAL);
    RC(lbnet_linkwatch_stats(w, NULL), -EINVAL);
    lbnet_linkwatch_free(w);
}

static int find_link(const lbnet_linkwatch_link *ls, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(ls[i].name, name) == 0) return (int)i;
    return -1;
}

/* Waits for an event of `kind` (and, for CHANGED, with `change` set) on link `name`. */
static lbnet_linkwatch_event wait_event(lbnet_linkwatch *w, uint32_t kind, uint32_t change,
                                        const char *name) {
    lbnet_linkwatch_event ev;
    for (;;) {
        int rc = lbnet_linkwatch_next_event(w, 5000, &ev);
        if (rc != 0) FAIL("waiting for event %u on %s: %d", kind, name, rc);
        if (ev.kind == kind && strcmp(ev.link.name, name) == 0 &&
            (change == 0 || (ev.changes & change) != 0))
            return ev;
    }
}

/* A watcher of a fresh namespace sees exactly its links and every change of a veth pair. */
static void test_linkwatch_netns(void) {
    section = "linkwatch netns";
    char name[64], path[128];
    netns_add("lbnet-ffi-lw", name, sizeof name, path, sizeof path);
    lbnet_linkwatch_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.netns_path = path;
    lbnet_linkwatch *w = NULL;
    OK(lbnet_linkwatch_open(&o, &w));
    int fd = lbnet_linkwatch_fd(w);
    CHECK(fd >= 0);
    CHECK(lbnet_last_error() == NULL);

    lbnet_linkwatch_link *ls = NULL;
    size_t n = 0;
    OK(lbnet_linkwatch_snapshot(w, &ls, &n));
    CHECK(n == 1 && ls != NULL);
    CHECK(strcmp(ls[0].name, "lo") == 0 && ls[0].ifindex == 1 && ls[0].admin_up == 0);
    lbnet_linkwatch_links_free(ls, n);
    lbnet_linkwatch_event ev;
    RC(lbnet_linkwatch_next_event(w, 0, &ev), -ETIMEDOUT);
    CHECK(lbnet_last_error_kind() == LBNET_ERROR_KIND_TIMEOUT);

    sh("ip -n %s link add v0 address 02:00:00:00:00:a0 type veth peer name v1", name);
    ev = wait_event(w, LBNET_LINKWATCH_ADDED, 0, "v0");
    CHECK(strcmp(ev.link.kind, "veth") == 0 && ev.link.mtu == 1500 && ev.link.mac_len == 6);
    CHECK(memcmp(ev.link.mac, "\x02\x00\x00\x00\x00\xa0", 6) == 0);
    uint32_t v0 = ev.link.ifindex;
    sh("ip -n %s link set v0 mtu 1400 alias uplink", name);
    ev = wait_event(w, LBNET_LINKWATCH_CHANGED, LBNET_LINKWATCH_CHANGE_MTU, "v0");
    CHECK(ev.old.mtu == 1500 && ev.link.mtu == 1400 && ev.link.ifindex == v0);
    CHECK((ev.changes & LBNET_LINKWATCH_CHANGE_NAME) == 0);
    sh("ip -n %s link set v0 name v9", name);
    ev = wait_event(w, LBNET_LINKWATCH_CHANGED, LBNET_LINKWATCH_CHANGE_NAME, "v9");
    CHECK(strcmp(ev.old.name, "v0") == 0 && ev.link.ifindex == v0);

    OK(lbnet_linkwatch_snapshot(w, &ls, &n));
    CHECK(n == 3);
    int i = find_link(ls, n, "v9");
    CHECK(i >= 0 && ls[i].mtu == 1400 && strcmp(ls[i].alias, "uplink") == 0);
    CHECK(find_link(ls, n, "v1") >= 0 && find_link(ls, n, "v0") < 0);
    for (size_t k = 1; k < n; k++) CHECK(ls[k - 1].ifindex < ls[k].ifindex);
    lbnet_linkwatch_links_free(ls, n);

    sh("ip -n %s link del v9", name);
    wait_event(w, LBNET_LINKWATCH_REMOVED, 0, "v9");
    lbnet_linkwatch_counters st;
    OK(lbnet_linkwatch_stats(w, &st));
    CHECK(st.events >= 4 && st.messages >= st.events && st.rcvbuf > 0 && st.malformed == 0);
    lbnet_linkwatch_free(w);
    sh("ip netns del %s", name);
}

static int addrwatch_open_free(const void *opts) {
    lbnet_addrwatch *w = (lbnet_addrwatch *)1;
    int rc = lbnet_addrwatch_open((const lbnet_linkwatch_options *)opts, &w);
    if ((rc == 0) != (w != NULL)) FAIL("open returned %d with handle %p", rc, (void *)w);
    lbnet_addrwatch_free(w);
    return rc;
}

/* The address watcher: NULLs and bad options refused; in a fresh namespace an IPv4 and an
 * IPv6 address added, one removed by `ip addr del`, the other by deleting the link. */
static void test_addrwatch(void) {
    section = "addrwatch args";
    lbnet_addrwatch *w = (lbnet_addrwatch *)1;
    lbnet_addrwatch_addr *as = (lbnet_addrwatch_addr *)1;
    size_t n = 7;
    lbnet_addrwatch_event ev;
    lbnet_linkwatch_counters st;
    lbnet_addrwatch_free(NULL);
    lbnet_addrwatch_addrs_free(NULL, 0);
    lbnet_addrwatch_addrs_free(NULL, 5);
    RC(lbnet_addrwatch_open(NULL, NULL), -EINVAL);
    RC(lbnet_addrwatch_fd(NULL), -EINVAL);
    RC(lbnet_addrwatch_snapshot(NULL, &as, &n), -EINVAL);
    CHECK(as == (lbnet_addrwatch_addr *)1 && n == 7); /* untouched on failure */
    RC(lbnet_addrwatch_next_event(NULL, 0, &ev), -EINVAL);
    RC(lbnet_addrwatch_stats(NULL, &st), -EINVAL);
    lbnet_linkwatch_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.netns_path = "/nonexistent/netns";
    RC(lbnet_addrwatch_open(&o, &w), -ENOENT);
    CHECK(w == NULL);
    o.netns_path = NULL;
    o.flags = 0x80000000u;
    RC(lbnet_addrwatch_open(&o, &w), -EINVAL);
    o.flags = 0;
    sz_checks(&o, sizeof o, addrwatch_open_free, 0);

    section = "addrwatch netns";
    char name[64], path[128];
    netns_add("lbnet-ffi-aw", name, sizeof name, path, sizeof path);
    o.netns_path = path;
    OK(lbnet_addrwatch_open(&o, &w));
    CHECK(lbnet_addrwatch_fd(w) >= 0);
    RC(lbnet_addrwatch_snapshot(w, NULL, &n), -EINVAL);
    RC(lbnet_addrwatch_next_event(w, 0, NULL), -EINVAL);
    RC(lbnet_addrwatch_stats(w, NULL), -EINVAL);
    OK(lbnet_addrwatch_snapshot(w, &as, &n));
    CHECK(n == 0 && as == NULL); /* lo is down: no address */
    RC(lbnet_addrwatch_next_event(w, 0, &ev), -ETIMEDOUT);
    sh("ip -n %s link add a0 type veth peer name a1", name);
    sh("ip -n %s addr add 192.0.2.7/24 dev a0", name);
    OK(lbnet_addrwatch_next_event(w, 5000, &ev));
    lbnet_addr want4 = addr("192.0.2.7");
    CHECK(ev.kind == LBNET_ADDRWATCH_ADDED && ev.addr.prefix_len == 24);
    CHECK(ev.addr.addr.af == AF_INET && memcmp(ev.addr.addr.addr, want4.addr, 4) == 0);
    uint32_t a0 = ev.addr.ifindex;
    sh("ip -n %s addr add 2001:db8:7::1/64 dev a0 nodad", name);
    OK(lbnet_addrwatch_next_event(w, 5000, &ev));
    CHECK(ev.kind == LBNET_ADDRWATCH_ADDED && ev.addr.addr.af == AF_INET6 && ev.addr.prefix_len == 64);
    OK(lbnet_addrwatch_snapshot(w, &as, &n));
    CHECK(n == 2 && as[0].ifindex == a0 && as[1].ifindex == a0);
    lbnet_addrwatch_addrs_free(as, n);
    sh("ip -n %s addr del 192.0.2.7/24 dev a0", name);
    OK(lbnet_addrwatch_next_event(w, 5000, &ev));
    CHECK(ev.kind == LBNET_ADDRWATCH_REMOVED && ev.addr.addr.af == AF_INET);
    sh("ip -n %s link del a0", name);
    OK(lbnet_addrwatch_next_event(w, 5000, &ev));
    CHECK(ev.kind == LBNET_ADDRWATCH_REMOVED && ev.addr.addr.af == AF_INET6);
    OK(lbnet_addrwatch_stats(w, &st));
    CHECK(st.events == 4 && st.malformed == 0 && st.rcvbuf > 0);
    lbnet_addrwatch_free(w);
    sh("ip netns del %s", name);
}

static int xdp_open_free(const void *opts) {
    lbnet_xdp *lb = (lbnet_xdp *)1;
    int rc = lbnet_xdp_open((const lbnet_xdp_options *)opts, &lb);
    if ((rc == 0) != (lb != NULL)) FAIL("open returned %d with handle %p", rc, (void *)lb);
    lbnet_xdp_free(lb);
    return rc;
}

static lbnet_xdp_vip xdp_vip(const char *ip, uint16_t port, uint8_t proto) {
    lbnet_xdp_vip v;
    memset(&v, 0, sizeof v);
    v.addr = addr(ip);
    v.port = port;
    v.proto = proto;
    return v;
}

static lbnet_xdp_backend xdp_backend(const char *ip, uint32_t weight) {
    lbnet_xdp_backend b;
    memset(&b, 0, sizeof b);
    b.addr = addr(ip);
    b.weight = weight;
    return b;
}

/* Every XDP function with NULLs, bad options and huge counts: refused before anything is read
 * or allocated. `lb` is a loaded handle. */
static void test_xdp_args(lbnet_xdp *lb) {
    section = "xdp args";
    lbnet_xdp *x = (lbnet_xdp *)1;
    lbnet_xdp_vip v = xdp_vip("198.18.0.1", 80, IPPROTO_TCP), vs[2];
    lbnet_xdp_backend b = xdp_backend("10.0.0.1", 1), bs[2];
    lbnet_xdp_vip_counters st;
    lbnet_addr a = addr("10.0.0.1");
    uint64_t cs[32];
    size_t n = 0;
    const char *name = NULL;

    lbnet_xdp_free(NULL);
    RC(lbnet_xdp_open(NULL, NULL), -EINVAL);
    RC(lbnet_xdp_attach(NULL, NULL, "lo", 0), -EINVAL);
    RC(lbnet_xdp_attach(lb, NULL, NULL, 0), -EINVAL);
    RC(lbnet_xdp_attach(lb, NULL, "a-name-longer-than-15", 0), -EINVAL);
    RC(lbnet_xdp_attach(lb, NULL, "lo", 0x10), -EINVAL);
    RC(lbnet_xdp_attach(lb, NULL, "nonexistent0", 0), -ENODEV);
    RC(lbnet_xdp_attach(lb, "/nonexistent/netns", "lo", 0), -ENOENT);
    RC(lbnet_xdp_pin(NULL, "/sys/fs/bpf/x"), -EINVAL);
    RC(lbnet_xdp_pin(lb, NULL), -EINVAL);
    RC(lbnet_xdp_pin(lb, ""), -EINVAL);
    RC(lbnet_xdp_detach(NULL), -EINVAL);
    RC(lbnet_xdp_set_config(NULL, NULL, NULL, NULL), -EINVAL);
    RC(lbnet_xdp_set_config(lb, &a, &a, NULL), -EINVAL); /* src6 is IPv4 */
    lbnet_addr a6 = addr("2001:db8::1");
    RC(lbnet_xdp_set_config(lb, &a6, NULL, NULL), -EINVAL); /* src4 is IPv6 */
    lbnet_addr bad = a;
    bad.af = AF_UNIX;
    RC(lbnet_xdp_set_config(lb, &bad, NULL, NULL), -EINVAL);
    RC(lbnet_xdp_add_vip(NULL, &v), -EINVAL);
    RC(lbnet_xdp_add_vip(lb, NULL), -EINVAL);
    RC(lbnet_xdp_remove_vip(NULL, &v), -EINVAL);
    RC(lbnet_xdp_remove_vip(lb, NULL), -EINVAL);
    lbnet_xdp_vip bv = v;
    bv.proto = IPPROTO_ICMP;
    RC(lbnet_xdp_add_vip(lb, &bv), -EINVAL);
    bv = v;
    bv.addr.af = 0;
    RC(lbnet_xdp_add_vip(lb, &bv), -EINVAL);
    RC(lbnet_xdp_set_backends(NULL, &v, &b, 1), -EINVAL);
    RC(lbnet_xdp_set_backends(lb, NULL, &b, 1), -EINVAL);
    RC(lbnet_xdp_set_backends(lb, &v, NULL, 1), -EINVAL);
    /* Huge counts with a one-entry array: refused before the array is read. */
    RC(lbnet_xdp_set_backends(lb, &v, &b, (size_t)INT32_MAX), -EINVAL);
    RC(lbnet_xdp_set_backends(lb, &v, &b, (size_t)1 << 40), -EINVAL);
    RC(lbnet_xdp_set_backends(lb, &v, &b, SIZE_MAX), -EINVAL);
    RC(lbnet_xdp_set_backends(lb, &v, &b, LBNET_XDP_MAX_BACKENDS_PER_VIP + 1), -EINVAL);
    RC(lbnet_xdp_set_new_flow_limit(NULL, 5), -EINVAL);
    RC(lbnet_xdp_set_new_flow_limit(NULL, LBNET_XDP_NEW_FLOW_UNLIMITED), -EINVAL);
    RC(lbnet_xdp_set_weight(NULL, &v, &a, 1), -EINVAL);
    RC(lbnet_xdp_set_weight(lb, NULL, &a, 1), -EINVAL);
    RC(lbnet_xdp_set_weight(lb, &v, NULL, 1), -EINVAL);
    RC(lbnet_xdp_list_vips(NULL, vs, 2, &n), -EINVAL);
    RC(lbnet_xdp_list_vips(lb, vs, 2, NULL), -EINVAL);
    RC(lbnet_xdp_list_backends(NULL, &v, bs, 2, &n), -EINVAL);
    RC(lbnet_xdp_list_backends(lb, NULL, bs, 2, &n), -EINVAL);
    RC(lbnet_xdp_list_backends(lb, &v, bs, 2, NULL), -EINVAL);
    lbnet_xdp_backend_counters bcs[2];
    RC(lbnet_xdp_backend_stats(NULL, &v, bcs, 2, &n), -EINVAL);
    RC(lbnet_xdp_backend_stats(lb, NULL, bcs, 2, &n), -EINVAL);
    RC(lbnet_xdp_backend_stats(lb, &v, bcs, 2, NULL), -EINVAL);
    RC(lbnet_xdp_vip_stats(NULL, &v, &st), -EINVAL);
    RC(lbnet_xdp_vip_stats(lb, NULL, &st), -EINVAL);
    RC(lbnet_xdp_vip_stats(lb, &v, NULL), -EINVAL);
    RC(lbnet_xdp_counters(NULL, cs, 32), -EINVAL);
    RC(lbnet_xdp_counters(lb, NULL, 32), -EINVAL);
    RC(lbnet_xdp_counter_name(0, NULL), -EINVAL);
    size_t count = lbnet_xdp_counter_count();
    CHECK(count == 17);
    RC(lbnet_xdp_counter_name(count, &name), -ERANGE);
    RC(lbnet_xdp_counter_name(SIZE_MAX, &name), -ERANGE);
    OK(lbnet_xdp_counter_name(0, &name));
    CHECK(strcmp(name, "rx") == 0);
    OK(lbnet_xdp_counter_name(count - 1, &name));
    CHECK(strcmp(name, "flood_skip") == 0);

    /* Options. */
    lbnet_xdp_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.pin_dir = "/sys/fs/bpf/lbnet-ffi-test-none/x";
    RC(lbnet_xdp_open(&o, &x), -ENOENT);
    CHECK(x == NULL);
    CHECK(lbnet_last_error_kind() == LBNET_ERROR_KIND_NOT_FOUND);
    o.max_vips = 4; /* capacities belong to the pinned maps */
    x = (lbnet_xdp *)1;
    RC(lbnet_xdp_open(&o, &x), -EINVAL);
    CHECK(x == NULL);
    o.max_vips = 0;
    o.pin_dir = "";
    RC(lbnet_xdp_open(&o, &x), -EINVAL);
    o.pin_dir = "\xff";
    RC(lbnet_xdp_open(&o, &x), -EINVAL);
    o.pin_dir = NULL;
    o.max_vips = 65536; /* the VIP number is 16 bits */
    RC(lbnet_xdp_open(&o, &x), -ERANGE);
    o.max_vips = UINT32_MAX;
    RC(lbnet_xdp_open(&o, &x), -ERANGE);
    o.max_vips = 1;
    o.max_backends = 1; /* slot 0 is reserved */
    RC(lbnet_xdp_open(&o, &x), -EINVAL);
    /* Capacities the kernel cannot allocate: refused by the kernel, not by an abort here. */
    o.max_backends = UINT32_MAX;
    int rc = lbnet_xdp_open(&o, &x);
    CHECK(rc < 0 && x == NULL);
    o.max_backends = 4;
    o.conn_table_size = INT32_MAX;
    rc = lbnet_xdp_open(&o, &x);
    CHECK(rc < 0 && x == NULL);
    o.conn_table_size = 16;
    sz_checks(&o, sizeof o, xdp_open_free, 0);
}

/* The handle's VIPs, backends, weights and counters, then attach to a veth in a namespace, pin,
 * adopt the pinned data plane from a second handle and detach through it. */
static void test_xdp_kernel(lbnet_xdp *lb) {
    section = "xdp";
    lbnet_addr s4 = addr("10.99.0.1"), s6 = addr("2001:db8:99::1");
    const uint8_t mac[6] = {2, 0, 0, 0, 0x0b, 1};
    OK(lbnet_xdp_set_config(lb, &s4, &s6, mac));
    OK(lbnet_xdp_set_config(lb, NULL, NULL, NULL));
    OK(lbnet_xdp_set_config(lb, &s4, NULL, NULL));
    OK(lbnet_xdp_set_new_flow_limit(lb, 5));
    OK(lbnet_xdp_set_new_flow_limit(lb, LBNET_XDP_NEW_FLOW_UNLIMITED));
    OK(lbnet_xdp_set_new_flow_limit(lb, 0)); /* back to LBNET_XDP_NEW_FLOW_LIMIT_DEFAULT */
    CHECK(LBNET_XDP_NEW_FLOW_LIMIT_DEFAULT == 125000);
    lbnet_xdp_vip v = xdp_vip("198.18.0.10", 80, IPPROTO_TCP);
    lbnet_xdp_vip v6 = xdp_vip("2001:db8::10", 53, IPPROTO_UDP);
    OK(lbnet_xdp_add_vip(lb, &v));
    RC(lbnet_xdp_add_vip(lb, &v), -EEXIST);
    CHECK(lbnet_last_error_kind() == LBNET_ERROR_KIND_EXISTS);
    OK(lbnet_xdp_add_vip(lb, &v6));
    lbnet_xdp_vip v3 = xdp_vip("198.18.0.11", 80, IPPROTO_TCP);
    RC(lbnet_xdp_add_vip(lb, &v3), -ENOSPC); /* the handle has 2 VIP slots */

    lbnet_xdp_backend bs[3] = {xdp_backend("10.0.1.1", 1), xdp_backend("10.0.1.2", 3),
                               xdp_backend("2001:db8:1::1", 0)};
    OK(lbnet_xdp_set_backends(lb, &v, bs, 3));
    RC(lbnet_xdp_set_backends(lb, &v3, bs, 3), -ENOENT);
    lbnet_xdp_backend twice[2] = {bs[0], bs[0]};
    RC(lbnet_xdp_set_backends(lb, &v, twice, 2), -EINVAL);
    lbnet_xdp_backend badb[2] = {bs[0], bs[1]};
    badb[1].addr.af = 99; /* element 1 bad: nothing changes */
    RC(lbnet_xdp_set_backends(lb, &v, badb, 2), -EINVAL);
    CHECK(strstr(lbnet_last_error(), "backends[1]") != NULL);

    size_t n = 99;
    RC(lbnet_xdp_list_vips(lb, NULL, 0, &n), -ERANGE);
    CHECK(n == 2 && lbnet_last_error_kind() == LBNET_ERROR_KIND_OUT_OF_RANGE);
    lbnet_xdp_vip vs[4];
    RC(lbnet_xdp_list_vips(lb, vs, 1, &n), -ERANGE);
    RC(lbnet_xdp_list_vips(lb, NULL, 4, &n), -EINVAL);
    OK(lbnet_xdp_list_vips(lb, vs, 4, &n));
    CHECK(n == 2);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (vs[i].addr.af == AF_INET && vs[i].port == 80 && vs[i].proto == IPPROTO_TCP &&
            memcmp(vs[i].addr.addr, v.addr.addr, 4) == 0)
            seen |= 1;
        if (vs[i].addr.af == AF_INET6 && vs[i].port == 53 && vs[i].proto == IPPROTO_UDP &&
            memcmp(vs[i].addr.addr, v6.addr.addr, 16) == 0)
            seen |= 2;
    }
    CHECK(seen == 3);

    lbnet_xdp_backend out[4];
    OK(lbnet_xdp_list_backends(lb, &v, out, 4, &n));
    CHECK(n == 3);
    /* Sorted by address: 10.0.1.1, 10.0.1.2, then the IPv6 one (drained: no slots). */
    CHECK(out[0].weight == 1 && out[1].weight == 3 && out[2].addr.af == AF_INET6);
    CHECK(out[0].slots + out[1].slots == 65537 && out[2].slots == 0);
    CHECK(out[1].slots > 2 * out[0].slots);
    OK(lbnet_xdp_list_backends(lb, &v6, out, 4, &n));
    CHECK(n == 0);
    RC(lbnet_xdp_list_backends(lb, &v3, out, 4, &n), -ENOENT);

    OK(lbnet_xdp_set_weight(lb, &v, &bs[1].addr, 0)); /* drain */
    OK(lbnet_xdp_list_backends(lb, &v, out, 4, &n));
    CHECK(out[0].slots == 65537 && out[1].slots == 0 && out[1].weight == 0);
    lbnet_addr missing = addr("10.0.1.9");
    RC(lbnet_xdp_set_weight(lb, &v, &missing, 1), -ENOENT);
    RC(lbnet_xdp_set_weight(lb, &v3, &bs[0].addr, 1), -ENOENT);
    OK(lbnet_xdp_set_backends(lb, &v6, NULL, 0));

    lbnet_xdp_vip_counters st;
    memset(&st, 0xff, sizeof st);
    OK(lbnet_xdp_vip_stats(lb, &v, &st));
    CHECK(st.packets == 0 && st.bytes == 0 && st.drops == 0);
    /* Per-backend counters: in list_backends' order, zero before any traffic. */
    lbnet_xdp_backend_counters bc[4];
    memset(bc, 0xff, sizeof bc);
    RC(lbnet_xdp_backend_stats(lb, &v, bc, 2, &n), -ERANGE);
    CHECK(n == 3);
    RC(lbnet_xdp_backend_stats(lb, &v, NULL, 3, &n), -EINVAL);
    OK(lbnet_xdp_backend_stats(lb, &v, bc, 4, &n));
    CHECK(n == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(memcmp(&bc[i].addr, &out[i].addr, sizeof bc[i].addr) == 0 && bc[i].packets == 0 &&
              bc[i].bytes == 0);
    OK(lbnet_xdp_backend_stats(lb, &v6, bc, 4, &n));
    CHECK(n == 0);
    RC(lbnet_xdp_backend_stats(lb, &v3, bc, 4, &n), -ENOENT);
    RC(lbnet_xdp_vip_stats(lb, &v3, &st), -ENOENT);
    uint64_t cs[17];
    RC(lbnet_xdp_counters(lb, cs, 16), -ERANGE);
    OK(lbnet_xdp_counters(lb, cs, 17));
    CHECK(cs[0] == 0);
    /* A huge capacity is only a bound: 17 values are written. */
    uint64_t big[18];
    memset(big, 0xab, sizeof big);
    OK(lbnet_xdp_counters(lb, big, (size_t)1 << 40));
    CHECK(big[16] == 0 && big[17] == 0xababababababababull);

    /* Attach to a veth in a fresh namespace, pin, adopt, detach. */
    char name[64], path[128], pin[160], pinparent[64];
    netns_add("lbnet-ffi-xdp", name, sizeof name, path, sizeof path);
    snprintf(pinparent, sizeof pinparent, "/sys/fs/bpf/lbnet-ffi-test-%d", (int)getpid());
    snprintf(pin, sizeof pin, "%s/x0", pinparent);
    sh("ip -n %s link add x0 type veth peer name x1 && ip -n %s link set x0 up && "
       "ip -n %s link set x1 up", name, name, name);
    RC(lbnet_xdp_attach(lb, path, "nope0", 0), -ENODEV);
    OK(lbnet_xdp_attach(lb, path, "x0", 0));
    RC(lbnet_xdp_attach(lb, path, "x0", 0), -EEXIST);
    sh("ip -n %s link show x0 | grep -q xdp", name);
    OK(lbnet_xdp_pin(lb, pin));
    lbnet_xdp_free(lb); /* pinned: the data plane stays */
    sh("ip -n %s link show x0 | grep -q xdp", name);

    lbnet_xdp_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.pin_dir = pin;
    lbnet_xdp *ad = NULL;
    OK(lbnet_xdp_open(&o, &ad));
    OK(lbnet_xdp_list_vips(ad, vs, 4, &n));
    CHECK(n == 2);
    OK(lbnet_xdp_list_backends(ad, &v, out, 4, &n));
    CHECK(n == 3 && out[0].slots == 65537 && out[1].weight == 0);
    /* An adopted handle has no program of its own: it cannot attach elsewhere. */
    int rc = lbnet_xdp_attach(ad, path, "x1", 0);
    CHECK(rc == -EEXIST || rc == -EOPNOTSUPP);
    OK(lbnet_xdp_detach(ad));
    OK(lbnet_xdp_detach(ad)); /* nothing left: still 0 */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ip -n %s link show x0 | grep -q prog/xdp", name);
    CHECK(system(cmd) != 0); /* detached */
    CHECK(access(pin, F_OK) != 0);
    lbnet_xdp_free(ad);
    rmdir(pinparent);
    sh("ip netns del %s", name);
}

static void test_linkwatch_and_xdp(void) {
    test_linkwatch_args();
    test_linkwatch_netns();
    test_addrwatch();
    section = "xdp open";
    lbnet_xdp_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.max_vips = 2;
    o.max_backends = 16;
    o.conn_table_size = 1024;
    lbnet_xdp *lb = NULL;
    OK(lbnet_xdp_open(&o, &lb)); /* needs root (CAP_BPF, CAP_NET_ADMIN) */
    test_xdp_args(lb);
    test_xdp_kernel(lb); /* frees lb */
    section = "xdp default options";
    OK(lbnet_xdp_open(NULL, &lb));
    size_t n = 1;
    OK(lbnet_xdp_list_vips(lb, NULL, 0, &n));
    CHECK(n == 0);
    lbnet_xdp_free(lb);
    printf("ffi_test: link watch (netns, veth), address watch and XDP (load, attach, pin, adopt, detach) passed\n");
}

int main(void) {
    test_version_and_errors();
    test_addr();
    test_frees_accept_null();
    test_handle_options();
    test_batch_building();
    test_rtexport_args();
    test_rtexport_netns();

    lbnet_ipvs *h = NULL;
    section = "handle";
    OK(lbnet_ipvs_open(NULL, &h));
    test_argument_checks(h);

    section = "probe";
    lbnet_ipvs_info info;
    int rc = lbnet_ipvs_get_info(h, &info);
    const char *req = getenv("LBNET_REQUIRE_KERNEL");
    int require = req && strcmp(req, "1") == 0;
    if (rc != 0) {
        if (require) FAIL("IPVS is required (LBNET_REQUIRE_KERNEL=1) but get_info returned %d", rc);
        printf("ffi_test: IPVS not available here (%s): checking the error path only\n", last());
        test_ipvs_missing(h, rc);
        /* It must be the documented "not available" errno, not something accidental. */
        CHECK(rc == -ENOENT); /* genetlink: no family "IPVS" */
    } else {
        printf("ffi_test: IPVS %u.%u.%u, connection table %u: running the kernel tests\n",
               info.version >> 16, (info.version >> 8) & 0xff, info.version & 0xff,
               info.conn_tab_size);
        test_services(h);
        test_dests(h);
        test_info_timeouts(h);
        test_daemons(h);
        test_batch_apply(h);
        test_netns(h);
    }
    lbnet_ipvs_free(h);
    test_linkwatch_and_xdp();
    printf("ffi_test: %d checks passed (%s)\n", checks, rc == 0 ? "kernel IPVS" : "no IPVS");
    return 0;
}
