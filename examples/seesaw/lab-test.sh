#!/usr/bin/env bash
# The real Seesaw against the real kernel's IPVS, in the kernel lab (one boot), stock (libnl)
# beside lbnet (-tags rust_ipvs), each in its own network namespace. Usage (from mk/seesaw.mk):
#   lab/run examples/seesaw/lab-test.sh SEESAW_BIN_DIR OUT_DIR
# with the binaries examples/seesaw/build.sh made (SEESAW_BIN_DIR/stock: the stock ones).
#
#   1. Seesaw's own test_tools/ipvs_test_tool, stock and rust_ipvs: the two logs, timestamps
#      stripped, must be identical, with no "ERROR:" line (the tool logs mismatches and still
#      exits 0), and both runs must exit 0.
#   2. lbnet_ipvs_readback (examples/seesaw/readback), stock and rust_ipvs: both builds make the
#      same kernel table (`ipvsadm -S -n` of the two namespaces equal, and equal to the table
#      the tool adds); what rust_ipvs reads back is exactly that table (`-want`); what stock
#      reads back differs from it by exactly examples/seesaw/stock-readback.diff, the cases where
#      stock Seesaw is wrong (go/seesaw/README.md). Any other difference fails.
#   3. Seesaw's ipvs package tests with -tags rust_ipvs (race detector on; none may skip), and
#      lbnet's Seesaw scenario (examples/seesaw/scenario), rust_ipvs.
set -euo pipefail
export LC_ALL=C
bin=$1
out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LBNET_REQUIRE_KERNEL=1
modprobe ip_vs 2>/dev/null || true
mkdir -p "$out"
fail=0
step() { echo "seesaw-lab: $*"; }
bad() { step "FAIL: $*"; fail=1; }

nss=()
cleanup() { for n in "${nss[@]}"; do ip netns del "$n" 2>/dev/null || true; done; }
trap cleanup EXIT
newns() {
    ip netns add "$1"
    nss+=("$1")
    ip -n "$1" link set lo up
}
stock_ns=lbnet-seesaw-stock-$$
rust_ns=lbnet-seesaw-rust-$$
newns "$stock_ns"
newns "$rust_ns"
step "Seesaw: $(cat "$bin/ORIGIN"); kernel $(uname -r)"

# 1. ipvs_test_tool, twice.
strip_ts() { sed -E 's#^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} ##'; }
for v in stock rust; do
    if [ $v = stock ]; then ns=$stock_ns tool=$bin/stock/ipvs_test_tool; else ns=$rust_ns tool=$bin/ipvs_test_tool; fi
    rc=0
    ip netns exec "$ns" "$tool" > "$out/ipvs_test_tool.$v.raw" 2>&1 || rc=$?
    strip_ts < "$out/ipvs_test_tool.$v.raw" > "$out/ipvs_test_tool.$v.log"
    [ $rc -eq 0 ] || bad "ipvs_test_tool ($v) exited $rc"
    step "ipvs_test_tool ($v): $(wc -l < "$out/ipvs_test_tool.$v.log") lines, $(grep -c 'ERROR' "$out/ipvs_test_tool.$v.log" || true) ERROR lines, exit $rc"
    grep -q 'ERROR' "$out/ipvs_test_tool.$v.log" && bad "ipvs_test_tool ($v) reported errors: $(grep ERROR "$out/ipvs_test_tool.$v.log" | head -5)"
done
grep -q '^IPVS version ' "$out/ipvs_test_tool.rust.log" || bad "ipvs_test_tool (rust) did not print the IPVS version"
if diff -u "$out/ipvs_test_tool.stock.log" "$out/ipvs_test_tool.rust.log" > "$out/ipvs_test_tool.diff"; then
    step "ipvs_test_tool: stock and rust_ipvs logs identical ($(wc -l < "$out/ipvs_test_tool.rust.log") lines, timestamps stripped)"
else
    cat "$out/ipvs_test_tool.diff"
    bad "ipvs_test_tool: the stock and rust_ipvs logs differ (above)"
fi

