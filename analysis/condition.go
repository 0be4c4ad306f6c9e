// Package analysis holds the pure core of Sluice's metric analysis: success
// and failure conditions in Argo Rollouts' expression language, and the
// assessment of measurements into a metric's and a run's phase. It knows no
// client and no provider; the AnalysisRun controller feeds it.
package analysis

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	rolloutsv1alpha1 "github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// ErrNoData is a measurement whose query returned nothing. Argo Rollouts
// aborts such a rollout with "index out of range" when a condition reads
// result[0]; Sluice records it as a measurement Error that says what
// happened, counted against consecutiveErrorLimit like any other error.
var ErrNoData = errors.New("query returned no data")

// Conditions are a metric's successCondition and failureCondition, compiled
// once for a whole run rather than at every measurement.
type Conditions struct {
	success, failure         *vm.Program
	successText, failureText string
}

// Compile checks and compiles a metric's conditions. Either may be empty.
func Compile(successCondition, failureCondition string) (*Conditions, error) {
	c := &Conditions{successText: successCondition, failureText: failureCondition}
	var err error
	if successCondition != "" {
		if c.success, err = compile(successCondition); err != nil {
			return nil, fmt.Errorf("successCondition %q: %w", successCondition, err)
		}
	}
	if failureCondition != "" {
		if c.failure, err = compile(failureCondition); err != nil {
			return nil, fmt.Errorf("failureCondition %q: %w", failureCondition, err)
		}
	}
	return c, nil
}

func compile(condition string) (*vm.Program, error) {
	program, err := expr.Compile(condition, expr.Env(env{}), expr.AsBool())
	return program, unwrapFileError(err)
}

// Evaluate turns a measured value into a measurement phase, as Argo does:
// with both conditions, failure wins, and neither holding is Inconclusive;
// with one, the other is its negation; with none, any value is Successful.
// A condition that cannot be evaluated is an Error that names it.
func (c *Conditions) Evaluate(result any) (rolloutsv1alpha1.AnalysisPhase, error) {
	if c.success == nil && c.failure == nil {
		return rolloutsv1alpha1.AnalysisPhaseSuccessful, nil
	}
	e := environment(result)
	var succeeded, failed bool
	var err error
	if c.success != nil {
		if succeeded, err = run(c.success, e); err != nil {
			return rolloutsv1alpha1.AnalysisPhaseError, evalError("successCondition", c.successText, result, err)
		}
	}
	if c.failure != nil {
		if failed, err = run(c.failure, e); err != nil {
			return rolloutsv1alpha1.AnalysisPhaseError, evalError("failureCondition", c.failureText, result, err)
		}
	}
	switch {
	case c.failure == nil:
		failed = !succeeded
	case c.success == nil:
		succeeded = !failed
	}
	switch {
	case failed:
		return rolloutsv1alpha1.AnalysisPhaseFailed, nil
	case succeeded:
		return rolloutsv1alpha1.AnalysisPhaseSuccessful, nil
	default:
		return rolloutsv1alpha1.AnalysisPhaseInconclusive, nil
	}
}

// run executes a compiled condition. The functions of the environment panic
// on values they cannot convert; expr turns those panics into errors, and
// this recover is the last line for anything it does not.
func run(program *vm.Program, e env) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, fmt.Errorf("%v", r)
		}
	}()
	out, err := expr.Run(program, e)
	if err != nil {
		return false, unwrapFileError(err)
	}
	b, isBool := out.(bool)
	if !isBool {
		return false, fmt.Errorf("expected bool, but got %T", out)
	}
	return b, nil
}

func evalError(which, condition string, result any, err error) error {
	if isNil(result) || isEmptyList(result) {
		return fmt.Errorf("could not evaluate %s %q: %w", which, condition, ErrNoData)
	}
	return fmt.Errorf("could not evaluate %s %q: %w", which, condition, err)
}

// env is what a condition can use, with Argo's names: the measured result,
// and asInt, asFloat, isNaN, isInf, isNil and default. A struct rather than a
// map, so `result` is typed "any" when a condition is compiled once for a
// run, and gets its value at each measurement.
type env struct {
	Result  any                `expr:"result"`
	AsInt   func(any) int64    `expr:"asInt"`
	AsFloat func(any) float64  `expr:"asFloat"`
	IsNaN   func(float64) bool `expr:"isNaN"`
	IsInf   func(float64) bool `expr:"isInf"`
	IsNil   func(any) bool     `expr:"isNil"`
	Default func(any, any) any `expr:"default"`
}

func environment(result any) env {
	result = deref(result)
	return env{
		Result:  result,
		AsInt:   asInt,
		AsFloat: asFloat,
		IsNaN:   math.IsNaN,
		IsInf:   func(f float64) bool { return math.IsInf(f, 0) },
		// isNil and default look at the result whatever they are given,
		// as in Argo: `isNil(result)` and `default(result, 0)`.
		IsNil: func(any) bool { return isNil(result) },
		Default: func(_, fallback any) any {
			if isNil(result) {
				return fallback
			}
			return result
		},
	}
}

func asInt(in any) int64 {
	switch v := in.(type) {
	case float64:
		return int64(v)
	case float32:
		return int64(v)
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			panic(err)
		}
		return n
	}
	if rv := reflect.ValueOf(in); rv.IsValid() {
		switch {
		case rv.CanInt():
			return rv.Int()
		case rv.CanUint():
			return int64(rv.Uint())
		}
	}
	panic(fmt.Sprintf("asInt() not supported on %T %v", in, in))
}

func asFloat(in any) float64 {
	switch v := in.(type) {
	case float64:
		return v
	case float32:
		return float64(v)
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			panic(err)
		}
		return f
	}
	if rv := reflect.ValueOf(in); rv.IsValid() {
		switch {
		case rv.CanInt():
			return float64(rv.Int())
		case rv.CanUint():
			return float64(rv.Uint())
		}
	}
	panic(fmt.Sprintf("asFloat() not supported on %T %v", in, in))
}

func isNil(in any) bool {
	if in == nil {
		return true
	}
	switch rv := reflect.ValueOf(in); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Slice, reflect.Func, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func isEmptyList(in any) bool {
	rv := reflect.ValueOf(in)
	return (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) && rv.Len() == 0
}

// deref lets a provider hand over a pointer; conditions see the value.
func deref(in any) any {
	if isNil(in) {
		return nil
	}
	if rv := reflect.ValueOf(in); rv.Kind() == reflect.Pointer {
		return rv.Elem().Interface()
	}
	return in
}

func unwrapFileError(err error) error {
	var fileErr *file.Error
	if errors.As(err, &fileErr) {
		return errors.New(fileErr.Message)
	}
	return err
}
