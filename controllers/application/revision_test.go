package application

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func TestRequestedRevision(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	app := func(request, revision, handled string) *gitopsv1alpha1.Application {
		a := &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}}
		if request != "" {
			a.Annotations[SyncRequestAnnotation] = request
		}
		if revision != "" {
			a.Annotations[RevisionRequestAnnotation] = revision
		}
		a.Status.LastHandledSyncRequest = handled
		return a
	}
	cases := []struct {
		reason  string
		app     *gitopsv1alpha1.Application
		want    string
		asked   bool
		wantErr bool
	}{
		{"a pending request with a revision asks for that commit", app("t2", commit, "t1"), commit, true, false},
		{"a handled request no longer does: targetRevision again", app("t2", commit, "t2"), "", false, false},
		{"a request without a revision follows targetRevision", app("t2", "", "t1"), "", false, false},
		{"a revision without a request asks for nothing", app("", commit, ""), "", false, false},
		{"a branch name is refused: a rollback names a commit", app("t2", "main", "t1"), "", true, true},
		{"an abbreviated commit is refused", app("t2", commit[:12], "t1"), "", true, true},
	}
	for _, c := range cases {
		got, asked, err := requestedRevision(c.app)
		if got != c.want || asked != c.asked || (err != nil) != c.wantErr {
			t.Errorf("%s: got %q, %t, %v", c.reason, got, asked, err)
		}
	}
}
