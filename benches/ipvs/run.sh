#!/usr/bin/env bash
# benches/ipvs/run.sh BINDIR [OUT.md]: the IPVS peer benchmark driver. Runs INSIDE the kernel lab
# (lab/run, as root, IPVS loaded); `make bench-ipvs-peers` builds the clients on the host and
# calls it. For every client and workload it resets and prepares the IPVS table (with
# raw_floor setup: the same state for every client), runs the client as its own process under
# /usr/bin/time (peak RSS), reads the client's line
#     RESULT <client> <workload> <ns_per_op> <ops> <check> [<dist>]   or   NA <client> <workload> <why>
# (ns_per_op: the mean; dist, optional: "median=<ns>,p90=<ns>" of the per-operation times of a
# single-operation workload, or "n/a"; a line without it reads as n/a), checks what the client
# reported (counts it read) and what the kernel holds afterwards (`ipvsadm -Ln`, an independent
# reader), prints the tables (means; medians and p90 of the single operations) and writes OUT.md.
set -euo pipefail

BIN=${1:?usage: run.sh BINDIR [OUT.md]}
OUT=${2:-}
N=${LBNET_IPVS_BENCH_N:-1000}               # single operations per client and workload
G=${LBNET_IPVS_BENCH_GET_SERVICES:-100}     # services (x5 destinations) the get workload cycles over
LS=${LBNET_IPVS_BENCH_LIST_SERVICES:-10000} # services of the list and flush workloads
LD=5                                  # destinations per service there
LR=${LBNET_IPVS_BENCH_LIST_REPS:-1}         # full listings per client
B=${LBNET_IPVS_BENCH_BATCH:-10000}          # changes in the batch workload
# Single operations are timed in groups of this many (one sample = the group's time / GROUP;
# every client reads it, see c/dist.h): N must be a multiple of it.
export LBNET_IPVS_BENCH_GROUP=${LBNET_IPVS_BENCH_GROUP:-10}
if ((N % LBNET_IPVS_BENCH_GROUP != 0)); then
    echo "run.sh: N=$N is not a multiple of LBNET_IPVS_BENCH_GROUP=$LBNET_IPVS_BENCH_GROUP" >&2
    exit 2
fi
CLIENTS=${LBNET_IPVS_BENCH_CLIENTS:-core-rust c-abi go-lbnet go-cgo-floor moby-ipvs cloudflare-ipvs seesaw-libnl ipvsadm raw-floor}
ALL_WORKLOADS="add_service add_dest update_weight get_service list flush batch"
# A subset of the workloads (space-separated), e.g. "batch"; default: every one.
WORKLOADS=${LBNET_IPVS_BENCH_WORKLOADS:-$ALL_WORKLOADS}
for w in $WORKLOADS; do
    case " $ALL_WORKLOADS " in *" $w "*) ;; *)
        echo "run.sh: unknown workload '$w' in LBNET_IPVS_BENCH_WORKLOADS (known: $ALL_WORKLOADS)" >&2
        exit 2
        ;;
    esac
done

declare -A BINARY=(
    [core-rust]=ipvs_bench_core [c-abi]=c_abi [go-lbnet]=go-lbnet [go-cgo-floor]=go-cgo-floor
    [moby-ipvs]=moby-ipvs
    [cloudflare-ipvs]=cloudflare-ipvs [seesaw-libnl]=seesaw-libnl [ipvsadm]=ipvsadm_client
    [raw-floor]=raw_floor
)
if [ -z "${GROUP:-}" ]; then
    TMP=$(mktemp -d)
    trap 'rm -rf "$TMP"' EXIT
    RAW=$TMP/results # client workload ns ops rss median p90 status note... ("-": none)
    : >"$RAW"
fi
failed=0

# Under TCG every exec costs a large fraction of a second, so the per-(client, workload) steps
# below use bash builtins and as few processes as possible.

# kernel_state (sets STATE from `ipvsadm -Ln`): shared with go_rounds.sh.
# shellcheck source=benches/ipvs/kernel_state.sh
. "$(dirname "${BASH_SOURCE[0]}")/kernel_state.sh"

