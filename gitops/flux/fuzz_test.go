package flux

import (
	"testing"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/google/go-cmp/cmp"
)

// FuzzEngineStatus reads a Kustomization status whoever wrote it (Flux, a
// person with kubectl edit): no input panics, an inventory id that reads
// is written back as it was read, and a revision names a full SHA or none.
func FuzzEngineStatus(f *testing.F) {
	f.Add("prod_web_apps_Deployment", "v1", "main@sha1:"+sha1)
	f.Add("_system__web_rbac.authorization.k8s.io_ClusterRoleBinding", "v1", "sha1:"+sha1)
	f.Add("__a___", "", "main/"+sha1)
	f.Add("a_b_c", "v1", "refs/heads/x@sha1:zz")
	f.Fuzz(func(t *testing.T, id, version, revision string) {
		ks := newKS().obj()
		ks.Status.LastAppliedRevision, ks.Status.LastAttemptedRevision = revision, revision
		ks.Status.Inventory = &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{{ID: id, Version: version}}}
		st, err := EngineStatus(ks)
		if c := CommitOf(revision); c != "" && !fullSHA(c) {
			t.Fatalf("CommitOf(%q) = %q", revision, c)
		}
		if err != nil {
			return
		}
		again := KustomizationStatus(ks, newRepo().obj(), appWith(st))
		if again.Inventory == nil || len(again.Inventory.Entries) != 1 {
			t.Fatalf("inventory of %q lost: %+v", id, again.Inventory)
		}
		back, err := EngineStatus(&kustomizev1.Kustomization{Status: again})
		if err != nil {
			t.Fatalf("id %q read, written as %q, does not read again: %v", id, again.Inventory.Entries[0].ID, err)
		}
		if diff := cmp.Diff(st.Inventory, back.Inventory); diff != "" {
			t.Fatalf("id %q does not read back the same (-first +second):\n%s", id, diff)
		}
	})
}
