#!/usr/bin/env bash
# Kernel-lab test (run as root inside lab/run): stock keepalived 2.2.7 and the same keepalived
# relinked on libipvs_ffi.so (examples/keepalived/build.sh) run side by side, each in its own
# network namespace (IPVS tables are per namespace), from the same configuration:
#
#   two virtual_servers, 192.0.2.10:80 and [2001:db8::10]:80 (TCP, wrr, NAT), each with two real
#   servers on port 8080 checked by TCP_CHECK and a sorry_server; the real servers are
#   addresses on the namespace's lo with (or without) a small listener.
#
# Steps, the same in both namespaces; after each one the test polls (with a timeout) until the
# namespace's `ipvsadm -S -n` is the table the step must give, then checks that the two
# namespaces' tables are equal (lines sorted: the kernel hashes services per namespace, so
# listing order can differ):
#   1 start: rs1 listens, rs2 does not (its TCP_CHECK fails)  -> rs1 only
#   2 rs2 starts listening (health check re-adds it)          -> rs1, rs2
#   3 rs2 stops (health check removes it)                     -> rs1 only
#   4 rs1 stops too: quorum lost                              -> sorry_server only
#   5 rs1 and rs2 listen again                                -> rs1, rs2 (sorry server gone)
#   6 SIGHUP with rs1's weight changed 1 -> 5                 -> rs1 -w 5, rs2
#   7 SIGTERM: keepalived removes its services and restores the IPVS timeouts it changed
# The IPVS timeouts (lvs_timeouts in global_defs) are compared too; a VRRP instance on a dummy
# link becomes master and keepalived starts the IPVS sync daemon of lvs_sync_daemon (every
# option given), compared with `ipvsadm -L --daemon`, and stops it on SIGTERM; and the count of
# "IPVS cmd ... error" lines of the two logs.
#
# Usage: lab-test.sh <keepalived-stock> <keepalived-lbnet>
set -uo pipefail

STOCK=$1
OURS=$2
STEP_TIMEOUT=${KEEPALIVED_STEP_TIMEOUT:-90}
W=$(mktemp -d /tmp/ka-lab.XXXXXX)
PY=/usr/bin/python3
fail=0
say() { echo "keepalived-lab: $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T0=$(now)

declare -A KA_PID LISTENER
cleanup() {
    local p
    for p in "${KA_PID[@]}" "${LISTENER[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap cleanup EXIT

for b in "$STOCK" "$OURS" ipvsadm "$PY"; do
    command -v "$b" >/dev/null || { say "FAIL: $b not found"; exit 1; }
done
say "ldd of the lbnet build: $(ldd "$OURS" | grep -E 'ipvs_ffi|libnl' | sed 's/ (0x.*//' | tr -s ' \t\n' ' ')"

# --- the configuration (weight of rs1 as $1) --------------------------------------------------
write_conf() {
    local w1=$1 f=$2
    cat > "$f" <<EOF
global_defs {
    router_id lab
    lvs_timeouts tcp 7200 tcpfin 90 udp 240
    lvs_sync_daemon d0 VI_1 id 5 maxlen 1400 port 8850 ttl 2 group 239.1.2.3
}
vrrp_instance VI_1 {
    state BACKUP
    interface d0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.10/32
    }
}
virtual_server 192.0.2.10 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    sorry_server 10.0.1.9 8080
    real_server 10.0.1.1 8080 {
        weight $w1
        TCP_CHECK {
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }
    }
    real_server 10.0.1.2 8080 {
        weight 2
        TCP_CHECK {
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }
    }
}
virtual_server 2001:db8::10 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    sorry_server fd00::1:9 8080
    real_server fd00::1:1 8080 {
        weight $w1
        TCP_CHECK {
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }
    }
    real_server fd00::1:2 8080 {
        weight 2
        TCP_CHECK {
            connect_timeout 2
            retry 1
            delay_before_retry 1
        }
    }
}
EOF
}

# The table a step must give: $1 = rs1 weight or "-", $2 = rs2 weight or "-", $3 = sorry 0/1.
expect() {
    local w1=$1 w2=$2 sorry=$3
    {
        echo "-A -t 192.0.2.10:80 -s wrr"
        echo "-A -t [2001:db8::10]:80 -s wrr"
        [ "$w1" = - ] || echo "-a -t 192.0.2.10:80 -r 10.0.1.1:8080 -m -w $w1"
        [ "$w1" = - ] || echo "-a -t [2001:db8::10]:80 -r [fd00::1:1]:8080 -m -w $w1"
        [ "$w2" = - ] || echo "-a -t 192.0.2.10:80 -r 10.0.1.2:8080 -m -w $w2"
        [ "$w2" = - ] || echo "-a -t [2001:db8::10]:80 -r [fd00::1:2]:8080 -m -w $w2"
        [ "$sorry" = 0 ] || echo "-a -t 192.0.2.10:80 -r 10.0.1.9:8080 -m -w 1"
        [ "$sorry" = 0 ] || echo "-a -t [2001:db8::10]:80 -r [fd00::1:9]:8080 -m -w 1"
    } | LC_ALL=C sort
}

