/*
 * fuzz_ffi.c: a libFuzzer target that drives lbnet's C ABI with arbitrary bytes: strings
 * (addresses, netns paths), whole structs (service, destination, daemon, timeouts, address,
 * lbnet_ipvs_options with any sz) copied from the input, list frees, batches with random
 * changes, indexes and counts far beyond LBNET_IPVS_BATCH_MAX.
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

static lbnet_ipvs *handle;

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
        switch (byte(&in) % 16) {
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
        default:
            /* NULL arguments everywhere. */
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
            break;
        }
    }
    lbnet_ipvs_batch_free(b);
    return 0;
}
