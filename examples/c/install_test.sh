#!/usr/bin/env bash
# Installs lbnet's C ABI into a scratch prefix with `make install PREFIX=...` and checks the result
# the way a user would: the soname symlink chain, the header, the pkg-config file, and a program
# built against the installed copy (shared and static) that runs.
# Usage: examples/c/install_test.sh [make-command]
set -euo pipefail
MAKE_CMD=${1:-make}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/lbnet-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

$MAKE_CMD -s -C "$ROOT" install PREFIX="$prefix" >/dev/null
ver=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)
major=${ver%%.*}

fail() { echo "install_test: FAIL: $*" >&2; exit 1; }
[ -f "$prefix/lib/libipvs_ffi.so.$ver" ] || fail "missing libipvs_ffi.so.$ver"
[ "$(readlink "$prefix/lib/libipvs_ffi.so.$major")" = "libipvs_ffi.so.$ver" ] || fail "bad .so.$major link"
[ "$(readlink "$prefix/lib/libipvs_ffi.so")" = "libipvs_ffi.so.$major" ] || fail "bad .so link"
[ -f "$prefix/lib/libipvs_ffi.a" ] || fail "missing libipvs_ffi.a"
cmp -s "$prefix/include/ipvs_ffi.h" "$ROOT/include/ipvs_ffi.h" || fail "installed header differs"
readelf -d "$prefix/lib/libipvs_ffi.so.$ver" | grep -q "SONAME.*\[libipvs_ffi.so.$major\]" \
    || fail "wrong soname"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion ipvs_ffi)" = "$ver" ] || fail "pkg-config version"
[ "$(pkg-config --cflags ipvs_ffi | xargs)" = "-I$prefix/include" ] || fail "cflags: $(pkg-config --cflags ipvs_ffi)"
pkg-config --libs ipvs_ffi | grep -q -- "-L$prefix/lib -lipvs_ffi" || fail "libs: $(pkg-config --libs ipvs_ffi)"
pkg-config --static --libs ipvs_ffi | grep -q -- "-lpthread" || fail "static libs"

cat > "$tmp/hello.c" <<'C'
#include <ipvs_ffi.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    (void)argc;
    const char *v = lbnet_version();
    printf("%s\n", v);
    return strcmp(v, argv[1]) != 0;
}
C
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Wextra -Werror -o "$tmp/hello" "$tmp/hello.c" $(pkg-config --cflags --libs ipvs_ffi)
readelf -d "$tmp/hello" | grep -q "NEEDED.*\[libipvs_ffi.so.$major\]" || fail "hello does not need the soname"
out=$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/hello" "$ver") || fail "hello (shared) failed: $out"
# Static: link the archive explicitly, with the private libraries pkg-config lists.
# shellcheck disable=SC2046
gcc -std=c11 -Wall -Wextra -Werror -o "$tmp/hello_static" "$tmp/hello.c" \
    $(pkg-config --cflags ipvs_ffi) "$prefix/lib/libipvs_ffi.a" $(pkg-config --static --libs-only-l ipvs_ffi | sed 's/-lipvs_ffi//')
if readelf -d "$tmp/hello_static" | grep -q "libipvs_ffi"; then fail "hello_static still needs the .so"; fi
"$tmp/hello_static" "$ver" >/dev/null || fail "hello (static) failed"
echo "install_test: installed into a scratch prefix, shared and static programs built and ran (version $ver)"
