package notifications

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/argoproj/notifications-engine/pkg/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Source is one configuration of notifications (a ConfigMap and a Secret
// of the manager's namespace), kept current by watches on those two
// objects alone, and the engine's API built from it.
type Source struct {
	factory    api.Factory
	settings   api.Settings
	namespace  string
	configMaps cache.SharedIndexInformer
	secrets    cache.SharedIndexInformer
	informers  []informers.SharedInformerFactory
}

// NewSource watches settings' ConfigMap and Secret in namespace. Nothing
// else of the namespace is read: each watch selects its object by name.
func NewSource(clientset kubernetes.Interface, namespace string, settings api.Settings) *Source {
	byName := func(name string) informers.SharedInformerFactory {
		return informers.NewSharedInformerFactoryWithOptions(clientset, 10*time.Minute,
			informers.WithNamespace(namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
			}))
	}
	cms, secrets := byName(settings.ConfigMapName), byName(settings.SecretName)
	s := &Source{
		settings:   settings,
		namespace:  namespace,
		configMaps: cms.Core().V1().ConfigMaps().Informer(),
		secrets:    secrets.Core().V1().Secrets().Informer(),
		informers:  []informers.SharedInformerFactory{cms, secrets},
	}
	s.factory = api.NewFactory(settings, namespace, s.secrets, s.configMaps)
	return s
}

// GetAPI is the engine's API of the current configuration; the engine
// makes a new one when the ConfigMap or the Secret changes.
func (s *Source) GetAPI() (api.API, error) { return s.factory.GetAPI() }

// Synced says whether both objects (or their absence) are known.
func (s *Source) Synced() bool { return s.configMaps.HasSynced() && s.secrets.HasSynced() }

// WaitSynced waits at most timeout for Synced.
func (s *Source) WaitSynced(timeout time.Duration) bool {
	if s.Synced() {
		return true
	}
	stop := make(chan struct{})
	timer := time.AfterFunc(timeout, func() { close(stop) })
	defer timer.Stop()
	return cache.WaitForCacheSync(stop, s.configMaps.HasSynced, s.secrets.HasSynced)
}

// object is the configuration's object of that name, or nil.
func (s *Source) object(informer cache.SharedIndexInformer, name string) any {
	obj, found, err := informer.GetIndexer().GetByKey(s.namespace + "/" + name)
	if err != nil || !found {
		return nil
	}
	return obj
}

// Start runs the watches until ctx ends, returning once both objects (or
// their absence) are known.
func (s *Source) Start(ctx context.Context) error {
	for _, f := range s.informers {
		f.Start(ctx.Done())
	}
	for _, f := range s.informers {
		for typ, synced := range f.WaitForCacheSync(ctx.Done()) {
			if !synced {
				return fmt.Errorf("watching the notifications %v of %s: %w", typ, s.namespace, ctx.Err())
			}
		}
	}
	return nil
}

// Namespace is where the configuration is read from.
func (s *Source) Namespace() string { return s.namespace }

// Settings are the names and variables of this configuration.
func (s *Source) Settings() api.Settings { return s.settings }

// Redact replaces in text every value of the configuration's Secret, so
// an error a service returns (which may quote its URL or token) can go to
// an event or a log.
func (s *Source) Redact(text string) string {
	secret, ok := s.object(s.secrets, s.settings.SecretName).(*corev1.Secret)
	if !ok {
		return text
	}
	return Redact(text, secret.Data)
}

// Redact replaces every value of data (a notification Secret's) found in
// text, the longest first (so a value that contains another is replaced
// whole); values shorter than four bytes are left, as they would hide
// ordinary words.
func Redact(text string, data map[string][]byte) string {
	values := make([]string, 0, len(data))
	for _, v := range data {
		if value := strings.TrimSpace(string(v)); len(value) >= 4 {
			values = append(values, value)
		}
	}
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	for _, v := range values {
		// The forms an error may quote a value in: as it is, escaped in a
		// URL's query or path, or quoted by %q.
		quoted := strconv.Quote(v)
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v), quoted[1 : len(quoted)-1]} {
			text = strings.ReplaceAll(text, form, "******")
		}
	}
	return text
}
