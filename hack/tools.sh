#!/usr/bin/env bash
# Builds the binaries that tests, the demo and code generation need, from the
# pinned tools modules under test/tools/, and links them into ./bin.
#
# Each binary is built once per version into a cache outside the checkout:
#   ${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}/bin/<name>/<version>/<name>
# so a fresh clone on a machine that built them before reuses them, and a
# fresh machine builds them once. ./bin holds only symlinks into that cache.
#
# Usage: hack/tools.sh [name...]   (default: every tool)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}
bindir="$root/bin"

# name | tools module | module whose version keys the cache | package
# A name ending in .test is a compiled test package (`go test -c`, build tag
# e2e): Argo Rollouts' own end-to-end suites, which `make conformance` runs.
tools=(
  "etcd|kube|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3"
  "kube-apiserver|kube|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kube-apiserver"
  "kube-controller-manager|kube|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kube-controller-manager"
  "kube-scheduler|kube|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kube-scheduler"
  "kubectl|kube|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kubectl"
  "kwok|kwok|sigs.k8s.io/kwok|sigs.k8s.io/kwok/cmd/kwok"
  "prometheus|prometheus|github.com/prometheus/prometheus|github.com/prometheus/prometheus/cmd/prometheus"
  "controller-gen|dev|sigs.k8s.io/controller-tools|sigs.k8s.io/controller-tools/cmd/controller-gen"
  "golangci-lint|dev|github.com/golangci/golangci-lint/v2|github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
  "ginkgo|dev|github.com/onsi/ginkgo/v2|github.com/onsi/ginkgo/v2/ginkgo"
  "helm|helm|helm.sh/helm/v4|helm.sh/helm/v4/cmd/helm"
  "argo-e2e.test|argo|github.com/argoproj/argo-rollouts|github.com/argoproj/argo-rollouts/test/e2e"
  "argo-rollouts|argo|github.com/argoproj/argo-rollouts|github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
  "kubectl-argo-rollouts|argo|github.com/argoproj/argo-rollouts|github.com/argoproj/argo-rollouts/cmd/kubectl-argo-rollouts"
)

# module_version prints the version a tools module's go.mod requires of a module.
module_version() {
  awk -v m="$2" '$1 == "require" { $1 = ""; $0 = $0 } $1 == m && $2 ~ /^v/ { print $2; exit }' "$root/test/tools/$1/go.mod"
}

wanted=("$@")
want() {
  [ ${#wanted[@]} -eq 0 ] && return 0
  local w
  for w in "${wanted[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

mkdir -p "$bindir"
for entry in "${tools[@]}"; do
  IFS='|' read -r name module keymod pkg <<<"$entry"
  want "$name" || continue
  version=$(module_version "$module" "$keymod")
  if [ -z "$version" ]; then
    echo "tools: test/tools/$module/go.mod does not require $keymod" >&2
    exit 1
  fi
  target="$cache/bin/$name/$version/$name"
  if [ ! -x "$target" ]; then
    echo "tools: building $name $version (first time on this machine; this can take a few minutes)..."
    start=$(date +%s)
    mkdir -p "$(dirname "$target")"
    # Build to a temporary name of this process's and rename, so an
    # interrupted build never leaves a half-written binary that looks
    # cached, and two builds at once (make demo beside make test) do not
    # trip over each other's file.
    if [[ $name == *.test ]]; then
      (cd "$root/test/tools/$module" && go test -c -tags e2e -o "$target.tmp.$$" "$pkg")
    else
      (cd "$root/test/tools/$module" && go build -o "$target.tmp.$$" "$pkg")
    fi
    mv -f "$target.tmp.$$" "$target"
    echo "tools: built $name $version in $(( $(date +%s) - start ))s"
  fi
  ln -sfn "$target" "$bindir/$name"
done
