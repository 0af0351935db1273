#!/usr/bin/env bash
# Builds Seesaw (github.com/google/seesaw) with lbnet's IPVS backend (-tags rust_ipvs):
#
#   1. fetch Seesaw through the Go module proxy (`go mod download -json
#      github.com/google/seesaw@$SEESAW_VERSION`; its "Dir" is the read-only source), or take a
#      checkout from SEESAW_SRC=dir, and copy it to a writable work dir;
#   2. apply lbnet's overlay (go/seesaw/cmd/seesaw-overlay): split ipvs/ipvs.go into the shared
#      types and the libnl backend (//go:build !rust_ipvs), constrain Seesaw's netlink package to
#      !rust_ipvs, add ipvs_rust.go (//go:build rust_ipvs) and its tests;
#   3. require github.com/lbnet/lbnet/go and replace it with this checkout's go/ directory;
#   4. go build -tags rust_ipvs ./... and go vet -tags rust_ipvs ./ipvs/;
#   5. check that `go list -deps -tags rust_ipvs` of Seesaw's ncc and engine packages contains
#      github.com/lbnet/lbnet/go/ipvs and not github.com/google/seesaw/netlink (and that without
#      the tag it is the other way round, so the check means something);
#   6. build the binaries the lab runs: the ipvs package's test binary (go test -c -race), the
#      IPVS scenario (examples/seesaw/scenario) and, with a real Seesaw, its
#      test_tools/ipvs_test_tool, into $SEESAW_WORK/bin.
#
# When the proxy refuses Seesaw and SEESAW_SRC is not set, it says so loudly and runs the same
# steps on the stand-in tree go/seesaw/testdata/seesaw (a Seesaw-shaped tree written for lbnet),
# unless SEESAW_REQUIRED=1, which makes that a failure.
#
# Needs: go, and libipvs_ffi built (`make build`: target/release/libipvs_ffi.so).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SEESAW_VERSION=${SEESAW_VERSION:-latest}
WORK=${SEESAW_WORK:-$REPO/target/seesaw}
say() { echo "seesaw-build: $*"; }
die() { echo "seesaw-build: FAIL: $*" >&2; exit 1; }

[ -f "$REPO/target/release/libipvs_ffi.so" ] || die "target/release/libipvs_ffi.so missing: run make build first"

rm -rf "$WORK"
mkdir -p "$WORK/bin"

# 1. Seesaw's source.
origin=""
if [ -n "${SEESAW_SRC:-}" ]; then
    src=$SEESAW_SRC
    origin="SEESAW_SRC=$SEESAW_SRC"
