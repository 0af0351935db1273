#!/usr/bin/env bash
# examples/c/ipvsctl/test.sh: ipvsctl against ipvsadm 1.31 on a real IPVS kernel. Run by
# `make test-ipvsctl` inside ONE kernel-lab boot (lab/run), as root, in the lab's own network
# namespace. Every check asserts; the first failure stops the script with a message and status 1.
#
#   (a) the same varied state (IPv4/IPv6, TCP/UDP/SCTP, fwmark, schedulers with flags,
#       persistence with netmasks, one-packet, pe sip, DR/tunnel (ipip/gue/gre)/masq destinations
#       with weights and thresholds) listed by both tools: -Ln, --stats, --rate, --exact,
#       --thresholds, --persistent-conn, --tun-info, --nosort, -L (names), one service, -S -n, -S,
#       --timeout, --daemon, and the same error messages/exit statuses for bad commands; state
#       made by ipvsctl listed by ipvsadm and state made by ipvsadm listed by ipvsctl;
#   (b) a 1,000-service `ipvsadm -S -n` dump restored with `ipvsctl -R`, checked with ipvsadm;
#   (c) ipvsctl under valgrind and built with -fsanitize=address,undefined, good and bad input.
#
# Environment: IPVSCTL (the program), IPVSCTL_ASAN (its ASan build), VALGRIND_SUPP.
set -uo pipefail

