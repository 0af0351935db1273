/*
 * libipvs_lbnet.c: keepalived's libipvs API (keepalived/include/libipvs.h of keepalived 2.2.7)
 * implemented over lbnet's C ABI (include/ipvs_ffi.h, libipvs_ffi.so).
 *
 * keepalived carries its own copy of libipvs (keepalived/check/libipvs.c, on libnl). Its
 * functions take keepalived's `*_app` wrapper structs (keepalived/include/ip_vs.h), whose
 * layout depends on keepalived's config.h, so this file is compiled against the headers of a
 * configured keepalived tree and linked in place of check/libipvs.o (examples/keepalived/
 * build.sh: `make am_libcheck_a_OBJECTS=<list without libipvs.o> LIBS=...`). No keepalived
 * source is modified and none is copied here; this is an independent implementation of the
 * same interface.
 *
 * Behaviour kept from keepalived's libipvs, because keepalived's ipvswrapper.c depends on it:
 *  - every function returns 0 or -1 with errno set;
 *  - errno is what keepalived's libnl path reports: libnl folds the kernel's errno through
 *    nl_syserr2nlerr() and keepalived back through its nlerr2syserr(), so ESRCH ("no such
 *    service") arrives as ENOENT (ipvs_talk() then treats a delete of a missing service or
 *    destination as done, and an update of a missing destination becomes an add), and an
 *    errno libnl does not know arrives as 1. kernel_errno_as_keepalived_sees_it() does the same
 *    mapping;
 *  - the socket is opened lazily (an operation after ipvs_close() reopens it), in the network
 *    namespace keepalived's `net_namespace_ipvs` names (/var/run/netns/NAME; "" = PID 1's);
 *  - ipvs_set_timeout() remembers the kernel's timeouts before the first change and
 *    ipvs_set_timeout(NULL) restores them;
 *  - ipvs_strerror() gives libipvs's messages for the same errno and last command.
 */

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libipvs.h"
#include "global_data.h"
#include "logger.h"
#include "memory.h"

#include <ipvs_ffi.h>

/* The last libipvs function called, for ipvs_strerror() (keepalived's copy keeps a pointer to
 * the function; an enum says the same without casting function pointers). */
enum last_op {
	OP_NONE,
	OP_INIT,
	OP_FLUSH,
	OP_ADD_SERVICE,
	OP_UPDATE_SERVICE,
	OP_DEL_SERVICE,
	OP_ZERO_SERVICE,
	OP_ADD_DEST,
	OP_UPDATE_DEST,
	OP_DEL_DEST,
	OP_GET_TIMEOUT,
	OP_SET_TIMEOUT,
	OP_START_DAEMON,
	OP_STOP_DAEMON,
	OP_GET_SERVICE,
	OP_GET_DESTS,
};

static struct lbnet_ipvs *handle;
static enum last_op last_op = OP_NONE;
static ipvs_timeout_t orig_timeouts;

/* The errno keepalived's libnl-based libipvs reports for a kernel errno `e` (> 0): libnl's
 * nl_syserr2nlerr() folds it into an NLE_* code and keepalived's nlerr2syserr() maps that code
 * back. Codes libnl does not know become NLE_FAILURE, which keepalived passes on as 1. */
static int
kernel_errno_as_keepalived_sees_it(int e)
{
	switch (e) {
	case EBADF: case ENOTSOCK:	return EBADF;
	case EADDRINUSE: case EEXIST:	return EEXIST;
	case EADDRNOTAVAIL:		return EADDRNOTAVAIL;
	case ESRCH: case ENOENT:	return ENOENT;
	case EINTR:			return EINTR;
	case EAGAIN:			return EAGAIN;
	case ENOPROTOOPT: case EFAULT: case EINVAL: return EINVAL;
	case EACCES:			return EACCES;
	case ENOBUFS: case ENOMEM:	return ENOMEM;
	case EAFNOSUPPORT:		return EAFNOSUPPORT;
	case EPROTONOSUPPORT:		return EPROTONOSUPPORT;
	case EOPNOTSUPP:		return EOPNOTSUPP;
	case EPERM:			return EPERM;
	case EBUSY:			return EBUSY;
	case ERANGE:			return ERANGE;
	case ENODEV:			return ENODEV;
	default:			return 1;	/* NLE_FAILURE */
	}
}

