// Package audit reads the API server's audit log (simcluster's Audit
// option) and counts requests by user, verb and resource: the count a
// client cannot under-report, since the server writes it.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Request is one answered request, as the audit log records it.
type Request struct {
	User        string
	Verb        string
	Group       string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	Code        int32
	// DryRun is true for a request with ?dryRun=All, which changes nothing.
	DryRun bool
	// LabelSelector is a list's or a watch's ?labelSelector, as sent.
	LabelSelector string
}

// Key names what a request touched, without its object's name.
func (r Request) Key() string {
	resource := r.Resource
	if r.Group != "" {
		resource += "." + r.Group
	}
	if r.Subresource != "" {
		resource += "/" + r.Subresource
	}
	verb := r.Verb
	if r.DryRun {
		verb += "(dry-run)"
	}
	return verb + " " + resource
}

// Read returns the requests logged in the file at path.
func Read(path string) ([]Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return Parse(f)
}

// ReadFrom returns the requests logged in the file at path after its first
// offset bytes: those of a stretch of time that began when the file was
// offset bytes long. A last line still being written is left out.
func ReadFrom(path string, offset int64) ([]Request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	tail, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return Parse(bytes.NewReader(tail[:bytes.LastIndexByte(tail, '\n')+1]))
}

// Parse reads audit events, one JSON object per line, and keeps those
// logged when the answer was complete (or the request panicked).
func Parse(r io.Reader) ([]Request, error) {
	var requests []Request
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for line := 1; scanner.Scan(); line++ {
		if len(scanner.Bytes()) == 0 {
			continue
		}
		var e auditv1.Event
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit log line %d: %w", line, err)
		}
		if e.Stage != auditv1.StageResponseComplete && e.Stage != auditv1.StagePanic {
			continue
		}
		requests = append(requests, requestOf(&e))
	}
	return requests, scanner.Err()
}

func requestOf(e *auditv1.Event) Request {
	r := Request{
		User:   e.User.Username,
		Verb:   e.Verb,
		DryRun: strings.Contains(e.RequestURI, "dryRun=All"),
	}
	if e.ObjectRef != nil {
		r.Group = e.ObjectRef.APIGroup
		r.Resource = e.ObjectRef.Resource
		r.Subresource = e.ObjectRef.Subresource
		r.Namespace = e.ObjectRef.Namespace
		r.Name = e.ObjectRef.Name
	} else {
		// A non-resource request: /version, /healthz, discovery.
		r.Resource = strings.SplitN(e.RequestURI, "?", 2)[0]
	}
	if e.ResponseStatus != nil {
		r.Code = e.ResponseStatus.Code
	}
	if _, query, ok := strings.Cut(e.RequestURI, "?"); ok {
		if values, err := url.ParseQuery(query); err == nil {
			r.LabelSelector = values.Get("labelSelector")
		}
	}
	return r
}

// Tally counts requests by Key.
type Tally map[string]int

// Count tallies the requests keep accepts.
func Count(requests []Request, keep func(Request) bool) Tally {
	t := Tally{}
	for _, r := range requests {
		if keep == nil || keep(r) {
			t[r.Key()]++
		}
	}
	return t
}

// ByUser keeps the requests of one user.
func ByUser(name string) func(Request) bool {
	return func(r Request) bool { return r.User == name }
}

// Total is the number of requests tallied.
func (t Tally) Total() int {
	n := 0
	for _, c := range t {
		n += c
	}
	return n
}

// String lists the tally one key per line, most frequent first.
func (t Tally) String() string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if t[keys[i]] != t[keys[j]] {
			return t[keys[i]] > t[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%6d %s\n", t[k], k)
	}
	return b.String()
}
