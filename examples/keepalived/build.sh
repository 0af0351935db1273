#!/usr/bin/env bash
# Builds keepalived 2.2.7 twice, from the same unmodified sources:
#
#   stock  keepalived as upstream builds it (`./configure --enable-lvs`, `make`): its IPVS
#          calls go through its own copy of libipvs (keepalived/check/libipvs.c) on libnl;
#   lbnet  keepalived configured `--enable-lvs --disable-libnl` (so nothing of it links libnl),
#          with check/libipvs.o left out of the internal libcheck.a and
#          examples/keepalived/libipvs_lbnet.c (keepalived's libipvs API over lbnet's C ABI,
#          compiled against this configured tree's own headers) plus libipvs_ffi.so linked in
#          its place, through make variables only:
#            make -C keepalived/check check_data.o check_parser.o \
#                 CPPFLAGS="<configure's> -DLIBIPVS_USE_NL"
#            make -C keepalived/check libcheck.a \
#                 am_libcheck_a_OBJECTS="<keepalived's list without libipvs.o>"
#            make -C keepalived keepalived LIBS="libipvs_lbnet.o -L<ffi> -Wl,-rpath,<ffi> -lipvs_ffi"
#          LIBIPVS_USE_NL: configure defines it when libipvs talks netlink (with libnl), and
#          keepalived's configuration parser (check_data.c, check_parser.c; nothing else in
#          check/ reads it but libipvs.c, which is gone) refuses every IPv6 virtual and real
#          server without it ("IPVS does not support IPv6 in this build"), because libipvs's
#          setsockopt fallback cannot carry IPv6. Our libipvs talks netlink and carries IPv6, so
#          those two objects are compiled with it defined, as in the stock build; the other
#          objects that read it (core/namespaces.c, core/libnl_link.c, core/nftables.c) would
#          include libnl's headers or open libnl sockets with it, and are left as configured.
#
# Each configured and built tree is cached by version (and source hash and configure options)
# under ${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}/: keepalived-<version>/ (stock) and
# keepalived-<version>-nolibnl/ (what the lbnet variant is relinked from); each is built in a
# temporary directory and renamed into place, so an interrupted build is never taken as done.
# The lbnet variant is relinked on every run (seconds) in a copy of the nolibnl tree under the
# output directory, so the cache is never modified.
#
# keepalived's sources, in order: KEEPALIVED_SRC (a tarball or an unpacked tree);
# shared/peers/keepalived_<version>.orig.tar.gz beside the project's main checkout; Debian's
# pool (the same orig tarball, checked against KEEPALIVED_SHA256).
#
# Output ($1, default target/keepalived): keepalived-stock, keepalived-lbnet, libipvs_lbnet.o,
# build-info.txt. Then it checks, and fails unless:
#   - libcheck.a of the lbnet build has no libipvs.o, and the binary none of libipvs.c's own
#     functions (ipvs_nl_send_message, ipvs_nl_fill_service_attr, ipvs_getinfo...), while the
#     stock binary has them (so the check means something);
#   - the lbnet binary defines keepalived's libipvs entry points and imports lbnet_ipvs_* from
#     libipvs_ffi.so, which ldd resolves to the tree's library;
#   - the lbnet binary imports no libnl function at all and ldd shows no libnl (the stock binary
#     imports genl_ctrl_resolve, nl_send_auto, nl_recvmsgs_default... and links libnl-3 and
#     libnl-genl-3, so the check means something);
#   - the lbnet binary has none of the "IPv6 is not supported by this build" refusals of the
#     parser, which the nolibnl tree's own binary has (LIBIPVS_USE_NL took effect).
#
# Needs: gcc, make, libnl-3-dev, libnl-genl-3-dev (the stock build), libssl-dev, libmagic-dev
# (keepalived's configure), and libipvs_ffi built (`make ffi-lib`).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$REPO/target/keepalived}
VERSION=2.2.7
SHA256=${KEEPALIVED_SHA256:-}
CONFIGURE_OPTS="--enable-lvs"
NOLIBNL_OPTS="--enable-lvs --disable-libnl"
FFI_DIR=${LBNET_FFI_LIBDIR:-$REPO/target/release}
CACHE_ROOT=${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}
CACHE=$CACHE_ROOT/keepalived-$VERSION
NOLIBNL_CACHE=$CACHE_ROOT/keepalived-$VERSION-nolibnl
say() { echo "keepalived-build: $*"; }
die() { echo "keepalived-build: FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ -f "$FFI_DIR/libipvs_ffi.so" ] || die "$FFI_DIR/libipvs_ffi.so missing: run make ffi-lib first"
t_all=$(now)

# --- keepalived's source ---------------------------------------------------------------------
find_source() {
    if [ -n "${KEEPALIVED_SRC:-}" ]; then
        echo "$KEEPALIVED_SRC"
        return
    fi
    local common main
    common=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
    for main in "$REPO" "${common%/.git}"; do
        [ -n "$main" ] || continue
        if [ -f "$main/../shared/peers/keepalived_$VERSION.orig.tar.gz" ]; then
            echo "$(cd "$main/../shared/peers" && pwd)/keepalived_$VERSION.orig.tar.gz"
            return
        fi
    done
    echo ""
}
src=$(find_source)
tmp_dl=""
work=""
# An interrupted or failed stock build leaves nothing behind (it never reaches the cache name).
cleanup() { rm -rf ${tmp_dl:+"$tmp_dl"} ${work:+"$work"}; }
trap cleanup EXIT
if [ -z "$src" ]; then
    url=http://deb.debian.org/debian/pool/main/k/keepalived/keepalived_$VERSION.orig.tar.gz
    [ -n "$SHA256" ] || SHA256=$(cat "$REPO/examples/keepalived/keepalived-$VERSION.sha256")
    tmp_dl=$(mktemp -d)
    say "downloading $url"
    curl -fsSL -o "$tmp_dl/keepalived.tar.gz" "$url" || die "cannot download $url (set KEEPALIVED_SRC)"
    echo "$SHA256  $tmp_dl/keepalived.tar.gz" | sha256sum -c --quiet - || die "$url: sha256 mismatch"
    src=$tmp_dl/keepalived.tar.gz
fi
if [ -d "$src" ]; then
    src_id="dir:$(cd "$src" && pwd)"
else
    [ -f "$src" ] || die "keepalived source $src not found"
    src_id="sha256:$(sha256sum "$src" | cut -d' ' -f1)"
fi
say "keepalived $VERSION from $src ($src_id)"
# --- the cached builds ------------------------------------------------------------------------
# build_cached DIR "CONFIGURE OPTIONS" CONFIGURE_LOG_LINE: configures and builds keepalived into
# DIR (DIR/tree, DIR/keepalived-stock: the binary as that configuration builds it, DIR/key)
# unless DIR holds that build already; fails unless configure.log has CONFIGURE_LOG_LINE.
build_cached() {
    local dir=$1 opts=$2 want=$3 key t
    key="version=$VERSION source=$src_id configure=$opts gcc=$(gcc -dumpfullversion)"
    if [ -f "$dir/key" ] && [ "$(cat "$dir/key")" = "$key" ] && [ -x "$dir/keepalived-stock" ]; then
        say "build ($opts): cached in $dir"
        return
    fi
    t=$(now)
    mkdir -p "$CACHE_ROOT"
    work=$(mktemp -d "$CACHE_ROOT/.keepalived-$VERSION.XXXXXX")
    if [ -d "$src" ]; then
        cp -a "$src" "$work/tree"
    else
        mkdir "$work/tree"
        tar -xzf "$src" -C "$work/tree" --strip-components=1
    fi
    [ -f "$work/tree/keepalived/check/libipvs.c" ] || die "$src is not a keepalived tree"
    say "build: ./configure $opts (log: $work/configure.log)"
    (cd "$work/tree" && nice ./configure $opts) > "$work/configure.log" 2>&1 ||
        { tail -30 "$work/configure.log" >&2; die "configure failed"; }
    grep -Eq "$want" "$work/configure.log" ||
        die "configure $opts: no line '$want' in $work/configure.log"
    say "build ($opts): make -j2"
    nice make -C "$work/tree" -j2 > "$work/make.log" 2>&1 ||
        { tail -30 "$work/make.log" >&2; die "make failed"; }
    cp "$work/tree/keepalived/keepalived" "$work/keepalived-stock"
    echo "$key" > "$work/key"
    rm -rf "$dir"
    mv "$work" "$dir"
    work=""
    say "build ($opts): done in $(since "$t") s, cached in $dir"
}
# Stock: IPVS over libnl (needs libnl-3-dev and libnl-genl-3-dev).
build_cached "$CACHE" "$CONFIGURE_OPTS" "IPVS use libnl *: Yes"
key=$(cat "$CACHE/key")
# The tree the lbnet variant is relinked from: no libnl anywhere.
build_cached "$NOLIBNL_CACHE" "$NOLIBNL_OPTS" "IPVS use libnl *: No"

# --- the lbnet build --------------------------------------------------------------------------
t=$(now)
mkdir -p "$OUT"
rm -rf "$OUT/tree"
cp -a "$NOLIBNL_CACHE/tree" "$OUT/tree"
T=$OUT/tree
CHECK=$T/keepalived/check
mkvar() { make -s -C "$1" --no-print-directory --eval "lbnet-print-var: ; @echo \$($2)" lbnet-print-var; }
ka_cflags=$(mkvar "$CHECK" KA_CFLAGS)
ka_cppflags=$(mkvar "$CHECK" KA_CPPFLAGS)
cppflags=$(mkvar "$CHECK" CPPFLAGS)
# keepalived's own flags (all its warnings), as an error.
gcc -DHAVE_CONFIG_H $ka_cppflags -I"$T/lib" -I"$T/keepalived/include" -I"$REPO/include" \
    $ka_cflags -Werror -c "$REPO/examples/keepalived/libipvs_lbnet.c" -o "$OUT/libipvs_lbnet.o"
objs=$(mkvar "$CHECK" am_libcheck_a_OBJECTS)
new_objs=$(echo "$objs" | tr ' ' '\n' | grep -v '^libipvs\.o$' | tr '\n' ' ')
[ "$(echo "$objs" | wc -w)" = "$(( $(echo "$new_objs" | wc -w) + 1 ))" ] ||
    die "libipvs.o not found once in keepalived's libcheck objects: $objs"
# Out with libipvs.o, the archive holding it, the binary linked from it, and the two parser
# objects compiled without LIBIPVS_USE_NL (see the top).
rm -f "$CHECK/libipvs.o" "$CHECK/libcheck.a" "$T/keepalived/keepalived" \
    "$CHECK/check_data.o" "$CHECK/check_parser.o"
libs="$OUT/libipvs_lbnet.o -L$FFI_DIR -Wl,-rpath,$FFI_DIR -lipvs_ffi"
say "lbnet build: make check_data.o check_parser.o CPPFLAGS=\"$cppflags -DLIBIPVS_USE_NL\"; make am_libcheck_a_OBJECTS=\"$new_objs\" LIBS=\"$libs\""
# Only the targets that change, in their own directories: the tree's top-level make would
# regenerate lib/git-commit.h through the absolute path the cached tree was configured in.
{ nice make -C "$CHECK" check_data.o check_parser.o CPPFLAGS="$cppflags -DLIBIPVS_USE_NL" &&
  nice make -C "$CHECK" libcheck.a am_libcheck_a_OBJECTS="$new_objs" &&
  nice make -C "$T/keepalived" keepalived LIBS="$libs"; } > "$OUT/make-lbnet.log" 2>&1 ||
    { tail -30 "$OUT/make-lbnet.log" >&2; die "make of the lbnet variant failed"; }
[ ! -e "$CHECK/libipvs.o" ] || die "make rebuilt check/libipvs.o"
cp "$T/keepalived/keepalived" "$OUT/keepalived-lbnet"
cp "$CACHE/keepalived-stock" "$OUT/keepalived-stock"
say "lbnet build: relinked in $(since "$t") s"

# --- proof that the IPVS path is ours ---------------------------------------------------------
ours=$OUT/keepalived-lbnet
stock=$OUT/keepalived-stock
ar t "$CHECK/libcheck.a" | grep -qx 'libipvs.o' && die "libcheck.a still has libipvs.o"
ar t "$CACHE/tree/keepalived/check/libcheck.a" | grep -qx 'libipvs.o' ||
    die "the stock libcheck.a has no libipvs.o: the check above means nothing"
# Functions only keepalived's libipvs.c defines (static, so nm shows them as t).
libipvs_own='ipvs_nl_send_message|ipvs_nl_fill_service_attr|ipvs_nl_fill_dest_attr|ipvs_nl_noop_cb|ipvs_getinfo_parse_cb|ipvs_getinfo'
# (nm's output is kept in variables: `nm | grep -q` can fail by SIGPIPE under pipefail.)
nm_stock=$(nm "$stock")
nm_ours=$(nm "$ours")
nm_stock_u=$(nm -D --undefined-only "$stock" | awk '{print $NF}' | sed 's/@.*//')
n_stock=$(echo "$nm_stock" | awk '{print $NF}' | grep -Ecx "$libipvs_own" || true)
n_ours=$(echo "$nm_ours" | awk '{print $NF}' | grep -Ecx "$libipvs_own" || true)
[ "$n_stock" -ge 5 ] || die "stock binary: only $n_stock of libipvs.c's own functions found by nm"
[ "$n_ours" = 0 ] || die "lbnet binary still has $n_ours of libipvs.c's own functions"
entry='ipvs_init ipvs_close ipvs_flush ipvs_strerror ipvs_set_timeout ipvs_add_service ipvs_update_service ipvs_del_service ipvs_add_dest ipvs_update_dest ipvs_del_dest ipvs_start_daemon ipvs_stop_daemon'
for f in $entry; do
    grep -Eq " T $f\$" <<<"$nm_ours" || die "lbnet binary does not define $f"
done
imports=$(nm -D --undefined-only "$ours" | awk '{print $NF}' | sed 's/@.*//')
n_lbnet=$(echo "$imports" | grep -c '^lbnet_ipvs_' || true)
[ "$n_lbnet" -ge 10 ] || die "lbnet binary imports only $n_lbnet lbnet_ipvs_* functions"
for f in genl_ctrl_resolve nl_send_auto nl_recvmsgs_default nl_socket_modify_err_cb; do
    if grep -qx "$f" <<<"$imports"; then die "lbnet binary still imports libnl's $f"; fi
    grep -qx "$f" <<<"$nm_stock_u" || die "stock binary does not import $f: check is void"
done
ldd_ours=$(ldd "$ours")
grep -q "libipvs_ffi.so.0 => $FFI_DIR/libipvs_ffi.so.0 " <<<"$ldd_ours" ||
    die "ldd does not resolve libipvs_ffi.so.0 to $FFI_DIR: $(grep ipvs_ffi <<<"$ldd_ours" || echo none)"
# No libnl at all: no import of any libnl function, and ldd shows no libnl (the stock binary
# links both libnl-3 and libnl-genl-3, so the check means something).
nl_left=$(echo "$imports" | grep -E '^(nl|genl|nla|nlmsg|rtnl)_' | tr '\n' ' ' || true)
[ -z "$nl_left" ] || die "lbnet binary still imports libnl functions: $nl_left"
if grep -q 'libnl' <<<"$ldd_ours"; then die "lbnet binary links libnl: $(grep libnl <<<"$ldd_ours")"; fi
ldd_stock=$(ldd "$stock")
grep -q 'libnl-3' <<<"$ldd_stock" && grep -q 'libnl-genl-3' <<<"$ldd_stock" ||
    die "ldd of the stock binary shows no libnl-3/libnl-genl-3: the check above is void"
# The parser takes IPv6 virtual and real servers: none of its "not supported by this build"
# refusals is in the lbnet binary, while the nolibnl tree's own binary has them.
refusal='IPVS does not support IPv6 in this build|IPVS with IPv6 is not supported by this build'
strings_ours=$(strings "$ours")
strings_plain=$(strings "$NOLIBNL_CACHE/keepalived-stock")
if grep -Eq "$refusal" <<<"$strings_ours"; then
    die "lbnet binary still refuses IPv6 services (check_data.o/check_parser.o without LIBIPVS_USE_NL)"
fi
grep -Eq "$refusal" <<<"$strings_plain" ||
    die "the nolibnl tree's own binary has no IPv6 refusal: the check above is void"
{
    echo "keepalived $VERSION, stock: $key"
    echo "lbnet relinked from: $(cat "$NOLIBNL_CACHE/key")"
    echo "stock: $stock"
    echo "lbnet: $ours"
    echo "lbnet_ipvs_* functions imported by the lbnet binary: $n_lbnet"
    echo "$imports" | grep '^lbnet_' | tr '\n' ' '; echo
    echo "libipvs.c's own functions: stock $n_stock, lbnet $n_ours"
    echo "libnl functions imported by the lbnet binary: none; libnl in its ldd: none"
    echo "ldd lbnet:"; ldd "$ours" | sed 's/ (0x.*//'
    echo "ldd stock:"; ldd "$stock" | sed 's/ (0x.*//'
} > "$OUT/build-info.txt"
sed 's/^/keepalived-build: /' "$OUT/build-info.txt"
say "ok in $(since "$t_all") s"
