/*
 * c_abi.c: the "c-abi" client of the IPVS peer benchmark: our C ABI (include/ipvs_ffi.h,
 * libipvs_ffi.so) from C, one handle for the whole run, as a C program would use it.
 *
 *   c_abi WORKLOAD N [G]     prints one RESULT line (see benches/ipvs/README.md)
 */
#include <ipvs_ffi.h>

#include "dist.h"
#include "scheme.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define CLIENT "c-abi"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void must(int rc, const char *what) {
    if (rc != 0) {
        fprintf(stderr, CLIENT ": %s: %d (%s)\n", what, rc, lbnet_last_error());
        exit(1);
    }
}

/* dist: "median=..,p90=.." of the per-operation times, or "n/a" (see dist.h) */
static void result(const char *w, double ns, int ops, const char *check, const char *dist) {
    printf("RESULT " CLIENT " %s %.0f %d %s %s\n", w, ns / ops, ops, check, dist);
}

/* The single-operation workloads: one operation (index i) of each, with what get_service
 * read added to *dests and *bad. Used by the timed loop below and by the serve mode. */
enum single { ADD_SERVICE, ADD_DEST, UPDATE_WEIGHT, GET_SERVICE, NOT_SINGLE };

static enum single single_of(const char *w) {
    if (!strcmp(w, "add_service")) return ADD_SERVICE;
    if (!strcmp(w, "add_dest")) return ADD_DEST;
    if (!strcmp(w, "update_weight")) return UPDATE_WEIGHT;
    if (!strcmp(w, "get_service")) return GET_SERVICE;
    return NOT_SINGLE;
}

static lbnet_ipvs *h;
static lbnet_ipvs_service *svcs;
static lbnet_ipvs_dest d_add, d_update;

static void single_op(enum single k, int i, int g, int *dests, int *bad) {
    switch (k) {
    case ADD_SERVICE:
        must(lbnet_ipvs_add_service(h, &svcs[i]), "add service");
        break;
    case ADD_DEST:
        must(lbnet_ipvs_add_dest(h, &svcs[i], &d_add), "add_dest");
        break;
    case UPDATE_WEIGHT:
        must(lbnet_ipvs_update_dest(h, &svcs[i], &d_update), "update_weight");
        break;
    case GET_SERVICE: {
        lbnet_ipvs_service out;
        lbnet_ipvs_dest_list *dl;
        must(lbnet_ipvs_get_service(h, &svcs[i % g], &out), "get service");
        must(lbnet_ipvs_list_dests(h, &out, &dl), "list dests");
        *bad += memcmp(out.addr.addr, svcs[i % g].addr.addr, 4) != 0;
        *dests += dl->len;
        lbnet_ipvs_dest_list_free(dl);
        break;
    }
    case NOT_SINGLE:
        break;
    }
}

/* The serve mode (benches/ipvs/go_rounds.sh): "serve WORKLOAD N [G]" prints READY, then for
 * each line "U K" on stdin runs the next U + K operations of the workload, the first U untimed
 * and the K after them timed as one block (one clock read before, one after), and prints the
 * block's nanoseconds; at "END" (or end of input) it prints the RESULT line (mean over the
 * timed operations, check over all operations, median and p90 of the blocks' times per
 * operation) and returns. */
