package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"k8s.io/client-go/util/jsonpath"
)

// defaultWebTimeout bounds a request that sets no timeoutSeconds, as in Argo.
const defaultWebTimeout = 10 * time.Second

// maxWebBody caps how much of a response is read.
const maxWebBody = 1 << 20

// Web measures a metric by calling an HTTP endpoint and reading a value out
// of its JSON answer with a JSONPath (the whole document by default).
type Web struct{}

// Measure implements Provider.
func (w Web) Measure(ctx context.Context, req Request) (Measurement, error) {
	return w.Call(ctx, req.Metric.Provider.Web)
}

// Call calls the metric's URL. A non-2xx answer or a JSONPath that finds
// nothing is an error. A body that is not JSON is handed to the conditions
// as a string (Argo declares it Successful without evaluating them).
func (Web) Call(ctx context.Context, spec *rolloutsv1alpha1.WebMetric) (Measurement, error) {
	m := Measurement{}
	timeout := defaultWebTimeout
	if spec.TimeoutSeconds > 0 {
		timeout = time.Duration(spec.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	method := string(spec.Method)
	if method == "" {
		method = http.MethodGet
	}
	body := []byte(spec.Body)
	if len(spec.JSONBody) > 0 {
		body = spec.JSONBody
	}
	req, err := http.NewRequestWithContext(ctx, method, spec.URL, bytes.NewReader(body))
	if err != nil {
		return m, fmt.Errorf("web metric request: %w", err)
	}
	if len(spec.JSONBody) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range spec.Headers {
		req.Header.Set(h.Key, h.Value)
	}
	client := &http.Client{Transport: transportFor(spec.Insecure)}
	resp, err := client.Do(req)
	if err != nil {
		return m, fmt.Errorf("calling %s: %w", spec.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxWebBody))
	if err != nil {
		return m, fmt.Errorf("reading the answer of %s: %w", spec.URL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return m, fmt.Errorf("%s answered %s", spec.URL, resp.Status)
	}
	var document any
	if err := json.Unmarshal(data, &document); err != nil {
		m.Value, m.Display = string(data), string(data)
		return m, nil
	}
	m.Value, m.Display, err = pick(document, spec.JSONPath)
	return m, err
}

// pick evaluates a JSONPath on a document and returns the first value found.
func pick(document any, path string) (any, string, error) {
	if path == "" {
		path = "{$}"
	}
	jp := jsonpath.New("metric")
	if err := jp.Parse(path); err != nil {
		return nil, "", fmt.Errorf("jsonPath %q: %w", path, err)
	}
	results, err := jp.FindResults(document)
	if err != nil {
		return nil, "", fmt.Errorf("jsonPath %q: %w", path, err)
	}
	for _, found := range results {
		for _, v := range found {
			value := v.Interface()
			display, err := json.Marshal(value)
			return value, string(display), err
		}
	}
	return nil, "", errors.New("jsonPath " + path + " found no value")
}
