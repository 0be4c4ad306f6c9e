package gitops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/gitops/render"
)

// SubstituteSource is one of spec.postBuild.substituteFrom as read: the
// object's data, or Found false when it does not exist.
type SubstituteSource struct {
	Found bool
	Data  map[string]string
}

// PostBuildVariables merges postBuild's variables as Flux does: the
// substituteFrom objects in order, a later one's key overriding an
// earlier one's, then substitute over them all. sources holds what was
// read of each substituteFrom entry, in order. A missing object that is
// not optional, and a name that is not a variable's, fail, naming the
// entry and the key; a Secret's values are marked sensitive.
func PostBuildVariables(pb *gitopsv1alpha1.PostBuild, sources []SubstituteSource) (render.Variables, error) {
	vars := render.Variables{Values: map[string]string{}}
	if pb == nil {
		return vars, nil
	}
	for i, ref := range pb.SubstituteFrom {
		field := fmt.Sprintf("spec.postBuild.substituteFrom[%d]", i)
		if i >= len(sources) || !sources[i].Found {
			if ref.Optional {
				continue
			}
			return vars, fmt.Errorf("%s: %s %s not found in the Application's namespace (optional: true lets the sync go on without it)",
				field, ref.Kind, ref.Name)
		}
		keys := make([]string, 0, len(sources[i].Data))
		for k := range sources[i].Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := render.CheckVariableName(k); err != nil {
				return vars, fmt.Errorf("%s: %s %s: key %w", field, ref.Kind, ref.Name, err)
			}
			v := sources[i].Data[k]
			vars.Values[k] = v
			if ref.Kind == "Secret" {
				vars.Sensitive = append(vars.Sensitive, v, strings.ReplaceAll(v, "\n", ""))
			}
		}
	}
	names := make([]string, 0, len(pb.Substitute))
	for k := range pb.Substitute {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := render.CheckVariableName(k); err != nil {
			return vars, fmt.Errorf("spec.postBuild.substitute: %w", err)
		}
		vars.Values[k] = pb.Substitute[k]
	}
	return vars, nil
}

// ReadPostBuild reads the ConfigMaps and Secrets of app's
// postBuild.substituteFrom from app's namespace with reader (which reads
// as the Application's service account when it has one, as spec.secretRef
// is read) and merges them (PostBuildVariables). nil when app has no
// postBuild.
func ReadPostBuild(ctx context.Context, reader client.Reader, app *gitopsv1alpha1.Application) (*render.Variables, error) {
	pb := app.Spec.PostBuild
	if pb == nil {
		return nil, nil
	}
	sources := make([]SubstituteSource, len(pb.SubstituteFrom))
	for i, ref := range pb.SubstituteFrom {
		key := types.NamespacedName{Namespace: app.Namespace, Name: ref.Name}
		var err error
		switch ref.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err = reader.Get(ctx, key, &cm); err == nil {
				sources[i] = SubstituteSource{Found: true, Data: cm.Data}
			}
		case "Secret":
			var secret corev1.Secret
			if err = reader.Get(ctx, key, &secret); err == nil {
				data := make(map[string]string, len(secret.Data))
				for k, v := range secret.Data {
					data[k] = string(v)
				}
				sources[i] = SubstituteSource{Found: true, Data: data}
			}
		default:
			return nil, fmt.Errorf("spec.postBuild.substituteFrom[%d]: kind %q is neither ConfigMap nor Secret", i, ref.Kind)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("spec.postBuild.substituteFrom[%d]: reading %s %s: %w", i, ref.Kind, ref.Name, err)
		}
	}
	vars, err := PostBuildVariables(pb, sources)
	if err != nil {
		return nil, err
	}
	return &vars, nil
}

// Fingerprint is a digest of the variables, so a change of a ConfigMap or
// Secret they come from is told from none without keeping the values.
func Fingerprint(vars *render.Variables) string {
	if vars == nil {
		return ""
	}
	names := make([]string, 0, len(vars.Values))
	for k := range vars.Values {
		names = append(names, k)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, k := range names {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(vars.Values[k]), vars.Values[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
