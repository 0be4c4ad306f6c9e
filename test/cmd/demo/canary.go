package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/sluicehq/sluice/internal/repo"
	"github.com/sluicehq/sluice/internal/rolloutmeta"
	"github.com/sluicehq/sluice/internal/scheme"
	"github.com/sluicehq/sluice/test/gitserver"
	"github.com/sluicehq/sluice/test/promtest"
)

const demoNamespace = "demo"

// appDirectory is where the demo commits the app's kustomization
// (examples/demo/my-app) in its Git repository; the Application syncs that
// directory.
const appDirectory = "apps/my-app"

// errorRateSeries is the exporter's gauge the demo's AnalysisTemplate reads.
const errorRateSeries = `demo_error_rate{app="my-app"}`

// showCanary commits the demo's manifests to Git and creates the
// Application that syncs them, which deploys 1.0; then it commits two new
// images and narrates their canaries step by step: 1.1 with a 1% error
// rate, which the analysis promotes, and 1.2 with 40%, which it aborts.
func showCanary(ctx context.Context, cfg *rest.Config, exporter *promtest.Exporter, gitRepo *gitserver.Repo) error {
	cl, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	root, err := repo.Root()
	if err != nil {
		return err
	}
	commitImage := func(version string) error {
		// The release sets the image's tag in the kustomization.
		tag := map[string]string{`newTag: "1.0"`: fmt.Sprintf("newTag: %q", version)}
		if err := gitRepo.WriteTree(filepath.Join(root, "examples", "demo", "my-app"), appDirectory, tag); err != nil {
			return err
		}
		sha, err := gitRepo.Commit("main", "my-app "+version)
		if err == nil {
			fmt.Printf("   committed %s: %s\n", sha[:12], "my-app "+version)
		}
		return err
	}
	fmt.Println("== committing my-app 1.0 (a kustomization: the Rollout, its Services, route and analysis, and a front-end Deployment and Service)")
	fmt.Println("   and creating the Application that syncs it (a first deploy goes straight to full size)")
	if err := commitImage("1.0"); err != nil {
		return err
	}
	if err := applyFile(ctx, cl, filepath.Join(root, "examples", "demo", "application.yaml"), map[string]string{"REPO_URL": gitRepo.URL}); err != nil {
		return err
	}
	key := client.ObjectKey{Namespace: demoNamespace, Name: "my-app"}
	if err := narrate(ctx, cl, key, "1.0"); err != nil {
		return err
	}
	if err := showFrontend(ctx, cl); err != nil {
		return err
	}

	exporter.Set(errorRateSeries, 0.01)
	fmt.Println("== committing my-app 1.1, error rate 1%: 20%, pause 5s, 50%, analysis, 100% of the route's traffic")
	if err := commitImage("1.1"); err != nil {
		return err
	}
	if err := narrate(ctx, cl, key, "1.1"); err != nil {
		return err
	}

	exporter.Set(errorRateSeries, 0.4)
	fmt.Println("== committing my-app 1.2, error rate 40%: the analysis fails and the canary is aborted")
	if err := commitImage("1.2"); err != nil {
		return err
	}
	return narrate(ctx, cl, key, "1.2")
}

// narrate prints each change of the Rollout's phase, step and pods until it
// runs version (synced from Git) and is Healthy at it, or Degraded by an
// abort.
func narrate(ctx context.Context, cl client.Client, key client.ObjectKey, version string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	last := ""
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		var ro rolloutsv1alpha1.Rollout
		if err := cl.Get(ctx, key, &ro); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		line, err := describe(ctx, cl, &ro)
		if err != nil {
			return err
		}
		if line != last && line != "" {
			fmt.Println("   " + line)
			last = line
		}
		synced := len(ro.Spec.Template.Spec.Containers) > 0 && strings.HasSuffix(ro.Spec.Template.Spec.Containers[0].Image, ":"+version)
		current := synced && ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation)
		promoted := ro.Status.Phase == rolloutsv1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash
		aborted := ro.Status.Abort && ro.Status.Phase == rolloutsv1alpha1.RolloutPhaseDegraded && stableOnly(line)
		if current && (promoted || aborted) {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("the rollout did not finish in 3 minutes")
		case <-tick.C:
		}
	}
}

