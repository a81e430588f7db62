package app_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chatserver/chat/app"
)

// scrape reads /metrics through app.Test and returns the chat_ samples.
func scrape(t *testing.T, s *server) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/metrics", nil)
	status, _, body := get(t, s.App, req)
	if status != http.StatusOK {
		t.Fatalf("/metrics: status %d", status)
	}
	samples := make(map[string]float64)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, "chat_") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("/metrics: bad sample %q", sc.Text())
		}
		samples[name] = v
	}
	return samples
}

func TestMetricsMoveWhenMessagesFlow(t *testing.T) {
	s := startServer(t, app.Config{})
	before := scrape(t, s)
	alice := dial(t, s, "alice")
	alice.expect("alice has entered the chat")
	bob := dial(t, s, "bob")
	bob.expect("bob has entered the chat")
	alice.expect("bob has entered the chat")
	for range 5 {
		alice.send("hi")
	}
	for range 5 {
		alice.expect("alice: hi")
		bob.expect("alice: hi")
	}

	after := scrape(t, s)
	for _, tc := range []struct {
		metric string
		grew   float64 // at least
	}{
		{"chat_connections_open", 2},
		{"chat_messages_received_total", 5},
		{"chat_publishes_total", 7}, // two joins, five messages
		{"chat_deliveries_total", 1 + 2 + 10},
		{"chat_write_calls_total", 2},         // at least one per socket
		{"chat_bytes_written_total", 10 * 11}, // ten frames of "alice: hi"
	} {
		if got := after[tc.metric] - before[tc.metric]; got < tc.grew {
			t.Errorf("%s grew by %v, want at least %v", tc.metric, got, tc.grew)
		}
	}
	for _, m := range []string{"chat_queued_bytes", "chat_dropped_total", "chat_slow_consumer_closes_total"} {
		if _, ok := after[m]; !ok {
			t.Errorf("%s missing from /metrics", m)
		}
	}
}

func TestHealthz(t *testing.T) {
	a := newApp(t)
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/healthz", nil)
	if status, _, body := get(t, a, req); status != http.StatusOK || body != "ok\n" {
		t.Errorf("got %d %q, want 200 ok", status, body)
	}
}
