package gitops

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/itchyny/gojq"
)

// A jq expression is a tenant's input, evaluated in the manager against
// every object it matches, so it is held to a path-selecting subset of jq
// and to a budget:
const (
	// jqMaxLength bounds an expression's text (the CRD says so too).
	jqMaxLength = 1024
	// jqStepBudget bounds the steps of one evaluation: gojq looks at its
	// context before each step, and budgetContext counts those looks.
	jqStepBudget = 100_000
	// jqTimeout bounds one evaluation's time, as Argo CD's does.
	jqTimeout = time.Second
	// jqMaxPaths bounds the paths one evaluation may select.
	jqMaxPaths = 10_000
)

// errJQBudget is an evaluation stopped for exceeding its step budget.
var errJQBudget = errors.New("exceeded its budget of steps")

// jqPath is a compiled jq path expression: path(expr).
type jqPath struct {
	source string
	code   *gojq.Code
}

// jqFunctions are the jq functions a path expression may call, with the
// numbers of arguments each takes: ones that select or test, whose cost
// follows the object's size. Functions that build values larger than
// their input (tostring, tojson, add, *, string interpolation), read the
// manager's environment (env, $ENV, input) or loop without input (repeat,
// while, until, recurse with an argument) are not among them.
var jqFunctions = map[string][]int{
	"select": {1}, "not": {0}, "has": {1}, "in": {1}, "contains": {1}, "inside": {1},
	"startswith": {1}, "endswith": {1}, "test": {1, 2}, "ltrimstr": {1}, "rtrimstr": {1},
	"ascii_downcase": {0}, "ascii_upcase": {0}, "length": {0}, "utf8bytelength": {0}, "type": {0},
	"empty": {0}, "objects": {0}, "arrays": {0}, "strings": {0}, "numbers": {0}, "booleans": {0},
	"nulls": {0}, "iterables": {0}, "scalars": {0}, "values": {0}, "recurse": {0},
	"any": {0, 1, 2}, "all": {0, 1, 2}, "IN": {1, 2}, "first": {0, 1}, "last": {0, 1}, "limit": {2},
	"keys": {0},
}

// jqOperators are the binary operators a path expression may use: pipes,
// alternatives and comparisons, none of which builds a larger value.
var jqOperators = map[gojq.Operator]bool{
	gojq.OpPipe: true, gojq.OpComma: true, gojq.OpAlt: true, gojq.OpAnd: true, gojq.OpOr: true,
	gojq.OpEq: true, gojq.OpNe: true, gojq.OpGt: true, gojq.OpLt: true, gojq.OpGe: true, gojq.OpLe: true,
}

// compileJQPath parses an expression, checks it is within the subset, and
// compiles path(expr), with no access to the manager's environment.
func compileJQPath(expr string) (p *jqPath, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%q does not compile", expr)
		}
	}()
	if len(expr) > jqMaxLength {
		return nil, fmt.Errorf("longer than %d characters", jqMaxLength)
	}
	query, err := gojq.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", expr, err)
	}
	if err := checkJQQuery(query); err != nil {
		return nil, fmt.Errorf("%q: %w", expr, err)
	}
	// The expression is wrapped as a tree, not as text, so it cannot close
	// the path( early and add to the program.
	wrapped := &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc,
		Func: &gojq.Func{Name: "path", Args: []*gojq.Query{query}}}}
	code, err := gojq.Compile(wrapped, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil, fmt.Errorf("%q: %w", expr, err)
	}
	return &jqPath{source: expr, code: code}, nil
}

func checkJQQuery(q *gojq.Query) error {
	if q == nil {
		return nil
	}
	switch {
	case q.Meta != nil || len(q.Imports) > 0:
		return errors.New("modules are not allowed")
	case len(q.FuncDefs) > 0:
		return errors.New("def is not allowed")
	case len(q.Patterns) > 0:
		return errors.New("variable bindings (as $x) are not allowed")
	case q.Op != 0 && !jqOperators[q.Op]:
		return fmt.Errorf("the operator %s is not allowed: a path expression selects, it does not compute", q.Op)
	}
	if err := checkJQTerm(q.Term); err != nil {
		return err
	}
	if err := checkJQQuery(q.Left); err != nil {
		return err
	}
	return checkJQQuery(q.Right)
}

