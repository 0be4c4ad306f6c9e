package framework

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// DashboardMetrics reads a Grafana dashboard and returns, sorted, every
// metric name its panels' targets and its query variables read.
func DashboardMetrics(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var dashboard struct {
		Panels     []dashboardPanel `json:"panels"`
		Templating struct {
			List []struct {
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dashboard); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var exprs []string
	var walk func([]dashboardPanel)
	walk = func(panels []dashboardPanel) {
		for _, p := range panels {
			for _, t := range p.Targets {
				exprs = append(exprs, t.Expr)
			}
			walk(p.Panels) // the panels of a collapsed row
		}
	}
	walk(dashboard.Panels)
	for _, v := range dashboard.Templating.List {
		if v.Type != "query" {
			continue
		}
		var query string
		if json.Unmarshal(v.Query, &query) != nil {
			var object struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &object); err != nil {
				return nil, fmt.Errorf("%s: variable query: %w", path, err)
			}
			query = object.Query
		}
		exprs = append(exprs, variableExpr(query))
	}
	var names []string
	for _, e := range exprs {
		names = append(names, MetricNames(e)...)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

type dashboardPanel struct {
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

// variableExpr is the PromQL in a Grafana variable query:
// label_values(<selector>, <label>) reads the selector; query_result(<expr>)
// the expression.
func variableExpr(query string) string {
	query = strings.TrimSpace(query)
	for _, fn := range []string{"label_values(", "query_result("} {
		if inner, ok := strings.CutPrefix(query, fn); ok {
			inner = strings.TrimSuffix(inner, ")")
			if fn == "label_values(" {
				if i := strings.LastIndex(inner, ","); i >= 0 {
					inner = inner[:i]
				}
			}
			return inner
		}
	}
	return query
}

// promqlWords are PromQL's aggregations and keywords: words of an
// expression that name no metric.
var promqlWords = []string{
	"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
	"quantile", "limitk", "limit_ratio", "by", "without", "on", "ignoring", "group_left", "group_right",
	"bool", "and", "or", "unless", "offset", "atan2", "inf", "nan",
}

// labelListWords are followed by a list of label names in parentheses.
var labelListWords = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}

var (
	nameMatcher = regexp.MustCompile(`__name__\s*(=~|=)\s*"([^"]*)"`)
	metricName  = regexp.MustCompile(`^[A-Za-z_:][A-Za-z0-9_:]*$`)
)

// MetricNames returns the metric names a PromQL expression reads: its
// selectors' names, and the names a {__name__=...} matcher gives. Grafana's
// variables ($namespace, $__rate_interval) are not names.
func MetricNames(expr string) []string {
	var names []string
	for _, m := range nameMatcher.FindAllStringSubmatch(expr, -1) {
		if m[1] == "=" {
			names = append(names, m[2])
			continue
		}
		for alt := range strings.SplitSeq(m[2], "|") {
			if metricName.MatchString(alt) {
				names = append(names, alt)
			}
		}
	}
	s := stripPromQL(expr)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '$':
			i = skipWord(s, i+1)
		case c >= '0' && c <= '9' || c == '.':
			// A number: 0.99, 1e3, 0x1F.
			for i < len(s) && (isWordByte(s[i]) || s[i] == '.' || (s[i] == '+' || s[i] == '-') && (s[i-1] == 'e' || s[i-1] == 'E')) {
				i++
			}
		case isWordStart(c):
			end := skipWord(s, i)
			word := s[i:end]
			i = end
			next := strings.TrimLeft(s[i:], " \t\n")
			switch {
			case slices.Contains(labelListWords, word) && strings.HasPrefix(next, "("):
				i = len(s) - len(next) + strings.IndexByte(next, ')') + 1
			case slices.Contains(promqlWords, word), strings.HasPrefix(next, "("):
				// A keyword, an aggregation or a function call.
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	return names
}

// stripPromQL blanks out what holds no metric name: string literals, label
// matchers in braces and ranges in brackets.
func stripPromQL(expr string) string {
	var b strings.Builder
	depth := map[byte]int{}
	closing := map[byte]byte{'}': '{', ']': '['}
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end := strings.IndexByte(expr[i+1:], c)
			if end < 0 {
				return b.String()
			}
			i += end + 1
			b.WriteByte(' ')
		case c == '{' || c == '[':
			depth[c]++
			b.WriteByte(' ')
		case c == '}' || c == ']':
			depth[closing[c]]--
			b.WriteByte(' ')
		case depth['{'] > 0 || depth['['] > 0:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':'
}

func isWordByte(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' }

func skipWord(s string, i int) int {
	for i < len(s) && isWordByte(s[i]) {
		i++
	}
	return i
}

// ArgoDashboard is the path of the Grafana dashboard Argo Rollouts
// publishes (examples/dashboard.json), in the module cache at the version
// go.mod pins.
func ArgoDashboard() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-rollouts").Output()
	if err != nil {
		return "", fmt.Errorf("locating the Argo Rollouts module: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("the Argo Rollouts module is not in the module cache: run go mod download")
	}
	return filepath.Join(dir, "examples", "dashboard.json"), nil
}
