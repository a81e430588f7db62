// Package wsconn runs the two sides of one chat WebSocket connection: a read
// side that checks what the peer sends, and a write side that sends what the
// registry publishes without ever making a publisher wait.
//
// Writes bypass the WebSocket library: publishers append already-encoded
// frames to a per-connection buffer bounded in bytes, and a writer
// goroutine, started only while there is something to send, writes the
// whole buffer with one system call. Pongs, pings and close frames go
// through the same buffer, so frames never interleave on the socket.
// Reads stay with the library, which owns the buffered reader in front of
// the socket.
//
// A subscriber gets every message in order or is disconnected: when its
// queue would pass the limit, it is closed with 1008 "slow consumer" (or,
// under the drop policy, that message is skipped for it and counted).
package wsconn

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
	"golang.org/x/time/rate"

	"github.com/chatserver/chat/app/pubsub"
	"github.com/chatserver/chat/app/wsframe"
)

// Close codes we send (RFC 6455, section 7.4.1).
const (
	CloseGoingAway       = 1001
	CloseUnsupportedData = 1003
	CloseInvalidPayload  = 1007
	ClosePolicyViolation = 1008
	CloseMessageTooBig   = 1009
	CloseInternalError   = 1011
	CloseTryAgainLater   = 1013
)

// Conn is one WebSocket connection of the chat.
//
// mu guards the write side: the pending buffer, the byte count, the state
// and whether a writer goroutine runs. Publishers hold it only to append
// bytes. The writer goroutine, started by whoever queues into an empty
// buffer, is the only code that writes to the socket. The handler's
// goroutine is the only reader. Finish waits for the writer, so nothing
// touches the socket after the handler returns (the library pools its Conn).
type Conn struct {
	id      uint64
	user    string
	deflate bool // the peer negotiated permessage-deflate
	ws      *websocket.Conn
	raw     net.Conn // the TCP connection under ws; written by the writer only
	group   *Group
	limit   *rate.Limiter // nil: no rate limit

	readBuf   *[]byte   // the last message returned by Read; reader only
	nextTouch time.Time // when to push the idle deadline again; reader only
	ping      *time.Timer

	mu        sync.Mutex
	pending   *[]byte // frames not yet handed to the writer; nil when empty
	queued    int     // bytes in pending plus the batch being written
	state     state
	closeSent bool // the close frame has been written
	writing   bool // a writer goroutine is running
	writer    sync.WaitGroup
}

type state int

const (
	open    state = iota
	closing       // our close frame is queued; nothing more is sent
	done          // Finish was called, or the socket failed
)

// ID returns the connection's number, unique within its group.
func (c *Conn) ID() uint64 { return c.id }

// User returns the name the connection was opened with.
func (c *Conn) User() string { return c.user }

// Send queues m for the peer. It never blocks. It reports Closing when the
// connection is on its way out, and applies the slow-consumer policy when
// the queue would pass its limit.
func (c *Conn) Send(m *pubsub.Message) pubsub.Status {
	frame := m.Frame()
	if c.deflate {
		frame = m.Deflated(&c.group.deflater)
	}
	c.mu.Lock()
	if c.state != open {
		c.mu.Unlock()
		return pubsub.Closing
	}
	if c.queued+len(frame) <= c.group.cfg.QueueLimit {
		c.appendLocked(frame)
		c.mu.Unlock()
		return pubsub.Queued
	}
	if c.group.cfg.DropWhenFull {
		c.mu.Unlock()
		return pubsub.Dropped
	}
	queued := c.queued
	c.discardPendingLocked()
	c.closeLocked(ClosePolicyViolation, "slow consumer")
	c.mu.Unlock()
	c.group.log.Warn("slow consumer closed", "conn_id", c.id, "user", c.user,
		"queued_bytes", queued, "message_bytes", len(frame),
		"limit_bytes", c.group.cfg.QueueLimit)
	return pubsub.ClosedSlow
}

// Close starts the closing handshake with code and reason: the close frame
// goes out after what is already queued, nothing is sent after it, and the
// reader stops once the peer answers or CloseTimeout has passed. Closing a
// connection that is already closing does nothing.
func (c *Conn) Close(code int, reason string) {
	c.mu.Lock()
	c.closeLocked(code, reason)
	c.mu.Unlock()
}

// Abort makes the connection's blocked read and write fail at once, for
// when a closing handshake has taken too long.
func (c *Conn) Abort() {
	past := time.Unix(1, 0)
	_ = c.ws.SetReadDeadline(past)
	_ = c.raw.SetWriteDeadline(past)
}

// echoClose answers the peer's close frame, as the library's close handler
// would, but through our writer. It runs on the reader goroutine.
func (c *Conn) echoClose(code int, _ string) error {
	c.mu.Lock()
	if c.state == open {
		c.state = closing
		if code == websocket.CloseNoStatusReceived {
			c.appendLocked(wsframe.AppendHeader(nil, wsframe.OpClose, 0))
		} else {
			c.appendLocked(wsframe.AppendClose(nil, code, ""))
		}
	}
	c.mu.Unlock()
	return nil
}

