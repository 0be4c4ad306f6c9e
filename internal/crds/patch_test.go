package crds

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// The equivalence suite (package crds_test) checks Patch against Argo's
// published CRDs; these specs cover the schema surgery on small fixtures.
var _ = Describe("replaceAt", func() {
	open := apiextensionsv1.JSONSchemaProps{XPreserveUnknownFields: ptrTo(true)}

	fixture := func() *apiextensionsv1.JSONSchemaProps {
		container := apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"resources": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"limits": {Type: "object"},
			}},
		}}
		return &apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"containers": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &container}},
			}},
		}}
	}

	It("replaces a node below an array's items", func() {
		root := fixture()
		Expect(replaceAt(root, "spec.containers[].resources.limits", open)).To(Succeed())
		limits := root.Properties["spec"].Properties["containers"].Items.Schema.Properties["resources"].Properties["limits"]
		Expect(limits).To(Equal(open))
	})

	It("replaces a whole property", func() {
		root := fixture()
		Expect(replaceAt(root, "spec.containers", open)).To(Succeed())
		Expect(root.Properties["spec"].Properties["containers"]).To(Equal(open))
	})

	DescribeTable("fails, naming the step, when the path is not in the schema",
		func(path, message string) {
			Expect(replaceAt(fixture(), path, open)).To(MatchError(ContainSubstring(message)))
		},
		Entry("a missing property", "spec.volumes", `no property "volumes" at spec.volumes`),
		Entry("a missing nested property", "spec.containers[].env", `no property "env" at spec.containers[].env`),
		Entry("[] on something that is no array", "spec[].containers", "spec[] is not an array of objects"),
	)
})

var _ = Describe("Patch", func() {
	It("refuses a kind it has no rules for", func() {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		crd.Spec.Names.Kind = "Widget"
		Expect(Patch(crd)).To(MatchError(`crds: no patch rules for kind "Widget"`))
	})
})

var _ = Describe("dropUncorrelatableTransitionRules", func() {
	rules := func() apiextensionsv1.ValidationRules {
		return apiextensionsv1.ValidationRules{{Rule: "self == oldSelf"}, {Rule: "self.size() < 5"}}
	}
	schemaWithList := func(listType *string) *apiextensionsv1.JSONSchemaProps {
		item := apiextensionsv1.JSONSchemaProps{Type: "object", XValidations: rules()}
		return &apiextensionsv1.JSONSchemaProps{Type: "object", XValidations: rules(), Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"items": {Type: "array", XListType: listType, Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &item}},
		}}
	}

	It("drops oldSelf rules only inside lists the API server cannot correlate", func() {
		root := schemaWithList(nil)
		dropUncorrelatableTransitionRules(root, false)
		Expect(root.XValidations).To(Equal(rules()), "the root is correlatable")
		Expect(root.Properties["items"].Items.Schema.XValidations).To(Equal(
			apiextensionsv1.ValidationRules{{Rule: "self.size() < 5"}}))
	})

	It("keeps oldSelf rules inside a list-type=map", func() {
		root := schemaWithList(ptrTo("map"))
		dropUncorrelatableTransitionRules(root, false)
		Expect(root.Properties["items"].Items.Schema.XValidations).To(Equal(rules()))
	})
})
