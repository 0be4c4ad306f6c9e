package analysis

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/expr-lang/expr"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"k8s.io/utils/clock"
)

// ResolvedPrometheusQuery is the measurement metadata key under which the
// query that ran is recorded, as Argo records it.
const ResolvedPrometheusQuery = "ResolvedPrometheusQuery"

// defaultPrometheusTimeout bounds a query that sets no timeout, as in Argo.
const defaultPrometheusTimeout = 30 * time.Second

// Prometheus measures a metric by querying a Prometheus server's HTTP API.
type Prometheus struct {
	// DefaultAddress serves metrics whose spec names no address.
	DefaultAddress string
	// Clock is the time instant queries are evaluated at and range queries
	// end at: the AnalysisRun controller's clock. Nil is the real clock.
	Clock clock.PassiveClock
}

// Measure implements Provider.
func (p Prometheus) Measure(ctx context.Context, req Request) (Measurement, error) {
	return p.Query(ctx, req.Metric.Provider.Prometheus)
}

// Query runs a metric's query. A query that returns nothing is ErrNoData;
// a server that does not answer is an error: both become Error measurements,
// which count against consecutiveErrorLimit, so a Prometheus restart never
// aborts a rollout by itself.
func (p Prometheus) Query(ctx context.Context, spec *rolloutsv1alpha1.PrometheusMetric) (Measurement, error) {
	m := Measurement{Metadata: map[string]string{ResolvedPrometheusQuery: spec.Query}}
	timeout := defaultPrometheusTimeout
	if spec.Timeout != nil {
		if *spec.Timeout < 0 {
			return m, errors.New("prometheus timeout must not be negative")
		}
		timeout = time.Duration(*spec.Timeout) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api, err := p.client(ctx, spec)
	if err != nil {
		return m, err
	}

	var value model.Value
	if spec.RangeQuery != nil {
		r, rangeErr := p.queryRange(spec.RangeQuery)
		if rangeErr != nil {
			return m, rangeErr
		}
		value, _, err = api.QueryRange(ctx, spec.Query, r)
	} else {
		value, _, err = api.Query(ctx, spec.Query, p.now())
	}
	if err != nil {
		return m, fmt.Errorf("querying Prometheus: %w", err)
	}
	m.Value, m.Display, err = flatten(value)
	return m, err
}

// flatten turns a Prometheus value into what conditions see.
func flatten(value model.Value) (any, string, error) {
	switch v := value.(type) {
	case *model.Scalar:
		return float64(v.Value), v.Value.String(), nil
	case *model.String:
		return v.Value, v.Value, nil
	case model.Vector:
		var values []float64
		for _, s := range v {
			if s != nil {
				values = append(values, float64(s.Value))
			}
		}
		return listOrNoData(values)
	case model.Matrix:
		var values []float64
		for _, series := range v {
			if series == nil {
				continue
			}
			for _, s := range series.Values {
				values = append(values, float64(s.Value))
			}
		}
		return listOrNoData(values)
	}
	return nil, "", fmt.Errorf("prometheus result type %T is not supported", value)
}

func listOrNoData(values []float64) (any, string, error) {
	if len(values) == 0 {
		return []float64{}, "[]", ErrNoData
	}
	parts := make([]string, len(values))
	for i, f := range values {
		parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return values, "[" + strings.Join(parts, ",") + "]", nil
}

func (p Prometheus) now() time.Time { return clockOrReal(p.Clock).Now() }

// queryRange evaluates a rangeQuery's start and end, expressions such as
// `now() - duration("10m")`.
func (p Prometheus) queryRange(args *rolloutsv1alpha1.PrometheusRangeQueryArgs) (promv1.Range, error) {
	now := p.now()
	at := func(expression string, def time.Time) (time.Time, error) {
		if expression == "" {
			return def, nil
		}
		// now() is the injected clock, not expr's built-in, so a test or a
		// replayed measurement sees one consistent time.
		program, err := expr.Compile(expression, expr.DisableBuiltin("now"),
			expr.Function("now", func(...any) (any, error) { return now, nil }, new(func() time.Time)))
		var out any
		if err == nil {
			out, err = expr.Run(program, nil)
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("rangeQuery time %q: %w", expression, unwrapFileError(err))
		}
		t, ok := out.(time.Time)
		if !ok {
			return time.Time{}, fmt.Errorf("rangeQuery time %q: expected a time, got %T", expression, out)
		}
		return t, nil
	}
	start, err := at(args.Start, now)
	if err != nil {
		return promv1.Range{}, err
	}
	end, err := at(args.End, now)
	if err != nil {
		return promv1.Range{}, err
	}
	step := time.Minute
	if args.Step != "" {
		d, err := args.Step.Duration()
		if err != nil {
			return promv1.Range{}, fmt.Errorf("rangeQuery step %q: %w", args.Step, err)
		}
		step = d
	}
	return promv1.Range{Start: start, End: end, Step: step}, nil
}

// client builds an API client for a metric: its address (or the default),
// headers, TLS verification and OAuth2 client credentials. It is cheap: the
// connections belong to the shared transport underneath. ctx bounds the
// query, and the token request too.
func (p Prometheus) client(ctx context.Context, spec *rolloutsv1alpha1.PrometheusMetric) (promv1.API, error) {
	address := spec.Address
	if address == "" {
		address = p.DefaultAddress
	}
	if address == "" {
		return nil, errors.New("no Prometheus address: set provider.prometheus.address or the controller's --prometheus-address")
	}
	var rt http.RoundTripper = transportFor(spec.Insecure)
	if len(spec.Headers) > 0 {
		rt = headerRoundTripper{headers: spec.Headers, next: rt}
	}
	if oauth := spec.Authentication.OAuth2; oauth.TokenURL != "" {
		cfg := clientcredentials.Config{ClientID: oauth.ClientID, ClientSecret: oauth.ClientSecret, TokenURL: oauth.TokenURL, Scopes: oauth.Scopes}
		// The token is requested within the query's context, so within its
		// timeout: on context.Background(), a token endpoint that never
		// answered held the measurement, and with it every run, for ever.
		rt = cfg.Client(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: rt})).Transport
	}
	c, err := promapi.NewClient(promapi.Config{Address: address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", address, err)
	}
	return promv1.NewAPI(c), nil
}

type headerRoundTripper struct {
	headers []rolloutsv1alpha1.WebMetricHeader
	next    http.RoundTripper
}

func (h headerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for _, header := range h.headers {
		req.Header.Set(header.Key, header.Value)
	}
	return h.next.RoundTrip(req)
}
