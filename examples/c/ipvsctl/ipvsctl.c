/*
 * ipvsctl: an ipvsadm-compatible command line tool built on lbnet's C ABI (libipvs_ffi.so,
 * include/ipvs_ffi.h).
 *
 * It accepts the everyday ipvsadm 1.31 commands and prints listings, saves and error messages
 * in ipvsadm 1.31's formats, so the two can be diffed. Where ipvsadm prints only its own error
 * text, ipvsctl prints the same text and then the library's message on a second line
 * ("ipvsctl: ..."). Exit status: 0 on success, 2 for bad usage, 1 when a listed service does
 * not exist, 255 (like ipvsadm's -1) when the kernel refused a change.
 *
 * Known, deliberate differences from ipvsadm (asserted by test.sh):
 *  - an over-long scheduler or persistence engine name (16+ characters) is rejected with a
 *    usage error; ipvsadm truncates it and lets the kernel refuse it;
 *  - `-R` parses every line before changing anything and then applies the whole file as one
 *    pipelined batch; a syntax error anywhere changes nothing.
 *
 * Build: see mk/ipvsctl.mk (`make ipvsctl`), links through `pkg-config ipvs_ffi`.
 */
#include <ipvs_ffi.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PROGRAM "ipvsctl"
#define DEF_SCHED "wlc"
#define DEF_MCAST_IFN "eth0"
#define DEF_PERSIST_TIMEOUT 360
#define MAX_TIMEOUT (86400 * 31)
#define EXIT_USAGE 2
#define EXIT_KERNEL 255

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* ---- commands and options ------------------------------------------------------------------ */

enum command {
    CMD_NONE,
    CMD_ADD,
    CMD_EDIT,
    CMD_DEL,
    CMD_FLUSH,
    CMD_LIST,
    CMD_ADDDEST,
    CMD_DELDEST,
    CMD_EDITDEST,
    CMD_TIMEOUT,
    CMD_STARTDAEMON,
    CMD_STOPDAEMON,
    CMD_RESTORE,
    CMD_SAVE,
    CMD_ZERO,
    CMD_COUNT
};

static const char *const command_names[CMD_COUNT] = {
    "", "add-service", "edit-service", "delete-service", "flush", "list", "add-server",
    "delete-server", "edit-server", "set", "start-daemon", "stop-daemon", "restore", "save",
    "zero",
};

enum option {
    OPT_NUMERIC,
    OPT_CONNECTION,
    OPT_SERVICE,
    OPT_SCHEDULER,
    OPT_PERSISTENT,
    OPT_NETMASK,
    OPT_SERVER,
    OPT_FORWARD,
    OPT_WEIGHT,
    OPT_UTHRESHOLD,
    OPT_LTHRESHOLD,
    OPT_MCAST,
    OPT_TIMEOUT,
    OPT_DAEMON,
    OPT_STATS,
    OPT_RATE,
    OPT_THRESHOLDS,
    OPT_PERSISTENTCONN,
    OPT_NOSORT,
    OPT_SYNCID,
    OPT_EXACT,
    OPT_ONEPACKET,
    OPT_PERSISTENCE_ENGINE,
    OPT_SCHED_FLAGS,
    OPT_MCAST_GROUP,
    OPT_MCAST_PORT,
    OPT_MCAST_TTL,
    OPT_SYNC_MAXLEN,
    OPT_TUN_INFO,
    OPT_TUN_TYPE,
    OPT_TUN_PORT,
    OPT_TUN_NOCSUM,
    OPT_TUN_CSUM,
    OPT_TUN_REMCSUM,
    OPT_COUNT
};

static const char *const option_names[OPT_COUNT] = {
    "numeric", "connection", "service-address", "scheduler", "persistent", "netmask",
    "real-server", "forwarding-method", "weight", "u-threshold", "l-threshold",
    "mcast-interface", "timeout", "daemon", "stats", "rate", "thresholds", "persistent-conn",
    "nosort", "syncid", "exact", "ops", "pe", "sched-flags", "mcast-group", "mcast-port",
    "mcast-ttl", "sync-maxlen", "tun-info", "tun-type", "tun-port", "tun-nocsum", "tun-csum",
    "tun-remcsum",
};

#define BIT(o) (1ULL << (o))

/* Per command: options that must be given, may be given, and of which at most one may be given
 * (everything else is illegal). */
struct command_rule {
    uint64_t required;
    uint64_t allowed;
    uint64_t exclusive;
};

#define SVC_OPTS                                                                          \
    (BIT(OPT_SERVICE) | BIT(OPT_SCHEDULER) | BIT(OPT_PERSISTENT) | BIT(OPT_NETMASK) |     \
     BIT(OPT_ONEPACKET) | BIT(OPT_PERSISTENCE_ENGINE) | BIT(OPT_SCHED_FLAGS))
#define DEST_OPTS                                                                         \
    (BIT(OPT_SERVICE) | BIT(OPT_SERVER) | BIT(OPT_FORWARD) | BIT(OPT_WEIGHT) |            \
     BIT(OPT_UTHRESHOLD) | BIT(OPT_LTHRESHOLD) | BIT(OPT_TUN_TYPE) | BIT(OPT_TUN_PORT) |  \
     BIT(OPT_TUN_NOCSUM) | BIT(OPT_TUN_CSUM) | BIT(OPT_TUN_REMCSUM))
#define LIST_EXCL \
    (BIT(OPT_CONNECTION) | BIT(OPT_SERVICE) | BIT(OPT_TIMEOUT) | BIT(OPT_DAEMON))
#define LIST_OPTS                                                                           \
    (LIST_EXCL | BIT(OPT_NUMERIC) | BIT(OPT_STATS) | BIT(OPT_RATE) | BIT(OPT_THRESHOLDS) | \
     BIT(OPT_PERSISTENTCONN) | BIT(OPT_NOSORT) | BIT(OPT_EXACT) | BIT(OPT_TUN_INFO))
#define DAEMON_OPTS                                                                      \
    (BIT(OPT_MCAST) | BIT(OPT_SYNCID) | BIT(OPT_MCAST_GROUP) | BIT(OPT_MCAST_PORT) |     \
     BIT(OPT_MCAST_TTL) | BIT(OPT_SYNC_MAXLEN))

static const struct command_rule command_rules[CMD_COUNT] = {
    [CMD_ADD] = {BIT(OPT_SERVICE), SVC_OPTS, 0},
    [CMD_EDIT] = {BIT(OPT_SERVICE), SVC_OPTS, 0},
    [CMD_DEL] = {BIT(OPT_SERVICE), BIT(OPT_SERVICE), 0},
    [CMD_FLUSH] = {0, 0, 0},
    [CMD_LIST] = {0, LIST_OPTS, LIST_EXCL},
    [CMD_ADDDEST] = {BIT(OPT_SERVICE) | BIT(OPT_SERVER), DEST_OPTS, 0},
    [CMD_DELDEST] = {BIT(OPT_SERVICE) | BIT(OPT_SERVER), BIT(OPT_SERVICE) | BIT(OPT_SERVER), 0},
    [CMD_EDITDEST] = {BIT(OPT_SERVICE) | BIT(OPT_SERVER), DEST_OPTS, 0},
    [CMD_TIMEOUT] = {0, 0, 0},
    [CMD_STARTDAEMON] = {0, DAEMON_OPTS, 0},
    [CMD_STOPDAEMON] = {0, BIT(OPT_SYNCID), 0},
    [CMD_RESTORE] = {0, 0, 0},
    [CMD_SAVE] = {0, BIT(OPT_NUMERIC), 0},
    [CMD_ZERO] = {0, BIT(OPT_SERVICE), 0},
};

/* Listing formats. */
enum {
    FMT_NUMERIC = 1 << 0,
    FMT_RULE = 1 << 1,
    FMT_STATS = 1 << 2,
    FMT_RATE = 1 << 3,
    FMT_THRESHOLDS = 1 << 4,
    FMT_PERSISTENTCONN = 1 << 5,
    FMT_NOSORT = 1 << 6,
    FMT_EXACT = 1 << 7,
    FMT_TUN_INFO = 1 << 8,
};

/* Everything one command line (or one line of -R input) asks for. */
struct request {
    enum command cmd;
    uint64_t options;
    unsigned format;
    lbnet_ipvs_service svc;
    lbnet_ipvs_dest dest;
    bool dest_port_given;
    bool ipv6_fwmark;
    const char *sched_flags; /* -b argument, parsed once the scheduler is known */
    lbnet_ipvs_timeouts timeouts;
    lbnet_ipvs_daemon daemon;
};

/* ---- errors ------------------------------------------------------------------------------- */

/* Set while reading -R input: a usage error must not exit in the middle of the parse. */
static bool in_restore;
static char restore_error[256];

