// Package crds finishes the CustomResourceDefinitions that controller-gen
// generates from Argo Rollouts' imported types, so that they accept exactly
// what the CRDs Argo publishes accept.
//
// controller-gen alone gives a full schema for every pod template. Argo
// relaxes two parts of it, and manifests written against Argo's CRDs rely on
// that:
//
//   - container resources (limits and requests) and volumes are left open
//     (x-kubernetes-preserve-unknown-fields), so volume sources and resource
//     names that newer clusters add are not pruned by an older CRD; and
//   - pod-template metadata is narrowed to labels and annotations, the only
//     metadata a template may carry.
//
// One more fix is Sluice's own: Kubernetes types newer than the ones Argo
// generated from carry CEL transition rules (rules that read oldSelf). Inside
// a list without map keys, such as an AnalysisTemplate's metrics, the API
// server cannot pair old and new items and rejects the whole CRD, so those
// rules are dropped there. They guard the immutability of a live Job's
// fields, which means nothing in a template.
package crds

import (
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// Group is the API group of Argo Rollouts' types.
const Group = "argoproj.io"

// podTemplates says where each Argo kind embeds pod templates, as dotted
// paths from the root of the schema; "x[]" steps into the items of array x.
var podTemplates = map[string][]string{
	"Rollout":                 {"spec.template"},
	"Experiment":              {"spec.templates[].template"},
	"AnalysisTemplate":        {"spec.metrics[].provider.job.spec.template"},
	"ClusterAnalysisTemplate": {"spec.metrics[].provider.job.spec.template"},
	"AnalysisRun":             {"spec.metrics[].provider.job.spec.template"},
}

// extraMetadata lists object metadata outside pod templates that Argo also
// narrows to labels and annotations: the metadata of an analysis Job.
var extraMetadata = map[string][]string{
	"AnalysisTemplate":        {"spec.metrics[].provider.job.metadata"},
	"ClusterAnalysisTemplate": {"spec.metrics[].provider.job.metadata"},
	"AnalysisRun":             {"spec.metrics[].provider.job.metadata"},
}

var containerLists = []string{"containers", "initContainers", "ephemeralContainers"}

// Patch applies Argo's relaxations to a CRD generated from Argo's types. It
// fails on a kind it does not know or a path the schema lacks, so a change in
// the imported types cannot go unnoticed.
func Patch(crd *apiextensionsv1.CustomResourceDefinition) error {
	kind := crd.Spec.Names.Kind
	templates, ok := podTemplates[kind]
	if !ok {
		return fmt.Errorf("crds: no patch rules for kind %q", kind)
	}
	open := apiextensionsv1.JSONSchemaProps{XPreserveUnknownFields: ptrTo(true)}
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("crds: %s version %s has no schema", kind, v.Name)
		}
		root := v.Schema.OpenAPIV3Schema
		for _, tpl := range templates {
			for _, list := range containerLists {
				for _, field := range []string{"limits", "requests"} {
					path := fmt.Sprintf("%s.spec.%s[].resources.%s", tpl, list, field)
					if err := replaceAt(root, path, open); err != nil {
						return fmt.Errorf("crds: %s: %w", kind, err)
					}
				}
			}
			if err := replaceAt(root, tpl+".spec.volumes", open); err != nil {
				return fmt.Errorf("crds: %s: %w", kind, err)
			}
			if err := replaceAt(root, tpl+".metadata", labelsAndAnnotations()); err != nil {
				return fmt.Errorf("crds: %s: %w", kind, err)
			}
		}
		for _, path := range extraMetadata[kind] {
			if err := replaceAt(root, path, labelsAndAnnotations()); err != nil {
				return fmt.Errorf("crds: %s: %w", kind, err)
			}
		}
		dropUncorrelatableTransitionRules(root, false)
	}
	return nil
}

// dropUncorrelatableTransitionRules removes CEL rules that read oldSelf from
// every part of the schema below an array the API server cannot correlate
// (any list but a list-type=map).
func dropUncorrelatableTransitionRules(s *apiextensionsv1.JSONSchemaProps, uncorrelatable bool) {
	if uncorrelatable && len(s.XValidations) > 0 {
		kept := s.XValidations[:0]
		for _, rule := range s.XValidations {
			if !strings.Contains(rule.Rule, "oldSelf") {
				kept = append(kept, rule)
			}
		}
		s.XValidations = kept
		if len(kept) == 0 {
			s.XValidations = nil
		}
	}
	for name, child := range s.Properties {
		dropUncorrelatableTransitionRules(&child, uncorrelatable)
		s.Properties[name] = child
	}
	if s.Items != nil && s.Items.Schema != nil {
		isMap := s.XListType != nil && *s.XListType == "map"
		dropUncorrelatableTransitionRules(s.Items.Schema, uncorrelatable || !isMap)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		dropUncorrelatableTransitionRules(s.AdditionalProperties.Schema, uncorrelatable)
	}
}

// labelsAndAnnotations is the schema of template metadata: two string maps.
func labelsAndAnnotations() apiextensionsv1.JSONSchemaProps {
	stringMap := apiextensionsv1.JSONSchemaProps{
		Type: "object",
		AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{
			Allows: true,
			Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"},
		},
	}
	return apiextensionsv1.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"labels":      stringMap,
			"annotations": stringMap,
		},
	}
}

// replaceAt swaps the schema at a dotted path for another. The path must
// exist: every step but the last must be an object (or, with "[]", an array
// of objects) that declares the next step as a property.
func replaceAt(root *apiextensionsv1.JSONSchemaProps, path string, with apiextensionsv1.JSONSchemaProps) error {
	steps := strings.Split(path, ".")
	node := root
	for i, step := range steps {
		name, intoItems := strings.CutSuffix(step, "[]")
		child, ok := node.Properties[name]
		if !ok {
			return fmt.Errorf("schema has no property %q at %s", name, strings.Join(steps[:i+1], "."))
		}
		last := i == len(steps)-1
		switch {
		case last && !intoItems:
			node.Properties[name] = with
		case intoItems && (child.Items == nil || child.Items.Schema == nil):
			return fmt.Errorf("%s is not an array of objects", strings.Join(steps[:i+1], "."))
		case last:
			*child.Items.Schema = with
		case intoItems:
			node = child.Items.Schema
		default:
			// child is a copy of the map value, but the maps and item
			// pointers inside it are shared with the tree, which is
			// where every later write lands.
			node = &child
		}
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// Marshal renders a CRD as YAML the way controller-gen writes it: without the
// empty status and creationTimestamp that the typed struct would add.
func Marshal(crd *apiextensionsv1.CustomResourceDefinition) ([]byte, error) {
	data, err := yaml.Marshal(crd)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	delete(obj, "status")
	if meta, ok := obj["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	return yaml.Marshal(obj)
}

// ArgoCDApplication makes the CRD of Argo CD's Application kind
// (applications.argoproj.io) from Sluice's Application CRD: one Go type,
// one schema, served under a second group for manifests written for Argo
// CD. The names are Argo CD's (shortNames app and apps, category argo).
func ArgoCDApplication(sluice *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinition {
	crd := sluice.DeepCopy()
	crd.Spec.Group = Group
	crd.Name = crd.Spec.Names.Plural + "." + Group
	crd.Spec.Names.Categories = []string{"argo"}
	crd.Spec.Names.ShortNames = []string{"app", "apps"}
	return crd
}
