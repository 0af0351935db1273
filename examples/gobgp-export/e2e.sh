#!/usr/bin/env bash
# End-to-end test of gobgp-export against a stock gobgpd, on the host kernel, in two network
# namespaces joined by veth pairs:
#
#   lbe2e-a-PID  stock gobgpd (GoBGP v4 release), routes injected with the stock `gobgp` CLI
#   lbe2e-b-PID  gobgp-export (GoBGP embedded + lbnet's export engine), the tables under test
#   lbe2e-c-PID  a second stock gobgpd, so that a prefix can have two equal paths
#
# The exporter runs GoBGP with use-multiple-paths: a prefix announced by both speakers is one
# multipath route over both next hops; a poller checks that withdrawing one path, then the
# other, takes the route from 2 to 1 to 0 next hops with no moment without a route between.
# Next hops as the PureLB fork handles them: with validate-nexthop = false a next hop covered
# only by a route through a gateway is installed onlink. SIGHUP with a changed route-protocol
# or dampening-interval is refused with a logged reason and the old configuration keeps
# running; a reserved route-protocol is refused at load, naming the key.
#
# One iBGP session carries IPv4 and IPv6 unicast with graceful restart (so End-of-RIB is sent).
# Every step ends with an exact comparison of the kernel tables (protocol 186 routes of tables
# 100, 200, 210 and 300, IPv4 and IPv6) with what the rules say. Steps: standard and large
# community rules, withdrawal, rule reload (new rule, metric change), a next hop going down and
# coming back, a flapping prefix, a daemon restart polled for missing and stale routes, the CLI
# (`netlink export`, `rules`, `stats`, `flush`) and a flush that leaves another daemon's route.
# Netlink import: addresses of listed interfaces announced to A (latency printed and bounded),
# an unlisted interface's not, withdrawals, `netlink import [stats]`.
#
# The daemon's gRPC API (127.0.0.1:50051 in its namespace): the stock `gobgp` CLI lists both
# peers Established and exactly the received routes (`gobgp neighbor`, `gobgp global rib`), and
# `gobgp global rib add` on the daemon announces a route that reaches speaker A's RIB (and the
# daemon's own export). Our CLI over our NetlinkService on the same server: `netlink`,
# `netlink import [stats]`, `netlink export [--vrf]`, `rules`, `stats`, `flush [--vrf]` and
# `version`, each compared exactly with the kernel tables, the configuration or the JSON reply.
#
# With E2E_VRF=1 (needs CONFIG_NET_VRF: the lab), a VRF "blue" (table 500) with a third link
# enslaved to it, and a rule naming the VRF: its route's next hop is reachable only inside the
# VRF, so the VRF rule exports it (validated in the VRF's context) and the main-table rule does
# not; the CLI's --vrf filter and a next hop inside the VRF going down and back are checked too.
# Also the fork's VPN export: both speakers have a GoBGP VRF "gblue" (RD 65001:100) and the
# session carries l3vpn-ipv4-unicast; a route added to A's VRF arrives as a VPN path, and the
# exporter's [vrfs.netlink-export] puts it, without the RD, into Linux VRF "green" (table 510).
# And the fork's per-VRF import: the exporter's [vrfs.netlink-import] announces an interface's
# network into its GoBGP VRF gblue, which A receives as a VPN path into its VRF gblue.
#
# Usage: [E2E_VRF=1] e2e.sh GOBGP_EXPORT_BIN GOBGPD_BIN GOBGP_BIN   (as root)
set -euo pipefail
EXPORT=$1 GOBGPD=$2 GOBGP=$3
VRF=${E2E_VRF:-0}
# Waits are multiplied by E2E_TIME_SCALE (the lab under TCG runs every process start much slower)
# and so is the dampening window, so that the flapping prefix still flaps within one window.
SCALE=${E2E_TIME_SCALE:-1}
# The dampening window in ms (E2E_DAMPENING_MS; default 100 x SCALE). The lab passed once with
# 1 s but dampened only 1 of the 80 flap updates, so its target sets 3 s.
DAMPENING_MS=${E2E_DAMPENING_MS:-$((100 * SCALE))}
A=lbe2e-a-$$ B=lbe2e-b-$$ C=lbe2e-c-$$
WORK=$(mktemp -d /tmp/gobgp-e2e.XXXXXX)
PIDS=()
fail() { echo "FAIL: $*" >&2; echo "--- exporter log" >&2; tail -n 30 "$WORK/b.log" >&2 || true; exit 1; }
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del $A 2>/dev/null || true
    ip netns del $B 2>/dev/null || true
    ip netns del $C 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns del $A 2>/dev/null || true
