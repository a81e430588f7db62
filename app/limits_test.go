package app_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/chatserver/chat/app"
	"github.com/chatserver/chat/app/wsconn"
)

// flood has sender send numbered 8 KiB messages, each waiting for its own
// echo so that the sender itself never falls behind, until stop holds.
// It returns how many it sent.
func flood(t *testing.T, sender *client, stop func() bool) int {
	t.Helper()
	pad := strings.Repeat("x", 8<<10)
	const most = 10000 // 80 MiB: far more than any socket buffers hold
	for i := range most {
		if stop() {
			return i
		}
		text := fmt.Sprintf("%d %s", i, pad)
		sender.send(text)
		sender.expect(sender.name + ": " + text)
	}
	t.Fatalf("still going after %d messages", most)
	return most
}

// readSeqs reads the numbered flood messages that reach c until its
// connection ends, and returns their numbers and the close code (0 if the
// connection ended without a close frame).
func readSeqs(t *testing.T, c *client) (seqs []int, code int) {
	t.Helper()
	for {
		_ = c.conn.SetReadDeadline(deadline())
		_, raw, err := c.conn.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok {
			return seqs, ce.Code
		}
		if err != nil {
			t.Fatalf("%s: read: %v", c.name, err)
		}
		var who string
		var seq int
		if _, err := fmt.Sscanf(string(raw), "%s %d", &who, &seq); err == nil {
			seqs = append(seqs, seq)
		}
	}
}

func TestSlowReaderIsClosedOthersGetEverything(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.Config{QueueLimit: 256 << 10}})
	slow := dial(t, s, "slow") // reads nothing after its join until the end
	slow.expect("slow has entered the chat")
	sender := dial(t, s, "sender")
	sender.expect("sender has entered the chat")
	watcher := dial(t, s, "watcher")
	sender.expect("watcher has entered the chat")
	watcher.expect("watcher has entered the chat")

	got := make(chan []int, 1)
	go func() {
		var seqs []int
		for {
			_ = watcher.conn.SetReadDeadline(deadline())
			_, raw, err := watcher.conn.ReadMessage()
			if err != nil {
				got <- seqs
				return
			}
			var seq int
			if _, err := fmt.Sscanf(string(raw), "sender: %d", &seq); err == nil {
				seqs = append(seqs, seq)
			}
		}
	}()
	sent := flood(t, sender, func() bool { return s.Registry().Stats().SlowCloses > 0 })
	sender.send("done")
	sender.expect("sender: done")

	seqs, code := readSeqs(t, slow)
	if code != websocket.ClosePolicyViolation {
		t.Errorf("slow reader closed with %d, want %d", code, websocket.ClosePolicyViolation)
	}
	for i, seq := range seqs {
		if seq != i {
			t.Fatalf("slow reader's message %d is #%d: a gap before the close", i, seq)
		}
	}
	t.Logf("slow reader got %d of %d messages, then close %d", len(seqs), sent, code)

	// The watcher's reader goroutine owns its reads: only send the close.
	_ = watcher.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline())
	w := <-got
	if len(w) != sent {
		t.Errorf("watcher got %d messages, want all %d", len(w), sent)
	}
	if st := s.Registry().Stats(); st.SlowCloses != 1 {
		t.Errorf("slow closes counted %d, want 1", st.SlowCloses)
	}
}

func TestDropPolicySkipsAndCounts(t *testing.T) {
	cfg := app.Config{Conn: wsconn.Config{QueueLimit: 256 << 10, DropWhenFull: true}}
	s := startServer(t, cfg)
	slow := dial(t, s, "slow")
	slow.expect("slow has entered the chat")
	sender := dial(t, s, "sender")
	sender.expect("sender has entered the chat")

	sent := flood(t, sender, func() bool { return s.Registry().Stats().Drops > 0 })
	sender.send(fmt.Sprintf("%d last", sent))
	sender.expect(fmt.Sprintf("sender: %d last", sent))

	// The slow reader stays, and what it gets is in order up to the last.
	slow.expect("sender has entered the chat")
	prev := -1
	for prev != sent {
		var seq int
		if _, err := fmt.Sscanf(slow.next(), "sender: %d", &seq); err != nil || seq <= prev {
			t.Fatalf("after #%d got #%d (%v)", prev, seq, err)
		}
		prev = seq
	}
	if n := s.Registry().SubscriberCount(topic); n != 2 {
		t.Errorf("%d subscribers, want 2: the slow reader must stay", n)
	}
	if st := s.Registry().Stats(); st.Drops == 0 || st.SlowCloses != 0 {
		t.Errorf("stats %+v: want drops counted and no slow closes", st)
	}
}

