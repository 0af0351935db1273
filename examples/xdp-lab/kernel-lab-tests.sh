#!/usr/bin/env bash
# Runs the XDP kernel tests (core/tests/xdp_{fixtures,flows,attach}.rs) inside the kernel lab
# (Debian's kernel of the line LAB_KERNEL names, default 6.1, in qemu: lab/run), to check the
# program against older verifiers than the host's and, before 5.19, the LRU-per-CPU connection
# table alone. usage: examples/xdp-lab/kernel-lab-tests.sh [LAB_RUN]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LAB=${1:-$ROOT/lab/run}
cd "$ROOT"
bins=$(cargo test -p lbnet --test xdp_fixtures --test xdp_flows --test xdp_attach --no-run 2>&1 |
    sed -n 's/.*Executable .*(\(target\/[^)]*\)).*/\1/p')
[ -n "$bins" ] || { echo "no test binaries found" >&2; exit 1; }
script=$ROOT/target/tmp/xdp-kernel-lab${LAB_KERNEL:+-$LAB_KERNEL}.sh # one per line: make test-kernels runs the lines concurrently
mkdir -p "$(dirname "$script")"
{
    echo '#!/bin/bash'
    echo "cd '$ROOT' || exit 1"
    echo 'uname -r; rc=0'
    echo 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf'
    for b in $bins; do echo "$b --test-threads=1 || rc=1"; done
    echo 'exit $rc'
} >"$script"
chmod +x "$script"
# Under TCG one line took 13-20 min on the shared 2-core machine (two lab guests at once).
LAB_TIMEOUT=${LAB_TIMEOUT:-2400} "$LAB" "$script"
