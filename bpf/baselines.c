// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Baseline XDP programs for tests and benchmarks:
 *  - xdp_pass: returns XDP_PASS (put on a veth peer so it accepts XDP_TX frames natively);
 *  - xdp_macswap: swaps the Ethernet addresses and returns XDP_TX, the minimal forwarding
 *    program the load balancer's per-packet cost is compared with.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_macswap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}