static void fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints an ipvsadm-style usage error and exits (or, inside -R parsing, records it). */
static void fail(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (in_restore) {
        vsnprintf(restore_error, sizeof restore_error, fmt, ap);
        va_end(ap);
        return;
    }
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

static void try_help_exit(int status) {
    fprintf(stderr, "Try `%s -h' or '%s --help' for more information.\n", PROGRAM, PROGRAM);
    exit(status);
}

/* The text ipvsadm prints for errno `err` after the failed command `cmd` (its libipvs table),
 * else strerror. */
static const char *ipvsadm_strerror(enum command cmd, int err) {
    switch (err) {
    case EEXIST:
        if (cmd == CMD_ADD) return "Service already exists";
        if (cmd == CMD_ADDDEST) return "Destination already exists";
        if (cmd == CMD_STARTDAEMON) return "Daemon has already run";
        break;
    case ENOENT:
        if (cmd == CMD_ADD || cmd == CMD_EDIT) return "Scheduler or persistence engine not found";
        if (cmd == CMD_EDITDEST || cmd == CMD_DELDEST) return "No such destination";
        break;
    case ESRCH:
        if (cmd == CMD_EDIT || cmd == CMD_DEL || cmd == CMD_ZERO || cmd == CMD_LIST)
            return "No such service";
        if (cmd == CMD_ADDDEST || cmd == CMD_EDITDEST || cmd == CMD_DELDEST)
            return "Service not defined";
        if (cmd == CMD_STOPDAEMON) return "No daemon is running";
        break;
    case EPERM:
        return "Permission denied (you must be root)";
    case E2BIG:
    case EINVAL:
        return "Invalid operation.  Possibly wrong module version, address not unicast, ...";
    case ENOPROTOOPT:
        return "Protocol not available";
    case ENOMEM:
        return "Memory allocation problem";
    case EOPNOTSUPP:
        return "Operation not supported with IPv6";
    case EAFNOSUPPORT:
        return "Operation not supported with specified address family";
    case EMSGSIZE:
        return "Module is wrong version";
    default:
        break;
    }
    return strerror(err);
}

/* Reports a failed library call `rc` (a negative errno) the ipvsadm way plus our message. */
static void report_kernel_error(enum command cmd, int rc, const char *lib_message) {
    fprintf(stderr, "%s\n", ipvsadm_strerror(cmd, -rc));
    if (lib_message && *lib_message) fprintf(stderr, "%s: %s\n", PROGRAM, lib_message);
}

static void report_last_error(enum command cmd, int rc) {
    report_kernel_error(cmd, rc, lbnet_last_error());
}

/* ---- small parsers ------------------------------------------------------------------------ */

static bool all_digits(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return false;
    return true;
}

/* A decimal number in [min, max], or -1. */
static long parse_number(const char *s, long min, long max) {
    char *end;
    long v;
    if (!s || !*s) return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    return v;
}

static int service_to_port(const char *name, uint16_t proto) {
    struct servent *se = NULL;
    if (proto == IPPROTO_TCP) se = getservbyname(name, "tcp");
    else if (proto == IPPROTO_UDP) se = getservbyname(name, "udp");
    else if (proto == IPPROTO_SCTP) se = getservbyname(name, "sctp");
    return se ? ntohs((uint16_t)se->s_port) : -1;
}

/* Resolves an IPv4 host name (ipvsadm accepts names as well as addresses). */
static bool host_to_addr4(const char *name, lbnet_addr *out) {
    struct addrinfo hints = {.ai_family = AF_INET}, *res = NULL;
    if (getaddrinfo(name, NULL, &hints, &res) != 0 || !res) return false;
    memset(out, 0, sizeof *out);
    out->af = AF_INET;
    memcpy(out->addr, &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr, 4);
    freeaddrinfo(res);
    return true;
}

enum { HAS_ADDR = 1, HAS_PORT = 2 };

/* Parses "addr", "addr:port", "[v6]:port" or "v6" (port by number or service name). Returns
 * HAS_ADDR|HAS_PORT bits, 0 when malformed. */
static int parse_addrport(const char *text, uint16_t proto, lbnet_addr *addr, uint16_t *port) {
    char buf[128];
    char *host = buf, *portp = NULL;
    int result = HAS_ADDR;

    if (strlen(text) >= sizeof buf || all_digits(text)) return 0;
    strcpy(buf, text);
    if (buf[0] == '[') {
        host = buf + 1;
        char *close = strchr(host, ']');
        if (!close || close[1] != ':') return 0;
        *close = '\0';
        portp = close + 2;
        if (lbnet_addr_parse(host, addr) != 0 || addr->af != AF_INET6) return 0;
    } else if (strchr(buf, ':') && strchr(buf, ':') != strrchr(buf, ':')) {
        if (lbnet_addr_parse(host, addr) != 0 || addr->af != AF_INET6) return 0;
    } else {
        char *colon = strrchr(buf, ':');
        struct in_addr in;
        if (colon) {
            *colon = '\0';
            portp = colon + 1;
        }
        if (inet_aton(host, &in)) {
            memset(addr, 0, sizeof *addr);
            addr->af = AF_INET;
            memcpy(addr->addr, &in, 4);
        } else if (!host_to_addr4(host, addr)) {
            return 0;
        }
    }
    if (portp) {
        long p = parse_number(portp, 0, 65535);
        if (p < 0) p = service_to_port(portp, proto);
        if (p < 0) return 0;
        *port = (uint16_t)p;
        result |= HAS_PORT;
    }
    return result;
}

/* -M: a dotted IPv4 mask, or a prefix length (IPv6). Returns false when malformed. */
static bool parse_netmask(const char *text, uint32_t *mask) {
    struct in_addr in;
    if (all_digits(text)) {
        long v = parse_number(text, 0, 255);
        if (v < 0) return false;
        *mask = (uint32_t)v;
        return true;
    }
    if (inet_pton(AF_INET, text, &in) != 1) return false;
    *mask = ntohl(in.s_addr);
    return true;
}

static bool copy_name(char *dst, size_t cap, const char *src) {
    if (strlen(src) >= cap) return false;
    strcpy(dst, src);
    return true;
}

/* -b: comma-separated scheduler flags; sh-* only with sh, mh-* only with mh. */
static bool parse_sched_flags(const char *sched, const char *text, uint32_t *flags) {
    char buf[256];
    char *save = NULL, *tok;
    if (strlen(text) >= sizeof buf) {
        fail(EXIT_USAGE, "invalid scheduler flag `%s'", text);
        return false;
    }
    strcpy(buf, text);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "flag-1")) *flags |= LBNET_IPVS_SVC_F_SCHED1;
        else if (!strcmp(tok, "flag-2")) *flags |= LBNET_IPVS_SVC_F_SCHED2;
        else if (!strcmp(tok, "flag-3")) *flags |= LBNET_IPVS_SVC_F_SCHED3;
        else if (!strcmp(tok, "sh-fallback") || !strcmp(tok, "sh-port") ||
                 !strcmp(tok, "mh-fallback") || !strcmp(tok, "mh-port")) {
            if (strncmp(tok, sched, 2) != 0 || strlen(sched) != 2) {
                fail(EXIT_USAGE, "incompatible scheduler flag `%s'", tok);
                return false;
            }
            *flags |= strstr(tok, "fallback") ? LBNET_IPVS_SVC_F_SCHED1 : LBNET_IPVS_SVC_F_SCHED2;
        } else {
            fail(EXIT_USAGE, "invalid scheduler flag `%s'", tok);
            return false;
        }
    }
    return true;
}

static int parse_tun_type(const char *name) {
    if (!strcmp(name, "ipip")) return LBNET_IPVS_TUN_IPIP;
    if (!strcmp(name, "gue")) return LBNET_IPVS_TUN_GUE;
    if (!strcmp(name, "gre")) return LBNET_IPVS_TUN_GRE;
    return -1;
}

static const char *tun_type_name(uint32_t t) {
    switch (t) {
    case LBNET_IPVS_TUN_IPIP: return "ipip";
    case LBNET_IPVS_TUN_GUE: return "gue";
    case LBNET_IPVS_TUN_GRE: return "gre";
    default: return "unknown";
    }
}

/* ---- command line --------------------------------------------------------------------------- */

enum arg_kind { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL };

/* Option tags beyond single characters. */
enum {
    TAG_SET = 256,
    TAG_START_DAEMON,
    TAG_STOP_DAEMON,
    TAG_MCAST_INTERFACE,
    TAG_TIMEOUT,
    TAG_DAEMON,
    TAG_STATS,
    TAG_RATE,
    TAG_THRESHOLDS,
    TAG_PERSISTENTCONN,
    TAG_SORT,
    TAG_NO_SORT,
    TAG_PERSISTENCE_ENGINE,
    TAG_SCTP_SERVICE,
    TAG_MCAST_GROUP,
    TAG_MCAST_PORT,
    TAG_MCAST_TTL,
    TAG_SYNC_MAXLEN,
    TAG_TUN_INFO,
    TAG_TUN_TYPE,
    TAG_TUN_PORT,
    TAG_TUN_NOCSUM,
    TAG_TUN_CSUM,
    TAG_TUN_REMCSUM,
    TAG_EXACT,
};

struct opt_spec {
    const char *long_name;
    int tag; /* the short option character, or a TAG_* */
    enum arg_kind arg;
};

