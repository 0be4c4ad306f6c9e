//go:build tools

// Package tools pins the Argo Rollouts kubectl plugin for hack/tools.sh.
package tools

import _ "github.com/argoproj/argo-rollouts/cmd/kubectl-argo-rollouts"
