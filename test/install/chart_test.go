package install_test

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// applicationFlags are the manager flags only the Application controller
// reads.
var applicationFlags = []string{
	"--git-cache-dir", "--git-max-size", "--allow-remote-bases", "--application-concurrency",
	"--default-service-account", "--namespace-lock", "--namespace-lock-exempt",
	"--webhook-bind-address", "--webhook-secret-file",
}

// selectorLabels select the manager's pods of release "sluice".
var selectorLabels = map[string]string{
	"app.kubernetes.io/name":     "sluice",
	"app.kubernetes.io/instance": releaseName,
}

// controllerRoles are the roles of each controller, by name.
var controllerRoles = []string{"sluice-rollout", "sluice-experiment", "sluice-analysisrun", "sluice-application"}

var _ = Describe("the chart's default install", func() {
	var m manifest
	BeforeEach(func() { m = render(defaults) })

	It("runs every controller, electing a leader in the release namespace", func() {
		Expect(argsOf(m)).To(Equal([]string{
			"--controllers=rollout,experiment,analysisrun,application",
			"--leader-elect=true",
			"--leader-election-namespace=sluice-system",
			"--leader-election-lease-duration=15s",
			"--leader-election-renew-deadline=10s",
			"--leader-election-retry-period=2s",
			"--notifications=true",
			"--notifications-namespace=sluice-system",
			"--health-probe-bind-address=:8081",
			"--metrics-bind-address=:8443",
			"--metrics-secure=true",
			"--zap-log-level=info",
			"--zap-encoder=json",
			"--git-cache-dir=/var/cache/sluice/git",
			"--git-max-size=1Gi",
			"--application-concurrency=4",
		}))
		Expect(deploymentOf(m).Spec.Replicas).To(Equal(ptr.To[int32](1)))
		Expect(managerOf(m).Image).To(Equal("ghcr.io/sluicehq/sluice:v0.1.0"), "the tag is the chart's appVersion")
	})

	It("runs the manager as a non-root user that can change nothing on its own filesystem", func() {
		pod := deploymentOf(m).Spec.Template.Spec
		Expect(pod.AutomountServiceAccountToken).To(Equal(ptr.To(true)))
		Expect(pod.ServiceAccountName).To(Equal("sluice"))
		Expect(pod.SecurityContext.RunAsNonRoot).To(Equal(ptr.To(true)))
		Expect(pod.SecurityContext.RunAsUser).To(Equal(ptr.To[int64](65532)))
		Expect(pod.SecurityContext.RunAsGroup).To(Equal(ptr.To[int64](65532)))
		Expect(pod.SecurityContext.SeccompProfile).To(Equal(&corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}))

		sc := managerOf(m).SecurityContext
		Expect(sc).NotTo(BeNil())
		Expect(sc.RunAsNonRoot).To(Equal(ptr.To(true)))
		Expect(sc.RunAsUser).To(Equal(ptr.To[int64](65532)))
		Expect(sc.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))
		Expect(sc.AllowPrivilegeEscalation).To(Equal(ptr.To(false)))
		Expect(sc.Privileged).To(BeNil())
		Expect(sc.Capabilities).To(Equal(&corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}))
		Expect(sc.SeccompProfile).To(Equal(&corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}))
	})

	It("gives the read-only manager writable scratch space: /tmp and the Git cache", func() {
		manager := managerOf(m)
		Expect(manager.Env).To(ContainElement(corev1.EnvVar{Name: "TMPDIR", Value: "/tmp"}))
		Expect(manager.VolumeMounts).To(ConsistOf(
			corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"},
			corev1.VolumeMount{Name: "git-cache", MountPath: "/var/cache/sluice/git"},
		))
		Expect(deploymentOf(m).Spec.Template.Spec.Volumes).To(ConsistOf(
			corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			corev1.Volume{Name: "git-cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		))
		Expect(manager.Args).To(ContainElement("--git-cache-dir=/var/cache/sluice/git"))
	})

	It("probes health and readiness on the probe port, and limits memory", func() {
		manager := managerOf(m)
		Expect(manager.Ports).To(ContainElement(corev1.ContainerPort{Name: "health", ContainerPort: 8081, Protocol: corev1.ProtocolTCP}))
		Expect(manager.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
		Expect(manager.LivenessProbe.HTTPGet.Port).To(Equal(intstr.FromString("health")))
		Expect(manager.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
		Expect(manager.ReadinessProbe.HTTPGet.Port).To(Equal(intstr.FromString("health")))
		Expect(manager.Resources.Requests).NotTo(BeEmpty())
		Expect(manager.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
	})

	It("binds each controller's role, the manager's and the metrics authentication's to the service account", func() {
		Expect(m.names("ClusterRole")).To(ConsistOf(
			"ClusterRole/sluice-rollout", "ClusterRole/sluice-experiment", "ClusterRole/sluice-analysisrun", "ClusterRole/sluice-application",
			"ClusterRole/sluice-manager", "ClusterRole/sluice-metrics-auth", "ClusterRole/sluice-metrics-reader"))
		Expect(m.names("Role")).To(ConsistOf("Role/sluice-leader-election", "Role/sluice-notifications"))
		expectBound(m, "ClusterRole", "sluice-rollout", "sluice-experiment", "sluice-analysisrun", "sluice-application", "sluice-manager", "sluice-metrics-auth")
		expectBound(m, "Role", "sluice-leader-election", "sluice-notifications")
	})

	It("lets the Application controller read every kind and write none with its own rights", func() {
		Expect(rolesWritingEverything(m)).To(BeEmpty())
		application := roleNamed(m, "ClusterRole", "sluice-application")
		Expect(application.rules).To(ContainElement(rbacv1.PolicyRule{
			APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}))
		Expect(application.rules).To(ContainElement(rbacv1.PolicyRule{
			APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}}))
	})

	It("serves metrics over HTTPS, through a Service, to callers bound to the metrics-reader role", func() {
		svc := serviceOf(m, "sluice-metrics")
		Expect(svc.Spec.Selector).To(Equal(selectorLabels))
		Expect(svc.Spec.Ports).To(Equal([]corev1.ServicePort{{
			Name: "https", Port: 8443, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP}}))
		Expect(managerOf(m).Ports).To(ContainElement(corev1.ContainerPort{Name: "metrics", ContainerPort: 8443, Protocol: corev1.ProtocolTCP}))
		Expect(roleNamed(m, "ClusterRole", "sluice-metrics-reader").rules).To(Equal([]rbacv1.PolicyRule{{
			NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}))
		Expect(roleNamed(m, "ClusterRole", "sluice-metrics-auth").rules).To(ConsistOf(
			rbacv1.PolicyRule{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
			rbacv1.PolicyRule{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
		))
	})

	It("installs the six CRDs, kept on uninstall", func() {
		Expect(m.names("CustomResourceDefinition")).To(ConsistOf(
			"CustomResourceDefinition/rollouts.argoproj.io",
			"CustomResourceDefinition/analysisruns.argoproj.io",
			"CustomResourceDefinition/analysistemplates.argoproj.io",
			"CustomResourceDefinition/clusteranalysistemplates.argoproj.io",
			"CustomResourceDefinition/experiments.argoproj.io",
			"CustomResourceDefinition/applications.gitops.sluice.dev",
		))
		for _, crd := range m.ofKind("CustomResourceDefinition") {
			Expect(crd.GetAnnotations()).To(HaveKeyWithValue("helm.sh/resource-policy", "keep"), crd.GetName())
			Expect(crd.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/name", "sluice"), crd.GetName())
		}
	})

	It("has no PodDisruptionBudget, spread, ServiceMonitor, dashboards or push receiver", func() {
		Expect(m.ofKind("PodDisruptionBudget", "ServiceMonitor", "ConfigMap")).To(BeEmpty())
		Expect(deploymentOf(m).Spec.Template.Spec.TopologySpreadConstraints).To(BeEmpty())
		Expect(m.names("Service")).To(ConsistOf("Service/sluice-metrics"))
		Expect(flagNames(argsOf(m))).NotTo(ContainElements("--webhook-bind-address", "--namespaced", "--namespace"))
	})
})

var _ = Describe("the chart in namespaced mode", func() {
	It("confines the manager to the release namespace", func() {
		args := argsOf(render(namespaced))
		Expect(args).To(ContainElements("--namespaced", "--namespace=sluice-system"))
	})

	It("turns every controller's role into a Role and RoleBinding there; only metrics authentication stays cluster-wide", func() {
		m := render(namespaced)
		Expect(m.names("ClusterRole")).To(ConsistOf("ClusterRole/sluice-metrics-auth", "ClusterRole/sluice-metrics-reader"))
		Expect(m.names("ClusterRoleBinding")).To(ConsistOf("ClusterRoleBinding/sluice-metrics-auth"))
		Expect(m.names("Role")).To(ConsistOf("Role/sluice-rollout", "Role/sluice-experiment", "Role/sluice-analysisrun", "Role/sluice-application",
			"Role/sluice-manager", "Role/sluice-leader-election", "Role/sluice-notifications"))
		expectBound(m, "Role", "sluice-rollout", "sluice-experiment", "sluice-analysisrun", "sluice-application", "sluice-manager", "sluice-leader-election",
			"sluice-notifications")
		for _, r := range rolesOf(m) {
			if r.kind == "Role" {
				Expect(r.namespace).To(Equal(releaseNamespace), r.name)
			}
		}
	})

	It("has nothing cluster-scoped but the CRDs when metrics are plain HTTP", func() {
		m := render(namespacedHTTP)
		Expect(m.ofKind("ClusterRole", "ClusterRoleBinding")).To(BeEmpty())
		for _, o := range m.objects {
			if o.GetKind() != "CustomResourceDefinition" {
				Expect(o.GetNamespace()).To(Equal(releaseNamespace), o.GetKind()+"/"+o.GetName())
			}
		}
	})

	It("grants application.writeAll as a Role of the release namespace", func() {
		m := render(namespacedWriteAll)
		Expect(rolesWritingEverything(m)).To(ConsistOf("Role/sluice-application-write-all"))
		expectBound(m, "Role", "sluice-application-write-all")
	})
})

var _ = Describe("the chart with notifications off", func() {
	It("turns them off in the manager and grants no read of the release namespace's ConfigMaps and Secrets", func() {
		m := render(notificationsOff)
		Expect(m.get("Role", "sluice-notifications")).To(BeNil())
		Expect(m.get("RoleBinding", "sluice-notifications")).To(BeNil())
		args := argsOf(m)
		Expect(args).To(ContainElement("--notifications=false"))
		Expect(flagNames(args)).NotTo(ContainElement("--notifications-namespace"))
	})
})

var _ = Describe("the chart with some controllers", func() {
	It("leaves no write on every kind, and no Application flag, with the application controller off", func() {
		for _, values := range []string{applicationOff, writeAllWithoutApplication} {
			m := render(values)
			Expect(rolesWritingEverything(m)).To(BeEmpty())
			Expect(m.get("ClusterRole", "sluice-application")).To(BeNil())
			Expect(m.get("ClusterRole", "sluice-application-write-all")).To(BeNil())
			args := argsOf(m)
			Expect(args).To(ContainElement("--controllers=rollout,experiment,analysisrun"))
			Expect(flagNames(args)).NotTo(ContainElements(applicationFlags))
			Expect(managerOf(m).VolumeMounts).To(ConsistOf(corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"}))
		}
	})

	DescribeTable("renders the roles of the enabled controllers only",
		func(values, controllers string, roles []string) {
			m := render(values)
			Expect(argsOf(m)).To(ContainElement("--controllers=" + controllers))
			var rendered []string
			for _, r := range rolesOf(m) {
				for _, c := range controllerRoles {
					if strings.HasPrefix(r.name, c) {
						rendered = append(rendered, r.name)
					}
				}
			}
			Expect(rendered).To(ConsistOf(roles))
			expectBound(m, "ClusterRole", roles...)
			// The manager's own roles whatever runs.
			expectBound(m, "ClusterRole", "sluice-manager")
			expectBound(m, "Role", "sluice-leader-election")
		},
		Entry("analysisrun", analysisrunOnly, "analysisrun", []string{"sluice-analysisrun"}),
		Entry("rollout", rolloutOnly, "rollout", []string{"sluice-rollout"}),
		Entry("application", applicationOnly, "application", []string{"sluice-application"}),
		Entry("experiment", experimentOnly, "experiment", []string{"sluice-experiment"}),
	)

	It("passes the Application flags only when the application controller runs", func() {
		Expect(flagNames(argsOf(render(applicationOnly)))).To(ContainElements("--git-cache-dir", "--git-max-size", "--application-concurrency"))
		Expect(flagNames(argsOf(render(analysisrunOnly)))).NotTo(ContainElements(applicationFlags))
	})
})

var _ = Describe("the chart's other toggles", func() {
	It("adds a PodDisruptionBudget and spreads replicas across nodes above one replica", func() {
		m := render(twoReplicas)
		Expect(deploymentOf(m).Spec.Replicas).To(Equal(ptr.To[int32](2)))
		pdb := pdbOf(m)
		Expect(pdb.Spec.MaxUnavailable).To(Equal(ptr.To(intstr.FromInt32(1))))
		Expect(pdb.Spec.Selector.MatchLabels).To(Equal(selectorLabels))
		spread := deploymentOf(m).Spec.Template.Spec.TopologySpreadConstraints
		Expect(spread).To(HaveLen(1))
		Expect(spread[0].TopologyKey).To(Equal("kubernetes.io/hostname"))
		Expect(spread[0].MaxSkew).To(Equal(int32(1)))
		Expect(spread[0].LabelSelector.MatchLabels).To(Equal(selectorLabels))
		Expect(deploymentOf(m).Spec.Template.Labels).To(Equal(selectorLabels), "the selectors must match the pods")
	})

	It("runs one manager Deployment per shard, the main one for the objects of no shard", func() {
		Expect(argsOf(render(defaults))).NotTo(ContainElement(HavePrefix("--watch-label-selector")), "no shards, one manager for all")
		m := render(sharded)
		Expect(m.ofKind("Deployment")).To(HaveLen(3))
		Expect(argsOf(m)).To(ContainElement("--watch-label-selector=!sharding.fluxcd.io/key"))
		Expect(deploymentOf(m).Spec.Selector.MatchLabels).To(Equal(selectorLabels), "the main Deployment's selector never changes")
		for _, shard := range []string{"a", "b"} {
			name := releaseName + "-shard-" + shard
			d := typed[*appsv1.Deployment](m, m.get("Deployment", name))
			Expect(d.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--watch-label-selector=sharding.fluxcd.io/key=" + shard))
			Expect(d.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--leader-elect=true"),
				"its Lease, sluice.sluice.dev-shard-"+shard+", is derived by the manager")
			Expect(d.Spec.Selector.MatchLabels).To(Equal(d.Spec.Template.Labels), "the selector matches the shard's pods")
			Expect(labels.SelectorFromSet(selectorLabels).Matches(labels.Set(d.Spec.Template.Labels))).To(BeFalse(),
				"the main Deployment's selector, and so its Services, leave the shard's pods alone")
			metrics := serviceOf(m, name+"-metrics")
			Expect(metrics.Spec.Selector).To(Equal(d.Spec.Template.Labels))
			Expect(metrics.Labels).To(HaveKeyWithValue("app.kubernetes.io/component", "metrics"),
				"labelled as the main one, so the ServiceMonitor scrapes every shard")
			Expect(labels.SelectorFromSet(selectorLabels).Matches(labels.Set(metrics.Labels))).To(BeTrue())
		}
		Expect(m.ofKind("PodDisruptionBudget")).To(BeEmpty())
		for _, svc := range m.ofKind("Service") {
			Expect(svc.GetName()).NotTo(HaveSuffix("-webhook"), "no receiver unless asked")
		}

		ha := render(shardedHA)
		Expect(ha.ofKind("PodDisruptionBudget")).To(HaveLen(2))
		pdb := typed[*policyv1.PodDisruptionBudget](ha, ha.get("PodDisruptionBudget", releaseName+"-shard-eu-1"))
		shard := typed[*appsv1.Deployment](ha, ha.get("Deployment", releaseName+"-shard-eu-1"))
		Expect(pdb.Spec.Selector.MatchLabels).To(Equal(shard.Spec.Template.Labels))
		Expect(shard.Spec.Replicas).To(Equal(ptr.To[int32](2)))
		Expect(shard.Spec.Template.Spec.TopologySpreadConstraints[0].LabelSelector.MatchLabels).To(Equal(shard.Spec.Template.Labels))
	})

	It("gives every shard's receiver a webhook Service of its own, as a shard serves only its Applications' pushes", func() {
		m := render(sharded + "\ncontrollers: {application: true}\napplication: {webhook: {enabled: true}}")
		Expect(serviceOf(m, releaseName+"-webhook").Spec.Selector).To(Equal(selectorLabels), "the main shard's, as without shards")
		for _, shard := range []string{"a", "b"} {
			name := releaseName + "-shard-" + shard
			d := typed[*appsv1.Deployment](m, m.get("Deployment", name))
			Expect(d.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--webhook-bind-address=:9292"))
			svc := serviceOf(m, name+"-webhook")
			Expect(svc.Spec.Selector).To(Equal(d.Spec.Template.Labels), "it reaches the shard's pods and no others")
			Expect(svc.Labels).To(HaveKeyWithValue("sluice.dev/shard", shard))
			Expect(svc.Spec.Ports).To(ConsistOf(corev1.ServicePort{
				Name: "webhook", Port: 9292, TargetPort: intstr.FromString("webhook"), Protocol: corev1.ProtocolTCP}))
		}
	})

	It("refuses a shard key that cannot name a Deployment", func() {
		_, err := tryRender(`sharding: {shards: [Shard_1]}`)
		Expect(err).To(MatchError(ContainSubstring("/sharding/shards/0")))
	})

	It("installs no CRD with crds.install=false, and does not keep them with crds.keep=false", func() {
		Expect(render(noCRDs).ofKind("CustomResourceDefinition")).To(BeEmpty())
		crds := render(crdsNotKept).ofKind("CustomResourceDefinition")
		Expect(crds).To(HaveLen(6))
		for _, crd := range crds {
			Expect(crd.GetAnnotations()).NotTo(HaveKey("helm.sh/resource-policy"), crd.GetName())
		}
	})

	It("installs Flux's two CRDs only with flux.crds.install, and passes --flux only when not auto", func() {
		names := func(m manifest) []string {
			var out []string
			for _, crd := range m.ofKind("CustomResourceDefinition") {
				out = append(out, crd.GetName())
			}
			return out
		}
		Expect(names(render(defaults))).NotTo(ContainElement(HaveSuffix(".toolkit.fluxcd.io")))
		Expect(argsOf(render(defaults))).NotTo(ContainElement(HavePrefix("--flux")))
		m := render(fluxCRDs)
		Expect(names(m)).To(ContainElements("gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io"))
		Expect(names(m)).To(HaveLen(8))
		for _, crd := range m.ofKind("CustomResourceDefinition") {
			Expect(crd.GetLabels()).NotTo(HaveKey("app.kubernetes.io/part-of"), "auto tells Flux's own CRDs by that label")
		}
		Expect(argsOf(render(fluxOn))).To(ContainElement("--flux=on"))
	})

	It("grants and binds the Application controller's write on every kind with application.writeAll", func() {
		m := render(writeAll)
		Expect(rolesWritingEverything(m)).To(ConsistOf("ClusterRole/sluice-application-write-all"))
		expectBound(m, "ClusterRole", "sluice-application-write-all")
	})

	It("serves metrics over plain HTTP, with no authentication roles, when metrics.secure is off", func() {
		m := render(metricsHTTP)
		Expect(argsOf(m)).To(ContainElements("--metrics-bind-address=:8080", "--metrics-secure=false"))
		Expect(serviceOf(m, "sluice-metrics").Spec.Ports).To(Equal([]corev1.ServicePort{{
			Name: "http", Port: 8080, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP}}))
		Expect(managerOf(m).Ports).To(ContainElement(corev1.ContainerPort{Name: "metrics", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}))
		Expect(m.get("ClusterRole", "sluice-metrics-auth")).To(BeNil())
		Expect(m.get("ClusterRoleBinding", "sluice-metrics-auth")).To(BeNil())
		Expect(m.get("ClusterRole", "sluice-metrics-reader")).To(BeNil())
	})

	It("scrapes the metrics Service over HTTPS with a token, or over HTTP, with the ServiceMonitor", func() {
		secure := render(serviceMonitor)
		sm := serviceMonitorOf(secure)
		Expect(sm.Labels).To(HaveKeyWithValue("release", "prometheus"))
		Expect(sm.Spec.NamespaceSelector.MatchNames).To(Equal([]string{releaseNamespace}))
		metricsService := serviceOf(secure, "sluice-metrics")
		for k, v := range sm.Spec.Selector.MatchLabels {
			Expect(metricsService.Labels).To(HaveKeyWithValue(k, v))
		}
		Expect(sm.Spec.Selector.MatchLabels).To(HaveKeyWithValue("app.kubernetes.io/component", "metrics"),
			"not the push receiver's Service")
		Expect(sm.Spec.Endpoints).To(HaveLen(1))
		endpoint := sm.Spec.Endpoints[0]
		Expect(endpoint.Port).To(Equal(metricsService.Spec.Ports[0].Name))
		Expect(endpoint.Path).To(Equal("/metrics"))
		Expect(endpoint.Scheme).To(Equal(ptr.To(monitoringv1.Scheme("https"))))
		Expect(endpoint.Interval).To(Equal(monitoringv1.Duration("30s")))
		Expect(endpoint.BearerTokenFile).To(Equal("/var/run/secrets/kubernetes.io/serviceaccount/token")) //nolint:staticcheck // deprecated, and what the chart writes: see values.yaml
		Expect(endpoint.TLSConfig.InsecureSkipVerify).To(Equal(ptr.To(true)))

		withSecret := serviceMonitorOf(render(serviceMonitorTokenSecret)).Spec.Endpoints[0]
		Expect(withSecret.BearerTokenFile).To(BeEmpty()) //nolint:staticcheck // see above
		Expect(withSecret.Authorization.Credentials.Name).To(Equal("prometheus-token"))
		Expect(withSecret.Authorization.Credentials.Key).To(Equal("token"))

		plain := render(serviceMonitorHTTP)
		endpoint = serviceMonitorOf(plain).Spec.Endpoints[0]
		Expect(endpoint.Port).To(Equal("http"))
		Expect(endpoint.Scheme).To(Equal(ptr.To(monitoringv1.Scheme("http"))))
		Expect(endpoint.TLSConfig).To(BeNil())
		Expect(endpoint.BearerTokenFile).To(BeEmpty()) //nolint:staticcheck // see above
	})

	It("receives Git push events on 9292 through a Service", func() {
		m := render(receiver)
		Expect(argsOf(m)).To(ContainElement("--webhook-bind-address=:9292"))
		Expect(flagNames(argsOf(m))).NotTo(ContainElement("--webhook-secret-file"))
		Expect(managerOf(m).Ports).To(ContainElement(corev1.ContainerPort{Name: "webhook", ContainerPort: 9292, Protocol: corev1.ProtocolTCP}))
		svc := serviceOf(m, "sluice-webhook")
		Expect(svc.Spec.Selector).To(Equal(selectorLabels))
		Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
		Expect(svc.Spec.Ports).To(Equal([]corev1.ServicePort{{
			Name: "webhook", Port: 9292, TargetPort: intstr.FromString("webhook"), Protocol: corev1.ProtocolTCP}}))
	})

	It("reads the shared push-event secret from the Secret it names", func() {
		m := render(receiverWithSecret)
		Expect(argsOf(m)).To(ContainElement("--webhook-secret-file=/etc/sluice/webhook/github"))
		Expect(managerOf(m).VolumeMounts).To(ContainElement(
			corev1.VolumeMount{Name: "webhook-secret", MountPath: "/etc/sluice/webhook", ReadOnly: true}))
		Expect(deploymentOf(m).Spec.Template.Spec.Volumes).To(ContainElement(corev1.Volume{Name: "webhook-secret",
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: "sluice-push", Items: []corev1.KeyToPath{{Key: "github", Path: "github"}}}}}))
	})

	It("puts every dashboard of dashboards/ into one ConfigMap for Grafana", func() {
		expectDashboards(chartDir)
	})

	It("puts each of several dashboards into the ConfigMap under its file name", func() {
		dir := filepath.Join(GinkgoT().TempDir(), "sluice")
		Expect(os.CopyFS(dir, os.DirFS(chartDir))).To(Succeed())
		Expect(os.RemoveAll(filepath.Join(dir, "dashboards"))).To(Succeed())
		Expect(os.Mkdir(filepath.Join(dir, "dashboards"), 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(dir, "dashboards", "rollouts.json"),
			[]byte("{\n  \"title\": \"Rollouts\",\n\n  \"panels\": []\n}\n"), 0o600)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(dir, "dashboards", "gitops.json"), []byte(`{"title": "GitOps"}`), 0o600)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(dir, "dashboards", "notes.md"), []byte("not a dashboard"), 0o600)).To(Succeed())
		expectDashboards(dir)
	})
	It("passes every manager setting as its flag, and the user's own after the chart's", func() {
		m := render(everyFlag)
		args := argsOf(m)
		Expect(args).To(ContainElements(
			"--instance-id=blue",
			"--prometheus-address=http://prometheus.monitoring:9090",
			"--zap-log-level=debug",
			"--zap-encoder=console",
			"--leader-election-lease-duration=30s",
			"--leader-election-renew-deadline=20s",
			"--leader-election-retry-period=5s",
			"--default-service-account=tenant",
			"--namespace-lock=true",
			"--namespace-lock-exempt=platform,flux-system",
			"--application-concurrency=8",
			"--allow-remote-bases=true",
			"--git-max-size=512Mi",
		))
		Expect(args[len(args)-1]).To(Equal("--leader-election-id=sluice-blue"))
		Expect(managerOf(m).Env).To(ContainElement(corev1.EnvVar{Name: "HTTPS_PROXY", Value: "http://proxy:3128"}))
		for _, v := range deploymentOf(m).Spec.Template.Spec.Volumes {
			if v.Name == "git-cache" {
				Expect(v.EmptyDir.SizeLimit.String()).To(Equal("4Gi"))
			}
		}
	})

	It("places the pods as told, with the user's image and service account", func() {
		m := render(placement)
		pod := deploymentOf(m).Spec.Template
		Expect(pod.Annotations).To(Equal(map[string]string{"example.com/team": "platform"}))
		Expect(pod.Labels).To(HaveKeyWithValue("example.com/tier", "control"))
		Expect(pod.Spec.PriorityClassName).To(Equal("system-cluster-critical"))
		Expect(pod.Spec.NodeSelector).To(Equal(map[string]string{"kubernetes.io/os": "linux"}))
		Expect(pod.Spec.Tolerations).To(HaveLen(1))
		Expect(pod.Spec.Affinity.NodeAffinity).NotTo(BeNil())
		Expect(pod.Spec.TopologySpreadConstraints).To(HaveLen(1))
		Expect(pod.Spec.TopologySpreadConstraints[0].TopologyKey).To(Equal("topology.kubernetes.io/zone"))
		Expect(pod.Spec.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: "regcred"}}))
		Expect(pod.Spec.ServiceAccountName).To(Equal("platform-sluice"))
		Expect(m.ofKind("ServiceAccount")).To(BeEmpty(), "serviceAccount.create=false")
		for _, b := range bindingsOf(m) {
			Expect(b.subjects).To(Equal([]rbacv1.Subject{{Kind: "ServiceAccount", Name: "platform-sluice", Namespace: releaseNamespace}}), b.name)
		}
		manager := managerOf(m)
		Expect(manager.Image).To(Equal("registry.example/sluice:v9.9.9"))
		Expect(manager.ImagePullPolicy).To(Equal(corev1.PullAlways))
	})
})

// expectDashboards checks a chart's dashboards ConfigMap against the files
// of its dashboards/ directory, whether or not it holds any: one key per
// JSON file, holding the file.
func expectDashboards(dir string) {
	GinkgoHelper()
	files, err := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	Expect(err).NotTo(HaveOccurred())
	want := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		want[filepath.Base(f)] = strings.TrimSuffix(string(data), "\n")
	}

	out, err := renderChart(dir, dashboards)
	Expect(err).NotTo(HaveOccurred())
	m, err := parseManifest(out)
	Expect(err).NotTo(HaveOccurred())
	configMaps := m.ofKind("ConfigMap")
	if len(want) == 0 {
		Expect(configMaps).To(BeEmpty(), "no dashboards, no ConfigMap")
		return
	}
	Expect(configMaps).To(HaveLen(1))
	cm := typed[*corev1.ConfigMap](m, configMaps[0])
	Expect(cm.Labels).To(HaveKeyWithValue("grafana_dashboard", "1"))
	Expect(cm.Data).To(Equal(want))

	off, err := renderChart(dir, defaults)
	Expect(err).NotTo(HaveOccurred())
	m, err = parseManifest(off)
	Expect(err).NotTo(HaveOccurred())
	Expect(m.ofKind("ConfigMap")).To(BeEmpty(), "metrics.dashboards.enabled is off by default")
}

// roleNamed is the role of a kind and name in a render.
func roleNamed(m manifest, kind, name string) role {
	for _, r := range rolesOf(m) {
		if r.kind == kind && r.name == name {
			return r
		}
	}
	Fail("no " + kind + " " + name)
	return role{}
}

// expectBound checks that each named role of a kind exists and a binding of
// the same name grants it to the manager's service account, in the release
// namespace for a Role.
func expectBound(m manifest, kind string, names ...string) {
	GinkgoHelper()
	bindings := bindingsOf(m)
	namespace := ""
	if kind == "Role" {
		namespace = releaseNamespace
	}
	for _, name := range names {
		roleNamed(m, kind, name)
		Expect(bindings).To(ContainElement(binding{
			kind:      kind + "Binding",
			name:      name,
			namespace: namespace,
			roleRef:   rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name},
			subjects:  []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "sluice", Namespace: releaseNamespace}},
		}), "%s %s is bound to the manager's service account", kind, name)
	}
}