static const struct opt_spec opt_specs[] = {
    {"add-service", 'A', ARG_NONE},       {"edit-service", 'E', ARG_NONE},
    {"delete-service", 'D', ARG_NONE},    {"clear", 'C', ARG_NONE},
    {"list", 'L', ARG_NONE},              {"list", 'l', ARG_NONE},
    {"zero", 'Z', ARG_NONE},              {"add-server", 'a', ARG_NONE},
    {"edit-server", 'e', ARG_NONE},       {"delete-server", 'd', ARG_NONE},
    {"set", TAG_SET, ARG_NONE},           {"help", 'h', ARG_NONE},
    {"version", 'v', ARG_NONE},           {"restore", 'R', ARG_NONE},
    {"save", 'S', ARG_NONE},              {"start-daemon", TAG_START_DAEMON, ARG_REQUIRED},
    {"stop-daemon", TAG_STOP_DAEMON, ARG_REQUIRED},
    {"tcp-service", 't', ARG_REQUIRED},   {"udp-service", 'u', ARG_REQUIRED},
    {"sctp-service", TAG_SCTP_SERVICE, ARG_REQUIRED},
    {"fwmark-service", 'f', ARG_REQUIRED}, {"scheduler", 's', ARG_REQUIRED},
    {"persistent", 'p', ARG_OPTIONAL},    {"netmask", 'M', ARG_REQUIRED},
    {"real-server", 'r', ARG_REQUIRED},   {"masquerading", 'm', ARG_NONE},
    {"ipip", 'i', ARG_NONE},              {"gatewaying", 'g', ARG_NONE},
    {"weight", 'w', ARG_REQUIRED},        {"u-threshold", 'x', ARG_REQUIRED},
    {"l-threshold", 'y', ARG_REQUIRED},   {"numeric", 'n', ARG_NONE},
    {"connection", 'c', ARG_NONE},        {"mcast-interface", TAG_MCAST_INTERFACE, ARG_REQUIRED},
    {"syncid", 'I', ARG_REQUIRED},        {"timeout", TAG_TIMEOUT, ARG_NONE},
    {"daemon", TAG_DAEMON, ARG_NONE},     {"stats", TAG_STATS, ARG_NONE},
    {"rate", TAG_RATE, ARG_NONE},         {"thresholds", TAG_THRESHOLDS, ARG_NONE},
    {"persistent-conn", TAG_PERSISTENTCONN, ARG_NONE},
    {"nosort", TAG_NO_SORT, ARG_NONE},    {"sort", TAG_SORT, ARG_NONE},
    {"exact", TAG_EXACT, ARG_NONE},             {"ipv6", '6', ARG_NONE},
    {"ops", 'o', ARG_NONE},               {"pe", TAG_PERSISTENCE_ENGINE, ARG_REQUIRED},
    {"sched-flags", 'b', ARG_REQUIRED},   {"mcast-group", TAG_MCAST_GROUP, ARG_REQUIRED},
    {"mcast-port", TAG_MCAST_PORT, ARG_REQUIRED},
    {"mcast-ttl", TAG_MCAST_TTL, ARG_REQUIRED},
    {"sync-maxlen", TAG_SYNC_MAXLEN, ARG_REQUIRED},
    {"tun-info", TAG_TUN_INFO, ARG_NONE}, {"tun-type", TAG_TUN_TYPE, ARG_REQUIRED},
    {"tun-port", TAG_TUN_PORT, ARG_REQUIRED},
    {"tun-nocsum", TAG_TUN_NOCSUM, ARG_NONE}, {"tun-csum", TAG_TUN_CSUM, ARG_NONE},
    {"tun-remcsum", TAG_TUN_REMCSUM, ARG_NONE},
};

#define N_SPECS (sizeof opt_specs / sizeof opt_specs[0])

static const struct opt_spec *find_long(const char *name, size_t len) {
    for (size_t i = 0; i < N_SPECS; i++)
        if (strlen(opt_specs[i].long_name) == len && !strncmp(opt_specs[i].long_name, name, len))
            return &opt_specs[i];
    return NULL;
}

static const struct opt_spec *find_short(int c) {
    for (size_t i = 0; i < N_SPECS; i++)
        if (opt_specs[i].tag == c && c < 256) return &opt_specs[i];
    return NULL;
}

/* A getopt-like walker over argv that understands ipvsadm's (popt's) syntax: clustered short
 * options ("-Ln", "-At 1.2.3.4:80"), "--long value", "--long=value" and -p's optional value. */
struct walker {
    int argc;
    char **argv;
    int index;          /* next argv element */
    const char *cluster; /* rest of a short-option cluster */
    const char *bad;     /* the offending text on error */
};

/* Returns the next tag and sets *arg; 0 at the end, -1 for an unknown option, -2 for a stray
 * non-option argument, -3 for a missing value (w->bad names the offending text). */
static int walker_next(struct walker *w, const char **arg) {
    const struct opt_spec *spec;
    const char *inline_arg = NULL;

    *arg = NULL;
    if (w->cluster && *w->cluster) {
        w->bad = w->cluster;
        spec = find_short((unsigned char)*w->cluster);
        w->cluster++;
        if (!spec) return -1;
        if (spec->arg != ARG_NONE && *w->cluster) {
            inline_arg = w->cluster;
            w->cluster = NULL;
        }
    } else {
        const char *a;
        w->cluster = NULL;
        if (w->index >= w->argc) return 0;
        a = w->argv[w->index++];
        w->bad = a;
        if (a[0] != '-' || a[1] == '\0') return -2;
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            spec = find_long(a + 2, len);
            if (!spec) return -1;
            if (eq) {
                if (spec->arg == ARG_NONE) return -1;
                inline_arg = eq + 1;
            }
        } else {
            w->cluster = a + 1;
            return walker_next(w, arg);
        }
    }
    if (spec->arg == ARG_NONE) return spec->tag;
    if (inline_arg) {
        *arg = inline_arg;
        return spec->tag;
    }
    if (w->index < w->argc && (spec->arg == ARG_REQUIRED || w->argv[w->index][0] != '-')) {
        *arg = w->argv[w->index++];
        return spec->tag;
    }
    if (spec->arg == ARG_OPTIONAL) return spec->tag;
    return -3;
}

static void set_command(struct request *rq, enum command cmd) {
    if (rq->cmd != CMD_NONE) {
        fail(EXIT_USAGE, "multiple commands specified");
        return;
    }
    rq->cmd = cmd;
}

static void set_option(struct request *rq, enum option opt) {
    if (rq->options & BIT(opt)) {
        fail(EXIT_USAGE, "multiple '%s' options specified", option_names[opt]);
        return;
    }
    rq->options |= BIT(opt);
}

/* -t/-u/--sctp-service/-f. */
static void set_service(struct request *rq, int tag, const char *arg) {
    int parsed;
    set_option(rq, OPT_SERVICE);
    if (tag == 'f') {
        long mark = parse_number(arg, 1, UINT32_MAX);
        if (mark < 0) {
            fail(EXIT_USAGE, "invalid fwmark value `%s' specified", arg);
            return;
        }
        rq->svc.fwmark = (uint32_t)mark;
        if (rq->svc.af != AF_INET6) rq->svc.af = AF_INET;
        return;
    }
    rq->svc.protocol = tag == 't' ? IPPROTO_TCP : tag == 'u' ? IPPROTO_UDP : IPPROTO_SCTP;
    parsed = parse_addrport(arg, rq->svc.protocol, &rq->svc.addr, &rq->svc.port);
    if (!(parsed & HAS_ADDR)) {
        fail(EXIT_USAGE, "illegal virtual server address[:port] specified");
        return;
    }
    rq->svc.af = rq->svc.addr.af;
}

static void set_timeout_value(const char *arg, uint32_t *out, const char *what) {
    long v = parse_number(arg, 0, MAX_TIMEOUT);
    (void)what;
    if (v < 0) {
        fail(EXIT_USAGE, "invalid timeout value `%s' specified", arg);
        return;
    }
    *out = (uint32_t)v;
}

static int daemon_state(const char *arg) {
    if (!strcmp(arg, "master")) return LBNET_IPVS_DAEMON_MASTER;
    if (!strcmp(arg, "backup")) return LBNET_IPVS_DAEMON_BACKUP;
    return -1;
}