IPVSCTL=${IPVSCTL:?set IPVSCTL to the ipvsctl binary}
IPVSCTL_ASAN=${IPVSCTL_ASAN:?set IPVSCTL_ASAN to the ASan build}
VALGRIND_SUPP=${VALGRIND_SUPP:-}
TMP=$(mktemp -d /tmp/ipvsctl-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
CHECKS=0

fail() {
    echo "test-ipvsctl: FAIL: $*" >&2
    exit 1
}
ok() {
    CHECKS=$((CHECKS + 1))
    echo "ok $CHECKS - $*"
}

# Runs ipvsadm ARGS and ipvsctl ARGS on the same state; stdout must be identical, and so must
# the exit status and the first stderr line (ipvsadm's message; ipvsctl adds the library's
# message on a second line).
same() {
    ipvsadm "$@" >"$TMP/a.out" 2>"$TMP/a.err" </dev/null
    local ra=$?
    "$IPVSCTL" "$@" >"$TMP/b.out" 2>"$TMP/b.err" </dev/null
    local rb=$?
    diff -u "$TMP/a.out" "$TMP/b.out" >"$TMP/diff" || {
        cat "$TMP/diff" >&2
        fail "stdout of 'ipvsctl $*' differs from ipvsadm's (above: - ipvsadm, + ipvsctl)"
    }
    [ "$ra" = "$rb" ] || fail "'$*': exit status ipvsadm $ra, ipvsctl $rb (stderr: $(cat "$TMP/b.err"))"
    # the program's own name aside ("Try `ipvsctl -h'...")
    [ "$(head -n1 "$TMP/a.err")" = "$(head -n1 "$TMP/b.err" | sed 's/ipvsctl/ipvsadm/g')" ] ||
        fail "'$*': stderr ipvsadm '$(head -n1 "$TMP/a.err")', ipvsctl '$(head -n1 "$TMP/b.err")'"
    ok "ipvsctl $* == ipvsadm $* (status $ra, $(wc -l <"$TMP/b.out") lines) [${SECONDS}s]"
}

# Asserts a command succeeds.
run() {
    "$@" >"$TMP/run.out" 2>&1 || fail "'$*' failed: $(cat "$TMP/run.out")"
}

# The varied state, as ipvsadm/ipvsctl arguments, one command per line.
STATE_CMDS=$(
    cat <<'EOF'
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 3
-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 0 -x 100 -y 10
-a -t 10.0.0.1:80 -r 200.168.1.2:8080 -m -w 65535
-a -t 10.0.0.1:80 -r 1.1.1.1 -g -x 7
-A -u 10.0.0.2:53 -s wlc -p 300 -M 255.255.255.0
-a -u 10.0.0.2:53 -r 192.168.1.3 -g
-A --sctp-service 10.0.0.3:3868 -s mh -b mh-fallback,mh-port
-a --sctp-service 10.0.0.3:3868 -r 192.168.1.4:3868 -i --tun-type gue --tun-port 6080 --tun-csum
-a --sctp-service 10.0.0.3:3868 -r 192.168.1.5:3868 -i --tun-type gre --tun-nocsum
-a --sctp-service 10.0.0.3:3868 -r 192.168.1.6:3868 -i --tun-type gue --tun-port 6081 --tun-remcsum
-a --sctp-service 10.0.0.3:3868 -r 192.168.1.7:3868 -i --tun-type gre --tun-csum
-a --sctp-service 10.0.0.3:3868 -r 192.168.1.8:3868 -i
-a --sctp-service 10.0.0.3:3868 -r 2001:db8::99 -i
-A -t [2001:db8::1]:443 -s sh -b sh-fallback,sh-port -p
-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -m -w 5
-a -t [2001:db8::1]:443 -r [2001:db8::ff]:8443 -m -w 1 -x 50 -y 5
-A -u [2001:db8::1]:53 -s wrr -p 60 -M 64 -o
-a -u [2001:db8::1]:53 -r [2001:db8::11]:53 -g -w 2
-A -f 1 -s lc
-a -f 1 -r 192.168.1.7 -g
-A -f 2 -6 -s sed -p 10 -M 48
-a -f 2 -6 -r 2001:db8::12 -g
-A -f 3 -s nq -p 20 -M 255.255.0.0
-A -t 10.0.0.4:5060 -s rr -p 30 --pe sip
-A -u 10.0.0.4:5060 -s rr -p 30 --pe sip -o
-A -t 10.0.0.5:0 -s rr -p
-A -t 10.0.0.6:8080 -s mh -b flag-1,flag-2,flag-3
-A -t 10.0.0.8:8080 -s mh -b flag-3
-A -t 10.0.0.9:8080 -s rr -b flag-2
-A -t 10.0.0.7:22 -s dh
-a -t 10.0.0.7:22 -r 10.0.0.7:22 -g
-a -t 10.0.0.7:22 -r 127.0.0.1:22 -m
-A -t 200.0.0.1:80 -s lblc
-A -t 130.0.0.1:80 -s lblcr
-A -t 100.0.0.1:80 -s fo
-A -t 1.0.0.1:80 -s ovf
-A -u 10.0.0.10:4500 -s rr -o
EOF
)

# Applies STATE_CMDS with tool $1: ipvsadm in one `ipvsadm -R` (fast under TCG), ipvsctl one
# command per process (what is being tested).
make_state() {
    local tool=$1 line
    if [ "$tool" = ipvsadm ]; then
        ipvsadm -R <<<"$STATE_CMDS" || fail "ipvsadm -R of the state failed"
        return
    fi
    while IFS= read -r line; do
        # shellcheck disable=SC2086
        "$tool" $line >"$TMP/mk.out" 2>&1 || fail "'$tool $line' failed: $(cat "$TMP/mk.out")"
    done <<<"$STATE_CMDS"
}

# Bad commands: same message and status from both tools.
BAD_CMDS=$(
    cat <<'EOF'
-A -t 10.0.0.1:80 -s rr
-A -t 10.0.0.99:80 -s nosuch
-A -t 300.0.0.1:80 -s rr
-A -t 10.0.0.99 -s rr
-A -t 10.0.0.99:80 -s rr -b bogus
-A -t 10.0.0.99:80 -s rr -b sh-port
-A -t 10.0.0.99:80 -s rr -o
-A -t [2001:db8::2]:80 -s rr -p 10 -M 200
-A -f 0 -s rr
-A -t 10.0.0.1:80 -u 10.0.0.1:80
-D -t 10.9.9.9:80
-Z -t 10.9.9.9:80
-a -t 10.9.9.9:80 -r 1.2.3.4
-a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m
-a -t 10.0.0.1:80 -r 1.1.1.9 -x 1 -y 5
-a -t 10.0.0.1:80 -r 1.1.1.9 -w abc
-a -t 10.0.0.1:80 -r [2001:db8::6]:80 -m
-a -t 10.0.0.1:80 -r 1.1.1.9 -i --tun-type gue
-a -t 10.0.0.1:80 -r 1.1.1.9 -i --tun-type gre --tun-remcsum
-a -t 10.0.0.1:80 -r 1.1.1.9 -i --tun-type gue --tun-port 1 --tun-csum --tun-nocsum
-e -t 10.0.0.1:80 -r 1.1.1.9
-d -t 10.0.0.1:80 -r 1.1.1.9
-d -t 10.0.0.1:80 -r 192.168.1.1:8080 -m
-Ln -t 10.9.9.9:80
-L --foo
-L --timeout --daemon
--set 1 2
--stop-daemon master
--start-daemon master --mcast-interface nosuchif
extra
EOF
)

LISTINGS=("-Ln" "-Ln --stats" "-Ln --rate" "-Ln --exact" "-Ln --stats --exact"
    "-Ln --rate --exact" "-Ln --thresholds" "-Ln --persistent-conn" "-Ln --tun-info"
    "-Ln --nosort" "-Ln --thresholds --stats" "-S -n" "-l -n" "-Lnt 10.0.0.1:80"
    "-Ln --sctp-service 10.0.0.3:3868" "-Ln -f 2 -6" "-Ln -u [2001:db8::1]:53"
    "-L -n --stats -t 10.0.0.1:80" "-Ln --timeout" "-L --daemon")

# `same` for each argument string given (default: every listing in LISTINGS).
same_listings() {
    local args
    [ $# -gt 0 ] || set -- "${LISTINGS[@]}"
    for args in "$@"; do
        # shellcheck disable=SC2086
        same $args
    done
}

echo "# ipvsctl test: kernel $(uname -r), $(ipvsadm --version 2>&1 | head -n1)"
ipvsadm -C || fail "IPVS not available in this kernel"

# ---- (a) state made by ipvsadm ----------------------------------------------------------------
make_state ipvsadm
same_listings
same -L
same -S
ipvsadm -S -n >"$TMP/state-by-ipvsadm"
want=$(grep -c '^-A' <<<"$STATE_CMDS")
[ "$(grep -c '^-A' "$TMP/state-by-ipvsadm")" = "$want" ] || fail "expected $want services in the state"

# bad input, same state
while IFS= read -r line; do
    # shellcheck disable=SC2086
    same $line
done <<<"$BAD_CMDS"

# ---- (a) state made by ipvsctl, listed by ipvsadm ---------------------------------------------
run "$IPVSCTL" -C
[ -z "$(ipvsadm -S -n)" ] || fail "ipvsctl -C left services behind"
ok "ipvsctl -C cleared the table"
make_state "$IPVSCTL"
ipvsadm -S -n >"$TMP/state-by-ipvsctl"
diff -u "$TMP/state-by-ipvsadm" "$TMP/state-by-ipvsctl" >&2 ||
    fail "state made by ipvsctl, saved by ipvsadm, differs from the same commands run by ipvsadm"
ok "state made by ipvsctl == state made by ipvsadm (ipvsadm -S -n, $(wc -l <"$TMP/state-by-ipvsctl") lines)"
same_listings "-Ln" "-Ln --tun-info" "-S -n"

# edits, deletes, zero, timeouts, daemons with both tools
for tool in ipvsadm "$IPVSCTL"; do
    run ipvsadm -C
    make_state ipvsadm
    run "$tool" -E -t 10.0.0.1:80 -s wrr -p 100 -M 255.255.255.0
    run "$tool" -E -t [2001:db8::1]:443 -s sh -b sh-port
    run "$tool" -e -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 9 -x 20 -y 3
    run "$tool" -e --sctp-service 10.0.0.3:3868 -r 192.168.1.4:3868 -i --tun-type gre --tun-csum
    run "$tool" -d -t 10.0.0.1:80 -r 192.168.1.2:8080
    run "$tool" -D -u 10.0.0.2:53
    run "$tool" -D -f 2 -6
    run "$tool" -Z
    run "$tool" -Z -t 10.0.0.1:80
    run "$tool" --set 100 20 30
    # The kernel refuses sync daemons (EINVAL) while a mixed-family destination exists
    # (ip_vs_genl_new_daemon: mixed_address_family_dests > 0); remove ours first.
    run "$tool" -d --sctp-service 10.0.0.3:3868 -r 2001:db8::99
    run "$tool" --start-daemon master --mcast-interface lo --syncid 3
    run "$tool" --start-daemon backup --mcast-interface lo --syncid 7 --sync-maxlen 1000 \
        --mcast-group 239.1.1.1 --mcast-port 9999 --mcast-ttl 3
    { ipvsadm -S -n; ipvsadm -Ln --timeout; ipvsadm -L --daemon; } >"$TMP/edited-$(basename "$tool")"
    same -L --daemon
    same -Ln --thresholds
    run "$tool" --stop-daemon master
    run "$tool" --stop-daemon backup
    [ -z "$(ipvsadm -L --daemon)" ] || fail "$tool --stop-daemon left a daemon running"
    run "$tool" --set 900 120 300
done
diff -u "$TMP/edited-ipvsadm" "$TMP/edited-$(basename "$IPVSCTL")" >&2 ||
    fail "edits/deletes/timeouts/daemons by ipvsctl differ from the same by ipvsadm"
ok "-E/-e/-d/-D/-Z/--set/--start-daemon by ipvsctl == by ipvsadm"

# ---- (a) non-zero counters: traffic through a local virtual service -------------------------
run ipvsadm -C
make_state ipvsadm
ip addr add 10.0.0.1/32 dev lo 2>/dev/null
ip addr add 2001:db8::1/128 dev lo 2>/dev/null
for i in 1 2 3; do
    timeout 2 bash -c 'exec 3<>/dev/tcp/10.0.0.1/80' 2>/dev/null
    timeout 2 bash -c 'exec 3<>/dev/tcp/2001:db8::1/443' 2>/dev/null
done
sleep 1
conns=$(ipvsadm -Ln --stats --exact -t 10.0.0.1:80 | awk 'NR==3 {print $3}')
[ "${conns:-0}" -gt 0 ] || fail "no connections counted on 10.0.0.1:80 (traffic did not reach IPVS)"
ok "traffic counted: $conns connections on 10.0.0.1:80"
# Counters move while late packets (SYN retransmissions) arrive, and rates come from the
# kernel's estimator, which changes them every 2 s: compare ipvsctl with ipvsadm only when two
# ipvsadm runs around it agree (a snapshot that did not move meanwhile).
same_stable() {
    local attempt
    for attempt in $(seq 1 60); do
        ipvsadm "$@" >"$TMP/s1"
        "$IPVSCTL" "$@" >"$TMP/s2" || fail "ipvsctl $* failed"
        ipvsadm "$@" >"$TMP/s3"
        cmp -s "$TMP/s1" "$TMP/s3" && break
        sleep 1
    done
    cmp -s "$TMP/s1" "$TMP/s3" || fail "counters of '$*' never stood still for one comparison"
    diff -u "$TMP/s1" "$TMP/s2" >&2 || fail "'ipvsctl $*' differs from ipvsadm while the counters stood still"
    ok "ipvsctl $* == ipvsadm (stable snapshot, attempt $attempt)"
}
same_stable -Ln --stats
same_stable -Ln --stats --exact
same_stable -Ln --stats -t 10.0.0.1:80
same_stable -Ln --rate --exact
# ActiveConn/InActConn change as the test's connections time out (seen on 5.10: ipvsadm read
# ActiveConn 1, ipvsctl 0 a moment later), so the plain listing needs a stable snapshot too.
same_stable -Ln

# ---- documented, asserted exceptions ----------------------------------------------------------
long=abcdefghijklmnopqrstuvwxyz
"$IPVSCTL" -A -t 10.0.0.99:80 -s "$long" >"$TMP/x.out" 2>"$TMP/x.err"
rc=$?
[ $rc = 2 ] && grep -q "too long" "$TMP/x.err" ||
    fail "overlong scheduler: want status 2 and 'too long', got $rc: $(cat "$TMP/x.err")"
ipvsadm -A -t 10.0.0.99:80 -s "$long" 2>/dev/null && fail "ipvsadm accepted an overlong scheduler"
ok "exception: overlong scheduler name is a usage error (ipvsadm truncates it, the kernel refuses)"

# ---- (b) 1,000 services: ipvsadm -S dump restored by ipvsctl -R ------------------------------
run ipvsadm -C
{
    for i in $(seq 0 999); do
        a=$((i / 250)) b=$((i % 250))
        case $((i % 4)) in
        0) svc="-t 10.$a.$b.1:80" ;;
        1) svc="-u 10.$a.$b.2:53" ;;
        2) svc="-t [2001:db8:$a::$b]:443" ;;
        3) svc="-f $((i + 1))" ;;
        esac
        case $((i % 3)) in
        0) echo "-A $svc -s rr" ;;
        1) echo "-A $svc -s wlc -p 600" ;;
        2) echo "-A $svc -s sh -b sh-port" ;;
        esac
        if [ $((i % 4)) = 2 ]; then
            echo "-a $svc -r [2001:db8:ff::$b]:443 -m -w $((i % 7))"
            echo "-a $svc -r [2001:db8:fe::$b]:443 -g -w 1"
        else
            echo "-a $svc -r 192.168.$a.$b:8080 -m -w $((i % 7))"
            echo "-a $svc -r 172.16.$a.$b -g -w 2 -x 100 -y 10"
        fi
    done
} >"$TMP/big.rules"
ipvsadm -R <"$TMP/big.rules" || fail "ipvsadm -R of the generated rules failed"
ipvsadm -S -n >"$TMP/big.dump"
[ "$(grep -c '^-A' "$TMP/big.dump")" = 1000 ] || fail "the dump does not have 1,000 services"
[ "$(grep -c '^-a' "$TMP/big.dump")" = 2000 ] || fail "the dump does not have 2,000 destinations"
run ipvsadm -C
t0=$(date +%s%N)
"$IPVSCTL" -R <"$TMP/big.dump" || fail "ipvsctl -R of the 1,000-service dump failed"
t1=$(date +%s%N)
ipvsadm -S -n >"$TMP/big.after"
cmp -s "$TMP/big.dump" "$TMP/big.after" || {
    diff -u "$TMP/big.dump" "$TMP/big.after" | head -n 20 >&2
    fail "ipvsadm -S -n after ipvsctl -R differs from the dump"
}
ok "ipvsctl -R restored 1,000 services + 2,000 destinations; ipvsadm -S -n identical"
same -Ln
same -S -n
run ipvsadm -C
t2=$(date +%s%N)
ipvsadm -R <"$TMP/big.dump" || fail "ipvsadm -R of the dump failed"
t3=$(date +%s%N)
echo "# restore of 3,000 lines in this lab (TCG, compare as a ratio): ipvsctl -R $(((t1 - t0) / 1000000)) ms, ipvsadm -R $(((t3 - t2) / 1000000)) ms"
# A syntax error anywhere changes nothing.
run ipvsadm -C
printf '%s\n' '-A -t 10.3.0.1:80 -s rr' '-A -t 10.3.0.2:80 -s rr -Q' | "$IPVSCTL" -R 2>"$TMP/x.err"
rc=$?
[ $rc = 2 ] && grep -q "line 2" "$TMP/x.err" && [ -z "$(ipvsadm -S -n)" ] ||
    fail "-R with a bad line 2: want status 2, 'line 2' and no change; got $rc, $(cat "$TMP/x.err")"
