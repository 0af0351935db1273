#!/usr/bin/env bash
# portsyncd tour: a private redis-server, two veth "ports" in a private network namespace,
# the daemon, a flap and an MTU change, and STATE_DB after each step. Cleans up on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PORTSYNCD:-$ROOT/target/release/portsyncd}
DIR=$(mktemp -d /tmp/portsyncd-demo.XXXXXX)
NS=lbnet-psd-demo-$$
SOCK=$DIR/redis.sock
cleanup() {
    [ -n "${PSD:-}" ] && kill "$PSD" 2>/dev/null && wait "$PSD" 2>/dev/null || true
    [ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$DIR"
}
trap cleanup EXIT
cli() { redis-cli -s "$SOCK" "$@"; }
show() {
    echo "--- $1"
    for p in Ethernet0 Ethernet4; do
        printf '  STATE_DB PORT_TABLE|%s: %s\n' "$p" "$(cli -n 6 hgetall "PORT_TABLE|$p" | paste -sd' ')"
    done
    # No orchagent here: APPL_DB entries wait in the producer's state hashes and key set.
    printf '  APPL_DB (producer side) PortConfigDone: %s  PortInitDone: %s  PORT_TABLE_KEY_SET: %s\n' \
        "$(cli -n 0 hgetall _PORT_TABLE:PortConfigDone | paste -sd' ')" \
        "$(cli -n 0 hgetall _PORT_TABLE:PortInitDone | paste -sd' ')" \
        "$(cli -n 0 smembers PORT_TABLE_KEY_SET | sort | paste -sd' ')"
}
settle() { sleep 0.3; }

redis-server --port 0 --unixsocket "$SOCK" --save "" --appendonly no --dir "$DIR" \
    --notify-keyspace-events AKE >/dev/null &
RPID=$!
for _ in $(seq 50); do cli ping >/dev/null 2>&1 && break; sleep 0.1; done
ip netns add "$NS"
cli -n 4 hset "PORT|Ethernet0" lanes 0,1,2,3 speed 100000 mtu 9100 >/dev/null
cli -n 4 hset "PORT|Ethernet4" lanes 4,5,6,7 speed 100000 mtu 9100 >/dev/null
cat >"$DIR/portsyncd.toml" <<TOML
[redis]
url = "unix://$SOCK"
[watch]
netns = "/var/run/netns/$NS"
[service]
health_file = "$DIR/health"
TOML
"$BIN" --config "$DIR/portsyncd.toml" &
PSD=$!
settle
# Host interfaces are created after the start, as orchagent/syncd do (on a cold start the
# Ethernet* links left from before are brought down and ignored, as SONiC's portsyncd does).
ip -n "$NS" link add Ethernet0 type veth peer name p0
settle
show "started, Ethernet0 created, Ethernet4 not yet (no PortInitDone)"
ip -n "$NS" link add Ethernet4 type veth peer name p4
settle
show "Ethernet4 created: PortInitDone written"
ip -n "$NS" link set p0 up
ip -n "$NS" link set Ethernet0 up
sleep 1.2 # carrier reaches rtnetlink through the kernel's linkwatch (batched up to 1 s)
show "Ethernet0 up"
ip -n "$NS" link set Ethernet0 mtu 9100
settle
show "Ethernet0 MTU 9100"
ip -n "$NS" link del Ethernet4
settle
show "Ethernet4 deleted"
echo "--- health file"
sed 's/^/  /' "$DIR/health"
kill -TERM "$PSD"
wait "$PSD" && echo "--- SIGTERM: portsyncd exited 0"
PSD=