/* Applies one parsed option. Returns false when parsing must stop (usage error). */
static bool apply_option(struct request *rq, int tag, const char *arg) {
    long v;
    int parsed;

    switch (tag) {
    case 'A': set_command(rq, CMD_ADD); break;
    case 'E': set_command(rq, CMD_EDIT); break;
    case 'D': set_command(rq, CMD_DEL); break;
    case 'a': set_command(rq, CMD_ADDDEST); break;
    case 'e': set_command(rq, CMD_EDITDEST); break;
    case 'd': set_command(rq, CMD_DELDEST); break;
    case 'C': set_command(rq, CMD_FLUSH); break;
    case 'L':
    case 'l': set_command(rq, CMD_LIST); break;
    case 'Z': set_command(rq, CMD_ZERO); break;
    case TAG_SET: set_command(rq, CMD_TIMEOUT); break;
    case 'R': set_command(rq, CMD_RESTORE); break;
    case 'S':
        set_command(rq, CMD_SAVE);
        rq->format |= FMT_RULE;
        break;
    case TAG_START_DAEMON:
    case TAG_STOP_DAEMON:
        set_command(rq, tag == TAG_START_DAEMON ? CMD_STARTDAEMON : CMD_STOPDAEMON);
        if ((v = daemon_state(arg)) < 0) {
            fail(EXIT_USAGE, "illegal start-daemon parameter specified");
            return false;
        }
        rq->daemon.state = (uint32_t)v;
        break;
    case 't':
    case 'u':
    case 'f':
    case TAG_SCTP_SERVICE: set_service(rq, tag, arg); break;
    case '6':
        if (rq->svc.fwmark) rq->svc.af = AF_INET6;
        rq->ipv6_fwmark = true;
        break;
    case 's':
        set_option(rq, OPT_SCHEDULER);
        if (!copy_name(rq->svc.sched_name, sizeof rq->svc.sched_name, arg))
            fail(EXIT_USAGE, "scheduler name `%s' is too long (at most %d characters)", arg,
                 LBNET_IPVS_SCHED_NAME_LEN - 1);
        break;
    case 'p':
        set_option(rq, OPT_PERSISTENT);
        rq->svc.flags |= LBNET_IPVS_SVC_F_PERSISTENT;
        rq->svc.timeout = DEF_PERSIST_TIMEOUT;
        if (arg) {
            v = parse_number(arg, 1, MAX_TIMEOUT);
            if (v < 0) {
                fail(EXIT_USAGE, "invalid timeout value `%s' specified", arg);
                return false;
            }
            rq->svc.timeout = (uint32_t)v;
        }
        break;
    case 'M':
        set_option(rq, OPT_NETMASK);
        if (!parse_netmask(arg, &rq->svc.netmask)) {
            fail(EXIT_USAGE, "invalid netmask specified");
            return false;
        }
        break;
    case 'o':
        set_option(rq, OPT_ONEPACKET);
        rq->svc.flags |= LBNET_IPVS_SVC_F_ONEPACKET;
        break;
    case TAG_PERSISTENCE_ENGINE:
        set_option(rq, OPT_PERSISTENCE_ENGINE);
        if (!copy_name(rq->svc.pe_name, sizeof rq->svc.pe_name, arg))
            fail(EXIT_USAGE, "persistence engine name `%s' is too long (at most %d characters)",
                 arg, LBNET_IPVS_PE_NAME_LEN - 1);
        break;
    case 'b':
        set_option(rq, OPT_SCHED_FLAGS);
        rq->sched_flags = arg;
        break;
    case 'r':
        set_option(rq, OPT_SERVER);
        parsed = parse_addrport(arg, rq->svc.protocol, &rq->dest.addr, &rq->dest.port);
        if (!(parsed & HAS_ADDR)) {
            fail(EXIT_USAGE, "illegal real server address[:port] specified");
            return false;
        }
        rq->dest_port_given = parsed & HAS_PORT;
        break;
    case 'g':
    case 'i':
    case 'm':
        set_option(rq, OPT_FORWARD);
        rq->dest.fwd_method = tag == 'g'   ? LBNET_IPVS_FWD_ROUTE
                              : tag == 'i' ? LBNET_IPVS_FWD_TUNNEL
                                           : LBNET_IPVS_FWD_MASQ;
        break;
    case 'w':
        set_option(rq, OPT_WEIGHT);
        if ((v = parse_number(arg, 0, 65535)) < 0) {
            fail(EXIT_USAGE, "illegal weight specified");
            return false;
        }
        rq->dest.weight = (int32_t)v;
        break;
    case 'x':
    case 'y':
        set_option(rq, tag == 'x' ? OPT_UTHRESHOLD : OPT_LTHRESHOLD);
        if ((v = parse_number(arg, 0, INT_MAX)) < 0) {
            fail(EXIT_USAGE, "illegal %s threshold specified", tag == 'x' ? "upper" : "lower");
            return false;
        }
        if (tag == 'x') rq->dest.u_threshold = (uint32_t)v;
        else rq->dest.l_threshold = (uint32_t)v;
        break;
    case TAG_TUN_TYPE:
        set_option(rq, OPT_TUN_TYPE);
        if ((v = parse_tun_type(arg)) < 0) {
            fail(EXIT_USAGE, "illegal tunnel type specified");
            return false;
        }
        rq->dest.tun_type = (uint32_t)v;
        break;
    case TAG_TUN_PORT:
        set_option(rq, OPT_TUN_PORT);
        if ((v = parse_number(arg, 1, 65535)) < 0) {
            fail(EXIT_USAGE, "illegal tunnel port specified");
            return false;
        }
        rq->dest.tun_port = (uint16_t)v;
        break;
    case TAG_TUN_NOCSUM:
        set_option(rq, OPT_TUN_NOCSUM);
        rq->dest.tun_flags |= LBNET_IPVS_TUN_F_NOCSUM;
        break;
    case TAG_TUN_CSUM:
        set_option(rq, OPT_TUN_CSUM);
        rq->dest.tun_flags |= LBNET_IPVS_TUN_F_CSUM;
        break;
    case TAG_TUN_REMCSUM:
        set_option(rq, OPT_TUN_REMCSUM);
        rq->dest.tun_flags |= LBNET_IPVS_TUN_F_REMCSUM;
        break;
    case 'n':
        set_option(rq, OPT_NUMERIC);
        rq->format |= FMT_NUMERIC;
        break;
    case 'c': set_option(rq, OPT_CONNECTION); break;
    case TAG_TIMEOUT: set_option(rq, OPT_TIMEOUT); break;
    case TAG_DAEMON: set_option(rq, OPT_DAEMON); break;
    case TAG_STATS:
        set_option(rq, OPT_STATS);
        rq->format |= FMT_STATS;
        break;
    case TAG_RATE:
        set_option(rq, OPT_RATE);
        rq->format |= FMT_RATE;
        break;
    case TAG_THRESHOLDS:
        set_option(rq, OPT_THRESHOLDS);
        rq->format |= FMT_THRESHOLDS;
        break;
    case TAG_PERSISTENTCONN:
        set_option(rq, OPT_PERSISTENTCONN);
        rq->format |= FMT_PERSISTENTCONN;
        break;
    case TAG_TUN_INFO:
        set_option(rq, OPT_TUN_INFO);
        rq->format |= FMT_TUN_INFO;
        break;
    case TAG_NO_SORT:
        set_option(rq, OPT_NOSORT);
        rq->format |= FMT_NOSORT;
        break;
    case TAG_SORT: break;
    case TAG_EXACT:
        set_option(rq, OPT_EXACT);
        rq->format |= FMT_EXACT;
        break;
    case TAG_MCAST_INTERFACE:
        set_option(rq, OPT_MCAST);
        if (!copy_name(rq->daemon.mcast_ifname, sizeof rq->daemon.mcast_ifname, arg)) {
            fail(EXIT_USAGE, "illegal mcast-interface specified");
            return false;
        }
        break;
    case 'I':
        set_option(rq, OPT_SYNCID);
        if ((v = parse_number(arg, 0, 255)) < 0) {
            fail(EXIT_USAGE, "illegal syncid specified");
            return false;
        }
        rq->daemon.syncid = (uint32_t)v;
        break;
    case TAG_MCAST_GROUP:
        set_option(rq, OPT_MCAST_GROUP);
        if (lbnet_addr_parse(arg, &rq->daemon.mcast_group) != 0) {
            fail(EXIT_USAGE, "invalid mcast-group `%s'", arg);
            return false;
        }
        break;
    case TAG_MCAST_PORT:
        set_option(rq, OPT_MCAST_PORT);
        if ((v = parse_number(arg, 1, 65535)) < 0) {
            fail(EXIT_USAGE, "illegal mcast-port specified");
            return false;
        }
        rq->daemon.mcast_port = (uint16_t)v;
        break;
    case TAG_MCAST_TTL:
        set_option(rq, OPT_MCAST_TTL);
        if ((v = parse_number(arg, 1, 255)) < 0) {
            fail(EXIT_USAGE, "illegal mcast-ttl specified");
            return false;
        }
        rq->daemon.mcast_ttl = (uint8_t)v;
        break;
    case TAG_SYNC_MAXLEN:
        set_option(rq, OPT_SYNC_MAXLEN);
        if ((v = parse_number(arg, 1, 65535 - 20 - 8)) < 0) {
            fail(EXIT_USAGE, "illegal sync-maxlen specified");
            return false;
        }
        rq->daemon.sync_maxlen = (uint32_t)v;
        break;
    default:
        fail(EXIT_USAGE, "invalid option");
        return false;
    }
    return !(in_restore && restore_error[0]);
}

/* Checks the options against the command's rule (ipvsadm's messages). */
static bool check_options(const struct request *rq) {
    const struct command_rule *rule = &command_rules[rq->cmd];
    int first_excl = -1;

    for (int o = 0; o < OPT_COUNT; o++) {
        uint64_t b = BIT(o);
        if (!(rq->options & b)) {
            if (rule->required & b) {
                fail(EXIT_USAGE, "You need to supply the '%s' option for the '%s' command",
                     option_names[o], command_names[rq->cmd]);
                return false;
            }
            continue;
        }
        if (!(rule->allowed & b)) {
            fail(EXIT_USAGE, "Illegal '%s' option with the '%s' command", option_names[o],
                 command_names[rq->cmd]);
            return false;
        }
        if (rule->exclusive & b) {
            if (first_excl >= 0) {
                fail(EXIT_USAGE,
                     "The option '%s' conflicts with the '%s' option in the '%s' command",
                     option_names[o], option_names[first_excl], command_names[rq->cmd]);
                return false;
            }
            first_excl = o;
        }
    }
    return true;
}

/* Tunnel options: ipip takes none; gue needs --tun-port and one checksum option at most; gre
 * takes one of --tun-nocsum/--tun-csum. */
static bool check_tunnel(const struct request *rq) {
    static const enum option tun_opts[] = {OPT_TUN_PORT, OPT_TUN_NOCSUM, OPT_TUN_CSUM,
                                           OPT_TUN_REMCSUM};
    /* per type: 'x' illegal, '+' required, '1' at most one of these, ' ' optional */
    static const char table[3][4] = {{'x', 'x', 'x', 'x'}, {'+', '1', '1', '1'},
                                     {'x', '1', '1', 'x'}};
    uint32_t t = rq->dest.tun_type;
    int last = -1;
    for (int j = 0; j < 4; j++) {
        enum option o = tun_opts[j];
        if (!(rq->options & BIT(o))) {
            if (table[t][j] == '+') {
                fail(EXIT_USAGE, "You need to supply the '%s' option for the '%s' tunnel type",
                     option_names[o], tun_type_name(t));
                return false;
            }
            continue;
        }
        if (table[t][j] == 'x') {
            fail(EXIT_USAGE, "Illegal '%s' option with the '%s' tunnel type", option_names[o],
                 tun_type_name(t));
            return false;
        }
        if (table[t][j] == '1') {
            if (last >= 0) {
                fail(EXIT_USAGE,
                     "The option '%s' conflicts with the '%s' option in the '%s' tunnel type",
                     option_names[o], option_names[last], tun_type_name(t));
                return false;
            }
            last = (int)o;
        }
    }
    return true;
}