ok "exception: -R checks every line first; a bad line 2 changes nothing (ipvsadm applies line 1)"
# A kernel error in the middle: the others are applied, the failure is reported with its line.
printf '%s\n' '-A -t 10.3.0.1:80 -s rr' '-A -t 10.3.0.1:80 -s rr' '-A -t 10.3.0.2:80 -s rr' |
    "$IPVSCTL" -R 2>"$TMP/x.err"
rc=$?
[ $rc = 255 ] && grep -q "line 2: Service already exists" "$TMP/x.err" &&
    [ "$(ipvsadm -S -n | wc -l)" = 2 ] ||
    fail "-R with a duplicate on line 2: got $rc, $(cat "$TMP/x.err"), $(ipvsadm -S -n)"
ok "-R reports 'line 2: Service already exists', applies lines 1 and 3, exits 255"

# ---- (c) valgrind and AddressSanitizer --------------------------------------------------------
run ipvsadm -C
make_state ipvsadm
# ipvsadm saves sh/mh with only flag-3 as "-b " (empty), which neither tool can read back
# (ipvsadm -R fails on it too): leave that service out of the round trip.
ipvsadm -S -n | grep -v -- ' -b $' >"$TMP/small.dump"
ipvsadm -S -n >"$TMP/small.full"
grep -q -- '-A -t 10.0.0.8:8080 -s mh -b $' "$TMP/small.full" ||
    fail "expected ipvsadm's quirky '-b ' save line for mh with flag-3"
