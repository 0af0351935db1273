# GoBGP's gRPC API in examples/gobgp-export: the daemon serves GoBGP's GoBgpService (stock `gobgp`
# works against it) and our NetlinkService (examples/gobgp-export/api/netlink.proto) on one gRPC
# server. The Go code generated from the .proto is checked in; `make gobgp-api-proto`
# regenerates it with pinned generators (protoc from Debian, protoc-gen-go and
# protoc-gen-go-grpc from the Go module proxy, the versions whose runtime GoBGP v4.8.0 already
# pulls in: google.golang.org/protobuf v1.36.11, grpc v1.82.1), and `make test-gobgp-api-proto`
# fails when the checked-in code differs from what they generate (only the protoc version line
# of the header is ignored). `make test-gobgp-api` runs it and the unit tests; the e2e of the
# API is in `make test-route-e2e` (mk/route.mk).

APT_PACKAGES += protobuf-compiler
PROTOC_GEN_GO_VERSION ?= v1.36.11
PROTOC_GEN_GO_GRPC_VERSION ?= v1.5.1
GOBGP_API_PROTOGEN := $(ROOT)/target/protogen-$(PROTOC_GEN_GO_VERSION)-$(PROTOC_GEN_GO_GRPC_VERSION)
GOBGP_API_DIR := $(ROOT)/examples/gobgp-export/api
# protoc OUT_DIR: generate netlink.proto's Go code into OUT_DIR.
gobgp_api_protoc = protoc --plugin=protoc-gen-go=$(GOBGP_API_PROTOGEN)/protoc-gen-go \
	--plugin=protoc-gen-go-grpc=$(GOBGP_API_PROTOGEN)/protoc-gen-go-grpc -I $(GOBGP_API_DIR) \
	--go_out=$(1) --go_opt=paths=source_relative \
	--go-grpc_out=$(1) --go-grpc_opt=paths=source_relative netlink.proto

# The daemon's `version` command: our version (the workspace's, from Cargo.toml) and the commit
# (`git describe --dirty`), stamped by -ldflags -X; GoBGP's version comes from the binary's
# build information.
GOBGP_EXPORT_VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' $(ROOT)/Cargo.toml | head -n1)
GOBGP_EXPORT_LDFLAGS = -X main.version=$(GOBGP_EXPORT_VERSION) \
	-X main.commit=$(shell git -C $(ROOT) describe --always --dirty --abbrev=40 2>/dev/null)

.PHONY: gobgp-api-protogen gobgp-api-proto test-gobgp-api-proto
gobgp-api-protogen:
	@command -v protoc >/dev/null || { echo "protoc missing: make deps (apt protobuf-compiler)"; exit 1; }
	@test -x $(GOBGP_API_PROTOGEN)/protoc-gen-go -a -x $(GOBGP_API_PROTOGEN)/protoc-gen-go-grpc || { \
	  rm -rf $(GOBGP_API_PROTOGEN).tmp && \
	  GOBIN=$(GOBGP_API_PROTOGEN).tmp go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION) && \
	  GOBIN=$(GOBGP_API_PROTOGEN).tmp go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION) && \
	  rm -rf $(GOBGP_API_PROTOGEN) && mv $(GOBGP_API_PROTOGEN).tmp $(GOBGP_API_PROTOGEN); }

gobgp-api-proto: gobgp-api-protogen
	$(call gobgp_api_protoc,$(GOBGP_API_DIR))

test-gobgp-api-proto: gobgp-api-protogen
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  $(call gobgp_api_protoc,$$tmp); \
	  for f in netlink.pb.go netlink_grpc.pb.go; do \
	    diff -u -I '^//[[:space:]]*-\{0,1\}[[:space:]]*protoc[[:space:]]' $(GOBGP_API_DIR)/$$f $$tmp/$$f || \
	      { echo "test-gobgp-api-proto: examples/gobgp-export/api/$$f is stale: run make gobgp-api-proto"; exit 1; }; \
	  done; echo "test-gobgp-api-proto: generated code up to date"

# The API's unit tests (examples/gobgp-export/grpcapi_test.go: the dispatcher on a gRPC server
# where NetlinkService is not registered, UNAVAILABLE before the engine starts, the CLI's
# command line), after the stale-code check.
.PHONY: test-gobgp-api
test-gobgp-api: test-gobgp-api-proto
	$(CARGO) build --release -p ipvs_ffi
	cd examples/gobgp-export && test -z "$$(gofmt -l .)" && go vet . && go test -count=1 .

TEST_TARGETS += test-gobgp-api
