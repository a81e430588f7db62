package wsconn

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"golang.org/x/time/rate"

	"github.com/chatserver/chat/app/wsframe"
)

// Config holds the limits every connection of a group runs under. The zero
// value of a field means its default, as DefaultConfig gives.
type Config struct {
	// QueueLimit is how many bytes of frames may wait for one slow peer,
	// counting the batch being written. Default 1 MiB (Bun's
	// backpressureLimit). It must be larger than MaxMessage.
	QueueLimit int
	// DropWhenFull skips a message for a peer whose queue is full, instead
	// of closing that peer with 1008 "slow consumer" (the default).
	DropWhenFull bool
	// MaxMessage is the largest message accepted from a peer, in bytes; a
	// larger one closes the connection with 1009. Default 64 KiB.
	MaxMessage int
	// IdleTimeout closes a connection from which nothing, not even a pong,
	// has arrived for this long (give or take a quarter); pings go out at
	// half this period. Default 120 s; negative means never.
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to a peer. Default 10 s.
	WriteTimeout time.Duration
	// CloseTimeout is how long the peer has to answer our close frame.
	// Default 2 s.
	CloseTimeout time.Duration
	// RateLimit is how many messages per second a peer may send, on
	// average; beyond it (and its burst) the connection is closed with
	// 1008 "rate limit". Zero means no limit; DefaultConfig, and so the
	// command line, sets 100.
	RateLimit float64
	// RateBurst is how many messages a peer may send at once above
	// RateLimit. Zero means 5 s worth of RateLimit (500 at 100/s).
	RateBurst int
	// Compression offers permessage-deflate (no context takeover) to peers.
	// Off by default, as in Bun: on loopback and fast links it costs more
	// CPU than it saves.
	Compression bool
	// MaxConns is how many connections the group holds at once; Open
	// refuses more with ErrFull. Zero means no limit; DefaultConfig, and so
	// the command line, sets 20,000.
	MaxConns int
}

// DefaultConfig returns the defaults: those of the zero fields, and a rate
// limit and a connection limit, which the zero value leaves off.
func DefaultConfig() Config {
	return Config{
		QueueLimit:   1 << 20,
		MaxMessage:   64 << 10,
		IdleTimeout:  120 * time.Second,
		WriteTimeout: 10 * time.Second,
		CloseTimeout: 2 * time.Second,
		RateLimit:    100,
		MaxConns:     20000,
	}
}

func (cfg Config) withDefaults() Config {
	d := DefaultConfig()
	if cfg.QueueLimit == 0 {
		cfg.QueueLimit = d.QueueLimit
	}
	if cfg.MaxMessage == 0 {
		cfg.MaxMessage = d.MaxMessage
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = d.IdleTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = d.WriteTimeout
	}
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = d.CloseTimeout
	}
	if cfg.RateLimit > 0 && cfg.RateBurst == 0 {
		cfg.RateBurst = int(5*cfg.RateLimit + 0.5)
	}
	return cfg
}

// Errors from Open.
var (
	ErrFull     = errors.New("wsconn: too many connections")
	ErrShutdown = errors.New("wsconn: server shutting down")
)

// Stats are a group's running totals and current figures.
type Stats struct {
	Open         int    // connections open now
	QueuedBytes  int    // bytes waiting to be written, over all connections
	MessagesIn   uint64 // messages accepted from peers
	Writes       uint64 // write system calls
	BytesWritten uint64 // bytes those writes sent
}

type counters struct {
	messagesIn atomic.Uint64
	writes     atomic.Uint64
	bytesOut   atomic.Uint64
}

// Group is the set of open connections of one server, with the limits they
// share. It counts them for the connection limit and closes them all on
// shutdown. mu guards conns and shutdown; each Conn guards its own state.
type Group struct {
	cfg      Config
	log      *slog.Logger
	stats    counters
	bufs     bufferPool
	deflater wsframe.Deflater
	inflater wsframe.Inflater
	flusher  flusher
	watch    *watch
	ids      atomic.Uint64

	mu       sync.Mutex
	conns    map[*Conn]struct{}
	shutdown bool
	empty    chan struct{} // closed when shutdown is set and conns is empty
}

// NewGroup returns an empty group whose connections run under cfg.
func NewGroup(cfg Config, log *slog.Logger) *Group {
	g := &Group{
		cfg:   cfg.withDefaults(),
		log:   log,
		watch: newWatch(),
		conns: make(map[*Conn]struct{}),
		empty: make(chan struct{}),
	}
	g.flusher.watch = g.watch
	return g
}