table() { ip netns exec "ka-$1" ipvsadm -S -n | LC_ALL=C sort; }

# --- namespaces, addresses, listeners ---------------------------------------------------------
for n in stock lbnet; do
    ip netns add "ka-$n"
    ip -n "ka-$n" link set lo up
    ip -n "ka-$n" link add d0 type dummy
    # (a dummy link has no IFF_MULTICAST by default, and VRRP refuses it without unicast peers)
    ip -n "ka-$n" link set d0 multicast on up
    ip -n "ka-$n" addr add 198.51.100.1/24 dev d0
    for a in 10.0.1.1 10.0.1.2 10.0.1.9; do ip -n "ka-$n" addr add "$a/32" dev lo; done
    for a in fd00::1:1 fd00::1:2 fd00::1:9; do ip -n "ka-$n" -6 addr add "$a/128" dev lo nodad; done
    mkdir -p "$W/$n"
    write_conf 1 "$W/$n/keepalived.conf"
done

# listen <ns> <rs> : rs1 / rs2 listen on port 8080 (IPv4 and IPv6), until unlisten.
listen() {
    local n=$1 rs=$2 a4 a6 ready=$W/$1/$2.ready
    case $rs in rs1) a4=10.0.1.1 a6=fd00::1:1 ;; rs2) a4=10.0.1.2 a6=fd00::1:2 ;; esac
    rm -f "$ready"
    ip netns exec "ka-$n" "$PY" -c '
import socket, sys, select
socks = []
for fam, addr in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 8080)); s.listen(64); socks.append(s)
open(sys.argv[3], "w").write("ready\n")
while True:
    for s in select.select(socks, [], [])[0]:
        c, _ = s.accept(); c.close()
' "$a4" "$a6" "$ready" &
    LISTENER[$n.$rs]=$!
    local t=$(now)
    until [ -f "$ready" ]; do
        if ! kill -0 "${LISTENER[$n.$rs]}" 2>/dev/null || [ "$(since "$t" | cut -d. -f1)" -ge 30 ]; then
            say "FAIL: listener $rs in ka-$n did not start"; exit 1
        fi
        sleep 0.1
    done
}
unlisten() {
    local p=${LISTENER[$1.$2]}
    kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
    unset "LISTENER[$1.$2]"
}

timeouts() { ip netns exec "ka-$1" ipvsadm -L --timeout; }
declare -A TO_BEFORE
for n in stock lbnet; do TO_BEFORE[$n]=$(timeouts "$n"); done

# --- keepalived -------------------------------------------------------------------------------
start_ka() {
    local n=$1 bin=$2
    ip netns exec "ka-$n" "$bin" --dont-fork --log-console --log-detail \
        --use-file "$W/$n/keepalived.conf" --pid "$W/$n/keepalived.pid" \
        --checkers_pid "$W/$n/checkers.pid" --vrrp_pid "$W/$n/vrrp.pid" \
        > "$W/$n/log" 2>&1 &
    KA_PID[$n]=$!
}

step=0
ACT_T=$T0
# mark: the step's action starts now (wait_step reports the time since).
mark() { ACT_T=$(now); }
# wait_step <description> <expected table>: polls both namespaces until they show it.
wait_step() {
    local what=$1 want=$2 n t got ok polls=0
    step=$((step + 1))
    t=$(now)
    for n in stock lbnet; do
        ok=0
        while [ "$(since "$t" | cut -d. -f1)" -lt "$STEP_TIMEOUT" ]; do
            polls=$((polls + 1))
            got=$(table "$n")
            if [ "$got" = "$want" ]; then ok=1; break; fi
            kill -0 "${KA_PID[$n]}" 2>/dev/null || [ "$want" = "" ] || break
            sleep 0.2
        done
        if [ "$ok" != 1 ]; then
            say "FAIL: step $step ($what): ka-$n did not reach the expected table in ${STEP_TIMEOUT}s"
            say "  expected:"; echo "$want" | sed 's/^/    /'
            say "  ka-$n has:"; echo "$got" | sed 's/^/    /'
            say "  ka-$n log tail:"; tail -20 "$W/$n/log" | sed 's/^/    /'
            fail=1
        fi
    done
    local s l
    s=$(table stock); l=$(table lbnet)
    if [ "$s" = "$l" ]; then
        say "step $step ($what): stock and lbnet tables equal ($(echo "$s" | grep -c . ) lines), $(since "$ACT_T") s after the action, $polls polls"
    else
        say "FAIL: step $step ($what): tables differ"; diff <(echo "$s") <(echo "$l") | sed 's/^/    /'
        fail=1
    fi
}

listen stock rs1; listen lbnet rs1
mark
start_ka stock "$STOCK"
start_ka lbnet "$OURS"
wait_step "start, rs2's TCP_CHECK fails" "$(expect 1 - 0)"
for n in stock lbnet; do
    if [ "$(timeouts "$n")" != "Timeout (tcp tcpfin udp): 7200 90 240" ]; then
        say "FAIL: ka-$n timeouts: $(timeouts "$n")"; fail=1
    fi
