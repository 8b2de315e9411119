# targetsync — common tasks. `make help` lists them.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/targetsync
IMAGE   ?= targetsync:$(VERSION)
GO      ?= go
PROMETHEUS_VERSION ?= v0.316.0
export CGO_ENABLED ?= 0

.PHONY: help build test unit integration e2e bench vet fmt lint envtest promtool setup alerts deploy-test prometheusrule measure-rss image clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/targetsync with the version stamped in
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/targetsync

envtest: ## build the test kube-apiserver, etcd and kubectl into bin/k8s
	hack/setup-envtest.sh >/dev/null

promtool: ## build promtool into bin/promtool (checks the alerting rules)
	PROMETHEUS_VERSION=$(PROMETHEUS_VERSION) hack/setup-promtool.sh >/dev/null

setup: envtest promtool ## build every test tool into bin/ (first time: 20-25 min on 2 cores)

test: envtest promtool build vet ## everything CI runs: vet, unit, integration and deploy tests with -race
	@test "$$($(BIN) version)" = "targetsync $(VERSION)" || { echo "bin/targetsync version does not print $(VERSION)"; exit 1; }
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 30m ./...

unit: ## the fast tests: no API server, no moto
	CGO_ENABLED=1 $(GO) test -race -count=1 ./pkg/... ./cmd/...

integration: envtest ## the scenarios against kube-apiserver and moto (also: make e2e)
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" CGO_ENABLED=1 $(GO) test -race -count=1 -v ./test/integration/

e2e: integration

deploy-test: envtest promtool ## manifests, alerts, dashboard, IAM policy, Dockerfile
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" CGO_ENABLED=1 $(GO) test -race -count=1 -v ./test/deploy/

alerts: promtool ## check and unit-test the alerting rules
	"$$(hack/setup-promtool.sh)" check rules deploy/prometheus/alerts.yaml
	"$$(hack/setup-promtool.sh)" test rules deploy/prometheus/alerts_test.yaml

prometheusrule: ## regenerate deploy/manifests/prometheusrule.yaml from alerts.yaml
	$(GO) test ./test/deploy -run TestPrometheusRuleMatchesAlerts -update

measure-rss: envtest ## re-measure the resident memory the Deployment's requests are sized from
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" $(GO) test -tags measure -run TestMeasureRSS -v -timeout 20m ./test/deploy/

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
