#!/usr/bin/env bash
# lab/selftest.sh: proves, with assertions, that lab/run does what lab/README.md promises.
#
#   lab/selftest.sh            run every check (boots the lab five times, three of them at once)
#   lab/selftest.sh --guest M  the in-guest half (run by the first check through lab/run)
#
# Host side: exit statuses 0, 3 and 255 come back exactly; arguments with spaces and quotes and
# the environment arrive intact; stdout and stderr come back separately and stdout is streamed
# while the command runs (the guest waits for the host to see its first line); a file written in
# the repository by the guest is visible on the host; LAB_TIMEOUT kills qemu and returns 124;
# parallel runs do not collide; no qemu of ours is left behind. Guest side: rmmod/modprobe of
# ip_vs, IPv4 and IPv6 IPVS services via ipvsadm, VRF and dummy links, /tmp private and writable.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
RUN="$HERE/run"

# ------------------------------------------------------------------------------- guest half ---
if [ "${1:-}" = --guest ]; then
    MARK=$2
    shift 2
    fails=0
    check() { # check DESCRIPTION CMD...: run CMD, report
        local what=$1 t0 t1
        shift
        read -r t0 _ </proc/uptime
        if "$@" >/tmp/check.out 2>&1; then
            read -r t1 _ </proc/uptime
            echo "guest ok: $what ($(echo "$t1 - $t0" | bc) s)"
        else
            echo "guest FAIL: $what" >&2
            sed 's/^/    /' /tmp/check.out >&2
            fails=$((fails + 1))
        fi
    }
    # Streaming: the host creates $MARK only after it has read this line from our stdout.
    echo "lab-stream-first-line"
    for ((i = 0; i < 600; i++)); do
        [ -e "$MARK" ] && break
        sleep 0.1
    done
    check "stdout streamed to the host while the command runs" test -e "$MARK"
    echo "to-stderr" >&2
    check "LBNET_LAB=1 is set" test "${LBNET_LAB:-}" = 1
    check "arguments intact" test "$#:${1:-}:${2:-}:${3:-}" = "3:a b:c'd\"e:\$f *"
    check "LBNET_ env passed" test "${LBNET_SELFTEST_VAR:-}" = "x 'y' \"z\""
    check "cwd is the caller's" test "$PWD" = "$LAB_SELFTEST_CWD"
    check "running as root" test "$(id -u)" = 0
    check "kernel of the LAB_KERNEL line (${LAB_KERNEL:-6.1})" sh -c 'case "$(uname -r)" in "${LAB_KERNEL:-6.1}".*) ;; *) uname -r; exit 1 ;; esac'
    check "/tmp is a private tmpfs" sh -c 'stat -f -c %T /tmp | grep -qx tmpfs && touch /tmp/x'
    check "kernel modules loaded at boot" sh -c 'for m in ip_vs ip_vs_rr ip_vs_mh ip_vs_nq vrf dummy veth; do grep -q "^$m " /proc/modules || { echo "$m missing"; exit 1; }; done'
    check "rmmod ip_vs (with its schedulers)" sh -c 'rmmod ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_fo ip_vs_ovf ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_mh ip_vs_sed ip_vs_nq && rmmod ip_vs && ! grep -q "^ip_vs " /proc/modules && ! test -e /proc/net/ip_vs'
    check "modprobe ip_vs again" sh -c 'modprobe ip_vs && grep -q "^ip_vs " /proc/modules && test -e /proc/net/ip_vs'
    check "ipvsadm IPv4 rr service" sh -c 'ipvsadm -A -t 10.0.0.1:80 -s rr && ipvsadm -Ln | grep -E "^TCP +10\.0\.0\.1:80 rr"'
    check "ipvsadm IPv6 service with a real server" sh -c 'ipvsadm -A -t "[2001:db8::1]:443" -s mh && ipvsadm -a -t "[2001:db8::1]:443" -r "[2001:db8::2]:443" -m -w 3 && ipvsadm -Ln | grep -E "^TCP +\[2001:db8::1\]:443 mh" && ipvsadm -Ln | grep -E "\[2001:db8::2\]:443 +Masq +3"'
    check "scheduler modules autoload (wlc)" sh -c 'ipvsadm -A -u 10.0.0.2:53 -s wlc && ipvsadm -Ln | grep -E "^UDP +10\.0\.0\.2:53 wlc"'
    check "vrf link" sh -c 'ip link add vrf-a type vrf table 100 && ip -d link show vrf-a | grep -q "vrf table 100"'
    check "dummy link" sh -c 'ip link add d0 type dummy && ip link set d0 master vrf-a && ip link set d0 up && ip addr add 192.0.2.1/24 dev d0 && ip route show vrf vrf-a | grep -q 192.0.2.0/24'
    check "veth in a netns" sh -c 'ip netns add lab-st && ip link add v0 type veth peer name v1 netns lab-st && ip netns exec lab-st ip link show v1 && ip netns del lab-st'
    check "repository writable" sh -c "echo written-in-guest >'$LAB_SELFTEST_FILE'"
    [ "$fails" -eq 0 ] || exit 1
    exit 0
fi