else
    probe=$(mktemp -d)
    trap 'rm -rf "$probe"' EXIT
    # A throwaway module so `go mod download` does not touch any go.mod.
    (cd "$probe" && printf 'module probe\n\ngo 1.22\n' > go.mod &&
        go mod download -json "github.com/google/seesaw@$SEESAW_VERSION" > dl.json 2>dl.err) || true
    dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$probe/dl.json" 2>/dev/null | head -1)
    if [ -n "$dir" ] && [ -d "$dir" ]; then
        src=$dir
        ver=$(sed -n 's/^[[:space:]]*"Version": "\(.*\)",\{0,1\}$/\1/p' "$probe/dl.json" | head -1)
        origin="Go module proxy, github.com/google/seesaw@$ver"
    else
        why=$(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' "$probe/dl.json" | head -1)
        [ -n "$why" ] || why=$(head -c 300 "$probe/dl.err")
        if [ "${SEESAW_REQUIRED:-0}" = 1 ]; then
            die "cannot fetch github.com/google/seesaw@$SEESAW_VERSION through the Go module proxy: $why"
        fi
        say "NOTE: the Go module proxy did not serve github.com/google/seesaw@$SEESAW_VERSION:"
        say "NOTE:   $why"
        say "NOTE: running every step on the STAND-IN tree go/seesaw/testdata/seesaw instead"
        say "NOTE: (set SEESAW_SRC=<checkout> to use a real Seesaw, SEESAW_REQUIRED=1 to fail here)"
        src=$REPO/go/seesaw/testdata/seesaw
        origin="stand-in go/seesaw/testdata/seesaw"
    fi
fi
say "Seesaw source: $origin ($src)"
cp -r "$src" "$WORK/seesaw"
chmod -R u+w "$WORK/seesaw"
cd "$WORK/seesaw"
grep -q '^module github.com/google/seesaw$' go.mod || die "$src is not the github.com/google/seesaw module"

# 2. The overlay.
(cd "$REPO/go" && go run ./seesaw/cmd/seesaw-overlay -seesaw "$WORK/seesaw" -overlay "$REPO/go/seesaw/_overlay/ipvs")
mkdir -p test_tools/lbnet_ipvs_scenario
cp "$REPO/examples/seesaw/scenario/main.go" test_tools/lbnet_ipvs_scenario/main.go

# 3. Our module, from this checkout.
go mod edit -require=github.com/lbnet/lbnet/go@v0.0.0 -replace=github.com/lbnet/lbnet/go="$REPO/go"
go mod tidy 2>&1 | sed 's/^/seesaw-build: go mod tidy: /'

# 4. Build and vet with the tag.
export CGO_ENABLED=1
say "go build -tags rust_ipvs ./..."
go build -tags rust_ipvs ./...
say "go vet -tags rust_ipvs ./ipvs/ ./test_tools/lbnet_ipvs_scenario/"
go vet -tags rust_ipvs ./ipvs/ ./test_tools/lbnet_ipvs_scenario/
gofmt_out=$(gofmt -l ipvs/ipvs_rust.go ipvs/ipvs_rust_test.go ipvs/types.go ipvs/ipvs_libnl.go test_tools/lbnet_ipvs_scenario)
[ -z "$gofmt_out" ] || die "gofmt: $gofmt_out"

# 5. Dependency checks.
pkgs=()
for p in ncc engine; do
    [ -d "$p" ] || die "Seesaw has no $p/ directory"
    pkgs+=("./$p/...")
done
with=$(go list -deps -tags rust_ipvs "${pkgs[@]}")
without=$(go list -deps "${pkgs[@]}")
grep -qx 'github.com/lbnet/lbnet/go/ipvs' <<<"$with" || die "ncc/engine do not depend on github.com/lbnet/lbnet/go/ipvs with -tags rust_ipvs"
if grep -qx 'github.com/google/seesaw/netlink' <<<"$with"; then
    die "ncc/engine still depend on the libnl package github.com/google/seesaw/netlink with -tags rust_ipvs"
fi
grep -qx 'github.com/google/seesaw/netlink' <<<"$without" || die "without the tag ncc/engine do not reach github.com/google/seesaw/netlink: the check above would be meaningless"
grep -qx 'github.com/lbnet/lbnet/go/ipvs' <<<"$without" && die "without the tag ncc/engine depend on lbnet"
say "deps OK: with -tags rust_ipvs ncc+engine reach github.com/lbnet/lbnet/go/ipvs and not github.com/google/seesaw/netlink ($(wc -l <<<"$with") packages); without the tag, the reverse"

# 6. Binaries for the lab.
go test -c -race -tags rust_ipvs -o "$WORK/bin/seesaw-ipvs.test" ./ipvs/
go build -tags rust_ipvs -o "$WORK/bin/lbnet_ipvs_scenario" ./test_tools/lbnet_ipvs_scenario
if [ -d test_tools/ipvs_test_tool ]; then
    go build -tags rust_ipvs -o "$WORK/bin/ipvs_test_tool" ./test_tools/ipvs_test_tool
fi
echo "$origin" > "$WORK/bin/ORIGIN"
say "built: $(cd "$WORK/bin" && echo *)"
say "OK"
