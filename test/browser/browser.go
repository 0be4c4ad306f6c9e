// Package browser drives a headless Chromium for the end-to-end suites: one
// fresh browser per page, a laptop or a phone screen, full-page screenshots
// into the test reports and the page's load timings from the Performance
// API. It reads the page only through the DOM, as a person's browser shows
// it.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultExecPath is where Debian's chromium package puts its launcher;
// $SLUICE_CHROMIUM names another.
const DefaultExecPath = "/usr/bin/chromium"

// Size is the window a page is shown in.
type Size struct {
	Width, Height int64
	// Mobile makes the page's viewport a phone's: media queries and
	// the meta viewport tag apply as they would there.
	Mobile bool
}

var (
	// Laptop is a common laptop screen.
	Laptop = Size{Width: 1366, Height: 900}
	// Phone is a current phone's screen in portrait, at one pixel per
	// CSS pixel so its screenshots stay small.
	Phone = Size{Width: 390, Height: 844, Mobile: true}
)

// DefaultTimeout bounds each wait of a Page.
const DefaultTimeout = time.Minute

// ExecPath returns the Chromium to run, or an error that says how to get
// one: the suites fail without it rather than skip.
func ExecPath() (string, error) {
	path := os.Getenv("SLUICE_CHROMIUM")
	if path == "" {
		path = DefaultExecPath
	}
	info, err := os.Stat(path)
	if err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
		return path, nil
	}
	return "", fmt.Errorf("no Chromium at %s: run `make test-tools` (it installs Debian's chromium package), "+
		"or `sudo apt-get install chromium`, or set SLUICE_CHROMIUM to a Chromium or Chrome binary", path)
}

// Page is one tab of a headless Chromium of its own, with a fresh
// profile, so no cache or cookie passes from one page to the next.
type Page struct {
	ctx     context.Context
	cancel  func()
	profile string
	// Timeout bounds each wait; DefaultTimeout unless changed.
	Timeout time.Duration
}

// Start starts Chromium with one tab of the given size. Its output goes to
// out (may be nil). Close ends it.
func Start(ctx context.Context, size Size, out io.Writer) (*Page, error) {
	execPath, err := ExecPath()
	if err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "sluice-chromium-")
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = io.Discard
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx),
		chromedp.ExecPath(execPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(int(size.Width), int(size.Height)),
		chromedp.CombinedOutput(out),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	p := &Page{
		ctx: tabCtx,
		cancel: func() {
			cancelTab()
			cancelAlloc() // waits for the browser to exit
			_ = os.RemoveAll(profile)
		},
		profile: profile,
		Timeout: DefaultTimeout,
	}
	var viewport []chromedp.EmulateViewportOption
	if size.Mobile {
		viewport = append(viewport, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	// The first action starts the browser, which lives as long as the
	// context it is given: the tab's, not a shorter one of p.do.
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(size.Width, size.Height, viewport...)); err != nil {
		p.Close()
		return nil, fmt.Errorf("starting %s: %w", execPath, err)
	}
	return p, nil
}

// Close ends the browser and removes its profile.
func (p *Page) Close() { p.cancel() }

func (p *Page) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Eval evaluates a JavaScript expression in the page and decodes its value.
func Eval[T any](p *Page, expression string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expression))
}

// poll waits until a JavaScript function, called with args, returns a
// truthy value, checking when the option says, and returns that value.
func poll[T any](p *Page, when chromedp.PollOption, function string, args ...any) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.PollFunction[T](function, when,
		chromedp.WithPollingTimeout(p.Timeout), chromedp.WithPollingArgs(args...)))
}

// Open navigates to url and waits for its load event.
func (p *Page) Open(url string) error {
	return p.do(chromedp.Navigate(url))
}

// WaitVisible waits until an element matching the CSS selector is shown.
func (p *Page) WaitVisible(selector string) error {
	return p.do(chromedp.WaitVisible(chromedp.CSS(selector)))
}

// WaitAttr waits until an element matching the selector has the attribute
// with the value, checking on every change of the page.
func (p *Page) WaitAttr(selector, attr, value string) error {
	_, err := poll[bool](p, chromedp.WithPollingMutation(),
		`(sel, attr, value) => Array.from(document.querySelectorAll(sel)).some(e => e.getAttribute(attr) === value)`,
		selector, attr, value)
	if err != nil {
		return fmt.Errorf("waiting for %s with %s=%q: %w", selector, attr, value, err)
	}
	return nil
}

// Click clicks the first element matching the selector, once it is shown.
func (p *Page) Click(selector string) error {
	return p.do(chromedp.Click(chromedp.CSS(selector)))
}

// Text returns the text shown by the first element matching the selector,
// or an error when there is none: made to be polled by Eventually.
func (p *Page) Text(selector string) (string, error) {
	return Eval[string](p, fmt.Sprintf(`(e => e ? e.innerText.trim() : null)(document.querySelector(%s))`, jsString(selector)))
}

// Attr returns an attribute of the first element matching the selector, or
// an error when there is none or it lacks the attribute.
func (p *Page) Attr(selector, attr string) (string, error) {
	return Eval[string](p, fmt.Sprintf(`(e => e ? e.getAttribute(%s) : null)(document.querySelector(%s))`, jsString(attr), jsString(selector)))
}

// Count returns how many elements match the selector.
func (p *Page) Count(selector string) (int, error) {
	return Eval[int](p, fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(selector)))
}

func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}

// Screenshot saves a full-page PNG screenshot as name (e.g.
// "rollout.png") in ScreenshotDir and returns its path.
func (p *Page) Screenshot(name string) (string, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	return WriteReport(name, png)
}

// WriteReport writes a file into ScreenshotDir and returns its path.
func WriteReport(name string, data []byte) (string, error) {
	dir, err := ScreenshotDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, data, 0o644)
}

// ScreenshotDir is where screenshots go, created if missing:
// $SLUICE_SCREENSHOTS, or .reports/screenshots at the repository's root,
// beside the suites' JSON reports.
func ScreenshotDir() (string, error) {
	dir := os.Getenv("SLUICE_SCREENSHOTS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, ".reports", "screenshots")
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// repoRoot is the directory holding go.mod above this file's own.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot find the repository: no caller information")
	}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if parent := filepath.Dir(dir); parent == dir {
			return "", fmt.Errorf("no go.mod above %s", file)
		}
	}
}