func TestOversizedMessageClosedWith1009(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.Config{MaxMessage: 1024}})
	other := dial(t, s, "other")
	other.expect("other has entered the chat")
	big := dial(t, s, "big")
	big.expect("big has entered the chat")
	other.expect("big has entered the chat")

	big.send(strings.Repeat("a", 1024)) // at the limit: accepted
	big.expect("big: " + strings.Repeat("a", 1024))
	big.send(strings.Repeat("a", 1025))
	if code, _ := big.expectClose(); code != websocket.CloseMessageTooBig {
		t.Errorf("close code %d, want %d", code, websocket.CloseMessageTooBig)
	}
	other.expect("big: "+strings.Repeat("a", 1024), "big has left the chat")
}

func TestIdlePeerClosedPongingPeerStays(t *testing.T) {
	s := startServer(t, app.Config{Conn: wsconn.Config{IdleTimeout: time.Second}})
	live := dial(t, s, "live")
	live.expect("live has entered the chat")
	dial(t, s, "idle") // never reads, so never answers a ping
	var pings atomic.Int32
	live.conn.SetPingHandler(func(data string) error {
		pings.Add(1)
		return live.conn.WriteControl(websocket.PongMessage, []byte(data), deadline())
	})
	lines := make(chan string, 16)
	go func() {
		for {
			_, raw, err := live.conn.ReadMessage() // answers pings as it reads
			if err != nil {
				close(lines)
				return
			}
			lines <- string(raw)
		}
	}()

	eventually(t, "the idle peer to be dropped", func() bool {
		return s.Registry().SubscriberCount(topic) == 1
	})
	start := pings.Load()
	eventually(t, "three more pings to the live peer", func() bool { return pings.Load() >= start+3 })
	if n := s.Registry().SubscriberCount(topic); n != 1 {
		t.Fatalf("%d subscribers after three more ping periods, want the live peer", n)
	}
	want := []string{"idle has entered the chat", "idle has left the chat"}
	for _, w := range want {
		select {
		case got := <-lines:
			if got != w {
				t.Fatalf("live got %q, want %q", got, w)
			}
		case <-time.After(waitFor):
			t.Fatalf("live: no %q", w)
		}
	}
}

// socketGoroutines lists the goroutines running code of a connection: its
// handler, or its write side. The flusher's idle workers belong to the
// server, not to a connection, and are not counted.
func socketGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "chat/app/wsconn.(*Conn)") || strings.Contains(g, "chat/handlers.(*Chat)") {
			found = append(found, g)
		}
	}
	return found
}

// httpGoroutines lists the goroutines serving an HTTP connection that has
// not been upgraded.
func httpGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "fasthttp.(*Server).serveConn") {
			found = append(found, g)
		}
	}
	return found
}

// Every way a connection can end leaves nothing behind: no goroutine, no
// registry entry, no slot in the connection count.
func TestNoGoroutineOutlivesItsConnection(t *testing.T) {
	cfg := app.Config{HeaderTimeout: time.Second, Conn: wsconn.Config{IdleTimeout: time.Second}}
	s := startServer(t, cfg)
	ends := []struct {
		name string
		end  func(t *testing.T, i int)
	}{
		{"clean close", func(t *testing.T, i int) {
			c := dial(t, s, fmt.Sprintf("u%d", i))
			c.send("hi")
			c.skipTo(fmt.Sprintf("u%d: hi", i))
			c.close()
		}},
		{"abrupt TCP close", func(t *testing.T, i int) {
			c := dial(t, s, fmt.Sprintf("u%d", i))
			c.send("hi")
			c.conn.NetConn().(*net.TCPConn).SetLinger(0)
			c.conn.Close() // TCP reset, no close frame
		}},
		{"upgrade then silence", func(t *testing.T, i int) {
			dial(t, s, fmt.Sprintf("u%d", i)) // the idle timeout ends it
		}},
		{"headers stop half-way", func(t *testing.T, i int) {
			conn, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
		}},
	}
	const cycles = 2000
	for i := range cycles {
		ends[i%len(ends)].end(t, i)
	}
	eventually(t, "every connection to be gone", func() bool {
		return len(socketGoroutines()) == 0 && len(httpGoroutines()) == 0 &&
			s.Conns().Stats().Open == 0
	})
	if n := s.Registry().SubscriberCount(topic); n != 0 {
		t.Errorf("%d subscribers left, want 0", n)
	}
}

// After Shutdown nothing of the server keeps running.
func TestShutdownLeavesNothingRunning(t *testing.T) {
	s := startServer(t, app.Config{})
	a := dial(t, s, "a")
	a.skipTo("a has entered the chat")
	a.send("hi")
	a.skipTo("a: hi")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil { // a does not answer: 2 s close timeout
		t.Fatal(err)
	}
	ours := regexp.MustCompile(`chatserver/chat/(app|app/\w+|handlers)\.`)
	eventually(t, "the server's goroutines to end", func() bool {
		buf := make([]byte, 1<<20)
		return !ours.Match(buf[:runtime.Stack(buf, true)])
	})
}
