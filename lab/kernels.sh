#!/usr/bin/env bash
# lab/kernels.sh OUT.md KERNEL... -- TARGET...: `make test-kernels`' driver. Runs every lab test
# target on every kernel line (each `make TARGET LAB_KERNEL=k` by itself, so one failing target
# does not hide the others), keeps its log under target/kernels/<k>/<target>.log and its outcome
# under target/kernels/<k>/<target>.result, and writes a table of the outcomes (kernel line x
# target: passed / FAILED, with the time and the run that measured it) to OUT.md, built from the
# result files, so a later run of a subset of the pairs updates its cells and keeps the others
# (each cell says which run, date and commit measured it). lab/kernels-notes.md, when present, is
# appended as the "Notes" section. Exits non-zero when any pair run now failed, or when any cell
# of the table is FAILED.
#
# Environment:
#   LAB_KERNEL_JOBS=N   kernel lines run concurrently (default 1): one sequential chain of
#                       targets per line, N lines at a time. With N > 1 every target's build
#                       prerequisites (LAB_PREBUILD) are made once first and the chains run with
#                       `make -o PREREQ` for each, so concurrent chains never rebuild (and
#                       rewrite under a running guest) the same files. The chains start their
#                       target lists at different offsets, so every target is measured early on
#                       some line.
#   LAB_PREBUILD="T..." make targets that build what the lab targets need (mk/lab.mk sets it).
#   LAB_PREBUILT=1      take LAB_PREBUILD as built (make -o), without making it first: for a
#                       second kernels.sh started beside a running one.
#   KERNELS_RUN=...     which pairs to run: "all" (default), "failed" (pairs whose last result
#                       is FAILED or missing), "none" (only rebuild the table), or a list of
#                       KERNEL/TARGET pairs ("5.10/test-xdp-lab 6.12/test-lab-go").
#   KERNELS_NOT_RUN=... the text of the cells of pairs never run (default "not run").
#   LAB_TIMEOUT         passed on; with N > 1 and unset, 3600 s (three guests share the cores).
set -uo pipefail

out=${1:?usage: kernels.sh OUT.md KERNEL... -- TARGET...}
shift
kernels=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do kernels+=("$1"); shift; done
[ "${1:-}" = -- ] || { echo "kernels.sh: missing -- before the targets" >&2; exit 2; }
shift
targets=("$@")
[ ${#kernels[@]} -gt 0 ] && [ ${#targets[@]} -gt 0 ] || { echo "kernels.sh: no kernels or no targets" >&2; exit 2; }
jobs=${LAB_KERNEL_JOBS:-1}
case "$jobs" in '' | *[!0-9]* | 0) echo "kernels.sh: LAB_KERNEL_JOBS must be a positive number" >&2; exit 2 ;; esac
sel=${KERNELS_RUN:-all}
[ "${LAB_PREBUILT:-0}" = 1 ] && [ -z "${LAB_PREBUILD:-}" ] &&
    { echo "kernels.sh: LAB_PREBUILT=1 needs LAB_PREBUILD (run it through make test-kernels)" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
logs=$root/target/kernels
notes=$root/lab/kernels-notes.md
mkdir -p "$logs/runs"

# --- Which pairs to run --------------------------------------------------------------------------
declare -A want
npairs=0
for k in "${kernels[@]}"; do
    for t in "${targets[@]}"; do
        case "$sel" in
        all) run=1 ;;
        none) run=0 ;;
        failed)
            run=1
            [ -f "$logs/$k/$t.result" ] && [ "$(cut -d' ' -f1 "$logs/$k/$t.result")" = passed ] && run=0
            ;;
        *) run=0; for p in $sel; do [ "$p" = "$k/$t" ] && run=1; done ;;
        esac
        [ "$run" = 1 ] && { want[$k,$t]=1; npairs=$((npairs + 1)); }
    done