prepare() { # workload: flush, then the state the workload starts from
    case $1 in
    add_service | batch) "$BIN/raw_floor" setup 0 0 >/dev/null ;;
    add_dest) "$BIN/raw_floor" setup "$N" 0 >/dev/null ;;
    update_weight) "$BIN/raw_floor" setup "$N" 1 1 >/dev/null ;;
    get_service) "$BIN/raw_floor" setup "$G" "$LD" 1 >/dev/null ;;
    list | flush) "$BIN/raw_floor" setup "$LS" "$LD" 1 >/dev/null ;;
    esac
}

# Per workload: ARGS (the client's arguments), CHECK (what the client must report having read)
# and WANT (what ipvsadm -Ln must show afterwards; empty: not checked).
spec() {
    ARGS=$N CHECK=- WANT=
    case $1 in
    add_service) WANT="$N 0 0" ;;
    add_dest) WANT="$N $N 0" ;;
    update_weight) WANT="$N $N $N" ;;
    get_service) ARGS="$N $G" CHECK="dests=$((N * LD)),bad=0" ;;
    list) ARGS=$LR CHECK="services=$LS,dests=$((LS * LD))" ;;
    flush) ARGS=1 WANT="0 0 0" ;;
    batch) ARGS=$B CHECK="errors=0" WANT="$((B / 5)) $((B / 5 * 4)) 0" ;;
    esac
}

# One client's workloads, run by the group mode below inside a fresh network namespace.
run_group() { # client workload...
    local c=$1 w bin prev_ok="" status note rc ns ops line rss l check dist med p90 now
    shift
    bin=$BIN/${BINARY[$c]:?unknown client $c}
    for w in "$@"; do
        # list only reads: when it passed, flush starts from the table it listed (10,000 x 5)
        # instead of building it again.
        spec "$w"
        status=ok note="" rc=0 ns=- ops=- line="" rss=0 med=- p90=-
        if ! { [ "$w" = flush ] && [ "$prev_ok" = list ]; } && ! prepare "$w" 2>"$TMP/err"; then
            note="preparing the table failed: $(<"$TMP/err")"
            printf '%s %s - - 0 - - FAIL %s\n' "$c" "$w" "${note//$'\n'/ }" >>"$RAW"
            echo "ipvs-bench: $c $w: $note" >&2
            prev_ok=""
            continue
        fi
        # shellcheck disable=SC2086 # ARGS is split on purpose
        /usr/bin/time -f %M -o "$TMP/rss" "$bin" "$w" $ARGS >"$TMP/out" 2>"$TMP/err" || rc=$?
        while IFS= read -r l; do rss=$l; done <"$TMP/rss"
        while IFS= read -r l; do
            case $l in "RESULT $c $w "* | "NA $c $w "*) line=$l ;; esac
        done <"$TMP/out"
        if [ "$rc" -ne 0 ]; then
            status=FAIL note="exit status $rc: $(<"$TMP/err")"
            note=${note//$'\n'/ }
            note=${note:0:300}
        elif [[ $line == NA* ]]; then
            status=NA note=${line#"NA $c $w "}
        elif [[ $line == RESULT* ]]; then
            read -r _ _ _ ns ops check dist <<<"$line"
            # the optional distribution field; absent, "n/a" or malformed: no median
            if [[ ${dist:-} =~ ^median=([0-9]+),p90=([0-9]+)$ ]]; then
                med=${BASH_REMATCH[1]} p90=${BASH_REMATCH[2]}
            fi
            if [ "$check" != "$CHECK" ]; then
                status=INVALID note="client read $check, expected $CHECK"
            elif [ -n "$WANT" ]; then
                kernel_state
                [ "$STATE" = "$WANT" ] ||
                    status=INVALID note="kernel holds '$STATE' (services dests weight-5), expected '$WANT'"
            fi
        else
            status=FAIL note="no RESULT line"
        fi
        case $status in ok) prev_ok=$w ;; *) prev_ok="" ;; esac
        printf '%s %s %s %s %s %s %s %s %s\n' "$c" "$w" "$ns" "$ops" "$rss" "$med" "$p90" "$status" "$note" >>"$RAW"
        printf -v now '%(%s)T' -1
        printf 'ipvs-bench: %-16s %-14s %12s ns/op (median %s, p90 %s)  ops %-6s rss %6s KiB  %s %s  [%s s]\n' \
            "$c" "$w" "$ns" "$med" "$p90" "$ops" "$rss" "$status" "$note" $((now - START)) >&2
    done
}

