package app_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chatserver/chat/app"
)

func TestLoadConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(app.Config) bool
		err   string // part of the error, "" for none
	}{
		{"defaults", nil, nil, func(c app.Config) bool {
			return c.Addr == ":3000" && c.Conn.QueueLimit == 1<<20 && c.Conn.MaxMessage == 64<<10 &&
				c.Conn.IdleTimeout == 120*time.Second && c.Conn.RateLimit == 100 && !c.Conn.DropWhenFull
		}, ""},
		{"PORT alone", nil, map[string]string{"PORT": "8080"},
			func(c app.Config) bool { return c.Addr == ":8080" }, ""},
		{"ADDR beats PORT", nil, map[string]string{"PORT": "8080", "ADDR": "127.0.0.1:9"},
			func(c app.Config) bool { return c.Addr == "127.0.0.1:9" }, ""},
		{"flag beats env", []string{"-addr", ":1"}, map[string]string{"ADDR": ":2", "PORT": "3"},
			func(c app.Config) bool { return c.Addr == ":1" }, ""},
		{"env sets limits", nil, map[string]string{"QUEUE_LIMIT": "4096", "SLOW_POLICY": "drop",
			"MAX_MESSAGE": "1024", "RATE_LIMIT": "0", "IDLE_TIMEOUT": "30s", "ALLOWED_ORIGINS": "https://a.example, https://b.example"},
			func(c app.Config) bool {
				return c.Conn.QueueLimit == 4096 && c.Conn.DropWhenFull && c.Conn.MaxMessage == 1024 &&
					c.Conn.RateLimit == 0 && c.Conn.IdleTimeout == 30*time.Second &&
					strings.Join(c.Origins, " ") == "https://a.example https://b.example"
			}, ""},
		{"bad PORT", nil, map[string]string{"PORT": "http"}, nil, "PORT"},
		{"bad env number", nil, map[string]string{"QUEUE_LIMIT": "1MB"}, nil, "QUEUE_LIMIT"},
		{"bad policy", []string{"-slow-policy", "wait"}, nil, nil, "slow-policy"},
		{"queue smaller than a message", []string{"-queue-limit", "1000", "-max-message", "4096"}, nil, nil, "queue limit"},
		{"negative rate", []string{"-rate-limit", "-1"}, nil, nil, "rate limit"},
		{"stray argument", []string{"serve"}, nil, nil, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			cfg, err := app.LoadConfig(tc.args, getenv, io.Discard)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one about %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.err == "" && !tc.check(cfg):
				t.Errorf("config %+v does not match", cfg)
			}
		})
	}
}
