package gitops

import (
	"fmt"
	"strings"
)

// Mix is how many objects of each kind an Application's path holds.
type Mix struct {
	ConfigMaps, Deployments, Services int
}

// Objects is the number of objects in the mix.
func (m Mix) Objects() int { return m.ConfigMaps + m.Deployments + m.Services }

// The mixes measured: mostly configuration, with some workloads and their
// Services, as real applications hold. Many50 is Large scaled down to 50
// objects with a Service per Deployment, as the small apps of a platform
// have.
var (
	Large  = Mix{ConfigMaps: 4500, Deployments: 250, Services: 250}
	Many50 = Mix{ConfigMaps: 44, Deployments: 3, Services: 3}
)

// Scaled is the mix in its own proportions at about objects in all.
func (m Mix) Scaled(objects int) Mix {
	if objects == m.Objects() {
		return m
	}
	return Mix{
		ConfigMaps:  objects * m.ConfigMaps / m.Objects(),
		Deployments: objects * m.Deployments / m.Objects(),
		Services:    objects * m.Services / m.Objects(),
	}
}

// configMapsPerFile is how many ConfigMaps one file holds: teams keep
// configuration in a few long files rather than a file per key.
const configMapsPerFile = 50

// BenchImage is the image of the mixes' Deployments; kwok starts any image.
const BenchImage = "registry.example/bench:1.0"

// Files are a mix as a plain directory of YAML under dir: ConfigMaps fifty
// to a file, each Deployment in a file with its Service (while Services
// last). No object names a namespace, so the same files apply anywhere.
// The Services are headless: the simulated cluster's service range holds
// 254 addresses, fewer than the measurements make Services, and an address
// is no part of what a syncer does.
func Files(dir string, m Mix) map[string]string {
	files := map[string]string{}
	for first := 0; first < m.ConfigMaps; first += configMapsPerFile {
		var docs []string
		for i := first; i < min(first+configMapsPerFile, m.ConfigMaps); i++ {
			docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: config-%04d
data:
  setting: value-%d
  feature-flags: "a,b,c"
`, i, i))
		}
		files[fmt.Sprintf("%s/config-%04d.yaml", dir, first)] = strings.Join(docs, "---\n")
	}
	for i := range max(m.Deployments, m.Services) {
		var docs []string
		if i < m.Deployments {
			docs = append(docs, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-%04d
spec:
  replicas: 1
  selector: {matchLabels: {app: web-%04d}}
  template:
    metadata: {labels: {app: web-%04d}}
    spec:
      containers:
      - name: web
        image: %s
        ports: [{containerPort: 8080}]
`, i, i, i, BenchImage))
		}
		if i < m.Services {
			docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: web-%04d
spec:
  clusterIP: None
  selector: {app: web-%04d}
  ports: [{port: 80, targetPort: 8080}]
`, i, i))
		}
		files[fmt.Sprintf("%s/web-%04d.yaml", dir, i)] = strings.Join(docs, "---\n")
	}
	return files
}

// CanaryImage is the canary application's image at a tag.
func CanaryImage(tag string) string { return "registry.example/shop:" + tag }

// Names in the canary application.
const (
	canaryRollout = "shop"
	stableService = "shop-stable"
	canaryService = "shop-canary"
	canaryRoute   = "shop"
	// canaryWeight is the canary's first step's weight.
	canaryWeight = 20
)

// CanaryFiles are a canary-delivered application under dir at an image
// tag: a Rollout whose traffic moves on a Gateway API HTTPRoute (Argo
// Rollouts' Gateway API plugin's configuration), its stable and canary
// Services, and the route. The first step sends canaryWeight percent to the
// canary, a short pause, then full promotion: each new tag runs the whole
// canary by itself and leaves the route at 100/0 again for the next.
func CanaryFiles(dir, tag string) map[string]string {
	service := func(name string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
spec:
  clusterIP: None
  selector: {app: shop}
  ports: [{port: 80, targetPort: 8080}]
`, name)
	}
	return map[string]string{
		dir + "/services.yaml": service(stableService) + "---\n" + service(canaryService),
		dir + "/route.yaml": fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: %s
spec:
  rules:
  - backendRefs:
    - {name: %s, port: 80, weight: 100}
    - {name: %s, port: 80, weight: 0}
`, canaryRoute, stableService, canaryService),
		dir + "/rollout.yaml": fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: %s
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - name: shop
        image: %s
        ports: [{containerPort: 8080}]
  strategy:
    canary:
      canaryService: %s
      stableService: %s
      scaleDownDelaySeconds: 1
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: {httpRoute: %s}
      steps:
      - setWeight: %d
      - pause: {duration: 1s}
`, canaryRollout, CanaryImage(tag), canaryService, stableService, canaryRoute, canaryWeight),
	}
}