if [ "${GROUP:-}" ]; then # group mode: run.sh re-executed by itself in a fresh netns
    # shellcheck disable=SC2086 # GROUP is "client workload..."
    run_group $GROUP
    exit 0
fi

# Every group of workloads runs in a FRESH network namespace (IPVS state is per namespace):
# the kernel keeps deleted destinations in a per-namespace trash list for minutes and walks it
# on every destination add, so a client running after a flush of 50,000 destinations would be
# measured against a different kernel than the one before it.
printf -v START '%(%s)T' -1
export RAW TMP START
# Workload by workload, every client in turn: each comparison is made within a few minutes, so
# a change in the machine's load during the run shifts all clients of a workload alike.
for g in add_service add_dest update_weight get_service "list flush" batch; do
    sel=""
    for w in $g; do
        case " $WORKLOADS " in *" $w "*) sel="$sel $w" ;; esac
    done
    [ -n "$sel" ] || continue
    g=${sel# }
    for c in $CLIENTS; do
        GROUP="$c $g" unshare --net "$BASH" "${BASH_SOURCE[0]}" "$BIN" || failed=1
        # let the old namespace's teardown (up to 50,000 destinations) finish off the clock
        if [ "$g" = "list flush" ]; then sleep 2; fi
    done
done
while read -r _ _ _ _ _ _ _ st _; do
    case $st in ok | NA) ;; *) failed=1 ;; esac
done <"$RAW"
"$BIN/raw_floor" flush

# Issue 11's bar, go-lbnet / c-abi <= 1.3 on a single operation, measured the way that holds
# still on this machine: the two clients at the same time, taking turns every 10 operations,
# in LBNET_IPVS_BENCH_GO_ROUNDS rounds (go_rounds.sh, also `make bench-ipvs-go`), in this same
# boot after the workloads above (about 2 minutes on a quiet host). 0 skips it.
GO_ROUNDS=${LBNET_IPVS_BENCH_GO_ROUNDS:-11}
GO_ROUNDS_MD=""
go_single=""
for w in add_service add_dest update_weight get_service; do
    case " $WORKLOADS " in *" $w "*) go_single="$go_single $w" ;; esac
