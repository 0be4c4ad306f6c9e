package audit

import (
	"os"
	"strings"
	"testing"
)

func TestParseKeepsAnsweredRequestsAndTallies(t *testing.T) {
	log := strings.Join([]string{
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete","verb":"patch","requestURI":"/apis/apps/v1/namespaces/a/deployments/web?dryRun=All\u0026fieldManager=sluice","user":{"username":"shard-a"},"objectRef":{"resource":"deployments","namespace":"a","name":"web","apiGroup":"apps","apiVersion":"v1"},"responseStatus":{"code":200}}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete","verb":"update","requestURI":"/apis/argoproj.io/v1alpha1/namespaces/a/rollouts/web/status","user":{"username":"shard-a"},"objectRef":{"resource":"rollouts","namespace":"a","name":"web","apiGroup":"argoproj.io","subresource":"status"},"responseStatus":{"code":409}}`,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseStarted","verb":"watch","requestURI":"/api/v1/pods?watch=true","user":{"username":"shard-b"},"objectRef":{"resource":"pods","apiVersion":"v1"}}`,
		``,
		`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","stage":"ResponseComplete","verb":"get","requestURI":"/version?timeout=32s","user":{"username":"shard-b"},"responseStatus":{"code":200}}`,
	}, "\n")
	requests, err := Parse(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) != 3 {
		t.Fatalf("want the 3 answered requests, got %d: %+v", len(requests), requests)
	}
	a := Count(requests, ByUser("shard-a"))
	want := Tally{"patch(dry-run) deployments.apps": 1, "update rollouts.argoproj.io/status": 1}
	if len(a) != len(want) || a.Total() != 2 {
		t.Fatalf("shard-a: got %v, want %v", a, want)
	}
	for k, n := range want {
		if a[k] != n {
			t.Errorf("shard-a %q: got %d, want %d", k, a[k], n)
		}
	}
	if requests[1].Code != 409 || requests[1].Name != "web" || requests[1].Namespace != "a" {
		t.Errorf("the conflict's code and object are kept: %+v", requests[1])
	}
	if b := Count(requests, ByUser("shard-b")); b["get /version"] != 1 {
		t.Errorf("a non-resource request is keyed by its path: %v", b)
	}
}

func TestParseKeepsAListsLabelSelector(t *testing.T) {
	requests, err := Parse(strings.NewReader(`{"stage":"ResponseComplete","verb":"watch","requestURI":"/apis/apps/v1/replicasets?allowWatchBookmarks=true\u0026labelSelector=rollouts-pod-template-hash%2Csharding.fluxcd.io%2Fkey%3Da\u0026watch=true","user":{"username":"u"},"objectRef":{"resource":"replicasets","apiGroup":"apps"}}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) != 1 || requests[0].LabelSelector != "rollouts-pod-template-hash,sharding.fluxcd.io/key=a" {
		t.Errorf("want the watch's selector, got %+v", requests)
	}
}

func TestParseNamesTheBrokenLine(t *testing.T) {
	_, err := Parse(strings.NewReader("{\"stage\":\"ResponseComplete\"}\n{not json\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want an error naming line 2, got %v", err)
	}
}

func TestReadFromSkipsWhatCameBeforeAndAHalfWrittenLine(t *testing.T) {
	first := `{"stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/a/pods/x","user":{"username":"u"},"objectRef":{"resource":"pods"}}` + "\n"
	second := `{"stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods","user":{"username":"u"},"objectRef":{"resource":"pods"}}` + "\n"
	path := t.TempDir() + "/audit.log"
	if err := os.WriteFile(path, []byte(first+second+`{"stage":"Respon`), 0o600); err != nil {
		t.Fatal(err)
	}
	requests, err := ReadFrom(path, int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) != 1 || requests[0].Verb != "list" {
		t.Fatalf("want only the list after the offset, got %+v", requests)
	}
}