ip netns del $B 2>/dev/null || true
ip netns del $C 2>/dev/null || true
ip netns add $A
ip netns add $B
ip netns add $C
ip -n $A link set lo up
ip -n $B link set lo up
ip -n $C link set lo up
# The second speaker's link.
ip -n $C link add vc type veth peer name vd netns $B
ip -n $C addr add 10.80.0.1/24 dev vc
ip -n $B addr add 10.80.0.2/24 dev vd
ip -n $C link set vc up
ip -n $B link set vd up
# The BGP link (also the next hop of most routes) and a second link whose far end is the next
# hop of one route, so it can go down without taking the session with it.
ip -n $A link add va type veth peer name vb netns $B
ip -n $A link add na type veth peer name nb netns $B
ip -n $A addr add 10.77.0.1/24 dev va
ip -n $A addr add fd00:77::1/64 dev va nodad
ip -n $A addr add 10.78.0.1/24 dev na
ip -n $B addr add 10.77.0.2/24 dev vb
ip -n $B addr add fd00:77::2/64 dev vb nodad
ip -n $B addr add 10.78.0.2/24 dev nb
for l in va na; do ip -n $A link set $l up; done
for l in vb nb; do ip -n $B link set $l up; done
if [ "$VRF" = 1 ]; then
    ip -n $B link add blue type vrf table 500
    ip -n $B link set blue up
    ip -n $A link add ca type veth peer name cb netns $B
    ip -n $A addr add 10.79.0.1/24 dev ca
    ip -n $B link set cb master blue
    ip -n $B addr add 10.79.0.2/24 dev cb
    ip -n $A link set ca up
    ip -n $B link set cb up
    ip -n $B link add green type vrf table 510
    ip -n $B link set green up
    ip -n $A link add ga type veth peer name gb netns $B
    ip -n $A addr add 10.81.0.1/24 dev ga
    ip -n $B link set gb master green
    ip -n $B addr add 10.81.0.2/24 dev gb
    ip -n $A link set ga up
    ip -n $B link set gb up
fi
# Another daemon's route in one of our tables: nothing we do may touch it.
ip -n $B route add 203.0.113.0/24 via 10.77.0.1 table 100 proto static

peer() { # peer ROUTER_ID NEIGHBOR
    cat <<EOT
[global.config]
  as = 65001
  router-id = "$1"
  port = 179
EOT
    neighbor "$2"
}
neighbor() { # neighbor ADDRESS
    cat <<EOT
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$1"
    peer-as = 65001
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
EOT
    if [ "$VRF" = 1 ]; then cat <<EOT
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
EOT
    fi
}
gvrf() { # gvrf WITH_EXPORT: the GoBGP VRF gblue (VRF mode only)
    [ "$VRF" = 1 ] || return 0
    cat <<EOT
[[vrfs]]
  [vrfs.config]
    name = "gblue"
    rd = "65001:100"
    both-rt-list = ["65001:100"]
EOT
    if [ "$1" = yes ]; then cat <<EOT
  [vrfs.netlink-export]
    enabled = true
    linux-vrf = "green"
  [vrfs.netlink-import]
    enabled = true
    interface-list = ["gimp*"]
EOT
    fi
}
{ peer 10.77.0.1 10.77.0.2; gvrf no; } >"$WORK/a.toml"
peer 10.80.0.1 10.80.0.2 >"$WORK/c.toml"
exporter_config() { # exporter_config STD_METRIC WITH_STD2 [PROTOCOL [DAMPENING_MS]]
    peer 10.77.0.2 10.77.0.1
    neighbor 10.80.0.1
    gvrf yes
    cat <<EOT
[global.use-multiple-paths.config]
  enabled = true
[netlink.import]
  enabled = true
  interface-list = ["imp*"]
[netlink.export]
  enabled = true
  route-protocol = ${3:-186}
  dampening-interval = ${4:-$DAMPENING_MS}
  eor-timeout-seconds = 60
  [[netlink.export.rules]]
    name = "all"
    table-id = 100
  [[netlink.export.rules]]
    name = "std"
    community-list = ["65000:1"]
    table-id = 200
    metric = $1
  [[netlink.export.rules]]
    name = "large"
    large-community-list = ["65000:1:2"]
    table-id = 300
EOT
    if [ "$VRF" = 1 ]; then cat <<EOT
  [[netlink.export.rules]]
    name = "vrf"
    community-list = ["65000:5"]
    vrf = "blue"
EOT
    fi
    if [ "$2" = yes ]; then cat <<EOT
  [[netlink.export.rules]]
    name = "std2"
    community-list = ["65000:9", "65000:1"]
    table-id = 210
    validate-nexthop = false
EOT
    fi
}
exporter_config 30 no >"$WORK/b.toml"

