#!/usr/bin/env bash
# Builds the real Seesaw (github.com/google/seesaw at the pinned commit) twice: with lbnet's IPVS
# backend (-tags rust_ipvs) and stock (libnl), and checks what can be checked without a kernel.
#
#   1. Seesaw's source, in this order: SEESAW_SRC=<checkout>; the peer tarball
#      seesaw-<commit>.tar.gz in the peers folder (LBNET_PEERS, else ../shared/peers beside the
#      main checkout: this checkout's root, then the root of the git worktrees' common checkout,
#      then /work/shared/peers), unpacked once into the peer cache
#      ($LBNET_PEER_CACHE, default ~/.cache/lbnet-peers, as seesaw-<commit>/src); else the Go
#      module github.com/google/seesaw@<commit> through the Go toolchain (GOPROXY as configured).
#      Nothing else: if none serves it, this fails and says why. (The stand-in tree
#      go/seesaw/testdata/seesaw is only a unit test of the overlay tool.)
#   2. rust_ipvs tree ($SEESAW_WORK/seesaw): lbnet's overlay (go/seesaw/cmd/seesaw-overlay),
#      lbnet's module replaced by this checkout's go/, go build + go vet with -tags rust_ipvs;
#      every binaries/* built with the tag into $SEESAW_WORK/bin, and for each: `go list -deps`
#      has no github.com/google/seesaw/netlink (and, for the ones that use IPVS,
#      github.com/lbnet/lbnet/go/ipvs), `ldd` shows no libnl. Lab binaries: the ipvs package's
#      test binary (-race), Seesaw's test_tools/ipvs_test_tool, lbnet's scenario and readback
#      tool (examples/seesaw/{scenario,readback}).
#   3. stock tree ($SEESAW_WORK/stock, Seesaw as published plus lbnet's readback tool under
#      test_tools/): go build ./... without the tag, every main package into
#      $SEESAW_WORK/bin/stock, whose ipvs_test_tool and readback tool must link libnl (checked,
#      so the ldd check above means something). With the pinned commit, those two binaries and
#      the fact that the tree built are kept in the peer cache, keyed by the Seesaw commit, the
#      Go version, the libnl packages' versions and the readback tool's source; when that key
#      is cached the stock tree is not built again.
#
# When $SEESAW_WORK was built and checked from the same inputs (the pinned Seesaw's origin, Go,
# libnl, libipvs_ffi.so, ipvs_ffi.h, every file under go/ and examples/seesaw/) it is kept as it
# is; SEESAW_REBUILD=1, or a SEESAW_SRC checkout, rebuilds.
#
# Seesaw's own unit tests are run by mk/seesaw.mk on these trees (host) and by
# examples/seesaw/lab-test.sh (kernel lab). Needs: go, libnl-3-dev and libnl-genl-3-dev (stock
# build), and libipvs_ffi built (`make build`: target/release/libipvs_ffi.so).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SEESAW_COMMIT=7bfd4f8c549121915f2bb639a07f7aa15b10df6d
WORK=${SEESAW_WORK:-$REPO/target/seesaw}
CACHE=${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}
say() { echo "seesaw-build: $*"; }
die() { echo "seesaw-build: FAIL: $*" >&2; exit 1; }

[ -f "$REPO/target/release/libipvs_ffi.so" ] || die "target/release/libipvs_ffi.so missing: run make build first"

# The peers folder: ../shared/peers beside the main checkout.
peers_dir() {
    if [ -n "${LBNET_PEERS:-}" ]; then
        echo "$LBNET_PEERS"
        return
    fi
    local top common
    top=$(git -C "$REPO" rev-parse --show-toplevel 2>/dev/null || echo "$REPO")
    common=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
    for d in "$top/../shared/peers" ${common:+"$(dirname "$common")/../shared/peers"} /work/shared/peers; do
        if [ -d "$d" ]; then
            (cd "$d" && pwd)
            return
        fi
    done
}

# 1. Seesaw's source.
cache_key=""   # set when the source is the pinned commit (stock binaries are then cached)
if [ -n "${SEESAW_SRC:-}" ]; then
    src=$SEESAW_SRC
    origin="SEESAW_SRC=$SEESAW_SRC"
