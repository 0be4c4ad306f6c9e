package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitopsv1alpha1 "github.com/sluicehq/sluice/apis/gitops/v1alpha1"
	"github.com/sluicehq/sluice/controllers/application"
	"github.com/sluicehq/sluice/gitops/decrypt/sopstest"
	"github.com/sluicehq/sluice/test/gitserver"
)

// Secrets in Git: SOPS-encrypted manifests decrypted at render time with
// the keys of a Secret the Application names, and the encrypted kinds of
// other tools (SealedSecret, ExternalSecret) synced as any custom resource.
var _ = Describe("Applications with secrets in Git", Ordered, func() {
	// Distinctive letters and digits, so no encoding hides them from a
	// substring search.
	const password = "sluiceSopsCanary4d2f8a"
	// encoded is the password as a Secret's data holds it.
	encoded := base64.StdEncoding.EncodeToString([]byte(password))
	var (
		server    *gitserver.Server
		ns        string
		logs      *syncBuffer
		recipient string
		identity  []byte
	)

	encryptedSecret := func(name, forRecipient string) string {
		GinkgoHelper()
		plain := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\ntype: Opaque\nstringData:\n  password: " + password + "\n"
		out, err := sopstest.Encrypt([]byte(plain), sopstest.Options{Age: []string{forRecipient}})
		Expect(err).NotTo(HaveOccurred())
		Expect(string(out)).NotTo(ContainSubstring(password))
		return string(out)
	}
	withDecryption := func(app *gitopsv1alpha1.Application) {
		app.Spec.Decryption = &gitopsv1alpha1.Decryption{Provider: "sops",
			SecretRef: &corev1.LocalObjectReference{Name: "sops-keys"}}
	}
	// expectNoLeak checks that neither the password nor the key reached the
	// Application's status, the events of its namespaces or the manager's log.
	expectNoLeak := func(ctx context.Context, app *gitopsv1alpha1.Application, dest string) {
		GinkgoHelper()
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(app), app)).To(Succeed())
		status, err := json.Marshal(app.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(status)).NotTo(Or(ContainSubstring(password), ContainSubstring(encoded)))
		for _, namespace := range []string{ns, dest} {
			var events eventsv1.EventList
			Expect(k8sClient.List(ctx, &events, client.InNamespace(namespace))).To(Succeed())
			text, err := json.Marshal(events.Items)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(text)).NotTo(Or(ContainSubstring(password), ContainSubstring(encoded)))
		}
		Expect(logs.String()).NotTo(Or(ContainSubstring(password), ContainSubstring(encoded)))
		Expect(logs.String()).NotTo(ContainSubstring("AGE-SECRET-KEY"))
	}

	BeforeAll(func(ctx context.Context) {
		// The manager logs to GinkgoWriter (startController), its events
		// recorder too: everything it writes lands in logs.
		logs = &syncBuffer{}
		GinkgoWriter.TeeTo(logs)
		DeferCleanup(GinkgoWriter.ClearTeeWriters)
		server = startGitServer()
		startApplicationController(application.Options{})
		ns = newNamespace(ctx, "sops-")
		var err error
		recipient, identity, err = sopstest.AgeKey()
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sops-keys"},
			Data:       map[string][]byte{"identity.agekey": identity},
		})).To(Succeed())
	})

	It("applies the decrypted Secret of a plain directory, and nothing of the plaintext reaches status, events or logs", func(ctx context.Context) {
		_, app, dest, _ := deployRepo(ctx, server, ns, "plain", map[string]string{
			"app/db.enc.yaml": encryptedSecret("db", recipient),
			"app/config.yaml": configMapManifest("settings", "1"),
		}, withDecryption)
		DeferCleanup(forgetApplication, app)
		Expect(get[corev1.Secret](ctx, dest, "db").Data).To(HaveKeyWithValue("password", []byte(password)))
		Expect(inventoryOf(ctx, client.ObjectKeyFromObject(app))).To(ConsistOf("Secret "+dest+"/db", "ConfigMap "+dest+"/settings"))
		expectNoLeak(ctx, app, dest)
	})

	It("applies the decrypted Secret of a kustomization", func(ctx context.Context) {
		_, app, dest, _ := deployRepo(ctx, server, ns, "kustomized", map[string]string{
			"app/kustomization.yaml": "resources:\n- db.enc.yaml\n- config.yaml\n",
			"app/db.enc.yaml":        encryptedSecret("db", recipient),
			"app/config.yaml":        configMapManifest("settings", "1"),
		}, withDecryption)
		DeferCleanup(forgetApplication, app)
		Expect(get[corev1.Secret](ctx, dest, "db").Data).To(HaveKeyWithValue("password", []byte(password)))
		expectNoLeak(ctx, app, dest)
	})

	It("fails a revision encrypted for another key with a condition naming the file, applying and pruning nothing of it", func(ctx context.Context) {
		repo, app, dest, _ := deployRepo(ctx, server, ns, "rekeyed", map[string]string{
			"app/db.enc.yaml": encryptedSecret("db", recipient),
			"app/config.yaml": configMapManifest("settings", "1"),
			"app/old.yaml":    configMapManifest("old", "1"),
		}, withDecryption)
		DeferCleanup(forgetApplication, app)

		By("committing the Secret encrypted for a key the Application does not hold, with other changes")
		other, _, err := sopstest.AgeKey()
		Expect(err).NotTo(HaveOccurred())
		commitFiles(repo, map[string]string{
			"app/db.enc.yaml": encryptedSecret("db", other),
			"app/config.yaml": configMapManifest("settings", "2"),
			"app/new.yaml":    configMapManifest("new", "1"),
		}, "app/old.yaml")
		Eventually(func(g Gomega) {
			ready := readyOf(ctx, app)(g)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal("DecryptionFailed"))
			g.Expect(ready.Message).To(ContainSubstring("db.enc.yaml: Secret db cannot be decrypted: no key of the Secret opens it"))
		}).WithContext(ctx).Should(Succeed())

		By("the earlier revision's objects staying as they were")
		Expect(get[corev1.ConfigMap](ctx, dest, "settings").Data).To(HaveKeyWithValue("value", "1"))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "old"}, &corev1.ConfigMap{})).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "new"}, &corev1.ConfigMap{})).To(Satisfy(apierrors.IsNotFound))
		Expect(get[corev1.Secret](ctx, dest, "db").Data).To(HaveKeyWithValue("password", []byte(password)))
		expectNoLeak(ctx, app, dest)
	})

	It("kubectl sluice app diff decrypts with the keys the user may read, and masks the decrypted Secret's values", func(ctx context.Context) {
		dest := ns + "-diff"
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dest}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: dest, Name: "db"},
			Data: map[string][]byte{"password": []byte("sluiceLiveValue1b3e")}})).To(Succeed())
		repo, _ := pushRepo(server, "diffed", map[string]string{"app/db.enc.yaml": encryptedSecret("db", recipient)})
		app := newApplication(ctx, ns, "diffed", appDir(repo.URL), dest, false, withDecryption,
			func(app *gitopsv1alpha1.Application) { app.Spec.SyncPolicy.Automated = nil })
		DeferCleanup(forgetApplication, app)
		session := appDiff(ns, "diffed", 1)
		out := string(session.Out.Contents())
		Expect(out).To(ContainSubstring("git Secret " + dest + "/db"))
		Expect(out).To(ContainSubstring("*** (after)"))
		Expect(out).NotTo(Or(ContainSubstring(password), ContainSubstring(encoded)))
		Expect(out).NotTo(Or(ContainSubstring("sluiceLiveValue1b3e"), ContainSubstring(base64.StdEncoding.EncodeToString([]byte("sluiceLiveValue1b3e")))))
	})

	It("fails with DecryptionFailed naming the Secret when the key Secret is missing", func(ctx context.Context) {
		repo, _ := pushRepo(server, "keyless", map[string]string{"app/db.enc.yaml": encryptedSecret("db", recipient)})
		app := newApplication(ctx, ns, "keyless", appDir(repo.URL), ns+"-keyless", true, func(app *gitopsv1alpha1.Application) {
			app.Spec.Decryption = &gitopsv1alpha1.Decryption{Provider: "sops", SecretRef: &corev1.LocalObjectReference{Name: "no-such-keys"}}
		})
		DeferCleanup(forgetApplication, app)
		Eventually(func(g Gomega) {
			ready := readyOf(ctx, app)(g)
			g.Expect(ready.Reason).To(Equal("DecryptionFailed"))
			g.Expect(ready.Message).To(ContainSubstring("spec.decryption.secretRef: reading Secret no-such-keys"))
		}).WithContext(ctx).Should(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns + "-keyless", Name: "db"}, &corev1.Secret{})).To(Satisfy(apierrors.IsNotFound))
	})

	It("refuses a provider other than sops with a clear error", func(ctx context.Context) {
		app := &gitopsv1alpha1.Application{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vault"},
			Spec: gitopsv1alpha1.ApplicationSpec{
				Source:     appDir(server.URL + "/none.git"),
				Decryption: &gitopsv1alpha1.Decryption{Provider: "vault", SecretRef: &corev1.LocalObjectReference{Name: "sops-keys"}},
			},
		}
		err := k8sClient.Create(ctx, app)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring(`spec.decryption.provider: Unsupported value: "vault"`))
	})

	It("syncs SealedSecrets and ExternalSecrets as custom resources, their CRDs applied first from the same revision", func(ctx context.Context) {
		_, app, dest, _ := deployRepo(ctx, server, ns, "sealed", map[string]string{
			"app/crds.yaml":            sealedSecretCRD + "---\n" + externalSecretCRD,
			"app/sealed-secret.yaml":   sealedSecret,
			"app/external-secret.yaml": seedExternalSecret,
		})
		DeferCleanup(forgetApplication, app)
		Expect(inventoryOf(ctx, client.ObjectKeyFromObject(app))).To(ConsistOf(
			"CustomResourceDefinition /sealedsecrets.bitnami.com", "CustomResourceDefinition /externalsecrets.external-secrets.io",
			"SealedSecret "+dest+"/db-credentials", "ExternalSecret "+dest+"/db-credentials"))
		external := &unstructured.Unstructured{}
		external.SetGroupVersionKind(schema.GroupVersionKind{Group: "external-secrets.io", Version: "v1beta1", Kind: "ExternalSecret"})
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "db-credentials"}, external)).To(Succeed())
		Expect(external.Object["spec"]).To(Equal(map[string]any{
			"refreshInterval": "1h",
			"secretStoreRef":  map[string]any{"name": "aws-secrets-manager", "kind": "SecretStore"},
			"target":          map[string]any{"name": "db-credentials"},
			"data":            []any{map[string]any{"secretKey": "password", "remoteRef": map[string]any{"key": "prod/db/password"}}},
		}))
		sealed := &unstructured.Unstructured{}
		sealed.SetGroupVersionKind(schema.GroupVersionKind{Group: "bitnami.com", Version: "v1alpha1", Kind: "SealedSecret"})
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "db-credentials"}, sealed)).To(Succeed())
		data, _, _ := unstructured.NestedStringMap(sealed.Object, "spec", "encryptedData")
		Expect(data).To(HaveKeyWithValue("password", "AgBy3i4OJSWK+PiTySYZZA=="))

		By("a hand edit of the ExternalSecret is put back by self-heal")
		patchMerge(ctx, external, `{"spec":{"refreshInterval":"5m"}}`)
		Eventually(func(g Gomega) string {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: dest, Name: "db-credentials"}, external)).To(Succeed())
			interval, _, _ := unstructured.NestedString(external.Object, "spec", "refreshInterval")
			return interval
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Equal("1h"))
		Expect(strings.Contains(logs.String(), password)).To(BeFalse())
	})
})

