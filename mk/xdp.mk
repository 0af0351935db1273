# XDP load balancer: the BPF program in bpf/ is built by core/build.rs with clang; its tests
# (core/tests/xdp_*.rs) run in `cargo test --workspace` as root against the host kernel.
APT_PACKAGES += clang llvm libbpf-dev
