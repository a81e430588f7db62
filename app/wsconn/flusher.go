package wsconn

import (
	"runtime"
	"sync"
	"time"
)

// flusher is a small pool of workers, one per processor, that write the
// pending frames of connections in line. A connection joins the line when
// its first frame is queued, and rejoins at the back while more keeps
// coming, so every pass over the line writes all that piled up since the
// last: under load one write carries many frames, at rest a frame leaves at
// once. Workers never block on a peer (see Conn.flush).
//
// mu guards line, idle and stopped. The workers run from the first push
// until stop.
type flusher struct {
	mu      sync.Mutex
	wake    sync.Cond
	line    []*Conn
	idle    int  // workers waiting for work
	started bool // the workers are running
	stopped bool
	workers sync.WaitGroup
}

// chunk is how many connections a worker takes from the line at once: small
// enough to share a big fan-out between workers, large enough to keep the
// lock quiet.
const chunk = 32

// Under heavy load a worker lingers before its next chunk, so that each
// write carries more. On loopback a send costs about the same whatever it
// carries, and so does the peer's read: halving the writes lets both ends
// deliver more (scenario a of bench/compare.sh: about half the writes, a
// quarter less server CPU per delivery, and a lower p99). The load is
// called heavy when the last chunk averaged busyFrames frames a write,
// which only a flood of messages gives: at chat rates a write carries one
// or two, and a frame leaves at once. A pass that found a frame or two
// stops the lingering, so a quiet room never waits.
const (
	linger     = 100 * time.Microsecond
	busyFrames = 16
)

// push puts c at the back of the line. After stop, c's write side runs on a
// goroutine of its own instead.
func (f *flusher) push(c *Conn) {
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		go c.writeAll()
		return
	}
	if !f.started {
		f.startLocked()
	}
	f.line = append(f.line, c)
	wake := f.idle > 0
	f.mu.Unlock()
	if wake {
		f.wake.Signal()
	}
}

func (f *flusher) startLocked() {
	f.started = true
	f.wake.L = &f.mu
	n := runtime.GOMAXPROCS(0)
	f.workers.Add(n)
	for range n {
		go f.work()
	}
}

func (f *flusher) work() {
	defer f.workers.Done()
	var mine []*Conn
	busy := false
	for {
		f.mu.Lock()
		for len(f.line) == 0 && !f.stopped {
			f.idle++
			f.wake.Wait()
			f.idle--
		}
		if len(f.line) == 0 {
			f.mu.Unlock()
			return // stopped, and the line is empty
		}
		k := min(chunk, len(f.line))
		mine = append(mine[:0], f.line[:k]...)
		clear(f.line[:k])
		f.line = f.line[k:]
		f.mu.Unlock()

		// Let runnable publishers go first: more frames pile up meanwhile
		// and leave in the same write; at rest this returns at once.
		if busy {
			time.Sleep(linger)
		} else {
			runtime.Gosched()
		}
		frames := 0
		for _, c := range mine {
			n, again := c.safeFlush()
			frames += n
			if again {
				f.push(c)
			}
		}
		busy = frames >= busyFrames*len(mine)
		clear(mine)
	}
}

// stop lets the workers finish the line and waits for them.
func (f *flusher) stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	f.wake.Broadcast()
	f.workers.Wait()
}