/* Fills defaults and cross-checks a parsed request (ipvsadm's rules). */
static bool finish_request(struct request *rq) {
    if (!check_options(rq)) return false;
    if (rq->cmd == CMD_ADD || rq->cmd == CMD_EDIT) {
        if (!rq->svc.sched_name[0]) strcpy(rq->svc.sched_name, DEF_SCHED);
        if (rq->sched_flags &&
            !parse_sched_flags(rq->svc.sched_name, rq->sched_flags, &rq->svc.flags))
            return false;
        if ((rq->svc.flags & LBNET_IPVS_SVC_F_ONEPACKET) && rq->svc.protocol != IPPROTO_UDP) {
            fail(EXIT_USAGE, "One-Packet Scheduling is only for UDP virtual services");
            return false;
        }
        if (!rq->svc.fwmark && !rq->svc.port &&
            !(rq->svc.flags & LBNET_IPVS_SVC_F_PERSISTENT)) {
            fail(EXIT_USAGE, "Zero port specified for non-persistent service");
            return false;
        }
        if (rq->svc.af == AF_INET6 && (rq->options & BIT(OPT_NETMASK)) &&
            (rq->svc.netmask < 1 || rq->svc.netmask > 128)) {
            fail(EXIT_USAGE, "illegal ipv6 netmask specified");
            return false;
        }
    }
    if (rq->svc.fwmark && rq->ipv6_fwmark) rq->svc.af = AF_INET6;
    if (!rq->svc.netmask) rq->svc.netmask = rq->svc.af == AF_INET6 ? 128 : 0xffffffffu;
    if (rq->cmd == CMD_STARTDAEMON && !rq->daemon.mcast_ifname[0])
        strcpy(rq->daemon.mcast_ifname, DEF_MCAST_IFN);
    if (rq->cmd == CMD_ADDDEST || rq->cmd == CMD_EDITDEST || rq->cmd == CMD_DELDEST) {
        uint32_t fwd = rq->dest.fwd_method;
        /* No port: the service's. Direct routing and tunnelling cannot change the port, so
         * add/edit force the service's port for them (not for a fwmark service). */
        if (!rq->dest_port_given) rq->dest.port = rq->svc.port;
        if (rq->cmd != CMD_DELDEST && !rq->svc.fwmark &&
            (fwd == LBNET_IPVS_FWD_TUNNEL || fwd == LBNET_IPVS_FWD_ROUTE))
            rq->dest.port = rq->svc.port;
        if (rq->cmd != CMD_DELDEST) {
            if (rq->dest.addr.af != rq->svc.af && fwd != LBNET_IPVS_FWD_TUNNEL) {
                fail(EXIT_USAGE, "Different address family is allowed only for tunneling servers");
                return false;
            }
            if ((rq->options & (BIT(OPT_TUN_TYPE) | BIT(OPT_TUN_PORT) | BIT(OPT_TUN_NOCSUM) |
                                BIT(OPT_TUN_CSUM) | BIT(OPT_TUN_REMCSUM))) &&
                fwd != LBNET_IPVS_FWD_TUNNEL) {
                fail(EXIT_USAGE, "Tunnel options conflict with forward method");
                return false;
            }
            if (!check_tunnel(rq)) return false;
        }
    }
    return true;
}

static void request_init(struct request *rq) {
    memset(rq, 0, sizeof *rq);
    rq->dest.weight = 1;
    rq->dest.fwd_method = LBNET_IPVS_FWD_ROUTE;
}

/* ---- output helpers ------------------------------------------------------------------------- */

static void format_addr(const lbnet_addr *a, char *buf, size_t cap) {
    if (lbnet_addr_format(a, buf, cap) != 0) snprintf(buf, cap, "?");
}

static const char *proto_name(uint16_t p) {
    return p == IPPROTO_TCP ? "TCP" : p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "?";
}

static const char *proto_switch(uint16_t p) {
    return p == IPPROTO_TCP ? "-t" : p == IPPROTO_UDP ? "-u" : "--sctp-service";
}

/* The host name of an address, or its text form. */
static void addr_to_anyname(const lbnet_addr *a, char *buf, size_t cap) {
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (a->af == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, a->addr, 4);
        len = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, a->addr, 16);
        len = sizeof *sin6;
    }
    if (getnameinfo((struct sockaddr *)&ss, len, buf, (socklen_t)cap, NULL, 0, NI_NAMEREQD) != 0)
        format_addr(a, buf, cap);
}

static void port_to_anyname(uint16_t port, uint16_t proto, char *buf, size_t cap) {
    struct servent *se = NULL;
    if (proto == IPPROTO_TCP) se = getservbyport(htons(port), "tcp");
    else if (proto == IPPROTO_UDP) se = getservbyport(htons(port), "udp");
    if (se) snprintf(buf, cap, "%s", se->s_name);
    else snprintf(buf, cap, "%u", port);
}

/* "1.2.3.4:80", "[2001:db8::1]:80", or with names unless FMT_NUMERIC. */
static void addrport_name(const lbnet_addr *a, uint16_t port, uint16_t proto,
                          unsigned format, char *buf, size_t cap) {
    char host[NI_MAXHOST], serv[64];
    if (format & FMT_NUMERIC) {
        format_addr(a, host, sizeof host);
        snprintf(serv, sizeof serv, "%u", port);
    } else {
        addr_to_anyname(a, host, sizeof host);
        port_to_anyname(port, proto, serv, sizeof serv);
    }
    /* ipvsadm formats into 60 bytes; a longer name is cut the same way. */
    if (cap > 60) cap = 60;
    if (snprintf(buf, cap, "%s%s%s:%s", a->af == AF_INET ? "" : "[", host,
                 a->af == AF_INET ? "" : "]", serv) >= (int)cap)
        buf[cap - 1] = '\0';
}

static void print_largenum(uint64_t n, unsigned format) {
    if (format & FMT_EXACT) {
        char tmp[32];
        int len = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)n);
        printf("%*llu", len <= 8 ? 9 : len + 1, (unsigned long long)n);
    } else if (n < 100000000ULL) {
        printf("%9llu", (unsigned long long)n);
    } else if (n < 1000000000ULL) {
        printf("%8lluK", (unsigned long long)(n / 1000));
    } else if (n < 100000000000ULL) {
        printf("%8lluM", (unsigned long long)(n / 1000000));
    } else if (n < 100000000000000ULL) {
        printf("%8lluG", (unsigned long long)(n / 1000000000ULL));
    } else {
        printf("%8lluT", (unsigned long long)(n / 1000000000000ULL));
    }
}

