#!/usr/bin/env bash
# Runs the Go IPVS tests inside the kernel lab (one boot): the go/ipvs test binaries (race
# detector on, and off for the allocation count) and the Seesaw binaries built by
# examples/seesaw/build.sh. Usage (from mk/go.mk):
#   lab/run go/lab-test.sh GO_OUT_DIR SEESAW_BIN_DIR
# Every test must pass with IPVS present (LBNET_REQUIRE_KERNEL=1: a missing IPVS is a failure).
set -euo pipefail
out=$1
bin=$2
export LBNET_REQUIRE_KERNEL=1
modprobe ip_vs 2>/dev/null || true
fail=0
step() { echo "go-lab: $*"; }

step "go/ipvs: $out/ipvs.test (race detector on)"
if ! "$out/ipvs.test" -test.v -test.count=1 2>&1 | tee "$out/ipvs.test.log"; then
    fail=1
fi
# Skipped here by design: TestNoIPVS and TestSingleChangeAllocations (the host's no-IPVS path),
# and under the race detector TestSingleChangeAllocatesNothing, run below without it.
if grep -- '--- SKIP' "$out/ipvs.test.log" |
    grep -Ev 'TestNoIPVS|TestSingleChangeAllocations|TestSingleChangeAllocatesNothing' | grep -q .; then
    step "FAIL: tests skipped in the lab"
    fail=1
fi

step "go/ipvs: $out/ipvs-norace.test (allocation counts, which the race detector changes)"
if ! "$out/ipvs-norace.test" -test.v -test.count=1 -test.run '^TestSingleChangeAllocatesNothing$' 2>&1 |
    tee "$out/ipvs-norace.test.log"; then
    fail=1
fi
grep -q -- '--- PASS: TestSingleChangeAllocatesNothing' "$out/ipvs-norace.test.log" ||
    { step "FAIL: TestSingleChangeAllocatesNothing did not pass"; fail=1; }

ns=lbnet-seesaw-$$
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip -n "$ns" link set lo up

step "Seesaw ($(cat "$bin/ORIGIN")): ipvs package tests, -tags rust_ipvs, race detector on"
if ! ip netns exec "$ns" "$bin/seesaw-ipvs.test" -test.v -test.count=1 2>&1 | tee "$out/seesaw-ipvs.test.log"; then
    fail=1
fi
grep -q -- '--- SKIP' "$out/seesaw-ipvs.test.log" && { step "FAIL: Seesaw tests skipped in the lab"; fail=1; }

step "Seesaw IPVS scenario (lbnet_ipvs_scenario), -tags rust_ipvs"
if ! ip netns exec "$ns" "$bin/lbnet_ipvs_scenario"; then
    fail=1
fi

if [ -x "$bin/ipvs_test_tool" ]; then
    step "Seesaw's own test_tools/ipvs_test_tool, -tags rust_ipvs"
    if ! ip netns exec "$ns" "$bin/ipvs_test_tool" > "$out/ipvs_test_tool.log" 2>&1; then
        fail=1
    fi
    cat "$out/ipvs_test_tool.log"
    # The tool logs mismatches as "ERROR:" and still exits 0.
    if grep -q 'ERROR' "$out/ipvs_test_tool.log"; then
        step "FAIL: ipvs_test_tool reported errors"
        fail=1
    fi
fi

if [ $fail -ne 0 ]; then
    step "FAILED"
    exit 1
fi
step "all Go lab tests passed"