// The seed's ExternalSecret, verbatim.
const seedExternalSecret = `apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: db-credentials
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: aws-secrets-manager
    kind: SecretStore
  target:
    name: db-credentials
  data:
  - secretKey: password
    remoteRef:
      key: prod/db/password
`

// A SealedSecret as kubeseal writes one; the ciphertext is made-up bytes.
const sealedSecret = `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: db-credentials
spec:
  encryptedData:
    password: AgBy3i4OJSWK+PiTySYZZA==
  template:
    metadata:
      name: db-credentials
    type: Opaque
`

// CRDs shaped like the SealedSecret and ExternalSecret ones, with small
// structural schemas of our own.
const sealedSecretCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: sealedsecrets.bitnami.com
spec:
  group: bitnami.com
  scope: Namespaced
  names:
    kind: SealedSecret
    listKind: SealedSecretList
    plural: sealedsecrets
    singular: sealedsecret
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [encryptedData]
            properties:
              encryptedData:
                type: object
                additionalProperties:
                  type: string
              template:
                type: object
                x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`

const externalSecretCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: externalsecrets.external-secrets.io
spec:
  group: external-secrets.io
  scope: Namespaced
  names:
    kind: ExternalSecret
    listKind: ExternalSecretList
    plural: externalsecrets
    singular: externalsecret
    shortNames: [es]
  versions:
  - name: v1beta1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              refreshInterval:
                type: string
              secretStoreRef:
                type: object
                required: [name]
                properties:
                  name:
                    type: string
                  kind:
                    type: string
                    enum: [SecretStore, ClusterSecretStore]
              target:
                type: object
                properties:
                  name:
                    type: string
              data:
                type: array
                items:
                  type: object
                  required: [secretKey, remoteRef]
                  properties:
                    secretKey:
                      type: string
                    remoteRef:
                      type: object
                      required: [key]
                      properties:
                        key:
                          type: string
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`
