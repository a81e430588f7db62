package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/chatserver/chat/app"
)

// waitFor bounds every wait in these tests.
const waitFor = 10 * time.Second

func deadline() time.Time { return time.Now().Add(waitFor) }

// server is a chat server running on a real loopback listener.
type server struct {
	*app.App
	addr string      // host:port
	log  *testWriter // the server's log
}

// logs returns what the server has logged so far.
func (s *server) logs() string {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.log.all.String()
}

// startServer runs a server with cfg on 127.0.0.1:0 and shuts it down when
// the test ends. Its log goes to the test's log.
func startServer(t testing.TB, cfg app.Config) *server {
	t.Helper()
	log, w := newTestLogger(t)
	a, err := app.New(cfg, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &server{App: a, addr: ln.Addr().String(), log: w}
}

func (s *server) wsURL() string { return "ws://" + s.addr + "/" }

// testLogger sends log lines to t.Log, and drops them once the test is over
// (a connection may still log while the server shuts down).
func testLogger(t testing.TB) *slog.Logger {
	log, _ := newTestLogger(t)
	return log
}

func newTestLogger(t testing.TB) (*slog.Logger, *testWriter) {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), w
}

// client is a test's WebSocket client.
type client struct {
	t    testing.TB
	name string
	conn *websocket.Conn
}

// dial connects as name (sent in the username cookie).
func dial(t testing.TB, s *server, name string) *client {
	t.Helper()
	return dialHeader(t, s.wsURL(), name, http.Header{"Cookie": {"username=" + name}})
}

func dialHeader(t testing.TB, url, name string, h http.Header) *client {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	conn, resp, err := d.Dial(url, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial as %q: %v (status %d)", name, err, status)
	}
	c := &client{t: t, name: name, conn: conn}
	t.Cleanup(func() { conn.Close() })
	return c
}

// joined dials name and waits until everyone in others has seen it join.
func joined(t *testing.T, s *server, name string, others ...*client) *client {
	t.Helper()
	c := dial(t, s, name)
	c.skipTo(name + " has entered the chat")
	for _, o := range others {
		o.skipTo(name + " has entered the chat")
	}
	return c
}

// send sends text as one text message.
func (c *client) send(text string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(waitFor))
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		c.t.Fatalf("%s: send: %v", c.name, err)
	}
}

// next returns the next text message, failing the test after waitFor.
func (c *client) next() string {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
	typ, msg, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.name, err)
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("%s: got message type %d, want text", c.name, typ)
	}
	return string(msg)
}

// expect reads the next messages and checks that they are want, in order.
func (c *client) expect(want ...string) {
	c.t.Helper()
	for i, w := range want {
		if got := c.next(); got != w {
			c.t.Fatalf("%s: message %d: got %q, want %q", c.name, i, short(got), short(w))
		}
	}
}

// skipTo reads until the message want arrives.
func (c *client) skipTo(want string) {
	c.t.Helper()
	for c.next() != want {
	}
}

// expectClose reads until the server's close frame and returns its code.
// Messages before it are skipped.
func (c *client) expectClose() (code int, reason string) {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	_ = c.conn.SetReadDeadline(deadline)
	for {
		_, _, err := c.conn.ReadMessage()
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce):
			return ce.Code, ce.Text
		case err != nil:
			c.t.Fatalf("%s: waiting for a close frame: %v", c.name, err)
		}
	}
}

// close sends a normal close frame and waits for the server's answer.
func (c *client) close() {
	c.t.Helper()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitFor)); err != nil {
		c.t.Fatalf("%s: send close: %v", c.name, err)
	}
	if code, _ := c.expectClose(); code != websocket.CloseNormalClosure {
		c.t.Fatalf("%s: close answered with %d, want %d", c.name, code, websocket.CloseNormalClosure)
	}
	c.conn.Close()
}

// eventually polls cond until it holds, failing the test after waitFor.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// get does a plain HTTP request through app.Test and returns status and body.
func get(t testing.TB, a *app.App, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := a.Fiber().Test(req, int(waitFor/time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

func upgradeRequest(path string, header map[string]string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

// short cuts s for a failure message.
func short(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%s... (%d bytes)", s[:80], len(s))
	}
	return s
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

// testWriter passes log output to t.Log until the test's cleanup runs, and
// keeps all of it.
type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
	all  bytes.Buffer
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
