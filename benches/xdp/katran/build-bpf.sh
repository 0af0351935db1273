#!/bin/sh
# Builds Katran's XDP balancer (katran/lib/bpf/balancer.bpf.c), unmodified, from the peer
# tarball and prints the object's path. Cached by commit under
# ${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}/katran-bpf-<commit>/ (built in a temporary
# directory, then renamed into place, so an interrupted build is never taken as done).
#
# Katran's sources: the peer tarball that peer.sh finds. The compile command is the peers
# README's measured one plus
# -DICMP_TOOBIG_GENERATION, Katran's own compile-time switch (balancer_consts.h, "turned off by
# default") that answers packets above MAX_PCKT_SIZE with ICMP "fragmentation needed" / ICMPv6
# "packet too big" instead of dropping them: the behaviour lbnet's oversize handling is
# compared with.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
. "$here/peer.sh"
katran_peer build-bpf.sh
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
