/*
 * raw_floor.c: the floor of the IPVS peer benchmark. No library: every request is a netlink
 * message built into a byte buffer BEFORE the clock starts, sent over one generic netlink
 * socket. Single operations send one message per round trip (send, read the ack); the batch
 * workload puts many messages in one send (chunks of at most 64 KiB) and reads the acks after.
 * Nothing a library does can be cheaper than this for the same kernel work.
 *
 *   raw_floor WORKLOAD N     run one workload of benches/ipvs/README.md, print a RESULT line
 *   raw_floor setup S D W    (driver helper) bring lo up, flush, then create services 0..S-1
 *                            with D destinations of weight W each, batched; prints "SETUP S D"
 *   raw_floor flush          (driver helper) IPVS_CMD_FLUSH
 *
 * Service i is TCP vip(i):80 "wrr"; destination j of every service is 172.16.0.(j+1):8080,
 * masquerading (NAT: with direct routing ipvsadm would force the service port). Exit status 1
 * on any kernel error or a count that does not match.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <net/if.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dist.h"

#define CLIENT "raw-floor"
#define MSG_MAX 256
#define CHUNK (64 * 1024)

static int fd = -1;
static uint32_t seq = 1;
static uint16_t family;
static char rbuf[1 << 20] __attribute__((aligned(4)));

static void die(const char *what, int err) {
    fprintf(stderr, CLIENT ": %s: %s\n", what, strerror(err));
    exit(1);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* ---- message building ---- */

struct msg {
    uint32_t len;
    char b[MSG_MAX] __attribute__((aligned(4)));
};

static void put(struct msg *m, uint16_t type, const void *data, uint16_t n) {
    struct nlattr *a = (struct nlattr *)(m->b + m->len);
    a->nla_type = type;
    a->nla_len = NLA_HDRLEN + n;
    memcpy((char *)a + NLA_HDRLEN, data, n);
    memset((char *)a + NLA_HDRLEN + n, 0, NLA_ALIGN(n) - n);
    m->len += NLA_ALIGN(a->nla_len);
}
static void put16(struct msg *m, uint16_t t, uint16_t v) { put(m, t, &v, 2); }
static void put32(struct msg *m, uint16_t t, uint32_t v) { put(m, t, &v, 4); }
static uint32_t nest_start(struct msg *m, uint16_t type) {
    uint32_t off = m->len;
    struct nlattr *a = (struct nlattr *)(m->b + off);
    a->nla_type = type | NLA_F_NESTED;
    m->len += NLA_HDRLEN;
    return off;
}
static void nest_end(struct msg *m, uint32_t off) {
    ((struct nlattr *)(m->b + off))->nla_len = m->len - off;
}

static void header(struct msg *m, uint16_t type, uint16_t flags, uint8_t cmd, uint8_t version) {
    memset(m, 0, sizeof *m);
    struct nlmsghdr *h = (struct nlmsghdr *)m->b;
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | flags;
    struct genlmsghdr *g = (struct genlmsghdr *)(m->b + NLMSG_HDRLEN);
    g->cmd = cmd;
    g->version = version;
    m->len = NLMSG_HDRLEN + GENL_HDRLEN;
}
static void finish(struct msg *m) {
    struct nlmsghdr *h = (struct nlmsghdr *)m->b;
    h->nlmsg_len = m->len;
    h->nlmsg_seq = seq++;
}

static void vip(int i, unsigned char out[16]) {
    memset(out, 0, 16);
    out[0] = 10;
    out[1] = 1 + (i >> 16);
    out[2] = (i >> 8) & 255;
    out[3] = i & 255;
}

