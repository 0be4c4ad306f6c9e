package dashboard

import (
	"fmt"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/cluster"
	"github.com/sluicehq/sluice/internal/owned"
)

// ApplicationSummary is an Application's line in the list.
type ApplicationSummary struct {
	Name           string    `json:"name"`
	Namespace      string    `json:"namespace"`
	Sync           string    `json:"sync"`
	Health         string    `json:"health"`
	HealthMessage  string    `json:"healthMessage,omitempty"`
	Revision       string    `json:"revision,omitempty"`
	CommitSubject  string    `json:"commitSubject,omitempty"`
	CommitAuthor   string    `json:"commitAuthor,omitempty"`
	LastSynced     time.Time `json:"lastSynced,omitzero"`
	RepoURL        string    `json:"repoURL"`
	Path           string    `json:"path,omitempty"`
	TargetRevision string    `json:"targetRevision,omitempty"`
	Destination    string    `json:"destination"`
	Automated      bool      `json:"automated"`
	Operation      string    `json:"operation,omitempty"`
}

// ApplicationDetail is an Application's page.
type ApplicationDetail struct {
	ApplicationSummary
	Conditions []ConditionView `json:"conditions,omitempty"`
	// Tree is the Application's objects, each with its parent's ID: the
	// objects Git holds under the Application, and under a Rollout or a
	// Deployment its ReplicaSets and their pods.
	Tree     []TreeNode    `json:"tree"`
	History  []HistoryView `json:"history"`
	Warnings []string      `json:"warnings,omitempty"`
}

// ConditionView is one of the Application's conditions.
type ConditionView struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// TreeNode is one object of an Application's tree. Sync is empty for the
// objects Git does not hold (ReplicaSets, pods).
type TreeNode struct {
	ID            string `json:"id"`
	Parent        string `json:"parent,omitempty"`
	Kind          string `json:"kind"`
	Namespace     string `json:"namespace,omitempty"`
	Name          string `json:"name"`
	Sync          string `json:"sync,omitempty"`
	Health        string `json:"health,omitempty"`
	HealthMessage string `json:"healthMessage,omitempty"`
	// Info is a short state: a pod's phase, a ReplicaSet's ready count.
	Info string `json:"info,omitempty"`
}

// HistoryView is one sync of the Application's history; ID is what a
// rollback takes.
type HistoryView struct {
	ID         int       `json:"id"`
	Revision   string    `json:"revision"`
	DeployedAt time.Time `json:"deployedAt"`
	Result     string    `json:"result"`
	Message    string    `json:"message,omitempty"`
}

// ApplicationObjects is what an Application's page is drawn from. The
// workloads are those of the Application's destination when it is this
// cluster; they are read with the user's rights.
type ApplicationObjects struct {
	Application *gitopsv1alpha1.Application
	Rollouts    []rolloutsv1alpha1.Rollout
	Deployments []appsv1.Deployment
	ReplicaSets []appsv1.ReplicaSet
	Pods        []corev1.Pod
	Warnings    []string
}

// SummarizeApplication is an Application's line in the list.
func SummarizeApplication(a *gitopsv1alpha1.Application) ApplicationSummary {
	d := a.Spec.Destination
	s := ApplicationSummary{
		Name: a.Name, Namespace: a.Namespace,
		Sync: orUnknown(string(a.Status.Sync.Status)), Health: orUnknown(string(a.Status.Health.Status)),
		HealthMessage: a.Status.Health.Message, Revision: a.Status.Sync.Revision, LastSynced: timeOf(a.Status.LastSyncedAt),
		RepoURL: a.Spec.Source.RepoURL, Path: a.Spec.Source.Path, TargetRevision: a.Spec.Source.TargetRevision,
		Destination: cluster.Describe(d.Server, d.Name, d.Namespace),
		Automated:   a.Spec.SyncPolicy != nil && a.Spec.SyncPolicy.Automated != nil,
	}
	if op := a.Status.OperationState; op != nil {
		s.Operation = string(op.Phase)
	}
	return s
}

// DescribeApplication is an Application's page.
func DescribeApplication(o ApplicationObjects) ApplicationDetail {
	a := o.Application
	d := ApplicationDetail{ApplicationSummary: SummarizeApplication(a), Warnings: o.Warnings, History: []HistoryView{}}
	for _, c := range a.Status.Conditions {
		d.Conditions = append(d.Conditions, ConditionView{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message})
	}
	for i, h := range a.Status.History {
		d.History = append(d.History, HistoryView{ID: i, Revision: h.Revision, DeployedAt: h.DeployedAt.Time, Result: h.Result, Message: h.Message})
	}
	d.Tree = treeOf(o)
	return d
}

// treeOf lays an Application's objects out as a tree: the Application at
// the root, the objects Git holds under it (status.resources), and under
// each Rollout and Deployment the ReplicaSets it controls and their pods.
func treeOf(o ApplicationObjects) []TreeNode {
	a := o.Application
	root := TreeNode{ID: nodeID("Application", a.Namespace, a.Name), Kind: "Application", Namespace: a.Namespace, Name: a.Name,
		Sync: orUnknown(string(a.Status.Sync.Status)), Health: orUnknown(string(a.Status.Health.Status))}
	tree := []TreeNode{root}
	workloads := map[string]metav1.Object{}
	for i := range o.Rollouts {
		workloads[nodeID("Rollout", o.Rollouts[i].Namespace, o.Rollouts[i].Name)] = &o.Rollouts[i]
	}
	for i := range o.Deployments {
		workloads[nodeID("Deployment", o.Deployments[i].Namespace, o.Deployments[i].Name)] = &o.Deployments[i]
	}
	for _, r := range a.Status.Resources {
		node := TreeNode{ID: nodeID(r.Kind, r.Namespace, r.Name), Parent: root.ID, Kind: r.Kind, Namespace: r.Namespace,
			Name: r.Name, Sync: string(r.Status)}
		if r.Health != nil {
			node.Health, node.HealthMessage = string(r.Health.Status), r.Health.Message
		}
		tree = append(tree, node)
		workload, ok := workloads[node.ID]
		if !ok {
			continue
		}
		for _, rs := range owned.ControlledBy(o.ReplicaSets, workload) {
			desired := int32(0)
			if rs.Spec.Replicas != nil {
				desired = *rs.Spec.Replicas
			}
			rsNode := TreeNode{ID: nodeID("ReplicaSet", rs.Namespace, rs.Name), Parent: node.ID, Kind: "ReplicaSet",
				Namespace: rs.Namespace, Name: rs.Name, Info: fmt.Sprintf("%d/%d ready", rs.Status.ReadyReplicas, desired)}
			tree = append(tree, rsNode)
			for _, pod := range owned.ControlledBy(o.Pods, rs) {
				tree = append(tree, TreeNode{ID: nodeID("Pod", pod.Namespace, pod.Name), Parent: rsNode.ID, Kind: "Pod",
					Namespace: pod.Namespace, Name: pod.Name, Info: podView(pod).state()})
			}
		}
	}
	return tree
}

// state is a pod's phase, and whether it is ready when it runs.
func (p PodView) state() string {
	if p.Phase == string(corev1.PodRunning) && !p.Ready {
		return "Running, not ready"
	}
	return p.Phase
}

func nodeID(kind, namespace, name string) string {
	return kind + "/" + namespace + "/" + name
}
