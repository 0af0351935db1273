# shellcheck shell=bash
# The gRPC API checks of e2e.sh (sourced by it; uses its namespaces, helpers and route lists):
# GoBGP's GoBgpService through the stock `gobgp` CLI, and our NetlinkService through our CLI,
# both on the daemon's one gRPC server (127.0.0.1:50051 in namespace B).

# same WHAT WANT GOT: fail unless the two texts are equal (diff on stderr).
same() {
    [ "$2" = "$3" ] && return 0
    echo "$2" >"$WORK/want"; echo "$3" >"$WORK/got"
    diff "$WORK/want" "$WORK/got" >&2 || true
    fail "$1: differs (< wanted, > found)"
}

# kernel_routes [TABLE...]: "table prefix nexthop metric" of our routes (tables() of e2e.sh), only
# those of the given tables if any.
kernel_routes() {
    if [ $# -eq 0 ]; then tables; return; fi
    local t
    for t in "$@"; do tables | awk -v t="$t" '$1 == t'; done | sort
}

# The stock gobgp CLI against the daemon: neighbors, received routes, and a route added on the
# daemon that must reach speaker A (and the daemon's own export into table 100).
api_gobgp_checks() {
    local out got want v4 t0 ms
    # A's session carried the routes already; C's may still be connecting (waits: 20 s x SCALE).
    for _ in $(seq $((200 * SCALE))); do
        out=$(gobgpb neighbor)
        got=$(awk 'NR > 1 {print $1, $4}' <<<"$out" | sort)
        [ "$(grep -c " Establ$" <<<"$got")" = 2 ] && break
        sleep 0.1
    done
    same "gobgp neighbor: both peers Established" "$(printf '%s\n' "10.77.0.1 Establ" "10.80.0.1 Establ")" "$got"
    echo "ok: stock gobgp neighbor against the daemon: 10.77.0.1 and 10.80.0.1 Established"
    # Received routes: what A announced, with A's next hops.
    v4=("$V4A 10.77.0.1" "$V4B 10.77.0.1" "$V4C 10.78.0.1")
    [ "$VRF" = 1 ] && v4+=("$V4D 10.79.0.1")
    out=$(gobgpb global rib -a ipv4)
    got=$(awk '$1 ~ /^\*/ {print $2, $3}' <<<"$out" | sort)
    same "gobgp global rib -a ipv4 on the daemon" "$(printf '%s\n' "${v4[@]}" | sort)" "$got"
    out=$(gobgpb global rib -a ipv6)
    got=$(awk '$1 ~ /^\*/ {print $2, $3}' <<<"$out" | sort)
    same "gobgp global rib -a ipv6 on the daemon" "$V6A fd00:77::1" "$got"
    echo "ok: stock gobgp global rib on the daemon lists exactly A's ${#v4[@]} IPv4 and 1 IPv6 routes"
    # gobgp global rib add on the daemon: the route reaches A over the session, and the
    # daemon's rule "all" exports it (next hop C's address, reachable on vd).
    local ORIG="198.51.140.0/24"
    t0=$(date +%s%N)
    gobgpb global rib add -a ipv4 $ORIG nexthop 10.80.0.1
    for _ in $(seq $((200 * SCALE))); do
        out=$(gobgp global rib -a ipv4 $ORIG 2>&1 || true)
        grep -q "^\*.* $ORIG  *10.80.0.1 " <<<"$out" && break
        sleep 0.01
    done
    ms=$((($(date +%s%N) - t0) / 1000000))
    grep -q "^\*.* $ORIG  *10.80.0.1 " <<<"$out" || fail "gobgp global rib add on the daemon: $ORIG not in A's RIB: $out"
    echo "ok: gobgp global rib add on the daemon: $ORIG in speaker A's RIB after $ms ms"
    expect "a route added with gobgp on the daemon is exported too" "${BASE[@]}" "100 $ORIG 10.80.0.1 20"
    gobgpb global rib del -a ipv4 $ORIG
    for _ in $(seq $((200 * SCALE))); do
        out=$(gobgp global rib -a ipv4 $ORIG 2>&1 || true)
        grep -q "$ORIG" <<<"$out" || break
        sleep 0.01
    done
    ! grep -q "$ORIG" <<<"$out" || fail "gobgp global rib del on the daemon: $ORIG still in A's RIB: $out"
    expect "gobgp global rib del on the daemon withdraws it" "${BASE[@]}"
    echo "ok: gobgp global rib del on the daemon: withdrawn from A's RIB and the kernel"
}

# routes_of OUTPUT: the "table prefix nexthop metric" lines of `netlink export` text output.
routes_of() { awk 'NR > 2 {print $4, $1, $2, $5}' <<<"$1" | sort; }
# routes_of_json OUTPUT: the same from `netlink export -j`.
routes_of_json() { jq -r '.[] | "\(.table_id) \(.prefix) \(.nexthop) \(.metric)"' <<<"$1" | sort; }

# Our CLI over NetlinkService: each command against the kernel tables or the configuration.
api_cli_checks() {
    local out got json n
    # netlink export lists exactly the kernel's protocol-186 routes of the rules' tables.
    out=$(cli netlink export)
    same "netlink export vs the kernel tables" "$(kernel_routes)" "$(routes_of "$out")"
    same "netlink export -j vs the kernel tables" "$(kernel_routes)" "$(routes_of_json "$(cli -j netlink export)")"
    n=$(kernel_routes | wc -l)
    echo "ok: netlink export (text and JSON) lists exactly the $n kernel routes"
    # --vrf: nothing exports into a VRF on the host; in VRF mode, blue (rule vrf, table 500) and
    # green (GoBGP VRF gblue, table 510).
    if [ "$VRF" = 1 ]; then
        same "netlink export --vrf blue vs table 500" "$(kernel_routes 500)" "$(routes_of "$(cli netlink export --vrf blue)")"
        same "netlink export --vrf green vs table 510" "$(kernel_routes 510)" "$(routes_of "$(cli netlink export --vrf green)")"
        json=$(cli -j netlink export --vrf green)
        same "the VPN route's GoBGP VRF" "gblue" "$(jq -r '.[].gobgp_vrf' <<<"$json")"
        [ "$(stat nexthop_validation_failures)" -ge 1 ] ||
            fail "the main-table rule should have failed to validate 10.79.0.1: $(cli netlink export stats)"
        echo "ok: netlink export --vrf blue / green list exactly tables 500 / 510; the main-table rule did not validate 10.79.0.1"
    else
        same "netlink export --vrf blue (no VRF on the host)" "" "$(routes_of "$(cli netlink export --vrf blue)")"
        echo "ok: netlink export --vrf blue lists nothing on the host"
    fi
    # netlink export rules: exactly the configuration (exporter_config 30 no).
    local want
    want=$(cat <<EOT
Rule: all
  VRF:               (none)
  Table ID:          100
  Metric:            20
  Validate Nexthop:  true
  Communities:       (match all routes)

Rule: std
  VRF:               (none)
  Table ID:          200
  Metric:            30
  Validate Nexthop:  true
  Communities:       65000:1

Rule: large
  VRF:               (none)
  Table ID:          300
  Metric:            20
  Validate Nexthop:  true
  Large Communities: 65000:1:2
EOT
)
    if [ "$VRF" = 1 ]; then want+=$(cat <<EOT


Rule: vrf
  VRF:               blue
  Table ID:          0 (the VRF's own table)
  Metric:            20
  Validate Nexthop:  true
  Communities:       65000:5

Per-VRF Export Rules:

VRF: gblue (RD 65001:100) -> Linux VRF: green
  Linux Table ID:    0 (the VRF's own table)
  Metric:            20
  Validate Nexthop:  true
  Communities:       (match all routes)
EOT
)
    fi
    same "netlink export rules" "$want" "$(cli netlink export rules)"
    echo "ok: netlink export rules prints exactly the configured rules"
    # netlink export stats: the text is the JSON reply; rule std exported its 2 routes.
    json=$(cli -j netlink export stats)
    out=$(cli netlink export stats)
    local f label
    for f in "exported:Total Exported" "withdrawn:Total Withdrawn" "errors:Total Errors" \
        "nexthop_validation_attempts:Nexthop Validation Attempts" "nexthop_validation_failures:Nexthop Validation Failures" \
        "dampened_updates:Dampened Updates" "kernel_operations:Kernel Operations"; do
        label=${f#*:}
        got=$(sed -n "s/^  $label: *//p" <<<"$out")
        # Counters may only grow between the two calls.
        [ -n "$got" ] && [ "$got" -ge "$(jq -r ".${f%%:*}" <<<"$json")" ] || fail "netlink export stats: $label $got vs JSON $json"
    done
    [ "$(jq -r .exported <<<"$json")" -ge "$n" ] || fail "netlink export stats: exported < $n kernel routes: $json"
    local rules="all large std"
    [ "$VRF" = 1 ] && rules+=" vrf"
    same "netlink export stats: per-rule rows" "$rules" "$(jq -r '[.rules[].rule] | sort | join(" ")' <<<"$json")"
    json=$(cli -j netlink export stats std)
    same "rule std's exported routes" "2" "$(jq -r .exported <<<"$json")"
    grep -q "^Export Statistics of rule std:" <<<"$(cli netlink export stats std)" || fail "stats std: title"
    if out=$(cli netlink export stats nosuch 2>&1); then fail "stats of an unknown rule succeeded: $out"; fi
    same "stats of an unknown rule" 'gobgp-export: no export rule "nosuch" (NotFound)' "$out"
    echo "ok: netlink export stats (text = JSON; rule std: 2 exported; unknown rule: NotFound)"
    # netlink: the status is the configuration.
    json=$(cli -j netlink)
    local imp eor nvrf
    imp=$(jq -r .import_enabled <<<"$json")
    eor=$(jq -r .end_of_rib <<<"$json")
    nvrf=0; [ "$VRF" = 1 ] && nvrf=1
    [ "$(jq -r .route_protocol <<<"$json")" = 186 ] && [ "$(jq -r .dampening_interval <<<"$json")" = "$DAMPENING_MS" ] &&
        [ "$(jq -r .export_rules <<<"$json")" = $((3 + nvrf)) ] && [ "$(jq -r .vrf_export_rules <<<"$json")" = $nvrf ] ||
        fail "netlink -j: $json"
    out=$(cli netlink)
    want="Netlink Status:

Import: $imp"
    if [ "$imp" = true ]; then
        want+=$'\n'$(sed -n '/^  /p' <<<"$(cli netlink import)")
    fi
    want+="

Export: true
  Route Protocol:     186
  Dampening Interval: $DAMPENING_MS ms (cap $(jq -r .dampening_cap <<<"$json") ms)
  End-of-RIB:         $eor
  Rules:              $((3 + nvrf)) (and $nvrf GoBGP VRFs)
  (use 'gobgp-export netlink export rules' to see export configuration)"
    # End-of-RIB may turn true between the two calls.
    [ "$eor" = false ] && [ "$out" != "$want" ] && want=${want/End-of-RIB:         false/End-of-RIB:         true}
    same "netlink" "$want" "$out"
    echo "ok: netlink status (protocol 186, dampening $DAMPENING_MS ms, $((3 + nvrf)) rules, import $imp)"
    # netlink import [stats]: without [netlink.import], "not configured"; with it, the counters.
    if [ "$imp" = false ]; then
        same "netlink import" "Netlink Import: not configured" "$(cli netlink import)"
        if out=$(cli netlink import stats 2>&1); then fail "netlink import stats without import succeeded: $out"; fi
        same "netlink import stats without import" "gobgp-export: netlink import is not configured (FailedPrecondition)" "$out"
        echo "ok: netlink import / import stats: not configured (FailedPrecondition)"
    else
        json=$(cli -j netlink import stats)
        out=$(cli netlink import stats)
        for f in "imported:Total Imported" "withdrawn:Total Withdrawn" "errors:Total Errors"; do
            label=${f#*:}
            got=$(sed -n "s/^  $label: *//p" <<<"$out")
            [ -n "$got" ] && [ "$got" -ge "$(jq -r ".${f%%:*}" <<<"$json")" ] || fail "netlink import stats: $label $got vs JSON $json"
        done
        echo "ok: netlink import stats (text = JSON: $(jq -c . <<<"$json"))"
    fi
}

# netlink export flush --vrf: an unknown VRF is NotFound and changes nothing; in VRF mode, green
# (a GoBGP VRF's engine) is flushed alone, and blue (a global rule's VRF) is refused. Runs
# where the kernel tables are BASE (e2e.sh), and leaves them so.
api_flush_vrf_checks() {
    local before out
    before=$(tables)
    if out=$(cli netlink export flush --vrf nosuch 2>&1); then fail "flush --vrf nosuch succeeded: $out"; fi
    same "flush --vrf nosuch" "gobgp-export: no export into VRF nosuch (NotFound)" "$out"
    same "tables after a refused flush" "$before" "$(tables)"
    echo "ok: netlink export flush --vrf nosuch: NotFound, nothing removed"
    [ "$VRF" = 1 ] || return 0
    if out=$(cli netlink export flush --vrf blue 2>&1); then fail "flush --vrf blue succeeded: $out"; fi
    grep -q 'global rule "vrf" exports into VRF blue.*(FailedPrecondition)$' <<<"$out" || fail "flush --vrf blue: $out"
    same "tables after a refused flush" "$before" "$(tables)"
    local n510
    n510=$(grep -c '^510 ' <<<"$before")
    out=$(cli netlink export flush --vrf green)
    same "flush --vrf green" "flushed $n510 routes" "$out"
    same "flush --vrf green empties table 510 only" "$(grep -v '^510 ' <<<"$before")" "$(tables)"
    echo "ok: netlink export flush --vrf green removed table 510's routes only; --vrf blue refused"
    # The flushed engine forgot the VPN path: A announces it again, and it is back.
    gobgp vrf gblue rib del -a ipv4 198.51.130.0/24
    gobgp vrf gblue rib add -a ipv4 198.51.130.0/24 nexthop 10.81.0.1
    expect "the VPN route re-announced after flush --vrf green" "${BASE[@]}"
}

# version: ours, the commit and GoBGP's version as the binary's build information has them.
api_version_checks() {
    local out bi want_v want_c want_g
    out=$(cli version)
    if ! command -v go >/dev/null; then
        echo "SKIP (loud): no go in PATH here, so version is not compared with \`go version -m\`: $out" >&2
        grep -q "^  GoBGP:  v4\." <<<"$out" || fail "version: $out"
        return 0
    fi
    bi=$(go version -m "$EXPORT")
    want_g=$(awk '$1 == "dep" && $2 == "github.com/osrg/gobgp/v4" {print $3}' <<<"$bi")
    want_v=$(sed -n 's/.*-X main.version=\([^ "]*\).*/\1/p' <<<"$bi")
    want_c=$(sed -n 's/.*-X main.commit=\([^ "]*\).*/\1/p' <<<"$bi")
    [ -n "$want_c" ] || want_c=$(awk '$2 == "vcs.revision=" {print $3}' <<<"$bi")
    [ -n "$want_g" ] && [ -n "$want_v" ] && [ -n "$want_c" ] || fail "go version -m lacks the stamps: $bi"
    same "version" "gobgp-export version $want_v
  commit: $want_c
  GoBGP:  $want_g" "$out"
    echo "ok: version: $(tr '\n' ' ' <<<"$out")"
}
