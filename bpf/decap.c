// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * xdp_decap: backend-side decapsulation of what xdplb sends (IPv4-in-IPv4, IPv6-in-IPv4,
 * IPv4-in-IPv6, IPv6-in-IPv6), for backends without the ipip/ip6_tunnel modules (the host
 * kernel of the test lab has neither). The outer header is removed and the inner packet goes
 * up the stack (XDP_PASS); everything else passes untouched.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Outer source addresses seen (IPv4 in addr[0]), with a packet count each: lets a test see
 * that the balancer spreads flows over tunnel sources. An LRU, so it never fills up. */
struct outer_src {
	__u32 addr[4];
	__u32 family;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct outer_src);
	__type(value, __u64);
} outer_srcs SEC(".maps");

static __always_inline void seen(const struct outer_src *k)
{
	__u64 one = 1, *n = bpf_map_lookup_elem(&outer_srcs, k);

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&outer_srcs, k, &one, BPF_ANY);
}

SEC("xdp")
int xdp_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, saved;
	struct outer_src src = {};
	__u8 inner;
	int outer;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end || iph->ihl != 5)
			return XDP_PASS;
		inner = iph->protocol;
		outer = sizeof(*iph);
		src.addr[0] = iph->saddr;
		src.family = 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		inner = ip6->nexthdr;
		outer = sizeof(*ip6);
		__builtin_memcpy(src.addr, &ip6->saddr, 16);
		src.family = 6;
	} else {
		return XDP_PASS;
	}
	if (inner != IPPROTO_IPIP && inner != IPPROTO_IPV6)
		return XDP_PASS;
	seen(&src);

	__builtin_memcpy(&saved, eth, sizeof(saved));
	saved.h_proto = bpf_htons(inner == IPPROTO_IPIP ? ETH_P_IP : ETH_P_IPV6);
	if (bpf_xdp_adjust_head(ctx, outer))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(eth, &saved, sizeof(saved));
	return XDP_PASS;
}
