/*
 * The structs of libipvs's API (ipvsadm 1.31's libipvs/libipvs.h and ip_vs.h) and every field
 * of each, as an X-macro: S(struct) for the struct, F(struct, field) for each field. Used by
 * libipvs_layout_ours.c (sizes and offsets in lbnet/libipvs.h, printed as #defines) and
 * libipvs_layout.c (compiled against ipvsadm's own header, static-asserting them equal).
 */
#define LIBIPVS_LAYOUT(S, F) \
	S(nf_inet_addr) F(nf_inet_addr, all) F(nf_inet_addr, ip) F(nf_inet_addr, ip6) \
	F(nf_inet_addr, in) F(nf_inet_addr, in6) \
	S(ip_vs_service_user) F(ip_vs_service_user, protocol) F(ip_vs_service_user, __addr_v4) \
	F(ip_vs_service_user, port) F(ip_vs_service_user, fwmark) \
	F(ip_vs_service_user, sched_name) F(ip_vs_service_user, flags) \
	F(ip_vs_service_user, timeout) F(ip_vs_service_user, netmask) F(ip_vs_service_user, af) \
	F(ip_vs_service_user, addr) F(ip_vs_service_user, pe_name) \
	S(ip_vs_dest_user) F(ip_vs_dest_user, __addr_v4) F(ip_vs_dest_user, port) \
	F(ip_vs_dest_user, conn_flags) F(ip_vs_dest_user, weight) F(ip_vs_dest_user, u_threshold) \
	F(ip_vs_dest_user, l_threshold) F(ip_vs_dest_user, af) F(ip_vs_dest_user, addr) \
	F(ip_vs_dest_user, tun_type) F(ip_vs_dest_user, tun_port) F(ip_vs_dest_user, tun_flags) \
	S(ip_vs_stats_user) F(ip_vs_stats_user, conns) F(ip_vs_stats_user, inpkts) \
	F(ip_vs_stats_user, outpkts) F(ip_vs_stats_user, inbytes) F(ip_vs_stats_user, outbytes) \
	F(ip_vs_stats_user, cps) F(ip_vs_stats_user, inpps) F(ip_vs_stats_user, outpps) \
	F(ip_vs_stats_user, inbps) F(ip_vs_stats_user, outbps) \
	S(ip_vs_stats64) F(ip_vs_stats64, conns) F(ip_vs_stats64, inpkts) \
	F(ip_vs_stats64, outpkts) F(ip_vs_stats64, inbytes) F(ip_vs_stats64, outbytes) \
	F(ip_vs_stats64, cps) F(ip_vs_stats64, inpps) F(ip_vs_stats64, outpps) \
	F(ip_vs_stats64, inbps) F(ip_vs_stats64, outbps) \
	S(ip_vs_getinfo) F(ip_vs_getinfo, version) F(ip_vs_getinfo, size) \
	F(ip_vs_getinfo, num_services) \
	S(ip_vs_service_entry) F(ip_vs_service_entry, protocol) F(ip_vs_service_entry, __addr_v4) \
	F(ip_vs_service_entry, port) F(ip_vs_service_entry, fwmark) \
	F(ip_vs_service_entry, sched_name) F(ip_vs_service_entry, flags) \
	F(ip_vs_service_entry, timeout) F(ip_vs_service_entry, netmask) \
	F(ip_vs_service_entry, num_dests) F(ip_vs_service_entry, stats) \
	F(ip_vs_service_entry, af) F(ip_vs_service_entry, addr) F(ip_vs_service_entry, pe_name) \
	F(ip_vs_service_entry, stats64) \
	S(ip_vs_dest_entry) F(ip_vs_dest_entry, __addr_v4) F(ip_vs_dest_entry, port) \
	F(ip_vs_dest_entry, conn_flags) F(ip_vs_dest_entry, weight) \
	F(ip_vs_dest_entry, u_threshold) F(ip_vs_dest_entry, l_threshold) \
	F(ip_vs_dest_entry, activeconns) F(ip_vs_dest_entry, inactconns) \
	F(ip_vs_dest_entry, persistconns) F(ip_vs_dest_entry, stats) F(ip_vs_dest_entry, af) \
	F(ip_vs_dest_entry, addr) F(ip_vs_dest_entry, stats64) F(ip_vs_dest_entry, tun_type) \
	F(ip_vs_dest_entry, tun_port) F(ip_vs_dest_entry, tun_flags) \
	S(ip_vs_get_dests) F(ip_vs_get_dests, protocol) F(ip_vs_get_dests, __addr_v4) \
	F(ip_vs_get_dests, port) F(ip_vs_get_dests, fwmark) F(ip_vs_get_dests, num_dests) \
	F(ip_vs_get_dests, af) F(ip_vs_get_dests, addr) F(ip_vs_get_dests, entrytable) \
	S(ip_vs_get_services) F(ip_vs_get_services, num_services) \
	F(ip_vs_get_services, entrytable) \
	S(ip_vs_timeout_user) F(ip_vs_timeout_user, tcp_timeout) \
	F(ip_vs_timeout_user, tcp_fin_timeout) F(ip_vs_timeout_user, udp_timeout) \
	S(ip_vs_daemon_user) F(ip_vs_daemon_user, state) F(ip_vs_daemon_user, mcast_ifn) \
	F(ip_vs_daemon_user, syncid) F(ip_vs_daemon_user, sync_maxlen) \
	F(ip_vs_daemon_user, mcast_port) F(ip_vs_daemon_user, mcast_ttl) \
	F(ip_vs_daemon_user, mcast_af) F(ip_vs_daemon_user, mcast_group)
