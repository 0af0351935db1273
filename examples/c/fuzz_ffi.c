/*
 * fuzz_ffi.c: a libFuzzer target that drives lbnet's C ABI with arbitrary bytes: strings
 * (addresses, netns paths, interface names), whole structs (service, destination, daemon,
 * timeouts, address, XDP VIP and backends, link-watch and XDP options with random sz) copied
 * from the input, list frees, batches with random changes and indexes, huge counts.
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

static lbnet_ipvs_handle *handle;
static lbnet_linkwatch *watcher; /* of the fuzzer's empty namespace */
static lbnet_xdp *xdp;           /* a loaded, small XDP load balancer */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (unshare(CLONE_NEWNET) != 0) {
        perror("fuzz_ffi: unshare(CLONE_NEWNET) (run as root)");
        exit(1);
    }
    if (lbnet_ipvs_handle_new(NULL, &handle) != 0) {
        fprintf(stderr, "fuzz_ffi: handle: %s\n", lbnet_last_error());
        exit(1);
    }
    if (lbnet_linkwatch_open(NULL, &watcher) != 0) {
        fprintf(stderr, "fuzz_ffi: link watcher: %s\n", lbnet_last_error());
        exit(1);
    }
    lbnet_xdp_options o;
    memset(&o, 0, sizeof o);
    o.sz = sizeof o;
    o.max_vips = 2;
    o.max_backends = 8;
    o.conn_table_size = 64;
    if (lbnet_xdp_open(&o, &xdp) != 0) {
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
    uint64_t cs[16];
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
        break;
    case 5: {
        const char *name;
        CALL(lbnet_xdp_counters(xdp, cs, byte(in) % 17));
        CALL(lbnet_xdp_counter_name(byte(in) % 16, &name));
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
    lbnet_ipvs_batch *b = lbnet_ipvs_batch_new();
    while (in.n > 0) {
        lbnet_ipvs_service s, out;
        lbnet_ipvs_dest d;
        lbnet_ipvs_daemon dm;
        lbnet_ipvs_timeouts t;
        lbnet_addr a;
        char buf[64];
        switch (byte(&in) % 18) {
        case 0: {
            char *text = str(&in);
            CALL(lbnet_addr_parse(text, &a));
            free(text);
            break;
        }
        case 1:
            take(&in, &a, sizeof a);
            CALL(lbnet_addr_format(&a, buf, byte(&in) % sizeof buf));
            break;
        case 2: {
            lbnet_ipvs_handle_options o;
            char *path = str(&in);
            memset(&o, 0, sizeof o);
            o.netns_path = (byte(&in) & 1) ? path : NULL;
            o.netns_fd = (byte(&in) & 1) ? (int)byte(&in) - 8 : 0;
            o.rcvbuf = (uint32_t)byte(&in) << 12;
            o.timeout_ms = 1 + byte(&in);
            lbnet_ipvs_handle *h = NULL;
            CALL(lbnet_ipvs_handle_new(&o, &h));
            lbnet_ipvs_handle_free(h);
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
            if (lbnet_ipvs_batch_len(b) > 0) CALL(lbnet_ipvs_batch_apply(handle, b));
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
            size_t n = byte(&in) % 5, bad = 0, before = lbnet_ipvs_batch_len(b);
            take(&in, cs, n * sizeof cs[0]);
            int rc = lbnet_ipvs_batch_add_changes(b, cs, n, &bad);
            CALL(rc);
            if (lbnet_ipvs_batch_len(b) != before + (rc == 0 ? n : 0) || (rc < 0 && bad >= n)) {
                fprintf(stderr, "fuzz_ffi: add_changes of %zu: rc %d, len %zu -> %zu, bad %zu\n", n,
                        rc, before, lbnet_ipvs_batch_len(b), bad);
                abort();
            }
            break;
        }
        case 16:
            fuzz_linkwatch(&in);
            break;
        case 17:
            fuzz_xdp(&in);
            break;
        default:
            /* NULL arguments everywhere. */
            CALL(lbnet_ipvs_add_service(NULL, NULL));
            CALL(lbnet_ipvs_add_dest(handle, NULL, NULL));
            CALL(lbnet_ipvs_batch_add_service(NULL, NULL));
            CALL(lbnet_ipvs_batch_add_changes(b, NULL, 1, NULL));
            CALL(lbnet_ipvs_batch_results(b, NULL, 1));
            CALL(lbnet_addr_parse(NULL, NULL));
            break;
        }
    }
    lbnet_ipvs_batch_free(b);
    return 0;
}