static void svc_attrs(struct msg *m, int i, int full) {
    unsigned char a[16];
    vip(i, a);
    uint32_t n = nest_start(m, IPVS_CMD_ATTR_SERVICE);
    put16(m, IPVS_SVC_ATTR_AF, AF_INET);
    put16(m, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
    put(m, IPVS_SVC_ATTR_ADDR, a, 16);
    put16(m, IPVS_SVC_ATTR_PORT, htons(80));
    if (full) {
        struct ip_vs_flags fl = {0, ~0u};
        put(m, IPVS_SVC_ATTR_SCHED_NAME, "wrr", 4);
        put(m, IPVS_SVC_ATTR_FLAGS, &fl, sizeof fl);
        put32(m, IPVS_SVC_ATTR_TIMEOUT, 0);
        put32(m, IPVS_SVC_ATTR_NETMASK, 0xffffffff);
    }
    nest_end(m, n);
}

static void svc_msg(struct msg *m, uint8_t cmd, int i, uint16_t flags) {
    header(m, family, flags, cmd, IPVS_GENL_VERSION);
    svc_attrs(m, i, cmd == IPVS_CMD_NEW_SERVICE || cmd == IPVS_CMD_SET_SERVICE);
    finish(m);
}

static void dest_msg(struct msg *m, uint8_t cmd, int i, int j, uint32_t weight) {
    unsigned char a[16] = {172, 16, 0, (unsigned char)(j + 1)};
    header(m, family, NLM_F_ACK, cmd, IPVS_GENL_VERSION);
    svc_attrs(m, i, 0);
    uint32_t n = nest_start(m, IPVS_CMD_ATTR_DEST);
    put(m, IPVS_DEST_ATTR_ADDR, a, 16);
    put16(m, IPVS_DEST_ATTR_PORT, htons(8080));
    put32(m, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
    put32(m, IPVS_DEST_ATTR_WEIGHT, weight);
    put32(m, IPVS_DEST_ATTR_U_THRESH, 0);
    put32(m, IPVS_DEST_ATTR_L_THRESH, 0);
    put16(m, IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
    nest_end(m, n);
    finish(m);
}

/* ---- transport ---- */

static void xsend(const void *b, size_t n) {
    struct sockaddr_nl k = {.nl_family = AF_NETLINK};
    if (sendto(fd, b, n, 0, (struct sockaddr *)&k, sizeof k) < 0) die("sendto", errno);
}

/* Reads datagrams and calls on_msg for each message until `acks` acks/errors (acks < 0: one
 * reply or one error) or, with dump set, a DONE were seen. Returns the number of kernel errors. */
typedef void (*msg_fn)(struct nlmsghdr *h, void *arg);
static int recv_until(int acks, int dump, msg_fn on_msg, void *arg) {
    int errors = 0, done = 0, reply = acks < 0;
    while (dump ? !done : reply ? !done : acks > 0) {
        ssize_t n = recv(fd, rbuf, sizeof rbuf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("recv", errno);
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                if (e->error != 0) {
                    if (errors == 0) fprintf(stderr, CLIENT ": kernel: %s\n", strerror(-e->error));
                    errors++;
                }
                acks--;
                if (dump || reply) done = 1;
            } else if (h->nlmsg_type == NLMSG_DONE) {
                done = 1;
            } else {
                if (on_msg) on_msg(h, arg);
                if (reply) done = 1;
            }
        }
    }
    return errors;
}

static void family_msg(struct nlmsghdr *h, void *arg) {
    struct genlmsghdr *g = NLMSG_DATA(h);
    int len = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
    for (struct nlattr *a = (struct nlattr *)((char *)g + GENL_HDRLEN); len >= NLA_HDRLEN;) {
        if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
            *(uint16_t *)arg = *(uint16_t *)((char *)a + NLA_HDRLEN);
        len -= NLA_ALIGN(a->nla_len);
        a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
    }
}

static void open_socket(void) {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0) die("socket", errno);
    int rcv = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    struct sockaddr_nl me = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) die("bind", errno);
    struct msg m;
    header(&m, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
    put(&m, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME, sizeof IPVS_GENL_NAME);
    finish(&m);
    xsend(m.b, m.len);
    if (recv_until(1, 0, family_msg, &family) || family == 0) die("resolve IPVS", ENOENT);
}

static void one(struct msg *m, const char *what) {
    xsend(m->b, m->len);
    if (recv_until(1, 0, NULL, NULL)) die(what, EIO);
}

/* Sends msgs[0..n) packed into one buffer per 64 KiB chunk, reading the acks of each chunk
 * before the next. Returns the number of kernel errors. */
static int batched(struct msg *msgs, int n) {
    static char buf[CHUNK] __attribute__((aligned(4)));
    int errors = 0;
    for (int i = 0; i < n;) {
        size_t len = 0;
        int k = 0;
        while (i < n && len + msgs[i].len <= CHUNK) {
            memcpy(buf + len, msgs[i].b, msgs[i].len);
            len += msgs[i].len;
            i++;
            k++;
        }
        xsend(buf, len);
        errors += recv_until(k, 0, NULL, NULL);
    }
    return errors;
}

/* ---- reply parsing ---- */

struct found {
    int services, dests;
    uint32_t addr; /* first service address seen (network order), for get */
    int keys_cap;
    uint32_t *keys; /* service addresses of a service dump */
};

static struct nlattr *find(struct nlattr *a, int len, int type) {
    while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN) {
        if ((a->nla_type & NLA_TYPE_MASK) == type) return a;
        len -= NLA_ALIGN(a->nla_len);
        a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
    }
    return NULL;
}

