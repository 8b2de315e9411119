# targetsync — common tasks. `make help` lists them.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/targetsync
IMAGE   ?= targetsync:$(VERSION)
GO      ?= go
export CGO_ENABLED ?= 0

.PHONY: help build test unit integration e2e bench vet fmt lint envtest image clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/targetsync with the version stamped in
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/targetsync

envtest: ## build the test kube-apiserver, etcd and kubectl into bin/k8s
	hack/setup-envtest.sh >/dev/null

test: envtest build vet ## everything CI runs: vet, unit, integration and deploy tests with -race
	@test "$$($(BIN) version)" = "targetsync $(VERSION)" || { echo "bin/targetsync version does not print $(VERSION)"; exit 1; }
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 30m ./...

unit: ## the fast tests: no API server, no moto
	CGO_ENABLED=1 $(GO) test -race -count=1 ./pkg/... ./cmd/...

integration: envtest ## the scenarios against kube-apiserver and moto
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" CGO_ENABLED=1 $(GO) test -race -count=1 -v ./test/integration/

e2e: integration ## same as integration

bench: envtest ## benchmarks: node join → target registered, sync cost
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" $(GO) test -run '^$$' -bench . -benchtime 20x ./test/integration/ ./pkg/...

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

lint: vet ## gofmt check and go vet (golangci-lint with .golangci.yml where installed)
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	@if command -v golangci-lint >/dev/null; then golangci-lint run; fi

image: ## build the container image (needs a container engine)
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

clean: ## remove built binaries (keeps the test control plane)
	rm -f $(BIN)
