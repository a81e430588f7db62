package handlers

import (
	"log/slog"

	"github.com/gofiber/contrib/websocket"

	"github.com/chatserver/chat/app/pubsub"
	"github.com/chatserver/chat/app/wsconn"
	"github.com/chatserver/chat/middleware"
)

// Chat is the WebSocket side of the guide's chat: every connection joins
// one topic, and every text message is published to it with the sender's
// name in front.
type Chat struct {
	Topic    string
	Registry *pubsub.Registry
	Conns    *wsconn.Group
	Log      *slog.Logger
}

// Serve runs one upgraded connection until it ends. The name comes from
// Locals, where the username middleware put it before the upgrade.
func (h *Chat) Serve(ws *websocket.Conn) {
	name, _ := ws.Locals(middleware.UsernameKey).(string)
	peer := wsconn.Peer{User: name, Extensions: ws.Headers("Sec-Websocket-Extensions")}
	c, err := h.Conns.Open(ws.Conn, peer)
	if err != nil {
		h.Log.Warn("connection refused", "user", name, "remote_addr", ws.IP(), "err", err)
		return
	}
	ws.Locals(ConnIDKey, c.ID())
	h.Log.Debug("connected", "conn_id", c.ID(), "user", name, "remote_addr", ws.IP())
	// Deferred, so that after a panic too the connection leaves the
	// registry and its write side stops before the library reuses its Conn;
	// Finish runs even if telling the others panics.
	defer c.Finish()
	defer h.leave(c)

	h.Registry.Subscribe(h.Topic, c)
	h.Registry.Publish(h.Topic, pubsub.NewMessage(name+" has entered the chat"))
	prefix := name + ": "
	var msg pubsub.Message // reused: subscribers copy the frame
	for {
		text, err := c.Read()
		if err != nil {
			h.Log.Debug("disconnected", "conn_id", c.ID(), "user", name, "err", err)
			return
		}
		msg.Set(prefix, text)
		h.Registry.Publish(h.Topic, &msg)
		msg.Trim(keepMessage)
	}
}

// leave unsubscribes c first, so that its own leave line is not queued for
// it, then tells the others.
func (h *Chat) leave(c *wsconn.Conn) {
	h.Registry.UnsubscribeAll(c)
	h.Registry.Publish(h.Topic, pubsub.NewMessage(c.User()+" has left the chat"))
}

// keepMessage is the largest message buffer a connection keeps between
// messages; chat lines fit, and an idle connection holds nothing larger.
const keepMessage = 512

// ConnIDKey is the Locals key under which Serve keeps the connection's id,
// for the panic handler's log line.
const ConnIDKey = "conn_id"