static void service_msg(struct nlmsghdr *h, void *arg) {
    struct found *f = arg;
    struct nlattr *top = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
    int len = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
    struct nlattr *s = find(top, len, IPVS_CMD_ATTR_SERVICE);
    if (!s) return;
    struct nlattr *a = find((struct nlattr *)((char *)s + NLA_HDRLEN), s->nla_len - NLA_HDRLEN,
                            IPVS_SVC_ATTR_ADDR);
    if (!a) return;
    uint32_t addr;
    memcpy(&addr, (char *)a + NLA_HDRLEN, 4);
    if (f->services == 0) f->addr = addr;
    if (f->keys && f->services < f->keys_cap) f->keys[f->services] = addr;
    f->services++;
}

static void dest_reply(struct nlmsghdr *h, void *arg) {
    struct found *f = arg;
    struct nlattr *top = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
    if (find(top, h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, IPVS_CMD_ATTR_DEST)) f->dests++;
}

static int index_of(uint32_t addr) { /* inverse of vip() */
    const unsigned char *b = (const unsigned char *)&addr;
    return ((b[1] - 1) << 16) | (b[2] << 8) | b[3];
}

/* ---- workloads ---- */

/* dist: "median=..,p90=.." of the per-operation times, or "n/a" (see dist.h) */
static void result(const char *w, double ns, int ops, const char *check, const char *dist) {
    printf("RESULT " CLIENT " %s %.0f %d %s %s\n", w, ns / ops, ops, check, dist);
}

/* Brings "lo" up: in a fresh network namespace the kernel has no local routing table until
 * then, and IPVS refuses (EINVAL) destinations whose address type it cannot classify. */
static void lo_up(void) {
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket", errno);
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS lo", errno);
    if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("SIOCSIFFLAGS lo", errno);
    }
    close(s);
}