# 2. The readback tool, twice, and the kernel's own view.
"$bin/lbnet_ipvs_readback" -want > "$out/readback.want"
for v in stock rust; do
    if [ $v = stock ]; then ns=$stock_ns tool=$bin/stock/lbnet_ipvs_readback; else ns=$rust_ns tool=$bin/lbnet_ipvs_readback; fi
    rc=0
    ip netns exec "$ns" "$tool" > "$out/readback.$v" 2> "$out/readback.$v.err" || rc=$?
    [ $rc -eq 0 ] || bad "readback ($v) exited $rc: $(cat "$out/readback.$v.err")"
    ip netns exec "$ns" ipvsadm -S -n | sort > "$out/ipvsadm.$v"
done
n=$(wc -l < "$out/ipvsadm.rust")
if [ "$n" -gt 0 ] && cmp -s "$out/ipvsadm.stock" "$out/ipvsadm.rust"; then
    step "readback: ipvsadm -S -n identical in the stock and the rust_ipvs namespace ($n lines)"
else
    diff -u "$out/ipvsadm.stock" "$out/ipvsadm.rust" || true
    bad "readback: the two builds made different kernel tables (or none)"
fi
# The kernel holds every service and destination of the table (by address as ipvsadm prints it).
grep -q -- '-A -u \[2001:db8::\]:53 ' "$out/ipvsadm.rust" || bad "the kernel table has no UDP service [2001:db8::]:53"
grep -q -- '-a -t \[2001:db8::80\]:80 -r \[2001:db8::\]:80 ' "$out/ipvsadm.rust" || bad "the kernel table has no destination [2001:db8::]:80 of [2001:db8::80]:80"
[ "$(grep -c -- '^-A' "$out/ipvsadm.rust")" = "$(grep -vc ' | dest ' "$out/readback.want")" ] ||
    bad "the kernel table has $(grep -c -- '^-A' "$out/ipvsadm.rust") services, the tool added $(grep -vc ' | dest ' "$out/readback.want")"
[ "$(grep -c -- '^-a' "$out/ipvsadm.rust")" = "$(grep -c '| dest ' "$out/readback.want")" ] ||
    bad "the kernel table has $(grep -c -- '^-a' "$out/ipvsadm.rust") destinations, the tool added $(grep -c '| dest ' "$out/readback.want")"
if diff -u "$out/readback.want" "$out/readback.rust"; then
    step "readback (rust_ipvs): exactly the table added ($(wc -l < "$out/readback.want") lines)"
else
    bad "readback (rust_ipvs) differs from the table added (above)"
fi
# stock: the difference from the table added, as "-line" (missing) and "+line" (read instead).
diff "$out/readback.want" "$out/readback.stock" | sed -n 's/^< /-/p; s/^> /+/p' | sort > "$out/readback.stock.diff" || true
if diff -u "$here/stock-readback.diff" "$out/readback.stock.diff"; then
    step "readback (stock): differs from the table added by exactly the $(wc -l < "$here/stock-readback.diff") documented lines (examples/seesaw/stock-readback.diff):"
    sed 's/^/seesaw-lab:   /' "$out/readback.stock.diff"
else
    bad "readback (stock): its difference from the table added is not the documented one (diff above: - documented, + seen)"
fi

# 3. Seesaw's own ipvs tests with the tag, and lbnet's scenario.
step "Seesaw's ipvs package tests, -tags rust_ipvs, race detector on"
if ! ip netns exec "$rust_ns" "$bin/seesaw-ipvs.test" -test.v -test.count=1 > "$out/seesaw-ipvs.test.log" 2>&1; then
    cat "$out/seesaw-ipvs.test.log"
    bad "Seesaw's ipvs tests failed"
fi
step "$(grep -c -- '^--- PASS' "$out/seesaw-ipvs.test.log" || true) passed, $(grep -c -- '--- SKIP' "$out/seesaw-ipvs.test.log" || true) skipped"
grep -q -- '--- SKIP' "$out/seesaw-ipvs.test.log" && bad "Seesaw tests skipped in the lab: $(grep -- '--- SKIP' "$out/seesaw-ipvs.test.log")"
step "lbnet's Seesaw scenario, -tags rust_ipvs"
ip netns exec "$rust_ns" "$bin/lbnet_ipvs_scenario" || bad "the scenario failed"

if [ $fail -ne 0 ]; then
    step "FAILED"
    exit 1
fi
step "all Seesaw lab checks passed"
