#!/usr/bin/env bash
# Runs the Go IPVS tests inside the kernel lab (one boot): the go/ipvs test binaries (race
# detector on, and off for the allocation count). (Seesaw's are in examples/seesaw/lab-test.sh.)
# Usage (from mk/go.mk):
#   lab/run go/lab-test.sh GO_OUT_DIR
# Every test must pass with IPVS present (LBNET_REQUIRE_KERNEL=1: a missing IPVS is a failure).
set -euo pipefail
out=$1
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

if [ $fail -ne 0 ]; then
    step "FAILED"
    exit 1
fi
step "all Go lab tests passed"
