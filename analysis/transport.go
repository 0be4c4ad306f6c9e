package analysis

import (
	"crypto/tls"
	"net/http"
	"sync"
	"time"
)

// The web and Prometheus providers share their HTTP transports for the life
// of the process. A transport keeps the connections it opened alive for its
// next request; one built for each measurement was never asked again, and
// kept each of its connections (a socket and two goroutines) open until the
// manager stopped: over hours of analyses, thousands.
//
// A transport differs from another only by what a metric's spec can set
// about the connection itself, which today is whether to verify TLS
// certificates: there are two. Everything else a metric asks for (headers, a
// body, a timeout, an OAuth2 token) goes on its requests. A setting added
// here must keep the transports few and fixed, never one per value a tenant
// writes.
var (
	verifyingTransport = sync.OnceValue(func() *http.Transport { return newTransport(false) })
	insecureTransport  = sync.OnceValue(func() *http.Transport { return newTransport(true) })
)

// Idle connections the shared transports keep. The AnalysisRun controller
// takes one measurement at a time, so a host rarely needs more than one
// connection; a few spare absorb a burst without opening new ones, and the
// total bounds what many tenants' distinct endpoints hold open. A metric
// measured at least every 90 s (Argo's intervals are often a minute) finds
// its connection still open.
const (
	maxIdleConns        = 100
	maxIdleConnsPerHost = 4
	idleConnTimeout     = 90 * time.Second
)

// transportFor returns the shared transport for a metric's TLS setting.
func transportFor(insecure bool) *http.Transport {
	if insecure {
		return insecureTransport()
	}
	return verifyingTransport()
}

func newTransport(insecure bool) *http.Transport {
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec // the metric asks for it
		MaxIdleConns:        maxIdleConns,
		MaxIdleConnsPerHost: maxIdleConnsPerHost,
		IdleConnTimeout:     idleConnTimeout,
	}
}
