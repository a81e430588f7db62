package wsconn

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// waitFor bounds every wait in these tests.
const waitFor = 5 * time.Second

// serveGroup serves WebSocket upgrades on a loopback port, each taken over
// by g. What Open returned goes to opened; an admitted connection is read
// until it ends, then finished, as the chat handler does.
func serveGroup(t testing.TB, g *Group) (url string, opened <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan error, 8)
	var up websocket.FastHTTPUpgrader
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		_ = up.Upgrade(ctx, func(ws *websocket.Conn) {
			c, err := g.Open(ws, Peer{User: "test"})
			results <- err
			if err != nil {
				return
			}
			defer c.Finish()
			for {
				if _, err := c.Read(); err != nil {
					return
				}
			}
		})
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "ws://" + ln.Addr().String() + "/", results
}

func dialGroup(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func openResult(t testing.TB, opened <-chan error) error {
	t.Helper()
	select {
	case err := <-opened:
		return err
	case <-time.After(waitFor):
		t.Fatal("the server never took the connection over")
		return nil
	}
}

// expectClose reads until the server's close frame and checks its code and
// reason.
func expectClose(t testing.TB, ws *websocket.Conn, code int, reason string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(waitFor))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		if ce.Code != code || ce.Text != reason {
			t.Fatalf("close %d %q, want %d %q", ce.Code, ce.Text, code, reason)
		}
		return
	}
}

// An upgrade that gets past the server's early check while the group is
// full, or shutting down, is refused after the upgrade with a close frame.
func TestOpenRefusesWhenFullOrShuttingDown(t *testing.T) {
	g := NewGroup(Config{MaxConns: 1}, slog.New(slog.DiscardHandler))
	url, opened := serveGroup(t, g)

	first := dialGroup(t, url)
	if err := openResult(t, opened); err != nil {
		t.Fatalf("first connection refused: %v", err)
	}
	second := dialGroup(t, url)
	if err := openResult(t, opened); !errors.Is(err, ErrFull) {
		t.Fatalf("second connection: Open returned %v, want ErrFull", err)
	}
	expectClose(t, second, CloseTryAgainLater, "too many connections")
	if n := g.Stats().Open; n != 1 {
		t.Errorf("%d connections open, want the first only", n)
	}

	// Shutdown closes the first; the client's library echoes the close.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		done <- g.Shutdown(ctx)
	}()
	expectClose(t, first, CloseGoingAway, "server shutting down")
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	late := dialGroup(t, url)
	if err := openResult(t, opened); !errors.Is(err, ErrShutdown) {
		t.Fatalf("after shutdown: Open returned %v, want ErrShutdown", err)
	}
	expectClose(t, late, CloseGoingAway, "server shutting down")
}
