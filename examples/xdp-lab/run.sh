#!/usr/bin/env bash
# The XDP load balancer lab: a client, a balancer with xdplb on its NIC, a router and three
# HTTP backends, each in its own network namespace on one bridge, IPv4 198.18.0.0/15 and IPv6
# 2001:db8::/32. The backends strip the tunnel header with the decap XDP program (the host
# kernel has no ipip module), own the VIP on lo and answer the client directly (DSR).
#
#   client 198.18.0.2 --> balancer 198.18.0.1 (XDP: Maglev, IP-in-IP) --> router 198.18.0.254
#          ^                                                                  | (forwards)
#          +----------------- direct reply from the VIP ---------------- be1..be3 198.18.0.11-13
#
# Measures with wrk (requests/s, latency percentiles), the spread over backends for weights
# 1:2:1 over 3,000 fresh connections (within 10 %), a drain (held connection stays, new ones
# avoid the drained backend) and a control-plane restart mid-load (wrk must see no error).
#
# usage: examples/xdp-lab/run.sh [OUT_DIR]   (root; needs wrk, go, iproute2, ethtool)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/benches/out/xdp-lab}
mkdir -p "$OUT"
P=xl$$
CTL=${XDPLBCTL:-$ROOT/target/release/xdplbctl}
LABTOOL=$OUT/labtool
PIN=/sys/fs/bpf/lbnet-lab-$P
VIP4=198.19.0.10
VIP6=2001:db8:ffff::10
pids=()

cleanup() {
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$PIN"
    for ns in cl lb sw be1 be2 be3; do ip netns del "$P$ns" 2>/dev/null; done
}
trap cleanup EXIT

(cd "$ROOT/examples/xdp-lab/labtool" && go build -o "$LABTOOL" .)
[ -x "$CTL" ] || (cd "$ROOT" && cargo build --release -p xdplbctl)

for ns in cl lb sw be1 be2 be3; do ip netns add "$P$ns"; ip -n "$P$ns" link set lo up; done
ip -n "${P}sw" link add br0 address 02:00:00:00:fe:01 type bridge
ip -n "${P}sw" link set br0 up
ip -n "${P}sw" addr add 198.18.0.254/24 dev br0
ip -n "${P}sw" addr add 2001:db8::fe/64 dev br0 nodad
# Tunnel packets come from per-flow sources in 198.18.0.0/16 (--flow-src on), most of them
# off the router's /24: no reverse-path filter.
ip netns exec "${P}sw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.br0.send_redirects=0 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.br0.rp_filter=0 net.ipv4.conf.default.rp_filter=0
# The router's routes to the VIPs are never used (the balancer tunnels to backend addresses).
port() { # ns ifname v4 v6 mac
    ip -n "${P}sw" link add "s-$1" type veth peer name "$2" netns "$P$1" address "$5"
    ip -n "${P}sw" link set "s-$1" master br0 up
    ip -n "$P$1" addr add "$3/24" dev "$2"
    ip -n "$P$1" addr add "$4/64" dev "$2" nodad
    ip -n "$P$1" link set "$2" up
}
port cl cl0 198.18.0.2 2001:db8::2 02:00:00:00:0c:01
port lb lb0 198.18.0.1 2001:db8::1 02:00:00:00:0a:01
i=0
for b in be1 be2 be3; do
    i=$((i + 1))
    port "$b" "${b}0" "198.18.0.1$i" "2001:db8::1$i" "02:00:00:00:0b:0$i"
    ip -n "$P$b" addr add "$VIP4/32" dev lo
    ip -n "$P$b" addr add "$VIP6/128" dev lo
    ip netns exec "$P$b" sysctl -qw net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.${b}0.rp_filter=0"
    "$CTL" decap attach "${b}0" --netns "/var/run/netns/$P$b" --native --pin "$PIN/decap-$b" >/dev/null
    ip netns exec "$P$b" "$LABTOOL" serve -name "$b" -listen :80 &
    pids+=($!)
done
# A veth leaves TCP/UDP checksums to an offload (CHECKSUM_PARTIAL) that XDP_TX frames lose
# (an xdp_frame carries no checksum state), so the client computes them itself, as a real
# NIC would before the wire.
ip netns exec "${P}cl" ethtool -K cl0 tx off >/dev/null
ip -n "${P}cl" route add 198.19.0.0/16 via 198.18.0.1
ip -n "${P}cl" -6 route add 2001:db8:ffff::/48 via 2001:db8::1
# Native XDP_TX on a veth needs NAPI on its peer: an XDP_PASS program on the peer gives it.
"$CTL" decap attach s-lb --netns "/var/run/netns/${P}sw" --native --pass-only --pin "$PIN/peer-lb" >/dev/null

LB=(-p "$PIN/lb0")
"$CTL" "${LB[@]}" attach lb0 --netns "/var/run/netns/${P}lb" --native \
    --src4 198.18.0.1 --src6 2001:db8::1 --gw-mac 02:00:00:00:fe:01 --flow-src on