ip netns exec $A "$GOBGPD" -f "$WORK/a.toml" -t toml --api-hosts 127.0.0.1:50051 >"$WORK/a.log" 2>&1 &
PIDS+=($!)
ip netns exec $C "$GOBGPD" -f "$WORK/c.toml" -t toml --api-hosts 127.0.0.1:50051 >"$WORK/c.log" 2>&1 &
PIDS+=($!)
start_exporter() {
    ip netns exec $B "$EXPORT" -f "$WORK/b.toml" -stats 0 >>"$WORK/b.log" 2>&1 &
    EXPORTER=$!
    PIDS+=($EXPORTER)
}
start_exporter
gobgp() { ip netns exec $A "$GOBGP" -u 127.0.0.1 -p 50051 "$@"; }
gobgpc() { ip netns exec $C "$GOBGP" -u 127.0.0.1 -p 50051 "$@"; }
# The daemon's API: stock gobgp, and our CLI over our NetlinkService (default 127.0.0.1:50051).
gobgpb() { ip netns exec $B "$GOBGP" -u 127.0.0.1 -p 50051 "$@"; }
cli() { ip netns exec $B "$EXPORT" "$@"; }

# The kernel's view: "table prefix via metric" for every protocol-186 route of the test tables.
# jq, not python3: under the lab's TCG a python3 start takes some 25 s, jq's a few ms.
tables() {
    { ip -n $B -4 -j route show table all proto 186; ip -n $B -6 -j route show table all proto 186; } |
        jq -r '.[] | [(.table // "main" | tostring), .dst,
                      (.gateway // (if .nexthops then ([.nexthops[].gateway] | sort | join(",")) else "-" end)),
                      (.metric // 0 | tostring)]
               | select(.[0] | IN("100", "200", "210", "300", "500", "510"))
               | .[1] |= (if test("/") then . elif test(":") then . + "/128" else . + "/32" end)
               | join(" ")' | sort
}
# stat NAME: the global counter NAME of `netlink export stats` (its JSON field).
stat() { cli -j netlink export stats | jq -r ".$1"; }
expect() { # expect WHAT LINE... : wait up to 20 s (times SCALE) for exactly these routes
    local what=$1; shift
    local want got
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    for _ in $(seq $((200 * SCALE))); do
        got=$(tables)
        [ "$got" = "$want" ] && { echo "ok: $what"; return 0; }
        sleep 0.1
    done
    echo "$want" >"$WORK/want"; echo "$got" >"$WORK/got"  # files: the lab has no /dev/fd
    diff "$WORK/want" "$WORK/got" >&2 || true
    fail "$what: kernel tables differ (< wanted, > found)"
}
for _ in $(seq $((100 * SCALE))); do gobgp global >/dev/null 2>&1 && break; sleep 0.1; done
gobgp global >/dev/null || fail "gobgpd did not start: $(cat "$WORK/a.log")"
for _ in $(seq $((100 * SCALE))); do gobgpc global >/dev/null 2>&1 && break; sleep 0.1; done
gobgpc global >/dev/null || fail "second gobgpd did not start: $(cat "$WORK/c.log")"
# minus PATTERN LINE...: the lines that do not contain PATTERN, into the array MINUS.
# (No process substitution anywhere: the lab's initramfs has no /dev/fd.)
minus() { local p=$1; shift; mapfile -t MINUS <<<"$(printf '%s\n' "$@" | grep -vF -- "$p")"; }
V4A="198.51.100.0/24" V4B="198.51.101.0/24" V4C="198.51.102.0/24" V6A="2001:db8:1::/48" FLAP="198.51.110.0/24"

gobgp global rib add -a ipv4 $V4A nexthop 10.77.0.1 community 65000:1
gobgp global rib add -a ipv4 $V4B nexthop 10.77.0.1 large-community 65000:1:2
gobgp global rib add -a ipv4 $V4C nexthop 10.78.0.1
gobgp global rib add -a ipv6 $V6A nexthop fd00:77::1 community 65000:1
# In VRF mode: V4D's next hop is reachable only in VRF blue, so only the VRF rule exports it.
V4D="198.51.103.0/24" EXTRA=()
if [ "$VRF" = 1 ]; then
    gobgp global rib add -a ipv4 $V4D nexthop 10.79.0.1 community 65000:5
    # A VPN route: into GoBGP VRF gblue on A, exported by the exporter's gblue into Linux VRF green.
    gobgp vrf gblue rib add -a ipv4 198.51.130.0/24 nexthop 10.81.0.1
    EXTRA=("500 $V4D 10.79.0.1 20" "510 198.51.130.0/24 10.81.0.1 20")
fi
BASE=("${EXTRA[@]}" "100 $V4A 10.77.0.1 20" "100 $V4B 10.77.0.1 20" "100 $V4C 10.78.0.1 20" "100 $V6A fd00:77::1 20"
      "200 $V4A 10.77.0.1 30" "200 $V6A fd00:77::1 30" "300 $V4B 10.77.0.1 20")
expect "standard and large communities, IPv4 and IPv6, one route into several tables" "${BASE[@]}"

# The daemon's gRPC API: stock gobgp (GoBGP's service) and our CLI (our NetlinkService).
. "$(dirname "$0")/e2e-api.sh"
api_gobgp_checks
api_cli_checks
api_flush_vrf_checks
api_version_checks

# Multipath: both speakers announce M (equal paths: the exporter's GoBGP has
# use-multiple-paths). One multipath route over both next hops; A withdraws, then C: a poller
# records the route's next-hop count every 10 ms, which must read 2, then 1, then 0, never 0
# before the last path went.
M="198.51.120.0/24"
gobgp global rib add -a ipv4 $M nexthop 10.77.0.1
gobgpc global rib add -a ipv4 $M nexthop 10.80.0.1
expect "multipath: two speakers, one route over both next hops" "${BASE[@]}" "100 $M 10.77.0.1,10.80.0.1 20"
nhcount() { ip -n $B -j route show table 100 $M | jq -r 'map(if .nexthops then (.nexthops | length) else 1 end) | add // 0'; }
rm -f "$WORK/stop-mp"
( while [ ! -e "$WORK/stop-mp" ]; do nhcount >>"$WORK/mp"; sleep 0.01; done ) &
MPPOLL=$!
sleep 0.3
gobgp global rib del -a ipv4 $M
expect "multipath: one path withdrawn, the route stays with the other" "${BASE[@]}" "100 $M 10.80.0.1 20"
sleep 0.3
gobgpc global rib del -a ipv4 $M
expect "multipath: the last path withdrawn, the route goes" "${BASE[@]}"
sleep 0.3
touch "$WORK/stop-mp"
wait $MPPOLL
seq_seen=$(uniq "$WORK/mp" | tr '\n' ' ')
[ "$seq_seen" = "2 1 0 " ] || fail "multipath: next-hop counts seen $seq_seen, want 2 1 0"
echo "ok: multipath route went 2 -> 1 -> 0 next hops ($(wc -l <"$WORK/mp") polls), never absent while a path remained"

gobgp global rib del -a ipv4 $V4B
expect "withdrawal removes the route from every table" "${EXTRA[@]}" "100 $V4A 10.77.0.1 20" "100 $V4C 10.78.0.1 20" \
    "100 $V6A fd00:77::1 20" "200 $V4A 10.77.0.1 30" "200 $V6A fd00:77::1 30"
gobgp global rib add -a ipv4 $V4B nexthop 10.77.0.1 large-community 65000:1:2
expect "re-announced" "${BASE[@]}"

# Reload: the std rule's metric 30 -> 40 (the old kernel route must go: the metric is part of
# the kernel's key) and a new rule std2 into table 210.
exporter_config 40 yes >"$WORK/b.toml"
kill -HUP $EXPORTER
RELOADED=("${EXTRA[@]}" "100 $V4A 10.77.0.1 20" "100 $V4B 10.77.0.1 20" "100 $V4C 10.78.0.1 20" "100 $V6A fd00:77::1 20"
          "200 $V4A 10.77.0.1 40" "200 $V6A fd00:77::1 40" "210 $V4A 10.77.0.1 20" "210 $V6A fd00:77::1 20"
          "300 $V4B 10.77.0.1 20")
expect "reload: metric change moves the route, a new rule exports into its table" "${RELOADED[@]}"
grep -q "^Rule: std2" <<<"$(cli netlink export rules)" || fail "rules after reload lack std2"

# validate-nexthop = false (rule std2): a next hop that only a route through a gateway covers
# is installed onlink on that route's device, as the PureLB fork does; the validated rule
# "all" withholds it.
ONL="198.51.121.0/24"
ip -n $B route add 10.90.0.0/16 via 10.77.0.1
gobgp global rib add -a ipv4 $ONL nexthop 10.90.0.1 community 65000:9
expect "validation off: onlink route, validated rules withhold it" "${RELOADED[@]}" "210 $ONL 10.90.0.1 20"
r=$(ip -n $B -j route show table 210 $ONL)
[ "$(jq -r '.[0].dev' <<<"$r")" = vb ] && jq -e '.[0].flags | index("onlink")' <<<"$r" >/dev/null ||
    fail "validation off: want onlink on vb: $r"
echo "ok: unvalidated next hop installed onlink dev vb"
gobgp global rib del -a ipv4 $ONL
ip -n $B route del 10.90.0.0/16
expect "onlink route withdrawn" "${RELOADED[@]}"

# Keys the running engine cannot change: SIGHUP is refused with the reason in the log, the
# daemon keeps running on the old configuration (same tables, still reloadable).
cp "$WORK/b.toml" "$WORK/b.good"
for change in "40 yes 187" "40 yes 186 $((DAMPENING_MS + 50))" "40 yes 3"; do
    # shellcheck disable=SC2086
    exporter_config $change >"$WORK/b.toml"
    n=$(grep -c "reload refused" "$WORK/b.log" || true)
    kill -HUP $EXPORTER
    for _ in $(seq $((100 * SCALE))); do
        [ "$(grep -c "reload refused" "$WORK/b.log" || true)" -gt "$n" ] && break; sleep 0.1
    done
    line=$(grep "reload refused" "$WORK/b.log" | tail -n 1)
    case $change in
    *" 187") grep -q "route-protocol 186 -> 187" <<<"$line" || fail "SIGHUP with a new route-protocol: $line" ;;
    *" 3") grep -q "route-protocol = 3" <<<"$line" || fail "SIGHUP with route-protocol 3: $line" ;;
    *) grep -q "dampening-interval" <<<"$line" || fail "SIGHUP with a new dampening-interval: $line" ;;
    esac
    kill -0 $EXPORTER || fail "exporter died on a refused reload"
    expect "refused reload ($line) keeps the old configuration" "${RELOADED[@]}"
