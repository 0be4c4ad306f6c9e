package analysis

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

// FuzzSubstitute feeds arbitrary metrics and argument values to Substitute:
// whatever a template says and whatever an argument holds, substitution
// must not crash, must put a value verbatim where its placeholder stood,
// must leave a metric with no placeholder as it was, and must give metrics
// that still encode and decode.
//
//	go test -run XXX -fuzz FuzzSubstitute -fuzztime 60s ./analysis/
func FuzzSubstitute(f *testing.F) {
	for _, seed := range []struct{ metric, a, b string }{
		{`{"name":"m","provider":{"prometheus":{"query":"rate(x{q=\"{{args.a}}\"}[1m])"}}}`, "web", "x"},
		{`{"name":"m","provider":{"prometheus":{"query":"{{ args.b }}{{args.a}}"}}}`, `ends with "`, `back\slash`},
		{`{"name":"{{args.a}}","count":"{{args.b}}","interval":"{{args.b}}s"}`, "{{args.b}}", "3"},
		{`{"name":"m","provider":{"web":{"url":"http://x/{{args.a}}","jsonBody":{"z":1e400,"a":["{{args.b}}",null,true]}}}}`, "}}", "\n\t\"\\"},
		{`{"name":"m","provider":{"job":{"metadata":{"labels":{"{{args.a}}":"{{args.b}}"}},"spec":{"template":{"spec":{"containers":[{"name":"c","args":["{{args.a"]}]}}}}}}`, "k", "v"},
		{`{"name":"m","provider":{"web":{"jsonBody":{"a":"\u0041\/\u007b{","b":[1.50,-0,"\ud800"]}}}}`, "", "{"},
		{"{\"name\":\"m\",\"provider\":{\"web\":{\"jsonBody\":{\"\xff\":\"{{args.a}}\"}}}}", "a", "b"},
		{`{"name":"m","successCondition":"result == '{{metric.x}}'","provider":{"prometheus":{"query":"{{args.missing}}"}}}`, "\xff", "ü"},
	} {
		f.Add(seed.metric, seed.a, seed.b)
	}
	f.Fuzz(func(t *testing.T, metricText, a, b string) {
		var metric rolloutsv1alpha1.Metric
		if json.Unmarshal([]byte(metricText), &metric) != nil {
			return // not a metric: the API server would have refused it
		}
		before, err := json.Marshal(metric)
		if err != nil {
			return // decodes but cannot be encoded again: no run could hold it
		}
		// A metric whose placeholders are known, to check values arrive
		// verbatim whatever the other metric does.
		probe := rolloutsv1alpha1.Metric{Name: "probe", Provider: rolloutsv1alpha1.MetricProvider{
			Prometheus: &rolloutsv1alpha1.PrometheusMetric{Query: "<{{args.a}}|{{ args.b }}>"},
		}}
		out, err := Substitute([]rolloutsv1alpha1.Metric{metric, probe}, map[string]string{"a": a, "b": b})
		if err != nil {
			if !bytes.Contains(before, []byte("{{")) && utf8.ValidString(a) && utf8.ValidString(b) {
				t.Fatalf("nothing to refuse, yet: %v", err)
			}
			return
		}
		if got, want := out[1].Provider.Prometheus.Query, "<"+a+"|"+b+">"; got != want {
			t.Fatalf("substituted query %q, want %q", got, want)
		}
		after, err := json.Marshal(out[0])
		if err != nil {
			t.Fatalf("the substituted metric does not encode: %v", err)
		}
		var decoded rolloutsv1alpha1.Metric
		if err := json.Unmarshal(after, &decoded); err != nil {
			t.Fatalf("the substituted metric does not decode: %v\n%s", err, after)
		}
		// A string may be written another way (a web metric's jsonBody keeps
		// the escapes it was written with, such as \u0041 for A), so "as it
		// was" is compared on the decoded JSON.
		if !bytes.Contains(before, []byte("{{")) && !reflect.DeepEqual(decodeJSON(t, before), decodeJSON(t, after)) {
			t.Fatalf("a metric with no placeholder changed:\n%s\n%s", before, after)
		}
	})
}

func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return v
}
