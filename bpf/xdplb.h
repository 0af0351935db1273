/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared layout of the xdplb maps. The Rust control plane (core/src/xdp/maps.rs) mirrors every
 * struct here byte for byte; change both together. Addresses and ports are in network order.
 */
#ifndef LBNET_XDPLB_H
#define LBNET_XDPLB_H

#include <linux/types.h>

/* Maglev lookup ring size per VIP (a prime). */
#define RING_SIZE 65537
/* Default capacities; the loader can change the map sizes (max_entries) before loading. */
#define MAX_VIPS 32
#define MAX_BACKENDS 4096
#define CONN_TABLE_SIZE 65536
/* Upper bound of CPUs searched for a flow recorded by another CPU. */
#define MAX_CPUS 256

#define FAMILY_V4 4
#define FAMILY_V6 6

/* backend.flags */
#define BACKEND_VALID 1

/* A VIP: address (IPv4 in addr[0]), port, L4 protocol, family. 20 bytes. */
struct vip_key {
	__u32 addr[4];
	__u16 port;
	__u8 proto;
	__u8 family;
};

/* vip_meta.flags: the families of the backends that own slots of the VIP's ring, kept by the
 * control plane (0 while the ring changes between families, or unknown: the program then reads
 * the ring). Only one of the two set: every flow's backend is of that family. */
#define VIP_RING_V4 1
#define VIP_RING_V6 2

/* What the program needs to know about a VIP: its slot in the ring and the stats array. */
struct vip_meta {
	__u32 vip_num;
	__u32 flags;
};

/* A real server of one VIP: tunnel destination address and family. Index 0 is never a backend.
 * vip_num and weight are for the control plane only (so a restarted one can read its state
 * back); the program reads addr, family and flags. 24 bytes. */
struct backend {
	__u32 addr[4];
	__u8 family;
	__u8 flags;
	__u16 vip_num;
	__u32 weight;
};

/* Connection table key: the 5-tuple of the client's packet. 40 bytes. */
struct flow_key {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* Per-VIP counters (per CPU). */
struct vip_stats {
	__u64 packets;
	__u64 bytes;
	__u64 lru_misses;
	__u64 drops;
};

/* lb_config.flags */
#define CFG_FLOW_SRC 1 /* per-flow outer source (see flow_src4/flow_src6 in xdplb.c) */

/* Largest outer IP packet when lb_config.max_pkt is 0 (a 1,500-byte Ethernet MTU). */
#define DEFAULT_MAX_PKT 1500

/* Per-backend counters (per CPU), indexed by backend slot: packets and bytes (inner IP length)
 * sent to the backend. 16 bytes. */
struct backend_stats {
	__u64 packets;
	__u64 bytes;
};

/* Global configuration, one entry at index 0. 36 bytes. */
struct lb_config {
	__u32 src4;       /* outer IPv4 source for IP-in-IP; 0 = not configured */
	__u32 src6[4];    /* outer IPv6 source for IPv6 tunnels; :: = not configured */
	__u8 gw_mac[6];   /* next-hop MAC; all zero = send back to the packet's source MAC */
	__u16 max_pkt;    /* largest outer IP packet (the tunnel path's MTU); 0 = DEFAULT_MAX_PKT */
	__u32 flags;      /* CFG_* */
	__u32 max_conn_rate; /* new flows recorded per second per CPU; 0 = DEFAULT_MAX_CONN_RATE,
			      * CONN_RATE_UNLIMITED = no limit */
};

/* Katran's new-connection limit (MAX_CONN_RATE, is_under_flood): above this many new flows per
 * second on one CPU, new flows are no longer recorded in the connection table (they follow the
 * ring packet by packet; counter CNT_FLOOD_SKIP). */
#define DEFAULT_MAX_CONN_RATE 125000
#define CONN_RATE_UNLIMITED 0xffffffffu

/* Per-CPU state of the new-flow limit: start of the current one-second window, flows recorded
 * in it. 16 bytes. */
struct conn_rate {
	__u64 window_start;
	__u64 count;
};

/* ICMP "too big" answers: the client's packet is cut to this many bytes of its IP packet and
 * quoted after the ICMP header (Katran's sizes: the IPv4 header and 64 bytes, RFC 792; 248
 * bytes of the IPv6 packet). */
#define ICMP4_QUOTE 84
#define ICMP6_QUOTE 248

/* Global counters (per CPU), indices into the `stats` array. */
enum lb_counter {
	CNT_RX = 0,          /* packets seen */
	CNT_TX,              /* packets encapsulated and sent (XDP_TX) */
	CNT_TX_BYTES,        /* bytes of the inner packets sent */
	CNT_PASS_NOT_VIP,    /* IPv4/IPv6 TCP/UDP not addressed to a VIP */
	CNT_PASS_NOT_IP,     /* not IPv4/IPv6 */
	CNT_PASS_OTHER_L4,   /* IP but not TCP/UDP (ICMP, extension headers, ...) */
	CNT_PASS_FRAGMENT,   /* IPv4 fragments */
	CNT_PASS_MALFORMED,  /* truncated headers, IPv4 options */
	CNT_LRU_MISS,        /* new flows (connection table misses) */
	CNT_DROP_NO_BACKEND, /* VIP with an empty ring */
	CNT_DROP_BAD_BACKEND,/* ring points to an invalid backend */
	CNT_DROP_NO_SOURCE,  /* no outer source address configured for the family */
	CNT_DROP_ADJUST,     /* bpf_xdp_adjust_head failed */
	CNT_ICMP_TOO_BIG,    /* oversize packets answered with ICMP frag needed / ICMPv6 too big */
	CNT_PASS_TOO_BIG,    /* oversize IPv4 packets without DF, left to the kernel (it fragments) */
	CNT_LRU_FALLBACK,    /* LAYOUT_LRU_PER_CPU: a CPU without its own table used the fallback */
	CNT_FLOOD_SKIP,      /* new flows not recorded: above lb_config.max_conn_rate on this CPU */
	CNT_MAX_USED,
	CNT_SLOTS = 32,
};

#endif