// Full reports whether the group is at its connection limit, so that an
// upgrade can be refused before it happens.
func (g *Group) Full() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cfg.MaxConns > 0 && len(g.conns) >= g.cfg.MaxConns
}

// Peer is what the upgrade request told about a connection.
type Peer struct {
	User       string // the user's name
	Extensions string // the Sec-WebSocket-Extensions request header
}

// Open takes over a freshly upgraded connection. It fails with ErrFull or
// ErrShutdown, having sent the peer a close frame (1013 or 1001); the
// caller then just returns.
func (g *Group) Open(ws *websocket.Conn, p Peer) (*Conn, error) {
	c := &Conn{
		id:      g.ids.Add(1),
		user:    p.User,
		deflate: g.cfg.Compression && wsframe.OffersDeflate(p.Extensions),
		ws:      ws,
		raw:     ws.NetConn(),
		group:   g,
	}
	c.fd, c.rc = rawSocket(c.raw)
	c.readFn = c.readSome
	g.mu.Lock()
	err := g.admitLocked(c)
	g.mu.Unlock()
	if err != nil {
		code, reason := CloseTryAgainLater, "too many connections"
		if errors.Is(err, ErrShutdown) {
			code, reason = CloseGoingAway, "server shutting down"
		}
		deadline := time.Now().Add(g.cfg.WriteTimeout)
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline)
		return nil, err
	}

	if g.cfg.RateLimit > 0 {
		c.limit = rate.NewLimiter(rate.Limit(g.cfg.RateLimit), g.cfg.RateBurst)
	}
	c.takeBuffered()
	g.watch.add(c.fd)
	if idle := g.cfg.IdleTimeout; idle > 0 {
		_ = ws.SetReadDeadline(time.Now().Add(idle))
		c.mu.Lock()
		c.ping = time.AfterFunc(idle/4, c.keepAlive)
		c.mu.Unlock()
	}
	return c, nil
}

func (g *Group) admitLocked(c *Conn) error {
	if g.shutdown {
		return ErrShutdown
	}
	if g.cfg.MaxConns > 0 && len(g.conns) >= g.cfg.MaxConns {
		return ErrFull
	}
	g.conns[c] = struct{}{}
	return nil
}

func (g *Group) remove(c *Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, c)
	g.signalEmptyLocked()
}

// signalEmptyLocked closes empty once shutdown has begun and the last
// connection is gone.
func (g *Group) signalEmptyLocked() {
	if !g.shutdown || len(g.conns) > 0 {
		return
	}
	select {
	case <-g.empty:
	default:
		close(g.empty)
	}
}

// Stats returns the group's figures. It takes each connection's lock in
// turn to add up the queues, so it is meant for scrapes, not hot paths.
func (g *Group) Stats() Stats {
	g.mu.Lock()
	s := Stats{Open: len(g.conns)}
	for c := range g.conns {
		c.mu.Lock()
		s.QueuedBytes += c.queued
		c.mu.Unlock()
	}
	g.mu.Unlock()
	s.MessagesIn = g.stats.messagesIn.Load()
	s.Writes = g.stats.writes.Load()
	s.BytesWritten = g.stats.bytesOut.Load()
	return s
}

// Shutdown refuses new connections, sends every open one a close frame with
// 1001, and waits until all their handlers have finished. When ctx ends
// first, it aborts the connections still open, waits for their handlers a
// little longer (they return at once), and returns ctx's error.
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.shutdown = true
	conns := make([]*Conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.signalEmptyLocked()
	g.mu.Unlock()

	for _, c := range conns {
		c.Close(CloseGoingAway, "server shutting down")
	}
	defer g.watch.close() // after the flusher has stopped (defers run last first)
	defer g.flusher.stop()
	select {
	case <-g.empty:
		return nil
	case <-ctx.Done():
	}

	g.mu.Lock()
	for c := range g.conns {
		c.Abort()
	}
	g.mu.Unlock()
	select {
	case <-g.empty:
	case <-time.After(time.Second):
	}
	return ctx.Err()
}

// rawSocket returns the file descriptor and the raw socket under a
// hijacked fasthttp connection, or -1 and nil when there are none (not a
// TCP connection).
func rawSocket(nc net.Conn) (int, syscall.RawConn) {
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		nc = u.UnsafeConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, nil
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil {
		return -1, nil
	}
	return fd, rc
}
