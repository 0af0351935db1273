/*
 * fuzz_ffi.c: a libFuzzer target that drives lbnet's C ABI with arbitrary bytes: strings
 * (addresses, netns paths, interface names), whole structs (service, destination, daemon, timeouts, address,
 * lbnet_ipvs_options with any sz) copied from the input, list frees, batches with random
 * changes, indexes and counts far beyond LBNET_IPVS_BATCH_MAX, and the route export engine
 * (lbnet_rtexport_*): options with random sz, flags and protocol, rules, updates and batches of
 * changes with random prefixes, next hops and counts (truthful, or above the library's bounds,
 * which it must refuse before reading); link watch and XDP: options with random sz, paths,
 * flags, VIPs and backends on a watcher and a small XDP load balancer of the fuzzer's namespace.
 *
 * Invariants checked on every call: the return value is 0 or a negative errno, a failure sets
 * lbnet_last_error(), and no Rust panic reaches the boundary (that would show as -EIO with a
 * "panic caught" message, and is reported as a crash). AddressSanitizer watches the memory.
 *
 * Nothing reaches a real IPVS table: the fuzzer moves itself into a fresh, empty network
 * namespace first (unshare(CLONE_NEWNET), needs root). Only the harness is instrumented for
 * coverage (the Rust library is not), so this is mostly a robustness test of the argument
 * checks. Build and run: make fuzz-ffi [FUZZ_SECONDS=60].
 */
#define _GNU_SOURCE
#include <ipvs_ffi.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static lbnet_ipvs *handle;
static lbnet_rtexport *exporter;
static lbnet_linkwatch *watcher; /* of the fuzzer's empty namespace */
static lbnet_xdp *xdp;           /* a loaded, small XDP load balancer */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (unshare(CLONE_NEWNET) != 0) {
        perror("fuzz_ffi: unshare(CLONE_NEWNET) (run as root)");
        exit(1);
    }
    if (lbnet_ipvs_open(NULL, &handle) != 0) {
        fprintf(stderr, "fuzz_ffi: handle: %s\n", lbnet_last_error());
        exit(1);
    }
    /* An engine in the fuzzer's own empty namespace, exporting into tables 100 and 200. */
    lbnet_rtexport_rule rules[2];
    memset(rules, 0, sizeof rules);
    rules[0].name = "all";
    rules[0].table = 100;
    rules[1].name = "checked";
    rules[1].table = 200;
    rules[1].validate_nexthop = 1;
    lbnet_rtexport_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.rules = rules;
    o.n_rules = 2;
    if (lbnet_rtexport_open(&o, &exporter) != 0) {
        fprintf(stderr, "fuzz_ffi: route exporter: %s\n", lbnet_last_error());
        exit(1);
    }
    if (lbnet_linkwatch_open(NULL, &watcher) != 0) {
        fprintf(stderr, "fuzz_ffi: link watcher: %s\n", lbnet_last_error());
        exit(1);
    }
    lbnet_xdp_options xo;
    memset(&xo, 0, sizeof xo);
    xo.sz = sizeof xo;
    xo.max_vips = 2;
    xo.max_backends = 8;
    xo.conn_table_size = 64;
    if (lbnet_xdp_open(&xo, &xdp) != 0) {
        fprintf(stderr, "fuzz_ffi: XDP: %s\n", lbnet_last_error());
        exit(1);
    }
    return 0;
}

struct input {
    const unsigned char *p;
    size_t n;
};

static unsigned char byte(struct input *in) {
    if (in->n == 0) return 0;
    unsigned char b = *in->p;
    in->p++;
    in->n--;
    return b;
}

/* Fills `dst` with the next `len` input bytes (zeros once the input runs out). */
static void take(struct input *in, void *dst, size_t len) {
    size_t k = len < in->n ? len : in->n;
    memset(dst, 0, len);
    memcpy(dst, in->p, k);
    in->p += k;
    in->n -= k;
}

