package app_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatserver/chat/app"
)

// browserTimeout bounds the whole browser test, from starting the browsers
// to closing them.
const browserTimeout = 30 * time.Second

// Expressions that read the chat page.
const (
	statusJS = `document.getElementById("status").textContent`
	linesJS  = `Array.from(document.querySelectorAll("#log li"), (li) => li.textContent)`
)

// TestBrowserChat runs the chat page in two headless Chromium browsers, each
// with its own profile and so its own cookie jar, against a real server.
func TestBrowserChat(t *testing.T) {
	chromium := chromiumPath(t)
	s := startServer(t, app.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel) // not defer: the browsers' cleanups run first and need ctx
	url := "http://" + s.addr + "/chat"

	alice := openBrowser(ctx, t, chromium, "alice")
	alice.join(url)
	bob := openBrowser(ctx, t, chromium, "bob")
	bob.join(url)
	alice.waitForLine("bob has entered the chat")

	alice.say("hello from alice")
	bob.say("hi alice <b>bold</b>")
	for _, b := range []*browser{alice, bob} {
		b.waitForLine("alice: hello from alice")
		b.waitForLine("bob: hi alice <b>bold</b>")
		if got := eval[bool](b, `document.querySelector("#log b") === null`); !got {
			t.Errorf("%s: the log has a <b> element; want the markup shown as text", b.name)
		}
	}

	if got := eval[string](alice, `document.cookie`); !strings.Contains(got, "username=alice") {
		t.Errorf("alice: document.cookie is %q, want it to contain %q", got, "username=alice")
	}

	// The page says when the connection is lost.
	sctx, scancel := context.WithTimeout(context.Background(), waitFor)
	defer scancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	lost := "Connection lost (server shutting down). Reload the page to reconnect."
	alice.waitUntil(`(want) => `+statusJS+` === want`, statusJS, lost)
}

// browser is one headless Chromium with a profile of its own, showing one
// tab. A cleanup closes it.
type browser struct {
	t    testing.TB
	ctx  context.Context
	name string // the chat name its user picks
}

// openBrowser starts the browser at path for the user name, bounded by ctx.
// The flags are spelt out: chromedp's DisableGPU and Headless add more.
func openBrowser(ctx context.Context, t testing.TB, path, name string) *browser {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	tab, _ := chromedp.NewContext(alloc) // chromedp.Cancel(tab) cancels it
	// Runs before t.TempDir's cleanup: the browser exits before its profile goes.
	t.Cleanup(func() {
		if err := chromedp.Cancel(tab); err != nil {
			t.Logf("%s: close browser: %v", name, err)
		}
		cancelAlloc()
	})
	b := &browser{t: t, ctx: tab, name: name}
	b.do("start browser") // the first run starts the browser
	return b
}

// chromiumPath returns the browser to run: $CHROMIUM, or Debian's chromium.
// Without it the test is skipped, except on CI, where it must run.
func chromiumPath(t testing.TB) string {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no browser for the browser test: %v", err)
		}
		t.Skipf("no browser at %s (%v): install Debian's chromium package or set CHROMIUM",
			path, err)
	}
	return path
}

// join opens the chat page, picks the browser's name in the name form and
// waits until the chat welcomes it.
func (b *browser) join(url string) {
	b.t.Helper()
	b.do("join",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("name-input")),
		chromedp.SendKeys(chromedp.ID("name-input"), b.name),
		chromedp.Click(chromedp.CSS(`#name-form button[type="submit"]`)),
	)
	b.waitUntil(`(want) => `+statusJS+` === want`, statusJS, "Connected")
	b.waitForLine(b.name + " has entered the chat")
}

// say types text into the message box and presses Enter.
func (b *browser) say(text string) {
	b.t.Helper()
	b.do("say "+text, chromedp.SendKeys(chromedp.ID("message-input"), text+"\n"))
}

// waitForLine waits until a line of the chat log reads exactly want.
func (b *browser) waitForLine(want string) {
	b.t.Helper()
	b.waitUntil(`(want) => `+linesJS+`.includes(want)`, linesJS, want)
}

// waitUntil waits until the JavaScript function match returns true for want,
// checking on every change to the page. After waitFor it fails the test
// with what the expression got evaluates to.
func (b *browser) waitUntil(match, got, want string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.PollFunction[bool](match,
		chromedp.WithPollingArgs(want),
		chromedp.WithPollingMutation(),
		chromedp.WithPollingTimeout(waitFor),
	))
	if err != nil {
		now, _ := chromedp.Run(b.ctx, chromedp.Evaluate[any](got))
		b.t.Fatalf("%s: waiting for %q: %v\ngot:  %q\nwant: %q", b.name, want, err, now, want)
	}
}

// do runs the steps in the browser's tab, failing the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// eval returns the value of the JavaScript expression js in b's tab.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, js, err)
	}
	return v
}