func (c *Conn) closeLocked(code int, reason string) {
	if c.state != open {
		return
	}
	c.state = closing
	c.appendLocked(wsframe.AppendClose(nil, code, reason))
}

// appendLocked queues frame and makes sure a writer runs.
func (c *Conn) appendLocked(frame []byte) {
	if c.pending == nil {
		c.pending = c.group.bufs.get()
	}
	*c.pending = append(*c.pending, frame...)
	c.queued += len(frame)
	if !c.writing {
		c.writing = true
		c.writer.Add(1)
		go c.writeLoop()
	}
}

func (c *Conn) discardPendingLocked() {
	if c.pending != nil {
		c.queued -= len(*c.pending)
		c.group.bufs.put(c.pending)
		c.pending = nil
	}
}

// writeLoop writes batches until the queue is empty, then exits. It is the
// only code that writes to the socket.
func (c *Conn) writeLoop() {
	defer c.writer.Done()
	for {
		c.mu.Lock()
		batch := c.pending
		if batch == nil {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.pending = nil
		c.mu.Unlock()

		err := c.write(*batch)
		n := len(*batch)
		c.group.bufs.put(batch)

		c.mu.Lock()
		c.queued -= n
		if err != nil {
			c.failLocked()
			c.mu.Unlock()
			c.group.log.Debug("write failed", "conn_id", c.id, "err", err)
			return
		}
		if c.state != open && !c.closeSent && c.pending == nil {
			// Nothing is queued after a close frame, so it was in this batch.
			c.closeSent = true
			_ = c.ws.SetReadDeadline(time.Now().Add(c.group.cfg.CloseTimeout))
		}
		c.mu.Unlock()
	}
}

func (c *Conn) write(b []byte) error {
	if err := c.raw.SetWriteDeadline(time.Now().Add(c.group.cfg.WriteTimeout)); err != nil {
		return err
	}
	_, err := c.raw.Write(b)
	c.group.stats.writes.Add(1)
	c.group.stats.bytesOut.Add(uint64(len(b)))
	return err
}

// failLocked gives up on a socket that could not be written: what is queued
// is dropped, and the reader is woken so that the handler returns.
func (c *Conn) failLocked() {
	c.discardPendingLocked()
	c.state = done
	c.writing = false
	_ = c.ws.SetReadDeadline(time.Unix(1, 0))
}

// queueControl queues a ping or pong, which does not count against the queue
// limit: a peer that pings must get its pong even while messages wait.
func (c *Conn) queueControl(frame []byte) {
	c.mu.Lock()
	if c.state == open {
		c.appendLocked(frame)
	}
	c.mu.Unlock()
}

// Read returns the next text message from the peer; the slice is valid until
// the next Read. A message the server refuses (binary, too large, not UTF-8,
// over the rate limit) starts a close with the matching code, and Read goes
// on reading, discarding data, until the closing handshake ends. A non-nil
// error therefore always means the connection is finished.
func (c *Conn) Read() ([]byte, error) {
	c.releaseReadBuf()
	for {
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

func (c *Conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state != open
}

// touch pushes the idle deadline forward after the peer has shown it is
// there. It moves the deadline at most every quarter of the timeout (and at
// least once a second), which keeps timer updates off the hot path; pongs
// come every half timeout, so a live peer always moves it in time.
func (c *Conn) touch() {
	idle := c.group.cfg.IdleTimeout
	if idle <= 0 {
		return
	}
	now := time.Now()
	if now.Before(c.nextTouch) {
		return
	}
	c.nextTouch = now.Add(min(idle/4, time.Second))
	c.mu.Lock()
	if !c.closeSent {
		// Once our close frame is out, the close deadline rules instead.
		_ = c.ws.SetReadDeadline(now.Add(idle))
	}
	c.mu.Unlock()
}

// sendPing runs on the ping timer: it queues a ping, which a live peer
// answers with a pong that pushes the idle deadline forward.
func (c *Conn) sendPing() {
	c.queueControl(wsframe.AppendPing(nil))
	c.mu.Lock()
	if c.state == open {
		c.ping.Reset(c.group.pingPeriod())
	}
	c.mu.Unlock()
}

// Finish ends the connection's life in the server: it stops the ping timer,
// lets the writer send what is queued (at most WriteTimeout per write), waits
// for it to exit, and leaves the group. The handler must call it, after
// unsubscribing the connection, before it returns.
func (c *Conn) Finish() {
	c.mu.Lock()
	if c.state != done {
		c.state = done
	}
	if c.ping != nil {
		c.ping.Stop()
	}
	c.mu.Unlock()

	c.writer.Wait()
	c.releaseReadBuf()
	c.group.remove(c)
}