/* A NUL-terminated string of the next (byte) bytes, possibly with embedded NULs. */
static char *str(struct input *in) {
    size_t len = byte(in);
    char *s = malloc(len + 1);
    take(in, s, len);
    s[len] = 0;
    return s;
}

static void check(int rc, const char *what) {
    if (rc > 0) {
        fprintf(stderr, "fuzz_ffi: %s returned positive %d\n", what, rc);
        abort();
    }
    if (rc < 0) {
        const char *m = lbnet_last_error();
        if (m == NULL) {
            fprintf(stderr, "fuzz_ffi: %s failed (%d) without a message\n", what, rc);
            abort();
        }
        if (rc == -EIO && strstr(m, "panic") != NULL) {
            fprintf(stderr, "fuzz_ffi: %s panicked: %s\n", what, m);
            abort();
        }
    }
}

#define CALL(x) check((x), #x)

static size_t batch_len(const lbnet_ipvs_batch *b) {
    size_t n = 0;
    if (lbnet_ipvs_batch_len(b, &n) != 0) {
        fprintf(stderr, "fuzz_ffi: lbnet_ipvs_batch_len: %s\n", lbnet_last_error());
        abort();
    }
    return n;
}

/* A count for an array of `have` elements: mostly a truthful one, sometimes one far above the
 * library's bounds (refused before anything is read). */
static size_t count(struct input *in, size_t have) {
    static const size_t huge[] = {(size_t)INT32_MAX, (size_t)1 << 40, SIZE_MAX, ((size_t)1 << 24) + 1,
                                  (size_t)1 << 30};
    unsigned char b = byte(in);
    if (b >= 251) return huge[b - 251];
    return have == 0 ? 0 : b % (have + 1);
}

static uint32_t comms[4];
static lbnet_rtexport_large_community larges[4];

/* Up to 3 rules from the input; names and VRF names are malloc'ed into `strs` (6 slots). */
static size_t fuzz_rules(struct input *in, lbnet_rtexport_rule *r, char **strs) {
    size_t n = byte(in) % 4;
    for (size_t i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        strs[2 * i] = str(in);
        r[i].name = strs[2 * i];
        if (byte(in) & 1) {
            strs[2 * i + 1] = str(in);
            r[i].vrf = strs[2 * i + 1];
        }
        take(in, &r[i].table, sizeof r[i].table);
        take(in, &r[i].metric, sizeof r[i].metric);
        r[i].validate_nexthop = byte(in) & 1;
        r[i].communities = comms;
        r[i].n_communities = count(in, 4);
        r[i].large_communities = larges;
        r[i].n_large_communities = count(in, 4);
    }
    return n;
}

static void free_strs(char **strs) {
    for (size_t i = 0; i < 6; i++) free(strs[i]);
}

/* "/nonexistent/" followed by an input string: a path the library checks (length, UTF-8, NULs)
 * and tries to open, that can never reach a real namespace or pin of the machine. */
static char *nonexistent_path(struct input *in) {
    char *tail = str(in);
    size_t len = strlen(tail);
    char *p = malloc(len + 14);
    memcpy(p, "/nonexistent/", 13);
    memcpy(p + 13, tail, len + 1);
    free(tail);
    return p;
}

/* Options of `size` bytes copied from the input into a zeroed buffer of size + 16 bytes, with
 * `sz` anywhere from size - 4 to size + 11 and, sometimes, one non-zero byte past the struct:
 * the library must refuse what its sz rules refuse and never read past sz. `fix` sets the
 * pointer fields the input must not choose. The caller frees the buffer. */
static void *fuzz_opts(struct input *in, size_t size) {
    unsigned char *o = calloc(1, size + 16);
    take(in, o, size);
    size_t sz = size - 4 + byte(in) % 16;
    memcpy(o, &sz, sizeof sz);
    if (byte(in) & 1) o[size + byte(in) % 16] = byte(in);
    return o;
}