done
if [ "$sel" != all ] && [ "$sel" != none ] && [ "$sel" != failed ]; then
    for p in $sel; do
        k=${p%%/*} t=${p#*/}
        [ -n "${want[$k,$t]:-}" ] || { echo "kernels.sh: KERNELS_RUN names $p, not a pair of these kernels and targets" >&2; exit 2; }
    done
fi

# --- One run: id, start, commit ------------------------------------------------------------------
start=$(date +%s)
run_id=$(date -u -d "@$start" +%Y%m%d-%H%M%S)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit+local-changes"
[ "$jobs" -gt 1 ] && [ -z "${LAB_TIMEOUT:-}" ] && export LAB_TIMEOUT=3600

# The release each line boots (lab/prepare prints it; it downloads the line on first use).
for k in "${kernels[@]}"; do
    mkdir -p "$logs/$k"
    r=$(LAB_KERNEL=$k "$root/lab/prepare" 2>/dev/null | head -n1)
    [ -n "$r" ] && echo "$r" >"$logs/$k/release"
done

# make -o for every prerequisite built up front (parallel chains only).
mkopts=()
failed=0
if [ "${LAB_PREBUILT:-0}" = 1 ] && [ -n "${LAB_PREBUILD:-}" ]; then
    # built already (e.g. by a kernels.sh still running beside this one, whose guests run those
    # files): do not remake them at all
    for p in $LAB_PREBUILD; do mkopts+=(-o "$p"); done
elif [ "$npairs" -gt 0 ] && [ "$jobs" -gt 1 ] && [ -n "${LAB_PREBUILD:-}" ]; then
    echo "== kernels.sh: building once for the $jobs concurrent chains: make ${LAB_PREBUILD} (log: target/kernels/prebuild.log)"
    t0=$(date +%s)
    # shellcheck disable=SC2086
    if ! make -C "$root" --no-print-directory $LAB_PREBUILD >"$logs/prebuild.log" 2>&1; then
        tail -n 30 "$logs/prebuild.log" | sed 's/^/   [prebuild] /'
        echo "kernels.sh: the build failed; nothing run" >&2
        exit 1
    fi
    echo "   prebuild: $(($(date +%s) - t0)) s"
    for p in $LAB_PREBUILD; do mkopts+=(-o "$p"); done
fi

