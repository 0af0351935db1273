/*
 * ffi_bench.c: times IPVS table changes and listings through the C ABI against the kernel
 * (run in the kernel lab by `make bench-ffi`; under TCG, compare the lines with each other, not
 * with real hardware). N services with 4 destinations each:
 *   1. one C call per change (N * 5 round trips),
 *   2. the same changes in one lbnet_ipvs_batch (pipelined, many per sendmsg),
 *   3. listing everything with lbnet_ipvs_list_services_with_dests.
 * Usage: ffi_bench [N] (default 1000). Needs IPVS; flushes the table of its network namespace.
 */
#include <ipvs_ffi.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void must(int rc, const char *what) {
    if (rc != 0) {
        fprintf(stderr, "ffi_bench: %s: %d (%s)\n", what, rc, lbnet_last_error());
        exit(1);
    }
}

static lbnet_ipvs_service svc(int i) {
    lbnet_ipvs_service s;
    char ip[32];
    memset(&s, 0, sizeof s);
    snprintf(ip, sizeof ip, "10.%d.%d.%d", 100 + i / 62500, (i / 250) % 250, i % 250 + 1);
    must(lbnet_addr_parse(ip, &s.addr), "parse");
    s.af = s.addr.af;
    s.protocol = IPPROTO_TCP;
    s.port = 80;
    strcpy(s.sched_name, "wrr");
    return s;
}

static lbnet_ipvs_dest dst(int i, int j) {
    lbnet_ipvs_dest d;
    char ip[32];
    memset(&d, 0, sizeof d);
    snprintf(ip, sizeof ip, "172.16.%d.%d", i % 250, j + 1);
    must(lbnet_addr_parse(ip, &d.addr), "parse");
    d.port = 8080;
    d.fwd_method = LBNET_IPVS_FWD_ROUTE;
    d.weight = j + 1;
    return d;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    lbnet_ipvs *h;
    must(lbnet_ipvs_open(NULL, &h), "handle");
    must(lbnet_ipvs_flush(h), "flush");

    double t0 = now();
    for (int i = 0; i < n; i++) {
        lbnet_ipvs_service s = svc(i);
        must(lbnet_ipvs_add_service(h, &s), "add service");
        for (int j = 0; j < 4; j++) {
            lbnet_ipvs_dest d = dst(i, j);
            must(lbnet_ipvs_add_dest(h, &s, &d), "add dest");
        }
    }
    double t1 = now();
    printf("ffi_bench: %d services x 4 dests, one call per change: %.1f ms (%.1f us/change)\n", n,
           (t1 - t0) * 1e3, (t1 - t0) * 1e6 / (n * 5));
    must(lbnet_ipvs_flush(h), "flush");

    lbnet_ipvs_batch *b;
    must(lbnet_ipvs_batch_new(&b), "batch");
    t0 = now();
    for (int i = 0; i < n; i++) {
        lbnet_ipvs_service s = svc(i);
        must(lbnet_ipvs_batch_add_service(b, &s), "batch add service");
        for (int j = 0; j < 4; j++) {
            lbnet_ipvs_dest d = dst(i, j);
            must(lbnet_ipvs_batch_add_dest(b, &s, &d), "batch add dest");
        }
    }
    must(lbnet_ipvs_batch_apply(h, b), "apply");
    t1 = now();
    lbnet_ipvs_batch_free(b);
    printf("ffi_bench: %d services x 4 dests, one batch: %.1f ms (%.1f us/change)\n", n,
           (t1 - t0) * 1e3, (t1 - t0) * 1e6 / (n * 5));

    lbnet_ipvs_service_entry_list *el;
    t0 = now();
    must(lbnet_ipvs_list_services_with_dests(h, &el), "list");
    t1 = now();
    size_t dests = 0;
    for (size_t i = 0; i < el->len; i++) dests += el->items[i].n_dests;
    printf("ffi_bench: list services with destinations: %zu services, %zu dests in %.1f ms\n",
           el->len, dests, (t1 - t0) * 1e3);
    int ok = el->len == (size_t)n && dests == (size_t)n * 4;
    lbnet_ipvs_service_entry_list_free(el);
    must(lbnet_ipvs_flush(h), "flush");
    lbnet_ipvs_free(h);
    if (!ok) {
        fprintf(stderr, "ffi_bench: listing does not match what was created\n");
        return 1;
    }
    return 0;
}
