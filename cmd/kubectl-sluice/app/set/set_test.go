package set

import (
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func TestImageOptionsValidate(t *testing.T) {
	tests := []struct {
		assignment string
		wantErr    bool
		reason     string
	}{
		{assignment: "web=registry.example/app:v2"},
		{assignment: "*=registry.example/app:v2", reason: "* sets every container"},
		{assignment: "registry.example/app:v2", wantErr: true, reason: "no container named"},
		{assignment: "web=", wantErr: true, reason: "no image"},
		{assignment: "=registry.example/app:v2", wantErr: true, reason: "an empty container name"},
	}
	for _, tt := range tests {
		t.Run(tt.assignment, func(t *testing.T) {
			o := NewSetImageOptions(genericiooptions.NewTestIOStreamsDiscard())
			o.Rollout, o.assignment = "shop", tt.assignment
			o.Container, o.Image = splitAssignment(tt.assignment)
			if err := o.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("%s: error %v, want error %t", tt.reason, err, tt.wantErr)
			}
		})
	}
}
