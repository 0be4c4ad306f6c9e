package browser

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// document is a page that changes itself after its load, as a live page
// does: an attribute set from a timer, a button that writes a result, and
// one script fetched as a resource.
const document = `<!doctype html>
<html><head><meta name="viewport" content="width=device-width"><link rel="icon" href="data:,"><script src="/app.js"></script></head>
<body><h1 data-test="title"></h1><span data-test="live" data-state="connecting"></span>
<button data-action="go">Go</button><p data-test="result"></p></body></html>`

const script = `window.addEventListener("load", () => {
	document.querySelector("[data-test=title]").textContent = "Hello " + window.innerWidth;
	setTimeout(() => document.querySelector("[data-test=live]").setAttribute("data-state", "open"), 50);
	document.querySelector("[data-action=go]").addEventListener("click", () => {
		const p = document.createElement("p");
		p.setAttribute("data-test", "item");
		document.body.append(p);
		document.querySelector("[data-test=result]").textContent = "clicked";
	});
});`

func serve(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(document))
	})
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(script))
	})
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	return server.URL + "/"
}

func start(t *testing.T, size Size) *Page {
	t.Helper()
	p, err := Start(t.Context(), size, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestPageWaitsReadsClicksAndMeasures(t *testing.T) {
	t.Setenv("SLUICE_SCREENSHOTS", t.TempDir())
	url := serve(t)
	p := start(t, Laptop)
	if err := p.WatchShown("[data-test=title]"); err != nil {
		t.Fatal(err)
	}
	if err := p.Open(url); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitAttr("[data-test=live]", "data-state", "open"); err != nil {
		t.Fatal(err)
	}
	shown, err := p.ShownAfter("[data-test=title]")
	if err != nil || shown <= 0 {
		t.Fatalf("ShownAfter = %v, %v; want a time since the navigation", shown, err)
	}
	if got, err := p.Text("[data-test=title]"); err != nil || got != "Hello 1366" {
		t.Fatalf("title = %q, %v; want the laptop's width", got, err)
	}
	if _, err := p.Text("[data-test=missing]"); err == nil {
		t.Fatal("Text of a missing element did not fail")
	}
	if err := p.Click("button[data-action=go]"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitVisible("[data-test=item]"); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Count("[data-test=item]"); err != nil || n != 1 {
		t.Fatalf("Count = %d, %v; want 1 after one click", n, err)
	}

	load, err := p.Load()
	if err != nil {
		t.Fatal(err)
	}
	if load.URL != url || load.Duration <= 0 || load.DecodedBodySize != int64(len(document)) {
		t.Fatalf("load = %+v; want the document's entry", load)
	}
	if len(load.Resources) != 1 || !strings.HasSuffix(load.Resources[0].Name, "/app.js") ||
		load.Resources[0].DecodedBodySize != int64(len(script)) {
		t.Fatalf("resources = %+v; want app.js alone", load.Resources)
	}
	if load.TotalTransfer() <= load.TotalDecoded() {
		t.Fatalf("transferred %d <= decoded %d; headers are counted", load.TotalTransfer(), load.TotalDecoded())
	}
	if shown > load.Duration {
		t.Fatalf("title shown after %s, later than the load's end at %s: its load handler set it", shown, load.Duration)
	}
	if !strings.Contains(load.String(), "/app.js") {
		t.Fatalf("the report does not list app.js:\n%s", load)
	}

	path, err := p.Screenshot("page.png")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != os.Getenv("SLUICE_SCREENSHOTS") {
		t.Fatalf("screenshot at %s, not in $SLUICE_SCREENSHOTS", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w != 1366 {
		t.Fatalf("screenshot is %d px wide; want 1366", w)
	}
}

func TestPhoneSize(t *testing.T) {
	p := start(t, Phone)
	if err := p.Open(serve(t)); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Text("[data-test=title]"); err != nil || got != "Hello 390" {
		t.Fatalf("title = %q, %v; want the phone's width", got, err)
	}
}

func TestNoChromiumSaysHowToGetIt(t *testing.T) {
	t.Setenv("SLUICE_CHROMIUM", filepath.Join(t.TempDir(), "chromium"))
	_, err := Start(t.Context(), Laptop, nil)
	if err == nil || !strings.Contains(err.Error(), "make test-tools") || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Fatalf("err = %v; want how to install Chromium", err)
	}
}
