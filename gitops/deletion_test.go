package gitops

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

const (
	sluiceFinalizer     = gitopsv1alpha1.ResourcesFinalizer
	argoFinalizer       = gitopsv1alpha1.ArgoCDResourcesFinalizer
	argoForeground      = gitopsv1alpha1.ArgoCDForegroundFinalizer
	argoBackground      = gitopsv1alpha1.ArgoCDBackgroundFinalizer
	someoneElses        = "example.com/cleanup"
	deleteResourcesAnno = gitopsv1alpha1.DeleteResourcesAnnotation
)

func TestFinalizerToAddAndDrop(t *testing.T) {
	optedOut := map[string]string{deleteResourcesAnno: "false"}
	cases := []struct {
		reason      string
		finalizers  []string
		annotations map[string]string
		add, drop   string
	}{
		{reason: "an Application deletes what it applied unless it says otherwise",
			add: sluiceFinalizer},
		{reason: "someone else's finalizer is no reason to leave ours out",
			finalizers: []string{someoneElses}, add: sluiceFinalizer},
		{reason: "ours is there already", finalizers: []string{sluiceFinalizer}},
		{reason: "an Application moved over from Argo CD keeps the finalizer it has",
			finalizers: []string{argoFinalizer}},
		{reason: "Argo CD's background form counts too", finalizers: []string{argoBackground}},
		{reason: "Argo CD's spelled-out foreground form counts too", finalizers: []string{argoForeground}},
		{reason: "opted out: no finalizer", annotations: optedOut},
		{reason: "opted out, with any capitalisation and spaces",
			annotations: map[string]string{deleteResourcesAnno: " False "}},
		{reason: "any other value of the annotation deletes as before",
			annotations: map[string]string{deleteResourcesAnno: "no"}, add: sluiceFinalizer},
		{reason: "opted out after ours was added: ours goes, so deleting it needs no controller",
			finalizers: []string{someoneElses, sluiceFinalizer}, annotations: optedOut, drop: sluiceFinalizer},
		{reason: "opted out with Argo CD's finalizer: that one is the owner's to remove",
			finalizers: []string{argoFinalizer}, annotations: optedOut},
	}
	for _, c := range cases {
		if got := FinalizerToAdd(c.finalizers, c.annotations); got != c.add {
			t.Errorf("%s: FinalizerToAdd = %q, want %q", c.reason, got, c.add)
		}
		if got := FinalizerToDrop(c.finalizers, c.annotations); got != c.drop {
			t.Errorf("%s: FinalizerToDrop = %q, want %q", c.reason, got, c.drop)
		}
	}
}

func TestPlanCascade(t *testing.T) {
	optedOut := map[string]string{deleteResourcesAnno: "false"}
	foreground, background, orphan := metav1.DeletePropagationForeground, metav1.DeletePropagationBackground, metav1.DeletePropagationOrphan
	cases := []struct {
		reason      string
		finalizers  []string
		annotations map[string]string
		syncOptions []string
		want        Cascade
	}{
		{reason: "no finalizer Sluice handles: nothing to do",
			finalizers: []string{someoneElses}, want: Cascade{}},
		{reason: "Sluice's own, without PrunePropagationPolicy: foreground, as Argo CD's deletion",
			finalizers: []string{sluiceFinalizer},
			want:       Cascade{Finalizers: []string{sluiceFinalizer}, Delete: true, Policy: foreground}},
		{reason: "Sluice's own takes PrunePropagationPolicy",
			finalizers: []string{sluiceFinalizer}, syncOptions: []string{"CreateNamespace=true", "PrunePropagationPolicy=background"},
			want: Cascade{Finalizers: []string{sluiceFinalizer}, Delete: true, Policy: background}},
		{reason: "orphan deletes the objects and leaves their dependents",
			finalizers: []string{sluiceFinalizer}, syncOptions: []string{"PrunePropagationPolicy=Orphan"},
			want: Cascade{Finalizers: []string{sluiceFinalizer}, Delete: true, Policy: orphan}},
		{reason: "an unknown policy is ignored, as ParseSyncOptions ignores it",
			finalizers: []string{sluiceFinalizer}, syncOptions: []string{"PrunePropagationPolicy=sideways"},
			want: Cascade{Finalizers: []string{sluiceFinalizer}, Delete: true, Policy: foreground}},
		{reason: "Argo CD's plain finalizer is foreground, whatever PrunePropagationPolicy says",
			finalizers: []string{argoFinalizer}, syncOptions: []string{"PrunePropagationPolicy=background"},
			want: Cascade{Finalizers: []string{argoFinalizer}, Delete: true, Policy: foreground}},
		{reason: "Flux's finalizer, left by Flux on a Kustomization moved over: background, as Flux deletes",
			finalizers: []string{"finalizers.fluxcd.io"},
			want:       Cascade{Finalizers: []string{"finalizers.fluxcd.io"}, Delete: true, Policy: background}},
		{reason: "Flux's finalizer on a Kustomization that does not prune: kept, finalizer released",
			finalizers: []string{"finalizers.fluxcd.io"}, annotations: optedOut,
			want: Cascade{Finalizers: []string{"finalizers.fluxcd.io"}}},
		{reason: "Argo CD's /foreground",
			finalizers: []string{someoneElses, argoForeground},
			want:       Cascade{Finalizers: []string{argoForeground}, Delete: true, Policy: foreground}},
		{reason: "Argo CD's /background",
			finalizers: []string{argoBackground},
			want:       Cascade{Finalizers: []string{argoBackground}, Delete: true, Policy: background}},
		{reason: "Argo CD's finalizer governs beside Sluice's, and both are removed",
			finalizers: []string{sluiceFinalizer, argoBackground}, syncOptions: []string{"PrunePropagationPolicy=foreground"},
			want: Cascade{Finalizers: []string{sluiceFinalizer, argoBackground}, Delete: true, Policy: background}},
		{reason: "two of Argo CD's: the first listed decides, as in Argo CD",
			finalizers: []string{argoBackground, argoFinalizer},
			want:       Cascade{Finalizers: []string{argoBackground, argoFinalizer}, Delete: true, Policy: background}},
		{reason: "opted out: the objects stay, and the finalizer still goes",
			finalizers: []string{sluiceFinalizer}, annotations: optedOut,
			want: Cascade{Finalizers: []string{sluiceFinalizer}}},
		{reason: "opted out beats Argo CD's finalizer too",
			finalizers: []string{argoFinalizer, someoneElses}, annotations: optedOut,
			want: Cascade{Finalizers: []string{argoFinalizer}}},
	}
	for _, c := range cases {
		got := PlanCascade(c.finalizers, c.annotations, c.syncOptions)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.reason, diff)
		}
	}
}