static void print_title(unsigned format) {
    if (format & FMT_STATS)
        printf("%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port",
               "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes");
    else if (format & FMT_RATE)
        printf("%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port",
               "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS");
    else if (format & FMT_THRESHOLDS)
        printf("%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
               "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn");
    else if (format & FMT_PERSISTENTCONN)
        printf("%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
               "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn");
    else if (format & FMT_TUN_INFO)
        printf("Prot LocalAddress:Port Scheduler Flags\n"
               "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn "
               "InActConn\n");
    else if (!(format & FMT_RULE))
        printf("Prot LocalAddress:Port Scheduler Flags\n"
               "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
}

/* Scheduler flags as ipvsadm names them ("sh-fallback,sh-port", "flag-1"...), "" if none. */
static void sched_flags_text(const lbnet_ipvs_service *s, char *buf, size_t cap) {
    const char *n1 = "flag-1", *n2 = "flag-2";
    buf[0] = '\0';
    if (!strcmp(s->sched_name, "sh")) {
        n1 = "sh-fallback";
        n2 = "sh-port";
    } else if (!strcmp(s->sched_name, "mh")) {
        n1 = "mh-fallback";
        n2 = "mh-port";
    }
    if (s->flags & LBNET_IPVS_SVC_F_SCHED1) snprintf(buf + strlen(buf), cap - strlen(buf), "%s,", n1);
    if (s->flags & LBNET_IPVS_SVC_F_SCHED2) snprintf(buf + strlen(buf), cap - strlen(buf), "%s,", n2);
    if ((s->flags & LBNET_IPVS_SVC_F_SCHED3) && !strcmp(n1, "flag-1"))
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s,", "flag-3");
    if (buf[0]) buf[strlen(buf) - 1] = '\0';
}

/* Any scheduler flag set (ipvsadm prints the list, possibly empty: "mh ()", "-b "). */
static bool has_sched_flags(const lbnet_ipvs_service *s) {
    return s->flags &
           (LBNET_IPVS_SVC_F_SCHED1 | LBNET_IPVS_SVC_F_SCHED2 | LBNET_IPVS_SVC_F_SCHED3);
}

static void ipv4_mask_text(uint32_t mask, char *buf, size_t cap) {
    struct in_addr in = {.s_addr = htonl(mask)};
    snprintf(buf, cap, "%s", inet_ntoa(in));
}

/* The service's name column: "TCP  1.2.3.4:80", "FWM  7 IPv6", or "-t 1.2.3.4:80" for rules. */
static void service_name(const lbnet_ipvs_service *s, unsigned format, char *buf, size_t cap) {
    if (s->fwmark) {
        if (format & FMT_RULE)
            snprintf(buf, cap, "-f %u%s", s->fwmark, s->af == AF_INET6 ? " -6" : "");
        else
            snprintf(buf, cap, "FWM  %u%s", s->fwmark, s->af == AF_INET6 ? " IPv6" : "");
        return;
    }
    char v[128];
    addrport_name(&s->addr, s->port, s->protocol, format, v, sizeof v);
    if (format & FMT_RULE) {
        snprintf(buf, cap, "%s %s", proto_switch(s->protocol), v);
    } else {
        snprintf(buf, cap, "%-4s %s", proto_name(s->protocol), v);
        if (s->af != AF_INET6 && strlen(buf) > 33) buf[33] = '\0';
    }
}

static void print_service_rule(const lbnet_ipvs_service *s, const char *name) {
    char tmp[64];
    printf("-A %s -s %s", name, s->sched_name);
    if (s->flags & LBNET_IPVS_SVC_F_PERSISTENT) {
        printf(" -p %u", s->timeout);
        if (s->af == AF_INET && s->netmask != 0xffffffffu) {
            ipv4_mask_text(s->netmask, tmp, sizeof tmp);
            printf(" -M %s", tmp);
        } else if (s->af == AF_INET6 && s->netmask != 128) {
            printf(" -M %u", s->netmask);
        }
    }
    if (s->pe_name[0]) printf(" --pe %s", s->pe_name);
    if (s->flags & LBNET_IPVS_SVC_F_ONEPACKET) printf(" -o");
    sched_flags_text(s, tmp, sizeof tmp);
    if (has_sched_flags(s)) printf(" -b %s", tmp);
}

static void print_service_plain(const lbnet_ipvs_service *s, const char *name) {
    char tmp[64];
    printf("%s %s", name, s->sched_name);
    sched_flags_text(s, tmp, sizeof tmp);
    if (has_sched_flags(s)) printf(" (%s)", tmp);
    if (s->flags & LBNET_IPVS_SVC_F_PERSISTENT) {
        printf(" persistent %u", s->timeout);
        if (s->af == AF_INET && s->netmask != 0xffffffffu) {
            ipv4_mask_text(s->netmask, tmp, sizeof tmp);
            printf(" mask %s", tmp);
        } else if (s->af == AF_INET6 && s->netmask != 128) {
            printf(" mask %u", s->netmask);
        }
    }
    if (s->pe_name[0]) printf(" pe %s", s->pe_name);
    if (s->flags & LBNET_IPVS_SVC_F_ONEPACKET) printf(" ops");
}

static void print_stats5(const char *name, const uint64_t v[5], unsigned format) {
    printf("%-33s", name);
    for (int i = 0; i < 5; i++) print_largenum(v[i], format);
}

static void print_service_line(const lbnet_ipvs_service *s, unsigned format, char *name,
                               size_t cap) {
    service_name(s, format, name, cap);
    if (format & FMT_RULE) {
        print_service_rule(s, name);
    } else if (format & FMT_STATS) {
        const uint64_t v[5] = {s->stats.conns, s->stats.inpkts, s->stats.outpkts,
                               s->stats.inbytes, s->stats.outbytes};
        print_stats5(name, v, format);
    } else if (format & FMT_RATE) {
        const uint64_t v[5] = {s->stats.cps, s->stats.inpps, s->stats.outpps, s->stats.inbps,
                               s->stats.outbps};
        print_stats5(name, v, format);
    } else {
        print_service_plain(s, name);
    }
    printf("\n");
}

static const char *fwd_name(uint32_t m) {
    switch (m) {
    case LBNET_IPVS_FWD_MASQ: return "Masq";
    case LBNET_IPVS_FWD_LOCAL: return "Local";
    case LBNET_IPVS_FWD_TUNNEL: return "Tunnel";
    case LBNET_IPVS_FWD_ROUTE: return "Route";
    default: return "(null)";
    }
}

/* As ipvsadm -S: local and direct routing save as -g; bypass (which no option sets) as "(null)",
 * so restoring it fails loudly instead of turning it into direct routing. */
static const char *fwd_switch(uint32_t m) {
    switch (m) {
    case LBNET_IPVS_FWD_MASQ: return "-m";
    case LBNET_IPVS_FWD_TUNNEL: return "-i";
    case LBNET_IPVS_FWD_LOCAL:
    case LBNET_IPVS_FWD_ROUTE: return "-g";
    default: return "(null)";
    }
}

static const char *tun_flags_option(uint32_t f) {
    return f == LBNET_IPVS_TUN_F_CSUM      ? "--tun-csum"
           : f == LBNET_IPVS_TUN_F_REMCSUM ? "--tun-remcsum"
                                           : "--tun-nocsum";
}

/* --tun-info's short checksum names: "-c" none, "+c" checksum, "r+c" remote checksum. */
static const char *tun_flags_name(uint32_t f) {
    return f == LBNET_IPVS_TUN_F_CSUM ? "+c" : f == LBNET_IPVS_TUN_F_REMCSUM ? "r+c" : "-c";
}

static void print_dest_rule(const char *svc, const char *dname, const lbnet_ipvs_dest *d) {
    printf("-a %s -r %s %s -w %d", svc, dname, fwd_switch(d->fwd_method), d->weight);
    if (d->fwd_method == LBNET_IPVS_FWD_TUNNEL) {
        printf(" --tun-type %s", tun_type_name(d->tun_type));
        if (d->tun_type == LBNET_IPVS_TUN_GUE)
            printf(" --tun-port %u %s", d->tun_port, tun_flags_option(d->tun_flags));
        else if (d->tun_type == LBNET_IPVS_TUN_GRE)
            printf(" %s", tun_flags_option(d->tun_flags));
    }
    printf("\n");
}

static void print_dest_line(const lbnet_ipvs_service *s, const char *svc_name,
                            const lbnet_ipvs_dest *d, unsigned format) {
    char dname[128];
    addrport_name(&d->addr, d->port, s->protocol, format, dname, sizeof dname);
    if (!(format & FMT_RULE) && s->af != AF_INET6 && strlen(dname) > 28) dname[28] = '\0';

    if (format & FMT_RULE) {
        print_dest_rule(svc_name, dname, d);
    } else if (format & FMT_STATS) {
        const uint64_t v[5] = {d->stats.conns, d->stats.inpkts, d->stats.outpkts,
                               d->stats.inbytes, d->stats.outbytes};
        printf("  -> %-28s", dname);
        for (int i = 0; i < 5; i++) print_largenum(v[i], format);
        printf("\n");
    } else if (format & FMT_RATE) {
        printf("  -> %-28s %8llu %8llu %8llu", dname, (unsigned long long)d->stats.cps,
               (unsigned long long)d->stats.inpps, (unsigned long long)d->stats.outpps);
        print_largenum(d->stats.inbps, format);
        print_largenum(d->stats.outbps, format);
        printf("\n");
    } else if (format & FMT_THRESHOLDS) {
        printf("  -> %-28s %-10u %-10u %-10u %-10u\n", dname, d->u_threshold, d->l_threshold,
               d->active_conns, d->inactive_conns);
    } else if (format & FMT_PERSISTENTCONN) {
        printf("  -> %-28s %-9d %-11u %-10u %-10u\n", dname, d->weight, d->persist_conns,
               d->active_conns, d->inactive_conns);
    } else if (format & FMT_TUN_INFO) {
        char info[32] = "n/a";
        if (d->fwd_method == LBNET_IPVS_FWD_TUNNEL) {
            if (d->tun_type == LBNET_IPVS_TUN_GUE)
                snprintf(info, sizeof info, "%s:%u:%s", tun_type_name(d->tun_type), d->tun_port,
                         tun_flags_name(d->tun_flags));
            else if (d->tun_type == LBNET_IPVS_TUN_GRE)
                snprintf(info, sizeof info, "%s:%s", tun_type_name(d->tun_type),
                         tun_flags_name(d->tun_flags));
            else
                snprintf(info, sizeof info, "%s", tun_type_name(d->tun_type));
        }
        printf("  -> %-28s %-7s %-13s %-6d %-10u %-10u\n", dname, fwd_name(d->fwd_method), info,
               d->weight, d->active_conns, d->inactive_conns);
    } else {
        printf("  -> %-28s %-7s %-6d %-10u %-10u\n", dname, fwd_name(d->fwd_method), d->weight,
               d->active_conns, d->inactive_conns);
    }
}

/* ---- sorting (ipvsadm's order) -------------------------------------------------------------- */

/* ipvsadm compares host-order 32-bit words by subtracting them into an int; the wrap-around
 * makes the order differ from numeric order for far-apart addresses. Reproduce it exactly. */
static int word_diff(const uint8_t *a, const uint8_t *b, int i) {
    uint32_t x, y;
    memcpy(&x, a + 4 * i, 4);
    memcpy(&y, b + 4 * i, 4);
    return (int)(int32_t)(ntohl(x) - ntohl(y));
}

static int addr_diff(int af, const lbnet_addr *a, const lbnet_addr *b) {
    int r = 0;
    if (af == AF_INET6) {
        for (int i = 0; !r && i < 4; i++) r = word_diff(a->addr, b->addr, i);
    } else {
        r = word_diff(a->addr, b->addr, 0);
    }
    return r;
}

static int cmp_services(const void *pa, const void *pb) {
    const lbnet_ipvs_service *a = &((const lbnet_ipvs_service_entry *)pa)->service;
    const lbnet_ipvs_service *b = &((const lbnet_ipvs_service_entry *)pb)->service;
    int r = (int)(int32_t)(a->fwmark - b->fwmark);
    if (r) return r;
    r = a->af - b->af;
    if (r) return r;
    r = (int)a->protocol - (int)b->protocol;
    if (r) return r;
    r = addr_diff(a->af, &a->addr, &b->addr);
    if (r) return r;
    return (int)a->port - (int)b->port;
}

static int cmp_dests(const void *pa, const void *pb) {
    const lbnet_ipvs_dest *a = pa, *b = pb;
    int r = addr_diff(a->addr.af, &a->addr, &b->addr);
    if (r) return r;
    return (int)a->port - (int)b->port;
}

/* Zero the unused twelve bytes of IPv4 addresses so comparisons see what ipvsadm sees. */
static void clean_addr(lbnet_addr *a) {
    if (a->af == AF_INET) memset(a->addr + 4, 0, 12);
}

/* ---- commands ------------------------------------------------------------------------------- */

static void print_service_entry(lbnet_ipvs_service_entry *e, unsigned format) {
    char name[160];
    print_service_line(&e->service, format, name, sizeof name);
    for (size_t j = 0; j < e->n_dests; j++) clean_addr(&e->dests[j].addr);
    if (!(format & FMT_NOSORT) && e->n_dests > 1)
        qsort(e->dests, e->n_dests, sizeof e->dests[0], cmp_dests);
    for (size_t j = 0; j < e->n_dests; j++) print_dest_line(&e->service, name, &e->dests[j], format);
}

static int print_header(const lbnet_ipvs *h, unsigned format) {
    lbnet_ipvs_info info;
    int rc;
    if (format & FMT_RULE) return 0;
    rc = lbnet_ipvs_get_info(h, &info);
    if (rc) {
        report_last_error(CMD_LIST, rc);
        return rc;
    }
    printf("IP Virtual Server version %u.%u.%u (size=%u)\n", (info.version >> 16) & 0xff,
           (info.version >> 8) & 0xff, info.version & 0xff, info.conn_tab_size);
    return 0;
}

static int list_all(const lbnet_ipvs *h, unsigned format) {
    lbnet_ipvs_service_entry_list *list = NULL;
    int rc = print_header(h, format);
    if (rc) return EXIT_KERNEL;
    rc = lbnet_ipvs_list_services_with_dests(h, &list);
    if (rc) {
        report_last_error(CMD_LIST, rc);
        return 1;
    }
    for (size_t i = 0; i < list->len; i++) clean_addr(&list->items[i].service.addr);
    if (!(format & FMT_NOSORT) && list->len > 1)
        qsort(list->items, list->len, sizeof list->items[0], cmp_services);
    print_title(format);
    for (size_t i = 0; i < list->len; i++) print_service_entry(&list->items[i], format);
    lbnet_ipvs_service_entry_list_free(list);
    return 0;
}

static int list_one(const lbnet_ipvs *h, const lbnet_ipvs_service *key, unsigned format) {
    lbnet_ipvs_service_entry e;
    lbnet_ipvs_dest_list *dests = NULL;
    int rc;

    memset(&e, 0, sizeof e);
    rc = lbnet_ipvs_get_service(h, key, &e.service);
    if (rc == 0) rc = lbnet_ipvs_list_dests(h, &e.service, &dests);
    if (rc) {
        report_last_error(CMD_LIST, rc);
        return 1;
    }
    e.n_dests = dests->len;
    e.dests = dests->items;
    clean_addr(&e.service.addr);
    print_title(format);
    print_service_entry(&e, format);
    lbnet_ipvs_dest_list_free(dests);
    return 0;
}

static int list_timeouts(const lbnet_ipvs *h) {
    lbnet_ipvs_timeouts t;
    int rc = lbnet_ipvs_get_timeouts(h, &t);
    if (rc) {
        report_last_error(CMD_LIST, rc);
        return 1;
    }
    printf("Timeout (tcp tcpfin udp): %u %u %u\n", t.tcp, t.tcp_fin, t.udp);
    return 0;
}

static void print_daemon(const lbnet_ipvs_daemon *d) {
    printf("%s sync daemon (mcast=%s, syncid=%u",
           d->state == LBNET_IPVS_DAEMON_MASTER ? "master" : "backup", d->mcast_ifname,
           d->syncid);
    if (d->sync_maxlen) printf(", maxlen=%u", d->sync_maxlen);
    if (d->mcast_group.af) {
        char g[LBNET_ADDR_STRLEN];
        format_addr(&d->mcast_group, g, sizeof g);
        printf(", group=%s", g);
    }
    if (d->mcast_port) printf(", port=%u", d->mcast_port);
    if (d->mcast_ttl) printf(", ttl=%u", d->mcast_ttl);
    printf(")\n");
}

static int list_daemons(const lbnet_ipvs *h) {
    lbnet_ipvs_daemon_list *list = NULL;
    int rc = lbnet_ipvs_list_daemons(h, &list);
    if (rc) {
        report_last_error(CMD_LIST, rc);
        return 1;
    }
    for (uint32_t state = LBNET_IPVS_DAEMON_MASTER; state <= LBNET_IPVS_DAEMON_BACKUP; state++)
        for (size_t i = 0; i < list->len; i++)
            if (list->items[i].state == state) print_daemon(&list->items[i]);
    lbnet_ipvs_daemon_list_free(list);
    return 0;
}

static int do_list(const lbnet_ipvs *h, const struct request *rq) {
    if (rq->options & BIT(OPT_CONNECTION)) {
        fprintf(stderr, "%s: connection listing (-c) is not supported\n", PROGRAM);
        return EXIT_USAGE;
    }
    if (rq->options & BIT(OPT_TIMEOUT)) return list_timeouts(h);
    if (rq->options & BIT(OPT_DAEMON)) return list_daemons(h);
    if (rq->options & BIT(OPT_SERVICE)) return list_one(h, &rq->svc, rq->format);
    return list_all(h, rq->format);
}

/* Runs one change command; returns 0 or the library's negative errno (already reported). */
static int run_change(const lbnet_ipvs *h, const struct request *rq) {
    int rc = 0;
    switch (rq->cmd) {
    case CMD_ADD: rc = lbnet_ipvs_add_service(h, &rq->svc); break;
    case CMD_EDIT: rc = lbnet_ipvs_update_service(h, &rq->svc); break;
    case CMD_DEL: rc = lbnet_ipvs_delete_service(h, &rq->svc); break;
    case CMD_FLUSH: rc = lbnet_ipvs_flush(h); break;
    case CMD_ADDDEST: rc = lbnet_ipvs_add_dest(h, &rq->svc, &rq->dest); break;
    case CMD_EDITDEST: rc = lbnet_ipvs_update_dest(h, &rq->svc, &rq->dest); break;
    case CMD_DELDEST: rc = lbnet_ipvs_delete_dest(h, &rq->svc, &rq->dest); break;
    case CMD_TIMEOUT: rc = lbnet_ipvs_set_timeouts(h, &rq->timeouts); break;
    case CMD_STARTDAEMON: rc = lbnet_ipvs_start_daemon(h, &rq->daemon); break;
    case CMD_STOPDAEMON: rc = lbnet_ipvs_stop_daemon(h, &rq->daemon); break;
    case CMD_ZERO:
        rc = (rq->options & BIT(OPT_SERVICE)) ? lbnet_ipvs_zero_service(h, &rq->svc)
                                              : lbnet_ipvs_zero_all(h);
        break;
    default: break;
    }
    if (rc) report_last_error(rq->cmd, rc);
    return rc;
}

/* ---- parsing a whole command line ----------------------------------------------------------- */

/* Parses argv[1..] into *rq. Returns true on success; on a usage error it exits, or inside -R
 * parsing records restore_error and returns false. */
static bool parse_args(int argc, char **argv, struct request *rq) {
    struct walker w = {.argc = argc, .argv = argv, .index = 1};
    const char *arg;
    int tag;

    request_init(rq);
    while ((tag = walker_next(&w, &arg)) != 0) {
        if (tag == -1 || tag == -3) {
            const char *why = tag == -1 ? "unknown option" : "missing argument";
            if (in_restore) {
                if (w.bad[0] == '-')
                    snprintf(restore_error, sizeof restore_error, "%s: %s", w.bad, why);
                else
                    snprintf(restore_error, sizeof restore_error, "-%c: %s", w.bad[0], why);
                return false;
            }
            /* popt's wording and ipvsadm's status (-1) */
            if (w.bad[0] == '-' && w.bad[1] == '-') {
                fprintf(stderr, "%s: %s\n", w.bad, why);
                exit(EXIT_KERNEL);
            }
            if (tag == -3) {
                fprintf(stderr, "-%c: %s\n", w.bad[0] == '-' ? w.bad[1] : w.bad[0], why);
                exit(EXIT_KERNEL);
            }
            try_help_exit(EXIT_KERNEL);
        }
        if (tag == -2) {
            /* --set's three values are plain arguments. */
            if (rq->cmd == CMD_TIMEOUT) {
                w.index--;
                break;
            }
            if (in_restore) {
                snprintf(restore_error, sizeof restore_error, "unexpected argument %s", w.bad);
                return false;
            }
            try_help_exit(EXIT_KERNEL);
        }
        if (tag == 'h' || tag == 'v') return true;
        if (!apply_option(rq, tag, arg)) return false;
    }
    if (rq->cmd == CMD_TIMEOUT) {
        if (argc - w.index != 3) {
            fail(EXIT_USAGE, "--set option requires 3 timeout values");
            return false;
        }
        set_timeout_value(argv[w.index], &rq->timeouts.tcp, "tcp");
        set_timeout_value(argv[w.index + 1], &rq->timeouts.tcp_fin, "tcpfin");
        set_timeout_value(argv[w.index + 2], &rq->timeouts.udp, "udp");
        if (in_restore && restore_error[0]) return false;
    }
    if (rq->cmd == CMD_NONE) {
        fail(EXIT_USAGE, "no command specified");
        return false;
    }
    bool ok = finish_request(rq);
    rq->sched_flags = NULL; /* it pointed into argv (or -R's line buffer) */
    return ok;
}

/* ---- restore ------------------------------------------------------------------------------ */

/* Splits a line into words (whitespace separated, "..." and '...' quoting). Returns the count
 * or -1 if there are more than `max` words or a quote is unterminated. */
static int split_words(char *line, char **words, int max) {
    int n = 0;
    char *p = line;
    while (*p) {
        char *out;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) break;
        if (n == max) return -1;
        words[n++] = out = p;
        while (*p && !isspace((unsigned char)*p)) {
            if (*p == '"' || *p == '\'') {
                char q = *p++;
                while (*p && *p != q) *out++ = *p++;
                if (*p != q) return -1;
                p++;
            } else {
                *out++ = *p++;
            }
        }
        if (*p) p++;
        *out = '\0';
    }
    return n;
}

