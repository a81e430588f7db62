package wsconn

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/chatserver/chat/app/wsframe"
)

// The read side of a connection. The library did the upgrade; after that
// the connection's goroutine parses the peer's frames itself, straight
// from the socket. A read is a raw read(2) on the non-blocking socket,
// made inside the runtime's RawConn.Read, which parks the goroutine until
// the socket is readable: that spares the runtime's syscall bookkeeping,
// whose first call after an idle spell also wakes the runtime's monitor
// thread (measured: about 5% of the server's CPU at 1,000 messages a
// second). One read takes in as many frames as have arrived, and a message
// that fits in one frame is handed out where it lies, unmasked in place.
//
// Reader-only state (in, inPos, skip, msg, msgOp, msgZip, nread, rerr)
// belongs to the handler's goroutine.

// Read returns the next text message from the peer; the slice is valid until
// the next Read. A message the server refuses (binary, too large, not UTF-8,
// over the rate limit) starts a close with the matching code, and Read goes
// on reading, discarding data, until the closing handshake ends. A frame
// that breaks the protocol closes with 1002 at once. A non-nil error
// therefore always means the connection is finished.
func (c *Conn) Read() ([]byte, error) {
	c.releaseRead() // an idle connection holds no read buffer
	for {
		h, p, err := c.nextFrame()
		if err != nil {
			return nil, err
		}
		c.touch()
		if h.IsControl() {
			if err := c.control(h, p); err != nil {
				return nil, err
			}
			continue
		}
		msg, err := c.data(h, p)
		if err != nil {
			return nil, err
		}
		if msg != nil {
			c.group.stats.messagesIn.Add(1)
			return msg, nil
		}
	}
}

// CloseError ends Read when the peer has closed the connection.
type CloseError struct{ Code int }

func (e *CloseError) Error() string {
	return fmt.Sprintf("wsconn: peer closed the connection (%d)", e.Code)
}

// control acts on a ping, pong or close frame.
func (c *Conn) control(h wsframe.Header, p []byte) error {
	switch h.Op {
	case wsframe.OpPing:
		c.queueControl(wsframe.AppendPong(nil, p))
	case wsframe.OpClose:
		code, _, err := wsframe.ParseClose(p)
		if err != nil {
			return c.fail(err)
		}
		c.echoClose(code)
		return &CloseError{Code: code}
	}
	return nil
}

// data takes one frame of a text or binary message and returns the
// message once it is complete and accepted.
func (c *Conn) data(h wsframe.Header, p []byte) ([]byte, error) {
	first := h.Op != wsframe.OpContinuation
	switch {
	case first && c.msgOp != 0:
		return nil, c.fail(wsframe.ProtocolError("new message inside a fragmented one"))
	case !first && c.msgOp == 0:
		return nil, c.fail(wsframe.ProtocolError("continuation without a message"))
	case h.Compressed && (!first || !c.deflate):
		return nil, c.fail(wsframe.ProtocolError("unexpected compression bit"))
	}
	if first {
		c.msgOp, c.msgZip = h.Op, h.Compressed
		if c.msg != nil {
			*c.msg = (*c.msg)[:0]
		}
		if h.Op == wsframe.OpBinary && !c.isClosing() {
			c.refuse(CloseUnsupportedData, "only text messages are accepted")
		}
	}
	if h.Fin {
		defer func() { c.msgOp = 0 }()
	}
	if c.isClosing() {
		return nil, nil // our close is on its way: data is dropped until the peer's close
	}
	if first && h.Fin && !h.Compressed {
		return c.accept(p) // the common case: one frame, no copy
	}

	limit := c.group.cfg.MaxMessage
	if c.msg == nil {
		c.msg = c.group.bufs.get()
	}
	if len(*c.msg)+len(p) > limit {
		c.refuse(CloseMessageTooBig, "message too big")
		return nil, nil
	}
	*c.msg = append(*c.msg, p...)
	if !h.Fin {
		return nil, nil
	}
	if !c.msgZip {
		return c.accept(*c.msg)
	}
	out := c.group.bufs.get()
	msg, err := c.group.inflater.Append((*out)[:0], *c.msg, limit)
	*out = msg[:0]
	c.group.bufs.put(c.msg)
	c.msg = out
	switch {
	case errors.Is(err, wsframe.ErrTooBig):
		c.refuse(CloseMessageTooBig, "message too big")
		return nil, nil
	case err != nil:
		c.refuse(CloseInvalidPayload, "invalid compressed data")
		return nil, nil
	}
	return c.accept(msg)
}

// accept checks a complete text message and returns it, or refuses it.
func (c *Conn) accept(msg []byte) ([]byte, error) {
	if !utf8.Valid(msg) {
		c.refuse(CloseInvalidPayload, "invalid utf-8")
		return nil, nil
	}
	if c.limit != nil && !c.limit.Allow() {
		c.refuse(ClosePolicyViolation, "rate limit")
		return nil, nil
	}
	return msg, nil
}

func (c *Conn) refuse(code int, reason string) {
	c.group.log.Warn("client closed", "conn_id", c.id, "user", c.user,
		"code", code, "reason", reason)
	c.Close(code, reason)
}

// fail answers a frame that breaks the protocol (1002) or a close reason
// that is not UTF-8 (1007): the close frame is queued, and err, returned,
// ends the connection, since nothing after such a frame can be trusted.
func (c *Conn) fail(err error) error {
	code := CloseProtocolError
	if errors.Is(err, wsframe.ErrBadReason) {
		code = CloseInvalidPayload
	}
	c.refuse(code, err.Error())
	return err
}