func TestFateOf(t *testing.T) {
	owner := map[string]string{"gitops.sluice.dev/name": "web", "gitops.sluice.dev/namespace": "apps"}
	now := metav1.Now()
	object := func(edit func(*metav1.ObjectMeta)) metav1.Object {
		m := &metav1.ObjectMeta{Name: "web", Labels: map[string]string{
			"gitops.sluice.dev/name": "web", "gitops.sluice.dev/namespace": "apps", "app": "web"}}
		if edit != nil {
			edit(m)
		}
		return m
	}
	annotated := func(k, v string) func(*metav1.ObjectMeta) {
		return func(m *metav1.ObjectMeta) { m.Annotations = map[string]string{k: v} }
	}
	cases := []struct {
		reason string
		live   metav1.Object
		want   Fate
	}{
		{reason: "gone, or its kind is gone", live: nil, want: FateGone},
		{reason: "ours: deleted", live: object(nil), want: FateDelete},
		{reason: "being deleted already: waited for, not deleted again",
			live: object(func(m *metav1.ObjectMeta) { m.DeletionTimestamp = &now }), want: FateDeleting},
		{reason: "labelled for another Application: someone else's now",
			live: object(func(m *metav1.ObjectMeta) { m.Labels["gitops.sluice.dev/name"] = "other" }), want: FateNotOurs},
		{reason: "labels taken off: someone else's now",
			live: object(func(m *metav1.ObjectMeta) { m.Labels = nil }), want: FateNotOurs},
		{reason: "Sluice's prune opt-out keeps it", live: object(annotated(PruneAnnotation, "disabled")), want: FateKeep},
		{reason: "Flux's prune opt-out keeps it", live: object(annotated(fluxPruneAnnotation, "disabled")), want: FateKeep},
		{reason: "Argo CD's Prune=false keeps it", live: object(annotated(argoCDSyncOptionsAnno, "Prune=false")), want: FateKeep},
		{reason: "Argo CD's Delete=false keeps it, among other options",
			live: object(annotated(argoCDSyncOptionsAnno, "ServerSideApply=true, Delete=false")), want: FateKeep},
		{reason: "Delete=true is no opt-out", live: object(annotated(argoCDSyncOptionsAnno, "Delete=true")), want: FateDelete},
		{reason: "kept even while someone else deletes it: it is unlabelled, not waited for",
			live: object(func(m *metav1.ObjectMeta) {
				m.DeletionTimestamp = &now
				m.Annotations = map[string]string{argoCDSyncOptionsAnno: "Delete=false"}
			}), want: FateKeep},
		{reason: "an opt-out on an object that is no longer ours changes nothing",
			live: object(func(m *metav1.ObjectMeta) {
				m.Labels = nil
				m.Annotations = map[string]string{PruneAnnotation: "disabled"}
			}), want: FateNotOurs},
	}
	for _, c := range cases {
		if got := FateOf(c.live, owner); got != c.want {
			t.Errorf("%s: FateOf = %s, want %s", c.reason, got, c.want)
		}
	}
}

func TestPruneIsNotDeletion(t *testing.T) {
	// Delete=false keeps an object when its Application is deleted, and
	// leaves pruning alone, as in Argo CD.
	keep := map[string]string{argoCDSyncOptionsAnno: "Delete=false"}
	if PruneDisabled(keep) {
		t.Error("Delete=false must not stop a prune")
	}
	if !DeletionDisabled(keep) {
		t.Error("Delete=false must keep the object on deletion")
	}
}