static void setup(int svcs, int dests, uint32_t weight) {
    struct msg fl;
    lo_up();
    header(&fl, family, NLM_F_ACK, IPVS_CMD_FLUSH, IPVS_GENL_VERSION);
    finish(&fl);
    one(&fl, "flush");
    int n = svcs * (1 + dests), k = 0;
    struct msg *msgs = calloc(n ? n : 1, sizeof *msgs);
    for (int i = 0; i < svcs; i++) {
        svc_msg(&msgs[k++], IPVS_CMD_NEW_SERVICE, i, NLM_F_ACK);
        for (int j = 0; j < dests; j++) dest_msg(&msgs[k++], IPVS_CMD_NEW_DEST, i, j, weight);
    }
    if (batched(msgs, n)) die("setup", EIO);
    free(msgs);
    printf("SETUP %d %d\n", svcs, dests);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: raw_floor WORKLOAD N | setup S D W | flush\n");
        return 2;
    }
    const char *w = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 0;
    open_socket();
    if (!strcmp(w, "setup")) {
        setup(n, argc > 3 ? atoi(argv[3]) : 0, argc > 4 ? atoi(argv[4]) : 1);
        return 0;
    }
    struct msg *msgs = calloc(n > 0 ? n : 1, sizeof *msgs);
    char check[64], ds[64];
    struct dist dd = dist_new(n);
    double t;
    if (!strcmp(w, "flush")) {
        struct msg m;
        header(&m, family, NLM_F_ACK, IPVS_CMD_FLUSH, IPVS_GENL_VERSION);
        finish(&m);
        t = now();
        one(&m, "flush");
        t = now() - t;
        if (argc > 2) result("flush", t, 1, "-", "n/a");
    } else if (!strcmp(w, "add_service")) {
        for (int i = 0; i < n; i++) svc_msg(&msgs[i], IPVS_CMD_NEW_SERVICE, i, NLM_F_ACK);
        t = now();
        for (int i = 0; i < n; i++) {
            dist_begin(&dd);
            one(&msgs[i], "add service");
            dist_end(&dd);
        }
        t = now() - t;
        dist_format(&dd, ds, sizeof ds);
        result(w, t, n, "-", ds);
    } else if (!strcmp(w, "add_dest") || !strcmp(w, "update_weight")) {
        int add = !strcmp(w, "add_dest");
        for (int i = 0; i < n; i++)
            dest_msg(&msgs[i], add ? IPVS_CMD_NEW_DEST : IPVS_CMD_SET_DEST, i, 0, add ? 1 : 5);
        t = now();
        for (int i = 0; i < n; i++) {
            dist_begin(&dd);
            one(&msgs[i], w);
            dist_end(&dd);
        }
        t = now() - t;
        dist_format(&dd, ds, sizeof ds);
        result(w, t, n, "-", ds);
    } else if (!strcmp(w, "get_service")) {
        /* Service i % G with its destinations: GET_SERVICE, then a GET_DEST dump. */
        int g = argc > 3 ? atoi(argv[3]) : 100;
        struct msg *dm = calloc(n, sizeof *dm);
        for (int i = 0; i < n; i++) {
            svc_msg(&msgs[i], IPVS_CMD_GET_SERVICE, i % g, 0);
            svc_msg(&dm[i], IPVS_CMD_GET_DEST, i % g, NLM_F_DUMP);
        }
        int bad = 0, dests = 0;
        t = now();
        for (int i = 0; i < n; i++) {
            dist_begin(&dd);
            struct found f = {0};
            xsend(msgs[i].b, msgs[i].len);
            if (recv_until(-1, 0, service_msg, &f) || f.services != 1) die("get service", EIO);
            xsend(dm[i].b, dm[i].len);
            if (recv_until(0, 1, dest_reply, &f)) die("get dests", EIO);
            bad += index_of(f.addr) != i % g;
            dests += f.dests;
            dist_end(&dd);
        }
        t = now() - t;
        snprintf(check, sizeof check, "dests=%d,bad=%d", dests, bad);
        dist_format(&dd, ds, sizeof ds);
        result(w, t, n, check, ds);
        free(dm);
    } else if (!strcmp(w, "list")) {
        /* n full listings: one service dump, then one destination dump per service. */
        int reps = n, svcs = 0, dests = 0;
        struct msg all;
        header(&all, family, NLM_F_DUMP, IPVS_CMD_GET_SERVICE, IPVS_GENL_VERSION);
        finish(&all);
        struct found f = {0};
        f.keys_cap = 1 << 20;
        f.keys = calloc(f.keys_cap, sizeof *f.keys);
        t = now();
        for (int r = 0; r < reps; r++) {
            f.services = f.dests = 0;
            xsend(all.b, all.len);
            if (recv_until(0, 1, service_msg, &f)) die("list services", EIO);
            for (int i = 0; i < f.services; i++) {
                struct msg m;
                svc_msg(&m, IPVS_CMD_GET_DEST, index_of(f.keys[i]), NLM_F_DUMP);
                xsend(m.b, m.len);
                if (recv_until(0, 1, dest_reply, &f)) die("list dests", EIO);
            }
            svcs = f.services;
            dests = f.dests;
        }
        t = now() - t;
        snprintf(check, sizeof check, "services=%d,dests=%d", svcs, dests);
        result(w, t, reps, check, "n/a");
        free(f.keys);
    } else if (!strcmp(w, "batch")) {
        /* n changes: services with 4 destinations each (n/5 services), batched. */
        int svcs = n / 5, k = 0;
        for (int i = 0; i < svcs; i++) {
            svc_msg(&msgs[k++], IPVS_CMD_NEW_SERVICE, i, NLM_F_ACK);
            for (int j = 0; j < 4; j++) dest_msg(&msgs[k++], IPVS_CMD_NEW_DEST, i, j, 1);
        }
        t = now();
        int errors = batched(msgs, k);
        t = now() - t;
        snprintf(check, sizeof check, "errors=%d", errors);
        result(w, t, k, check, "n/a");
        if (errors) return 1;
    } else {
        fprintf(stderr, CLIENT ": unknown workload %s\n", w);
        return 2;
    }
    free(dd.ns);
    free(msgs);
    return 0;
}