/* 0 stays 0; a negative errno from lbnet becomes -1 with errno set as keepalived expects. */
static int
result(int rc)
{
	if (rc >= 0)
		return 0;
	errno = kernel_errno_as_keepalived_sees_it(-rc);
	return -1;
}

/* The handle, opened on first use in keepalived's IPVS namespace. NULL with errno set when the
 * namespace or the socket cannot be opened. */
static struct lbnet_ipvs *
get_handle(void)
{
	struct lbnet_ipvs_options opts;
	char path[LBNET_PATH_MAX];
	const char *ns = global_data ? global_data->network_namespace_ipvs : NULL;
	int rc;

	if (handle)
		return handle;

	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	if (ns) {
		if (ns[0])
			rc = snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
		else
			rc = snprintf(path, sizeof(path), "/proc/1/ns/net");
		if (rc < 0 || (size_t)rc >= sizeof(path)) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		opts.netns_path = path;
	}
	rc = lbnet_ipvs_open(&opts, &handle);
	if (rc < 0) {
		handle = NULL;
		errno = -rc;
		return NULL;
	}
	return handle;
}

/* Copies a NUL-terminated name of at most `cap - 1` bytes; false when it is longer. */
static bool
copy_name(char *dst, size_t cap, const char *src, size_t src_cap)
{
	size_t n = strnlen(src, src_cap);

	if (n >= cap)
		return false;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

static void
set_addr(struct lbnet_addr *out, uint16_t af, const union nf_inet_addr *a)
{
	memset(out, 0, sizeof(*out));
	out->af = af;
	if (af == AF_INET6)
		memcpy(out->addr, &a->in6, 16);
	else
		memcpy(out->addr, &a->ip, 4);
}

/* lbnet's service key from keepalived's fields: a fwmark service is named by its mark and
 * family alone (the kernel looks a fwmark service up by mark and family only), any other by
 * protocol, address and port (`port_be` in network order, as keepalived keeps it). */
static void
set_service_key(struct lbnet_ipvs_service *o, uint16_t af, uint32_t fwmark, uint16_t protocol,
		const union nf_inet_addr *addr, uint16_t port_be)
{
	memset(o, 0, sizeof(*o));
	o->af = af;
	o->fwmark = fwmark;
	if (!fwmark) {
		o->protocol = protocol;
		o->port = ntohs(port_be);
		set_addr(&o->addr, af, addr);
	} else
		o->addr.af = af;
}

/* keepalived's service rule as lbnet's service. The port is in network order in keepalived's
 * struct; the IPv4 persistence netmask too (the kernel reads IPVS_SVC_ATTR_NETMASK as a be32),
 * while for IPv6 it is a prefix length. false (errno EINVAL) for a name too long for the kernel. */
static bool
to_service(const ipvs_service_t *s, struct lbnet_ipvs_service *o)
{
	set_service_key(o, s->af, s->user.fwmark, s->user.protocol, &s->nf_addr, s->user.port);
	if (!copy_name(o->sched_name, sizeof(o->sched_name), s->user.sched_name, sizeof(s->user.sched_name)) ||
	    !copy_name(o->pe_name, sizeof(o->pe_name), s->pe_name, sizeof(s->pe_name))) {
		errno = EINVAL;
		return false;
	}
	o->flags = s->user.flags;
	o->timeout = s->user.timeout;
	o->netmask = s->af == AF_INET6 ? s->user.netmask : ntohl(s->user.netmask);
	return true;
}

/* keepalived's real server rule as lbnet's destination (ports in network order in keepalived's
 * struct; tunnel attributes only with tunnel forwarding, as keepalived's libipvs sends them). */
static void
to_dest(const ipvs_dest_t *d, struct lbnet_ipvs_dest *o)
{
	memset(o, 0, sizeof(*o));
	set_addr(&o->addr, d->af, &d->nf_addr);
	o->port = ntohs(d->user.port);
	o->fwd_method = d->user.conn_flags & IP_VS_CONN_F_FWD_MASK;
	o->weight = d->user.weight;
	o->u_threshold = d->user.u_threshold;
	o->l_threshold = d->user.l_threshold;
#ifdef _HAVE_IPVS_TUN_TYPE_
	if (o->fwd_method == IP_VS_CONN_F_TUNNEL) {
		o->tun_type = (uint32_t)d->tun_type;
		if (d->tun_type == IP_VS_CONN_F_TUNNEL_TYPE_GUE)
			o->tun_port = ntohs((uint16_t)d->tun_port);
#ifdef _HAVE_IPVS_TUN_CSUM_
		if (d->tun_type != IP_VS_CONN_F_TUNNEL_TYPE_IPIP)
			o->tun_flags = (uint32_t)d->tun_flags;
#endif
	}
#endif
}

/* Every entry point starts here: records `op` for ipvs_strerror(), then gives the handle, or
 * NULL with errno set (EINVAL when `args_ok` is false: a NULL argument). */
static struct lbnet_ipvs *
begin(enum last_op op, bool args_ok)
{
	last_op = op;
	if (!args_ok) {
		errno = EINVAL;
		return NULL;
	}
	return get_handle();
}

int
ipvs_init(void)
{
	struct lbnet_ipvs_info info;
	struct lbnet_ipvs *h;
	int rc;

	if (!(h = begin(OP_INIT, true)))
		return -1;
	rc = lbnet_ipvs_get_info(h, &info);
	if (rc < 0) {
		/* As keepalived's copy frees a socket whose family did not resolve: the retry after
		 * `modprobe ip_vs` starts afresh. */
		lbnet_ipvs_free(handle);
		handle = NULL;
	}
	return result(rc);
}

int
ipvs_flush(void)
{
	struct lbnet_ipvs *h;

	if (!(h = begin(OP_FLUSH, true)))
		return -1;
	return result(lbnet_ipvs_flush(h));
}

/* The add/update/delete of a service (`dest` unused, may be NULL) or of one of its real
 * servers: keepalived's structs converted, then one lbnet call. */
static int
rule_op(enum last_op op, ipvs_service_t *svc, ipvs_dest_t *dest)
{
	bool with_dest = op == OP_ADD_DEST || op == OP_UPDATE_DEST || op == OP_DEL_DEST;
	struct lbnet_ipvs_service s;
	struct lbnet_ipvs_dest d;
	struct lbnet_ipvs *h;

	if (!(h = begin(op, svc && (dest || !with_dest))) || !to_service(svc, &s))
		return -1;
	if (with_dest)
		to_dest(dest, &d);
	switch (op) {
	case OP_ADD_SERVICE:	return result(lbnet_ipvs_add_service(h, &s));
	case OP_UPDATE_SERVICE:	return result(lbnet_ipvs_update_service(h, &s));
	case OP_DEL_SERVICE:	return result(lbnet_ipvs_delete_service(h, &s));
	case OP_ADD_DEST:	return result(lbnet_ipvs_add_dest(h, &s, &d));
	case OP_UPDATE_DEST:	return result(lbnet_ipvs_update_dest(h, &s, &d));
	case OP_DEL_DEST:	return result(lbnet_ipvs_delete_dest(h, &s, &d));
	default:		errno = EINVAL; return -1;
	}
}

int ipvs_add_service(ipvs_service_t *svc) { return rule_op(OP_ADD_SERVICE, svc, NULL); }
int ipvs_update_service(ipvs_service_t *svc) { return rule_op(OP_UPDATE_SERVICE, svc, NULL); }
int ipvs_del_service(ipvs_service_t *svc) { return rule_op(OP_DEL_SERVICE, svc, NULL); }
int ipvs_add_dest(ipvs_service_t *svc, ipvs_dest_t *dest) { return rule_op(OP_ADD_DEST, svc, dest); }
int ipvs_update_dest(ipvs_service_t *svc, ipvs_dest_t *dest) { return rule_op(OP_UPDATE_DEST, svc, dest); }
int ipvs_del_dest(ipvs_service_t *svc, ipvs_dest_t *dest) { return rule_op(OP_DEL_DEST, svc, dest); }

/* Zeroes one service's counters, or every counter when `svc` names no service (no fwmark, the
 * any address, port 0), as keepalived's copy decides. */
int
ipvs_zero_service(ipvs_service_t *svc)
{
	struct lbnet_ipvs_service s;
	struct lbnet_ipvs *h;

	if (!(h = begin(OP_ZERO_SERVICE, svc != NULL)))
		return -1;
	if (!svc->user.fwmark && !svc->user.port &&
	    !memcmp(&svc->nf_addr.in6, &in6addr_any, sizeof(struct in6_addr)))
		return result(lbnet_ipvs_zero_all(h));
	if (!to_service(svc, &s))
		return -1;
	return result(lbnet_ipvs_zero_service(h, &s));
}

/* Reads the kernel's timeouts into orig_timeouts (logged, not fatal, on failure). */
static void
save_orig_timeouts(void)
{
	struct lbnet_ipvs_timeouts t;
	struct lbnet_ipvs *h;

	if (!(h = begin(OP_GET_TIMEOUT, true)) || lbnet_ipvs_get_timeouts(h, &t) < 0) {
		log_message(LOG_INFO, "Failed to get IPVS timeouts");
		return;
	}
	orig_timeouts.tcp_timeout = (int)t.tcp;
	orig_timeouts.tcp_fin_timeout = (int)t.tcp_fin;
	orig_timeouts.udp_timeout = (int)t.udp;
}

/* Sets the timeouts given (a 0 field: the value found before the first change); NULL restores
 * the values found before the first change, and is a no-op when nothing was changed. */
int
ipvs_set_timeout(const ipvs_timeout_t *to)
{
	struct lbnet_ipvs_timeouts t;
	struct lbnet_ipvs *h;

	if (!orig_timeouts.tcp_timeout) {
		if (!to) {
			last_op = OP_SET_TIMEOUT;
			return 0;
		}
		save_orig_timeouts();
	}
	t.tcp = (uint32_t)(to && to->tcp_timeout ? to->tcp_timeout : orig_timeouts.tcp_timeout);
	t.tcp_fin = (uint32_t)(to && to->tcp_fin_timeout ? to->tcp_fin_timeout : orig_timeouts.tcp_fin_timeout);
	t.udp = (uint32_t)(to && to->udp_timeout ? to->udp_timeout : orig_timeouts.udp_timeout);
	if (!(h = begin(OP_SET_TIMEOUT, true)))
		return -1;
	return result(lbnet_ipvs_set_timeouts(h, &t));
}

/* keepalived's sync daemon as lbnet's: state and syncid (all a stop needs), then for a start
 * `with_config` adds the interface and, where keepalived has them, the multicast attributes.
 * false (errno EINVAL) for an interface name too long for the kernel. */
static bool
to_daemon(const ipvs_daemon_t *dm, bool with_config, struct lbnet_ipvs_daemon *d)
{
	memset(d, 0, sizeof(*d));
	d->state = (uint32_t)dm->state;
	d->syncid = (uint32_t)dm->syncid;
	if (!with_config)
		return true;
	if (!copy_name(d->mcast_ifname, sizeof(d->mcast_ifname), dm->mcast_ifn, sizeof(dm->mcast_ifn))) {
		errno = EINVAL;
		return false;
	}
#ifdef _HAVE_IPVS_SYNCD_ATTRIBUTES_
	d->sync_maxlen = dm->sync_maxlen;
	d->mcast_port = dm->mcast_port;
	d->mcast_ttl = dm->mcast_ttl;
	if (dm->mcast_af == AF_INET6 || dm->mcast_af == AF_INET)
		set_addr(&d->mcast_group, dm->mcast_af, &dm->mcast_group);
#endif
	return true;
}

/* Starts (OP_START_DAEMON) or stops (OP_STOP_DAEMON) the sync daemon `dm` describes. */
static int
daemon_op(enum last_op op, ipvs_daemon_t *dm)
{
	struct lbnet_ipvs_daemon d;
	struct lbnet_ipvs *h;

	if (!(h = begin(op, dm != NULL)) || !to_daemon(dm, op == OP_START_DAEMON, &d))
		return -1;
	if (op == OP_START_DAEMON)
		return result(lbnet_ipvs_start_daemon(h, &d));
	return result(lbnet_ipvs_stop_daemon(h, &d));
}

int ipvs_start_daemon(ipvs_daemon_t *dm) { return daemon_op(OP_START_DAEMON, dm); }
int ipvs_stop_daemon(ipvs_daemon_t *dm) { return daemon_op(OP_STOP_DAEMON, dm); }

#ifdef _WITH_SNMP_CHECKER_
/* The address of lbnet's `a` into keepalived's nf_addr, and for IPv4 also into the `user.addr`
 * field keepalived's entry structs carry (the kernel's old sockopt layout). */
static void
get_addr(union nf_inet_addr *nf_addr, __be32 *user_addr, const struct lbnet_addr *a)
{
	memcpy(nf_addr, a->addr, a->af == AF_INET6 ? 16 : 4);
	if (a->af == AF_INET)
		*user_addr = nf_addr->ip;
}

static void
copy_stats(ip_vs_stats_t *o, const struct lbnet_ipvs_stats *s)
{
	/* ip_vs_stats_t is keepalived's 64-bit set or the kernel's ip_vs_stats_user (32-bit
	 * counts): the same field names either way. */
	o->conns = s->conns;
	o->inpkts = s->inpkts;
	o->outpkts = s->outpkts;
	o->inbytes = s->inbytes;
	o->outbytes = s->outbytes;
	o->cps = s->cps;
	o->inpps = s->inpps;
	o->outpps = s->outpps;
	o->inbps = s->inbps;
	o->outbps = s->outbps;
}

/* One service as keepalived's service entry (MALLOC'd; the caller FREEs it), or NULL with
 * errno set. Like keepalived's netlink path, num_dests is left 0. */
ipvs_service_entry_t *
ipvs_get_service(__u32 fwmark, __u16 af, __u16 protocol, union nf_inet_addr *addr, __u16 port)
{
	struct lbnet_ipvs_service key, out;
	ipvs_service_entry_t *e;
	struct lbnet_ipvs *h;
	int rc;

	if (!(h = begin(OP_GET_SERVICE, fwmark || addr)))
		return NULL;
	set_service_key(&key, af, fwmark, protocol, addr, port);
	rc = lbnet_ipvs_get_service(h, &key, &out);
	if (rc < 0) {
		result(rc);
		return NULL;
	}
	if (!(e = MALLOC(sizeof(*e)))) {
		errno = ENOMEM;
		return NULL;
	}
	e->af = (uint16_t)out.af;
	e->user.fwmark = out.fwmark;
	if (!out.fwmark) {
		e->user.protocol = out.protocol;
		e->user.port = htons(out.port);
		get_addr(&e->nf_addr, &e->user.addr, &out.addr);
	}
	memcpy(e->user.sched_name, out.sched_name, sizeof(e->user.sched_name) - 1);
	memcpy(e->pe_name, out.pe_name, sizeof(out.pe_name) - 1);
	e->user.flags = out.flags;
	e->user.timeout = out.timeout;
	e->user.netmask = out.af == AF_INET6 ? out.netmask : htonl(out.netmask);
	e->user.num_dests = 0;
	copy_stats(&e->stats, &out.stats);
	return e;
}

/* The real servers of `svc` (MALLOC'd; the caller FREEs it), or NULL with errno set. */
struct ip_vs_get_dests_app *
ipvs_get_dests(ipvs_service_entry_t *svc)
{
	struct lbnet_ipvs_service key;
	struct lbnet_ipvs_dest_list *list = NULL;
	struct ip_vs_get_dests_app *d;
	struct lbnet_ipvs *h;
	size_t i;
	int rc;

	if (!(h = begin(OP_GET_DESTS, svc != NULL)))
		return NULL;
	set_service_key(&key, svc->af, svc->user.fwmark, svc->user.protocol, &svc->nf_addr,
			svc->user.port);
	rc = lbnet_ipvs_list_dests(h, &key, &list);
	if (rc < 0) {
		result(rc);
		return NULL;
	}
	/* One spare entry, as keepalived's copy allocates. */
	if (!(d = MALLOC(sizeof(*d) + sizeof(ipvs_dest_entry_t) * (list->len + 1)))) {
		lbnet_ipvs_dest_list_free(list);
		errno = ENOMEM;
		return NULL;
	}
	d->af = svc->af;
	d->nf_addr = svc->nf_addr;
	d->user.fwmark = svc->user.fwmark;
	d->user.protocol = svc->user.protocol;
	d->user.addr = svc->nf_addr.ip;
	d->user.port = svc->user.port;
	d->user.num_dests = (unsigned int)list->len;
	for (i = 0; i < list->len; i++) {
		const struct lbnet_ipvs_dest *s = &list->items[i];
		ipvs_dest_entry_t *e = &d->user.entrytable[i];

		memset(e, 0, sizeof(*e));
		e->af = (uint16_t)s->addr.af;
		get_addr(&e->nf_addr, &e->user.addr, &s->addr);
		e->user.port = htons(s->port);
		e->user.conn_flags = s->fwd_method;
		e->user.weight = s->weight;
		e->user.u_threshold = s->u_threshold;
		e->user.l_threshold = s->l_threshold;
		e->user.activeconns = s->active_conns;
		e->user.inactconns = s->inactive_conns;
		e->user.persistconns = s->persist_conns;
		copy_stats(&e->stats, &s->stats);
	}
	lbnet_ipvs_dest_list_free(list);
	return d;
}
#endif /* _WITH_SNMP_CHECKER_ */

void
ipvs_close(void)
{
	lbnet_ipvs_free(handle);
	handle = NULL;
}

/* libipvs's message for `err` after the last call: the same table, in the same order, as
 * keepalived's copy (and ipvsadm's libipvs), else strerror(). */
const char *
ipvs_strerror(int err)
{
	static const struct {
		enum last_op op;	/* OP_NONE: any */
		int err;
		const char *message;
	} table[] = {
		{ OP_ADD_SERVICE, EEXIST, "Service already exists" },
		{ OP_ADD_SERVICE, ENOENT, "Scheduler or persistence engine not found" },
		{ OP_UPDATE_SERVICE, ENOENT, "Scheduler or persistence engine not found" },
		{ OP_ADD_DEST, EEXIST, "Destination already exists" },
		{ OP_UPDATE_DEST, ENOENT, "No such destination" },
		{ OP_DEL_DEST, ENOENT, "No such destination" },
		{ OP_START_DAEMON, EEXIST, "Daemon has already run" },
		{ OP_STOP_DAEMON, ESRCH, "No daemon is running" },
		{ OP_NONE, ESRCH, "No such service" },
		{ OP_NONE, EPERM, "Permission denied (you must be root)" },
		{ OP_NONE, EINVAL, "Invalid operation.  Possibly wrong module version, address not unicast, ..." },
		{ OP_NONE, ENOPROTOOPT, "Protocol not available" },
		{ OP_NONE, ENOMEM, "Memory allocation problem" },
		{ OP_NONE, EOPNOTSUPP, "Operation not supported with IPv6" },
		{ OP_NONE, EAFNOSUPPORT, "Operation not supported with specified address family" },
		{ OP_NONE, EMSGSIZE, "Module is wrong version" },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if ((table[i].op == OP_NONE || table[i].op == last_op) && table[i].err == err)
			return table[i].message;
	return strerror(err);
}