"$CTL" "${LB[@]}" vip add tcp "$VIP4:80"
"$CTL" "${LB[@]}" vip add tcp "[$VIP6]:80"
"$CTL" "${LB[@]}" backends tcp "$VIP4:80" 198.18.0.11=1 198.18.0.12=2 198.18.0.13=1
"$CTL" "${LB[@]}" backends tcp "[$VIP6]:80" 2001:db8::11 2001:db8::12 2001:db8::13
sleep 1
C() { ip netns exec "${P}cl" "$@"; }

echo "== smoke"
C "$LABTOOL" spread -url "http://$VIP4/" -n 30 -c 5 | tee "$OUT/spread4-smoke.json"
C "$LABTOOL" spread -url "http://[$VIP6]/" -n 30 -c 5 | tee "$OUT/spread6.json"

echo "== spread over 3000 connections, weights 1:2:1"
C "$LABTOOL" spread -url "http://$VIP4/" -n 3000 -c 50 | tee "$OUT/spread.json"
python3 - "$OUT/spread.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c.get("errors", 0) == 0, c
tot = sum(c[b] for b in ("be1", "be2", "be3"))
want = {"be1": 0.25, "be2": 0.5, "be3": 0.25}
for b, w in want.items():
    share = c[b] / tot
    assert abs(share - w) <= 0.1 * w, f"{b}: {share:.3f} vs {w} ({c})"
    print(f"{b}: {c[b]} ({share:.3f}, want {w})")
PY

echo "== per-flow outer sources: every backend got its flows from many tunnel sources"
for b in be1 be2 be3; do
    "$CTL" decap sources "${b}0" --pin "$PIN/decap-$b" >"$OUT/sources-$b.txt"
    n4=$(grep -c '^198\.18\.' "$OUT/sources-$b.txt" || true)
    n6=$(grep -c '^2001:db8::' "$OUT/sources-$b.txt" || true)
    echo "$b: $n4 IPv4 and $n6 IPv6 outer sources"
    # 3,000+ IPv4 connections with distinct client ports: hundreds of sources per backend;
    # 30 IPv6 connections over three backends: a few each.
    [ "$n4" -ge 100 ] || { echo "FAIL: $b saw $n4 IPv4 outer sources" >&2; exit 1; }
    [ "$n6" -ge 2 ] || { echo "FAIL: $b saw $n6 IPv6 outer sources" >&2; exit 1; }
done

echo "== wrk, 10 s, 2 threads, 50 connections"
C wrk -t2 -c50 -d10s --latency "http://$VIP4/" | tee "$OUT/wrk.txt"

echo "== drain be3: a held connection stays, new connections avoid it"
rm -f "$OUT/go"
holders=()
for k in $(seq 1 12); do
    C "$LABTOOL" hold -url "http://$VIP4/" -go "$OUT/go" >"$OUT/hold.$k" &
    holders+=($!)
done
sleep 1
"$CTL" "${LB[@]}" drain tcp "$VIP4:80" 198.18.0.13
touch "$OUT/go"
for h in "${holders[@]}"; do wait "$h"; done
cat "$OUT"/hold.* | paste - - | tee "$OUT/hold.txt"
held3=$(grep -c "first be3" "$OUT/hold.txt" || true)
ok3=$(grep -c "first be3.*second be3 reused=true" "$OUT/hold.txt" || true)
echo "held connections on be3: $held3, still on be3 after drain: $ok3"
[ "$held3" -eq "$ok3" ]
awk '{ if ($2 != $4 || $5 != "reused=true") exit 1 }' "$OUT/hold.txt"
C "$LABTOOL" spread -url "http://$VIP4/" -n 600 -c 20 | tee "$OUT/spread-drained.json"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c.get("be3",0)==0 and c.get("errors",0)==0, c' "$OUT/spread-drained.json"
"$CTL" "${LB[@]}" weight tcp "$VIP4:80" 198.18.0.13 1

echo "== control plane restarts under load (each xdplbctl call adopts the pinned data plane)"
C wrk -t2 -c50 -d8s --latency "http://$VIP4/" >"$OUT/wrk-restart.txt" &
w=$!
for k in 1 2 3 4 5 6; do
    sleep 1
    "$CTL" "${LB[@]}" backends tcp "$VIP4:80" 198.18.0.11=1 198.18.0.12=2 198.18.0.13=1 >/dev/null
    "$CTL" "${LB[@]}" list >/dev/null
done
wait "$w"
cat "$OUT/wrk-restart.txt"
if grep -q "Socket errors\|Non-2xx" "$OUT/wrk-restart.txt"; then
    echo "FAIL: errors during control-plane restarts" >&2
    exit 1
fi
"$CTL" "${LB[@]}" stats | tee "$OUT/stats.txt"
# Per-backend counters: every backend of both VIPs was sent packets and bytes.
for b in 198.18.0.11 198.18.0.12 198.18.0.13 2001:db8::11 2001:db8::12 2001:db8::13; do
    grep -q "^  backend $b packets [1-9][0-9]* bytes [1-9]" "$OUT/stats.txt" ||
        { echo "FAIL: no per-backend counters for $b" >&2; exit 1; }
done
echo "xdp-lab: all checks passed"
