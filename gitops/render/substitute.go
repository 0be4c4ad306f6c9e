package render

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
)

// Variables are the variables of postBuild substitution, by name, and the
// values among them that came from a Secret: those never appear in an
// error.
type Variables struct {
	Values    map[string]string
	Sensitive []string
}

// variableName is Flux's rule for a variable's name.
var variableName = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

// CheckVariableName refuses a name Flux's substitution would refuse.
func CheckVariableName(name string) error {
	if !variableName.MatchString(name) {
		return fmt.Errorf("%q is not a variable name: it must match %s", name, variableName)
	}
	return nil
}

// SubstituteDisabled is the annotation (or label) by which an object opts
// out of substitution, with the value "disabled", as in Flux.
const SubstituteDisabled = "kustomize.toolkit.fluxcd.io/substitute"

// Substitute replaces ${var} and ${var:=default} in every object with the
// variables' values, as Flux's postBuild does: with Flux's own
// substitution (fluxcd/pkg/kustomize's, on the object's YAML, offline), so
// $${var} is left as ${var}, a variable that is not set and has no default
// is empty, and an object annotated or labelled
// kustomize.toolkit.fluxcd.io/substitute: disabled is left as it is.
// Substitution runs even with no variables, so defaults apply. The
// objects are returned anew, normalized as Render's are; an error names
// the object and shows no sensitive value.
func Substitute(objects []*unstructured.Unstructured, vars Variables) ([]*unstructured.Unstructured, error) {
	inline := map[string]any{}
	for name, value := range vars.Values {
		if err := CheckVariableName(name); err != nil {
			return nil, err
		}
		inline[name] = value
	}
	// Flux's substitution reads the variables from a Kustomization's
	// spec.postBuild.substitute; with the dry run it reads nothing else,
	// and makes no request.
	kustomization := unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"postBuild": map[string]any{"substitute": inline}},
	}}
	factory := provider.NewDefaultDepProvider().GetResourceFactory()
	out := make([]*unstructured.Unstructured, 0, len(objects))
	for _, o := range objects {
		subject := fmt.Sprintf("spec.postBuild: %s %s", o.GetKind(), o.GetName())
		if ns := o.GetNamespace(); ns != "" {
			subject = fmt.Sprintf("spec.postBuild: %s %s/%s", o.GetKind(), ns, o.GetName())
		}
		res, err := factory.FromMap(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", subject, Redact(err.Error(), vars.Sensitive))
		}
		substituted, err := substitute(kustomization, res)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", subject, Redact(err.Error(), vars.Sensitive))
		}
		if substituted == nil { // opted out
			out = append(out, o)
			continue
		}
		m, err := substituted.Map()
		if err != nil {
			return nil, fmt.Errorf("%s: %s", subject, Redact(err.Error(), vars.Sensitive))
		}
		u := &unstructured.Unstructured{Object: m}
		if err := normalize(subject, u); err != nil {
			return nil, fmt.Errorf("%s", Redact(err.Error(), vars.Sensitive))
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("%s: after substitution the object has no apiVersion, kind or name", subject)
		}
		out = append(out, u)
	}
	return out, nil
}

// substitute runs Flux's substitution of one resource; its input is a
// tenant's, so a panic in it is an error of that render.
func substitute(kustomization unstructured.Unstructured, res *resource.Resource) (out *resource.Resource, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("substitution cannot read it: %v", r)
		}
	}()
	return fluxkustomize.SubstituteVariables(context.Background(), nil, kustomization, res,
		fluxkustomize.SubstituteWithDryRun(true), fluxkustomize.SubstituteWithAlways(true))
}

// Redact replaces every sensitive value in msg with ***.
func Redact(msg string, sensitive []string) string {
	values := slices.Clone(sensitive)
	// Longest first, so a value that holds another is replaced whole.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	for _, v := range values {
		if v != "" {
			msg = strings.ReplaceAll(msg, v, "***")
		}
	}
	return msg
}
