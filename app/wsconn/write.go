package wsconn

import (
	"fmt"
	"runtime/debug"
	"syscall"
	"time"
	"unsafe"
)

// The write side of a connection. Frames are appended to c.pending; the
// connection is then handed to the group's flusher, which writes whatever
// has piled up without blocking. Only when the peer's socket is full does
// the connection get a goroutine of its own, which waits for the socket
// with a deadline. So a connection that keeps up costs no goroutine, and
// the frames queued between two turns of the flusher leave in one write.
//
// c.writing is true from the moment a frame is queued until everything is
// written (or the socket failed); whoever sets it adds to c.writer, and
// whoever clears it calls Done. While it is true, exactly one of these owns
// the socket's write side: a flusher worker, or the connection's own
// goroutine.

// appendLocked queues frame and makes sure it will be written.
func (c *Conn) appendLocked(frame []byte) {
	if c.pending == nil {
		c.pending = c.group.bufs.get()
	}
	*c.pending = append(*c.pending, frame...)
	c.frames++
	c.queued += len(frame)
	if !c.writing {
		c.writing = true
		c.writer.Add(1)
		c.group.flusher.push(c)
	}
}

func (c *Conn) discardPendingLocked() {
	if c.pending != nil {
		c.queued -= len(*c.pending)
		c.group.bufs.put(c.pending)
		c.pending, c.frames = nil, 0
	}
}

// takePendingLocked hands what is pending to the owner of the write side.
func (c *Conn) takePendingLocked() (batch *[]byte, frames int) {
	batch, frames = c.pending, c.frames
	c.pending, c.frames = nil, 0
	return batch, frames
}

// flush runs on a flusher worker: it writes what is pending without
// blocking, and returns how many frames that was. again is true when more
// has been queued meanwhile and the connection should go back in line.
func (c *Conn) flush() (frames int, again bool) {
	c.mu.Lock()
	batch, frames := c.takePendingLocked()
	c.mu.Unlock()
	if batch == nil {
		return 0, c.wrote(0, nil)
	}

	n, err := c.tryWrite(*batch)
	if err == nil && n < len(*batch) {
		// The peer's socket is full: wait for it on a goroutine of its own.
		go c.writeLoop(batch, n)
		return frames, false
	}
	c.group.bufs.put(batch)
	return frames, c.wrote(n, err)
}

// safeFlush is flush on a flusher worker, which serves every connection:
// a panic is logged and fails this connection only.
func (c *Conn) safeFlush() (frames int, again bool) {
	defer c.recoverWriter()
	return c.flush()
}

// recoverWriter, deferred on the write side, turns a panic into the
// failure of this connection, logged at Error.
func (c *Conn) recoverWriter() {
	v := recover()
	if v == nil {
		return
	}
	c.group.log.Error("panic in connection writer", "conn_id", c.id, "err", fmt.Sprint(v),
		"stack", string(debug.Stack()))
	c.mu.Lock()
	c.failLocked()
	c.mu.Unlock()
}

// writeLoop owns the write side of a connection whose socket filled up: it
// finishes batch from offset off, then writes what else is pending, each
// write bounded by WriteTimeout, and ends once the queue is empty.
func (c *Conn) writeLoop(batch *[]byte, off int) {
	defer c.recoverWriter()
	for {
		n, err := c.blockingWrite((*batch)[off:])
		c.group.bufs.put(batch)
		if !c.wrote(n+off, err) {
			return
		}
		// wrote saw frames pending, and only the owner of the write side
		// takes them: batch is not nil.
		c.mu.Lock()
		batch, _ = c.takePendingLocked()
		off = 0
		c.mu.Unlock()
	}
}

// wrote accounts for n bytes written and the write's error, and reports
// whether there is more to write. When there is not, it gives up the write
// side: c.writing goes false and c.writer is released.
func (c *Conn) wrote(n int, err error) (more bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queued -= n
	if err != nil {
		c.failLocked()
		c.group.log.Debug("write failed", "conn_id", c.id, "err", err)
		return false
	}
	if !c.writing {
		return false // a failure has already released the write side
	}
	if c.pending != nil {
		return true
	}
	if c.state != open && !c.closeSent {
		// Nothing is queued after a close frame, so it has gone out now.
		c.closeSent = true
		_ = c.ws.SetReadDeadline(time.Now().Add(c.group.cfg.CloseTimeout))
	}
	c.writing = false
	c.writer.Done()
	return false
}

// tryWrite writes as much of b as the socket takes right now, without
// waiting. Without a raw socket (a test double), it writes nothing and the
// connection falls back to its own goroutine.
//
// It calls sendto(2) on the descriptor directly, without the runtime's
// syscall bookkeeping: the socket is non-blocking, so the call never waits,
// and at a few million writes a second that bookkeeping is a cost of its
// own. The descriptor stays open while we own the write side: the server
// closes it only after the handler has returned, and Finish waits for us.
func (c *Conn) tryWrite(b []byte) (int, error) {
	if c.fd < 0 {
		return 0, nil
	}
	n := 0
	for n < len(b) {
		m, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(c.fd),
			uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n), sendFlags, 0, 0)
		switch {
		case e == 0:
			n += int(m)
		case e == syscall.EINTR:
		case e == syscall.EAGAIN:
			c.count(n)
			return n, nil
		default:
			c.count(n)
			return n, e
		}
	}
	c.count(n)
	return n, nil
}

// sendFlags: never wait, and report a closed peer as EPIPE rather than by
// SIGPIPE. sendto(2) rather than write(2) also skips the file layer.
const sendFlags = syscall.MSG_DONTWAIT | syscall.MSG_NOSIGNAL

// blockingWrite writes all of b, waiting at most WriteTimeout.
func (c *Conn) blockingWrite(b []byte) (int, error) {
	if err := c.raw.SetWriteDeadline(time.Now().Add(c.group.cfg.WriteTimeout)); err != nil {
		return 0, err
	}
	n, err := c.raw.Write(b)
	c.count(n)
	return n, err
}

func (c *Conn) count(n int) {
	c.group.stats.writes.Add(1)
	c.group.stats.bytesOut.Add(uint64(n))
}

// failLocked gives up on a socket that could not be written: what is queued
// is dropped, the reader is woken so that the handler returns, and the
// write side is released. Only the owner of the write side calls it. Once
// the write side is released the handler may return and the library reuse
// its Conn, so nothing here touches ws after that.
func (c *Conn) failLocked() {
	c.discardPendingLocked()
	c.setStateLocked(done)
	if !c.writing {
		return // already released
	}
	_ = c.ws.SetReadDeadline(time.Unix(1, 0))
	c.writing = false
	c.writer.Done()
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

// writeAll owns the write side on a goroutine of its own, for when the
// flusher has stopped.
func (c *Conn) writeAll() {
	c.mu.Lock()
	batch, _ := c.takePendingLocked()
	c.mu.Unlock()
	if batch == nil {
		c.wrote(0, nil)
		return
	}
	c.writeLoop(batch, 0)
}
