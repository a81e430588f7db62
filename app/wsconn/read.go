package wsconn

import (
	"errors"
	"io"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"

	"github.com/chatserver/chat/app/wsframe"
)

// Read returns the next text message from the peer; the slice is valid until
// the next Read. A message the server refuses (binary, too large, not UTF-8,
// over the rate limit) starts a close with the matching code, and Read goes
// on reading, discarding data, until the closing handshake ends. A non-nil
// error therefore always means the connection is finished.
func (c *Conn) Read() ([]byte, error) {
	for {
		c.releaseReadBuf() // an idle connection holds no read buffer
		typ, r, err := c.ws.NextReader()
		if err != nil {
			return nil, err
		}
		if c.isClosing() {
			continue // the library discards the unread rest of the message
		}
		msg, err := c.readMessage(typ, r)
		if err != nil {
			return nil, err
		}
		if msg != nil {
			c.group.stats.messagesIn.Add(1)
			return msg, nil
		}
	}
}

// readMessage reads one message and checks it. It returns nil and no error
// for a message that it refused and for which it has started a close.
func (c *Conn) readMessage(typ int, r io.Reader) ([]byte, error) {
	if typ != websocket.TextMessage {
		c.refuse(CloseUnsupportedData, "only text messages are accepted")
		return nil, nil
	}
	c.readBuf = c.group.bufs.get()
	msg, err := readLimited(*c.readBuf, r, c.group.cfg.MaxMessage)
	*c.readBuf = msg[:0]
	if errors.Is(err, errTooBig) {
		c.refuse(CloseMessageTooBig, "message too big")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(msg) {
		c.refuse(CloseInvalidPayload, "invalid utf-8")
		return nil, nil
	}
	if c.limit != nil && !c.limit.Allow() {
		c.refuse(ClosePolicyViolation, "rate limit")
		return nil, nil
	}
	c.touch()
	return msg, nil
}

func (c *Conn) refuse(code int, reason string) {
	c.group.log.Warn("client closed", "conn_id", c.id, "user", c.user,
		"code", code, "reason", reason)
	c.Close(code, reason)
}

var errTooBig = errors.New("wsconn: message too big")

// readLimited reads r into buf, growing it, and fails with errTooBig once
// more than limit bytes arrive.
func readLimited(buf []byte, r io.Reader, limit int) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return buf, errTooBig
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (c *Conn) releaseReadBuf() {
	if c.readBuf != nil {
		c.group.bufs.put(c.readBuf)
		c.readBuf = nil
	}
}

func (c *Conn) isClosing() bool { return c.closing.Load() }

// touch records that the peer has shown it is there. It costs one atomic
// store, so it can run for every frame; the idle keeper (keepAlive) moves
// the read deadline.
func (c *Conn) touch() { c.active.Store(true) }

// keepAlive runs on the connection's timer every quarter of the idle
// timeout. If the peer has sent anything since the last tick, the read
// deadline moves to a full timeout from now; so a peer is dropped between
// one and one and a quarter timeouts after it last sent anything. Every
// second tick it queues a ping, which a live peer answers with a pong.
func (c *Conn) keepAlive() {
	idle := c.group.cfg.IdleTimeout
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == done {
		return // Finish has run, or is about to: hands off ws
	}
	if c.active.Swap(false) && !c.closeSent {
		// Once our close frame is out, the close deadline rules instead.
		_ = c.ws.SetReadDeadline(time.Now().Add(idle))
	}
	if c.state != open {
		return
	}
	if c.ticks++; c.ticks%2 == 0 {
		c.appendLocked(wsframe.AppendPing(nil))
	}
	c.ping.Reset(idle / 4)
}
