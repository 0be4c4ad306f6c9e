package install_test

import (
	"slices"
	"strings"

	. "github.com/onsi/gomega"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// typed decodes one rendered object into its Go type.
func typed[T runtime.Object](m manifest, o *unstructured.Unstructured) T {
	ExpectWithOffset(2, o).NotTo(BeNil())
	obj, err := decodeStrictOnce(m.doc(o))
	ExpectWithOffset(2, err).NotTo(HaveOccurred())
	t, ok := obj.(T)
	ExpectWithOffset(2, ok).To(BeTrue(), "%s %s decodes to %T", o.GetKind(), o.GetName(), obj)
	return t
}

func deploymentOf(m manifest) *appsv1.Deployment {
	return typed[*appsv1.Deployment](m, m.get("Deployment", releaseName))
}

func serviceOf(m manifest, name string) *corev1.Service {
	return typed[*corev1.Service](m, m.get("Service", name))
}

func pdbOf(m manifest) *policyv1.PodDisruptionBudget {
	return typed[*policyv1.PodDisruptionBudget](m, m.get("PodDisruptionBudget", releaseName))
}

func serviceMonitorOf(m manifest) *monitoringv1.ServiceMonitor {
	return typed[*monitoringv1.ServiceMonitor](m, m.get("ServiceMonitor", releaseName))
}

// managerOf is the manager container of a render.
func managerOf(m manifest) corev1.Container {
	containers := deploymentOf(m).Spec.Template.Spec.Containers
	ExpectWithOffset(1, containers).To(HaveLen(1))
	return containers[0]
}

// argsOf are the manager's arguments.
func argsOf(m manifest) []string {
	return managerOf(m).Args
}

// flagNames are the names of the flags in args, "--name" of "--name=value".
func flagNames(args []string) []string {
	var names []string
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		names = append(names, name)
	}
	return names
}

// role is a rendered Role or ClusterRole, with its rules typed.
type role struct {
	kind, name, namespace string
	rules                 []rbacv1.PolicyRule
}

// rolesOf lists the Roles and ClusterRoles of a render.
func rolesOf(m manifest) []role {
	var out []role
	for _, o := range m.ofKind("Role", "ClusterRole") {
		r := role{kind: o.GetKind(), name: o.GetName(), namespace: o.GetNamespace()}
		switch obj := typedObject(m, o).(type) {
		case *rbacv1.Role:
			r.rules = obj.Rules
		case *rbacv1.ClusterRole:
			r.rules = obj.Rules
		}
		out = append(out, r)
	}
	return out
}

func typedObject(m manifest, o *unstructured.Unstructured) runtime.Object {
	obj, err := decodeStrictOnce(m.doc(o))
	ExpectWithOffset(2, err).NotTo(HaveOccurred())
	return obj
}

// binding is a rendered RoleBinding or ClusterRoleBinding.
type binding struct {
	kind, name, namespace string
	roleRef               rbacv1.RoleRef
	subjects              []rbacv1.Subject
}

func bindingsOf(m manifest) []binding {
	var out []binding
	for _, o := range m.ofKind("RoleBinding", "ClusterRoleBinding") {
		b := binding{kind: o.GetKind(), name: o.GetName(), namespace: o.GetNamespace()}
		switch obj := typedObject(m, o).(type) {
		case *rbacv1.RoleBinding:
			b.roleRef, b.subjects = obj.RoleRef, obj.Subjects
		case *rbacv1.ClusterRoleBinding:
			b.roleRef, b.subjects = obj.RoleRef, obj.Subjects
		}
		out = append(out, b)
	}
	return out
}

// writeVerbs are the verbs that change objects.
var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection", "*"}

// writesEverything reports whether a rule lets its holder write every kind
// of every group.
func writesEverything(rule rbacv1.PolicyRule) bool {
	return slices.Contains(rule.APIGroups, "*") && slices.Contains(rule.Resources, "*") &&
		slices.ContainsFunc(rule.Verbs, func(v string) bool { return slices.Contains(writeVerbs, v) })
}

// rolesWritingEverything names the roles of a render with such a rule.
func rolesWritingEverything(m manifest) []string {
	var names []string
	for _, r := range rolesOf(m) {
		if slices.ContainsFunc(r.rules, writesEverything) {
			names = append(names, r.kind+"/"+r.name)
		}
	}
	return names
}
