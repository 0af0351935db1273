#!/bin/bash
# Builds SONiC swss-common's C++ library (libswsscommon) from the unmodified peer tarball, cached
# by commit under ${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}/swss-common-<commit>/ (built in a
# temporary directory, renamed into place when complete, so an interrupted build is never taken
# as done). Prints the cache directory; it holds lib/libswsscommon.so*, include/ (the headers,
# under swss/ too), lua/ (common/*.lua) and the tree's database_config.json.
# The recipe is the one measured in ../shared/peers/README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=${SWSS_COMMON_SRC:-}
if [ -z "$src" ]; then
    # ../shared/peers from the project's root (a worktree under wt/ has it one level higher).
    src=$(ls "$root"/../shared/peers/sonic-swss-common-*.tar.gz \
             "$root"/../../shared/peers/sonic-swss-common-*.tar.gz 2>/dev/null | head -1 || true)
fi
if [ -z "$src" ] || [ ! -f "$src" ]; then
    echo "build-swss-common: no swss-common tarball (set SWSS_COMMON_SRC or put it in ../shared/peers)" >&2
    exit 1
fi
commit=$(basename "$src" .tar.gz); commit=${commit#sonic-swss-common-}
cache=${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}
dest=$cache/swss-common-$commit
if [ -f "$dest/lib/libswsscommon.so" ]; then
    echo "$dest"
    exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.swss-common-$commit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
tar xzf "$src" -C "$tmp"
cd "$tmp/sonic-swss-common"
{
    ./autogen.sh
    ./configure --disable-python2 --disable-yangmodules --disable-static
    make common/cfg_schema.h
    nice -n 10 make -j2 common/libswsscommon.la
} > "$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log" >&2; exit 1; }
mkdir -p "$tmp/out/lib" "$tmp/out/include/swss" "$tmp/out/lua"
cp -a common/.libs/libswsscommon.so* "$tmp/out/lib/"
cp common/*.h "$tmp/out/include/swss/"
cp common/*.h "$tmp/out/include/"
cp common/*.lua "$tmp/out/lua/"
cp common/database_config.json "$tmp/out/"
cp "$tmp/build.log" "$tmp/out/"
echo "built in $(( $(date +%s) - start )) s" > "$tmp/out/build-time"
rm -rf "$dest"
mv "$tmp/out" "$dest"
echo "$dest"
