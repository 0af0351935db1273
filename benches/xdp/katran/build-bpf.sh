#!/bin/sh
# Builds Katran's XDP balancer (katran/lib/bpf/balancer.bpf.c), unmodified, from the peer
# tarball and prints the object's path. Cached by commit under
# ${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}/katran-bpf-<commit>/ (built in a temporary
# directory, then renamed into place, so an interrupted build is never taken as done).
#
# Katran's sources come from $KATRAN_BPF_TARBALL, else katran-bpf-*.tar.gz in $LBNET_PEERS_DIR,
# ../shared/peers or ../../shared/peers from the project's root (a clone or a worktree). The compile command is the peers README's measured one plus
# -DICMP_TOOBIG_GENERATION, Katran's own compile-time switch (balancer_consts.h, "turned off by
# default") that answers packets above MAX_PCKT_SIZE with ICMP "fragmentation needed" / ICMPv6
# "packet too big" instead of dropping them: the behaviour lbnet's oversize handling is
# compared with.
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
tarball=${KATRAN_BPF_TARBALL:-}
if [ -z "$tarball" ]; then
	for d in ${LBNET_PEERS_DIR:-} "$root/../shared/peers" "$root/../../shared/peers"; do
		for f in "$d"/katran-bpf-*.tar.gz; do [ -f "$f" ] && tarball=$f; done
		[ -n "$tarball" ] && break
	done
fi
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
	echo "build-bpf.sh: no Katran tarball (set KATRAN_BPF_TARBALL or put katran-bpf-<commit>.tar.gz in ../shared/peers)" >&2
	exit 1
fi
commit=$(basename "$tarball" .tar.gz | sed 's/^katran-bpf-//')
cache=${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}
dest=$cache/katran-bpf-$commit
if [ ! -f "$dest/balancer.o" ]; then
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.katran-bpf-$commit.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tar -xzf "$tarball" -C "$tmp"
	src=$(dirname "$(find "$tmp" -path '*/katran/lib/bpf/balancer.bpf.c' | head -n1)")
	(cd "$src/../../.." && ${BPF_CLANG:-clang} -O2 -g -target bpf -D__KERNEL__ -D__x86_64__ \
		-DICMP_TOOBIG_GENERATION \
		-Wno-unused-value -Wno-pointer-sign -Wno-compare-distinct-pointer-types \
		-I. -I/usr/include/x86_64-linux-gnu -c katran/lib/bpf/balancer.bpf.c -o "$tmp/balancer.o")
	mkdir "$tmp/out"
	mv "$tmp/balancer.o" "$tmp/out/"
	rm -rf "$dest"
	mv "$tmp/out" "$dest"
fi
echo "$dest/balancer.o"
