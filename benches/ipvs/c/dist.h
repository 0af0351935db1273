/*
 * dist.h: per-operation times of the IPVS peer benchmark's C clients (c_abi.c, raw_floor.c,
 * ipvsadm_client.c). A single-operation workload records the time of each operation
 * (dist_add) and prints its median and 90th percentile as the RESULT line's optional last
 * field, "median=<ns>,p90=<ns>" (see benches/ipvs/README.md). Percentiles are nearest-rank:
 * the p-th is the sorted sample at index ceil(p * n / 100) - 1, the same rule as the Rust and
 * Go clients.
 */
#ifndef IPVS_BENCH_DIST_H
#define IPVS_BENCH_DIST_H

#include <stdio.h>
#include <stdlib.h>

/* The times of one workload's operations, in ns; at most cap of them. */
struct dist {
    double *ns;
    int n, cap;
};

static struct dist dist_new(int cap) {
    struct dist d = {calloc(cap > 0 ? cap : 1, sizeof(double)), 0, cap > 0 ? cap : 1};
    if (!d.ns) {
        perror("dist");
        exit(1);
    }
    return d;
}

static void dist_add(struct dist *d, double ns) {
    if (d->n < d->cap) d->ns[d->n++] = ns;
}

static int dist_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile p (1..100) of the sorted samples. */
static double dist_at(const struct dist *d, int p) {
    int k = (int)(((long)p * d->n + 99) / 100) - 1;
    return d->ns[k < 0 ? 0 : k];
}

/* Writes "median=<ns>,p90=<ns>" (or "n/a" without samples) to out and frees the samples. */
static void dist_format(struct dist *d, char *out, size_t size) {
    if (d->n == 0) {
        snprintf(out, size, "n/a");
    } else {
        qsort(d->ns, d->n, sizeof(double), dist_cmp);
        snprintf(out, size, "median=%.0f,p90=%.0f", dist_at(d, 50), dist_at(d, 90));
    }
    free(d->ns);
    d->ns = NULL;
    d->n = d->cap = 0;
}

#endif