done
# At load, a reserved protocol is an error naming the key.
exporter_config 40 yes 3 >"$WORK/bad.toml"
if out=$("$EXPORT" -check -f "$WORK/bad.toml" 2>&1); then fail "route-protocol = 3 accepted at load: $out"; fi
grep -q "route-protocol = 3" <<<"$out" || fail "load error does not name route-protocol: $out"
echo "ok: route-protocol = 3 refused at load: $out"
cp "$WORK/b.good" "$WORK/b.toml"
kill -HUP $EXPORTER

# The next hop of V4C goes away and comes back.
ip -n $B link set nb down
minus "$V4C" "${RELOADED[@]}"
expect "unreachable next hop withdraws the route" "${MINUS[@]}"
ip -n $B link set nb up
expect "the route comes back with its next hop" "${RELOADED[@]}"
if [ "$VRF" = 1 ]; then
    ip -n $B link set cb down
    minus "$V4D" "${RELOADED[@]}"
    expect "a next hop inside the VRF going down withdraws the VRF route" "${MINUS[@]}"
    ip -n $B link set cb up
    expect "and it comes back" "${RELOADED[@]}"
fi

# A flapping prefix: 40 announce/withdraw pairs, ending announced.
before=$(stat dampened_updates)
for _ in $(seq 40); do
    gobgp global rib add -a ipv4 $FLAP nexthop 10.77.0.1
    gobgp global rib del -a ipv4 $FLAP