struct restore_item {
    struct request rq;
    unsigned line;
};

static bool batchable(enum command c) {
    return c == CMD_ADD || c == CMD_EDIT || c == CMD_DEL || c == CMD_ADDDEST ||
           c == CMD_EDITDEST || c == CMD_DELDEST || c == CMD_ZERO;
}

static int batch_append(lbnet_ipvs_batch *b, const struct request *rq) {
    switch (rq->cmd) {
    case CMD_ADD: return lbnet_ipvs_batch_add_service(b, &rq->svc);
    case CMD_EDIT: return lbnet_ipvs_batch_update_service(b, &rq->svc);
    case CMD_DEL: return lbnet_ipvs_batch_delete_service(b, &rq->svc);
    case CMD_ADDDEST: return lbnet_ipvs_batch_add_dest(b, &rq->svc, &rq->dest);
    case CMD_EDITDEST: return lbnet_ipvs_batch_update_dest(b, &rq->svc, &rq->dest);
    case CMD_DELDEST: return lbnet_ipvs_batch_delete_dest(b, &rq->svc, &rq->dest);
    case CMD_ZERO:
        return lbnet_ipvs_batch_zero(b, (rq->options & BIT(OPT_SERVICE)) ? &rq->svc : NULL);
    default: return -EINVAL;
    }
}

