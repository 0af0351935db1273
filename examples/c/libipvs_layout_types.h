/* The C type of each name in libipvs_layout.h (one union, the rest structs). */
#define TYPE_nf_inet_addr union nf_inet_addr
#define TYPE_ip_vs_service_user struct ip_vs_service_user
#define TYPE_ip_vs_dest_user struct ip_vs_dest_user
#define TYPE_ip_vs_stats_user struct ip_vs_stats_user
#define TYPE_ip_vs_stats64 struct ip_vs_stats64
#define TYPE_ip_vs_getinfo struct ip_vs_getinfo
#define TYPE_ip_vs_service_entry struct ip_vs_service_entry
#define TYPE_ip_vs_dest_entry struct ip_vs_dest_entry
#define TYPE_ip_vs_get_dests struct ip_vs_get_dests
#define TYPE_ip_vs_get_services struct ip_vs_get_services
#define TYPE_ip_vs_timeout_user struct ip_vs_timeout_user
#define TYPE_ip_vs_daemon_user struct ip_vs_daemon_user