// nextFrame returns the next whole frame, its payload unmasked in place in
// the input buffer. A data frame longer than the largest message is
// refused with 1009 and skipped as it arrives: it comes back with an empty
// payload, so that the message it belongs to is still tracked.
func (c *Conn) nextFrame() (wsframe.Header, []byte, error) {
	for {
		need := 0
		if c.in != nil {
			b := (*c.in)[c.inPos:]
			if c.skip > 0 {
				d := min(c.skip, len(b))
				c.inPos += d
				c.skip -= d
				b = b[d:]
			}
			if c.skip == 0 {
				h, n, err := wsframe.ParseHeader(b)
				if err != nil {
					return h, nil, c.fail(err)
				}
				if n > 0 && !h.IsControl() && h.Len > c.group.cfg.MaxMessage {
					c.refuse(CloseMessageTooBig, "message too big")
					d := min(h.Len, len(b)-n)
					c.inPos += n + d
					c.skip = h.Len - d
					h.Len = 0
					return h, nil, nil
				}
				if n > 0 && len(b) >= n+h.Len {
					p := b[n : n+h.Len : n+h.Len]
					wsframe.Unmask(h.Key, p)
					c.inPos += n + h.Len
					return h, p, nil
				}
				if n > 0 {
					need = n + h.Len
				}
			}
		}
		if err := c.fill(need); err != nil {
			return wsframe.Header{}, nil, err
		}
	}
}

// readChunk is the least room a read is given; a buffer from the pool has
// more.
const readChunk = 512

// fill reads what the socket has into the input buffer, waiting for it if
// need be. need is how many unparsed bytes the frame at hand takes, if
// known.
func (c *Conn) fill(need int) error {
	c.group.watch.readerDone()
	if c.in == nil {
		c.in = c.group.bufs.get()
	}
	b := *c.in
	if c.inPos > 0 {
		b = b[:copy(b, b[c.inPos:])]
		c.inPos = 0
	}
	if want := max(need, len(b)+readChunk); cap(b) < want {
		nb := make([]byte, len(b), max(want, 2*cap(b)))
		copy(nb, b)
		c.group.bufs.put(c.in)
		c.in = &nb
		b = nb
	}
	*c.in = b

	if c.rc == nil {
		n, err := c.raw.Read(b[len(b):cap(b)])
		*c.in = b[:len(b)+n]
		if n > 0 {
			return nil
		}
		return err
	}
	c.nread, c.rerr = 0, 0
	if err := c.rc.Read(c.readFn); err != nil {
		return err
	}
	switch {
	case c.rerr != 0:
		return c.rerr
	case c.nread == 0:
		return io.EOF
	}
	return nil
}

// readSome is RawConn.Read's callback (c.readFn): one read(2) into the
// input buffer's free room. It returns false, to wait, when the socket has
// nothing; the buffer goes back to the pool meanwhile if it holds nothing
// else, so that a waiting connection holds none.
func (c *Conn) readSome(fd uintptr) bool {
	if c.in == nil {
		c.in = c.group.bufs.get()
	}
	b := *c.in
	free := b[len(b):cap(b)]
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd,
			uintptr(unsafe.Pointer(&free[0])), uintptr(len(free)))
		switch e {
		case 0:
			*c.in = b[:len(b)+int(n)]
			c.nread = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if len(b) == 0 {
				c.group.bufs.put(c.in)
				c.in = nil
			}
			return false
		default:
			c.rerr = e
			return true
		}
	}
}

// takeBuffered moves into the input buffer whatever fasthttp read past the
// upgrade request, from a client that did not wait for the server's
// answer. Reads through the library's connection with a deadline in the
// past return exactly that and never touch the socket.
func (c *Conn) takeBuffered() {
	if c.rc == nil {
		return // reads go through c.raw anyway
	}
	_ = c.raw.SetReadDeadline(time.Unix(1, 0))
	for {
		if c.in == nil {
			c.in = c.group.bufs.get()
		}
		b := *c.in
		if cap(b)-len(b) < readChunk {
			b = append(b, make([]byte, readChunk)...)[:len(b)]
		}
		n, err := c.raw.Read(b[len(b):cap(b)])
		*c.in = b[:len(b)+n]
		if err != nil || n == 0 {
			break
		}
	}
	_ = c.raw.SetReadDeadline(time.Time{})
	if len(*c.in) == 0 {
		c.group.bufs.put(c.in)
		c.in = nil
	}
}

// releaseRead gives back the buffers the last message lay in, unless they
// hold the start of what comes next.
func (c *Conn) releaseRead() {
	if c.in != nil && c.inPos == len(*c.in) {
		c.group.bufs.put(c.in)
		c.in, c.inPos = nil, 0
	}
	if c.msg != nil && c.msgOp == 0 {
		c.group.bufs.put(c.msg)
		c.msg = nil
	}
}

// dropRead gives back every read buffer, once the connection has ended.
func (c *Conn) dropRead() {
	for _, b := range []**[]byte{&c.in, &c.msg} {
		if *b != nil {
			c.group.bufs.put(*b)
			*b = nil
		}
	}
	c.inPos, c.skip, c.msgOp = 0, 0, 0
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
