# targetsync — common tasks. `make help` lists them.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/targetsync
IMAGE   ?= targetsync:$(VERSION)
GO      ?= go
PROMETHEUS_VERSION ?= v0.316.0
export CGO_ENABLED ?= 0
# -race needs cgo and a C compiler: make unit runs without it where there is none; make test
# requires one (hack/check-prereqs.sh).
RACE = $(if $(shell command -v gcc 2>/dev/null),-race)

# Prerequisites are checked when make reads this file, before any recipe runs, so a missing tool
# stops `make lint test` at once with the command that installs it, never half-way through a
# build. The goals that start moto_server or use -race need Go, gcc and moto; the others Go only.
PREREQS_FULL := test demo integration e2e deploy-test bench
ifneq ($(filter $(PREREQS_FULL),$(MAKECMDGOALS)),)
  PREREQS := go gcc moto
else ifneq ($(filter-out help clean,$(MAKECMDGOALS)),)
  PREREQS := go
endif
ifdef PREREQS
  ifneq ($(shell hack/check-prereqs.sh $(PREREQS) >&2 || echo missing),)
    $(error missing prerequisites: see above (hack/check-prereqs.sh $(PREREQS)))
  endif
endif

.PHONY: help build test unit integration e2e demo bench vet fmt lint envtest promtool helm-render golangci-lint setup alerts deploy-test manifests prometheusrule measure-rss image clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "make test (and plain go test ./...) runs every test. make unit builds with -tags nomoto,"
	@echo "which leaves out the files marked //go:build !nomoto: the moto-backed tests in pkg/ and"
	@echo "internal/. Nothing is skipped at run time: a test either is in the build or is not."
	@echo "Missing tools (Go, gcc, moto_server) stop make before it builds anything."

build: ## build bin/targetsync with the version stamped in
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/targetsync

envtest: ## build the test kube-apiserver, etcd and kubectl into bin/k8s
	hack/setup-envtest.sh >/dev/null

promtool: ## build promtool into bin/promtool (checks the alerting rules)
	PROMETHEUS_VERSION=$(PROMETHEUS_VERSION) hack/setup-promtool.sh >/dev/null

helm-render: ## build bin/helm-render: `helm template` from Helm's Go SDK (renders deploy/helm/targetsync)
	hack/setup-helm-render.sh >/dev/null

golangci-lint: ## build the pinned golangci-lint into bin/golangci-lint
	hack/setup-golangci-lint.sh >/dev/null

setup: envtest promtool helm-render golangci-lint ## build every test tool into bin/ (first time: about 20 min on 2 cores)

test: envtest promtool helm-render build vet ## vet, then every test (unit, moto, integration, deploy) with -race; CI runs make lint test
	@test "$$($(BIN) version)" = "targetsync $(VERSION)" || { echo "bin/targetsync version does not print $(VERSION)"; exit 1; }
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 30m ./...

unit: ## the fast tests, Go only: no API server, no moto (-tags nomoto; -race where gcc is)
	$(if $(RACE),,@echo "unit: no C compiler, running without -race")
	CGO_ENABLED=$(if $(RACE),1,0) $(GO) test -tags nomoto $(RACE) -count=1 ./pkg/... ./cmd/... ./internal/...

integration: envtest ## the scenarios against kube-apiserver and moto (also: make e2e)
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" CGO_ENABLED=1 $(GO) test -race -count=1 -v ./test/integration/

e2e: integration

demo: envtest build ## targetsync's whole job on a local kube-apiserver and moto; Ctrl-C ends it (DEMO_ARGS=--once: play and exit)
	$(GO) build -o bin/targetsync-demo ./cmd/targetsync-demo
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" bin/targetsync-demo $(DEMO_ARGS)

deploy-test: envtest promtool helm-render ## chart, manifests, alerts, dashboard, IAM policy, Dockerfile
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" CGO_ENABLED=1 $(GO) test -race -count=1 -v ./test/deploy/

alerts: promtool ## check and unit-test the alerting rules
	"$$(hack/setup-promtool.sh)" check rules deploy/prometheus/alerts.yaml
	"$$(hack/setup-promtool.sh)" test rules deploy/prometheus/alerts_test.yaml

manifests: helm-render ## regenerate deploy/manifests from deploy/helm/targetsync (and the chart's copies of the alerts and dashboard)
	$(GO) test -count=1 ./test/deploy -run '^TestManifestsAreGeneratedFromTheChart$$' -update

prometheusrule: manifests ## regenerate the PrometheusRule from alerts.yaml (part of make manifests)

measure-rss: envtest ## re-measure the resident memory the Deployment's requests are sized from
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" $(GO) test -tags measure -run TestMeasureRSS -v -timeout 20m ./test/deploy/

BENCH_NODES ?= 1000
BENCH_OUT   ?= bin/bench.json
bench: envtest build ## the real binary at BENCH_NODES nodes (default 1000): latency, AWS calls, RSS, CPU -> table and $(BENCH_OUT); then the Go benchmarks
	$(GO) build -o bin/targetsync-bench ./cmd/targetsync-bench
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" bin/targetsync-bench -nodes $(BENCH_NODES) -out $(BENCH_OUT) $(BENCH_ARGS)
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...

vet: ## go vet
	$(GO) vet ./...

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

lint: vet golangci-lint ## gofmt check, go vet and golangci-lint (pinned, .golangci.yml)
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	"$$(hack/setup-golangci-lint.sh)" run ./...

image: ## build the container image (needs a container engine)
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

clean: ## remove built binaries (keeps the test control plane)
	rm -f $(BIN)