done
if ((GO_ROUNDS > 0)) && [ -n "$go_single" ] && [[ " $CLIENTS " == *" c-abi "* && " $CLIENTS " == *" go-lbnet "* ]]; then
    GO_ROUNDS_MD=$TMP/go-rounds.md
    LBNET_IPVS_GO_ROUNDS=$GO_ROUNDS LBNET_IPVS_GO_WORKLOADS=${go_single# } LBNET_IPVS_GO_BAR_FATAL=0 \
        LBNET_IPVS_GO_TITLE="## Issue 11: go-lbnet against c-abi, interleaved" \
        LBNET_IPVS_GO_CALLER="this same run of \`make bench-ipvs-peers\` (run.sh calls benches/ipvs/go_rounds.sh after the workloads above, in the same lab boot; \`make bench-ipvs-go\` runs it alone)" \
        "$BASH" "$(dirname "${BASH_SOURCE[0]}")/go_rounds.sh" "$BIN" "$GO_ROUNDS_MD" >/dev/null || failed=1
fi
printf -v elapsed '%(%s)T' -1
elapsed=$((elapsed - START))

# ---- the table ----
table() { # markdown tables: means, medians and p90 (ratios to core-rust), go-lbnet / c-abi, peak RSS
    awk -v clients="$CLIENTS" -v workloads="$WORKLOADS" '
    { ns[$1, $2] = $3; rss[$1, $2] = $5; med[$1, $2] = $6; p90[$1, $2] = $7; st[$1, $2] = $8 }
    function t(v) {
        if (v >= 10000000) return sprintf("%.1f ms", v / 1e6)
        if (v >= 10000) return sprintf("%.1f us", v / 1e3)
        return sprintf("%d ns", v)
    }
    # v: the array (ns, med or p90) as a selector: 1 mean, 2 median, 3 p90
    function val(k, c, w) { return k == 1 ? ns[c, w] : (k == 2 ? med[c, w] : p90[c, w]) }
    function ok(k, c, w) { return st[c, w] == "ok" && val(k, c, w) != "-" && val(k, c, w) > 0 }
    function cell(k, c, w,   s) {
        if (st[c, w] == "NA") return "n/a"
        if (st[c, w] != "ok") return st[c, w]
        if (val(k, c, w) == "-") return "n/a"
        s = t(val(k, c, w))
        if (c != "core-rust" && ok(k, "core-rust", w))
            s = s sprintf(" (%.2fx)", val(k, c, w) / val(k, "core-rust", w))
        return s
    }
    function ratio(k, a, b, w) {
        if (st[a, w] != "ok") return st[a, w] == "NA" ? "n/a" : st[a, w]
        if (st[b, w] != "ok") return st[b, w] == "NA" ? "n/a" : st[b, w]
        return (ok(k, a, w) && ok(k, b, w)) ? sprintf("%.2f", val(k, a, w) / val(k, b, w)) : "n/a"
    }
    function grid(k, title, only_single,   i, j, l) {
        print title; print ""; print h; print sep
        for (j = 1; j <= nw; j++) {
            if (only_single && !(W[j] in single)) continue
            l = "| " W[j] " |"
            for (i = 1; i <= nc; i++) l = l " " cell(k, C[i], W[j]) " |"
            print l
        }
        print ""
    }
    END {
        nc = split(clients, C, " "); nw = split(workloads, W, " ")
        ns1 = split("add_service add_dest update_weight get_service", S, " ")
        for (i = 1; i <= ns1; i++) single[S[i]] = 1
        any = 0
        for (j = 1; j <= nw; j++) if (W[j] in single) any = 1
        h = "| workload |"; sep = "|---|"
        for (i = 1; i <= nc; i++) { h = h " " C[i] " |"; sep = sep "---:|" }
        grid(1, "Mean time per operation (ratio to core-rust: above 1 = slower than ours):", 0)
        if (any) {
            grid(2, "Median time per single operation (ratio to core-rust'"'"'s median):", 1)
            grid(3, "90th percentile of the time per single operation (ratio to core-rust'"'"'s p90):", 1)
            print "Our Go package against our C ABI (issue 11: go-lbnet / c-abi <= 1.3 on a single operation),"
            print "split into the Go runtime'"'"'s part (go-cgo-floor / c-abi: the same C calls made from Go with"
            print "no binding) and our binding'"'"'s (go-lbnet / go-cgo-floor), and the noise band c-abi / core-rust"
            print "(the same core code under both):"
            print ""
            print "| workload | go-lbnet / c-abi median | p90 | mean | go-cgo-floor / c-abi median | p90 | mean | go-lbnet / go-cgo-floor median | p90 | mean | c-abi / core-rust median | p90 | mean |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            for (j = 1; j <= nw; j++) {
                w = W[j]
                if (!(w in single)) continue
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w, \
                    ratio(2, "go-lbnet", "c-abi", w), ratio(3, "go-lbnet", "c-abi", w), ratio(1, "go-lbnet", "c-abi", w), \
                    ratio(2, "go-cgo-floor", "c-abi", w), ratio(3, "go-cgo-floor", "c-abi", w), ratio(1, "go-cgo-floor", "c-abi", w), \
                    ratio(2, "go-lbnet", "go-cgo-floor", w), ratio(3, "go-lbnet", "go-cgo-floor", w), ratio(1, "go-lbnet", "go-cgo-floor", w), \
                    ratio(2, "c-abi", "core-rust", w), ratio(3, "c-abi", "core-rust", w), ratio(1, "c-abi", "core-rust", w)
            }
            print ""
        }
        print "Peak RSS of the client process (KiB):"; print ""; print h; print sep
        for (j = 1; j <= nw; j++) {
            l = "| " W[j] " |"
            for (i = 1; i <= nc; i++) l = l " " (st[C[i], W[j]] == "NA" ? "n/a" : rss[C[i], W[j]]) " |"
            print l
        }
    }' "$RAW"
}

notes() { # n/a reasons and failures
    awk '$8 != "ok" { s = ""; for (i = 9; i <= NF; i++) s = s " " $i; printf "- %s, %s: %s:%s\n", $1, $2, ($8 == "NA" ? "n/a" : $8), s }' "$RAW"
}

targets() { # issue 4's and issue 11's targets, computed from this run (means and medians)
    awk '
    $8 == "ok" { ns[$1, $2] = $3; if ($6 != "-") med[$1, $2] = $6 }
    function r(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "?" }
    END {
        split("add_service add_dest update_weight get_service", S, " ")
        for (i = 1; i <= 4; i++) {
            w = S[i]
            printf "- %s: core-rust / raw-floor = %s (target <= 1.3), medians %s; seesaw-libnl / go-lbnet = %s (target >= 10), medians %s; go-lbnet / c-abi = %s, medians %s (issue 11: <= 1.3); go-cgo-floor / c-abi = %s, medians %s\n", w, \
                r(ns["core-rust", w], ns["raw-floor", w]), r(med["core-rust", w], med["raw-floor", w]), \
                r(ns["seesaw-libnl", w], ns["go-lbnet", w]), r(med["seesaw-libnl", w], med["go-lbnet", w]), \
                r(ns["go-lbnet", w], ns["c-abi", w]), r(med["go-lbnet", w], med["c-abi", w]), \
                r(ns["go-cgo-floor", w], ns["c-abi", w]), r(med["go-cgo-floor", w], med["c-abi", w])
        }
        single = (ns["core-rust", "add_service"] + ns["core-rust", "add_dest"]) / 2
        printf "- batch: core-rust one change per round trip (mean of add_service, add_dest) / batched = %s (target >= 5)\n", r(single, ns["core-rust", "batch"])
        printf "- batch: core-rust / raw-floor batched = %s\n", r(ns["core-rust", "batch"], ns["raw-floor", "batch"])
    }' "$RAW"
}

host_cpu=${LBNET_BENCH_HOST_CPU:-unknown}
guest_cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
report() {
    cat <<EOF
# IPVS peer benchmark

Generated by \`make bench-ipvs-peers\` (benches/ipvs/run.sh) in one boot of the kernel lab.

- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- kernel: $(uname -r) (Debian's, in lab/run)
- machine: host ${LBNET_BENCH_HOST_NPROC:-?} vCPU, ${host_cpu}; guest $(nproc) vCPU (${guest_cpu}), qemu **TCG**
  (no KVM on this host): every number is slow in absolute terms and noisy; compare the
  clients with each other (ratios), all measured in this one run
- sizes: N = $N single operations per client and workload; get cycles over $G services with
  $LD destinations; list = $LR full listing(s) of $LS services x $LD destinations ($((LS * LD))
  destinations); flush = one flush of $LS services x $LD destinations; batch = $B changes
  ($((B / 5)) services with 4 destinations each)
- workloads: ${WORKLOADS}; clients: ${CLIENTS}
- whole benchmark: ${elapsed} s inside the lab

$(table)

One "op" is: one call for add_service, add_dest (destination 0 to an existing service),
update_weight (its weight 1 -> 5); one service read with its destinations for get_service; one
complete listing (services and all their destinations) for list; the whole flush for flush; one
change for batch. A cell of the first table is the mean over the ops of one client process
(the whole timed loop divided by the ops). For the single-operation workloads (add_service,
add_dest, update_weight, get_service) every client that runs one operation at a time also
timed its operations in groups of $LBNET_IPVS_BENCH_GROUP consecutive ones (one sample = the
group's time divided by $LBNET_IPVS_BENCH_GROUP: the clock is read twice per group, not twice
per operation, because a clock read costs a Go client about 0.7 us and a C client about 0.25 us
under TCG), and the median and p90 tables give the 50th and 90th percentiles of those samples
(nearest rank, the same rule and grouping in the C, Rust and Go clients; n/a: the client did
not report them). The lab's stalls (TCG, a shared 2-vCPU host: single operations of
1-170 ms among ones of tens of microseconds) land in a few operations and move the mean of a
hundred by far more than the difference between two clients; the median does not see them, so
compare clients on single operations by the medians, and read the p90 for how often a client
is slow. The workloads run one after the other, each through every client in turn.

Noise: core-rust and c-abi run the same core code for every workload (c-abi adds one C call and
a struct conversion), so the spread between those two columns is a direct measure of this
run's noise (TCG on 2 shared vCPUs, other jobs on the machine). Read differences of that size
between any two clients as no difference.

Clients:
- core-rust: our core, \`lbnet::ipvs::Handle\` (benches/ipvs/rust)
- c-abi: our C ABI, libipvs_ffi.so from C (benches/ipvs/c/c_abi.c)
- go-lbnet: our Go package github.com/lbnet/lbnet/go/ipvs (cgo over libipvs_ffi)
- go-cgo-floor: the same C calls as c-abi made from Go through cgo with no binding (C structs
  built once, return codes only, no thread locking; benches/ipvs/go/cmd/go-cgo-floor): what any
  Go caller of libipvs_ffi pays at least; single operations only
- moby-ipvs: github.com/moby/ipvs v1.1.0
- cloudflare-ipvs: github.com/cloudflare/ipvs v0.12.0
- seesaw-libnl: **Seesaw's libnl pattern re-implemented; Seesaw not served by the proxy**
  (Go + cgo over libnl-3/libnl-genl-3: family resolved once, a new libnl socket per message,
  one nla_put per attribute, nl_recvmsgs_default for the answer; listing = service dump + one
  destination dump per service, as Seesaw's ipvs package does)
- ipvsadm: Debian's ipvsadm binary (libipvs over libnl): **one ipvsadm process per single
  operation** (posix_spawn + wait inside the timing), \`ipvsadm -Ln -t VIP\` for get,
  \`ipvsadm -Ln\` for list, \`ipvsadm -C\` for flush, \`ipvsadm -R\` from a prepared file for batch
- raw-floor: prebuilt netlink messages over one socket, no library (benches/ipvs/c/raw_floor.c):
  one message per round trip for single operations, many per send (64 KiB chunks, acks read
  after each chunk) for batch

Validation: each client reports what it read (get: destinations read and wrong services; list:
services and destinations; batch: failed changes) and the driver checks it; after each changing
workload the driver checks the kernel's table with \`ipvsadm -Ln\` (services, destinations,
weights, Masq destinations on port 8080). A cell that failed either check says INVALID
instead of a number. Every client runs each workload in a FRESH network namespace (IPVS
state is per namespace), where the driver first prepares the table with raw_floor's batched
setup, so every client starts from the same state (flush starts from the 10,000 x 5 table the
same client has just listed in that namespace; listing does not change it). The fresh namespace
matters: the kernel keeps deleted destinations in a per-namespace trash list for two minutes
or more and walks it on every destination add (ip_vs_trash_get_dest), so after a flush of
50,000 destinations each add costs milliseconds more under TCG; in one namespace, a client
measured after another one's flush was measured against a different kernel state. Peak RSS is
\`/usr/bin/time -f %M\` of the client process (for ipvsadm: of the spawner and its largest
ipvsadm child).

Why the sizes are small: under TCG one round trip to the kernel costs about a millisecond and
starting a process (exec, dynamic loading over 9p) a large fraction of a second, so the run is
dominated by the listings (10,001 round trips per listing for most clients) and by ipvsadm
(one process per operation). N is the same for every client. ipvsadm's single operations are
dominated by process start-up, which TCG inflates far more than it inflates a netlink round
trip: its ratios here overstate what it costs on real hardware.

Not measured / not a number:
$(notes)

Issue 4's and issue 11's targets, from this run (ratios of the means, and of the medians):
$(targets)
EOF
    if [ -n "$GO_ROUNDS_MD" ] && [ -s "$GO_ROUNDS_MD" ]; then
        echo
        cat "$GO_ROUNDS_MD"
    fi
}

report >"$TMP/report.md"
cat "$TMP/report.md"
if [ -n "$OUT" ]; then
    # Hand-written notes (from the line starting "Notes on this run") survive a new run, below
    # the new report, for whoever commits it to bring up to date.
    if [ -f "$OUT" ] && grep -q '^Notes on this run' "$OUT"; then
        { echo; sed -n '/^Notes on this run/,$p' "$OUT"; } >>"$TMP/report.md"
    fi
    cp "$TMP/report.md" "$OUT"
    echo "ipvs-bench: wrote $OUT" >&2
fi
exit $failed
