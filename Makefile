# lbnet: top-level build. `make test` is what CI runs; `make demo` is the tour; `make bench`
# measures us against the peers. Each area adds its own targets in mk/*.mk by appending to the
# lists below, so areas do not edit each other's rules.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all

CARGO ?= cargo
PREFIX ?= /usr/local
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export CARGO_TERM_COLOR ?= never

# Debian packages the build, the tests and the demo need; scripts/install-deps.sh installs the
# missing ones.
APT_PACKAGES := build-essential pkg-config iproute2 clang llvm libbpf-dev valgrind
# Targets each area adds to `make test`, `make demo` and `make bench`.
TEST_TARGETS :=
DEMO_TARGETS :=
BENCH_TARGETS :=
# Kernel-lab test targets (mk/lab.mk runs them on every kernel line with `make test-kernels`).
LAB_TEST_TARGETS :=

include $(sort $(wildcard mk/*.mk))

.PHONY: all deps build lint fmt test test-unit demo bench clean
all: build

deps:
	@scripts/install-deps.sh $(APT_PACKAGES)

build: deps
	$(CARGO) build --release --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# Unit and host-kernel tests (netns on the host); kernel-lab tests are in TEST_TARGETS.
test-unit: deps
	$(CARGO) test --workspace

test: deps lint test-unit $(TEST_TARGETS)
	@echo "make test: all test groups passed"

demo: deps $(DEMO_TARGETS)

bench: deps $(BENCH_TARGETS)

clean:
	$(CARGO) clean
