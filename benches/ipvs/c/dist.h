/*
 * dist.h: per-operation times of the IPVS peer benchmark's C clients (c_abi.c, raw_floor.c,
 * ipvsadm_client.c). A single-operation workload brackets each operation with dist_begin and
 * dist_end; every G consecutive operations (G = LBNET_IPVS_BENCH_GROUP, default 10) make one
 * sample, the group's time divided by its operations, so that the clock is read twice per
 * group instead of twice per operation (a clock read costs a C client about 0.25 us and a Go
 * client about 0.7 us under the lab's TCG: per operation, that difference alone was 4 % of a
 * 25 us operation). It prints the samples' median and 90th percentile as the RESULT line's
 * optional last field, "median=<ns>,p90=<ns>" (see benches/ipvs/README.md). Percentiles are
 * nearest-rank: the p-th is the sorted sample at index ceil(p * n / 100) - 1, the same rule
 * and the same grouping as the Rust and Go clients.
 */
#ifndef IPVS_BENCH_DIST_H
#define IPVS_BENCH_DIST_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The samples of one workload (ns per operation, one per group), at most cap of them, and the
 * group being timed: g operations per group, k of them done since t0. */
struct dist {
    double *ns;
    int n, cap;
    int g, k;
    double t0;
};

static double dist_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* The group size: LBNET_IPVS_BENCH_GROUP (1..1000), default 10. The driver runs N operations,
 * a multiple of it; an unfinished last group is dropped. */
static int dist_group(void) {
    const char *e = getenv("LBNET_IPVS_BENCH_GROUP");
    int g = e ? atoi(e) : 10;
    return g < 1 ? 1 : (g > 1000 ? 1000 : g);
}

static struct dist dist_new(int cap) {
    int g = dist_group();
    struct dist d = {calloc(cap > 0 ? cap : 1, sizeof(double)), 0, cap > 0 ? cap : 1, g, 0, 0};
    if (!d.ns) {
        perror("dist");
        exit(1);
    }
    return d;
}

static void dist_add(struct dist *d, double ns) {
    if (d->n < d->cap) d->ns[d->n++] = ns;
}

/* Before an operation: starts the clock at the first operation of a group. */
static void dist_begin(struct dist *d) {
    if (d->k == 0) d->t0 = dist_now();
}

/* After an operation: a group of g operations done makes one sample. */
static void dist_end(struct dist *d) {
    if (++d->k == d->g) {
        dist_add(d, (dist_now() - d->t0) / d->k);
        d->k = 0;
    }
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
    d->k = 0; /* an unfinished last group (N not a multiple of G) is not a sample */
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
