# Go bindings (go/: module github.com/lbnet/lbnet/go). Owned by the go area. The real Seesaw on
# lbnet (examples/seesaw/) is in mk/seesaw.mk.
#
#   make test-go-host   gofmt + go vet + go test -race of every Go package on the host (the
#                       kernel tests skip loudly there: the host has no IPVS; the no-IPVS error
#                       path is tested instead), and go/ipvs's allocation test without -race
#   make test-lab-go    the race-enabled test binary of go/ipvs (and one without the race
#                       detector for the allocation count), run in the kernel lab (one boot)

GO ?= go
GO_LAB_RUN ?= $(ROOT)/lab/run
# one directory per kernel line: make test-kernels runs the lines concurrently
GO_OUT := $(ROOT)/target/go$(if $(LAB_KERNEL),/lab-$(LAB_KERNEL))

.PHONY: test-go-host test-lab-go

test-go-host: build
	@out=$$(cd go && gofmt -l . && cd ../examples/seesaw && gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	cd go && $(GO) vet ./...
	cd go && $(GO) test -race -count=1 ./...
	cd go && $(GO) test -count=1 -run Allocation ./ipvs

test-lab-go: build
	mkdir -p $(GO_OUT)
	cd go && $(GO) test -c -race -o $(GO_OUT)/ipvs.test ./ipvs
	cd go && $(GO) test -c -o $(GO_OUT)/ipvs-norace.test ./ipvs
	$(GO_LAB_RUN) $(ROOT)/go/lab-test.sh $(GO_OUT)

TEST_TARGETS += test-go-host test-lab-go
LAB_TEST_TARGETS += test-lab-go
