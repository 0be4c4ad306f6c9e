# Sluice's front door. `make help` lists the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin
export SLUICE_BIN_DIR := $(BIN)
# envtest finds kube-apiserver and etcd here.
export KUBEBUILDER_ASSETS := $(BIN)
# Every build is static, as the image needs: tests, the binaries the suites
# run and the image then share one build cache, so a cold machine compiles
# each dependency once, not once per cgo setting.
export CGO_ENABLED := 0

CONTROLLER_GEN := $(BIN)/controller-gen
GINKGO := $(BIN)/ginkgo
GOLANGCI_LINT := $(BIN)/golangci-lint

# Argo Rollouts' API types, imported from the module at the version go.mod pins.
ARGO_TYPES := github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1
# Flux's GitRepository and Kustomization types, likewise. Their CRDs go to
# config/crd/flux and the chart's files/crds-flux, installed only on demand:
# a cluster that runs Flux has them already.
FLUX_TYPES := github.com/fluxcd/source-controller/api/v1;github.com/fluxcd/kustomize-controller/api/v1
FLUX_CRDS := source.toolkit.fluxcd.io_gitrepositories.yaml kustomize.toolkit.fluxcd.io_kustomizations.yaml

# Test tiers, run in this order by `make test`. Unit suites are every package
# outside test/integration and test/e2e. Each tier writes a JSON report that
# `make test` sums into one closing line.
GINKGO_FLAGS ?= --keep-going --timeout=60m
UNIT_SKIP := integration,e2e
REPORTS := $(CURDIR)/.reports

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: tools
tools: ## Build every tool and control-plane binary that is not cached yet.
	@hack/tools.sh

# Chromium comes from the distribution's packages (hack/chromium.sh): the
# dashboard's browser tests drive it headless.
.PHONY: test-tools
test-tools:
	@hack/tools.sh etcd kube-apiserver kube-controller-manager kube-scheduler kwok prometheus ginkgo helm kubectl-argo-rollouts
	@hack/chromium.sh

# What test-integration runs: envtest's kube-apiserver and etcd,
# kube-controller-manager for its garbage collector, Prometheus for the
# provider suite (test/promtest), and ginkgo.
.PHONY: integration-tools
integration-tools:
	@hack/tools.sh etcd kube-apiserver kube-controller-manager prometheus ginkgo

.PHONY: generate
generate: ## Generate deepcopy code for apis/.
	@hack/tools.sh controller-gen
	$(CONTROLLER_GEN) object paths=./apis/...

# The controllers whose RBAC markers `make manifests` turns into a role each
# (config/rbac/<name>_role.yaml, ClusterRole sluice-<name>): the names
# --controllers takes.
RBAC_CONTROLLERS := rollout experiment analysisrun application notifications
# The chart's copies of the CRDs and roles, so it renders the very rules and
# schemas config/ holds; Helm reads files only from inside a chart.
CHART_FILES := charts/sluice/files

