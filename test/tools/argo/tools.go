//go:build tools

// Package tools pins what hack/tools.sh builds from Argo Rollouts' module:
// its controller and kubectl plugin, and what its end-to-end suites import,
// so that `go mod tidy` keeps every module they need in go.sum. The suites
// themselves are test files of github.com/argoproj/argo-rollouts/test/e2e,
// compiled with `go test -c -tags e2e` from the module cache.
package tools

import (
	_ "github.com/argoproj/argo-rollouts/cmd/kubectl-argo-rollouts"
	_ "github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
	_ "github.com/argoproj/argo-rollouts/controller"
	_ "github.com/argoproj/argo-rollouts/rollout/trafficrouting/apisix"
	_ "github.com/argoproj/argo-rollouts/rollout/trafficrouting/istio"
	_ "github.com/argoproj/argo-rollouts/test/fixtures"
	_ "github.com/argoproj/argo-rollouts/utils/conditions"
	_ "github.com/argoproj/argo-rollouts/utils/ingress"
	_ "github.com/argoproj/argo-rollouts/utils/plugin/types"
	_ "github.com/stretchr/testify/assert"
	_ "github.com/stretchr/testify/suite"
	_ "github.com/tj/assert"
	_ "go.yaml.in/yaml/v2"
)