done
say "timeouts set by lvs_timeouts: stock '$(timeouts stock)', lbnet '$(timeouts lbnet)'"

# The VRRP instance becomes master alone on its dummy link, and keepalived then starts the IPVS
# master sync daemon with the lvs_sync_daemon options (ipvs_start_daemon).
daemons() { ip netns exec "ka-$1" ipvsadm -L --daemon; }
t=$(now)
for n in stock lbnet; do
    until daemons "$n" | grep -q 'master sync daemon' || [ "$(since "$t" | cut -d. -f1)" -ge "$STEP_TIMEOUT" ]; do
        sleep 0.2
    done
done
ds=$(daemons stock); dl=$(daemons lbnet)
say "sync daemons after VRRP master: stock '$ds', lbnet '$dl' ($(since "$t") s)"
if ! grep -q 'master sync daemon (mcast=d0, syncid=5' <<<"$ds"; then
    say "FAIL: stock keepalived started no master sync daemon"; fail=1
fi
if [ "$ds" != "$dl" ]; then say "FAIL: sync daemons differ"; fail=1; fi

mark
listen stock rs2; listen lbnet rs2
wait_step "rs2 listens: health check re-adds it" "$(expect 1 2 0)"

mark
unlisten stock rs2; unlisten lbnet rs2
wait_step "rs2 closed: health check removes it" "$(expect 1 - 0)"

mark
unlisten stock rs1; unlisten lbnet rs1
wait_step "rs1 closed too: sorry_server" "$(expect - - 1)"

mark
listen stock rs1; listen lbnet rs1; listen stock rs2; listen lbnet rs2
wait_step "rs1 and rs2 back: sorry_server removed" "$(expect 1 2 0)"

mark
for n in stock lbnet; do
    write_conf 5 "$W/$n/keepalived.conf"
    kill -HUP "${KA_PID[$n]}"
done
wait_step "SIGHUP with rs1's weight 1 -> 5" "$(expect 5 2 0)"

mark
for n in stock lbnet; do kill -TERM "${KA_PID[$n]}"; done
for n in stock lbnet; do
    t=$(now)
    while kill -0 "${KA_PID[$n]}" 2>/dev/null && [ "$(since "$t" | cut -d. -f1)" -lt "$STEP_TIMEOUT" ]; do
        sleep 0.2
    done
    if kill -0 "${KA_PID[$n]}" 2>/dev/null; then say "FAIL: ka-$n keepalived did not stop on SIGTERM"; fail=1; fi
    wait "${KA_PID[$n]}" 2>/dev/null
    unset "KA_PID[$n]"
    say "ka-$n keepalived exited $(since "$ACT_T") s after SIGTERM"
done
wait_step "SIGTERM: keepalived removed its services" ""
for n in stock lbnet; do
    if [ "$(timeouts "$n")" != "${TO_BEFORE[$n]}" ]; then
        say "FAIL: ka-$n timeouts after shutdown '$(timeouts "$n")', before start '${TO_BEFORE[$n]}'"; fail=1
    fi
done
say "timeouts restored on shutdown: stock '$(timeouts stock)', lbnet '$(timeouts lbnet)'"
ds=$(daemons stock); dl=$(daemons lbnet)
if [ -n "$ds$dl" ]; then say "FAIL: sync daemons left after shutdown: stock '$ds', lbnet '$dl'"; fail=1; fi
say "sync daemons after shutdown: stock '${ds:-none}', lbnet '${dl:-none}'"

# --- the logs ---------------------------------------------------------------------------------
for n in stock lbnet; do
    e=$(grep -c 'IPVS cmd .* error' "$W/$n/log")
    say "ka-$n: $(grep -c . "$W/$n/log") log lines, $e 'IPVS cmd ... error' lines, $(grep -cE 'Removing service|Adding service' "$W/$n/log") health-check add/remove lines"
    grep 'IPVS cmd .* error\|IPVS: ' "$W/$n/log" | sed "s/^/    ka-$n: /"
    eval "errs_$n=$e"
done
# shellcheck disable=SC2154
if [ "$errs_stock" != "$errs_lbnet" ]; then
    say "FAIL: IPVS error lines differ: stock $errs_stock, lbnet $errs_lbnet"; fail=1
fi
if [ -n "${KEEPALIVED_LAB_LOGS:-}" ]; then
    mkdir -p "$KEEPALIVED_LAB_LOGS"; cp "$W/stock/log" "$KEEPALIVED_LAB_LOGS/stock.log"; cp "$W/lbnet/log" "$KEEPALIVED_LAB_LOGS/lbnet.log"
fi

say "$step steps in $(since "$T0") s"
if [ "$fail" != 0 ]; then say "FAILED"; exit 1; fi
say "passed: stock and lbnet keepalived made the same IPVS tables at every step"