# One line's chain: its targets in order, starting at offset $2.
chain() {
    local k=$1 off=$2 n=${#targets[@]} i t t0 r secs
    for ((i = 0; i < n; i++)); do
        t=${targets[$(((i + off) % n))]}
        [ -n "${want[$k,$t]:-}" ] || continue
        echo "== make $t LAB_KERNEL=$k (log: target/kernels/$k/$t.log)"
        rm -f "$logs/$k/$t.result"
        t0=$(date +%s)
        if make -C "$root" --no-print-directory "${mkopts[@]}" "$t" LAB_KERNEL="$k" >"$logs/$k/$t.log" 2>&1; then
            r=passed
        else
            r=FAILED
            tail -n 30 "$logs/$k/$t.log" | sed "s/^/   [$k $t] /"
        fi
        secs=$(($(date +%s) - t0))
        # status seconds run-id commit finished-at
        echo "$r $secs $run_id $commit $(date -u +%Y-%m-%dT%H:%MZ)" >"$logs/$k/$t.result"
        echo "   $k $t: $r ($secs s)"
    done
}

if [ "$npairs" -gt 0 ]; then
    printf 'start=%s\njobs=%s\ncommit=%s\npairs=%s\n' "$start" "$jobs" "$commit" "$npairs" >"$logs/runs/$run_id"
    pids=()
    nk=${#kernels[@]}
    for ((j = 0; j < nk; j++)); do
        k=${kernels[$j]}
        if [ "$jobs" -gt 1 ]; then
            # at most $jobs chains at once
            while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
            chain "$k" $((j * ${#targets[@]} / nk)) 2>&1 | sed -u "s/^/[$k] /" &
            pids+=($!)
        else
            chain "$k" 0
        fi
    done
    for p in "${pids[@]}"; do wait "$p"; done
    total=$(($(date +%s) - start))
    echo "wall=$total" >>"$logs/runs/$run_id"
    for k in "${kernels[@]}"; do
        for t in "${targets[@]}"; do
            [ -n "${want[$k,$t]:-}" ] || continue
            [ "$(cut -d' ' -f1 "$logs/$k/$t.result" 2>/dev/null)" = passed ] || failed=1
        done
    done
fi

# --- The table, from every result file -----------------------------------------------------------
declare -A label
runs=()
anyfail=0
cell() { # kernel target -> the table cell
    local f=$logs/$1/$2.result l=$logs/$1/$2.log r s id c at
    if [ ! -f "$f" ] && [ -f "$l" ]; then
        # started (the log exists) but no outcome: the run was stopped while this pair ran
        echo "not finished: stopped after $(($(stat -c %Y "$l") - $(stat -c %W "$l"))) s, at $(date -u -d "@$(stat -c %Y "$l")" '+%H:%M UTC')"
        return
    fi
    if [ ! -f "$f" ]; then
        echo "${KERNELS_NOT_RUN:-not run}"
        return
    fi
    read -r r s id c at <"$f"
    echo "$r ($s s) [${label[$id]}]"
}
for k in "${kernels[@]}"; do
    for t in "${targets[@]}"; do
        f=$logs/$k/$t.result
        [ "$(cut -d' ' -f1 "$f" 2>/dev/null)" = passed ] || anyfail=1
        [ -f "$f" ] || continue
        id=$(cut -d' ' -f3 "$f")
        [ -n "${label[$id]:-}" ] || { runs+=("$id"); label[$id]=x; }
    done
done
mapfile -t runs < <(printf '%s\n' "${runs[@]}" | sort)
n=0
for id in "${runs[@]}"; do
    [ -n "$id" ] || continue
    n=$((n + 1))
    label[$id]=$n
done
{
    echo "# Lab tests on every kernel line"
    echo
    echo "Generated by \`make test-kernels\` (lab/kernels.sh) from its per-pair results in"
    echo "target/kernels/: every target of LAB_TEST_TARGETS run by itself as \`make TARGET LAB_KERNEL=k\`"
    echo "in the kernel lab (Debian's kernels in qemu TCG, 2 vCPUs, on a 2-core machine shared with"
    echo "other work: the times are wall times under that load). Each cell: outcome, wall time of the"
    echo "target, and [the run that measured it] (listed below the table)."
    echo
    for k in "${kernels[@]}"; do echo "- line $k: $(cat "$logs/$k/release" 2>/dev/null || echo '?')"; done
    echo
    h="| target |"
    s="|---|"
    for k in "${kernels[@]}"; do h="$h $k |"; s="$s---|"; done
    echo "$h"
    echo "$s"
    for t in "${targets[@]}"; do
        l="| $t |"
        for k in "${kernels[@]}"; do l="$l $(cell "$k" "$t") |"; done
        echo "$l"
    done
    echo
    echo "Runs:"
    echo
    for id in "${runs[@]}"; do
        [ -n "$id" ] || continue
        (
            start=0 jobs='?' commit='?' pairs='?' wall=''
            # shellcheck disable=SC1090
            [ -f "$logs/runs/$id" ] && . "$logs/runs/$id"
            d=$(date -u -d "@$start" '+%Y-%m-%d %H:%M UTC')
            echo "- [${label[$id]}] started $d, commit $commit, $pairs pairs, $jobs line(s) at a time${wall:+, wall time $wall s}"
        )
    done
    if [ -s "$notes" ]; then
        echo
        echo "## Notes"
        echo
        echo "(from lab/kernels-notes.md)"
        echo
        cat "$notes"
    fi
} >"$out.tmp" && mv "$out.tmp" "$out"
echo "kernels.sh: wrote $out"
if [ "$failed" = 0 ] && [ "$anyfail" = 0 ]; then
    echo "test-kernels: every target passed on ${kernels[*]}"
    exit 0
fi
echo "test-kernels: some targets failed or were not run (see $out)" >&2
exit 1
