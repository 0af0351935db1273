#!/bin/sh
# Builds maglev_tool.cpp against Katran's Maglev construction (katran/lib/MaglevHash.cpp,
# MaglevHashV2.cpp, MaglevBase.cpp, CHHelpers.cpp from the peer tarball, unmodified) and prints
# the tool's path. Cached under ${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}/katran-maglev-<commit>-<tool hash>/
# (built in a temporary directory, then renamed into place).
#
# MaglevBase.cpp includes katran/lib/MurmurHash3.h, which the peer tarball does not contain:
# MurmurHash3.h/.cpp are taken from $KATRAN_SRC (a Katran checkout of the same commit) or
# downloaded from Katran's public repository at that commit.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
. "$here/peer.sh"
katran_peer build-maglev.sh
tool_hash=$(sha256sum "$here/maglev_tool.cpp" | cut -c1-12)
dest=$cache/katran-maglev-$commit-$tool_hash
if [ ! -x "$dest/maglev_tool" ]; then
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.katran-maglev.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tar -xzf "$tarball" -C "$tmp"
	lib=$(dirname "$(find "$tmp" -path '*/katran/lib/MaglevHash.cpp' | head -n1)")
	mkdir -p "$tmp/murmur/katran/lib"
	for f in MurmurHash3.h MurmurHash3.cpp; do
		if [ -n "${KATRAN_SRC:-}" ] && [ -f "$KATRAN_SRC/katran/lib/$f" ]; then
			cp "$KATRAN_SRC/katran/lib/$f" "$tmp/murmur/katran/lib/$f"
		elif ! curl -fsSL --max-time 30 -o "$tmp/murmur/katran/lib/$f" \
			"https://raw.githubusercontent.com/facebookincubator/katran/$commit/katran/lib/$f"; then
			echo "build-maglev.sh: katran/lib/$f is not in the peer tarball; set KATRAN_SRC to a Katran checkout of $commit (download failed)" >&2
			exit 1
		fi
	done
	mkdir "$tmp/out"
	${CXX:-g++} -O2 -std=c++17 -I"$lib/../.." -I"$tmp/murmur" -o "$tmp/out/maglev_tool" \
		"$here/maglev_tool.cpp" "$lib/MaglevHash.cpp" "$lib/MaglevHashV2.cpp" \
		"$lib/MaglevBase.cpp" "$lib/CHHelpers.cpp" "$tmp/murmur/katran/lib/MurmurHash3.cpp"
	rm -rf "$dest"
	mv "$tmp/out" "$dest"
fi
echo "$dest/maglev_tool"
