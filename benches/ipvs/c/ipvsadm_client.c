/*
 * ipvsadm_client.c: the "ipvsadm" peer of the IPVS benchmark: libipvs as ipvsadm users get it,
 * through the ipvsadm binary (Debian's, which embeds libipvs over libnl). Single operations are
 * ONE ipvsadm PROCESS PER OPERATION (posix_spawn + wait, inside the timing: that is what a
 * script or a program shelling out to ipvsadm pays); listings are `ipvsadm -Ln` (output read
 * and counted); the batch is `ipvsadm -R` reading a file prepared before the clock starts.
 *
 *   ipvsadm_client WORKLOAD N [G]     prints one RESULT line (see benches/ipvs/README.md)
 *
 * $IPVSADM overrides the binary (default /usr/sbin/ipvsadm).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dist.h"

#define CLIENT "ipvsadm"

extern char **environ;
static const char *ipvsadm = "/usr/sbin/ipvsadm";

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void vip(int i, char *out, size_t n) {
    snprintf(out, n, "10.%d.%d.%d:80", 1 + (i >> 16), (i >> 8) & 255, i & 255);
}

/* Runs ipvsadm with argv (argv[0] ignored), stdin from `in` (or /dev/null), and collects stdout
 * into *out (when out is not NULL; caller frees). Fails the benchmark on a non-zero exit. */
static size_t run(char *const argv[], const char *in, char **out) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in ? in : "/dev/null", O_RDONLY, 0);
    int p[2] = {-1, -1};
    if (out) {
        if (pipe2(p, O_CLOEXEC) < 0) {
            perror("pipe");
            exit(1);
        }
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    } else {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    }
    pid_t pid;
    int rc = posix_spawn(&pid, ipvsadm, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, CLIENT ": spawn %s: %s\n", ipvsadm, strerror(rc));
        exit(1);
    }
    size_t len = 0;
    if (out) {
        close(p[1]);
        size_t cap = 1 << 16;
        char *b = malloc(cap);
        ssize_t r;
        while ((r = read(p[0], b + len, cap - len - 1)) != 0) {
            if (r < 0) {
                if (errno == EINTR) continue;
                perror("read");
                exit(1);
            }
            len += r;
            if (cap - len < 4096) b = realloc(b, cap *= 2);
        }
        b[len] = 0;
        close(p[0]);
        *out = b;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            perror("waitpid");
            exit(1);
        }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, CLIENT ": %s %s ... failed (status %d)\n", ipvsadm, argv[1], st);
        exit(1);
    }
    return len;
}

/* Counts service lines ("TCP  ...") and destination lines ("  -> 172.16...") of -Ln output. */
static void count(const char *s, int *svcs, int *dests) {
    for (const char *l = s; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        if (!strncmp(l, "TCP  ", 5)) (*svcs)++;
        else if (!strncmp(l, "  -> 172.16.", 12)) (*dests)++;
    }
}

/* dist: "median=..,p90=.." of the per-operation times (one ipvsadm process each), or "n/a" */
static void result(const char *w, double ns, int ops, const char *check, const char *dist) {
    printf("RESULT " CLIENT " %s %.0f %d %s %s\n", w, ns / ops, ops, check, dist);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: ipvsadm_client WORKLOAD N [G]\n");
        return 2;
    }
    if (getenv("IPVSADM")) ipvsadm = getenv("IPVSADM");
    const char *w = argv[1];
    int n = atoi(argv[2]);
    char v[32], check[64], ds[64];
    struct dist dd = dist_new(n);
    double t;
    if (!strcmp(w, "add_service")) {
        t = now();
        for (int i = 0; i < n; i++) {
            vip(i, v, sizeof v);
            char *a[] = {"ipvsadm", "-A", "-t", v, "-s", "wrr", NULL};
            dist_begin(&dd);
            run(a, NULL, NULL);
            dist_end(&dd);
        }
        t = now() - t;
        dist_format(&dd, ds, sizeof ds);
        result(w, t, n, "-", ds);
    } else if (!strcmp(w, "add_dest") || !strcmp(w, "update_weight")) {
        int add = !strcmp(w, "add_dest");
        t = now();
        for (int i = 0; i < n; i++) {
            vip(i, v, sizeof v);
            char *a[] = {"ipvsadm", add ? "-a" : "-e", "-t", v, "-r", "172.16.0.1:8080", "-m",
                         "-w", add ? "1" : "5", NULL};
            dist_begin(&dd);
            run(a, NULL, NULL);
            dist_end(&dd);
        }
        t = now() - t;
        dist_format(&dd, ds, sizeof ds);
        result(w, t, n, "-", ds);
    } else if (!strcmp(w, "get_service")) {
        int g = argc > 3 ? atoi(argv[3]) : 100, dests = 0, bad = 0;
        t = now();
        for (int i = 0; i < n; i++) {
            vip(i % g, v, sizeof v);
            char *a[] = {"ipvsadm", "-Ln", "-t", v, NULL};
            char *out;
            dist_begin(&dd);
            run(a, NULL, &out);
            int s = 0, d = 0;
            count(out, &s, &d);
            dist_end(&dd);
            bad += s != 1 || !strstr(out, v);
            dests += d;
            free(out);
        }
        t = now() - t;
        snprintf(check, sizeof check, "dests=%d,bad=%d", dests, bad);
        dist_format(&dd, ds, sizeof ds);
        result(w, t, n, check, ds);
    } else if (!strcmp(w, "list")) {
        int s = 0, d = 0;
        t = now();
        for (int r = 0; r < n; r++) {
            char *a[] = {"ipvsadm", "-Ln", NULL};
            char *out;
            run(a, NULL, &out);
            s = d = 0;
            count(out, &s, &d);
            free(out);
        }
        t = now() - t;
        snprintf(check, sizeof check, "services=%d,dests=%d", s, d);
        result(w, t, n, check, "n/a");
    } else if (!strcmp(w, "flush")) {
        char *a[] = {"ipvsadm", "-C", NULL};
        t = now();
        run(a, NULL, NULL);
        result(w, now() - t, 1, "-", "n/a");
    } else if (!strcmp(w, "batch")) {
        /* n changes: n/5 services with 4 destinations each, as an ipvsadm -R file. */
        char path[] = "/tmp/ipvsadm-batch-XXXXXX";
        int fd = mkstemp(path);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            perror("mkstemp");
            return 1;
        }
        int k = 0;
        for (int i = 0; i < n / 5; i++) {
            vip(i, v, sizeof v);
            fprintf(f, "-A -t %s -s wrr\n", v);
            k++;
            for (int j = 0; j < 4; j++, k++)
                fprintf(f, "-a -t %s -r 172.16.0.%d:8080 -m -w 1\n", v, j + 1);
        }
        fclose(f);
        char *a[] = {"ipvsadm", "-R", NULL};
        t = now();
        run(a, path, NULL);
        t = now() - t;
        unlink(path);
        result(w, t, k, "errors=0", "n/a");
    } else {
        fprintf(stderr, CLIENT ": unknown workload %s\n", w);
        return 2;
    }
    free(dd.ns);
    return 0;
}
