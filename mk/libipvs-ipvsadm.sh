#!/usr/bin/env bash
# mk/libipvs-ipvsadm.sh build|layout: ipvsadm 1.31, unmodified, against libipvs_ffi.so.
#
# build OUT_DIR LIB_DIR: builds ipvsadm 1.31 once into the peer cache (its objects, and the
#   program with its own libipvs over libnl, OUT_DIR/libnl/ipvsadm: the reference) in
#   ${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}/ipvsadm-1.31/ (built in a temporary directory,
#   then renamed into place, so an interrupted build is never taken as done), then links the
#   objects into OUT_DIR/bin/ipvsadm with libipvs replaced by libipvs_ffi.so (copied from LIB_DIR
#   to OUT_DIR/lib) through the Makefile's own variables
#   (`make ipvsadm STATIC_LIBS= LIBS="-lpopt -L.. -Wl,-rpath,.. -lipvs_ffi"`, no source edit), and
#   checks with ldd that the program links libipvs_ffi and no libnl.
# layout OUT_DIR INCLUDE_DIR: static-asserts every size/offset of lbnet/libipvs.h against
#   ipvsadm's own libipvs/libipvs.h (examples/c/libipvs_layout*.c).
#
# ipvsadm's source, in order: $IPVSADM_SRC (an orig tarball), ../shared/peers/ipvsadm_1.31.orig.tar.gz
# from the project's root (or from its parent, for a worktree), Debian's orig tarball from deb.debian.org.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=1.31
CACHE=${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}/ipvsadm-$VERSION

tarball() {
    if [ -n "${IPVSADM_SRC:-}" ]; then echo "$IPVSADM_SRC"; return; fi
    local peer
    for peer in "$ROOT/../shared/peers" "$ROOT/../../shared/peers"; do # a clone; a worktree under wt/
        peer=$peer/ipvsadm_$VERSION.orig.tar.gz
        if [ -f "$peer" ]; then echo "$peer"; return; fi
    done
    local dl=${CACHE}.orig.tar.gz
    if [ ! -f "$dl" ]; then
        mkdir -p "$(dirname "$dl")"
        curl -fsSL -o "$dl.tmp" "https://deb.debian.org/debian/pool/main/i/ipvsadm/ipvsadm_$VERSION.orig.tar.gz"
        mv "$dl.tmp" "$dl"
    fi
    echo "$dl"
}

# The cached tree: ipvsadm's sources with ipvsadm.o, config_stream.o and dynamic_array.o built by
# its own Makefile rules.
ensure_cache() {
    [ -f "$CACHE/.built" ] && return
    local tmp
    tmp=$(mktemp -d "$(dirname "$CACHE")/.ipvsadm-$VERSION.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$CACHE")"; mktemp -d "$(dirname "$CACHE")/.ipvsadm-$VERSION.XXXXXX"; })
    local src
    src=$(tarball)
    echo "libipvs-ipvsadm: building ipvsadm $VERSION objects from $src into $CACHE" >&2
    tar -xzf "$src" -C "$tmp" --strip-components=1
    # Upstream's own build (its libipvs over libnl): the reference ours must match exactly.
    nice make -s -C "$tmp" >&2
    mv "$tmp/ipvsadm" "$tmp/ipvsadm.libnl"
    touch "$tmp/.built"
    rm -rf "$CACHE"
    mv "$tmp" "$CACHE"
}

case "${1:-}" in
build)
    out=$(realpath -m "$2") lib=$(realpath "$3")
    mkdir -p "$(dirname "$CACHE")"
    ensure_cache
    rm -rf "$out"
    mkdir -p "$out"
    cp -a "$CACHE/." "$out/src"
    rm -f "$out/src/ipvsadm"
    # The library next to the program (rpath $ORIGIN/../lib), so the pair can be copied (the lab
    # runs them from its tmpfs: library lookups over 9p cost more than the commands).
    mkdir -p "$out/bin" "$out/lib" "$out/libnl"
    cp "$lib/libipvs_ffi.so" "$out/lib/libipvs_ffi.so.0"
    ln -s libipvs_ffi.so.0 "$out/lib/libipvs_ffi.so"
    make -s -C "$out/src" ipvsadm STATIC_LIBS= \
        LIBS="-lpopt -L$out/lib -Wl,-rpath,'\$\$ORIGIN/../lib' -lipvs_ffi" >&2
    mv "$out/src/ipvsadm" "$out/bin/ipvsadm"
    cp "$out/src/ipvsadm.libnl" "$out/libnl/ipvsadm"
    deps=$(ldd "$out/bin/ipvsadm")
    echo "$deps" | grep -q 'libipvs_ffi.so' || { echo "ipvsadm does not link libipvs_ffi:" >&2; echo "$deps" >&2; exit 1; }
    if echo "$deps" | grep -q 'libnl'; then echo "ipvsadm still links libnl:" >&2; echo "$deps" >&2; exit 1; fi
    echo "libipvs-ipvsadm: $out/bin/ipvsadm links $(echo "$deps" | grep -o 'libipvs_ffi[^ ]*' | head -1), no libnl"
    ;;
layout)
    out=$(realpath -m "$2") inc=$(realpath "$3")
    ensure_cache
    mkdir -p "$out"
    gcc -std=gnu11 -Wall -Wextra -Werror -I"$inc" -I"$ROOT/examples/c" \
        -o "$out/libipvs_layout_ours" "$ROOT/examples/c/libipvs_layout_ours.c"
    "$out/libipvs_layout_ours" >"$out/libipvs_layout_ours.h"
    gcc -std=gnu11 -Wall -Wextra -Werror -I"$CACHE" -I"$ROOT/examples/c" \
        -include "$out/libipvs_layout_ours.h" \
        -o "$out/libipvs_layout" "$ROOT/examples/c/libipvs_layout.c"
    "$out/libipvs_layout"
    ;;
*)
    echo "usage: $0 build OUT_DIR LIB_DIR | layout OUT_DIR INCLUDE_DIR" >&2
    exit 2
    ;;
esac