done
gobgp global rib add -a ipv4 $FLAP nexthop 10.77.0.1
expect "flapping prefix ends installed" "${RELOADED[@]}" "100 $FLAP 10.77.0.1 20"
after=$(stat dampened_updates)
[ "$after" -gt "$before" ] || fail "flapping prefix: dampened count did not grow ($before -> $after)"
echo "ok: flapping prefix dampened ($before -> $after)"

# Netlink import ([netlink.import] interface-list = ["imp*"]): an address added to imp0 in the
# exporter's namespace is announced, as its network, to the stock gobgpd A. Latency: from just
# before `ip addr add` to the line of the prefix in A's `gobgp monitor global rib` stream
# (bash's $EPOCHREALTIME on arrival), printed; the median of six (five IPv4, one IPv6) must be
# under E2E_IMPORT_MAX_MS (default 100, times SCALE), every one under 50 times that; A's RIB
# is also polled with `gobgp global rib` until the prefix is there (that
# time, printed too, includes the stock CLI's own start-up, 12-244 ms per call on a loaded
# host). An address on an unlisted interface is not announced; deleting the address, then the
# link, withdraws; the import counters match.
ip -n $B link add imp0 type veth peer name imq0
ip -n $B link add oth0 type veth peer name otq0
for l in imp0 imq0 oth0 otq0; do ip -n $B link set $l up; done
IMPORT_MAX_MS=$((${E2E_IMPORT_MAX_MS:-100} * SCALE))
gobgp monitor global rib -a ipv4 2>/dev/null | while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME/./}" "$line"; done >>"$WORK/mon4" &
PIDS+=($!)
gobgp monitor global rib -a ipv6 2>/dev/null | while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME/./}" "$line"; done >>"$WORK/mon6" &
PIDS+=($!)
# Let both monitors subscribe (the stock CLI's start-up takes seconds under the lab's TCG).
if [ "$SCALE" -gt 1 ]; then sleep "$SCALE"; else sleep 0.5; fi
# Not `grep -q` after a pipe: under pipefail, grep -q exits at the first match, gobgp then dies
# of SIGPIPE writing the next line, and the pipeline fails although the line was there (which
# happened whenever the match was not the last line and the machine was fast enough).
inrib() { gobgp global rib -a "$1" 2>/dev/null | grep -F " $2 " >/dev/null; }
appear() { # appear T0_US FAMILY PREFIX: wait for PREFIX in A's RIB; MS (monitor) and POLL_MS
    local t0=$1 fam=$2 p=$3 line
    for _ in $(seq $((2000 * SCALE))); do
        if inrib "$fam" "$p"; then
            POLL_MS=$(((${EPOCHREALTIME/./} - t0) / 1000))
            # The monitor's line can come after the poll saw the RIB (its reader is a bash loop,
            # slow under the lab's TCG): wait for it. `|| true`: under pipefail an empty grep
            # would end the script through set -e without a message.
            for _ in $(seq $((100 * SCALE))); do
                line=$(grep -F " $p " "$WORK/mon${fam#ipv}" | grep -v "DELROUTE" | head -n 1 || true)
                [ -n "$line" ] && break
                sleep 0.05
            done
            [ -n "$line" ] || fail "import: $p in A's RIB but not in its monitor stream: $(cat "$WORK/mon${fam#ipv}")"
            MS=$(((${line%% *} - t0) / 1000))
            return 0
        fi
    done
    fail "import: $p did not reach A's RIB: $(gobgp global rib -a "$fam")"
}
gone() { # gone FAMILY PREFIX
    for _ in $(seq $((200 * SCALE))); do inrib "$1" "$2" || return 0; sleep 0.05; done
    fail "import: $2 still in A's RIB"
}
ip -n $B addr add 10.97.0.1/24 dev oth0
LAT=() POLL=()
for i in 1 2 3 4 5; do
    t0=${EPOCHREALTIME/./}
    ip -n $B addr add 10.99.$i.1/24 dev imp0
    appear "$t0" ipv4 10.99.$i.0/24
    LAT+=("$MS") POLL+=("$POLL_MS")
done
t0=${EPOCHREALTIME/./}
ip -n $B addr add fd00:99::1/64 dev imp0 nodad
appear "$t0" ipv6 fd00:99::/64
LAT+=("$MS") POLL+=("$POLL_MS")
echo "import: ip addr add -> peer's RIB (monitor), ms (5 IPv4, 1 IPv6): ${LAT[*]}; found by polling gobgp global rib after, ms: ${POLL[*]}"
# The median must meet the target; every sample must beat the fork's 5 s poll (50 times the
# target: on a host loaded by other work, load average 30 on 2 cores, single samples took up
# to 2,410 ms while the median stayed at 21-74 ms).
mapfile -t SORTED <<<"$(printf '%s\n' "${LAT[@]}" | sort -n)"
median=${SORTED[$((${#SORTED[@]} / 2))]} worst=${SORTED[-1]}
[ "$median" -lt "$IMPORT_MAX_MS" ] || fail "import: median ${median} ms from ip addr add to A's RIB (target $IMPORT_MAX_MS ms)"
[ "$worst" -lt $((50 * IMPORT_MAX_MS)) ] || fail "import: ${worst} ms from ip addr add to A's RIB (limit $((50 * IMPORT_MAX_MS)) ms)"
echo "ok: imported networks (IPv4 and IPv6) reached the peer's RIB: median $median ms (target < $IMPORT_MAX_MS), worst $worst ms"
! inrib ipv4 10.97.0.0/24 || fail "import: the unlisted interface's 10.97.0.0/24 was announced"
echo "ok: an address on an unlisted interface is not announced"
# netlink import (GetNetlink over gRPC) lists exactly the networks in the global RIB, in JSON
# and as text.
want="10.99.1.0/24 10.99.2.0/24 10.99.3.0/24 10.99.4.0/24 10.99.5.0/24 fd00:99::/64"
ijson=$(cli -j netlink import)
[ "$(jq -r '.imported_networks | join(" ")' <<<"$ijson")" = "$want" ] || fail "netlink import -j: want imported $want: $ijson"
out=$(cli netlink import)
grep -qxF "  Imported:   [$want]" <<<"$out" || fail "netlink import: want Imported: [$want]: $out"
echo "ok: netlink import lists the imported networks ($want)"
ip -n $B addr del 10.99.1.1/24 dev imp0
gone ipv4 10.99.1.0/24
echo "ok: a deleted address is withdrawn"
ip -n $B link del imp0
gone ipv4 10.99.5.0/24
gone ipv6 fd00:99::/64
echo "ok: deleting the link withdraws its networks"
# GetNetlinkImportStats (protobuf JSON: 64-bit counters are strings, jq -r prints them bare).
istats=$(cli -j netlink import stats)
[ "$(jq -r .imported <<<"$istats")" -eq 6 ] && [ "$(jq -r .withdrawn <<<"$istats")" -eq 6 ] &&
    [ "$(jq -r .errors <<<"$istats")" -eq 0 ] || fail "import stats: want 6 imported, 6 withdrawn, 0 errors: $istats"
[ "$(jq -r .last_import_time <<<"$istats")" -gt 0 ] && [ "$(jq -r .last_withdraw_time <<<"$istats")" -gt 0 ] ||
    fail "import stats: last import/withdraw time not set: $istats"
out=$(cli netlink import stats)
grep -q "Total Imported: *6$" <<<"$out" && grep -q "Total Withdrawn: *6$" <<<"$out" || fail "netlink import stats: $out"
[ "$(jq -r '.imported_networks | length' <<<"$(cli -j netlink import)")" -eq 0 ] || fail "netlink import: networks left: $(cli netlink import)"
echo "ok: import stats $(jq -c . <<<"$istats")"
ip -n $B link del oth0
if [ "$VRF" = 1 ]; then
    # Per-VRF import ([vrfs.netlink-import] of gblue): gimp0's network goes into B's GoBGP VRF
    # gblue, reaches A as a VPN path with RD 65001:100 and lands in A's VRF gblue, not in its
    # global unicast RIB.
    ip -n $B link add gimp0 type veth peer name gimq0
    ip -n $B link set gimp0 up
    ip -n $B addr add 10.96.0.1/24 dev gimp0
    invrf() { gobgp vrf gblue rib -a ipv4 2>/dev/null | grep -F "10.96.0.0/24" >/dev/null; }
    for _ in $(seq $((200 * SCALE))); do invrf && break; sleep 0.05; done
    invrf || fail "VRF import: 10.96.0.0/24 not in A's VRF gblue: $(gobgp vrf gblue rib -a ipv4)"
    ! inrib ipv4 10.96.0.0/24 || fail "VRF import: 10.96.0.0/24 in A's global unicast RIB"
    ijson=$(cli -j netlink import)
    [ "$(jq -r '.vrf_imports[] | select(.vrf_name == "gblue") | .imported_networks | join(" ")' <<<"$ijson")" = "10.96.0.0/24" ] ||
        fail "netlink import -j: VRF gblue should list exactly 10.96.0.0/24: $ijson"
    grep -qxF "    Imported: [10.96.0.0/24]" <<<"$(cli netlink import)" || fail "netlink import does not list the VRF network: $(cli netlink import)"
    ip -n $B addr del 10.96.0.1/24 dev gimp0
    for _ in $(seq $((200 * SCALE))); do invrf || break; sleep 0.05; done
    ! invrf || fail "VRF import: 10.96.0.0/24 still in A's VRF gblue after the address went"
    ip -n $B link del gimp0
    echo "ok: per-VRF import: gimp0's network reached A's VRF gblue as a VPN path, and was withdrawn"
fi

# Restart: stop the exporter (routes stay), withdraw one prefix while it is down (a stale route
# in the kernel), start it again. A poller checks every 20 ms that no wanted route is missing;
# once End-of-RIB is in, the tables must be exact (the stale route swept).
WANTED=("${RELOADED[@]}" "100 $FLAP 10.77.0.1 20")
minus "$V4A" "${WANTED[@]}"
AFTER=("${MINUS[@]}")
printf '%s\n' "${AFTER[@]}" | sort >"$WORK/wanted"
( while [ ! -e "$WORK/stop-poll" ]; do
      tables >"$WORK/now"
      missing=$(comm -23 "$WORK/wanted" "$WORK/now")
      [ -z "$missing" ] || echo "$missing" >>"$WORK/missing"
      sleep 0.02
  done ) &
POLLER=$!
kill -TERM $EXPORTER
wait $EXPORTER || fail "exporter exited with status $? on SIGTERM"
gobgp global rib del -a ipv4 $V4A
sleep 1
grep -q "$V4A" <<<"$(tables)" || fail "routes were removed on a plain stop"
start_exporter
expect "restart: stale route swept after End-of-RIB, nothing else changed" "${AFTER[@]}"
touch "$WORK/stop-poll"
wait $POLLER
[ ! -s "$WORK/missing" ] || fail "wanted routes were missing during the restart: $(sort -u "$WORK/missing" | head)"
echo "ok: no wanted route missing at any moment of the restart"
grep -q "End-of-RIB: *true" <<<"$(cli netlink)" || fail "status does not report End-of-RIB"

# Flush removes what we exported and nothing else.
grep -q "^flushed [1-9]" <<<"$(cli netlink export flush)" || fail "flush reported nothing"
expect "flush empties our routes" ""
grep -q '"203.0.113.0/24"' <<<"$(ip -n $B -j route show table 100)" || fail "flush removed another daemon's route"
echo "ok: another daemon's route survived"
echo "gobgp-export e2e: all checks passed"