.PHONY: manifests
manifests: ## Generate CRDs (ours and Argo's) and RBAC into config/, and copy them into the chart.
	@hack/tools.sh controller-gen
	rm -f config/crd/bases/*.yaml
	$(CONTROLLER_GEN) crd:crdVersions=v1 paths=./apis/... output:crd:dir=config/crd/bases
	# Argo's CRDs without descriptions, as Argo Rollouts publishes them: with
	# the pod template's documentation each is over 500 KB, too large for a
	# Helm release (1 MiB in all) or a client-side kubectl apply (256 KiB).
	$(CONTROLLER_GEN) crd:crdVersions=v1,maxDescLen=0 paths=$(ARGO_TYPES) output:crd:dir=config/crd/bases
	go run ./hack/crdpatch config/crd/bases
	# Argo CD's Application kind, served by the same engine and type on a
	# cluster without Argo CD: optional, never in config/crd's default set,
	# since a cluster running Argo CD has its own.
	go run ./hack/crdpatch argocd-application config/crd/bases/gitops.sluice.dev_applications.yaml config/crd/argocd/argoproj.io_applications.yaml
	# Flux's package source/v1 holds more kinds than Sluice serves: keep two.
	rm -rf $(BIN)/flux-crds config/crd/flux/*_*.yaml
	$(CONTROLLER_GEN) crd:crdVersions=v1 paths="$(FLUX_TYPES)" output:crd:dir=$(BIN)/flux-crds
	for f in $(FLUX_CRDS); do cp $(BIN)/flux-crds/$$f config/crd/flux/; done
	$(CONTROLLER_GEN) rbac:roleName=sluice-manager,fileName=manager_role.yaml,headerFile=hack/rbac.header.yaml paths=./controllers output:rbac:dir=config/rbac
	# The application role also holds the GitRepository controller's rules:
	# it runs beside the Application controller (--flux).
	for c in $(RBAC_CONTROLLERS); do \
		paths="./controllers/$$c/..."; [ $$c != application ] || paths="$$paths;./controllers/fluxsource/..."; \
		$(CONTROLLER_GEN) rbac:roleName=sluice-$$c,fileName=$${c}_role.yaml,headerFile=hack/rbac.header.yaml paths="$$paths" output:rbac:dir=config/rbac; \
	done
	rm -rf $(CHART_FILES)/crds $(CHART_FILES)/crds-argocd $(CHART_FILES)/crds-flux $(CHART_FILES)/rbac
	mkdir -p $(CHART_FILES)/crds $(CHART_FILES)/crds-argocd $(CHART_FILES)/crds-flux $(CHART_FILES)/rbac
	cp config/crd/bases/*.yaml $(CHART_FILES)/crds/
	cp config/crd/argocd/*.yaml $(CHART_FILES)/crds-argocd/
	cp config/crd/flux/*_*.yaml $(CHART_FILES)/crds-flux/
	cp config/rbac/*_role.yaml config/rbac/application_write_all.yaml $(CHART_FILES)/rbac/

.PHONY: verify
verify: generate manifests ## Fail if generated files are stale.
	@if [ -n "$$(git status --porcelain -- apis config charts)" ]; then \
		git status --short -- apis config charts; git --no-pager diff --stat -- apis config charts; \
		echo "generated files are stale: run 'make generate manifests' and commit the result"; exit 1; fi

.PHONY: fmt
fmt: ## Format the code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: lint
lint: ## Run golangci-lint.
	@hack/tools.sh golangci-lint
	$(GOLANGCI_LINT) run ./...

# What `sluice --version` and `kubectl sluice version` say: the nearest tag
# (or the commit) of this checkout, and its commit.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
VERSION_PKG := github.com/sluicehq/sluice/internal/version
LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT)

.PHONY: build
build: ## Build the manager and the simcluster command into bin/.
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/sluice ./cmd/sluice
	go build -o $(BIN)/simcluster ./test/cmd/simcluster

# The manager's image (docs/image.md): a static binary on an empty base. Its
# files and created time are SOURCE_DATE_EPOCH, by default the commit's time,
# so a commit builds one digest. `GOARCH=arm64 make image` builds for arm64;
# hack/image itself runs on the host (GOOS= GOARCH=). CA_BUNDLE names the PEM
# file of CA certificates to put in it (default: this machine's).
IMAGE ?= ghcr.io/sluicehq/sluice:$(VERSION)
IMAGE_DIR := $(BIN)/image
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

.PHONY: image
image: ## Build the manager's OCI image into bin/image/ (no Docker daemon needed).
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(IMAGE_DIR)/sluice ./cmd/sluice
	GOOS= GOARCH= SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) go run ./hack/image --binary $(IMAGE_DIR)/sluice \
		--version $(VERSION) --commit $(COMMIT) --image $(IMAGE) \
		--oci $(IMAGE_DIR)/oci --tarball $(IMAGE_DIR)/sluice.tar $(if $(CA_BUNDLE),--ca-bundle $(CA_BUNDLE))

##@ Tests

.PHONY: test
test: test-tools ## Run unit, integration and end-to-end tests, in that order.
	rm -rf $(REPORTS)
	$(MAKE) --no-print-directory test-unit test-integration test-e2e
	@go run ./hack/testsummary $(REPORTS)/*.json

.PHONY: test-unit
test-unit: ## Unit suites: pure logic, no cluster.
	@echo "=== unit tests"
	$(GINKGO) -r $(GINKGO_FLAGS) --skip-package=$(UNIT_SKIP) --output-dir=$(REPORTS) --json-report=unit.json .

.PHONY: test-integration
test-integration: integration-tools ## Integration suites against a real kube-apiserver (envtest) and a real Prometheus.
	@echo "=== integration tests"
	$(GINKGO) -r -v $(GINKGO_FLAGS) --output-dir=$(REPORTS) --json-report=integration.json test/integration

.PHONY: test-e2e
test-e2e: ## End-to-end suites on the simulated cluster.
	@echo "=== end-to-end tests"
	$(GINKGO) -r -v $(GINKGO_FLAGS) --output-dir=$(REPORTS) --json-report=e2e.json test/e2e

# The dashboard's browser specs (Ginkgo label `dashboard`) save their
# screenshots into $(SCREENSHOTS); this target runs them alone and copies the
# screenshots into the docs.
SCREENSHOTS := $(REPORTS)/screenshots
DASHBOARD_IMAGES := docs/images/dashboard

.PHONY: dashboard-screenshots
dashboard-screenshots: test-tools ## Run the dashboard's browser specs and copy their screenshots into docs/images/dashboard/.
	rm -rf $(SCREENSHOTS)
	SLUICE_SCREENSHOTS=$(SCREENSHOTS) $(GINKGO) -v $(GINKGO_FLAGS) --label-filter=dashboard --output-dir=$(REPORTS) --json-report=dashboard.json test/e2e
	mkdir -p $(DASHBOARD_IMAGES)
	cp $(SCREENSHOTS)/*.png $(DASHBOARD_IMAGES)/

# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 60s

.PHONY: fuzz
fuzz: ## Run every fuzz target, one after another, for FUZZTIME (default 60s) each.
	@for file in $$(git grep -l '^func Fuzz' -- '*_test.go'); do \
		pkg=./$$(dirname $$file); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "=== $$target in $$pkg for $(FUZZTIME)"; \
			go test $$pkg -run XXX -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) || exit 1; \
		done; \
	done

.PHONY: plugin
plugin: ## Build kubectl-sluice into bin/; put bin/ on PATH to run `kubectl sluice`.
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/kubectl-sluice ./cmd/kubectl-sluice

# Extra flags for make bench, e.g. BENCH_FLAGS='--sizes 100 --idle 10s' or
# BENCH_FLAGS='--only gitops --steady 10s --apps 10 --pushes 5'.
BENCH_FLAGS ?=

.PHONY: bench
bench: ## Measure Sluice beside Argo Rollouts at 100, 400 and 1000 Rollouts, and the GitOps syncer beside kubectl; rewrite docs/performance.md's tables and charts.
	@hack/tools.sh etcd kube-apiserver kube-controller-manager kube-scheduler kwok argo-rollouts kubectl
	go run ./test/cmd/bench $(BENCH_FLAGS)

.PHONY: bench-gitops
bench-gitops: ## make bench's GitOps suite alone: the syncer against kubectl apply, and commit-to-canary latency.
	@$(MAKE) --no-print-directory bench BENCH_FLAGS='--only=gitops $(BENCH_FLAGS)'

##@ Run

.PHONY: cluster-up
cluster-up: test-tools build ## Start a simulated cluster in the background.
	$(BIN)/simcluster up

.PHONY: cluster-down
cluster-down: ## Stop the simulated cluster.
	@if [ -x $(BIN)/simcluster ]; then $(BIN)/simcluster down; fi

.PHONY: demo
demo: test-tools build ## Run the simulated cluster and the manager until Ctrl-C.
	go build -o $(BIN)/demo ./test/cmd/demo
	$(BIN)/demo

##@ Conformance

# Argo Rollouts' own e2e suites read their manifests relative to their
# package's directory in the module cache.
ARGO_E2E_DIR_CMD := cd test/tools/argo && go mod download github.com/argoproj/argo-rollouts && go list -m -f '{{.Dir}}' github.com/argoproj/argo-rollouts
# Extra flags for the runner, e.g. CONFORMANCE_FLAGS='--only Canary --parallel 1'.
CONFORMANCE_FLAGS ?=

.PHONY: conformance
conformance: test-tools build ## Run Argo Rollouts' own e2e suites against Sluice; fail when a test expected to pass does not.
	@hack/tools.sh argo-e2e.test
	go run ./test/cmd/conformance --tests $(BIN)/argo-e2e.test --sluice $(BIN)/sluice \
		--argo-dir "$$($(ARGO_E2E_DIR_CMD))/test/e2e" $(CONFORMANCE_FLAGS)

.PHONY: conformance-docs
conformance-docs: ## Rewrite docs/compatibility.md's conformance table from test/cmd/conformance/expected.yaml.
	go run ./test/cmd/conformance --docs docs/compatibility.md
