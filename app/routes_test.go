package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chatserver/chat/app"
)

func newApp(t *testing.T) *app.App {
	t.Helper()
	a, err := app.New(app.Config{}, testLogger(t))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	return a
}

func TestHelloWorld(t *testing.T) {
	a := newApp(t)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/"},
		{http.MethodGet, "/any/other/path"},
		{http.MethodPost, "/"},
		{http.MethodGet, "/?q=1"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://example.com"+tc.path, nil)
			status, header, body := get(t, a, req)
			if status != http.StatusOK || body != "Hello world" {
				t.Errorf("got %d %q, want 200 %q", status, body, "Hello world")
			}
			if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
		})
	}
}

func TestChatPage(t *testing.T) {
	a := newApp(t)
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/chat", nil)
	status, header, body := get(t, a, req)
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200", status)
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	for _, want := range []string{`<script src="/static/chat.js"`, `href="/static/chat.css"`, `id="log"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("page refers to an outside resource:\n%s", body)
	}
}

func TestStaticFiles(t *testing.T) {
	a := newApp(t)
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/static/chat.js", "javascript", "new WebSocket("},
		{"/static/chat.css", "text/css", "#log"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://example.com"+tc.path, nil)
			status, header, body := get(t, a, req)
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200", status)
			}
			if ct := header.Get("Content-Type"); !strings.Contains(ct, tc.ctype) {
				t.Errorf("Content-Type = %q, want %s", ct, tc.ctype)
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
		})
	}
}

func TestUpgradeNeedsValidName(t *testing.T) {
	a := newApp(t)
	for _, tc := range []struct {
		name   string
		cookie string
		reason string
	}{
		{"no cookie", "", "missing username cookie"},
		{"other cookies only", "theme=dark; lang=en", "missing username cookie"},
		{"empty", "username=", "missing username cookie"},
		{"only spaces", "username=%20%20", "username is empty"},
		{"too long", "username=" + strings.Repeat("a", 33), "username is longer than 32 characters"},
		{"control character", "username=a%07b", "username may hold only letters, digits, spaces and . _ -"},
		{"markup", "username=%3Cb%3E", "username may hold only letters, digits, spaces and . _ -"},
		{"bad percent-encoding", "username=a%zzb", "username is not valid percent-encoding"},
		{"not utf-8", "username=%ff%fe", "username is not valid UTF-8"},
		{"10 KiB cookie", "username=" + strings.Repeat("x", 10<<10), "username is longer than 32 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.cookie != "" {
				h["Cookie"] = tc.cookie
			}
			status, header, body := get(t, a, upgradeRequest("/", h))
			if status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", status)
			}
			if got := lines(body); len(got) != 1 || got[0] != tc.reason {
				t.Errorf("body %q, want the one line %q", body, tc.reason)
			}
			if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
		})
	}
}

func TestPlainRoutesNeedNoName(t *testing.T) {
	a := newApp(t)
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
	req.Header.Set("Cookie", "username=%zz")
	if status, _, body := get(t, a, req); status != http.StatusOK || body != "Hello world" {
		t.Errorf("got %d %q, want 200 Hello world", status, body)
	}
}

func TestPageAndAssetsAreLockedDown(t *testing.T) {
	a := newApp(t)
	for _, path := range []string{"/chat", "/static/chat.js", "/static/chat.css"} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://example.com"+path, nil)
			_, header, _ := get(t, a, req)
			csp := header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("Content-Security-Policy %q allows inline code", csp)
			}
			if got := header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
}

func TestPageHasNoInlineCode(t *testing.T) {
	a := newApp(t)
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/chat", nil)
	_, _, body := get(t, a, req)
	for _, bad := range []string{"<script>", "style=", "onclick=", "javascript:"} {
		if strings.Contains(body, bad) {
			t.Errorf("page holds inline code %q", bad)
		}
	}
}