# -------------------------------------------------------------------------------- host half ---
REPO=$(git -C "$PWD" rev-parse --show-toplevel 2>/dev/null || pwd -P)
# Inside the repository: the guest sees it read-write and uncached, so files the host creates
# during the run (the streaming marker) are visible in the guest. lab/.cache is git-ignored.
mkdir -p "$REPO/lab/.cache" && WORK=$(mktemp -d "$REPO/lab/.cache/selftest.XXXXXX") || exit 1
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT
pass=0 fail=0
ok() {
    echo "ok: $*"
    pass=$((pass + 1))
}
bad() {
    echo "FAIL: $*" >&2
    fail=$((fail + 1))
}
expect() { # expect DESCRIPTION WANT GOT
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: want '$2', got '$3'"; fi
}
our_qemus() { pgrep -f "qemu-system-x86_64.*$WORK" 2>/dev/null | wc -l; }

T0=$EPOCHREALTIME
echo "selftest: using $RUN"

# 1. Exit statuses 3 and 255, and a timeout, run at the same time as each other (parallel runs
#    must not collide); the timeout also proves that qemu is killed.
# The exit-3 run also sends 2.5 MB through stdout, which must arrive complete and in order.
(TMPDIR=$WORK "$RUN" sh -c 'seq 1 400000; exit 3' >"$WORK/s3.out" 2>"$WORK/s3.err"; echo $? >"$WORK/s3.rc") &
PIDS+=($!)
# The exit-255 run writes into a pipe whose reader quits early: lab/run must still finish.
(
    TMPDIR=$WORK "$RUN" sh -c 'seq 1 400000; exit 255' 2>"$WORK/s255.err" | head -n 1 >"$WORK/s255.out"
    echo "${PIPESTATUS[0]}" >"$WORK/s255.rc"
) &
PIDS+=($!)
(
    s=$EPOCHREALTIME
    TMPDIR=$WORK LAB_TIMEOUT=20 "$RUN" sleep 1000 >"$WORK/to.out" 2>&1
    echo $? >"$WORK/to.rc"
    echo "$EPOCHREALTIME - $s" | bc >"$WORK/to.time"
) &
PIDS+=($!)
wait "${PIDS[@]}"
PIDS=()
expect "exit status 3 passed through" 3 "$(cat "$WORK/s3.rc")"
expect "2.5 MB of stdout arrived intact" "$(seq 1 400000 | md5sum)" "$(md5sum <"$WORK/s3.out")"
expect "exit status 255 passed through (stdout reader quit early)" 255 "$(cat "$WORK/s255.rc")"
expect "LAB_TIMEOUT=20 returns 124" 124 "$(cat "$WORK/to.rc")"
if grep -q "timeout" "$WORK/to.out"; then ok "timeout prints a message"; else bad "no timeout message: $(cat "$WORK/to.out")"; fi
if [ "$(echo "$(cat "$WORK/to.time") < 60" | bc)" = 1 ]; then
    ok "timeout took $(cat "$WORK/to.time") s (< 60)"
else
    bad "timeout took $(cat "$WORK/to.time") s"
fi
expect "no qemu left after the timeout and the parallel runs" 0 "$(our_qemus)"
if ls "$WORK" | grep -q '^lbnet-lab\.'; then bad "per-run temp dirs left behind: $(ls "$WORK")"; else ok "per-run temp dirs removed"; fi

# 2. The main run: streaming, arguments, environment, cwd, stderr, modules, IPVS, VRF, dummy,
#    the repository write, exit status 0.
MARK="$WORK/stream-mark"
FILE="$WORK/written by guest"
export LBNET_SELFTEST_VAR="x 'y' \"z\"" LAB_SELFTEST_CWD=$PWD LAB_SELFTEST_FILE=$FILE
TMPDIR=$WORK "$RUN" bash "$HERE/selftest.sh" --guest "$MARK" 'a b' "c'd\"e" '$f *' \
    >"$WORK/main.out" 2>"$WORK/main.err" &
MAINPID=$!
PIDS+=($MAINPID)
for ((i = 0; i < 1200; i++)); do
    grep -q lab-stream-first-line "$WORK/main.out" 2>/dev/null && break
    kill -0 $MAINPID 2>/dev/null || break
    sleep 0.1
done
if grep -q lab-stream-first-line "$WORK/main.out" && kill -0 $MAINPID 2>/dev/null; then
    ok "first output line reached the host while the command was running"
    touch "$MARK"
else
    bad "the first output line did not arrive while the command was running"
fi
wait $MAINPID
RC=$?
PIDS=()
expect "exit status 0 passed through (all guest checks passed)" 0 "$RC"
sed 's/^/    /' "$WORK/main.out"
[ -s "$WORK/main.err" ] && sed 's/^/    stderr: /' "$WORK/main.err"
expect "guest reported 18 passing checks" 18 "$(grep -c '^guest ok:' "$WORK/main.out")"
expect "stderr came back separately" to-stderr "$(grep -x to-stderr "$WORK/main.err")"
if grep -q to-stderr "$WORK/main.out"; then bad "stderr leaked into stdout"; else ok "stdout has no stderr lines"; fi
if grep -qE '^\[ *[0-9]+\.[0-9]+\]' "$WORK/main.out" "$WORK/main.err"; then
    bad "kernel log lines mixed into the output"
else
    ok "no kernel log lines in the output"
fi
expect "the guest's write in the repository is visible on the host" written-in-guest "$(cat "$FILE" 2>/dev/null)"
expect "the file written by the guest is owned by root" 0 "$(stat -c %u "$FILE" 2>/dev/null)"
expect "no qemu left" 0 "$(our_qemus)"

echo "selftest: $pass passed, $fail failed, $(echo "$EPOCHREALTIME - $T0" | bc | cut -c1-6) s"
[ "$fail" -eq 0 ]
