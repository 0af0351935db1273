// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * xdplb: an XDP L4 load balancer.
 *
 * TCP and UDP packets to a VIP (address + port + protocol, IPv4 or IPv6) are sent to a backend
 * chosen through the VIP's Maglev lookup ring (filled by the control plane), remembered per flow
 * in a per-CPU LRU connection table, encapsulated in IP-in-IP (IPv4 outer) or IPv6 (IPv6 outer)
 * and sent back out of the interface with XDP_TX. Everything else goes to the kernel (XDP_PASS).
 *
 * Connection table: keyed by the client's 5-tuple, one value slot per CPU. A TCP SYN always
 * follows the ring (a reused client port must not inherit an old connection's backend). A flow
 * seen first on another CPU is found in that CPU's slot (bpf_map_lookup_percpu_elem, Linux
 * 5.19+), so flows stay put without RSS affinity (veth, generic XDP). A backend chosen anew for
 * an existing entry is written to every CPU's slot. Backend slot 0 means "no backend".
 *
 * New-flow limit (Katran's is_under_flood): above lb_config.max_conn_rate new flows per second
 * on a CPU, the connection table is not written for new flows (CNT_FLOOD_SKIP); they follow the
 * ring packet by packet, so they keep their backend unless the ring changes. As in Katran, a
 * SYN above the limit does not touch the table either: a connection reusing the 5-tuple of one
 * still recorded, after a ring change moved that 5-tuple's slot, has its SYN sent by the ring
 * and its later packets by the old entry (below the limit the SYN replaces the old entry).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdplb.h"

/* Connection-table layouts, one object file each (core/build.rs), picked at load time by a
 * feature probe (lbnet::xdp::ConnLayout). */
#define LAYOUT_PERCPU_ELEM 1 /* LRU_PERCPU_HASH + bpf_map_lookup_percpu_elem: Linux 5.19+ */
#define LAYOUT_LRU_PER_CPU 2 /* ARRAY_OF_MAPS of LRU_HASH, one per CPU, + fallback: 4.12+ */
#ifndef CONN_LAYOUT
#define CONN_LAYOUT LAYOUT_PERCPU_ELEM
#endif

/* ICMP headers of RFC 792 and RFC 4443, written here because <linux/icmp.h> pulls in libc's
 * socket headers, which do not build for the BPF target. */
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMPV6_PKT_TOOBIG 2

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 unused;
	__be16 mtu;
};

struct icmp6hdr {
	__u8 icmp6_type;
	__u8 icmp6_code;
	__sum16 icmp6_cksum;
	__be32 icmp6_mtu;
};

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VIPS);
	__type(key, struct vip_key);
	__type(value, struct vip_meta);
} vips SEC(".maps");

/* Maglev rings of all VIPs: entry vip_num * RING_SIZE + hash % RING_SIZE = backend index. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_VIPS * RING_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct backend);
} backends SEC(".maps");

#if CONN_LAYOUT == LAYOUT_PERCPU_ELEM
/* One LRU hash, one value slot per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, CONN_TABLE_SIZE);
	__type(key, struct flow_key);
	__type(value, __u32);
} conns SEC(".maps");
#else
/* One LRU hash per CPU (Katran's lru_mapping), indexed by CPU number, filled by the control
 * plane, and a shared one for a CPU that has none (Katran's fallback_cache). */
/* Sizes rather than types: clang emits struct flow_key to BTF only as a forward declaration
 * here, whose size aya cannot take. */
struct conn_lru {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CONN_TABLE_SIZE);
	__uint(key_size, sizeof(struct flow_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__array(values, struct conn_lru);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CONN_TABLE_SIZE);
	__uint(key_size, sizeof(struct flow_key));
	__uint(value_size, sizeof(__u32));
} conns_fallback SEC(".maps");
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_VIPS);
	__type(key, __u32);
	__type(value, struct vip_stats);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct conn_rate);
} conn_rate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct backend_stats);
} backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_config);
} config SEC(".maps");