else
    peers=$(peers_dir)
    tarball=${peers:+$peers/seesaw-$SEESAW_COMMIT.tar.gz}
    if [ -n "$tarball" ] && [ -f "$tarball" ]; then
        src=$CACHE/seesaw-$SEESAW_COMMIT/src
        if [ ! -f "$src/go.mod" ]; then
            mkdir -p "$CACHE/seesaw-$SEESAW_COMMIT"
            tmp=$(mktemp -d "$CACHE/seesaw-$SEESAW_COMMIT/src.tmp.XXXXXX")
            tar xzf "$tarball" -C "$tmp"
            [ -f "$tmp/seesaw/go.mod" ] || die "$tarball has no seesaw/go.mod"
            rm -rf "$src"
            mv "$tmp/seesaw" "$src"
            rm -rf "$tmp"
            say "unpacked $tarball into $src"
        fi
        origin="peer tarball $tarball (commit $SEESAW_COMMIT)"
    else
        say "no seesaw-$SEESAW_COMMIT.tar.gz in the peers folder (${peers:-none found}); trying the Go module"
        probe=$(mktemp -d)
        trap 'rm -rf "$probe"' EXIT
        # A throwaway module so `go mod download` does not touch any go.mod.
        (cd "$probe" && printf 'module probe\n\ngo 1.22\n' > go.mod &&
            go mod download -json "github.com/google/seesaw@$SEESAW_COMMIT" > dl.json 2>dl.err) || true
        src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$probe/dl.json" 2>/dev/null | head -1)
        if [ -z "$src" ] || [ ! -d "$src" ]; then
            why=$(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' "$probe/dl.json" | head -1)
            [ -n "$why" ] || why=$(head -c 300 "$probe/dl.err")
            die "no Seesaw source: SEESAW_SRC is not set, no peer tarball, and the Go toolchain cannot fetch github.com/google/seesaw@$SEESAW_COMMIT: $why"
        fi
        origin="Go module github.com/google/seesaw@$SEESAW_COMMIT"
    fi
    cache_key=$SEESAW_COMMIT
fi
say "Seesaw source: $origin ($src)"
grep -q '^module github.com/google/seesaw$' "$src/go.mod" || die "$src is not the github.com/google/seesaw module"

# Everything below depends only on these inputs: when $WORK was built from the same ones and
# passed, it is kept (SEESAW_REBUILD=1 rebuilds anyway). `make test-kernels` builds once, not
# once per kernel line.
inputs=$( { echo "$origin"; go version; go env GOFLAGS; dpkg-query -W libnl-3-dev libnl-genl-3-dev 2>/dev/null || true
            sha256sum "$REPO/target/release/libipvs_ffi.so" "$REPO/include/ipvs_ffi.h"
            cd "$REPO" && find go examples/seesaw -type f ! -name '*~' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
          } | sha256sum | cut -c1-32)
# (A SEESAW_SRC checkout may change under the same path: always rebuilt.)
if [ "${SEESAW_REBUILD:-0}" != 1 ] && [ -n "$cache_key" ] && [ -f "$WORK/bin/OK" ] && [ "$(cat "$WORK/bin/OK")" = "$inputs" ] &&
    [ -d "$WORK/seesaw" ] && [ -d "$WORK/stock" ]; then
    say "up to date: $WORK was built and checked from the same inputs ($inputs; SEESAW_REBUILD=1 rebuilds)"
    exit 0
fi

rm -rf "$WORK"
mkdir -p "$WORK/bin/stock"
echo "$origin" > "$WORK/bin/ORIGIN"
export CGO_ENABLED=1

# 2. The rust_ipvs tree.
cp -r "$src" "$WORK/seesaw"
chmod -R u+w "$WORK/seesaw"
cd "$WORK/seesaw"
(cd "$REPO/go" && go run ./seesaw/cmd/seesaw-overlay -seesaw "$WORK/seesaw" -overlay "$REPO/go/seesaw/_overlay/ipvs")
mkdir -p test_tools/lbnet_ipvs_scenario test_tools/lbnet_ipvs_readback
cp "$REPO/examples/seesaw/scenario/main.go" test_tools/lbnet_ipvs_scenario/main.go
cp "$REPO/examples/seesaw/readback/main.go" test_tools/lbnet_ipvs_readback/main.go
go mod edit -require=github.com/lbnet/lbnet/go@v0.0.0 -replace=github.com/lbnet/lbnet/go="$REPO/go"
go mod tidy 2>&1 | sed 's/^/seesaw-build: go mod tidy: /'

# The whole tree, every main package linked into $WORK/bin (binaries/*, test_tools/*).
say "go build -tags rust_ipvs -o $WORK/bin/ ./..."
go build -tags rust_ipvs -o "$WORK/bin/" ./...
say "go vet -tags rust_ipvs ./ipvs/ ./test_tools/lbnet_ipvs_scenario/ ./test_tools/lbnet_ipvs_readback/"
go vet -tags rust_ipvs ./ipvs/ ./test_tools/lbnet_ipvs_scenario/ ./test_tools/lbnet_ipvs_readback/
gofmt_out=$(gofmt -l ipvs/ipvs_rust.go ipvs/ipvs_rust_test.go ipvs/types.go ipvs/ipvs_libnl.go test_tools/lbnet_ipvs_scenario test_tools/lbnet_ipvs_readback)
[ -z "$gofmt_out" ] || die "gofmt: $gofmt_out"

# Every binary, with the tag: no seesaw/netlink among its packages, no libnl among its libraries.
bins=()
for d in binaries/*/; do bins+=("$(basename "$d")"); done
[ ${#bins[@]} -ge 7 ] || die "expected Seesaw's 7 binaries under binaries/, found ${#bins[@]}: ${bins[*]}"
uses_lbnet=()
for b in "${bins[@]}"; do
    [ -x "$WORK/bin/$b" ] || die "binaries/$b was not built"
    deps=$(go list -deps -tags rust_ipvs "./binaries/$b")
    if grep -qx 'github.com/google/seesaw/netlink' <<<"$deps"; then
        die "$b depends on github.com/google/seesaw/netlink with -tags rust_ipvs"
    fi
    libs=$(ldd "$WORK/bin/$b")
    if grep -q 'libnl' <<<"$libs"; then
        die "$b links libnl with -tags rust_ipvs: $(grep libnl <<<"$libs" | tr -s ' \t' ' ')"
    fi
    if grep -qx 'github.com/lbnet/lbnet/go/ipvs' <<<"$deps"; then
        grep -q 'libipvs_ffi.so' <<<"$libs" || die "$b uses lbnet's ipvs package but does not link libipvs_ffi.so"
        uses_lbnet+=("$b")
    fi
done
# ncc drives IPVS and the engine talks to it: both must be on lbnet, or the checks above proved
# nothing about IPVS.
for b in seesaw_ncc seesaw_engine; do
    [[ " ${uses_lbnet[*]} " == *" $b "* ]] || die "$b does not reach github.com/lbnet/lbnet/go/ipvs with -tags rust_ipvs"
done
say "binaries OK: ${#bins[@]} built with -tags rust_ipvs (${bins[*]}); none reaches github.com/google/seesaw/netlink or links libnl; on lbnet's ipvs and libipvs_ffi.so: ${uses_lbnet[*]}"

# The same packages without the tag reach Seesaw's netlink, so the check means something.
pkgs=(./ncc/... ./engine/...)
without=$(go list -deps "${pkgs[@]}")
grep -qx 'github.com/google/seesaw/netlink' <<<"$without" || die "without the tag ncc/engine do not reach github.com/google/seesaw/netlink: the check above would be meaningless"
grep -qx 'github.com/lbnet/lbnet/go/ipvs' <<<"$without" && die "without the tag ncc/engine depend on lbnet"

# Lab binaries (the test tools are already in $WORK/bin).
go test -c -race -tags rust_ipvs -o "$WORK/bin/seesaw-ipvs.test" ./ipvs/

# 3. The stock tree: Seesaw as published, plus the readback tool in a new directory.
cp -r "$src" "$WORK/stock"
chmod -R u+w "$WORK/stock"
cd "$WORK/stock"
mkdir -p test_tools/lbnet_ipvs_readback
cp "$REPO/examples/seesaw/readback/main.go" test_tools/lbnet_ipvs_readback/main.go
# The stock result depends only on Seesaw, Go, libnl and the readback tool: cached by those.
stock_cache=""
if [ -n "$cache_key" ]; then
    h=$( { go version; dpkg-query -W libnl-3-dev libnl-genl-3-dev 2>/dev/null || true
           sha256sum "$REPO/examples/seesaw/readback/main.go"; } | sha256sum | cut -c1-16)
    stock_cache=$CACHE/seesaw-$cache_key/stock-$h
fi
if [ -n "$stock_cache" ] && [ -f "$stock_cache/BUILT" ]; then
    cp "$stock_cache/ipvs_test_tool" "$stock_cache/lbnet_ipvs_readback" "$WORK/bin/stock/"
    say "stock: the tree built without the tag before with the same inputs ($(cat "$stock_cache/BUILT")); ipvs_test_tool and lbnet_ipvs_readback from $stock_cache"
else
    say "stock: go build -o $WORK/bin/stock/ ./... (libnl)"
    go build -o "$WORK/bin/stock/" ./...
    if [ -n "$stock_cache" ]; then
        mkdir -p "$(dirname "$stock_cache")"
        tmp=$(mktemp -d "$stock_cache.tmp.XXXXXX")
        cp "$WORK/bin/stock/ipvs_test_tool" "$WORK/bin/stock/lbnet_ipvs_readback" "$tmp/"
        echo "go build ./... passed $(date -u +%FT%TZ), $(go version)" > "$tmp/BUILT"
        rm -rf "$stock_cache"
        mv "$tmp" "$stock_cache"
        say "stock binaries cached in $stock_cache"
    fi
fi
for t in ipvs_test_tool lbnet_ipvs_readback; do
    libs=$(ldd "$WORK/bin/stock/$t")
    grep -q 'libnl-genl-3' <<<"$libs" || die "stock $t does not link libnl-genl-3: the ldd check above would be meaningless"
done
say "built: $(cd "$WORK/bin" && echo * stock/*)"
echo "$inputs" > "$WORK/bin/OK"
say "OK"