/* Link watch: options (namespace paths, flags, sizes), then the calls on a watcher of the
 * fuzzer's empty namespace. */
static void fuzz_linkwatch(struct input *in) {
    lbnet_linkwatch_event ev;
    lbnet_linkwatch_counters st;
    switch (byte(in) % 4) {
    case 0: {
        lbnet_linkwatch_options *o = fuzz_opts(in, sizeof *o);
        char *path = str(in);
        o->netns_path = (byte(in) & 1) ? path : NULL;
        lbnet_linkwatch *w = NULL;
        CALL(lbnet_linkwatch_open(byte(in) & 1 ? o : NULL, &w));
        lbnet_linkwatch_free(w);
        free(path);
        free(o);
        break;
    }
    case 1: {
        lbnet_linkwatch_link *ls = NULL;
        size_t n = 0;
        CALL(lbnet_linkwatch_snapshot(watcher, &ls, &n));
        lbnet_linkwatch_links_free(ls, n);
        break;
    }
    case 2: {
        int rc = lbnet_linkwatch_next_event(watcher, 0, &ev);
        if (rc != -ETIMEDOUT) CALL(rc);
        CALL(lbnet_linkwatch_stats(watcher, &st));
        if (lbnet_linkwatch_fd(watcher) < 0) abort();
        break;
    }
    default:
        CALL(lbnet_linkwatch_open(NULL, NULL));
        CALL(lbnet_linkwatch_snapshot(NULL, NULL, NULL));
        CALL(lbnet_linkwatch_next_event(NULL, 0, NULL));
        CALL(lbnet_linkwatch_stats(watcher, NULL));
        CALL(lbnet_linkwatch_fd(NULL));
        lbnet_linkwatch_free(NULL);
        lbnet_linkwatch_links_free(NULL, byte(in));
        break;
    }
}

/* XDP: options (small capacities: each load verifies the program and creates its maps), and
 * random VIPs, backends, addresses, counts and names on one loaded handle. */
