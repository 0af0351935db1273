#!/usr/bin/env bash
# mk/ipvs-lab.sh tests|demo|bench: builds the IPVS test binaries (or an example) on the host and
# runs them in ONE boot of the kernel lab ($LAB, default lab/run), where IPVS exists.
# Kernel tests run with LBNET_REQUIRE_KERNEL=1, so a lab without IPVS fails instead of skipping.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LAB=${LAB:-lab/run}
CARGO=${CARGO:-cargo}
[ -x "$LAB" ] || { echo "ipvs-lab: kernel lab $LAB not found" >&2; exit 125; }

executables() { # reads cargo's JSON messages, prints the executables built
    grep -o '"executable":"[^"]*"' | cut -d'"' -f4
}

case "${1:-tests}" in
tests)
    # Every core/tests/ipvs_*.rs except the codec tests (no kernel needed, run by cargo test);
    # the module reload test last, alone, since it unloads ip_vs.
    names=()
    for f in core/tests/ipvs_*.rs; do
        n=$(basename "$f" .rs)
        case "$n" in ipvs_codec | ipvs_reload) ;; *) names+=("$n") ;; esac
    done
    names+=(ipvs_reload)
    args=()
    for n in "${names[@]}"; do args+=(--test "$n"); done
    bins=$($CARGO test -p lbnet --no-run --message-format=json "${args[@]}" | executables)
    ordered=()
    for n in "${names[@]}"; do
        ordered+=("$(grep "/deps/$n-" <<<"$bins" | head -1)")
    done
    script="rc=0
for b in ${ordered[*]}; do
    echo \"=== lab: \$b\"
    LBNET_REQUIRE_KERNEL=1 RUST_BACKTRACE=1 \"\$b\" --test-threads=2 || rc=1
done
exit \$rc"
    exec "$LAB" bash -c "$script"
    ;;
demo)
    bin=$($CARGO build -p lbnet --example ipvs_tour --message-format=json | executables)
    exec "$LAB" bash -c "echo '=== lbnet ipvs_tour (library listing)'; $bin --keep && echo && echo '=== ipvsadm -Ln' && ipvsadm -Ln"
    ;;
bench)
    # The bench (ours beside the raw floor), then the peak RSS of one 10,000-change batch in a
    # process of its own, in one boot.
    bin=$($CARGO build --release -p bench-ipvs --bin ipvs_bench --message-format=json | executables)
    exec "$LAB" bash -c "$bin ${IPVS_BENCH_SERVICES:-1000} ${IPVS_BENCH_DESTS:-4} && $bin rss-batch ${IPVS_BENCH_BATCH:-10000}"
    ;;
*)
    echo "usage: $0 tests|demo|bench" >&2
    exit 2
    ;;
esac
