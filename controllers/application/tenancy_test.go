package application

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
)

func TestOwnIdentity(t *testing.T) {
	app := func(sa string) *gitopsv1alpha1.Application {
		return &gitopsv1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "team"},
			Spec: gitopsv1alpha1.ApplicationSpec{ServiceAccountName: sa}}
	}
	tests := []struct {
		name, sa, defaultSA, want string
	}{
		{"its own account", "deployer", "tenant", "system:serviceaccount:team:deployer"},
		{"the operator's default, in its namespace", "", "tenant", "system:serviceaccount:team:tenant"},
		{"without either, the manager", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ownIdentity(app(tt.sa), tt.defaultSA); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBoundedByParent(t *testing.T) {
	const parent, other = "system:serviceaccount:platform:apps", "system:serviceaccount:team:admin"
	tests := []struct {
		name    string
		own     string
		named   bool
		parent  string
		want    string
		wantErr string
	}{
		{"a parent with the manager's rights is the operator's: the child acts as itself", other, true, "", other, ""},
		{"a child naming no account acts as its parent", "", false, parent, parent, ""},
		{"a child under a default account still acts as its parent, never more", "system:serviceaccount:team:tenant", false, parent, parent, ""},
		{"a child naming its parent's account", parent, true, parent, parent, ""},
		{"a child naming another account is refused", other, true, parent, "",
			"applied by an Application that acts as " + parent + ", and may not act as " + other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := boundedByParent(tt.own, tt.named, tt.parent)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
