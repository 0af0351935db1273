// The C side of the libnl callback: libnl calls nlGateway for each valid message, which calls
// the exported Go function nlCallback with the registration id passed as the callback arg
// (the same shape as Seesaw's netlink package, which we cannot fetch; written from scratch).
#include <stdint.h>
#include <netlink/netlink.h>
#include "_cgo_export.h"

static int nlGateway(struct nl_msg *msg, void *arg) { return nlCallback(msg, (uintptr_t)arg); }

int setValidCallback(struct nl_sock *sk, uintptr_t id) {
    return nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, nlGateway, (void *)id);
}
