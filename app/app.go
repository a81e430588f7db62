// Package app builds the chat server: the Fiber application with its routes
// and middleware, the topic registry, and the set of open WebSocket
// connections, all from one Config. Nothing is global: a test may build as
// many independent servers as it likes.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/helmet"

	"github.com/chatserver/chat/app/pubsub"
	"github.com/chatserver/chat/app/wsconn"
	"github.com/chatserver/chat/handlers"
	"github.com/chatserver/chat/middleware"
	"github.com/chatserver/chat/static"
	"github.com/chatserver/chat/views"
)

// App is one chat server.
type App struct {
	cfg      Config
	log      *slog.Logger
	fiber    *fiber.App
	registry *pubsub.Registry
	conns    *wsconn.Group
}

// New builds a server from cfg; log receives every log line.
func New(cfg Config, log *slog.Logger) (*App, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{
		cfg:      cfg,
		log:      log,
		registry: pubsub.New(),
		conns:    wsconn.NewGroup(cfg.Conn, log),
	}
	a.fiber = fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadTimeout:           cfg.HeaderTimeout,
		IdleTimeout:           cfg.HeaderTimeout,
		ReadBufferSize:        cfg.MaxHeaderBytes,
		WriteBufferSize:       1024,
		ReduceMemoryUsage:     true,
		ErrorHandler:          plainError,
	})
	if err := a.routes(); err != nil {
		return nil, err
	}
	return a, nil
}

// memoryPeriod is how long publishing must be quiet before freed memory is
// returned to the operating system.
const memoryPeriod = 5 * time.Second

func (cfg Config) withDefaults() Config {
	d := DefaultConfig()
	if cfg.Addr == "" {
		cfg.Addr = d.Addr
	}
	if cfg.Topic == "" {
		cfg.Topic = d.Topic
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = d.ShutdownTimeout
	}
	if cfg.HeaderTimeout == 0 {
		cfg.HeaderTimeout = d.HeaderTimeout
	}
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return cfg
}

func (a *App) routes() error {
	tmpl, err := views.ChatPage()
	if err != nil {
		return fmt.Errorf("load views: %w", err)
	}
	page, err := handlers.Page(tmpl, views.Chat{Title: "Group chat", SocketPath: "/"})
	if err != nil {
		return err
	}
	// The page and its files: a strict Content-Security-Policy (no inline
	// script or style, nothing from elsewhere, sockets to this origin only),
	// no MIME sniffing, no framing.
	secure := helmet.New(helmet.Config{ContentSecurityPolicy: pageCSP})
	a.fiber.Get("/chat", secure, page)
	a.fiber.Get("/metrics", handlers.Metrics(a.registry, a.conns))
	a.fiber.Get("/healthz", handlers.Healthz)
	a.fiber.Use("/static", secure, filesystem.New(filesystem.Config{Root: http.FS(static.FS())}))

	chat := &handlers.Chat{Topic: a.cfg.Topic, Registry: a.registry, Conns: a.conns, Log: a.log}
	upgrade := websocket.New(chat.Serve, websocket.Config{
		ReadBufferSize:    256,
		WriteBufferSize:   256,
		WriteBufferPool:   &sync.Pool{},
		EnableCompression: a.cfg.Conn.Compression,
		RecoverHandler:    a.recoverSocket,
	})
	// Every other path, as in the guide: an upgrade becomes a chat socket,
	// anything else gets "Hello world".
	a.fiber.Use(
		middleware.Origin(a.cfg.Origins),
		middleware.Username(),
		func(c *fiber.Ctx) error {
			if !websocket.IsWebSocketUpgrade(c) {
				return handlers.Hello(c)
			}
			if a.conns.Full() {
				return c.Status(fiber.StatusServiceUnavailable).SendString("too many connections\n")
			}
			return upgrade(c)
		},
	)
	return nil
}

// pageCSP is the chat page's Content-Security-Policy.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// recoverSocket is deferred around each socket handler: a panic there is
// logged and ends that connection only.
func (a *App) recoverSocket(c *websocket.Conn) {
	if v := recover(); v != nil {
		a.log.Error("panic in socket handler", "conn_id", c.Locals(handlers.ConnIDKey),
			"remote_addr", c.IP(), "err", fmt.Sprint(v), "stack", string(debug.Stack()))
	}
}

// plainError answers an error with its status and a one-line text body.
func plainError(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	msg := "internal server error"
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, msg = fe.Code, fe.Message
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Status(code).SendString(msg + "\n")
}

// Fiber returns the Fiber application, for app.Test.
func (a *App) Fiber() *fiber.App { return a.fiber }

// Registry returns the topic registry.
func (a *App) Registry() *pubsub.Registry { return a.registry }

// Conns returns the set of open WebSocket connections.
func (a *App) Conns() *wsconn.Group { return a.conns }

// Serve accepts connections on ln until Shutdown. While it serves, freed
// memory is returned to the operating system after busy periods.
func (a *App) Serve(ln net.Listener) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.returnMemory(ctx, memoryPeriod)
	}()
	defer func() {
		cancel()
		<-done
	}()
	return a.fiber.Listener(ln)
}

// Shutdown stops accepting connections, closes every open socket with 1001
// and waits for their handlers, all within ctx. Fiber does not track
// hijacked connections, so the sockets are closed here.
func (a *App) Shutdown(ctx context.Context) error {
	// Both at once: Fiber may wait for a slow HTTP client, and the sockets
	// should hear 1001 without waiting for it.
	httpDone := make(chan error, 1)
	go func() { httpDone <- a.fiber.ShutdownWithContext(ctx) }()
	err := a.conns.Shutdown(ctx)
	return errors.Join(<-httpDone, err)
}
