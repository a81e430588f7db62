package app_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/chatserver/chat/app"
	"github.com/chatserver/chat/app/pubsub"
	"github.com/chatserver/chat/app/wsconn"
)

func TestRefusedFramesCloseWithTheirCode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     int
		payload []byte
		code    int
	}{
		{"invalid UTF-8", websocket.TextMessage, []byte{'a', 0xff, 0xfe, 'b'}, websocket.CloseInvalidFramePayloadData},
		{"truncated UTF-8 sequence", websocket.TextMessage, []byte("caf\xc3"), websocket.CloseInvalidFramePayloadData},
		{"binary frame", websocket.BinaryMessage, []byte("hello"), websocket.CloseUnsupportedData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, app.Config{})
			other := joined(t, s, "other")
			bad := joined(t, s, "bad", other)
			_ = bad.conn.WriteMessage(tc.typ, tc.payload)
			if code, _ := bad.expectClose(); code != tc.code {
				t.Errorf("close code %d, want %d", code, tc.code)
			}
			// Nothing of the bad message reached anyone; the others go on.
			other.expect("bad has left the chat")
			other.send("still here")
			other.expect("other: still here")
		})
	}
}

func TestRateLimitClosesTheFlooderOnly(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.Config{RateLimit: 100, RateBurst: 500}})
	other := joined(t, s, "other")
	flood := joined(t, s, "flood", other)
	for i := range 1000 {
		if err := flood.conn.WriteMessage(websocket.TextMessage, []byte(fmt.Sprint(i))); err != nil {
			break // the server may close while we are still sending
		}
	}
	code, reason := flood.expectClose()
	if code != websocket.ClosePolicyViolation || reason != "rate limit" {
		t.Errorf("closed with %d %q, want %d %q", code, reason, websocket.ClosePolicyViolation, "rate limit")
	}
	other.skipTo("flood has left the chat")
	other.send("still here")
	other.expect("other: still here")
}

// The default limit leaves a burst of a few hundred messages alone.
func TestDefaultRateLimitAllowsABurst(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.DefaultConfig()})
	c := joined(t, s, "typist")
	const burst = 300
	for i := range burst {
		c.send(fmt.Sprint(i))
	}
	for i := range burst {
		c.expect(fmt.Sprintf("typist: %d", i))
	}
}

func TestOriginCheckedOnUpgrade(t *testing.T) {
	s := startServer(t, app.Config{Origins: []string{"https://app.example"}})
	for _, tc := range []struct {
		name, origin string
		want         int
	}{
		{"no origin", "", http.StatusSwitchingProtocols},
		{"same origin", "http://" + s.addr, http.StatusSwitchingProtocols},
		{"allow-listed", "https://app.example", http.StatusSwitchingProtocols},
		{"other site", "https://evil.example", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Cookie": {"username=alice"}}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			d := websocket.Dialer{HandshakeTimeout: waitFor}
			conn, resp, err := d.Dial(s.wsURL(), h)
			if err == nil {
				conn.Close()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestMalformedUpgradesGet4xx(t *testing.T) {
	a := newApp(t)
	for _, tc := range []struct {
		name   string
		method string
		header map[string]string
	}{
		{"no key", http.MethodGet, map[string]string{"Sec-WebSocket-Key": ""}},
		{"wrong version", http.MethodGet, map[string]string{"Sec-WebSocket-Version": "8"}},
		{"not GET", http.MethodPost, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Cookie": "username=alice"}
			for k, v := range tc.header {
				h[k] = v
			}
			req := upgradeRequest("/", h)
			req.Method = tc.method
			status, _, _ := get(t, a, req)
			if status < 400 || status > 499 {
				t.Errorf("status %d, want a 4xx", status)
			}
		})
	}
}

func TestHalfSentRequestIsCutOff(t *testing.T) {
	s := startServer(t, app.Config{HeaderTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\n", s.addr)
	_ = conn.SetReadDeadline(deadline())
	start := time.Now()
	// Whatever the server answers, it must then close the connection.
	answer, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v (got %q)", waitFor, answer)
	}
	if !strings.HasPrefix(string(answer), "HTTP/1.1 408") {
		t.Errorf("answer %q, want 408 Request Timeout before the close", answer)
	}
	t.Logf("server ended the connection after %v (%q, %v)", time.Since(start), answer, err)
}

func TestTooManyConnections(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.Config{MaxConns: 2}})
	first := joined(t, s, "first")
	joined(t, s, "second", first)
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	conn, resp, err := d.Dial(s.wsURL(), http.Header{"Cookie": {"username=third"}})
	if err == nil {
		conn.Close()
		t.Fatal("third connection accepted, want 503")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("got %v (%v), want 503", resp, err)
	}
	// A place frees up when someone leaves.
	first.close()
	eventually(t, "the first connection to leave", func() bool { return s.Conns().Stats().Open == 1 })
	dial(t, s, "third").skipTo("third has entered the chat")
}

// boomer is a subscriber that panics on one message, standing in for a bug
// anywhere on a connection's goroutine.
type boomer struct{}

func (boomer) Send(m *pubsub.Message) pubsub.Status {
	if strings.HasSuffix(m.Text(), ": boom") {
		panic("boom")
	}
	return pubsub.Queued
}

func TestPanicEndsOnlyThatConnection(t *testing.T) {
	s := startServer(t, app.Config{})
	s.Registry().Subscribe(topic, boomer{})
	defer s.Registry().Unsubscribe(topic, boomer{})
	bob := joined(t, s, "bob")
	alice := joined(t, s, "alice", bob)

	alice.send("boom") // alice's handler publishes it, and panics
	_ = alice.conn.SetReadDeadline(deadline())
	for {
		_, _, err := alice.conn.ReadMessage()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("alice's connection still open after the panic")
		}
		if err != nil {
			break // connection ended
		}
	}
	bob.skipTo("alice has left the chat")
	bob.send("still here")
	bob.skipTo("bob: still here")
	if log := s.logs(); !strings.Contains(log, `msg="panic in socket handler" conn_id=`) {
		t.Errorf("no Error log line with the connection id; log:\n%s", log)
	}
}
