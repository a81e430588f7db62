package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/chatserver/chat/app/wsconn"
)

// Config is everything the server can be told. The zero value of a field
// means its default, as DefaultConfig gives.
type Config struct {
	// Addr is the address to listen on. Default ":3000".
	Addr string
	// Topic is the topic every chat connection joins. Default
	// "the-group-chat", as in Bun's guide.
	Topic string
	// ShutdownTimeout bounds a graceful shutdown: how long open sockets
	// have to finish their closing handshake. Default 10 s.
	ShutdownTimeout time.Duration
	// HeaderTimeout is how long a client may take to send a request's
	// headers, and how long an idle keep-alive connection stays open.
	// Default 10 s.
	HeaderTimeout time.Duration
	// MaxHeaderBytes is the largest request head (request line and
	// headers) accepted, in bytes; a larger one gets 431. fasthttp keeps a
	// buffer of this size for each open WebSocket, so it weighs on memory
	// per connection. Default 16 KiB.
	MaxHeaderBytes int
	// Origins lists the origins, besides the server's own, whose pages may
	// open a chat socket, like "https://example.com"; "*" allows any.
	// Default: none.
	Origins []string
	// Conn holds the per-connection limits.
	Conn wsconn.Config
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Addr:            ":3000",
		Topic:           "the-group-chat",
		ShutdownTimeout: 10 * time.Second,
		HeaderTimeout:   10 * time.Second,
		MaxHeaderBytes:  16 << 10,
		Conn:            wsconn.DefaultConfig(),
	}
}

// envNames maps each flag to the environment variable that sets it when the
// flag is not given.
var envNames = map[string]string{
	"addr":             "ADDR",
	"shutdown-timeout": "SHUTDOWN_TIMEOUT",
	"header-timeout":   "HEADER_TIMEOUT",
	"max-header-bytes": "MAX_HEADER_BYTES",
	"origins":          "ALLOWED_ORIGINS",
	"queue-limit":      "QUEUE_LIMIT",
	"slow-policy":      "SLOW_POLICY",
	"max-message":      "MAX_MESSAGE",
	"idle-timeout":     "IDLE_TIMEOUT",
	"write-timeout":    "WRITE_TIMEOUT",
	"rate-limit":       "RATE_LIMIT",
	"rate-burst":       "RATE_BURST",
	"max-conns":        "MAX_CONNS",
	"compression":      "COMPRESSION",
}

// ErrHelp is returned by LoadConfig when -h or -help was asked for.
var ErrHelp = flag.ErrHelp

// LoadConfig reads the configuration from command-line args, then from the
// environment through getenv for each flag not given, then the defaults.
// PORT alone means ":PORT", the convention of Bun's guide and most hosts.
// Usage and flag errors are printed to out.
func LoadConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(out)
	bindFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, env := range envNames {
		v := getenv(env)
		if given[name] || v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return Config{}, fmt.Errorf("environment %s=%q: %w", env, v, err)
		}
	}
	if port := getenv("PORT"); port != "" && !given["addr"] && getenv("ADDR") == "" {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return Config{}, fmt.Errorf("environment PORT=%q: not a port number", port)
		}
		cfg.Addr = ":" + port
	}
	return cfg, cfg.Validate()
}

func bindFlags(fs *flag.FlagSet, cfg *Config) {
	c := &cfg.Conn
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen `address` (env ADDR; PORT alone means :PORT)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout,
		"how long a graceful shutdown may take")
	fs.DurationVar(&cfg.HeaderTimeout, "header-timeout", cfg.HeaderTimeout,
		"how long a client may take to send request headers")
	fs.IntVar(&cfg.MaxHeaderBytes, "max-header-bytes", cfg.MaxHeaderBytes,
		"largest request head in `bytes`")
	fs.Func("origins", "comma-separated origins allowed besides the server's own (* for any)",
		func(v string) error {
			cfg.Origins = splitList(v)
			return nil
		})
	fs.IntVar(&c.QueueLimit, "queue-limit", c.QueueLimit, "outbound queue limit per connection in `bytes`")
	fs.Func("slow-policy", "what a full queue does: close (1008) or drop (skip the message)",
		func(v string) error {
			switch v {
			case "close":
				c.DropWhenFull = false
			case "drop":
				c.DropWhenFull = true
			default:
				return errors.New(`want "close" or "drop"`)
			}
			return nil
		})
	fs.IntVar(&c.MaxMessage, "max-message", c.MaxMessage, "largest accepted message in `bytes` (1009 beyond)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout,
		"close a peer silent this long; pings at half of it (negative: never)")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "deadline of each write to a peer")
	fs.Float64Var(&c.RateLimit, "rate-limit", c.RateLimit,
		"messages per second per connection, 1008 beyond (0: no limit)")
	fs.IntVar(&c.RateBurst, "rate-burst", c.RateBurst, "messages a connection may send at once above -rate-limit")
	fs.BoolVar(&c.Compression, "compression", c.Compression, "offer permessage-deflate to clients")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "most open WebSocket connections, 503 beyond (0: no limit)")
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Validate reports the first setting that cannot work.
func (cfg Config) Validate() error {
	c := cfg.Conn
	switch {
	case cfg.Addr == "":
		return errors.New("config: empty listen address")
	case cfg.MaxHeaderBytes < 0, c.QueueLimit < 0, c.MaxMessage < 0, c.MaxConns < 0, c.RateBurst < 0:
		return errors.New("config: sizes and counts cannot be negative")
	case c.RateLimit < 0:
		return errors.New("config: rate limit cannot be negative")
	case c.QueueLimit > 0 && c.MaxMessage > 0 && c.QueueLimit < c.MaxMessage+256:
		return fmt.Errorf("config: queue limit %d bytes cannot hold one %d-byte message",
			c.QueueLimit, c.MaxMessage)
	}
	return nil
}