// describe is one line: phase, step, and available pods by version.
func describe(ctx context.Context, cl client.Client, ro *rolloutsv1alpha1.Rollout) (string, error) {
	var rss appsv1.ReplicaSetList
	if err := cl.List(ctx, &rss, client.InNamespace(ro.Namespace)); err != nil {
		return "", err
	}
	pods := map[string]int32{}
	for _, rs := range rss.Items {
		if owner := metav1.GetControllerOf(&rs); owner == nil || owner.Kind != "Rollout" || owner.Name != ro.Name {
			continue // the front end's
		}
		if n := rs.Status.AvailableReplicas; n > 0 {
			image := rs.Spec.Template.Spec.Containers[0].Image
			pods[image[strings.LastIndex(image, ":")+1:]] += n
		}
	}
	var versions []string
	for v, n := range pods {
		versions = append(versions, fmt.Sprintf("%s×%d", v, n))
	}
	sort.Strings(versions)
	if ro.Status.Phase == "" {
		return "", nil // not reconciled yet
	}
	step := ""
	if i := ro.Status.CurrentStepIndex; i != nil && ro.Spec.Strategy.Canary != nil && !ro.Status.Abort {
		steps := ro.Spec.Strategy.Canary.Steps
		if int(*i) < len(steps) {
			step = fmt.Sprintf("at step %d/%d (%s)  ", *i+1, len(steps), rolloutmeta.DescribeStep(steps[*i]))
		} else {
			step = "all steps done  "
		}
	}
	phase := string(ro.Status.Phase)
	if ro.Status.Message != "" {
		phase += " (" + ro.Status.Message + ")"
	}
	route, err := routeWeights(ctx, cl, ro.Namespace, "my-app")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%-48s %spods available: %-14s route: %s", phase, step, strings.Join(versions, " "), route), nil
}

// showFrontend waits for the front end's Deployment, synced from the same
// kustomization, to have its pods ready, and says so.
func showFrontend(ctx context.Context, cl client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	key := client.ObjectKey{Namespace: demoNamespace, Name: "my-app-frontend"}
	return wait.PollUntilContextCancel(ctx, 300*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var d appsv1.Deployment
		if err := cl.Get(ctx, key, &d); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if d.Spec.Replicas == nil || d.Status.ReadyReplicas != *d.Spec.Replicas {
			return false, nil
		}
		var svc corev1.Service
		if err := cl.Get(ctx, key, &svc); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		fmt.Printf("   Deployment %s: %d/%d pods ready, %s; Service %s: port %d\n", d.Name, d.Status.ReadyReplicas,
			*d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image, svc.Name, svc.Spec.Ports[0].Port)
		return true, nil
	})
}

// routeWeights reads the weights an HTTPRoute's backends carry, as
// "my-app 80 / my-app-canary 20".
func routeWeights(ctx context.Context, cl client.Client, namespace, name string) (string, error) {
	var route gatewayv1.HTTPRoute
	if err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &route); err != nil {
		return "", err
	}
	var parts []string
	for _, rule := range route.Spec.Rules {
		for _, ref := range rule.BackendRefs {
			weight := int32(1)
			if ref.Weight != nil {
				weight = *ref.Weight
			}
			parts = append(parts, fmt.Sprintf("%s %d", ref.Name, weight))
		}
	}
	return strings.Join(parts, " / "), nil
}

// stableOnly reports whether an aborted rollout is back to its stable pods
// only: the narration line lists one version.
func stableOnly(line string) bool {
	pods, _, _ := strings.Cut(line, "route:")
	return strings.Count(pods, "×") == 1
}

// applyFile creates every object of a YAML file, with each key of vars
// replaced by its value.
func applyFile(ctx context.Context, cl client.Client, path string, vars map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for k, v := range vars {
		data = bytes.ReplaceAll(data, []byte(k), []byte(v))
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if err := cl.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s: creating %s %s: %w", path, obj.GetKind(), obj.GetName(), err)
		}
	}
}
