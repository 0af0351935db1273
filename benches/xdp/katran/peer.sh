# Sourced by build-bpf.sh and build-maglev.sh: finds the Katran peer tarball and sets `tarball`
# (its path), `commit` (from its name katran-bpf-<commit>.tar.gz) and `cache` (the peer cache).
# Looked for in $KATRAN_BPF_TARBALL, else katran-bpf-*.tar.gz in $LBNET_PEERS_DIR,
# ../shared/peers or ../../shared/peers from the project's root `root` (a clone or a worktree).
# $1: the calling script's name, for the error message.
katran_peer() {
	tarball=${KATRAN_BPF_TARBALL:-}
	if [ -z "$tarball" ]; then
		for d in ${LBNET_PEERS_DIR:-} "$root/../shared/peers" "$root/../../shared/peers"; do
			for f in "$d"/katran-bpf-*.tar.gz; do [ -f "$f" ] && tarball=$f; done
			[ -n "$tarball" ] && break
		done
	fi
	if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
		echo "$1: no Katran tarball (set KATRAN_BPF_TARBALL or put katran-bpf-<commit>.tar.gz in ../shared/peers)" >&2
		exit 1
	fi
	commit=$(basename "$tarball" .tar.gz | sed 's/^katran-bpf-//')
	cache=${LBNET_PEER_CACHE:-$HOME/.cache/lbnet-peers}
}
