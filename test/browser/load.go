package browser

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Load is what the browser's Performance API recorded of a page's load:
// the document's navigation entry and the resource entry of everything it
// fetched since. A request still open (the live event stream) has no
// entry yet.
type Load struct {
	URL string
	// Duration is from the start of the navigation to the end of the
	// load event.
	Duration time.Duration
	// TransferSize is the bytes received for the document, headers
	// included; DecodedBodySize its body once uncompressed.
	TransferSize, DecodedBodySize int64
	Resources                     []Resource
}

// Resource is one request the page made after the document.
type Resource struct {
	Name                          string
	Duration                      time.Duration
	TransferSize, DecodedBodySize int64
}

// TotalTransfer is the bytes received for the document and its resources.
func (l Load) TotalTransfer() int64 {
	total := l.TransferSize
	for _, r := range l.Resources {
		total += r.TransferSize
	}
	return total
}

// TotalDecoded is the uncompressed size of the document and its resources.
func (l Load) TotalDecoded() int64 {
	total := l.DecodedBodySize
	for _, r := range l.Resources {
		total += r.DecodedBodySize
	}
	return total
}

// String is a table of the load, one line per request and a total.
func (l Load) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: loaded in %s, %d bytes transferred (%d decoded) in %d requests\n",
		l.URL, round(l.Duration), l.TotalTransfer(), l.TotalDecoded(), 1+len(l.Resources))
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "duration\ttransferred\tdecoded\t\trequest")
	fmt.Fprintf(w, "%s\t%d\t%d\t\t%s\n", round(l.Duration), l.TransferSize, l.DecodedBodySize, "(document)")
	for _, r := range l.Resources {
		fmt.Fprintf(w, "%s\t%d\t%d\t\t%s\n", round(r.Duration), r.TransferSize, r.DecodedBodySize, r.Name)
	}
	_ = w.Flush()
	return b.String()
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }

// performanceJS reads the navigation entry and resource entries once the
// load event has ended; before that, it is null.
const performanceJS = `(() => {
	const nav = performance.getEntriesByType("navigation")[0];
	if (!nav || nav.loadEventEnd === 0) return null;
	const entry = e => ({name: e.name, duration: e.duration, transferSize: e.transferSize, decodedBodySize: e.decodedBodySize});
	return {navigation: entry(nav), resources: performance.getEntriesByType("resource").map(entry)};
})()`

type performanceEntry struct {
	Name            string  `json:"name"`
	Duration        float64 `json:"duration"` // milliseconds
	TransferSize    int64   `json:"transferSize"`
	DecodedBodySize int64   `json:"decodedBodySize"`
}

func milliseconds(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// Load returns the page's load as the Performance API recorded it, waiting
// for the load event to end if it has not.
func (p *Page) Load() (Load, error) {
	// No change of the page marks the load event's end: poll each frame.
	if _, err := poll[bool](p, chromedp.WithPollingInterval(20*time.Millisecond),
		`() => { const n = performance.getEntriesByType("navigation")[0]; return !!n && n.loadEventEnd > 0; }`); err != nil {
		return Load{}, fmt.Errorf("waiting for the load event to end: %w", err)
	}
	perf, err := Eval[*struct {
		Navigation performanceEntry   `json:"navigation"`
		Resources  []performanceEntry `json:"resources"`
	}](p, performanceJS)
	if err != nil {
		return Load{}, err
	}
	if perf == nil {
		return Load{}, errors.New("the page has no navigation entry")
	}
	load := Load{
		URL:             perf.Navigation.Name,
		Duration:        milliseconds(perf.Navigation.Duration),
		TransferSize:    perf.Navigation.TransferSize,
		DecodedBodySize: perf.Navigation.DecodedBodySize,
	}
	for _, r := range perf.Resources {
		load.Resources = append(load.Resources, Resource{Name: r.Name, Duration: milliseconds(r.Duration),
			TransferSize: r.TransferSize, DecodedBodySize: r.DecodedBodySize})
	}
	return load, nil
}

// WatchShown makes the page note, from before its own scripts run, when
// an element matching the selector first shows some text; ShownAfter reads
// it. Call it before Open.
func (p *Page) WatchShown(selector string) error {
	source := fmt.Sprintf(`(() => {
	const sel = %s;
	const shown = window.__sluiceShown = window.__sluiceShown || {};
	const observer = new MutationObserver(() => {
		const e = document.querySelector(sel);
		if (e && e.textContent.trim() !== "") {
			shown[sel] = performance.now();
			observer.disconnect();
		}
	});
	observer.observe(document, {childList: true, subtree: true, characterData: true});
})()`, jsString(selector))
	return p.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: source})
		return err
	}))
}

// ShownAfter waits until the element WatchShown watches has shown text,
// and returns when that happened, from the start of the navigation.
func (p *Page) ShownAfter(selector string) (time.Duration, error) {
	ms, err := poll[float64](p, chromedp.WithPollingInterval(20*time.Millisecond),
		`(sel) => (window.__sluiceShown || {})[sel] || 0`, selector)
	if err != nil {
		return 0, fmt.Errorf("waiting for %s to show (watched with WatchShown?): %w", selector, err)
	}
	return milliseconds(ms), nil
}
