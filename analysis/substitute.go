package analysis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

// argsPrefix starts the name inside a placeholder that an argument fills.
const argsPrefix = "args."

// Substitute returns copies of the metrics with each {{args.NAME}}
// replaced by its value. Placeholders are filled as Argo fills them: the
// name between the braces may have spaces around it, and a placeholder of
// an argument with no value is an error. Unlike Argo, which refuses any
// {{…}} it cannot fill, one that names no argument ({{metric.x}}) is left
// as it is. A value is put in once: a value that itself reads
// {{args.other}} stays so.
//
// Substitution happens inside the metrics' strings, never on their encoded
// form, where a value ending in a quote would end its JSON string early,
// breaking the metric or changing its query. Every string of the metric's
// JSON (an object key too, such as a label's, as in Argo) is decoded,
// substituted and encoded again, so each value ends up verbatim where its
// placeholder stood. The JSON is read token by token rather than decoded
// into maps, so the rest stays as it was: numbers as written, keys in their
// order.
func Substitute(metrics []rolloutsv1alpha1.Metric, values map[string]string) ([]rolloutsv1alpha1.Metric, error) {
	out := make([]rolloutsv1alpha1.Metric, len(metrics))
	for i, metric := range metrics {
		data, err := json.Marshal(metric)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", metric.Name, err)
		}
		data, err = mapJSONStrings(data, func(s string) (string, error) { return fillPlaceholders(s, values) })
		if err == nil {
			err = json.Unmarshal(data, &out[i])
		}
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", metric.Name, err)
		}
	}
	return out, nil
}

// fillPlaceholders replaces the argument placeholders of one string, from
// left to right in a single pass.
func fillPlaceholders(s string, values map[string]string) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	var b strings.Builder
	for {
		open := strings.Index(s, "{{")
		if open < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:open])
		rest := s[open+2:]
		end := strings.Index(rest, "}}")
		if end < 0 {
			if strings.HasPrefix(strings.TrimSpace(rest), argsPrefix) {
				return "", fmt.Errorf("placeholder %q is not closed with }}", shorten("{{"+rest, 40))
			}
			b.WriteString(s[open:])
			return b.String(), nil
		}
		tag := rest[:end]
		s = rest[end+2:]
		name, isArg := strings.CutPrefix(strings.TrimSpace(tag), argsPrefix)
		if !isArg {
			b.WriteString("{{" + tag + "}}")
			continue
		}
		value, ok := values[name]
		if !ok {
			return "", fmt.Errorf("argument %q has no value", name)
		}
		// JSON would turn the bytes that are not UTF-8 into U+FFFD, and
		// Argo's substitution into an invalid escape: either way the value
		// would not arrive as it is. The value is not quoted: it may be a
		// Secret's.
		if !utf8.ValidString(value) {
			return "", fmt.Errorf("argument %q is not UTF-8 text", name)
		}
		b.WriteString(value)
	}
}

// shorten cuts text to at most n bytes, at a rune boundary.
func shorten(text string, n int) string {
	if len(text) <= n {
		return text
	}
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n] + "…"
}

// mapJSONStrings rewrites a JSON document with every string, object keys
// included, passed through fn; everything else is copied as it was read.
func mapJSONStrings(data []byte, fn func(string) (string, error)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers are copied as written, not rounded through float64
	var out bytes.Buffer
	// One entry per object or array being read: how many keys and values
	// it has had so far, and whether it is an object.
	type container struct {
		object bool
		items  int
	}
	var open []container
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			out.WriteRune(rune(d))
			open = open[:len(open)-1]
			continue
		}
		if n := len(open); n > 0 {
			top := &open[n-1]
			switch {
			case top.object && top.items%2 == 1:
				out.WriteByte(':')
			case top.items > 0:
				out.WriteByte(',')
			}
			top.items++
		}
		switch v := tok.(type) {
		case json.Delim:
			out.WriteRune(rune(v))
			open = append(open, container{object: v == '{'})
		case string:
			mapped, err := fn(v)
			if err != nil {
				return nil, err
			}
			encoded, err := json.Marshal(mapped)
			if err != nil {
				return nil, err
			}
			out.Write(encoded)
		case json.Number:
			out.WriteString(v.String())
		case bool:
			out.WriteString(strconv.FormatBool(v))
		case nil:
			out.WriteString("null")
		default:
			return nil, fmt.Errorf("unexpected JSON token %T", tok)
		}
	}
}
