// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Benchmark harness: BPF_PROG_TEST_RUN with repeat = N runs a program N times on one buffer, so a
 * program that encapsulates (or answers with ICMP) would see its own output from the second
 * repetition on. `restore` puts the packet back before every repetition and tail-calls the
 * program under test (progs[0]):
 *  1. it moves the packet start down as far as bpf_xdp_adjust_head allows (a fixed sequence of
 *     9 calls), which measures the headroom the previous repetition left; the first repetition's
 *     headroom is remembered in the template;
 *  2. it moves the start back up to that original headroom and sets the length back with
 *     bpf_xdp_adjust_tail (the kernel zeroes a grown tail: template packets have zero payloads);
 *  3. it copies the template's first TMPL_BYTES bytes over the packet (every program here
 *     writes only headers in front of, or within, that many bytes).
 * The same sequence runs whatever the program did, so its cost is the same for every program
 * and is removed by subtracting the run with progs[0] = an XDP_PASS program.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TMPL_BYTES 128

struct tmpl {
	__u32 len;
	__u32 headroom;
	__u8 bytes[TMPL_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tmpl);
} tmpl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} progs SEC(".maps");

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int restore(struct xdp_md *ctx)
{
	__u32 zero = 0, room = 0, len;
	struct tmpl *t = bpf_map_lookup_elem(&tmpl, &zero);
	void *data, *data_end;

	if (!t)
		return XDP_ABORTED;
#pragma unroll
	for (int s = 256; s >= 1; s >>= 1)
		if (bpf_xdp_adjust_head(ctx, -s) == 0)
			room += s;
	if (!t->headroom)
		t->headroom = room;
	if (bpf_xdp_adjust_head(ctx, t->headroom))
		return XDP_ABORTED;
	len = ctx->data_end - ctx->data;
	if (len != t->len && bpf_xdp_adjust_tail(ctx, (int)t->len - (int)len))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + TMPL_BYTES > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, t->bytes, TMPL_BYTES);
	bpf_tail_call(ctx, &progs, 0);
	return XDP_ABORTED;
}
