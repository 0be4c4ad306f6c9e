package install_test

import (
	. "github.com/onsi/ginkgo/v2"
)

// The chart's documented toggles, each as a user's values file. Every one
// must lint clean and render objects the API accepts; chart_test.go checks
// what each one changes.
const (
	defaults   = ``
	namespaced = `namespaced: true`
	// Namespaced, with nothing cluster-scoped left to authorise: no metrics
	// authentication either.
	namespacedHTTP = `
namespaced: true
metrics: {secure: false}`
	applicationOff   = `controllers: {application: false}`
	notificationsOff = `notifications: {enabled: false}`
	analysisrunOnly  = `controllers: {rollout: false, experiment: false, application: false}`
	rolloutOnly      = `controllers: {experiment: false, analysisrun: false, application: false}`
	applicationOnly  = `controllers: {rollout: false, experiment: false, analysisrun: false}`
	experimentOnly   = `controllers: {rollout: false, analysisrun: false, application: false}`
	twoReplicas      = `replicas: 2`
	sharded          = `sharding: {shards: [a, b]}`
	shardedHA        = `
replicas: 2
sharding: {shards: [eu-1]}`
	noCRDs             = `crds: {install: false}`
	crdsNotKept        = `crds: {keep: false}`
	fluxCRDs           = `flux: {crds: {install: true}}`
	fluxOn             = `flux: {serve: on}`
	writeAll           = `application: {writeAll: true}`
	namespacedWriteAll = `
namespaced: true
application: {writeAll: true}`
	// writeAll asks for a role the Application controller would use; with
	// the controller off there is nothing to grant.
	writeAllWithoutApplication = `
controllers: {application: false}
application: {writeAll: true}`
	metricsHTTP        = `metrics: {secure: false}`
	serviceMonitor     = `metrics: {serviceMonitor: {enabled: true, labels: {release: prometheus}, interval: 30s}}`
	serviceMonitorHTTP = `
metrics:
  secure: false
  serviceMonitor: {enabled: true}`
	serviceMonitorTokenSecret = `
metrics:
  serviceMonitor:
    enabled: true
    bearerTokenSecret: {name: prometheus-token, key: token}`
	receiver           = `application: {webhook: {enabled: true}}`
	receiverWithSecret = `application: {webhook: {enabled: true, secretName: sluice-push, secretKey: github}}`
	dashboards         = `metrics: {dashboards: {enabled: true}}`
	everyFlag          = `
instanceID: blue
prometheusAddress: http://prometheus.monitoring:9090
log: {level: debug, encoder: console}
leaderElection: {leaseDuration: 30s, renewDeadline: 20s, retryPeriod: 5s}
application:
  defaultServiceAccount: tenant
  namespaceLock: true
  namespaceLockExempt: [platform, flux-system]
  concurrency: 8
  allowRemoteBases: true
  gitMaxSize: 512Mi
  gitCacheSizeLimit: 4Gi
extraArgs: [--leader-election-id=sluice-blue]
extraEnv:
- {name: HTTPS_PROXY, value: "http://proxy:3128"}`
	placement = `
image: {repository: registry.example/sluice, tag: v9.9.9, pullPolicy: Always}
imagePullSecrets: [{name: regcred}]
serviceAccount: {create: false, name: platform-sluice}
podAnnotations: {example.com/team: platform}
podLabels: {example.com/tier: control}
priorityClassName: system-cluster-critical
nodeSelector: {kubernetes.io/os: linux}
tolerations:
- {key: dedicated, operator: Equal, value: control, effect: NoSchedule}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}
topologySpreadConstraints:
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: DoNotSchedule
  labelSelector: {matchLabels: {app.kubernetes.io/name: sluice}}
resources: {requests: {cpu: 50m, memory: 64Mi}}`
)

// toggleEntries lists every toggle for a DescribeTable.
func toggleEntries() []TableEntry {
	return []TableEntry{
		Entry("defaults", defaults),
		Entry("namespaced", namespaced),
		Entry("namespaced, metrics over HTTP", namespacedHTTP),
		Entry("application controller off", applicationOff),
		Entry("notifications off", notificationsOff),
		Entry("analysisrun controller only", analysisrunOnly),
		Entry("rollout controller only", rolloutOnly),
		Entry("application controller only", applicationOnly),
		Entry("experiment controller only", experimentOnly),
		Entry("two replicas", twoReplicas),
		Entry("two shards", sharded),
		Entry("a shard, two replicas each", shardedHA),
		Entry("CRDs not installed", noCRDs),
		Entry("CRDs not kept", crdsNotKept),
		Entry("Flux's CRDs", fluxCRDs),
		Entry("Flux served always", fluxOn),
		Entry("application.writeAll", writeAll),
		Entry("namespaced, application.writeAll", namespacedWriteAll),
		Entry("application.writeAll with the application controller off", writeAllWithoutApplication),
		Entry("metrics over HTTP", metricsHTTP),
		Entry("ServiceMonitor", serviceMonitor),
		Entry("ServiceMonitor over HTTP", serviceMonitorHTTP),
		Entry("ServiceMonitor with a token Secret", serviceMonitorTokenSecret),
		Entry("push receiver", receiver),
		Entry("push receiver with a shared secret", receiverWithSecret),
		Entry("Grafana dashboards", dashboards),
		Entry("every manager setting", everyFlag),
		Entry("image and placement", placement),
	}
}
