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
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sluicehq/sluice/internal/repo"
	"github.com/sluicehq/sluice/internal/scheme"
)

const demoNamespace = "demo"

// showCanary applies the demo Rollout, waits for its first version, then
// changes the image and narrates the canary step by step until the new
// version is stable.
func showCanary(ctx context.Context, cfg *rest.Config) error {
	cl, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	root, err := repo.Root()
	if err != nil {
		return err
	}
	if err := applyFile(ctx, cl, filepath.Join(root, "examples", "demo", "rollout.yaml")); err != nil {
		return err
	}
	key := client.ObjectKey{Namespace: demoNamespace, Name: "my-app"}
	fmt.Println("== deploying my-app 1.0 (a first deploy goes straight to full size)")
	if err := narrate(ctx, cl, key); err != nil {
		return err
	}

	fmt.Println("== updating my-app to 1.1: the canary walks 20%, pause 5s, 50%, pause 5s, 100%")
	var ro rolloutsv1alpha1.Rollout
	if err := cl.Get(ctx, key, &ro); err != nil {
		return err
	}
	ro.Spec.Template.Spec.Containers[0].Image = "registry.example/my-app:1.1"
	if err := cl.Update(ctx, &ro); err != nil {
		return err
	}
	return narrate(ctx, cl, key)
}

// narrate prints each change of the Rollout's phase, step and pods until it
// is Healthy at its current revision.
func narrate(ctx context.Context, cl client.Client, key client.ObjectKey) error {
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
		done := ro.Status.Phase == rolloutsv1alpha1.RolloutPhaseHealthy &&
			ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation) &&
			ro.Status.StableRS == ro.Status.CurrentPodHash
		if done {
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
	if i := ro.Status.CurrentStepIndex; i != nil && ro.Spec.Strategy.Canary != nil {
		steps := ro.Spec.Strategy.Canary.Steps
		if int(*i) < len(steps) {
			step = fmt.Sprintf("at step %d/%d (%s)  ", *i+1, len(steps), stepName(steps[*i]))
		} else {
			step = "all steps done  "
		}
	}
	phase := string(ro.Status.Phase)
	if ro.Status.Message != "" {
		phase += " (" + ro.Status.Message + ")"
	}
	return fmt.Sprintf("%-48s %spods available: %s", phase, step, strings.Join(versions, " ")), nil
}

func stepName(step rolloutsv1alpha1.CanaryStep) string {
	switch {
	case step.SetWeight != nil:
		return fmt.Sprintf("setWeight %d", *step.SetWeight)
	case step.Pause != nil && step.Pause.Duration != nil:
		return "pause " + step.Pause.Duration.String()
	case step.Pause != nil:
		return "pause"
	default:
		return "analysis"
	}
}

// applyFile creates every object of a YAML file, the namespace first.
func applyFile(ctx context.Context, cl client.Client, path string) error {
	if err := cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: demoNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
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