MEMCHECK_CMDS=$(
    cat <<'EOF'
0 -Ln
0 -Ln --stats --exact
0 -S -n
0 -A -t 10.0.0.50:80 -s wrr -p
0 -a -t 10.0.0.50:80 -r 10.1.1.1:80 -m -w 4
0 -D -t 10.0.0.50:80
1 -Ln -t 10.9.9.9:80
255 -D -t 10.9.9.9:80
2 -A -t 300.1.2.3:80 -s rr
2 -a -t 10.0.0.1:80 -r not..an..address
2 -A -t 10.0.0.51:80 -s abcdefghijklmnopqrstuvwxyz
255 --foo
EOF
)
VG=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,possible
    --errors-for-leak-kinds=definite,possible --error-exitcode=1)
[ -n "$VALGRIND_SUPP" ] && VG+=(--suppressions="$VALGRIND_SUPP")
# Each pass runs the whole list (it adds, then deletes, its own service), so state-changing
# commands see the same table under valgrind and under ASan.
while read -r want args; do
    # shellcheck disable=SC2086
    "${VG[@]}" --log-file="$TMP/vg.log" "$IPVSCTL" $args >/dev/null 2>"$TMP/vg.err"
    rc=$?
    grep -q "ERROR SUMMARY: [1-9]\|definitely lost\|possibly lost\|Invalid" "$TMP/vg.log" && {
        cat "$TMP/vg.log" >&2
        fail "valgrind found errors in 'ipvsctl $args'"
    }
    [ "$rc" = "$want" ] || fail "valgrind ipvsctl $args: status $rc, want $want ($(cat "$TMP/vg.err" "$TMP/vg.log"))"
    ok "valgrind clean: ipvsctl $args (status $rc)"
