package notifications

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/argoproj/notifications-engine/pkg/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sluicenotifications "github.com/sluicehq/sluice/notifications"
)

// emptySecret is the --secret value for no Secret, as Argo's tools take it.
const emptySecret = ":empty"

// configuration is one configuration as the manager would read it: the
// ConfigMap and Secret of the manager's namespace, or the files given.
type configuration struct {
	settings  api.Settings
	configMap *corev1.ConfigMap
	secret    *corev1.Secret
}

// readConfiguration reads the kind's ConfigMap and, when withSecret, its
// Secret; without, the configuration is read with an empty Secret (listing
// triggers and templates needs none, and reads none).
func (o *Options) readConfiguration(ctx context.Context, withSecret bool) (*configuration, error) {
	c := &configuration{settings: o.kind.settings(o.analysisRuns(ctx))}
	var err error
	if c.configMap, err = o.readConfigMap(ctx, c.settings.ConfigMapName); err != nil {
		return nil, err
	}
	c.secret = &corev1.Secret{}
	if withSecret {
		if c.secret, err = o.readSecret(ctx, c.settings.SecretName); err != nil {
			return nil, err
		}
	}
	// As the manager's: the configuration's namespace is its own.
	c.configMap.Namespace, c.secret.Namespace = o.ConfigNamespace, o.ConfigNamespace
	c.configMap.Name, c.secret.Name = c.settings.ConfigMapName, c.settings.SecretName
	return c, nil
}

func (o *Options) readConfigMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	if o.ConfigMapFile != "" {
		return cm, o.readFile(o.ConfigMapFile, "ConfigMap", name, cm)
	}
	err := o.client.Get(ctx, client.ObjectKey{Namespace: o.ConfigNamespace, Name: name}, cm)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("no ConfigMap %s in namespace %s, where the manager reads its %s notifications: "+
			"name the manager's namespace with --config-namespace, or give a file with --config-map", name, o.ConfigNamespace, o.kind.name)
	case err != nil:
		return nil, fmt.Errorf("reading ConfigMap %s in namespace %s: %w", name, o.ConfigNamespace, err)
	}
	return cm, nil
}

func (o *Options) readSecret(ctx context.Context, name string) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	switch o.SecretFile {
	case emptySecret:
		return secret, nil
	case "":
		err := o.client.Get(ctx, client.ObjectKey{Namespace: o.ConfigNamespace, Name: name}, secret)
		switch {
		case apierrors.IsNotFound(err):
			return &corev1.Secret{}, nil // as the manager: no Secret, no values
		case apierrors.IsForbidden(err):
			return nil, fmt.Errorf("reading Secret %s in namespace %s is forbidden to you: give --secret %s (no Secret) or --secret FILE",
				name, o.ConfigNamespace, emptySecret)
		case err != nil:
			return nil, fmt.Errorf("reading Secret %s in namespace %s: %w", name, o.ConfigNamespace, err)
		}
		return secret, nil
	}
	if err := o.readFile(o.SecretFile, "Secret", name, secret); err != nil {
		return nil, err
	}
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	for k, v := range secret.StringData {
		secret.Data[k] = []byte(v)
	}
	secret.StringData = nil
	return secret, nil
}

// readFile reads into into the object of kind named name in a YAML or
// JSON file of one or more documents ("-": stdin), or the file's only
// object of that kind.
func (o *Options) readFile(path, kind, name string, into runtime.Object) error {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(o.In)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return fmt.Errorf("reading the %s file: %w", kind, err)
	}
	obj, err := findObject(data, kind, name)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		return fmt.Errorf("%s: %s %s: %w", path, kind, obj.GetName(), err)
	}
	return nil
}

// findObject is the object of kind (core group) named name in data, or
// the only object of that kind there.
func findObject(data []byte, kind, name string) (*unstructured.Unstructured, error) {
	decoder := kubeyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var found []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		var obj map[string]any
		if err := decoder.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("document %d is not YAML or JSON: %w", doc, err)
		}
		if obj == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.GetKind() == kind && u.GroupVersionKind().Group == "" {
			found = append(found, u)
		}
	}
	var names []string
	for _, u := range found {
		if u.GetName() == name {
			return u, nil
		}
		names = append(names, u.GetName())
	}
	if len(found) == 1 {
		return found[0], nil
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no %s in the file", kind)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("no %s named %s in the file, and more than one other (%s)", kind, name, strings.Join(names, ", "))
}

// config is the configuration parsed as the engine parses it.
func (c *configuration) config() (*api.Config, error) {
	cfg, err := api.ParseConfig(c.configMap, c.secret)
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s: %s", c.configMap.Name, c.redact(err.Error()))
	}
	return cfg, nil
}

// api is the engine's API the manager builds from this configuration
// (the engine's factory does no more: parse, variables, services).
func (c *configuration) api() (api.API, *api.Config, error) {
	cfg, err := c.config()
	if err != nil {
		return nil, nil, err
	}
	getVars, err := c.settings.InitGetVars(cfg, c.configMap, c.secret)
	if err != nil {
		return nil, nil, fmt.Errorf("ConfigMap %s: %s", c.configMap.Name, c.redact(err.Error()))
	}
	notifier, err := api.NewAPI(*cfg, getVars)
	if err != nil {
		return nil, nil, fmt.Errorf("ConfigMap %s: %s", c.configMap.Name, c.redact(err.Error()))
	}
	return notifier, cfg, nil
}

// redact replaces every value of the Secret in text, the longest first,
// so an error quoting a service's URL or token can be printed. Values
// shorter than four bytes are left, as they would hide ordinary words.
func (c *configuration) redact(text string) string {
	return sluicenotifications.Redact(text, c.secret.Data)
}

// serviceTypes are the configured services' types by name: the key
// service.<type> names a service <type>, service.<type>.<name> one <name>.
func (c *configuration) serviceTypes() map[string]string {
	types := map[string]string{}
	for key := range c.configMap.Data {
		parts := strings.Split(key, ".")
		switch {
		case parts[0] != "service":
		case len(parts) == 2:
			types[parts[1]] = parts[1]
		case len(parts) == 3:
			types[parts[2]] = parts[1]
		}
	}
	return types
}
