package dashboard

import (
	"context"
	"fmt"
	"sort"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/cluster"
	"github.com/sluicehq/sluice/traffic"
)

// gatewayGroup is the group of the routes a Rollout shifts traffic on.
const gatewayGroup = "gateway.networking.k8s.io"

// reader reads what the pages show, with the user's own client: what the
// user may not read is left out with a warning, never read another way.
type reader struct {
	client client.Client
}

// rollouts is the Rollout list of a namespace.
func (r reader) rollouts(ctx context.Context, namespace string) ([]RolloutSummary, error) {
	var list rolloutsv1alpha1.RolloutList
	if err := r.client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	summaries := []RolloutSummary{}
	for i := range list.Items {
		summaries = append(summaries, SummarizeRollout(&list.Items[i]))
	}
	sort.Slice(summaries, func(i, j int) bool { return summaries[i].Name < summaries[j].Name })
	return summaries, nil
}

// rollout is one Rollout's page.
func (r reader) rollout(ctx context.Context, namespace, name string) (RolloutDetail, error) {
	o := RolloutObjects{Rollout: &rolloutsv1alpha1.Rollout{}, RouteErrors: map[string]string{}}
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, o.Rollout); err != nil {
		return RolloutDetail{}, err
	}
	var replicaSets appsv1.ReplicaSetList
	var pods corev1.PodList
	var runs rolloutsv1alpha1.AnalysisRunList
	o.Warnings = r.listAll(ctx, namespace, &replicaSets, &pods, &runs)
	o.ReplicaSets, o.Pods, o.AnalysisRuns = replicaSets.Items, pods.Items, runs.Items
	settings, fieldErr := traffic.SettingsOf(o.Rollout)
	if fieldErr != nil {
		o.Warnings = append(o.Warnings, "traffic routing: "+fieldErr.Error())
	}
	if settings != nil {
		for _, key := range settings.Routes {
			route := &unstructured.Unstructured{}
			route.SetGroupVersionKind(schema.GroupVersionKind{Group: gatewayGroup, Version: "v1", Kind: key.Kind})
			if err := r.client.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name}, route); err != nil {
				o.RouteErrors[key.String()] = err.Error()
				continue
			}
			o.Routes = append(o.Routes, route)
		}
	}
	return DescribeRollout(o), nil
}

// listAll lists each kind in the namespace, and says which it could not.
func (r reader) listAll(ctx context.Context, namespace string, lists ...client.ObjectList) []string {
	var warnings []string
	for _, list := range lists {
		if err := r.client.List(ctx, list, client.InNamespace(namespace)); err != nil {
			warnings = append(warnings, fmt.Sprintf("cannot list %s in %s: %s", kindOf(list), namespace, reason(err)))
		}
	}
	return warnings
}

// applications is the Application list of a namespace.
func (r reader) applications(ctx context.Context, namespace string) ([]ApplicationSummary, error) {
	var list gitopsv1alpha1.ApplicationList
	if err := r.client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	summaries := []ApplicationSummary{}
	for i := range list.Items {
		summaries = append(summaries, SummarizeApplication(&list.Items[i]))
	}
	sort.Slice(summaries, func(i, j int) bool { return summaries[i].Name < summaries[j].Name })
	return summaries, nil
}

// application is one Application's page. The workloads under it are read
// when it applies to this cluster, in each namespace its Rollouts and
// Deployments are in.
func (r reader) application(ctx context.Context, namespace, name string) (ApplicationDetail, error) {
	o := ApplicationObjects{Application: &gitopsv1alpha1.Application{}}
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, o.Application); err != nil {
		return ApplicationDetail{}, err
	}
	if d := o.Application.Spec.Destination; cluster.IsInCluster(d.Server, d.Name) {
		for _, ns := range workloadNamespaces(o.Application) {
			var rollouts rolloutsv1alpha1.RolloutList
			var deployments appsv1.DeploymentList
			var replicaSets appsv1.ReplicaSetList
			var pods corev1.PodList
			o.Warnings = append(o.Warnings, r.listAll(ctx, ns, &rollouts, &deployments, &replicaSets, &pods)...)
			o.Rollouts = append(o.Rollouts, rollouts.Items...)
			o.Deployments = append(o.Deployments, deployments.Items...)
			o.ReplicaSets = append(o.ReplicaSets, replicaSets.Items...)
			o.Pods = append(o.Pods, pods.Items...)
		}
	}
	return DescribeApplication(o), nil
}

// workloadNamespaces are the namespaces of an Application's Rollouts and
// Deployments, in order.
func workloadNamespaces(a *gitopsv1alpha1.Application) []string {
	seen := map[string]bool{}
	var namespaces []string
	for _, res := range a.Status.Resources {
		if (res.Kind == "Rollout" || res.Kind == "Deployment") && res.Namespace != "" && !seen[res.Namespace] {
			seen[res.Namespace] = true
			namespaces = append(namespaces, res.Namespace)
		}
	}
	return namespaces
}

// kindOf names a list's kind for a warning: "pods", "replicasets".
func kindOf(list client.ObjectList) string {
	switch list.(type) {
	case *corev1.PodList:
		return "pods"
	case *appsv1.ReplicaSetList:
		return "replicasets"
	case *appsv1.DeploymentList:
		return "deployments"
	case *rolloutsv1alpha1.RolloutList:
		return "rollouts"
	case *rolloutsv1alpha1.AnalysisRunList:
		return "analysisruns"
	}
	return fmt.Sprintf("%T", list)
}

// reason is an API error's reason, or the error.
func reason(err error) string {
	if apierrors.IsForbidden(err) {
		return "forbidden"
	}
	return err.Error()
}