static void fuzz_xdp(struct input *in) {
    lbnet_xdp_vip v;
    lbnet_xdp_backend bs[4];
    lbnet_addr a, a6;
    lbnet_xdp_vip vs[4];
    lbnet_xdp_vip_counters st;
    uint64_t cs[17];
    lbnet_xdp_backend_counters bc[4];
    size_t n;
    unsigned char mac[6];
    switch (byte(in) % 10) {
    case 0: {
        lbnet_xdp_options *o = fuzz_opts(in, sizeof *o);
        char *dir = nonexistent_path(in);
        o->pin_dir = (byte(in) & 1) ? dir : NULL;
        o->max_vips %= 4;
        o->max_backends %= 64;
        o->conn_table_size %= 4096;
        lbnet_xdp *x = NULL;
        CALL(lbnet_xdp_open(o, &x));
        lbnet_xdp_free(x);
        free(dir);
        free(o);
        break;
    }
    case 1:
        take(in, &v, sizeof v);
        CALL(lbnet_xdp_add_vip(xdp, &v));
        CALL(lbnet_xdp_vip_stats(xdp, &v, &st));
        if (byte(in) & 1) CALL(lbnet_xdp_remove_vip(xdp, &v));
        break;
    case 2:
        take(in, &v, sizeof v);
        n = byte(in) % 5;
        take(in, bs, n * sizeof bs[0]);
        CALL(lbnet_xdp_set_backends(xdp, &v, bs, n));
        break;
    case 3:
        take(in, &v, sizeof v);
        take(in, &a, sizeof a);
        CALL(lbnet_xdp_set_weight(xdp, &v, &a, byte(in)));
        break;
    case 4:
        CALL(lbnet_xdp_list_vips(xdp, vs, byte(in) % 5, &n));
        take(in, &v, sizeof v);
        CALL(lbnet_xdp_list_backends(xdp, &v, bs, byte(in) % 5, &n));
        CALL(lbnet_xdp_backend_stats(xdp, &v, bc, byte(in) % 5, &n));
        break;
    case 5: {
        const char *name;
        CALL(lbnet_xdp_counters(xdp, cs, byte(in) % 18));
        CALL(lbnet_xdp_counter_name(byte(in) % 17, &name));
        if (lbnet_xdp_counter_count() == 0) abort();
        break;
    }
    case 6:
        take(in, &a, sizeof a);
        take(in, &a6, sizeof a6);
        take(in, mac, sizeof mac);
        CALL(lbnet_xdp_set_config(xdp, byte(in) & 1 ? &a : NULL, byte(in) & 1 ? &a6 : NULL,
                                  byte(in) & 1 ? mac : NULL));
        break;
    case 7: {
        /* Interfaces of the fuzzer's namespace (only lo), flags, namespace paths. */
        char *ifname = str(in);
        char *ns = nonexistent_path(in);
        CALL(lbnet_xdp_attach(xdp, byte(in) & 1 ? ns : NULL, ifname, byte(in) % 4));
        CALL(lbnet_xdp_detach(xdp));
        free(ns);
        free(ifname);
        break;
    }
    case 8: {
        /* Pins only under the fuzzer's own bpffs directory, removed again by detach. */
        char dir[64];
        snprintf(dir, sizeof dir, "/sys/fs/bpf/lbnet-fuzz-%d/%u", (int)getpid(), byte(in) % 4);
        CALL(lbnet_xdp_pin(xdp, dir));
        CALL(lbnet_xdp_detach(xdp));
        break;
    }
    default:
        /* NULLs and counts no array has. */
        CALL(lbnet_xdp_open(NULL, NULL));
        CALL(lbnet_xdp_add_vip(NULL, NULL));
        CALL(lbnet_xdp_pin(xdp, NULL));
        take(in, &v, sizeof v);
        take(in, bs, sizeof bs[0]);
        CALL(lbnet_xdp_set_backends(xdp, &v, bs, (size_t)1 << (32 + byte(in) % 31)));
        CALL(lbnet_xdp_list_vips(xdp, NULL, (size_t)-1, &n));
        CALL(lbnet_xdp_counters(xdp, NULL, 0));
        lbnet_xdp_free(NULL);
        break;
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    struct input in = {data, size};
    lbnet_ipvs_batch *b = NULL;
    if (lbnet_ipvs_batch_new(&b) != 0) abort();
    while (in.n > 0) {
        lbnet_ipvs_service s, out;
        lbnet_ipvs_dest d;
        lbnet_ipvs_daemon dm;
        lbnet_ipvs_timeouts t;
        lbnet_addr a;
        char buf[64];
        switch (byte(&in) % 23) {
        case 0: {
            char *text = str(&in);
            lbnet_prefix p;
            CALL(lbnet_addr_parse(text, &a));
            CALL(lbnet_prefix_parse(text, &p));
            free(text);
            break;
        }
        case 1: {
            lbnet_prefix p;
            take(&in, &a, sizeof a);
            CALL(lbnet_addr_format(&a, buf, byte(&in) % sizeof buf));
            take(&in, &p, sizeof p);
            CALL(lbnet_prefix_format(&p, buf, byte(&in) % sizeof buf));
            /* The calling thread's kind says OK exactly after a success. */
            if ((lbnet_prefix_format(&p, buf, sizeof buf) == 0) != (lbnet_last_error_kind() == LBNET_ERROR_KIND_OK))
                abort();
            break;
        }
        case 2: {
            /* Options with the input's sz (around the struct's size, or far off) and the
             * input's bytes past the struct: the sz rules must hold for any of them. */
            union {
                lbnet_ipvs_options o;
                unsigned char raw[sizeof(lbnet_ipvs_options) + 16];
            } u;
            char *path = str(&in);
            memset(&u, 0, sizeof u);
            take(&in, u.raw + sizeof u.o, 16);
            unsigned char k = byte(&in);
            u.o.sz = (k & 0x80) ? (size_t)k << (k & 31) : sizeof u.o + (k % 24) - 8;
            if (u.o.sz > sizeof u.raw && u.o.sz <= 4096) u.o.sz = sizeof u.raw;
            u.o.netns_path = (byte(&in) & 1) ? path : NULL;
            u.o.netns_fd = (byte(&in) & 1) ? (int)byte(&in) - 8 : 0;
            u.o.rcvbuf = (uint32_t)byte(&in) << 12;
            u.o.timeout_ms = 1 + byte(&in);
            lbnet_ipvs *h = NULL;
            int rc = lbnet_ipvs_open(&u.o, &h);
            CALL(rc);
            if ((rc == 0) != (h != NULL)) {
                fprintf(stderr, "fuzz_ffi: lbnet_ipvs_open returned %d with handle %p\n", rc,
                        (void *)h);
                abort();
            }
            lbnet_ipvs_free(h);
            CALL(lbnet_ipvs_open(&u.o, NULL));
            free(path);
            break;
        }
        case 3:
            take(&in, &s, sizeof s);
            CALL(lbnet_ipvs_add_service(handle, &s));
            CALL(lbnet_ipvs_update_service(handle, &s));
            CALL(lbnet_ipvs_batch_add_service(b, &s));
            CALL(lbnet_ipvs_batch_update_service(b, &s));
            break;
        case 4:
            take(&in, &s, sizeof s);
            CALL(lbnet_ipvs_get_service(handle, &s, &out));
            CALL(lbnet_ipvs_delete_service(handle, &s));
            CALL(lbnet_ipvs_zero_service(handle, &s));
            CALL(lbnet_ipvs_batch_delete_service(b, &s));
            CALL(lbnet_ipvs_batch_zero(b, (byte(&in) & 1) ? &s : NULL));
            break;
        case 5:
            take(&in, &s, sizeof s);
            take(&in, &d, sizeof d);
            CALL(lbnet_ipvs_add_dest(handle, &s, &d));
            CALL(lbnet_ipvs_update_dest(handle, &s, &d));
            CALL(lbnet_ipvs_delete_dest(handle, &s, &d));
            CALL(lbnet_ipvs_batch_add_dest(b, &s, &d));
            CALL(lbnet_ipvs_batch_update_dest(b, &s, &d));
            CALL(lbnet_ipvs_batch_delete_dest(b, &s, &d));
            break;
        case 6: {
            lbnet_ipvs_dest_list *dl = NULL;
            take(&in, &s, sizeof s);
            CALL(lbnet_ipvs_list_dests(handle, &s, &dl));
            lbnet_ipvs_dest_list_free(dl);
            break;
        }
        case 7:
            take(&in, &dm, sizeof dm);
            CALL(lbnet_ipvs_start_daemon(handle, &dm));
            CALL(lbnet_ipvs_stop_daemon(handle, &dm));
            break;
        case 8:
            take(&in, &t, sizeof t);
            CALL(lbnet_ipvs_set_timeouts(handle, &t));
            CALL(lbnet_ipvs_get_timeouts(handle, &t));
            break;
        case 9: {
            size_t i = byte(&in);
            int32_t r, rs[8];
            CALL(lbnet_ipvs_batch_result(b, i, &r));
            CALL(lbnet_ipvs_batch_result_message(b, i, buf, byte(&in) % sizeof buf));
            CALL(lbnet_ipvs_batch_results(b, rs, byte(&in) % 9));
            break;
        }
        case 10:
            if (batch_len(b) > 0) CALL(lbnet_ipvs_batch_apply(handle, b));
            break;
        case 11:
            CALL(lbnet_ipvs_batch_clear(b));
            break;
        case 12: {
            lbnet_ipvs_service_list *sl = NULL;
            lbnet_ipvs_service_entry_list *el = NULL;
            lbnet_ipvs_daemon_list *ml = NULL;
            CALL(lbnet_ipvs_list_services(handle, &sl));
            CALL(lbnet_ipvs_list_services_with_dests(handle, &el));
            CALL(lbnet_ipvs_list_daemons(handle, &ml));
            lbnet_ipvs_service_list_free(sl);
            lbnet_ipvs_service_entry_list_free(el);
            lbnet_ipvs_daemon_list_free(ml);
            break;
        }
        case 13: {
            lbnet_ipvs_info info;
            CALL(lbnet_ipvs_get_info(handle, &info));
            CALL(lbnet_ipvs_zero_all(handle));
            break;
        }
        case 14: {
            /* Up to 4 changes of random bytes (op included), appended all or nothing. */
            lbnet_ipvs_change cs[4];
            size_t n = byte(&in) % 5, bad = 0, before = batch_len(b);
            take(&in, cs, n * sizeof cs[0]);
            int rc = lbnet_ipvs_batch_add_changes(b, cs, n, &bad);
            CALL(rc);
            if (batch_len(b) != before + (rc == 0 ? n : 0) || (rc < 0 && bad >= n)) {
                fprintf(stderr, "fuzz_ffi: add_changes of %zu: rc %d, len %zu -> %zu, bad %zu\n", n,
                        rc, before, batch_len(b), bad);
                abort();
            }
            /* A count beyond the bound (up to 2^63) with the same 4 elements: -E2BIG before
             * anything is read, the batch unchanged. */
            size_t huge = (size_t)LBNET_IPVS_BATCH_MAX + 1 + ((size_t)byte(&in) << (byte(&in) % 56));
            before = batch_len(b);
            rc = lbnet_ipvs_batch_add_changes(b, cs, huge, &bad);
            CALL(rc);
            if (rc != -E2BIG || bad != SIZE_MAX || batch_len(b) != before) {
                fprintf(stderr, "fuzz_ffi: add_changes of %zu: rc %d, bad %zu\n", huge, rc, bad);
                abort();
            }
            break;
        }
        case 15: {
            /* Options: sz off by one or larger with random extra bytes, random protocol and
             * flags, up to 3 rules; the namespace is ours or a missing file (never another). */
            unsigned char buf_o[sizeof(lbnet_rtexport_options) + 8];
            lbnet_rtexport_options o;
            lbnet_rtexport_rule r[3];
            char *strs[6] = {0};
            memset(&o, 0, sizeof o);
            take(&in, comms, sizeof comms);
            take(&in, larges, sizeof larges);
            o.rules = r;
            o.n_rules = fuzz_rules(&in, r, strs);
            if (byte(&in) >= 250) o.n_rules = count(&in, 0);
            o.protocol = byte(&in);
            take(&in, &o.flags, sizeof o.flags);
            o.dampening_ms = byte(&in);
            o.dampening_cap_ms = byte(&in);
            char *path = NULL;
            if (byte(&in) & 1) {
                char *tail = str(&in);
                path = malloc(strlen(tail) + 16);
                sprintf(path, "/nonexistent/%s", tail);
                free(tail);
            }
            o.netns_path = path;
            unsigned char k = byte(&in);
            o.sz = sizeof o + (k % 3 == 0 ? (size_t)-1 : k % 3 == 1 ? 0 : 8);
            memcpy(buf_o, &o, sizeof o);
            take(&in, buf_o + sizeof o, 8);
            lbnet_rtexport *ex = NULL;
            CALL(lbnet_rtexport_open((const lbnet_rtexport_options *)buf_o, &ex));
            lbnet_rtexport_free(ex);
            free(path);
            free_strs(strs);
            break;
        }
        case 16: {
            lbnet_prefix p;
            take(&in, &p, sizeof p);
            take(&in, &a, sizeof a);
            take(&in, comms, sizeof comms);
            CALL(lbnet_rtexport_update(exporter, &p, &a, comms, count(&in, 4), larges,
                                       count(&in, 4)));
            CALL(lbnet_rtexport_withdraw(exporter, &p));
            break;
        }
        case 17: {
            /* Up to 4 changes of random prefixes and next hops (family 0: a withdrawal). */
            lbnet_rtexport_change cs[4];
            size_t n = byte(&in) % 5;
            memset(cs, 0, sizeof cs);
            for (size_t i = 0; i < n; i++) {
                take(&in, &cs[i].prefix, sizeof cs[i].prefix);
                take(&in, &cs[i].nexthop, sizeof cs[i].nexthop);
                cs[i].communities = comms;
                cs[i].n_communities = count(&in, 4);
                cs[i].large_communities = larges;
                cs[i].n_large_communities = count(&in, 4);
            }
            size_t k = count(&in, n);
            CALL(lbnet_rtexport_apply(exporter, k ? cs : NULL, k));
            break;
        }
        case 18: {
            size_t del;
            lbnet_rtexport_stats st;
            lbnet_rtexport_route_list *l = NULL;
            char *rule = (byte(&in) & 1) ? str(&in) : NULL;
            CALL(lbnet_rtexport_get_stats(exporter, rule, &st));
            CALL(lbnet_rtexport_last_error(exporter, rule, buf, byte(&in) % sizeof buf));
            CALL(lbnet_rtexport_routes(exporter, &l));
            lbnet_rtexport_route_list_free(l);
            if (byte(&in) & 1) CALL(lbnet_rtexport_end_of_rib(exporter, (byte(&in) & 1) ? &del : NULL));
            if (byte(&in) & 1) CALL(lbnet_rtexport_flush(exporter, (byte(&in) & 1) ? &del : NULL));
            free(rule);
            break;
        }
        case 19: {
            lbnet_rtexport_rule r[3];
            char *strs[6] = {0};
            size_t n = fuzz_rules(&in, r, strs);
            if (byte(&in) >= 250) n = count(&in, 0);
            CALL(lbnet_rtexport_reload(exporter, n ? r : NULL, n));
            free_strs(strs);
            break;
        }
        case 21:
            fuzz_linkwatch(&in);
            break;
        case 22:
            fuzz_xdp(&in);
            break;
        default:
            /* NULL arguments everywhere. */
            if (lbnet_version() == NULL) abort();
            CALL(lbnet_ipvs_flush(NULL));
            CALL(lbnet_ipvs_add_service(NULL, NULL));
            CALL(lbnet_ipvs_add_dest(handle, NULL, NULL));
            CALL(lbnet_ipvs_batch_add_service(NULL, NULL));
            CALL(lbnet_ipvs_batch_add_changes(b, NULL, 1, NULL));
            CALL(lbnet_ipvs_batch_results(b, NULL, 1));
            CALL(lbnet_addr_parse(NULL, NULL));
            CALL(lbnet_ipvs_open(NULL, NULL));
            CALL(lbnet_ipvs_batch_new(NULL));
            CALL(lbnet_ipvs_batch_len(NULL, NULL));
            CALL(lbnet_ipvs_batch_len(b, NULL));
            CALL(lbnet_rtexport_open(NULL, NULL));
            CALL(lbnet_rtexport_update(NULL, NULL, NULL, NULL, 0, NULL, 0));
            CALL(lbnet_rtexport_apply(exporter, NULL, 1));
            CALL(lbnet_rtexport_reload(exporter, NULL, 1));
            CALL(lbnet_rtexport_withdraw(exporter, NULL));
            CALL(lbnet_rtexport_routes(exporter, NULL));
            break;
        }
    }
    lbnet_ipvs_batch_free(b);
    return 0;
}
