// Package wsconn runs the two sides of one chat WebSocket connection: a read
// side that checks what the peer sends, and a write side that sends what the
// registry publishes without ever making a publisher wait.
//
// The library does the upgrade; after it, both sides bypass the library.
// Writes: publishers append already-encoded frames to a per-connection
// buffer bounded in bytes, and the group's flusher writes each connection's
// whole buffer with one system call, without ever waiting on a peer
// (write.go). Pongs, pings and close frames go through the same buffer, so
// frames never interleave on the socket. Reads: the connection's goroutine
// parses the peer's frames from the socket itself (read.go).
//
// A subscriber gets every message in order or is disconnected: when its
// queue would pass the limit, it is closed with 1008 "slow consumer" (or,
// under the drop policy, that message is skipped for it and counted).
package wsconn

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"golang.org/x/time/rate"

	"github.com/chatserver/chat/app/pubsub"
	"github.com/chatserver/chat/app/wsframe"
)

// Close codes we send (RFC 6455, section 7.4.1).
const (
	CloseGoingAway       = 1001
	CloseProtocolError   = 1002
	CloseUnsupportedData = 1003
	CloseInvalidPayload  = 1007
	ClosePolicyViolation = 1008
	CloseMessageTooBig   = 1009
	CloseTryAgainLater   = 1013
)

// Conn is one WebSocket connection of the chat.
//
// mu guards the write side: the pending buffer, the byte count, the state
// and who owns the socket's write side (write.go says who may). Publishers
// hold it only to append bytes. The handler's goroutine is the only reader.
// Finish waits until the write side is released, so nothing touches the
// socket after the handler returns (the library pools its Conn).
type Conn struct {
	id      uint64
	user    string
	deflate bool // the peer negotiated permessage-deflate
	ws      *websocket.Conn
	raw     net.Conn // the TCP connection under ws; for writes only
	fd      int      // raw's file descriptor, for writes that never wait; -1 if none
	group   *Group
	limit   *rate.Limiter // nil: no rate limit

	rc     syscall.RawConn    // raw's socket, for reads; nil: read through raw
	readFn func(uintptr) bool // c.readSome, for rc.Read
	in     *[]byte            // bytes read, parsed up to inPos; nil when none
	inPos  int
	skip   int     // bytes of a refused frame still to discard
	msg    *[]byte // a fragmented or compressed message being put together
	msgOp  byte    // the opcode of the message in progress; 0: none
	msgZip bool    // that message is compressed
	nread  int     // readSome's result
	rerr   syscall.Errno

	ping    *time.Timer // runs keepAlive
	ticks   int         // keepAlive's count; guarded by mu
	active  atomic.Bool // the peer sent something since the last keepAlive
	closing atomic.Bool // state is not open: read without the lock

	mu        sync.Mutex
	pending   *[]byte // frames not yet handed to the writer; nil when empty
	frames    int     // how many frames pending holds
	queued    int     // bytes in pending plus the batch being written
	state     state
	closeSent bool           // the close frame has been written
	writing   bool           // a flusher worker or our own goroutine owns the write side
	writer    sync.WaitGroup // counts 1 while writing is true
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

// setStateLocked moves the connection on to state s, which is never open.
func (c *Conn) setStateLocked(s state) {
	c.state = s
	c.closing.Store(true)
}

// echoClose answers the peer's close frame with its code. It runs on the
// reader goroutine.
func (c *Conn) echoClose(code int) {
	c.mu.Lock()
	if c.state == open {
		c.setStateLocked(closing)
		if code == wsframe.CloseNoStatus {
			c.appendLocked(wsframe.AppendHeader(nil, wsframe.OpClose, 0))
		} else {
			c.appendLocked(wsframe.AppendClose(nil, code, ""))
		}
	}
	c.mu.Unlock()
}

func (c *Conn) closeLocked(code int, reason string) {
	if c.state != open {
		return
	}
	c.setStateLocked(closing)
	c.appendLocked(wsframe.AppendClose(nil, code, reason))
}

// Finish ends the connection's life in the server: it stops the ping timer,
// lets the writer send what is queued (at most WriteTimeout per write), waits
// for it to exit, and leaves the group. The handler must call it, after
// unsubscribing the connection, before it returns.
func (c *Conn) Finish() {
	c.mu.Lock()
	c.setStateLocked(done)
	if c.ping != nil {
		c.ping.Stop()
	}
	c.mu.Unlock()

	c.writer.Wait()
	c.dropRead()
	c.group.watch.remove(c.fd)
	c.group.remove(c)
}