/* Applies items[from..to) as one pipelined batch; reports each failed change with its line.
 * Returns the number of failures. */
static unsigned apply_batch(const lbnet_ipvs *h, lbnet_ipvs_batch *b,
                            const struct restore_item *items, size_t from, size_t to) {
    unsigned failures = 0;
    if (from == to) return 0;
    lbnet_ipvs_batch_clear(b);
    for (size_t i = from; i < to; i++) {
        int rc = batch_append(b, &items[i].rq);
        if (rc) {
            fprintf(stderr, "%s: line %u: %s\n", PROGRAM, items[i].line, lbnet_last_error());
            return (unsigned)(to - from);
        }
    }
    if (lbnet_ipvs_batch_apply(h, b) == 0) return 0;
    for (size_t i = from; i < to; i++) {
        int res = 0;
        char msg[512];
        if (lbnet_ipvs_batch_result(b, i - from, &res) != 0 || res == 0) continue;
        if (lbnet_ipvs_batch_result_message(b, i - from, msg, sizeof msg) != 0) msg[0] = '\0';
        fprintf(stderr, "line %u: ", items[i].line);
        report_kernel_error(items[i].rq.cmd, res, msg);
        failures++;
    }
    return failures;
}

#define MAX_WORDS 64

/* Reads every line of `in`, parses it as an ipvsadm command line (as `ipvsadm -S` writes them)
 * and only then applies them: consecutive service/destination changes go to the kernel as one
 * pipelined batch, other commands (-C, --set...) run in order between batches. */
static int restore(const lbnet_ipvs *h, FILE *in) {
    struct restore_item *items = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    unsigned lineno = 0, failures = 0;
    int status = 0;

    in_restore = true;
    while (getline(&line, &line_cap, in) >= 0) {
        char *words[MAX_WORDS + 1];
        int nw;
        lineno++;
        words[0] = PROGRAM;
        nw = split_words(line, words + 1, MAX_WORDS);
        if (nw < 0) {
            fprintf(stderr, "%s: line %u: too many words or unterminated quote\n", PROGRAM, lineno);
            status = EXIT_USAGE;
            break;
        }
        if (nw == 0 || words[1][0] == '#') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            struct restore_item *grown = realloc(items, cap * sizeof *items);
            if (!grown) {
                fprintf(stderr, "%s: out of memory\n", PROGRAM);
                status = 1;
                break;
            }
            items = grown;
        }
        restore_error[0] = '\0';
        if (!parse_args(nw + 1, words, &items[n].rq) || restore_error[0]) {
            fprintf(stderr, "%s: line %u: %s\n", PROGRAM, lineno,
                    restore_error[0] ? restore_error : "invalid line");
            status = EXIT_USAGE;
            break;
        }
        if (items[n].rq.cmd == CMD_RESTORE || items[n].rq.cmd == CMD_LIST ||
            items[n].rq.cmd == CMD_SAVE) {
            fprintf(stderr, "%s: line %u: command '%s' is not allowed in restore input\n",
                    PROGRAM, lineno, command_names[items[n].rq.cmd]);
            status = EXIT_USAGE;
            break;
        }
        items[n].line = lineno;
        n++;
    }
    free(line);
    in_restore = false;

    lbnet_ipvs_batch *b = NULL;
    if (status == 0 && lbnet_ipvs_batch_new(&b) != 0) {
        fprintf(stderr, "%s: %s\n", PROGRAM, lbnet_last_error());
        status = EXIT_KERNEL;
    }
    if (status == 0) {
        size_t start = 0;
        for (size_t i = 0; i <= n; i++) {
            if (i < n && batchable(items[i].rq.cmd)) continue;
            failures += apply_batch(h, b, items, start, i);
            if (i < n && run_change(h, &items[i].rq) != 0) failures++;
            start = i + 1;
        }
        lbnet_ipvs_batch_free(b);
        if (failures) status = EXIT_KERNEL;
    }
    free(items);
    return status;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void usage(FILE *out) {
    fprintf(out,
            "%s (lbnet %s): ipvsadm-compatible IPVS administration\n"
            "Usage:\n"
            "  %s -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe "
            "persistence_engine] [-b sched-flags]\n"
            "  %s -D virtual-service\n"
            "  %s -C\n"
            "  %s -R\n"
            "  %s -S [-n]\n"
            "  %s -a|e virtual-service -r server-address [options]\n"
            "  %s -d virtual-service -r server-address\n"
            "  %s -L|l [virtual-service] [options]\n"
            "  %s -Z [virtual-service]\n"
            "  %s --set tcp tcpfin udp\n"
            "  %s --start-daemon {master|backup} [daemon-options]\n"
            "  %s --stop-daemon {master|backup}\n"
            "  %s -h\n"
            "virtual-service: -t|u|--sctp-service host[:port] | -f fwmark [-6]\n"
            "See ipvsadm(8): the options and output formats are the same.\n",
            PROGRAM, lbnet_version(), PROGRAM, PROGRAM, PROGRAM, PROGRAM, PROGRAM, PROGRAM, PROGRAM,
            PROGRAM, PROGRAM, PROGRAM, PROGRAM, PROGRAM, PROGRAM);
}

static int open_handle(lbnet_ipvs **h) {
    lbnet_ipvs_info info;
    int rc = lbnet_ipvs_open(NULL, h);
    if (rc == 0) rc = lbnet_ipvs_get_info(*h, &info);
    if (rc) {
        fprintf(stderr,
                "Can't initialize ipvs: %s\n"
                "Are you sure that IP Virtual Server is built in the kernel or as module?\n",
                ipvsadm_strerror(CMD_NONE, -rc == ENOENT ? ENOPROTOOPT : -rc));
        fprintf(stderr, "%s: %s\n", PROGRAM, lbnet_last_error() ? lbnet_last_error() : "");
        lbnet_ipvs_free(*h);
        *h = NULL;
        return EXIT_USAGE;
    }
    return 0;
}

static int run(const lbnet_ipvs *h, const struct request *rq) {
    switch (rq->cmd) {
    case CMD_LIST: return do_list(h, rq);
    case CMD_SAVE: return list_all(h, rq->format);
    case CMD_RESTORE: return restore(h, stdin);
    default: return run_change(h, rq) ? EXIT_KERNEL : 0;
    }
}

int main(int argc, char **argv) {
    struct request rq;
    lbnet_ipvs *h = NULL;
    int status;

    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
                usage(stdout);
                return 0;
            }
            if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--version")) {
                printf("%s (lbnet %s), ipvsadm v1.31 compatible\n", PROGRAM, lbnet_version());
                return 0;
            }
        }
        parse_args(argc, argv, &rq);
    } else {
        request_init(&rq);
        rq.cmd = CMD_LIST;
    }
    if ((status = open_handle(&h)) != 0) return status;
    status = run(h, &rq);
    lbnet_ipvs_free(h);
    fflush(stdout);
    return status;
}