static __always_inline int count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &idx);

	if (c)
		*c += n;
	return 0;
}

static __always_inline int pass(__u32 reason)
{
	count(reason, 1);
	return XDP_PASS;
}

/* A byte-swapped 16-bit value with bounds the verifier can see: verifiers before Linux 6.x
 * (6.1 here) do not track bounds through BPF_END, so `pkt + ntohs(x)` is rejected as unbounded
 * unless the value is masked after an optimisation barrier. */
static __always_inline __u32 bounded16(__u32 v)
{
	asm volatile("" : "+r"(v));
	return v & 0xffff;
}

/* MurmurHash3 (32-bit) mixing steps; the algorithm is in the public domain. */
static __always_inline __u32 rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 mm3_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = rotl32(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 flow_hash(const struct flow_key *f)
{
	__u32 h = 0x9747b28c;

	h = mm3_mix(h, f->src[0]);
	h = mm3_mix(h, f->src[1]);
	h = mm3_mix(h, f->src[2]);
	h = mm3_mix(h, f->src[3]);
	h = mm3_mix(h, ((__u32)f->sport << 16) | f->dport);
	h = mm3_mix(h, f->proto);
	h ^= 24;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* The loops over CPUs count in 64 bits: Linux 5.10's verifier does not track a 32-bit counter
 * spilled to the stack (only 64-bit spills keep a register's bounds) and rejected such a loop
 * as infinite (seen in the lab; 6.1 and later accepted it). */

/* Where a packet's flow was found in the connection table. */
struct conn_ref {
	__u32 *own;  /* this CPU's value for the flow, if it has one */
	void *lru;   /* LAYOUT_LRU_PER_CPU: this CPU's table */
	__u8 seen;   /* the flow is in the table (on some CPU) */
};

#if CONN_LAYOUT == LAYOUT_PERCPU_ELEM
/* The backend recorded for `flow` by any CPU (bpf_map_lookup_percpu_elem, Linux 5.19+), or 0. */
static __always_inline __u32 other_cpu_backend(const struct flow_key *flow)
{
	for (__u64 cpu = 0; cpu < MAX_CPUS; cpu++) {
		__u32 *v = bpf_map_lookup_percpu_elem(&conns, flow, cpu);

		if (!v) /* cpu >= nr_cpu_ids */
			break;
		if (*v)
			return *v;
	}
	return 0;
}

/* The backend of an established flow (0 = none): this CPU's slot, else any other CPU's (a
 * flow first seen on another CPU: no RSS affinity, e.g. veth). */
static __always_inline __u32 conn_lookup(struct conn_ref *r, const struct flow_key *flow)
{
	__u32 b;

	r->own = bpf_map_lookup_elem(&conns, flow);
	if (!r->own)
		return 0;
	r->seen = 1;
	b = *r->own;
	return b ? b : other_cpu_backend(flow);
}

/* Keeps an established flow's backend in this CPU's slot. */
static __always_inline void conn_keep(struct conn_ref *r, const struct flow_key *flow, __u32 bidx)
{
	if (r->own)
		*r->own = bidx;
}

/* Records the backend of a flow, unless `record` is 0 (above the new-flow limit). A new entry
 * gets this CPU's slot (the kernel zeroes the other CPUs' slots). An existing entry (a reused
 * 5-tuple, or a flow whose backend went away) gets every CPU's slot, so that no CPU keeps
 * sending the flow to the old backend. `maybe_seen`: the flow was not looked up (a SYN) and
 * may exist. (Measured on 2 CPUs: this costs less than deleting the entry and inserting it
 * anew, 195 against 300 ns per repeated SYN.) */
static __always_inline void conn_record(struct conn_ref *r, const struct flow_key *flow,
					__u32 bidx, int maybe_seen, int record)
{
	__u32 *existing = r->own;

	if (!record)
		return;
	if (!existing && maybe_seen)
		existing = bpf_map_lookup_elem(&conns, flow);
	if (!existing) {
		bpf_map_update_elem(&conns, flow, &bidx, BPF_ANY);
		return;
	}
	for (__u64 cpu = 0; cpu < MAX_CPUS; cpu++) {
		__u32 *v = bpf_map_lookup_percpu_elem(&conns, flow, cpu);

		if (!v)
			break;
		*v = bidx;
	}
}
#else
/* This CPU's table (bpf_get_smp_processor_id indexes conns), or the shared fallback table
 * when the control plane gave this CPU none (counted: lru_fallback). */
static __always_inline void *own_lru(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	void *m = bpf_map_lookup_elem(&conns, &cpu);

	if (m)
		return m;
	count(CNT_LRU_FALLBACK, 1);
	return &conns_fallback;
}

/* The backend recorded for `flow` in any CPU's table or the fallback, or 0. The control plane
 * fills CPUs 0..n-1 without gaps, so the first empty index ends the search. */
static __always_inline __u32 other_cpu_backend(const struct flow_key *flow)
{
	__u32 *v;

	for (__u64 i = 0; i < MAX_CPUS; i++) {
		__u32 cpu = i;
		void *m = bpf_map_lookup_elem(&conns, &cpu);

		if (!m)
			break;
		v = bpf_map_lookup_elem(m, flow);
		if (v && *v)
			return *v;
	}
	v = bpf_map_lookup_elem(&conns_fallback, flow);
	return v ? *v : 0;
}

static __always_inline __u32 conn_lookup(struct conn_ref *r, const struct flow_key *flow)
{
	__u32 b;

	r->lru = own_lru();
	r->own = bpf_map_lookup_elem(r->lru, flow);
	if (r->own) {
		r->seen = 1;
		return *r->own;
	}
	b = other_cpu_backend(flow);
	if (b)
		r->seen = 1;
	return b;
}

/* Keeps an established flow's backend in this CPU's table (copied there when it was found in
 * another CPU's). */
static __always_inline void conn_keep(struct conn_ref *r, const struct flow_key *flow, __u32 bidx)
{
	if (r->own)
		*r->own = bidx;
	else if (r->lru)
		bpf_map_update_elem(r->lru, flow, &bidx, BPF_ANY);
}

/* Records the backend of a flow in this CPU's table; a flow that is (or may be) in other
 * CPUs' tables gets the new backend there too, as in the per-CPU-slot layout. */
static __always_inline void conn_record(struct conn_ref *r, const struct flow_key *flow,
					__u32 bidx, int maybe_seen, int record)
{
	void *lru = r->lru ? r->lru : own_lru();
	__u32 *v;

	if (!record)
		return;
	bpf_map_update_elem(lru, flow, &bidx, BPF_ANY);
	if (!r->seen && !maybe_seen)
		return;
	for (__u64 i = 0; i < MAX_CPUS; i++) {
		__u32 cpu = i;
		void *m = bpf_map_lookup_elem(&conns, &cpu);

		if (!m)
			break;
		v = bpf_map_lookup_elem(m, flow);
		if (v)
			*v = bidx;
	}
	v = bpf_map_lookup_elem(&conns_fallback, flow);
	if (v)
		*v = bidx;
}
#endif

/* Whether a new flow may be recorded: at most cfg->max_conn_rate (0 = DEFAULT_MAX_CONN_RATE)
 * per one-second window on this CPU, as Katran's is_under_flood with MAX_CONN_RATE;
 * CONN_RATE_UNLIMITED records every one. Every new flow counts, recorded or not. The clock
 * (bpf_ktime_get_ns, CLOCK_MONOTONIC) is read once per 64 new flows, not per flow: a call cost
 * about 38 ns per packet on the bench host, a third of a SYN's whole cost. So a window ends up
 * to 63 new flows late, and those are skipped or recorded by the old window's count. */
static __always_inline int may_record(const struct lb_config *cfg)
{
	__u32 zero = 0, limit = cfg->max_conn_rate ? cfg->max_conn_rate : DEFAULT_MAX_CONN_RATE;
	struct conn_rate *cr;

	if (limit == CONN_RATE_UNLIMITED)
		return 1;
	cr = bpf_map_lookup_elem(&conn_rate, &zero);
	if (!cr)
		return 1;
	if ((cr->count & 63) == 0) {
		__u64 now = bpf_ktime_get_ns();

		if (now - cr->window_start >= 1000000000ULL) {
			cr->window_start = now;
			cr->count = 0;
		}
	}
	if (++cr->count > limit) {
		count(CNT_FLOOD_SKIP, 1);
		return 0;
	}
	return 1;
}

/* The ring's backend for a flow of the VIP (slot in *bidx), or 0 after counting the drop. */
static __always_inline struct backend *ring_backend(const struct vip_meta *vip,
						    const struct flow_key *flow,
						    struct vip_stats *vs, __u32 *bidx)
{
	__u32 idx = vip->vip_num * RING_SIZE + flow_hash(flow) % RING_SIZE;
	__u32 *slot = bpf_map_lookup_elem(&ring, &idx);
	struct backend *be;

	if (!slot || !*slot) {
		if (vs)
			vs->drops++;
		count(CNT_DROP_NO_BACKEND, 1);
		return 0;
	}
	*bidx = *slot;
	be = bpf_map_lookup_elem(&backends, bidx);
	if (!be || !(be->flags & BACKEND_VALID) ||
	    (be->family != FAMILY_V4 && be->family != FAMILY_V6)) {
		if (vs)
			vs->drops++;
		count(CNT_DROP_BAD_BACKEND, 1);
		return 0;
	}
	return be;
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline void ipv4_csum(struct iphdr *iph)
{
	__u16 *w = (__u16 *)iph;
	__u32 sum = 0;

	iph->check = 0;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	iph->check = csum_fold(sum);
}

/* The per-flow outer IPv4 source (CFG_FLOW_SRC), Katran's create_encap_ipv4_src with the
 * configured source's first 16 bits as the prefix: octet 2 is the client's octet 2 (of its
 * IPv4 address, or of the last 32 bits of its IPv6 address) xor the port's low byte, octet 3
 * its octet 3 xor the port's high byte. */
static __always_inline __u32 flow_src4(const struct lb_config *cfg, const struct flow_key *f,
				       __u8 client_family)
{
	__u32 client = bpf_ntohl(client_family == FAMILY_V4 ? f->src[0] : f->src[3]);
	__u32 port = bpf_ntohs(f->sport);
	__u32 suffix = (client ^ (((port & 0xff) << 8) | (port >> 8))) & 0xffff;

	return (cfg->src4 & bpf_htonl(0xffff0000)) | bpf_htonl(suffix);
}

/* The per-flow outer IPv6 source, Katran's create_encap_ipv6_src with the configured source's
 * first 96 bits as the prefix: the last 32 bits are the client's last 32 (its whole IPv4
 * address) with the port xored into their first 16. */
static __always_inline void flow_src6(__u32 *out, const struct lb_config *cfg,
				      const struct flow_key *f, __u8 client_family)
{
	__u32 client = client_family == FAMILY_V4 ? f->src[0] : f->src[3];

	out[0] = cfg->src6[0];
	out[1] = cfg->src6[1];
	out[2] = cfg->src6[2];
	out[3] = client ^ bpf_htonl((__u32)bpf_ntohs(f->sport) << 16);
}

/* Puts an outer header of the backend's family in front of the packet and fills the Ethernet
 * header. inner_len is the length of the inner IP packet, inner_proto IPPROTO_IPIP or
 * IPPROTO_IPV6, tos the inner DSCP/ECN byte. */
static __always_inline int encap(struct xdp_md *ctx, const struct backend *be,
				 const struct lb_config *cfg, const struct flow_key *flow,
				 __u8 client_family, __u32 inner_len, __u8 inner_proto, __u8 tos)
{
	unsigned char old_src[ETH_ALEN], old_dst[ETH_ALEN];
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	int grow;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(old_src, eth->h_source, ETH_ALEN);
	__builtin_memcpy(old_dst, eth->h_dest, ETH_ALEN);

	grow = be->family == FAMILY_V4 ? (int)sizeof(struct iphdr) : (int)sizeof(struct ipv6hdr);
	if (bpf_xdp_adjust_head(ctx, -grow))
		return count(CNT_DROP_ADJUST, 1) - 1;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_source, old_dst, ETH_ALEN);
	if (cfg->gw_mac[0] | cfg->gw_mac[1] | cfg->gw_mac[2] | cfg->gw_mac[3] | cfg->gw_mac[4] |
	    cfg->gw_mac[5])
		__builtin_memcpy(eth->h_dest, cfg->gw_mac, ETH_ALEN);
	else
		__builtin_memcpy(eth->h_dest, old_src, ETH_ALEN);

	if (be->family == FAMILY_V4) {
		struct iphdr *iph = (void *)(eth + 1);
		struct iphdr h = {};

		if ((void *)(iph + 1) > data_end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IP);
		h.version = 4;
		h.ihl = 5;
		h.tos = tos;
		h.tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
		h.ttl = 64;
		h.protocol = inner_proto;
		h.saddr = cfg->flags & CFG_FLOW_SRC ? flow_src4(cfg, flow, client_family) : cfg->src4;
		h.daddr = be->addr[0];
		ipv4_csum(&h);
		__builtin_memcpy(iph, &h, sizeof(h));
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct ipv6hdr h = {};

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		h.version = 6;
		h.priority = tos >> 4;
		h.flow_lbl[0] = (tos & 0xf) << 4;
		h.payload_len = bpf_htons(inner_len);
		h.nexthdr = inner_proto;
		h.hop_limit = 64;
		if (cfg->flags & CFG_FLOW_SRC)
			flow_src6((__u32 *)&h.saddr, cfg, flow, client_family);
		else
			__builtin_memcpy(&h.saddr, cfg->src6, 16);
		__builtin_memcpy(&h.daddr, be->addr, 16);
		__builtin_memcpy(ip6, &h, sizeof(h));
	}
	return 0;
}

static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return csum_fold((__u32)sum);
}

/* Answers an oversize IPv4 packet with ICMP "fragmentation needed" (type 3, code 4, RFC 792 /
 * RFC 1191) carrying `mtu`, from the VIP to the client, back out of the interface (XDP_TX), as
 * Katran's send_icmp4_too_big does: the client's packet is cut to its first ICMP4_QUOTE bytes
 * (bpf_xdp_adjust_tail, 4.18+) and an Ethernet, IPv4 and ICMP header are put in front of it
 * (bpf_xdp_adjust_head). The ICMP checksum is bpf_csum_diff over header and quote. */
static __always_inline int icmp4_too_big(struct xdp_md *ctx, __u16 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *orig = (void *)(eth + 1), *iph;
	struct icmphdr *icmp;
	unsigned char smac[ETH_ALEN], dmac[ETH_ALEN];
	struct iphdr h = {};
	__u32 saddr, daddr;
	int len = data_end - data;

	if (data + sizeof(*eth) + ICMP4_QUOTE > data_end)
		return XDP_DROP;
	__builtin_memcpy(smac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(dmac, eth->h_dest, ETH_ALEN);
	saddr = orig->saddr;
	daddr = orig->daddr;
	if (bpf_xdp_adjust_tail(ctx, (int)(sizeof(*eth) + ICMP4_QUOTE) - len))
		return count(CNT_DROP_ADJUST, 1) + XDP_DROP;
	if (bpf_xdp_adjust_head(ctx, -(int)(sizeof(struct iphdr) + sizeof(struct icmphdr))))
		return count(CNT_DROP_ADJUST, 1) + XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	iph = (void *)(eth + 1);
	icmp = (void *)(iph + 1);
	if ((void *)(icmp + 1) + ICMP4_QUOTE > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, smac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, dmac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	h.version = 4;
	h.ihl = 5;
	h.tot_len = bpf_htons(sizeof(*iph) + sizeof(*icmp) + ICMP4_QUOTE);
	h.ttl = 64;
	h.protocol = IPPROTO_ICMP;
	h.saddr = daddr;
	h.daddr = saddr;
	ipv4_csum(&h);
	__builtin_memcpy(iph, &h, sizeof(h));
	icmp->type = ICMP_DEST_UNREACH;
	icmp->code = ICMP_FRAG_NEEDED;
	icmp->checksum = 0;
	icmp->unused = 0;
	icmp->mtu = bpf_htons(mtu);
	icmp->checksum = csum_fold64(
		(__u32)bpf_csum_diff(0, 0, (void *)icmp, sizeof(*icmp) + ICMP4_QUOTE, 0));
	count(CNT_ICMP_TOO_BIG, 1);
	return XDP_TX;
}

/* The IPv6 pseudo-header of RFC 8200 section 8.1, for the ICMPv6 checksum. */
struct pseudo6 {
	struct in6_addr saddr;
	struct in6_addr daddr;
	__be32 len;
	__be32 nexthdr;
};

/* Answers an oversize IPv6 packet with ICMPv6 "packet too big" (type 2, RFC 4443) carrying
 * `mtu`, from the VIP to the client, by XDP_TX, as Katran's send_icmp6_too_big does: the
 * client's packet cut to ICMP6_QUOTE bytes behind new Ethernet, IPv6 and ICMPv6 headers. */
static __always_inline int icmp6_too_big(struct xdp_md *ctx, __u32 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *orig = (void *)(eth + 1), *ip6;
	struct icmp6hdr *icmp;
	unsigned char smac[ETH_ALEN], dmac[ETH_ALEN];
	struct pseudo6 ph = {};
	struct ipv6hdr h = {};
	int len = data_end - data;
	__u32 sum;

	if (data + sizeof(*eth) + ICMP6_QUOTE > data_end)
		return XDP_DROP;
	__builtin_memcpy(smac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(dmac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(&ph.saddr, &orig->daddr, 16);
	__builtin_memcpy(&ph.daddr, &orig->saddr, 16);
	ph.len = bpf_htonl(sizeof(struct icmp6hdr) + ICMP6_QUOTE);
	ph.nexthdr = bpf_htonl(IPPROTO_ICMPV6);
	if (bpf_xdp_adjust_tail(ctx, (int)(sizeof(*eth) + ICMP6_QUOTE) - len))
		return count(CNT_DROP_ADJUST, 1) + XDP_DROP;
	if (bpf_xdp_adjust_head(ctx, -(int)(sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr))))
		return count(CNT_DROP_ADJUST, 1) + XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip6 = (void *)(eth + 1);
	icmp = (void *)(ip6 + 1);
	if ((void *)(icmp + 1) + ICMP6_QUOTE > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, smac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, dmac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	h.version = 6;
	h.payload_len = bpf_htons(sizeof(*icmp) + ICMP6_QUOTE);
	h.nexthdr = IPPROTO_ICMPV6;
	h.hop_limit = 64;
	__builtin_memcpy(&h.saddr, &ph.saddr, 16);
	__builtin_memcpy(&h.daddr, &ph.daddr, 16);
	__builtin_memcpy(ip6, &h, sizeof(h));
	icmp->icmp6_type = ICMPV6_PKT_TOOBIG;
	icmp->icmp6_code = 0;
	icmp->icmp6_cksum = 0;
	icmp->icmp6_mtu = bpf_htonl(mtu);
	sum = (__u32)bpf_csum_diff(0, 0, (void *)&ph, sizeof(ph), 0);
	sum = (__u32)bpf_csum_diff(0, 0, (void *)icmp, sizeof(*icmp) + ICMP6_QUOTE, sum);
	icmp->icmp6_cksum = csum_fold64(sum);
	count(CNT_ICMP_TOO_BIG, 1);
	return XDP_TX;
}

SEC("xdp")
int xdplb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct flow_key flow = {};
	struct vip_key vk = {};
	struct vip_meta *vip;
	struct vip_stats *vs;
	struct lb_config *cfg;
	struct backend *be = 0;
	struct conn_ref ref = {};
	struct backend_stats *bs;
	__u32 inner_len, zero = 0, bidx = 0;
	__u8 inner_proto, tos, new_conn = 0, df = 0;
	__u32 max_pkt, overhead;
	void *l4;

	count(CNT_RX, 1);
	if ((void *)(eth + 1) > data_end)
		return pass(CNT_PASS_MALFORMED);

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return pass(CNT_PASS_MALFORMED);
		if (iph->ihl != 5 || iph->version != 4)
			return pass(CNT_PASS_MALFORMED);
		if (iph->frag_off & bpf_htons(0x3fff)) /* MF or a fragment offset */
			return pass(CNT_PASS_FRAGMENT);
		if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
			return pass(CNT_PASS_OTHER_L4);
		inner_len = bounded16(bpf_ntohs(iph->tot_len));
		if (inner_len < sizeof(*iph) || (void *)iph + inner_len > data_end)
			return pass(CNT_PASS_MALFORMED);
		flow.src[0] = iph->saddr;
		flow.dst[0] = iph->daddr;
		flow.proto = iph->protocol;
		vk.family = FAMILY_V4;
		inner_proto = IPPROTO_IPIP;
		tos = iph->tos;
		df = !!(iph->frag_off & bpf_htons(0x4000));
		l4 = iph + 1;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return pass(CNT_PASS_MALFORMED);
		if (ip6->version != 6)
			return pass(CNT_PASS_MALFORMED);
		/* Extension headers, fragments included, are left to the kernel. */
		if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP)
			return pass(CNT_PASS_OTHER_L4);
		inner_len = bounded16(bpf_ntohs(ip6->payload_len)) + sizeof(*ip6);
		if ((void *)ip6 + inner_len > data_end)
			return pass(CNT_PASS_MALFORMED);
		__builtin_memcpy(flow.src, &ip6->saddr, 16);
		__builtin_memcpy(flow.dst, &ip6->daddr, 16);
		flow.proto = ip6->nexthdr;
		vk.family = FAMILY_V6;
		inner_proto = IPPROTO_IPV6;
		tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
		l4 = ip6 + 1;
	} else {
		return pass(CNT_PASS_NOT_IP);
	}

	if (flow.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return pass(CNT_PASS_MALFORMED);
		flow.sport = th->source;
		flow.dport = th->dest;
		/* A SYN starts a new connection: it follows the ring even when an old connection
		 * with the same 5-tuple (a reused client port) is still in the table. */
		new_conn = th->syn && !th->ack;
	} else {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return pass(CNT_PASS_MALFORMED);
		flow.sport = uh->source;
		flow.dport = uh->dest;
	}

	__builtin_memcpy(vk.addr, flow.dst, 16);
	vk.port = flow.dport;
	vk.proto = flow.proto;
	vip = bpf_map_lookup_elem(&vips, &vk);
	if (!vip)
		return pass(CNT_PASS_NOT_VIP);
	vs = bpf_map_lookup_elem(&vip_stats, &vip->vip_num);
	if (vs) {
		vs->packets++;
		vs->bytes += inner_len;
	}

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg) {
		if (vs)
			vs->drops++;
		count(CNT_DROP_NO_SOURCE, 1);
		return XDP_DROP;
	}
	/* Oversize: the outer packet would not fit the tunnel path's MTU (cfg->max_pkt). IPv6 and
	 * IPv4 with DF get a "too big" answer with the MTU left for the inner packet; IPv4
	 * without DF goes to the kernel, which may fragment it (XDP cannot). A packet too big
	 * even for the smaller (IPv4, 20-byte) tunnel header is answered here, before the
	 * connection table is read (as Katran checks its size before its LRU), with the MTU of
	 * the family of the ring's backend for the flow (for a VIP with backends of both
	 * families, an established flow's own backend may be of the other family: its MTU is
	 * then 20 bytes off); one that fits only an IPv4 tunnel is checked below, once the
	 * flow's backend is known. */
	max_pkt = cfg->max_pkt ? cfg->max_pkt : DEFAULT_MAX_PKT;
	if (inner_len + sizeof(struct iphdr) > max_pkt) {
		if (vk.family == FAMILY_V4 && !df)
			return pass(CNT_PASS_TOO_BIG);
		/* One backend family in the ring (vip->flags, kept by the control plane): its
		 * tunnel header, without hashing the flow into the ring. */
		if (vip->flags == VIP_RING_V4) {
			overhead = sizeof(struct iphdr);
		} else if (vip->flags == VIP_RING_V6) {
			overhead = sizeof(struct ipv6hdr);
		} else {
			be = ring_backend(vip, &flow, vs, &bidx);
			if (!be)
				return XDP_DROP;
			overhead = be->family == FAMILY_V4 ? sizeof(struct iphdr) :
							     sizeof(struct ipv6hdr);
		}
		if (vk.family == FAMILY_V6)
			return icmp6_too_big(ctx, max_pkt - overhead);
		return icmp4_too_big(ctx, max_pkt - overhead);
	}

	/* Established flow: keep its backend while that backend exists (drained or not). */
	if (!new_conn) {
		bidx = conn_lookup(&ref, &flow);
		if (bidx) {
			be = bpf_map_lookup_elem(&backends, &bidx);
			if (be && !(be->flags & BACKEND_VALID))
				be = 0;
			if (be)
				conn_keep(&ref, &flow, bidx);
		}
	}
	if (!be) {
		count(CNT_LRU_MISS, 1);
		if (vs)
			vs->lru_misses++;
		be = ring_backend(vip, &flow, vs, &bidx);
		if (!be)
			return XDP_DROP;
		conn_record(&ref, &flow, bidx, new_conn, may_record(cfg));
	}

	if ((be->family == FAMILY_V4 && !cfg->src4) ||
	    (be->family == FAMILY_V6 &&
	     !(cfg->src6[0] | cfg->src6[1] | cfg->src6[2] | cfg->src6[3]))) {
		if (vs)
			vs->drops++;
		count(CNT_DROP_NO_SOURCE, 1);
		return XDP_DROP;
	}
	overhead = be->family == FAMILY_V4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	if (inner_len + overhead > max_pkt) {
		if (vk.family == FAMILY_V6)
			return icmp6_too_big(ctx, max_pkt - overhead);
		if (df)
			return icmp4_too_big(ctx, max_pkt - overhead);
		return pass(CNT_PASS_TOO_BIG);
	}
	if (encap(ctx, be, cfg, &flow, vk.family, inner_len, inner_proto, tos)) {
		if (vs)
			vs->drops++;
		return XDP_DROP;
	}
	bs = bpf_map_lookup_elem(&backend_stats, &bidx);
	if (bs) {
		bs->packets++;
		bs->bytes += inner_len;
	}
	count(CNT_TX, 1);
	count(CNT_TX_BYTES, inner_len);
	return XDP_TX;
}