static int serve(enum single k, const char *w, int n, int g) {
    char line[64], check[64], ds[64];
    struct dist dd = dist_new(n);
    int next = 0, dests = 0, bad = 0;
    double total = 0;
    printf("READY\n");
    fflush(stdout);
    int timed = 0;
    while (fgets(line, sizeof line, stdin) && strncmp(line, "END", 3) != 0) {
        int u, c;
        if (sscanf(line, "%d %d", &u, &c) != 2 || u < 0 || c < 1 || next + u + c > n) {
            fprintf(stderr, CLIENT ": bad block %s", line);
            return 2;
        }
        double t0 = now();
        for (int j = 0; j < u; j++) single_op(k, next + j, g, &dests, &bad);
        next += u;
        double t = now();
        for (int j = 0; j < c; j++) single_op(k, next + j, g, &dests, &bad);
        double t2 = now();
        next += c;
        timed += c;
        total += t2 - t;
        dist_add(&dd, (t2 - t) / c);
        printf("%.0f %.0f\n", t2 - t, t - t0);
        fflush(stdout);
    }
    if (k == GET_SERVICE)
        snprintf(check, sizeof check, "dests=%d,bad=%d", dests, bad);
    else
        snprintf(check, sizeof check, "-");
    dist_format(&dd, ds, sizeof ds);
    result(w, total, timed > 0 ? timed : 1, check, ds);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: c_abi [serve] WORKLOAD N [G]\n");
        return 2;
    }
    int serving = !strcmp(argv[1], "serve");
    if (serving) {
        argv++;
        argc--;
        if (argc < 3) {
            fprintf(stderr, "usage: c_abi serve WORKLOAD N [G]\n");
            return 2;
        }
    }
    const char *w = argv[1];
    int n = atoi(argv[2]);
    must(lbnet_ipvs_open(NULL, &h), "handle");
    lbnet_ipvs_info info;
    must(lbnet_ipvs_get_info(h, &info), "info"); /* resolves the family outside the timing */
    svcs = calloc(n > 0 ? n : 1, sizeof *svcs);
    for (int i = 0; i < n; i++) svcs[i] = scheme_service(i);
    d_add = scheme_dest(0, 1);
    d_update = scheme_dest(0, 5);
    char check[64], ds[64];
    struct dist dd = dist_new(n);
    double t;
    enum single kind = single_of(w);
    int g = argc > 3 ? atoi(argv[3]) : 100;
    if (serving) {
        if (kind == NOT_SINGLE) {
            fprintf(stderr, CLIENT ": serve: %s is not a single-operation workload\n", w);
            return 2;
        }
        int rc = serve(kind, w, n, g);
        free(dd.ns);
        free(svcs);
        lbnet_ipvs_free(h);
        return rc;
    }
    if (kind != NOT_SINGLE) {
        int dests = 0, bad = 0;
        t = now();
        for (int i = 0; i < n; i++) {
            dist_begin(&dd);
            single_op(kind, i, g, &dests, &bad);
            dist_end(&dd);
        }
        t = now() - t;
        if (kind == GET_SERVICE)
            snprintf(check, sizeof check, "dests=%d,bad=%d", dests, bad);
        else
            snprintf(check, sizeof check, "-");
        dist_format(&dd, ds, sizeof ds);
        result(w, t, n, check, ds);
    } else if (!strcmp(w, "list")) {
        size_t s = 0, d = 0;
        t = now();
        for (int r = 0; r < n; r++) {
            lbnet_ipvs_service_entry_list *el;
            must(lbnet_ipvs_list_services_with_dests(h, &el), "list");
            s = el->len;
            d = 0;
            for (size_t i = 0; i < el->len; i++) d += el->items[i].n_dests;
            lbnet_ipvs_service_entry_list_free(el);
        }
        t = now() - t;
        snprintf(check, sizeof check, "services=%zu,dests=%zu", s, d);
        result(w, t, n, check, "n/a");
    } else if (!strcmp(w, "flush")) {
        t = now();
        must(lbnet_ipvs_flush(h), "flush");
        result(w, now() - t, 1, "-", "n/a");
    } else if (!strcmp(w, "batch")) {
        /* n changes: n/5 services with 4 destinations each, one lbnet_ipvs_batch. Building the
         * batch is part of the timing (it is part of using the API). */
        lbnet_ipvs_dest d[4];
        for (int j = 0; j < 4; j++) d[j] = scheme_dest(j, 1);
        int k = 0, errors = 0;
        t = now();
        lbnet_ipvs_batch *b;
        must(lbnet_ipvs_batch_new(&b), "batch");
        for (int i = 0; i < n / 5; i++) {
            must(lbnet_ipvs_batch_add_service(b, &svcs[i]), "batch add service");
            k++;
            for (int j = 0; j < 4; j++, k++)
                must(lbnet_ipvs_batch_add_dest(b, &svcs[i], &d[j]), "batch add dest");
        }
        int rc = lbnet_ipvs_batch_apply(h, b);
        t = now() - t;
        for (int i = 0; i < k; i++) {
            int32_t r;
            must(lbnet_ipvs_batch_result(b, i, &r), "batch result");
            errors += r != 0;
        }
        lbnet_ipvs_batch_free(b);
        if (rc != 0 && errors == 0) must(rc, "apply");
        snprintf(check, sizeof check, "errors=%d", errors);
        result(w, t, k, check, "n/a");
    } else {
        fprintf(stderr, CLIENT ": unknown workload %s\n", w);
        return 2;
    }
    free(dd.ns);
    free(svcs);
    lbnet_ipvs_free(h);
    return 0;
}
