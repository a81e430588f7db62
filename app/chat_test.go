package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/chatserver/chat/app"
	"github.com/chatserver/chat/app/wsconn"
)

const topic = "the-group-chat"

// Strict: the join is the very first message each one gets.
func TestJoinSeenBySelfAndOthers(t *testing.T) {
	s := startServer(t, app.Config{})
	alice := dial(t, s, "alice")
	alice.expect("alice has entered the chat")
	bob := dial(t, s, "bob")
	bob.expect("bob has entered the chat")
	alice.expect("bob has entered the chat")
}

func TestMessageReachesEveryoneIncludingSender(t *testing.T) {
	s := startServer(t, app.Config{})
	alice := joined(t, s, "alice")
	bob := joined(t, s, "bob", alice)

	alice.send("hello bob")
	alice.expect("alice: hello bob")
	bob.expect("alice: hello bob")
}

func TestLeaveSeenByOthersOnly(t *testing.T) {
	s := startServer(t, app.Config{})
	alice := joined(t, s, "alice")
	bob := joined(t, s, "bob", alice)

	bob.close() // fails if anything but the close answer reaches bob
	alice.expect("bob has left the chat")
	eventually(t, "bob to leave the topic", func() bool {
		return s.Registry().SubscriberCount(topic) == 1
	})
}

func TestNewcomerGetsNoHistory(t *testing.T) {
	s := startServer(t, app.Config{})
	alice := dial(t, s, "alice")
	alice.expect("alice has entered the chat")
	alice.send("before bob")
	alice.expect("alice: before bob")

	bob := dial(t, s, "bob")
	bob.expect("bob has entered the chat")
	alice.expect("bob has entered the chat")
	alice.send("after bob")
	bob.expect("alice: after bob")
}

func TestBackToBackMessagesArriveCompleteAndInOrder(t *testing.T) {
	s := startServer(t, app.Config{})
	alice := joined(t, s, "alice")
	bob := joined(t, s, "bob", alice)

	const n = 200
	for i := range n {
		alice.send(fmt.Sprintf("message %d", i))
	}
	for _, c := range []*client{alice, bob} {
		for i := range n {
			c.expect(fmt.Sprintf("alice: message %d", i))
		}
	}
}

func TestNameAmongOtherCookies(t *testing.T) {
	s := startServer(t, app.Config{})
	h := http.Header{"Cookie": {"theme=dark; username=Zo%C3%AB%20M; lang=en"}}
	zoe := dialHeader(t, s.wsURL(), "Zoë M", h)
	zoe.expect("Zoë M has entered the chat")
	zoe.send("hi")
	zoe.expect("Zoë M: hi")
}

func TestUnicodeAndLargeMessagesByteExact(t *testing.T) {
	s := startServer(t, app.Config{})
	alice := dial(t, s, "alice")
	alice.expect("alice has entered the chat")
	for _, text := range []string{
		"héllo wörld ✓ 你好 🙂",
		strings.Repeat("0123456789abcdef", 64), // 1 KiB
		strings.Repeat("ü", 30000),             // 60,000 bytes
		strings.Repeat("y", 64<<10),            // the largest accepted: a frame with a 64-bit length
		strings.Repeat("x", 118),               // with "alice: ", 125 bytes: the 7-bit length form's edge
		strings.Repeat("x", 119),               // 126 bytes: the 16-bit form
		"",
		"<b>&amp;</b>",
	} {
		alice.send(text)
		alice.expect("alice: " + text)
	}
}

// Every client sends while the others do; every client must receive every
// message of every sender, each sender's in order.
func TestConcurrentSendersEveryoneGetsEverything(t *testing.T) {
	s := startServer(t, app.Config{})
	const clients, perClient = 8, 100
	cs := make([]*client, clients)
	for i := range cs {
		cs[i] = dial(t, s, fmt.Sprintf("c%d", i))
	}
	eventually(t, "all clients subscribed", func() bool {
		return s.Registry().SubscriberCount(topic) == clients
	})

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- receiveAll(c, clients, perClient, i)
		}()
	}
	for i, c := range cs {
		go func() {
			for k := range perClient {
				msg := fmt.Sprintf("%d", k)
				if err := c.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
					errs <- fmt.Errorf("c%d: send: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// receiveAll reads until it has every sender's perClient messages, and
// checks each sender's order. Join lines from later clients are skipped.
// It runs in its own goroutine, so it returns errors instead of failing.
func receiveAll(c *client, clients, perClient, me int) error {
	next := make([]int, clients)
	got := 0
	for got < clients*perClient {
		_ = c.conn.SetReadDeadline(deadline())
		_, raw, err := c.conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("c%d: after %d messages: %w", me, got, err)
		}
		msg := string(raw)
		if strings.HasSuffix(msg, " has entered the chat") {
			continue
		}
		var from, seq int
		if _, err := fmt.Sscanf(msg, "c%d: %d", &from, &seq); err != nil || from >= clients {
			return fmt.Errorf("c%d: unexpected message %q", me, msg)
		}
		if seq != next[from] {
			return fmt.Errorf("c%d: from c%d got %d, want %d", me, from, seq, next[from])
		}
		next[from]++
		got++
	}
	return nil
}

func TestShutdownClosesSocketsWithGoingAway(t *testing.T) {
	s := startServer(t, app.Config{})
	alice := dial(t, s, "alice")
	alice.expect("alice has entered the chat")
	bob := dial(t, s, "bob")
	bob.expect("bob has entered the chat")

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(ctx) }()
	for _, c := range []*client{alice, bob} {
		if code, _ := c.expectClose(); code != websocket.CloseGoingAway {
			t.Errorf("%s: close code %d, want %d", c.name, code, websocket.CloseGoingAway)
		}
		// Answer the close, as a browser does, so the handshake completes.
		_ = c.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), deadline())
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if n := s.Conns().Stats().Open; n != 0 {
		t.Errorf("%d connections still open after shutdown", n)
	}
}

func TestCompressionNegotiatedAndByteExact(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.Config{Compression: true}})
	d := websocket.Dialer{EnableCompression: true, HandshakeTimeout: waitFor}
	conn, resp, err := d.Dial(s.wsURL(), http.Header{"Cookie": {"username=zip"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if ext := resp.Header.Get("Sec-Websocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("extensions %q: permessage-deflate not negotiated", ext)
	}
	zip := &client{t: t, name: "zip", conn: conn}
	zip.expect("zip has entered the chat")
	plain := joined(t, s, "plain", zip) // does not offer compression

	before := s.Conns().Stats().BytesWritten
	text := strings.Repeat("compress me please ", 1000) // 19,000 bytes
	zip.send(text)
	zip.expect("zip: " + text)
	plain.expect("zip: " + text)
	eventually(t, "both deliveries written", func() bool {
		return s.Conns().Stats().BytesWritten-before > uint64(len(text))
	})
	// One copy went out as is, the other compressed to far less.
	if sent := s.Conns().Stats().BytesWritten - before; sent > uint64(len(text))+1000 {
		t.Errorf("wrote %d bytes for two deliveries of %d: the compressed one was not compressed",
			sent, len(text))
	}
	zip.send("short")
	zip.expect("zip: short")
}