func checkJQTerm(t *gojq.Term) error {
	if t == nil {
		return nil
	}
	var queries []*gojq.Query
	switch t.Type {
	case gojq.TermTypeIdentity, gojq.TermTypeRecurse, gojq.TermTypeNull, gojq.TermTypeTrue,
		gojq.TermTypeFalse, gojq.TermTypeNumber:
	case gojq.TermTypeString:
		if t.Str == nil || len(t.Str.Queries) > 0 {
			return errors.New("string interpolation is not allowed")
		}
	case gojq.TermTypeIndex:
		if err := checkJQIndex(t.Index); err != nil {
			return err
		}
	case gojq.TermTypeFunc:
		arities, ok := jqFunctions[t.Func.Name]
		if !ok {
			return fmt.Errorf("%s is not allowed in a path expression", t.Func.Name)
		}
		if !containsInt(arities, len(t.Func.Args)) {
			return fmt.Errorf("%s/%d is not allowed in a path expression", t.Func.Name, len(t.Func.Args))
		}
		queries = t.Func.Args
	case gojq.TermTypeUnary:
		if t.Unary == nil || t.Unary.Term == nil || t.Unary.Term.Type != gojq.TermTypeNumber {
			return errors.New("a sign goes on a number only")
		}
	case gojq.TermTypeIf:
		queries = append(queries, t.If.Cond, t.If.Then, t.If.Else)
		for _, elif := range t.If.Elif {
			queries = append(queries, elif.Cond, elif.Then)
		}
	case gojq.TermTypeTry:
		queries = append(queries, t.Try.Body, t.Try.Catch)
	case gojq.TermTypeQuery:
		queries = append(queries, t.Query)
	default:
		return errors.New("only selections are allowed: no object or array construction, formats, reduce, foreach or labels")
	}
	for _, q := range queries {
		if err := checkJQQuery(q); err != nil {
			return err
		}
	}
	for _, s := range t.SuffixList {
		if err := checkJQIndex(s.Index); err != nil {
			return err
		}
	}
	return nil
}

func checkJQIndex(i *gojq.Index) error {
	if i == nil {
		return nil
	}
	if i.Str != nil && len(i.Str.Queries) > 0 {
		return errors.New("string interpolation is not allowed")
	}
	if err := checkJQQuery(i.Start); err != nil {
		return err
	}
	return checkJQQuery(i.End)
}

func containsInt(list []int, n int) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}

// paths evaluates the expression against an object and returns the JSON
// pointers of the paths it selects. An evaluation that fails on the object
// selects nothing; one that exceeds its budget is an error.
func (p *jqPath) paths(object map[string]any) (out []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("evaluation failed: %v", r)
		}
	}()
	input, ok := jqValue(object)
	if !ok {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), jqTimeout)
	defer cancel()
	budget := &budgetContext{Context: ctx, limit: jqStepBudget}
	iter := p.code.RunWithContext(budget, input)
	for {
		v, more := iter.Next()
		if !more {
			return out, nil
		}
		if e, isErr := v.(error); isErr {
			if errors.Is(e, errJQBudget) || errors.Is(e, context.DeadlineExceeded) {
				return nil, fmt.Errorf("stopped: %w", e)
			}
			// Failing on this object (iterating over a field it lacks,
			// say) ignores nothing in it, as in Argo CD.
			return nil, nil
		}
		segments, isPath := v.([]any)
		if !isPath {
			continue
		}
		if pointer, ok := pointerOf(segments); ok {
			if len(out) == jqMaxPaths {
				return nil, fmt.Errorf("selects more than %d paths", jqMaxPaths)
			}
			out = append(out, pointer)
		}
	}
}

// jqValue copies an object into the values gojq takes: int64 numbers, as
// objects read from the API server hold them, become int.
func jqValue(v any) (any, bool) {
	switch v := v.(type) {
	case nil, bool, string, float64, int:
		return v, true
	case int64:
		return int(v), true
	case int32:
		return int(v), true
	case float32:
		return float64(v), true
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, ok := jqValue(e)
			if !ok {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, ok := jqValue(e)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	}
	return nil, false
}

// budgetContext is a context whose Done reports done once it was asked
// more than limit times: gojq asks before every step, so this bounds an
// evaluation's steps, whatever its wall time.
type budgetContext struct {
	context.Context
	limit int64
	asked atomic.Int64
}

var closedChannel = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *budgetContext) Done() <-chan struct{} {
	if c.asked.Add(1) > c.limit {
		return closedChannel
	}
	return c.Context.Done()
}

func (c *budgetContext) Err() error {
	if c.asked.Load() > c.limit {
		return errJQBudget
	}
	return c.Context.Err()
}