done <<<"$MEMCHECK_CMDS"
while read -r want args; do
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=1:exitcode=86 UBSAN_OPTIONS=halt_on_error=1:exitcode=86 \
        "$IPVSCTL_ASAN" $args >/dev/null 2>"$TMP/asan.err"
    rc=$?
    grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$TMP/asan.err" && {
        cat "$TMP/asan.err" >&2
        fail "ASan/UBSan found errors in 'ipvsctl $args'"
    }
    [ "$rc" = "$want" ] || fail "ASan ipvsctl $args: status $rc, want $want ($(cat "$TMP/asan.err"))"
    ok "ASan/UBSan clean: ipvsctl $args (status $rc)"
done <<<"$MEMCHECK_CMDS"
for bin in valgrind asan; do
    run ipvsadm -C
    if [ $bin = valgrind ]; then
        "${VG[@]}" --log-file="$TMP/vg.log" "$IPVSCTL" -R <"$TMP/small.dump" 2>"$TMP/vg.err" ||
            fail "valgrind ipvsctl -R failed: $(cat "$TMP/vg.err" "$TMP/vg.log")"
        grep -q "ERROR SUMMARY: [1-9]\|definitely lost\|possibly lost" "$TMP/vg.log" &&
            fail "valgrind found errors in ipvsctl -R: $(cat "$TMP/vg.log")"
    else
        ASAN_OPTIONS=detect_leaks=1 "$IPVSCTL_ASAN" -R <"$TMP/small.dump" 2>"$TMP/asan.err" ||
            fail "ASan ipvsctl -R failed: $(cat "$TMP/asan.err")"
    fi
    ipvsadm -S -n >"$TMP/small.after"
    # Compared as sets of lines: two tables with the same services can list them in a different
    # order (seen once: 1.0.0.1:80 and 100.0.0.1:80 swapped places, nothing else differed).
    # (The lab has no /dev/fd, so no process substitution.)
    sort "$TMP/small.dump" >"$TMP/small.dump.sorted"
    sort "$TMP/small.after" >"$TMP/small.after.sorted"
    cmp -s "$TMP/small.dump.sorted" "$TMP/small.after.sorted" || {
        diff -u "$TMP/small.dump" "$TMP/small.after" | head -n 40 >&2
        fail "$bin ipvsctl -R did not restore the state"
    }
    printf '%s\n' '-A -t 10.3.0.1:80 -s rr' "-A -t 10.3.0.2:80 -s $long" '"unterminated' >"$TMP/bad.rules"
    if [ $bin = valgrind ]; then
        "${VG[@]}" --log-file="$TMP/vg.log" "$IPVSCTL" -R <"$TMP/bad.rules" 2>/dev/null
        [ $? = 2 ] || fail "valgrind ipvsctl -R of bad rules: want status 2"
        grep -q "ERROR SUMMARY: [1-9]\|definitely lost\|possibly lost" "$TMP/vg.log" &&
            fail "valgrind found errors in ipvsctl -R of bad rules: $(cat "$TMP/vg.log")"
    else
        ASAN_OPTIONS=detect_leaks=1:exitcode=86 "$IPVSCTL_ASAN" -R <"$TMP/bad.rules" 2>"$TMP/asan.err"
        [ $? = 2 ] || fail "ASan ipvsctl -R of bad rules: want status 2 ($(cat "$TMP/asan.err"))"
    fi
    ok "$bin clean: ipvsctl -R of a $(wc -l <"$TMP/small.dump")-line dump and of bad rules"
done

run ipvsadm -C
echo "test-ipvsctl: all $CHECKS checks passed"
