/*
 * scheme.h: service i and destination j of the IPVS peer benchmark (benches/ipvs/README.md) as
 * structs of our C ABI (include/ipvs_ffi.h), for the clients that call it: c_abi.c and the Go
 * client go/cmd/go-cgo-floor (through cgo), so both send the very same structs.
 *
 * Service i is TCP 10.(1 + i>>16).(i>>8 & 255).(i & 255):80, scheduler "wrr"; destination j is
 * 172.16.0.(j+1):8080, masquerading.
 */
#ifndef LBNET_BENCH_IPVS_SCHEME_H
#define LBNET_BENCH_IPVS_SCHEME_H

#include <ipvs_ffi.h>

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static inline lbnet_ipvs_service scheme_service(int i) {
    lbnet_ipvs_service s;
    memset(&s, 0, sizeof s);
    s.af = AF_INET;
    s.addr.af = AF_INET;
    s.addr.addr[0] = 10;
    s.addr.addr[1] = 1 + (i >> 16);
    s.addr.addr[2] = (i >> 8) & 255;
    s.addr.addr[3] = i & 255;
    s.protocol = IPPROTO_TCP;
    s.port = 80;
    strcpy(s.sched_name, "wrr");
    s.netmask = 0xffffffff;
    return s;
}

static inline lbnet_ipvs_dest scheme_dest(int j, int weight) {
    lbnet_ipvs_dest d;
    memset(&d, 0, sizeof d);
    d.addr.af = AF_INET;
    d.addr.addr[0] = 172;
    d.addr.addr[1] = 16;
    d.addr.addr[3] = j + 1;
    d.port = 8080;
    d.fwd_method = LBNET_IPVS_FWD_MASQ;
    d.weight = weight;
    return d;
}

#endif
