#!/bin/sh
# Builds maglev_tool.cpp against Katran's Maglev construction (katran/lib/MaglevHash.cpp,
# MaglevHashV2.cpp, MaglevBase.cpp, CHHelpers.cpp from the peer tarball, unmodified) and prints
# the tool's path. Cached under ${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}/katran-maglev-<commit>-<tool hash>/
# (built in a temporary directory, then renamed into place).
#
# MaglevBase.cpp includes katran/lib/MurmurHash3.h, which the peer tarball does not contain:
# lbnet's own implementation of that function (murmur3/katran/lib/MurmurHash3.h, the public
# MurmurHash3 algorithm) is put on the include path instead, so the tool builds wherever the
# tarball is (no download). Its hash is part of the cache key.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
. "$here/peer.sh"
katran_peer build-maglev.sh
tool_hash=$(cat "$here/maglev_tool.cpp" "$here/murmur3/katran/lib/MurmurHash3.h" | sha256sum | cut -c1-12)
dest=$cache/katran-maglev-$commit-$tool_hash
if [ ! -x "$dest/maglev_tool" ]; then
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.katran-maglev.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tar -xzf "$tarball" -C "$tmp"
	lib=$(dirname "$(find "$tmp" -path '*/katran/lib/MaglevHash.cpp' | head -n1)")
	mkdir "$tmp/out"
	${CXX:-g++} -O2 -std=c++17 -I"$lib/../.." -I"$here/murmur3" -o "$tmp/out/maglev_tool" \
		"$here/maglev_tool.cpp" "$lib/MaglevHash.cpp" "$lib/MaglevHashV2.cpp" \
		"$lib/MaglevBase.cpp" "$lib/CHHelpers.cpp"
	rm -rf "$dest"
	mv "$tmp/out" "$dest"
fi
echo "$dest/maglev_tool"
