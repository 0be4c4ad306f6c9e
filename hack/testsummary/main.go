// Command testsummary adds up the specs in Ginkgo JSON reports and prints one
// closing line, "tests: N passed, N failed, N skipped", so a reader (or a CI
// system) sees the whole run's outcome at a glance after `make test`'s three
// tiers.
//
//	go run ./hack/testsummary REPORT.json...
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/onsi/ginkgo/v2/types"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testsummary REPORT.json...")
		os.Exit(2)
	}
	var passed, failed, skipped int
	for _, path := range os.Args[1:] {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(1)
		}
		var reports []types.Report
		if err := json.Unmarshal(data, &reports); err != nil {
			fmt.Fprintf(os.Stderr, "testsummary: %s: %v\n", path, err)
			os.Exit(1)
		}
		for _, r := range reports {
			for _, spec := range r.SpecReports {
				isTest := spec.LeafNodeType == types.NodeTypeIt
				switch {
				case !isTest && spec.State.Is(types.SpecStateFailureStates):
					failed++ // a failed BeforeSuite or cleanup fails the run
				case !isTest:
					// passing suite-level setup and cleanup are not tests
				case spec.State.Is(types.SpecStatePassed):
					passed++
				case spec.State.Is(types.SpecStateSkipped | types.SpecStatePending):
					skipped++
				default:
					failed++
				}
			}
		}
	}
	fmt.Printf("tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || passed == 0 {
		os.Exit(1)
	}
}
