package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadOutcomesKeepsEachSubtestsLastResult(t *testing.T) {
	stream := strings.Join([]string{
		`{"Action":"run","Test":"TestCanarySuite"}`,
		`{"Action":"run","Test":"TestCanarySuite/TestA"}`,
		`{"Action":"output","Test":"TestCanarySuite/TestA","Output":"--- FAIL: looks like a result but is output\n"}`,
		`{"Action":"pass","Test":"TestCanarySuite/TestA","Elapsed":1.5}`,
		`{"Action":"fail","Test":"TestCanarySuite/TestB"}`,
		`{"Action":"skip","Test":"TestCanarySuite/TestC"}`,
		`time="2026-01-01" level=info msg="a log line of the suite, not JSON"`,
		`{"Action":"fail","Test":"TestCanarySuite"}`,
		`{"Action":"fail"}`,
	}, "\n")
	got, err := readOutcomes(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Outcome{
		"TestCanarySuite/TestA": Passed,
		"TestCanarySuite/TestB": Failed,
		"TestCanarySuite/TestC": Skipped,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestRowsLineUpExpectationsWithOutcomes(t *testing.T) {
	suites := []Suite{
		{Name: "TestS", Tests: []Test{
			{Name: "TestPasses", Verdict: Pass},
			{Name: "TestRegresses", Verdict: Pass},
			{Name: "TestVanished", Verdict: Pass},
			{Name: "TestGap", Verdict: Gap, Why: "w"},
			{Name: "TestCannot", Verdict: Cannot, Why: "no containers"},
		}},
		{Name: "TestMesh", Verdict: Differs, Why: "mesh"},
	}
	outcomes := map[string]Outcome{
		"TestS/TestPasses":    Passed,
		"TestS/TestRegresses": Failed,
		"TestS/TestGap":       Failed,
		"TestS/TestNew":       Passed,
	}
	got := rows(suites, outcomes)
	want := []Row{
		{Suite: "TestS", Test: "TestPasses", Expected: Pass, Outcome: Passed},
		{Suite: "TestS", Test: "TestRegresses", Expected: Pass, Outcome: Failed},
		{Suite: "TestS", Test: "TestVanished", Expected: Pass, Outcome: Lost},
		{Suite: "TestS", Test: "TestGap", Expected: Gap, Outcome: Failed, Why: "w"},
		{Suite: "TestS", Test: "TestCannot", Expected: Cannot, Outcome: NotRun, Why: "no containers"},
		{Suite: "TestMesh", Test: "(all)", Expected: Differs, Outcome: NotRun, Why: "mesh"},
		{Suite: "TestS", Test: "TestNew", Outcome: Passed, Why: "not in expected.yaml"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
	var regressions []string
	for _, r := range got {
		if r.Regression() {
			regressions = append(regressions, r.Test)
		}
	}
	if diff := cmp.Diff([]string{"TestRegresses", "TestVanished", "TestNew"}, regressions); diff != "" {
		t.Errorf("regressions (-want +got):\n%s", diff)
	}
	summary := summarize(got)
	if diff := cmp.Diff([]Summary{
		{Suite: "TestS", Passed: 2, Failed: 3, Cannot: 1},
		{Suite: "TestMesh", Differs: 1},
	}, summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestPlanJobsRunsSuitesLessTheTestsThatRunAloneOrNotAtAll(t *testing.T) {
	suites := []Suite{
		{Name: "TestF", Tests: []Test{
			{Name: "TestA", Verdict: Pass},
			{Name: "TestMalformed", Verdict: Gap, Why: "w", Alone: true},
			{Name: "TestNoContainers", Verdict: Cannot, Why: "w"},
		}},
		{Name: "TestMesh", Verdict: Differs, Why: "mesh"},
	}
	got := planJobs(suites, false, nil)
	want := []job{
		{name: "TestF", run: "^TestF$", skip: "^TestF$/^(TestMalformed|TestNoContainers)$", namespace: "conformance-1"},
		{name: "TestF-TestMalformed", run: "^TestF$/^TestMalformed$", namespace: "conformance-2", alone: true},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(job{})); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}

	all := planJobs(suites, true, regexp.MustCompile("TestMalformed|TestMesh"))
	wantAll := []job{
		{name: "TestF-TestMalformed", run: "^TestF$/^TestMalformed$", namespace: "conformance-1", alone: true},
		{name: "TestMesh", run: "^TestMesh$", namespace: "conformance-2"},
	}
	if diff := cmp.Diff(wantAll, all, cmp.AllowUnexported(job{})); diff != "" {
		t.Errorf("jobs with --all --only (-want +got):\n%s", diff)
	}
	if jobs := planJobs(suites, true, regexp.MustCompile("TestA")); len(jobs) != 1 || jobs[0].name != "TestF" {
		t.Errorf("--only TestA ran %+v, want the one suite that holds it", jobs)
	}
}

func TestExpectedYAMLIsValid(t *testing.T) {
	suites, err := loadExpected(expectedYAML)
	if err != nil {
		t.Fatal(err)
	}
	if len(suites) == 0 {
		t.Fatal("expected.yaml lists no suites")
	}
}

func TestLoadExpectedRefusesWhatCannotBeRead(t *testing.T) {
	for name, text := range map[string]string{
		"unknown verdict":     "- name: TestS\n  tests:\n  - name: TestA\n    verdict: maybe\n",
		"gap without why":     "- name: TestS\n  tests:\n  - name: TestA\n    verdict: gap\n",
		"misspelt field":      "- name: TestS\n  tests:\n  - name: TestA\n    verdit: pass\n",
		"test listed twice":   "- name: TestS\n  tests:\n  - name: TestA\n    verdict: pass\n  - name: TestA\n    verdict: pass\n",
		"whole suite as pass": "- name: TestS\n  verdict: pass\n",
	} {
		if _, err := loadExpected([]byte(text)); err == nil {
			t.Errorf("%s: loaded without an error", name)
		}
	}
}

// The docs' table is what expected.yaml says: `make conformance-docs`
// rewrites it, and this fails until it has been.
func TestCompatibilityDocCarriesTheTable(t *testing.T) {
	suites, err := loadExpected(expectedYAML)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	writeMarkdown(&table, suites)
	want, err := replaceMarkdown(string(doc), table.String())
	if err != nil {
		t.Fatal(err)
	}
	if want != string(doc) {
		t.Errorf("docs/compatibility.md's conformance table is not what expected.yaml says: run `make conformance-docs`")
	}
}
