#!/usr/bin/env bash
# Sourced by run.sh and go_rounds.sh (bash, in the lab guest).
# Sets STATE to the kernel table as `ipvsadm -Ln` shows it: "<services> <dests> <weight-5 dests>",
# counting only destinations 172.16.0.x:8080 in Masq mode (the ones the clients create).
kernel_state() {
    local out line s=0 d=0 w=0 re='^  -> 172\.16\.0\.[0-9]+:8080 +Masq +([0-9]+) '
    out=$(ipvsadm -Ln)
    while IFS= read -r line; do
        if [[ $line == "TCP  "* ]]; then
            s=$((s + 1))
        elif [[ $line =~ $re ]]; then
            d=$((d + 1))
            [ "${BASH_REMATCH[1]}" = 5 ] && w=$((w + 1))
        fi
    done <<<"$out"
    STATE="$s $d $w"
}
